"""The combined machine coder: what `segment_themes` publishes until a person reviews it.

The rule coder is precise where its phrases fire and silent elsewhere; the semantic coder
reads meaning but not which words decide. This coder learns how far to trust each, and
which words matter: one logistic regression per theme over
- the segment's embedding, every rule score of the codebook (themes and category cues) and
  what kind of segment it is (survey item, action, source kind), standardised and scaled
  by the codebook's `combined.dense_weight`;
- the words and word pairs of its text (tf-idf over the training texts), which carry
  what a static embedding averages away: "should", "has been", "still", "no longer";
trained on the same rows as the semantic coder (training.py). The category comes from one
multinomial regression over the same features; an action is always a solution.

Its probability is the coding's confidence; the codebook's `combined:` settings say where
to cut. The settings were chosen by cross-validation on the training sets alone
(docs/decisions/0011-learnt-coders.md).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from assets.code.coder import RuleCoder, code_segments, rule_coder
from assets.code.embeddings import Embedder
from assets.code.semantic import SemanticCoder, SemanticCoding, SemanticCodingError
from assets.code.trained_coders import coder_key, load_or_train
from assets.code.training import neutralise, training_data
from schemas.codebook import CODEBOOK_DIR, Codebook, CombinedSettings
from schemas.tables import CodedSegments, SegmentThemes, empty

# Names the method in lineage (`segment_themes.coder`, before a colon the embedder's name).
CODER = "combined-v1"

# What kind of segment it is, as features: the item a survey answer answers says a lot
# about its category ("what still gets in the way" is mostly barriers).
_SOURCE_FEATURES = (
    ("is_action", lambda segments: segments["is_action"].fillna(False).astype(bool)),
    ("survey", lambda segments: segments["source_kind"] == "survey"),
    ("action_plan", lambda segments: segments["source_kind"] == "action_plan"),
    ("what_changed", lambda segments: segments["item_id"] == "what_changed"),
    ("still_in_way", lambda segments: segments["item_id"] == "still_in_way"),
    ("what_would_help", lambda segments: segments["item_id"] == "what_would_help"),
)


@dataclasses.dataclass(frozen=True)
class CombinedCoding:
    """One segment's combined coding: a probability per theme, the themes at or above their
    threshold, and the category with its probability (an action's is 1)."""

    theme_scores: dict[str, float]
    themes: tuple[str, ...]
    category: str
    category_confidence: float


class CombinedCoder:
    """Build once per codebook and embedder (training takes a few seconds), then code."""

    def __init__(
        self, codebook: Codebook, embedder: Embedder, codebook_dir: Path = CODEBOOK_DIR
    ) -> None:
        if codebook.semantic is None or codebook.combined is None:
            raise SemanticCodingError(
                f"codebook {codebook.version} has no `semantic:` and `combined:` settings; "
                "the combined coder needs codebook v3 or later"
            )
        self.codebook = codebook
        self.embedder = embedder
        self.settings: CombinedSettings = codebook.combined
        self.coder_name = f"{CODER}:{embedder.name}"
        self._rules: RuleCoder = rule_coder(codebook)
        data = training_data(codebook, codebook_dir)
        dense = self._dense(data.texts, data.segments)
        self._scaler = StandardScaler().fit(dense)
        self._words = TfidfVectorizer(
            ngram_range=(1, 2), min_df=self.settings.min_word_count, sublinear_tf=True
        ).fit(data.texts)
        features = self._combine(dense, data.texts)
        self._themes = []
        for column in range(len(data.theme_codes)):
            rows, labels = data.for_theme(column)
            self._themes.append(self._regression().fit(features[rows], labels))
        rows, labels = data.for_category()
        self._category = self._regression().fit(features[rows], labels)

    def __getstate__(self) -> dict:
        """What it learnt, without codebook, embedder and rule coder (trained_coders.py)."""
        live = ("codebook", "embedder", "_rules")
        return {k: v for k, v in self.__dict__.items() if k not in live}

    def attach(self, codebook: Codebook, embedder: Embedder) -> CombinedCoder:
        """Give a coder loaded from disk the codebook, embedder and rules it was trained with."""
        self.codebook, self.embedder = codebook, embedder
        self._rules = rule_coder(codebook)
        return self

    def code(
        self, segments: pd.DataFrame, embeddings: np.ndarray | None = None
    ) -> list[CombinedCoding]:
        """Code segments (columns text, source_kind, item_id, is_action), in their order.

        `embeddings` may pass the segments' neutralised texts' vectors when the caller has
        them already (the semantic coder needs the same ones).
        """
        if segments.empty:
            return []
        texts = [neutralise(str(text)) for text in segments["text"]]
        dense = self._dense(texts, segments.reset_index(drop=True), embeddings)
        features = self._combine(dense, texts)
        theme_scores = np.column_stack(
            [model.predict_proba(features)[:, 1] for model in self._themes]
        )
        category_scores = self._category.predict_proba(features)
        classes = [str(label) for label in self._category.classes_]
        actions = segments["is_action"].fillna(False).astype(bool).to_numpy()
        codings = []
        for row, is_action in enumerate(actions):
            scores = {
                code: round(float(score), 4)
                for code, score in zip(self.codebook.theme_codes, theme_scores[row], strict=True)
            }
            themes = tuple(code for code, score in scores.items() if score >= self._cut(code))
            if is_action:
                category, confidence = self.codebook.categories.for_actions, 1.0
            else:
                best = int(np.argmax(category_scores[row]))
                category, confidence = classes[best], round(float(category_scores[row][best]), 4)
            codings.append(CombinedCoding(scores, themes, category, confidence))
        return codings

    def _cut(self, code: str) -> float:
        return self.settings.thresholds.get(code, self.settings.theme_threshold)

    def _regression(self) -> LogisticRegression:
        """Balanced classes, so that 0.5 means "as likely as not" (lbfgs: deterministic)."""
        return LogisticRegression(
            C=self.settings.regularisation, class_weight="balanced", max_iter=5000
        )

    def _combine(self, dense: np.ndarray, texts: Sequence[str]) -> sparse.csr_matrix:
        scaled = self._scaler.transform(dense) * self.settings.dense_weight
        return sparse.hstack(
            [sparse.csr_matrix(scaled), self._words.transform(texts)], format="csr"
        )

    def _dense(
        self,
        texts: Sequence[str],
        segments: pd.DataFrame,
        embeddings: np.ndarray | None = None,
    ) -> np.ndarray:
        """Embedding, rule scores (every theme and category cue), then the segment's kind."""
        if embeddings is None:
            embeddings = np.asarray(self.embedder.embed(list(texts)), dtype=np.float64)
        rule_scores = np.zeros((len(texts), len(self._rules.targets)))
        for row, coding in enumerate(self._rules.code(texts)):
            for target, score in coding.scores.items():
                rule_scores[row, target] = score
        kinds = segments.assign(
            item_id=segments.get("item_id"), is_action=segments.get("is_action", False)
        )
        source = np.column_stack([feature(kinds) for _, feature in _SOURCE_FEATURES])
        return np.hstack([embeddings, rule_scores, source.astype(np.float64)])


@dataclasses.dataclass(frozen=True)
class MachineCoding:
    """What the machine publishes for a set of segments, and every machine coder's rows.

    `segments` carry the published category; `segment_themes` the published themes (the
    combined coder's, or the rule coder's for a codebook without examples); `segment_codings`
    the rows of every machine coder that ran (rules, semantic, combined), for comparison.
    """

    segments: pd.DataFrame
    segment_themes: pd.DataFrame
    segment_codings: pd.DataFrame


def code_by_machine(
    segments: pd.DataFrame,
    codebook: Codebook,
    embedder: Embedder | None,
    trained_dir: Path | None = None,
) -> MachineCoding:
    """Code segments with every machine coder the codebook supports; publish the combined one.

    A codebook without `combined:` settings (before v3), or no embedder, is coded and
    published by rules alone, as those versions were. `trained_dir` keeps the trained
    coders between processes (trained_coders.py).
    """
    rules = code_segments(segments, codebook)
    if not uses_embeddings(codebook) or embedder is None or rules.segments.empty:
        return MachineCoding(rules.segments, rules.segment_themes, rules.segment_themes)
    frame = rules.segments
    texts = [neutralise(str(text)) for text in frame["text"]]
    embeddings = np.asarray(embedder.embed(texts), dtype=np.float64)
    semantic = semantic_coder(codebook, embedder, trained_dir)
    combined = combined_coder(codebook, embedder, trained_dir)
    semantic_codings = semantic.code_embedded(texts, embeddings)
    combined_codings = combined.code(frame, embeddings)
    published = frame.assign(category=[coding.category for coding in combined_codings])

    def rows(coder: str, codings: Sequence[SemanticCoding | CombinedCoding]) -> list[dict]:
        return [
            {
                "segment_id": segment_id,
                "theme_code": theme,
                "category": category,
                "coder": coder,
                "confidence": coding.theme_scores[theme],
                "codebook_version": codebook.version,
            }
            for segment_id, category, coding in zip(
                frame["segment_id"], published["category"], codings, strict=True
            )
            for theme in coding.themes
        ]

    combined_rows = _themes_table(rows(combined.coder_name, combined_codings))
    semantic_rows = _themes_table(rows(semantic.coder_name, semantic_codings))
    return MachineCoding(
        segments=CodedSegments.validate(published),
        segment_themes=combined_rows,
        segment_codings=pd.concat(
            [rules.segment_themes, semantic_rows, combined_rows], ignore_index=True
        ),
    )


def uses_embeddings(codebook: Codebook) -> bool:
    """Whether the codebook carries what the learnt coders need (v3 on)."""
    return codebook.semantic is not None and codebook.combined is not None


@functools.lru_cache(maxsize=2)
def semantic_coder(
    codebook: Codebook, embedder: Embedder, trained_dir: Path | None = None
) -> SemanticCoder:
    """Trained once per process, codebook and embedder (or loaded from `trained_dir`):
    training costs seconds, coding less."""
    key = coder_key("semantic", codebook, embedder.name)
    coder = load_or_train(trained_dir, key, lambda: SemanticCoder(codebook, embedder))
    return coder.attach(codebook, embedder)


@functools.lru_cache(maxsize=2)
def combined_coder(
    codebook: Codebook, embedder: Embedder, trained_dir: Path | None = None
) -> CombinedCoder:
    key = coder_key("combined", codebook, embedder.name)
    coder = load_or_train(trained_dir, key, lambda: CombinedCoder(codebook, embedder))
    return coder.attach(codebook, embedder)


def _themes_table(rows: list[dict]) -> pd.DataFrame:
    return SegmentThemes.validate(pd.DataFrame(rows)) if rows else empty(SegmentThemes)
