"""The analysts' counts for one round x site: theme prevalence and survey item summaries.

Participants are counted, never named: a minutes speaker by pseudonym, a survey
respondent by response id. Segments whose speaker is unknown count as segments but
not as participants.
"""

from __future__ import annotations

import pandas as pd

from assets.aggregate.disclosure import suppress
from schemas.tables import SurveyItemSummary, ThemePrevalence, empty

ALL_GROUPS = "all"
UNKNOWN_GROUP = "unknown"
AGREE_FROM = 4.0
SUMMARISED_TYPES = ("likert5", "single_choice", "number")


def respondents(frame: pd.DataFrame) -> pd.Series:
    """One key per survey response: response ids are unique within a file, not a site."""
    return frame["source_file"].astype("object") + "#" + frame["response_id"].astype("object")


def participant_refs(segments: pd.DataFrame) -> pd.Series:
    """Who stands behind each segment, pseudonymously: speaker, else survey response."""
    by_response = respondents(segments).where(segments["response_id"].notna(), None)
    return segments["speaker"].where(segments["speaker"].notna(), by_response)


def theme_prevalence(
    segments: pd.DataFrame, segment_themes: pd.DataFrame, threshold: int
) -> pd.DataFrame:
    """Segments and participants per stakeholder group x theme x category, and over all groups."""
    if segment_themes.empty:
        return empty(ThemePrevalence)
    people = segments.assign(participant=participant_refs(segments))[
        ["segment_id", "round_id", "site_id", "stakeholder_group", "participant"]
    ]
    coded = (
        segment_themes[["segment_id", "theme_code", "category"]]
        .drop_duplicates()
        .merge(people, on="segment_id", how="inner")
    )
    coded["stakeholder_group"] = coded["stakeholder_group"].fillna(UNKNOWN_GROUP)
    keys = ["round_id", "site_id", "theme_code", "category"]

    def count(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
        return (
            frame.groupby(by, dropna=False)
            .agg(n_segments=("segment_id", "nunique"), n_participants=("participant", "nunique"))
            .reset_index()
        )

    per_group = suppress(
        count(coded, [*keys, "stakeholder_group"]),
        "n_participants",
        threshold,
        groups=keys,
        hide=["n_participants"],
    )
    overall = suppress(
        count(coded, keys).assign(stakeholder_group=ALL_GROUPS),
        "n_participants",
        threshold,
        groups=[],
        hide=["n_participants"],
    )
    table = pd.concat([per_group, overall], ignore_index=True)
    table = table.sort_values([*keys, "stakeholder_group"], kind="stable", ignore_index=True)
    return ThemePrevalence.validate(table)


def survey_item_summary(answers: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """Per item: responses, mean and share agreeing; per option: responses; small counts hidden."""
    answers = answers[answers["item_type"].isin(SUMMARISED_TYPES)]
    if answers.empty:
        return empty(SurveyItemSummary)
    answers = answers.assign(respondent=respondents(answers))
    keys = ["round_id", "site_id", "item_id"]
    totals = (
        answers.groupby(keys)
        .agg(
            n_responses=("respondent", "nunique"),
            likert=("item_type", lambda types: bool((types == "likert5").all())),
            mean=("score", "mean"),
            share_agree=(
                "score",
                lambda s: (s >= AGREE_FROM).sum() / s.notna().sum() if s.notna().any() else None,
            ),
        )
        .reset_index()
    )
    totals.loc[~totals.pop("likert"), "share_agree"] = None
    totals = suppress(totals, "n_responses", threshold, [], ["n_responses", "mean", "share_agree"])
    options = (
        answers[answers["item_type"] != "number"]
        .groupby([*keys, "value"])
        .agg(n_responses=("respondent", "nunique"))
        .reset_index()
        .rename(columns={"value": "response_option"})
    )
    options = suppress(options, "n_responses", threshold, keys, ["n_responses"])
    options = options.assign(mean=None, share_agree=None)
    table = pd.concat([totals.assign(response_option=None), options], ignore_index=True)
    table = table.sort_values([*keys, "response_option"], na_position="first", ignore_index=True)
    return SurveyItemSummary.validate(table)
