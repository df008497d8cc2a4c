"""The per-round impact report: one self-contained HTML page made from the analysts' views."""
