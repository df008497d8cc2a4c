"""Everything a round's reviewers need, written in one go from the warehouse's views.

The review spreadsheet and the REFI-QDA project show the published machine coder's rows as
the machine's (`assets.review.codings`), beside each person's in the project. The framework
matrix shows what `segment_themes` publishes: a person's review where there is one.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd

from assets.review import MACHINE_CODERS, is_machine
from assets.review.codings import shown_codings
from assets.review.framework_matrix import export_framework_matrix
from assets.review.refi_qda import export_codebook_qdc, export_project_qdpx
from assets.review.spreadsheet import export_review_xlsx
from schemas.codebook import Codebook


def export_round(
    out_dir: Path,
    segments: pd.DataFrame,
    codings: pd.DataFrame,
    codebook: Codebook,
    round_id: str,
    *,
    published: pd.DataFrame | None = None,
    reviews: pd.DataFrame | None = None,
    created: datetime | None = None,
) -> list[Path]:
    """The review spreadsheet, the REFI-QDA project and codebook, and the framework matrix.

    `codings` are the round's segment_codings (every coder's rows; a warehouse from before
    that view: its segment_themes), `published` its segment_themes, which the matrix shows,
    `reviews` its segment_reviews, whose categories the REFI-QDA project carries.
    Without it, the matrix shows `published_coding` of the codings.
    """
    if segments.empty:
        raise ValueError(f"round {round_id} has no segments in the warehouse")
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "review": out_dir / f"{round_id}-review.xlsx",
        "project": out_dir / f"{round_id}.qdpx",
        "codebook": out_dir / f"codebook-{codebook.version}.qdc",
        "matrix": out_dir / f"{round_id}-framework-matrix.xlsx",
    }
    export_review_xlsx(segments, codings, codebook, paths["review"])
    export_project_qdpx(
        segments,
        codings,
        codebook,
        paths["project"],
        round_id=round_id,
        created=created,
        reviews=reviews,
    )
    export_codebook_qdc(codebook, paths["codebook"])
    if published is None:
        published = published_coding(codings, segments)
    export_framework_matrix(segments, published, codebook, paths["matrix"])
    return list(paths.values())


def published_coding(codings: pd.DataFrame, segments: pd.DataFrame) -> pd.DataFrame:
    """What segment_themes publishes, as far as every coder's rows tell: people's rows where a
    person coded the segment, else the published machine coder's.

    The codings cannot tell which of several reviewers was the latest, nor show a review
    that left a segment without a theme: segment_themes itself can, so pass it when at hand.
    """
    shown = shown_codings(codings, segments)
    person = ~shown["coder"].map(lambda coder: is_machine(coder, MACHINE_CODERS)).astype(bool)
    reviewed = shown["segment_id"].isin(set(shown.loc[person, "segment_id"]))
    return shown[(person | ~reviewed).to_numpy()].reset_index(drop=True)
