"""The anonymise stage. Importing it loads Presidio without its Hugging Face engine.

Presidio's `nlp_engine` package imports `transformers.pipeline` when transformers is
installed (the coder's sentence-transformers brings it), which costs about six seconds
in every process that imports the stage, for an engine this project never uses. So
Presidio is imported first here with transformers hidden; its import guard then
leaves the Hugging Face engine out, and transformers imports normally afterwards.
"""

import sys

if "presidio_analyzer" not in sys.modules and "transformers" not in sys.modules:
    sys.modules["transformers"] = None  # type: ignore[assignment]
    try:
        import presidio_analyzer  # noqa: F401
    finally:
        del sys.modules["transformers"]
