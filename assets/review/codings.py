"""Which of a round's codings the review files show as the machine's, and what an import yields.

`segment_codings` keeps every coder's rows: each machine coder that ran (rules, semantic,
combined) and each person's. `segment_themes` publishes one machine coder's rows: the
combined coder's where the embedding coders ran, the rule coder's otherwise (a codebook
without examples, or a warehouse from before them). The review files show that coder's rows
as the machine's, and a review is judged against those same rows, so what a reviewer
accepted or rejected is what they saw.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import NamedTuple

import pandas as pd

from assets.code.combined import CODER as COMBINED_CODER
from assets.code.semantic import CODER as SEMANTIC_CODER
from assets.review import MACHINE_CODERS, is_machine, machine_rows

# They run together, from the codebook's examples: where either has rows in a round x site,
# the combined coder is the one segment_themes published there.
EMBEDDING_CODERS: frozenset[str] = frozenset({SEMANTIC_CODER, COMBINED_CODER})
REVIEWED_COLUMNS = ["segment_id", "coder", "category"]


class ReviewImport(NamedTuple):
    """What a reviewed file (spreadsheet or REFI-QDA project) yields.

    `codings` follows SegmentThemes; `reviewed` has one row per (segment_id, coder) a
    person judged, with the category they gave it, including segments left with no theme,
    which `codings` cannot show; `problems` names each row that was not imported.
    """

    codings: pd.DataFrame
    reviewed: pd.DataFrame
    problems: list[str]


def reviewed_table(rows: Iterable[tuple[str, str, str]]) -> pd.DataFrame:
    """(segment_id, coder, category) rows as a `reviewed` table, in a fixed order."""
    return pd.DataFrame(sorted(rows), columns=REVIEWED_COLUMNS)


def shown_codings(
    codings: pd.DataFrame,
    segments: pd.DataFrame,
    machine_coders: Collection[str] = MACHINE_CODERS,
) -> pd.DataFrame:
    """Each person's rows and the published machine coder's, per round x site of `segments`.

    The other machine coders' rows (the rule and semantic coders' beside the combined one)
    are dropped: they were never the machine's published coding.
    """
    coders = codings["coder"].astype(str)
    machine = coders.map(lambda coder: is_machine(coder, machine_coders)).astype(bool)
    method = coders.map(lambda coder: coder.partition(":")[0])
    partition = dict(
        zip(segments["segment_id"], segments["round_id"] + "/" + segments["site_id"], strict=True)
    )
    where = codings["segment_id"].map(partition).fillna("")
    embedded = (
        (machine & method.isin(EMBEDDING_CODERS)).groupby(where).transform("any").astype(bool)
    )
    unpublished = machine & embedded & (method != COMBINED_CODER)
    return codings[~unpublished.to_numpy()]


def published_machine_rows(
    codings: pd.DataFrame,
    segments: pd.DataFrame,
    machine_coders: Collection[str] = MACHINE_CODERS,
) -> pd.DataFrame:
    """The rows of the machine coder that segment_themes published, per round x site."""
    return machine_rows(shown_codings(codings, segments, machine_coders), machine_coders)
