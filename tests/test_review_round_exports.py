"""`ariadne export-review`: a loaded round's coding, read from the views, in every review format."""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import create_engine

from assets.load.loader import LoadError, read_round_coding, replace_partition
from assets.review.round_exports import export_round
from schemas.codebook import CODEBOOK_DIR, codebook_path, load_codebook

LOADED_AT = datetime(2024, 11, 1, tzinfo=UTC)


def test_a_loaded_round_exports_every_review_file_from_the_views(
    warehouse_engine, make_coded_submission, tmp_path: Path
) -> None:
    replace_partition(warehouse_engine, make_coded_submission(), "run-1", LOADED_AT)
    segments, themes = read_round_coding(warehouse_engine, "2024-impact")
    assert len(segments) == 5 and set(themes["segment_id"]) <= set(segments["segment_id"])

    codebook = load_codebook(codebook_path("v1", CODEBOOK_DIR))
    paths = export_round(tmp_path / "out", segments, themes, codebook, "2024-impact")

    assert [path.name for path in paths] == [
        "2024-impact-review.xlsx",
        "2024-impact.qdpx",
        "codebook-v1.qdc",
        "2024-impact-framework-matrix.xlsx",
    ]
    review = load_workbook(paths[0])["review"]
    assert review.max_row == 1 + len(segments)
    with zipfile.ZipFile(paths[1]) as project:
        assert "project.qde" in project.namelist()
    assert read_round_coding(warehouse_engine, "2024-impact", "nowhere")[0].empty


def test_a_warehouse_nothing_was_loaded_into_says_so(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(LoadError, match="materialise a round first"):
        read_round_coding(engine, "2024-impact")
    engine.dispose()
