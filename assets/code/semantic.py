"""The semantic theme coder: themes and a category from sentence embeddings.

The rule coder (coder.py) only sees the words its codebook lists; a segment that says
"nobody at home may know he is on the ward" in other words than the rules' is missed.
This coder reads meaning instead: each segment is embedded (embeddings.py) and scored by
small logistic regressions trained on what the codebook version carries (training.py): its
example sentences and, from v3, its training sets. Every decision still traces back to
the versioned codebook.

Themes and the category are learnt from `training_data`. Sub-codes are learnt from the
codebook's sub-code examples alone (the training sets label top-level themes): a
sub-code's examples are positives; its counter-examples, its siblings' examples, its
theme's own examples, the other themes' examples and the neutral sentences are
negatives. A sub-code is assigned only with its theme.

Scores are the regressions' probabilities (class-balanced, so 0.5 means "as likely as
not"); the codebook's `semantic:` settings say where to cut.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from assets.code.embeddings import Embedder
from assets.code.training import TrainingData, neutralise, training_data
from schemas.codebook import CODEBOOK_DIR, Codebook, SemanticSettings, SubCode, Theme

# Names the method in lineage (`segment_themes.coder`): a change to how examples become
# training data or scores gets a new name here.
CODER = "semantic-v2"


class SemanticCodingError(ValueError):
    """The codebook cannot drive the semantic coder (no examples, no `semantic:` settings)."""


@dataclasses.dataclass(frozen=True)
class SemanticCoding:
    """One segment's semantic coding.

    `theme_scores` and `sub_code_scores` hold a probability in [0, 1] for every code of
    the codebook; `themes` and `sub_codes` those at or above their thresholds, in codebook
    order. `category` is None when the text is blank or no category reaches the
    codebook's `category_threshold`: the caller then decides by its own rules.
    """

    theme_scores: dict[str, float]
    themes: tuple[str, ...]
    sub_code_scores: dict[str, float]
    sub_codes: tuple[str, ...]
    category: str | None
    category_confidence: float


class SemanticCoder:
    """A codebook's examples learnt in one embedding space; build once per codebook and
    embedder, then code any number of segments."""

    def __init__(
        self, codebook: Codebook, embedder: Embedder, codebook_dir: Path = CODEBOOK_DIR
    ) -> None:
        if codebook.semantic is None:
            raise SemanticCodingError(
                f"codebook {codebook.version} has no `semantic:` settings and examples; "
                "the semantic coder needs codebook v2 or later"
            )
        self.codebook = codebook
        self.embedder = embedder
        self.settings: SemanticSettings = codebook.semantic
        self.coder_name = f"{CODER}:{embedder.name}"
        self.theme_codes = codebook.theme_codes
        self._sub_codes = tuple(
            (theme.code, sub.code) for theme in codebook.themes for sub in theme.sub_codes
        )
        data = training_data(codebook, codebook_dir)
        sub_code_sets = _SubCodeSets(codebook)
        sentences = sorted(set(data.texts) | sub_code_sets.all_sentences())
        vectors = dict(zip(sentences, self._embed_texts(sentences), strict=True))
        matrix = np.stack([vectors[text] for text in data.texts])
        self._themes = _learn_themes(data, matrix, self.settings)
        self._subs = [
            self._binary(vectors, *sub_code_sets.for_sub_code(theme, sub))
            for theme in codebook.themes
            for sub in theme.sub_codes
        ]
        self._category = _learn_category(data, matrix, self.settings)

    def __getstate__(self) -> dict:
        """What it learnt, without the codebook and embedder (trained_coders.py)."""
        return {k: v for k, v in self.__dict__.items() if k not in ("codebook", "embedder")}

    def attach(self, codebook: Codebook, embedder: Embedder) -> SemanticCoder:
        """Give a coder loaded from disk the codebook and embedder it was trained with."""
        self.codebook, self.embedder = codebook, embedder
        return self

    def code(self, texts: Iterable[str]) -> list[SemanticCoding]:
        """Score every text against every theme, sub-code and category: deterministic."""
        cleaned = [neutralise(text) for text in texts]
        filled = [index for index, text in enumerate(cleaned) if text]
        matrix = self._embed_texts([cleaned[index] for index in filled])
        return self._code_filled(len(cleaned), filled, matrix)

    def code_embedded(self, texts: Sequence[str], embeddings: np.ndarray) -> list[SemanticCoding]:
        """As `code`, for neutralised texts whose embeddings the caller has already made."""
        filled = [index for index, text in enumerate(texts) if text]
        return self._code_filled(len(texts), filled, np.asarray(embeddings)[filled])

    def _code_filled(
        self, n_texts: int, filled: list[int], matrix: np.ndarray
    ) -> list[SemanticCoding]:
        codings = [self._blank() for _ in range(n_texts)]
        if not filled:
            return codings
        theme_scores = _columns(self._themes, matrix)
        sub_scores = _columns(self._subs, matrix)
        category_scores = self._category.predict_proba(matrix)
        for row, index in enumerate(filled):
            codings[index] = self._coding(theme_scores[row], sub_scores[row], category_scores[row])
        return codings

    def threshold(self, code: str) -> float:
        """The codebook's cut for a theme or sub-code: its own, else the codebook's."""
        return self.settings.thresholds.get(code, self.settings.theme_threshold)

    def _coding(
        self, theme_row: np.ndarray, sub_row: np.ndarray, category_row: np.ndarray
    ) -> SemanticCoding:
        themes = {
            code: round(float(score), 4)
            for code, score in zip(self.theme_codes, theme_row, strict=True)
        }
        assigned = tuple(code for code, score in themes.items() if score >= self.threshold(code))
        subs = {
            sub: round(float(score), 4)
            for (_, sub), score in zip(self._sub_codes, sub_row, strict=True)
        }
        sub_codes = tuple(
            sub
            for theme, sub in self._sub_codes
            if theme in assigned and subs[sub] >= self.threshold(sub)
        )
        best = int(np.argmax(category_row))
        confidence = round(float(category_row[best]), 4)
        category = (
            str(self._category.classes_[best])
            if confidence >= self.settings.category_threshold
            else None
        )
        return SemanticCoding(themes, assigned, subs, sub_codes, category, confidence)

    def _blank(self) -> SemanticCoding:
        return SemanticCoding(
            dict.fromkeys(self.theme_codes, 0.0),
            (),
            {sub: 0.0 for _, sub in self._sub_codes},
            (),
            None,
            0.0,
        )

    def _embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self.embedder.embed(list(texts)), dtype=np.float64)

    def _binary(
        self, vectors: dict[str, np.ndarray], positives: list[str], negatives: list[str]
    ) -> Pipeline:
        matrix = np.stack([vectors[text] for text in positives + negatives])
        labels = np.array([1] * len(positives) + [0] * len(negatives))
        return _regression(self.settings).fit(matrix, labels)


def _regression(settings: SemanticSettings) -> Pipeline:
    """Standardised features, then a logistic regression (lbfgs: deterministic).

    Unit-length embeddings have tiny coordinates, so unscaled, any usable C squeezes every
    probability towards 0.5. Balanced class weights, because a code has tens of positives
    against hundreds of negatives, and 0.5 should still mean "as likely as not".
    """
    return make_pipeline(
        StandardScaler(),
        LogisticRegression(C=settings.regularisation, class_weight="balanced", max_iter=5000),
    )


def _learn_themes(data: TrainingData, features: np.ndarray, settings: SemanticSettings) -> list:
    """One regression per theme, on the rows that teach it (training.py says which)."""
    models = []
    for column in range(len(data.theme_codes)):
        rows, labels = data.for_theme(column)
        models.append(_regression(settings).fit(features[rows], labels))
    return models


def _learn_category(data: TrainingData, features: np.ndarray, settings: SemanticSettings):
    """One multinomial regression over the rows whose category is known."""
    rows, labels = data.for_category()
    return _regression(settings).fit(features[rows], labels)


def _columns(models: Sequence[Pipeline], matrix: np.ndarray) -> np.ndarray:
    """Each model's probability of its positive class, one column per model."""
    if not models:
        return np.zeros((len(matrix), 0))
    return np.column_stack([model.predict_proba(matrix)[:, 1] for model in models])


class _SubCodeSets:
    """The codebook's sentences grouped for learning sub-codes, as the module docstring says."""

    def __init__(self, codebook: Codebook) -> None:
        self.codebook = codebook
        settings = codebook.semantic
        self.neutral = _clean(settings.neutral_examples if settings else ())
        self.own = {theme.code: _clean(_positives(theme)) for theme in codebook.themes}
        self.subs = {
            sub.code: _clean(_positives(sub))
            for theme in codebook.themes
            for sub in theme.sub_codes
        }
        self.theme_positives = {
            theme.code: _unique(self.own[theme.code], *(self.subs[s.code] for s in theme.sub_codes))
            for theme in codebook.themes
        }

    def all_sentences(self) -> set[str]:
        sentences = set(self.neutral)
        for theme in self.codebook.themes:
            sentences.update(self.theme_positives[theme.code])
            for sub in theme.sub_codes:
                sentences.update(_clean(sub.counter_examples))
        return sentences

    def for_sub_code(self, theme: Theme, sub: SubCode) -> tuple[list[str], list[str]]:
        positives = self.subs[sub.code]
        siblings = [self.subs[other.code] for other in theme.sub_codes if other.code != sub.code]
        others = [
            self.theme_positives[other.code]
            for other in self.codebook.themes
            if other.code != theme.code
        ]
        negatives = _unique(
            _clean(sub.counter_examples), *siblings, self.own[theme.code], *others, self.neutral
        )
        return positives, _without(negatives, positives)


def _positives(entry: Theme | SubCode) -> list[str]:
    return [*entry.examples, *([entry.example] if entry.example else [])]


def _clean(texts: Iterable[str]) -> list[str]:
    return _unique([text for text in map(neutralise, texts) if text])


def _unique(*groups: Iterable[str]) -> list[str]:
    """Concatenated in order, each sentence once (case and spacing ignored)."""
    seen: set[str] = set()
    out: list[str] = []
    for group in groups:
        for text in group:
            key = _key(text)
            if key not in seen:
                seen.add(key)
                out.append(text)
    return out


def _without(texts: list[str], remove: list[str]) -> list[str]:
    removed = {_key(text) for text in remove}
    return [text for text in texts if _key(text) not in removed]


def _key(text: str) -> str:
    return re.sub(r"\s+", " ", text.casefold()).strip()
