"""Scoring the machine's coders on the labelled set: rules, semantic and the two combined.

What `ariadne eval-coder` prints. The set (tests/coder_eval) is a person's coding, so
besides precision and recall each coder's agreement with that person is given per theme
(Cohen's kappa, Krippendorff's alpha), with a warning where alpha is below 0.667.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from assets.code.agreement import coder_agreement, warnings
from assets.code.coder import code_segments
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
    """Each coder's themes and category on the set, scored against the person's labels."""
    rules = code_segments(as_segments(gold), codebook)
    category = rules.segments.set_index("segment_id")["category"]
    codings = SemanticCoder(codebook, embedder).code(list(gold["text"]))
    semantic = pd.DataFrame(
        [
            (segment_id, theme)
            for segment_id, coding in zip(gold["segment_id"], codings, strict=True)
            for theme in coding.themes
            if theme in codebook.theme_codes
        ],
        columns=["segment_id", "theme_code"],
    )
    semantic_category = pd.Series(
        [
            coding.category or category[segment_id]
            for segment_id, coding in zip(gold["segment_id"], codings, strict=True)
        ],
        index=gold["segment_id"],
    )
    machine = {
        "rules": rules.segment_themes[["segment_id", "theme_code"]],
        "semantic": semantic,
    }
    machine["combined"] = pd.concat(machine.values()).drop_duplicates(ignore_index=True)
    categories = {"rules": category, "semantic": semantic_category, "combined": category}
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
