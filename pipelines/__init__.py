"""Dagster wiring (definitions, partitions, sensors, schedules, resources) and the CLI.

Importing this package imports spaCy and Presidio without PyTorch and transformers. thinc
(spaCy's machine-learning library) and Presidio import both whenever they are installed,
which costs every process about 360 MB and three seconds; nothing a pipeline run does uses
them (they are installed for `ariadne prepare`, which distils the sentence-embedding model
at set-up: docs/decisions/0010). So both are hidden while spaCy and Presidio are imported,
whose import guards then leave their support out, and import normally afterwards. Every
pipeline process (the CLI, its site workers, Dagster's code server and run workers)
imports this package before anything else of the project.
"""

import sys

_NOT_AT_RUN_TIME = ("torch", "transformers")

if "spacy" not in sys.modules:
    _hidden = [name for name in _NOT_AT_RUN_TIME if name not in sys.modules]
    for _name in _hidden:
        sys.modules[_name] = None  # type: ignore[assignment]
    try:
        import presidio_analyzer  # noqa: F401
        import spacy  # noqa: F401
    finally:
        for _name in _hidden:
            del sys.modules[_name]
