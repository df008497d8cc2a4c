"""What the learnt coders learn from: the codebook's sentences and its training sets.

Two sources, both versioned with the codebook:
- the codebook's own sentences (v2 on): each theme's and sub-code's examples, its
  counter-examples, the neutral sentences and the categories' examples;
- its training sets (v3 on, `semantic.training_sets`): segments written for training and
  labelled with their themes and category like the evaluation set, but never taken from it.

A sentence does not always say something about every label, so each row carries a mask of
the labels it teaches. An example of one theme teaches that theme and, as in v2, that it is
none of the others. A counter-example only says it is not its own theme. A category's
example says nothing about themes, and a theme's example nothing about the category. A
training segment teaches every theme and its category.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from assets.code.coder import PLACEHOLDER
from assets.code.evaluation import load_eval_set
from schemas.codebook import CODEBOOK_DIR, Codebook, SubCode, Theme, training_set_path

# What a placeholder becomes: a word that names nobody and carries no theme.
NEUTRAL_WORD = "someone"

_CURLY_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})


def neutralise(text: str) -> str:
    """Placeholders become NEUTRAL_WORD; curly apostrophes straight; spaces collapsed.

    A pseudonym's hex digits are not evidence, and the same words must score the same
    whoever said them.
    """
    return " ".join(PLACEHOLDER.sub(NEUTRAL_WORD, text.translate(_CURLY_APOSTROPHES)).split())


@dataclasses.dataclass(frozen=True)
class TrainingData:
    """Rows to learn from, as parallel columns.

    `texts` are neutralised. `themes[i, j]` is 1 when row i carries theme j, and
    `teaches[i, j]` says whether row i says anything about theme j at all. `categories[i]`
    is None where the row says nothing about its category. `segments` holds the rows as
    the code stage sees segments (source_kind, item_id, is_action), for coders that read
    more than the text.
    """

    theme_codes: tuple[str, ...]
    texts: tuple[str, ...]
    themes: np.ndarray
    teaches: np.ndarray
    categories: np.ndarray
    segments: pd.DataFrame

    def for_theme(self, column: int) -> tuple[np.ndarray, np.ndarray]:
        """Indices of the rows that teach a theme, and whether each carries it."""
        rows = np.flatnonzero(self.teaches[:, column])
        return rows, self.themes[rows, column]

    def for_category(self) -> tuple[np.ndarray, np.ndarray]:
        rows = np.array([i for i, category in enumerate(self.categories) if category is not None])
        return rows, self.categories[rows].astype(str)


def training_data(codebook: Codebook, codebook_dir: Path = CODEBOOK_DIR) -> TrainingData:
    """The codebook's sentences, then its training sets' segments, deduplicated by text."""
    codes = codebook.theme_codes
    rows: dict[str, _Row] = {}

    def add(text: str, row: _Row) -> None:
        key = _key(text)
        if key and key not in rows:
            rows[key] = row

    every = np.ones(len(codes), dtype=bool)
    for column, theme in enumerate(codebook.themes):
        carries = np.zeros(len(codes), dtype=np.int8)
        carries[column] = 1
        for text in _positives(theme):
            add(text, _Row(neutralise(text), carries, every, None))
    neutral = codebook.semantic.neutral_examples if codebook.semantic else ()
    for text in neutral:
        add(text, _Row(neutralise(text), np.zeros(len(codes), np.int8), every, None))
    for column, theme in enumerate(codebook.themes):
        own = np.zeros(len(codes), dtype=bool)
        own[column] = True
        for text in theme.counter_examples:
            add(text, _Row(neutralise(text), np.zeros(len(codes), np.int8), own, None))
    nothing = np.zeros(len(codes), dtype=bool)
    for cues in codebook.categories.cues:
        for text in cues.examples:
            add(text, _Row(neutralise(text), np.zeros(len(codes), np.int8), nothing, cues.code))
    for segment in _training_segments(codebook, codebook_dir).itertuples(index=False):
        carries = np.array([code in segment.themes for code in codes], dtype=np.int8)
        kind = _Kind(segment.source_kind, segment.item_id, bool(segment.is_action))
        add(segment.text, _Row(neutralise(segment.text), carries, every, segment.category, kind))

    kept = list(rows.values())
    return TrainingData(
        theme_codes=codes,
        texts=tuple(row.text for row in kept),
        themes=np.stack([row.themes for row in kept]),
        teaches=np.stack([row.teaches for row in kept]),
        categories=np.array([row.category for row in kept], dtype=object),
        segments=pd.DataFrame(
            [dataclasses.asdict(row.kind) for row in kept], columns=list(_Kind.__annotations__)
        ),
    )


@dataclasses.dataclass(frozen=True)
class _Kind:
    """What kind of segment a row is; a codebook sentence reads as a paragraph of minutes."""

    source_kind: str = "minutes"
    item_id: str | None = None
    is_action: bool = False


@dataclasses.dataclass(frozen=True)
class _Row:
    text: str
    themes: np.ndarray
    teaches: np.ndarray
    category: str | None
    kind: _Kind = _Kind()


def _training_segments(codebook: Codebook, codebook_dir: Path) -> pd.DataFrame:
    sets = codebook.semantic.training_sets if codebook.semantic else ()
    frames = [load_eval_set(training_set_path(entry, codebook_dir)) for entry in sets]
    if not frames:
        columns = ["text", "themes", "category", "source_kind", "item_id", "is_action"]
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)


def _positives(entry: Theme) -> Iterable[str]:
    yield from _own_positives(entry)
    for sub in entry.sub_codes:
        yield from _own_positives(sub)


def _own_positives(entry: Theme | SubCode) -> Iterable[str]:
    yield from entry.examples
    if entry.example:
        yield entry.example


def _key(text: str) -> str:
    return re.sub(r"\s+", " ", text.casefold()).strip()
