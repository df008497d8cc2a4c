"""Benchmarks: measured by hand (`python -m benchmarks.<name>`), never asserted in tests.

`pipelines` is imported first, as every pipeline process imports it: spaCy and Presidio
then load without PyTorch (pipelines/__init__.py). Without it a benchmark process, and
every site worker it spawns (which imports the benchmark's main module again), would carry
PyTorch's ~300 MB that no pipeline process has.
"""

import pipelines  # noqa: F401
