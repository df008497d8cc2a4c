"""The validate stage: every table checked against its pandera model, lazily, row by row.

A failing row never stops the partition: it leaves its table and becomes a quarantine
row naming its file, its locator and the failed rule. pandera's failure cases hold the
offending values, which can be names or free text, so reasons are built from the column
and the rule only, never from the value.
"""

from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from collections.abc import Callable, Iterable

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from schemas.tables import (
    ActionPlan,
    Attendees,
    Quarantine,
    RawSegments,
    SiteSubmission,
    SourceFiles,
    SurveyAnswers,
    SurveyResponses,
)

RULE_WORDS = {
    "isin": "is not one of the allowed values",
    "str_matches": "is not in the expected format",
    "str_length": "is empty",
    "not_nullable": "is missing",
    "field_uniqueness": "is duplicated",
    "greater_than_or_equal_to": "is below the allowed range",
    "less_than_or_equal_to": "is above the allowed range",
    "coerce_dtype": "has the wrong type",
    "dtype": "has the wrong type",
}


def _rule_words(check: str) -> str:
    """Plain words for a pandera check name such as `isin(['staff', ...])`."""
    name = re.split(r"[(\s]", str(check), maxsplit=1)[0]
    if name in RULE_WORDS:
        return RULE_WORDS[name]
    return name.replace("_", " ")


Rejections = dict[object, list[str]]
"""Rows of one table that failed: their index and the reasons why."""


def validate_lazily(
    model: type[pa.DataFrameModel] | pa.DataFrameSchema, frame: pd.DataFrame
) -> tuple[pd.DataFrame, Rejections]:
    """Validate every row; return the rows that pass and the reasons for those that do not."""
    try:
        return model.validate(frame, lazy=True), {}
    except SchemaErrors as errors:
        reasons: dict[object, list[str]] = defaultdict(list)
        for case in errors.failure_cases.itertuples(index=False):
            column = case.column if isinstance(case.column, str) else None
            what = f"{column} {_rule_words(case.check)}" if column else _rule_words(case.check)
            rows = frame.index if pd.isna(case.index) else [case.index]
            for row in rows:
                if what not in reasons[row]:
                    reasons[row].append(what)
        passing = frame.drop(index=list(reasons))
        return model.validate(passing), dict(reasons)


def quarantine_rows(frame: pd.DataFrame, rejections: Rejections) -> pd.DataFrame:
    """Quarantine rows for the rejected rows of `frame`, with their file and locator."""
    rows = [
        {
            "round_id": frame.at[index, "round_id"],
            "site_id": frame.at[index, "site_id"],
            "source_file": frame.at[index, "source_file"],
            "locator": frame.at[index, "locator"],
            "reason": "; ".join(reasons),
            "severity": "error",
        }
        for index, reasons in rejections.items()
    ]
    return pd.DataFrame(rows, columns=list(Quarantine.to_schema().columns))


ResponseKey = tuple[str, str]


def instrument_rejections(
    responses: pd.DataFrame,
    answers: pd.DataFrame,
    accepts: Callable[[str, str, str], bool],
    required: Callable[[str], Iterable[str]],
) -> dict[ResponseKey, list[str]]:
    """Responses that break their instrument: (source_file, response_id) -> reasons.

    `accepts(instrument_id, item_id, value)` says whether a value is one of the item's
    values; `required(instrument_id)` lists the items every response must answer.
    """
    instrument_of = dict(zip(_response_keys(responses), responses["instrument_id"], strict=True))
    reasons: dict[ResponseKey, list[str]] = defaultdict(list)
    for key, item_id, value in zip(
        _response_keys(answers), answers["item_id"], answers["value"], strict=True
    ):
        instrument_id = instrument_of.get(key)
        if instrument_id is not None and not accepts(instrument_id, item_id, value):
            reasons[key].append(f"item {item_id}: answer is not one of the item's values")
    answered = set(zip(_response_keys(answers), answers["item_id"], strict=True))
    for key, instrument_id in instrument_of.items():
        for item_id in required(instrument_id):
            if (key, item_id) not in answered:
                reasons[key].append(f"item {item_id}: required answer is missing")
    return dict(reasons)


def _response_keys(frame: pd.DataFrame) -> list[ResponseKey]:
    return list(zip(frame["source_file"], frame["response_id"].fillna(""), strict=True))


def _row_keys(frame: pd.DataFrame) -> list[tuple[str, str]]:
    """(file, spreadsheet row) of each row: an action-plan entry and its segments share it."""
    return [
        (source_file, locator.split(",")[0])
        for source_file, locator in zip(frame["source_file"], frame["locator"], strict=True)
    ]


def _validate_surveys(
    submission: SiteSubmission,
    accepts: Callable[[str, str, str], bool],
    required: Callable[[str], Iterable[str]],
) -> tuple[pd.DataFrame, pd.DataFrame, set[ResponseKey], pd.DataFrame]:
    """Responses and answers that pass, the keys of rejected responses, and their quarantine.

    A response that breaks the model or its instrument is rejected whole (answers and
    free-text segments with it): a half-kept response would bias the summaries.
    """
    responses = submission.survey_responses
    _, rejected = validate_lazily(SurveyResponses, responses)
    keys = _response_keys(responses)
    reasons: dict[ResponseKey, list[str]] = defaultdict(list)
    for index, why in rejected.items():
        reasons[keys[responses.index.get_loc(index)]].extend(why)
    for key, why in instrument_rejections(
        responses, submission.survey_answers, accepts, required
    ).items():
        reasons[key].extend(why)
    bad = pd.Series([key in reasons for key in keys], index=responses.index, dtype=bool)
    quarantine = quarantine_rows(
        responses, {i: reasons[keys[n]] for n, i in enumerate(responses.index) if bad[i]}
    )
    answers = submission.survey_answers
    kept_answers = pd.Series(
        [key not in reasons for key in _response_keys(answers)], index=answers.index, dtype=bool
    )
    return (
        SurveyResponses.validate(responses[~bad]),
        SurveyAnswers.validate(answers[kept_answers]),
        set(reasons),
        quarantine,
    )


def validate_submission(
    submission: SiteSubmission,
    accepts: Callable[[str, str, str], bool],
    required: Callable[[str], Iterable[str]],
    theme_codes: Iterable[str],
) -> SiteSubmission:
    """Check every table of an ingested submission; quarantine what fails, keep the rest."""
    responses, answers, bad_responses, survey_quarantine = _validate_surveys(
        submission, accepts, required
    )

    plan_model = ActionPlan.to_schema().update_column(
        "theme_code", checks=[pa.Check.isin(sorted(theme_codes))]
    )
    action_plan, plan_rejected = validate_lazily(plan_model, submission.action_plan)
    bad_rows = set(_row_keys(submission.action_plan.loc[list(plan_rejected)]))

    segments = submission.segments
    orphaned = [
        (kind == "survey" and key in bad_responses) or (kind == "action_plan" and row in bad_rows)
        for kind, key, row in zip(
            segments["source_kind"], _response_keys(segments), _row_keys(segments), strict=True
        )
    ]
    segments, segment_rejected = validate_lazily(
        RawSegments, segments[~pd.Series(orphaned, index=segments.index, dtype=bool)]
    )

    attendees = Attendees.validate(submission.attendees)
    quarantine = pd.concat(
        [
            submission.quarantine,
            survey_quarantine,
            quarantine_rows(submission.action_plan, plan_rejected),
            quarantine_rows(submission.segments, segment_rejected),
        ],
        ignore_index=True,
    )
    quarantine = Quarantine.validate(quarantine)
    return dataclasses.replace(
        submission,
        attendees=attendees,
        segments=segments,
        survey_responses=responses,
        survey_answers=answers,
        action_plan=action_plan,
        quarantine=quarantine,
        source_files=count_rejections(submission.source_files, quarantine),
    )


def count_rejections(source_files: pd.DataFrame, quarantine: pd.DataFrame) -> pd.DataFrame:
    """Each file's rejected rows, from the quarantine (warnings do not count)."""
    per_file = quarantine[quarantine["severity"] == "error"].groupby("source_file").size()
    counted = source_files.assign(
        n_rejected=source_files["source_file"].map(per_file).fillna(0).astype("Int64")
    )
    return SourceFiles.validate(counted)
