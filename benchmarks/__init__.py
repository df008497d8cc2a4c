"""Benchmarks: measured by hand (`python -m benchmarks.<name>`), never asserted in tests."""
