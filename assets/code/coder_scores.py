"""Scoring the machine's coders on the labelled set: rules, semantic and the two combined.

What `ariadne eval-coder` prints. The set (tests/coder_eval) is a person's coding, so
besides precision and recall each coder's agreement with that person is given per theme
(Cohen's kappa, Krippendorff's alpha), with a warning where alpha is below 0.667.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import pandas as pd

from assets.code.agreement import coder_agreement, warnings
from assets.code.coder import code_segments
from assets.code.combined import CombinedCoder
from assets.code.embeddings import Embedder
from assets.code.evaluation import CoderScores, score_coding
from assets.code.semantic import SemanticCoder
from schemas.codebook import CONTRACT_THEME_CODES, Codebook

HUMAN = "labelled set"
EVAL_ROUND = "coder-eval"
# Targets of the issue, on the labelled set.
THEME_MICRO_F1_TARGET = 0.80
CATEGORY_ACCURACY_TARGET = 0.85


@dataclasses.dataclass(frozen=True)
class CoderEvaluation:
    scores: dict[str, CoderScores]
    agreement: pd.DataFrame

    def shortfalls(self) -> list[str]:
        """The combined coder's misses of the targets, in words; empty when both are met."""
        combined = self.scores["combined"]
        problems = []
        if combined.micro_f1 < THEME_MICRO_F1_TARGET:
            problems.append(f"theme micro-F1 {combined.micro_f1:.3f} < {THEME_MICRO_F1_TARGET}")
        if combined.category_accuracy < CATEGORY_ACCURACY_TARGET:
            problems.append(
                f"category accuracy {combined.category_accuracy:.3f} < {CATEGORY_ACCURACY_TARGET}"
            )
        return problems

    def warnings(self) -> list[str]:
        return warnings(self.agreement)


def _theme_rows(segment_ids: Iterable[str], themes: Iterable[tuple[str, ...]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            (segment_id, theme)
            for segment_id, codes in zip(segment_ids, themes, strict=True)
            for theme in codes
        ],
        columns=["segment_id", "theme_code"],
    )


def as_segments(gold: pd.DataFrame) -> pd.DataFrame:
    """The labelled set as the anonymised segments the code stage receives."""
    return gold[["segment_id", "source_kind", "stakeholder_group", "item_id", "text"]].assign(
        round_id=EVAL_ROUND,
        site_id="eval",
        event_id=None,
        source_file="tests/coder_eval/segments.yaml",
        source_sha256="0" * 64,
        locator=gold["segment_id"],
        agenda_item=None,
        is_action=gold["is_action"],
        response_id=None,
        speaker=None,
    )


def evaluate_coders(gold: pd.DataFrame, codebook: Codebook, embedder: Embedder) -> CoderEvaluation:
    """Each coder's themes and category on the set, scored against the person's labels.

    The rule coder's category is its cue decision; the semantic coder's is its own where
    confident, else the rule coder's; the combined coder's is its own.
    """
    segments = as_segments(gold)
    rules = code_segments(segments, codebook)
    rule_category = rules.segments.set_index("segment_id")["category"]
    semantic = SemanticCoder(codebook, embedder).code(list(gold["text"]))
    combined = CombinedCoder(codebook, embedder).code(segments)
    machine = {
        "rules": rules.segment_themes[["segment_id", "theme_code"]],
        "semantic": _theme_rows(gold["segment_id"], (coding.themes for coding in semantic)),
        "combined": _theme_rows(gold["segment_id"], (coding.themes for coding in combined)),
    }
    categories = {
        "rules": rule_category,
        "semantic": pd.Series(
            [
                coding.category or rule_category[segment_id]
                for segment_id, coding in zip(gold["segment_id"], semantic, strict=True)
            ],
            index=gold["segment_id"],
        ),
        "combined": pd.Series([coding.category for coding in combined], index=gold["segment_id"]),
    }
    scores = {
        name: score_coding(gold, themes, categories[name]) for name, themes in machine.items()
    }
    human = gold[["segment_id", "themes"]].explode("themes").dropna()
    all_codings = pd.concat(
        [
            human.rename(columns={"themes": "theme_code"}).assign(coder=HUMAN),
            *(themes.assign(coder=name) for name, themes in machine.items()),
        ],
        ignore_index=True,
    )
    contract = all_codings[all_codings["theme_code"].isin(CONTRACT_THEME_CODES)]
    segments = frozenset(gold["segment_id"])
    agreement = coder_agreement(
        contract,
        list(CONTRACT_THEME_CODES),
        {coder: segments for coder in [HUMAN, *machine]},
    )
    with_person = (agreement["coder_a"] == HUMAN) | (agreement["coder_b"] == HUMAN)
    return CoderEvaluation(scores, agreement[with_person].reset_index(drop=True))
