"""Scoring a theme coder against the labelled evaluation set (`tests/coder_eval/segments.yaml`).

A coder's output feeds counts that analysts compare across rounds and sites, so before a
coder (rules, semantic, or both combined) codes a round, its decisions are compared with a
human gold standard: per theme, how many of its themes are right (precision) and how many
of the right ones it finds (recall); per segment, whether the category is right.

Undefined values are NaN, never 0: a theme that the gold never carries and the coder never
assigns has no precision or recall, and is left out of the macro averages (scikit-learn's
`zero_division=nan`). A theme the coder assigns but the gold never carries has precision 0
and F1 0, recall undefined.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pydantic
import yaml
from pydantic import ConfigDict, Field
from sklearn.metrics import accuracy_score, precision_recall_fscore_support, recall_score

from schemas.codebook import CONTRACT_THEME_CODES
from schemas.contract import CATEGORIES, ROLES, SOURCE_KINDS

EVAL_SET_PATH = Path(__file__).resolve().parents[2] / "tests" / "coder_eval" / "segments.yaml"

EVAL_SET_COLUMNS = (
    "segment_id",
    "source_kind",
    "stakeholder_group",
    "item_id",
    "is_action",
    "text",
    "themes",
    "category",
    "note",
)

# What a segment without a predicted category is compared as: never equal to a category.
_NO_CATEGORY = "(none)"


class EvalSetError(ValueError):
    """An evaluation set that cannot be used: names the file, the segment and the reason."""


class _EvalSegment(pydantic.BaseModel):
    """One labelled segment as written in the YAML file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    source_kind: Literal[SOURCE_KINDS]  # type: ignore[valid-type]
    stakeholder_group: Literal[ROLES] | None  # type: ignore[valid-type]
    item_id: str | None = None
    is_action: bool = False
    text: str = Field(min_length=1)
    themes: list[str]
    category: Literal[CATEGORIES]  # type: ignore[valid-type]
    note: str | None = None


@dataclasses.dataclass(frozen=True)
class CoderScores:
    """How one coder did on the evaluation set.

    `themes` has one row per theme code (index `theme_code`) with precision, recall, f1,
    support (gold segments with the theme) and n_predicted. `categories` has one row per
    category (index `category`) with support and accuracy (the share of the gold segments of
    that category the coder got right). `unscored_theme_codes` lists codes the coder used
    that the gold does not label (e.g. a new top-level code of a later codebook): they are
    left out of every figure.
    """

    n_segments: int
    themes: pd.DataFrame
    micro_precision: float
    micro_recall: float
    micro_f1: float
    macro_precision: float
    macro_recall: float
    macro_f1: float
    category_accuracy: float
    categories: pd.DataFrame
    unscored_theme_codes: tuple[str, ...]


def load_eval_set(path: Path = EVAL_SET_PATH) -> pd.DataFrame:
    """Read and check the evaluation set; raise EvalSetError naming the file and segment.

    Returns one row per segment with EVAL_SET_COLUMNS; `segment_id` is the file's `id`, and
    `themes` a tuple of top-level codes in the contract's order (empty for no theme).
    """
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise EvalSetError(f"{path}: cannot be read ({error.strerror})") from error
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "unknown place"
        raise EvalSetError(f"{path}: not valid YAML at {where}") from error
    entries = document.get("segments") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise EvalSetError(f"{path}: expected a mapping with a non-empty list 'segments'")

    problems: list[str] = []
    segments: list[_EvalSegment] = []
    for number, entry in enumerate(entries, start=1):
        where = _where(number, entry)
        if not isinstance(entry, dict):
            problems.append(f"{where}: expected a mapping")
            continue
        try:
            segment = _EvalSegment.model_validate(entry)
        except pydantic.ValidationError as error:
            problems += [
                f"{where}: {'.'.join(map(str, problem['loc']))}: {problem['msg']}"
                for problem in error.errors()
            ]
            continue
        problems += _theme_problems(segment, where)
        segments.append(segment)
    seen: set[str] = set()
    for segment in segments:
        if segment.id in seen:
            problems.append(f"segment {segment.id}: id used more than once")
        seen.add(segment.id)
    if problems:
        raise EvalSetError(f"{path}: " + "; ".join(problems))

    order = {code: position for position, code in enumerate(CONTRACT_THEME_CODES)}
    rows = [
        {
            **segment.model_dump(exclude={"id", "themes"}),
            "segment_id": segment.id,
            "themes": tuple(sorted(segment.themes, key=order.__getitem__)),
        }
        for segment in segments
    ]
    return pd.DataFrame(rows, columns=list(EVAL_SET_COLUMNS))


def _where(number: int, entry: object) -> str:
    if isinstance(entry, dict) and isinstance(entry.get("id"), str):
        return f"segment {entry['id']}"
    return f"entry {number}"


def _theme_problems(segment: _EvalSegment, where: str) -> list[str]:
    problems = [
        f"{where}: themes: {code!r} is not a top-level theme code of the contract"
        for code in segment.themes
        if code not in CONTRACT_THEME_CODES
    ]
    if len(set(segment.themes)) != len(segment.themes):
        problems.append(f"{where}: themes: a theme is listed more than once")
    return problems


def score_coding(
    gold: pd.DataFrame,
    predicted_themes: pd.DataFrame,
    predicted_category: pd.DataFrame | pd.Series | Mapping[str, str],
) -> CoderScores:
    """Compare a coder's themes and categories with the gold standard.

    `gold` is `load_eval_set`'s frame. `predicted_themes` has columns segment_id and
    theme_code (other columns, such as the coder's confidence, are ignored; a segment with
    no row got no theme). `predicted_category` maps segment_id to category: a Series indexed
    by segment_id, a frame with columns segment_id and category, or a dict; a gold segment
    without one (or with a null one) counts as wrong. Predictions for segments outside the
    gold set raise ValueError: they mean the wrong segments were coded.
    """
    segment_ids = list(gold["segment_id"])
    known = set(segment_ids)
    theme_codes = list(CONTRACT_THEME_CODES)

    missing = [column for column in ("segment_id", "theme_code") if column not in predicted_themes]
    if missing:
        raise ValueError("predicted themes lack column(s): " + ", ".join(missing))
    _check_segments(predicted_themes["segment_id"], known, "predicted themes")
    codes = predicted_themes["theme_code"].astype(str)
    scored = predicted_themes[codes.isin(theme_codes)]
    unscored = tuple(sorted(set(codes) - set(theme_codes)))

    gold_themes = dict(zip(segment_ids, gold["themes"], strict=True))
    predicted_by_segment: dict[str, set[str]] = {}
    for segment_id, code in zip(scored["segment_id"], scored["theme_code"], strict=True):
        predicted_by_segment.setdefault(segment_id, set()).add(code)
    true_matrix = _indicator(segment_ids, gold_themes, theme_codes)
    pred_matrix = _indicator(segment_ids, predicted_by_segment, theme_codes)
    precision, recall, f1, support = precision_recall_fscore_support(
        true_matrix, pred_matrix, average=None, zero_division=np.nan
    )
    themes = pd.DataFrame(
        {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": support.astype(int),
            "n_predicted": pred_matrix.sum(axis=0).astype(int),
        },
        index=pd.Index(theme_codes, name="theme_code"),
    )
    micro = precision_recall_fscore_support(
        true_matrix, pred_matrix, average="micro", zero_division=np.nan
    )
    macro = precision_recall_fscore_support(
        true_matrix, pred_matrix, average="macro", zero_division=np.nan
    )

    categories = _category_map(predicted_category)
    _check_segments(pd.Series(list(categories)), known, "predicted categories")
    unknown = sorted({str(value) for value in categories.values() if value not in CATEGORIES})
    if unknown:
        raise ValueError("predicted categories are not categories: " + ", ".join(unknown))
    gold_categories = list(gold["category"])
    predicted = [categories.get(sid, _NO_CATEGORY) for sid in segment_ids]
    per_category = recall_score(
        gold_categories, predicted, labels=list(CATEGORIES), average=None, zero_division=np.nan
    )
    category_support = [gold_categories.count(category) for category in CATEGORIES]

    return CoderScores(
        n_segments=len(segment_ids),
        themes=themes,
        micro_precision=float(micro[0]),
        micro_recall=float(micro[1]),
        micro_f1=float(micro[2]),
        macro_precision=float(macro[0]),
        macro_recall=float(macro[1]),
        macro_f1=float(macro[2]),
        category_accuracy=float(accuracy_score(gold_categories, predicted)),
        categories=pd.DataFrame(
            {"support": category_support, "accuracy": per_category},
            index=pd.Index(list(CATEGORIES), name="category"),
        ),
        unscored_theme_codes=unscored,
    )


def _indicator(
    segment_ids: list[str], themes: Mapping[str, Iterable[str]], theme_codes: list[str]
) -> np.ndarray:
    """A segments x themes 0/1 matrix, the multilabel form scikit-learn's metrics take."""
    return np.array(
        [[code in set(themes.get(sid, ())) for code in theme_codes] for sid in segment_ids],
        dtype=int,
    ).reshape(len(segment_ids), len(theme_codes))


def _check_segments(segment_ids: pd.Series, known: set[str], what: str) -> None:
    strangers = sorted(set(segment_ids.astype(str)) - known)
    if strangers:
        raise ValueError(
            f"{what} name {len(strangers)} segment(s) not in the evaluation set: "
            + ", ".join(strangers[:5])
        )


def _category_map(predicted: pd.DataFrame | pd.Series | Mapping[str, str]) -> dict[str, str]:
    if isinstance(predicted, pd.DataFrame):
        missing = [column for column in ("segment_id", "category") if column not in predicted]
        if missing:
            raise ValueError("predicted categories lack column(s): " + ", ".join(missing))
        pairs = zip(predicted["segment_id"], predicted["category"], strict=True)
    elif isinstance(predicted, pd.Series):
        pairs = zip(predicted.index, predicted, strict=True)
    else:
        pairs = iter(predicted.items())
    categories: dict[str, str] = {}
    for segment_id, category in pairs:
        if pd.isna(category):
            continue
        if categories.setdefault(str(segment_id), category) != category:
            raise ValueError(f"segment {segment_id} has more than one predicted category")
    return categories


def format_scores(named_scores: Mapping[str, CoderScores]) -> str:
    """A plain-text table for the CLI: one column per coder, one row per figure.

    All coders must have been scored on the same evaluation set, so that one support
    column serves them all; NaN (undefined) prints as '-'.
    """
    if not named_scores:
        raise ValueError("no coder scores to format")
    names = list(named_scores)
    first = named_scores[names[0]]
    for name in names[1:]:
        other = named_scores[name]
        if other.n_segments != first.n_segments or not other.themes["support"].equals(
            first.themes["support"]
        ):
            raise ValueError(f"{names[0]} and {name} were scored on different evaluation sets")
    scores = [named_scores[name] for name in names]

    rows: list[tuple[str, list[str]]] = [
        ("segments", [str(score.n_segments) for score in scores]),
        ("themes", []),
    ]
    for label, attribute in (
        ("micro precision", "micro_precision"),
        ("micro recall", "micro_recall"),
        ("micro F1", "micro_f1"),
        ("macro precision", "macro_precision"),
        ("macro recall", "macro_recall"),
        ("macro F1", "macro_f1"),
    ):
        rows.append((f"  {label}", [_number(getattr(score, attribute)) for score in scores]))
    rows.append(("category accuracy", [_number(score.category_accuracy) for score in scores]))
    for category, support in first.categories["support"].items():
        rows.append(
            (
                f"  {category} (n={support})",
                [_number(score.categories.at[category, "accuracy"]) for score in scores],
            )
        )
    for title, column in (("F1", "f1"), ("precision", "precision"), ("recall", "recall")):
        rows.append((f"theme {title}", []))
        for code, support in first.themes["support"].items():
            rows.append(
                (
                    f"  {code} (n={support})",
                    [_number(score.themes.at[code, column]) for score in scores],
                )
            )

    label_width = max(len(label) for label, _ in rows)
    widths = [max(len(name), 6) for name in names]
    lines = [_table_line("", names, label_width, widths)]
    lines += [_table_line(label, cells, label_width, widths) for label, cells in rows]
    for name, score in named_scores.items():
        if score.unscored_theme_codes:
            lines.append(
                f"{name}: codes not in the evaluation set, not scored: "
                + ", ".join(score.unscored_theme_codes)
            )
    return "\n".join(lines)


def _table_line(label: str, cells: list[str], label_width: int, widths: list[int]) -> str:
    """A row of the table; a section title has no cells."""
    if not cells:
        return label
    padded = (f"{cell:>{width}}" for cell, width in zip(cells, widths, strict=True))
    return f"{label:<{label_width}}  " + "  ".join(padded)


def _number(value: float) -> str:
    return "-" if pd.isna(value) else f"{value:.3f}"
