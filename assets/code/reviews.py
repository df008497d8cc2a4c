"""People in charge: their reviews take precedence over the machine's coding of a segment.

The code stage codes every segment by machine, then applies the review store's rows for the
round x site (`assets.review.store`). A segment at least one person reviewed is published
with the most recent review's themes and category (none is a decision too: the segment is
published without a theme); any other segment keeps the machine's coding. Every coder's rows
are kept in `segment_codings`, and agreement is measured between the machine, counted as one
coder `machine` that looked at every segment, and each person, on the segments both looked
at. Review rows of segments no longer in the submission (the raw files changed since) are
stale: counted, not applied, not an error.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection

import pandas as pd

from assets.code.agreement import coder_agreement
from assets.review import MACHINE_CODERS, is_machine, theme_codes_in_order
from assets.review.store import STORE_COLUMNS, THEME_SEPARATOR
from schemas.codebook import Codebook
from schemas.tables import (
    CodedSegments,
    CoderAgreement,
    SegmentCodings,
    SegmentReviews,
    SegmentThemes,
    empty,
)

# The name the pooled machine coders carry in coder_agreement.
MACHINE = "machine"

_CODING_ORDER = ["segment_id", "theme_code", "coder"]


@dataclasses.dataclass(frozen=True)
class ReviewedCoding:
    """The machine's coding with people's reviews applied.

    `segments` (CodedSegments) and `segment_themes` (SegmentThemes) are what is published;
    `segment_codings`, `segment_reviews` and `coder_agreement` follow their models.
    `stale_review_rows` counts review rows of segments not in the submission;
    `unknown_theme_rows` those naming a theme the codebook does not have (both set aside).
    """

    segments: pd.DataFrame
    segment_themes: pd.DataFrame
    segment_codings: pd.DataFrame
    segment_reviews: pd.DataFrame
    coder_agreement: pd.DataFrame
    stale_review_rows: int
    unknown_theme_rows: int

    @property
    def segments_reviewed(self) -> int:
        return int(self.segment_reviews["segment_id"].nunique())

    @property
    def reviewers(self) -> int:
        return int(self.segment_reviews["coder"].nunique())


def apply_reviews(
    segments: pd.DataFrame,
    machine_themes: pd.DataFrame,
    reviews: pd.DataFrame,
    codebook: Codebook,
    *,
    machine_coders: Collection[str] = MACHINE_CODERS,
) -> ReviewedCoding:
    """Publish the latest review of each reviewed segment, the machine's coding elsewhere.

    `segments` follows CodedSegments with the machine's category, `machine_themes`
    SegmentThemes by machine coders only, `reviews` the store's rows (STORE_COLUMNS). When
    several people reviewed a segment, the latest `reviewed_at` wins; on a tie, the coder
    whose pseudonym sorts first. Deterministic: the same input gives the same rows.
    """
    people = sorted(
        {coder for coder in machine_themes["coder"] if not is_machine(coder, machine_coders)}
    )
    if people:
        raise ValueError(f"machine_themes holds rows of coders that are not machines: {people}")
    current = set(segments["segment_id"])
    stale = ~reviews["segment_id"].isin(current)
    known = set(codebook.theme_codes)
    unknown = reviews["themes"].map(lambda themes: not set(_themes(themes)) <= known)
    live = reviews[~stale & ~unknown].loc[:, list(STORE_COLUMNS)].reset_index(drop=True)

    person_rows = pd.DataFrame(
        [
            {
                "segment_id": row.segment_id,
                "theme_code": theme,
                "category": row.category,
                "coder": row.coder,
                "confidence": 1.0,
                "codebook_version": row.codebook_version,
            }
            for row in live.itertuples(index=False)
            for theme in _themes(row.themes)
        ],
        columns=list(SegmentThemes.to_schema().columns),
    )
    at = pd.to_datetime(live["reviewed_at"], utc=True, format="ISO8601")
    latest = (
        live.assign(at=at)
        .sort_values(["at", "coder"], ascending=[False, True], kind="stable")
        .drop_duplicates("segment_id", keep="first")
    )
    winner = dict(zip(latest["segment_id"], latest["coder"], strict=True))
    published_people = person_rows[person_rows["coder"] == person_rows["segment_id"].map(winner)]
    unreviewed = machine_themes[~machine_themes["segment_id"].isin(winner)]
    category = dict(zip(latest["segment_id"], latest["category"], strict=True))
    coded = segments.assign(
        category=[
            category.get(s, c)
            for s, c in zip(segments["segment_id"], segments["category"], strict=True)
        ]
    )
    return ReviewedCoding(
        segments=CodedSegments.validate(coded),
        segment_themes=_coding_table(SegmentThemes, unreviewed, published_people),
        segment_codings=_coding_table(SegmentCodings, machine_themes, person_rows),
        segment_reviews=SegmentReviews.validate(
            live.loc[
                :, ["segment_id", "coder", "category", "reviewed_at", "codebook_version"]
            ].sort_values(["segment_id", "coder"], ignore_index=True)
        ),
        coder_agreement=_agreement(segments, machine_themes, live, person_rows, codebook),
        stale_review_rows=int(stale.sum()),
        unknown_theme_rows=int((~stale & unknown).sum()),
    )


def _themes(joined: str) -> list[str]:
    return joined.split(THEME_SEPARATOR) if joined else []


def _coding_table(model: type[SegmentThemes], *frames: pd.DataFrame) -> pd.DataFrame:
    """The frames' rows as one table of the model, in a fixed order; none: an empty one."""
    rows = [frame for frame in frames if not frame.empty]
    if not rows:
        return empty(model)
    stacked = pd.concat(rows, ignore_index=True)
    return model.validate(stacked.sort_values(_CODING_ORDER, ignore_index=True))


def _agreement(
    segments: pd.DataFrame,
    machine_themes: pd.DataFrame,
    live: pd.DataFrame,
    person_rows: pd.DataFrame,
    codebook: Codebook,
) -> pd.DataFrame:
    """Kappa and alpha per theme between every pair of coders that looked at a segment in common."""
    if live.empty:
        return empty(CoderAgreement)
    looked_at = {MACHINE: list(segments["segment_id"])}
    looked_at |= {coder: list(group) for coder, group in live.groupby("coder")["segment_id"]}
    codings = pd.concat(
        [
            machine_themes[["segment_id", "theme_code"]].drop_duplicates().assign(coder=MACHINE),
            person_rows[["segment_id", "theme_code", "coder"]],
        ],
        ignore_index=True,
    )
    agreement = coder_agreement(codings, theme_codes_in_order(codebook), looked_at)
    # Two people who reviewed different segments share none: nothing was compared.
    compared = agreement[agreement["n_segments"] > 0].reset_index(drop=True)
    return CoderAgreement.validate(compared) if not compared.empty else empty(CoderAgreement)
