"""Everything a round's reviewers need, written in one go from the warehouse's views."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd

from assets.review.framework_matrix import export_framework_matrix
from assets.review.refi_qda import export_codebook_qdc, export_project_qdpx
from assets.review.spreadsheet import export_review_xlsx
from schemas.codebook import Codebook


def export_round(
    out_dir: Path,
    segments: pd.DataFrame,
    segment_themes: pd.DataFrame,
    codebook: Codebook,
    round_id: str,
    *,
    created: datetime | None = None,
) -> list[Path]:
    """The review spreadsheet, the REFI-QDA project and codebook, and the framework matrix."""
    if segments.empty:
        raise ValueError(f"round {round_id} has no segments in the warehouse")
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "review": out_dir / f"{round_id}-review.xlsx",
        "project": out_dir / f"{round_id}.qdpx",
        "codebook": out_dir / f"codebook-{codebook.version}.qdc",
        "matrix": out_dir / f"{round_id}-framework-matrix.xlsx",
    }
    export_review_xlsx(segments, segment_themes, codebook, paths["review"])
    export_project_qdpx(
        segments, segment_themes, codebook, paths["project"], round_id=round_id, created=created
    )
    export_codebook_qdc(codebook, paths["codebook"])
    export_framework_matrix(segments, segment_themes, codebook, paths["matrix"])
    return list(paths.values())
