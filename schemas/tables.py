"""pandera models of every table that passes between stages, and the bundle that carries them.

One round x site partition travels through the stages as a `SiteSubmission`. Tables
before anonymisation (`RawSegments`, `Attendees`) hold personal data and live only in
the restricted staging area; from `Segments` on, people appear as pseudonyms.
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from schemas.contract import (
    ACTION_STATUSES,
    CATEGORIES,
    DISCLOSURES,
    EVENT_TYPES,
    ROLES,
    SEVERITIES,
    SLUG_PATTERN,
    SOURCE_FILE_STATUSES,
    SOURCE_KINDS,
)

SHA256 = r"^[0-9a-f]{64}$"
PSEUDONYM = r"^\[[a-z_]+-[0-9a-f]{6}\]$"


class _Strict(pa.DataFrameModel):
    class Config:
        strict = "filter"
        coerce = True


class _Partitioned(_Strict):
    round_id: Series[str] = pa.Field(str_matches=rf"^{SLUG_PATTERN}$")
    site_id: Series[str] = pa.Field(str_matches=rf"^{SLUG_PATTERN}$")


class Attendees(_Partitioned):
    """The events' rosters: real names, restricted staging only."""

    event_id: Series[str]
    event_type: Series[str] = pa.Field(isin=EVENT_TYPES)
    name: Series[str] = pa.Field(str_length={"min_value": 1})
    role: Series[str] = pa.Field(isin=ROLES)
    initials: Series[str] = pa.Field(nullable=True)


class _SegmentBase(_Partitioned):
    segment_id: Series[str] = pa.Field(unique=True)
    source_kind: Series[str] = pa.Field(isin=SOURCE_KINDS)
    event_id: Series[str] = pa.Field(nullable=True)
    source_file: Series[str]
    source_sha256: Series[str] = pa.Field(str_matches=SHA256)
    locator: Series[str]
    agenda_item: Series[str] = pa.Field(nullable=True)
    stakeholder_group: Series[str] = pa.Field(isin=ROLES, nullable=True)
    is_action: Series[bool]
    response_id: Series[str] = pa.Field(nullable=True)
    item_id: Series[str] = pa.Field(nullable=True)
    text: Series[str] = pa.Field(str_length={"min_value": 1})


class RawSegments(_SegmentBase):
    """Segments as read: real speaker names and unredacted text. Restricted."""

    speaker_name: Series[str] = pa.Field(nullable=True)
    withdrawn: Series[bool]


class Segments(_SegmentBase):
    """Anonymised segments: the speaker is a pseudonym, withdrawn people are gone."""

    speaker: Series[str] = pa.Field(nullable=True, str_matches=PSEUDONYM)


class CodedSegments(Segments):
    category: Series[str] = pa.Field(isin=CATEGORIES)
    codebook_version: Series[str]


class SegmentThemes(_Strict):
    segment_id: Series[str]
    theme_code: Series[str]
    category: Series[str] = pa.Field(isin=CATEGORIES)
    coder: Series[str]
    confidence: Series[float] = pa.Field(ge=0.0, le=1.0)
    codebook_version: Series[str]


class SegmentCodings(SegmentThemes):
    """Every coder's themes, the machine's and each person's, whichever `segment_themes`
    publishes: what agreement is measured on and what a review export shows as the machine's."""


class SegmentReviews(_Strict):
    """One row per segment a person reviewed, with or without giving it a theme.

    `coder` is the reviewer's pseudonym; `reviewed_at` the import's time (ISO 8601, UTC),
    which decides whose review is published when several people reviewed a segment.
    """

    segment_id: Series[str]
    coder: Series[str] = pa.Field(str_matches=PSEUDONYM)
    category: Series[str] = pa.Field(isin=CATEGORIES)
    reviewed_at: Series[str]
    codebook_version: Series[str]


class CoderAgreement(_Strict):
    """Per pair of coders and theme (or `all`), agreement on the segments both coded."""

    coder_a: Series[str]
    coder_b: Series[str]
    theme_code: Series[str]
    n_segments: Series[int] = pa.Field(ge=0)
    cohen_kappa: Series[float] = pa.Field(nullable=True)
    krippendorff_alpha: Series[float] = pa.Field(nullable=True)
    percent_agreement: Series[float] = pa.Field(nullable=True, ge=0.0, le=100.0)


class SurveyResponses(_Partitioned):
    """One row per survey response; the export's Name and Email never get here."""

    response_id: Series[str]
    source_file: Series[str]
    source_sha256: Series[str] = pa.Field(str_matches=SHA256)
    instrument_id: Series[str]
    locator: Series[str]
    respondent_role: Series[str] = pa.Field(isin=ROLES)
    ethnic_group: Series[str] = pa.Field(nullable=True)
    age_band: Series[str] = pa.Field(nullable=True)
    withdrawn: Series[bool]

    @pa.dataframe_check
    def response_id_unique_per_file(cls, df: pd.DataFrame) -> Series[bool]:
        return ~df.duplicated(["source_file", "response_id"], keep=False)


class SurveyAnswers(_Partitioned):
    """One row per non-empty answer, normalised: likert answers carry their score 1-5."""

    response_id: Series[str]
    source_file: Series[str]
    item_id: Series[str]
    item_type: Series[str] = pa.Field(isin=("likert5", "single_choice", "free_text", "number"))
    value: Series[str]
    score: Series[float] = pa.Field(nullable=True)


class ActionPlan(_Partitioned):
    source_file: Series[str]
    source_sha256: Series[str] = pa.Field(str_matches=SHA256)
    locator: Series[str]
    action_id: Series[str] = pa.Field(str_length={"min_value": 1})
    action: Series[str] = pa.Field(str_length={"min_value": 1})
    theme_code: Series[str]
    status: Series[str] = pa.Field(isin=ACTION_STATUSES)
    evidence: Series[str] = pa.Field(nullable=True)

    @pa.dataframe_check
    def action_id_unique(cls, df: pd.DataFrame) -> Series[bool]:
        return ~df.duplicated(["action_id"], keep=False)


class SourceFiles(_Partitioned):
    source_file: Series[str]
    source_sha256: Series[str] = pa.Field(nullable=True)
    source_kind: Series[str] = pa.Field(nullable=True)
    status: Series[str] = pa.Field(isin=SOURCE_FILE_STATUSES)
    n_records: Series[pd.Int64Dtype] = pa.Field(ge=0)
    n_rejected: Series[pd.Int64Dtype] = pa.Field(ge=0)
    n_withdrawn: Series[pd.Int64Dtype] = pa.Field(ge=0)


class Quarantine(_Partitioned):
    """What was rejected (severity error) or let through with a warning.

    `reason` never quotes the offending text: it may hold a name.
    """

    source_file: Series[str]
    locator: Series[str]
    reason: Series[str]
    severity: Series[str] = pa.Field(isin=SEVERITIES)


class ThemePrevalence(_Partitioned):
    stakeholder_group: Series[str]
    theme_code: Series[str]
    category: Series[str] = pa.Field(isin=CATEGORIES)
    n_segments: Series[pd.Int64Dtype] = pa.Field(ge=0, nullable=True)
    n_participants: Series[pd.Int64Dtype] = pa.Field(ge=0, nullable=True)
    suppressed: Series[bool]


class SurveyItemSummary(_Partitioned):
    item_id: Series[str]
    response_option: Series[str] = pa.Field(nullable=True)
    n_responses: Series[pd.Int64Dtype] = pa.Field(ge=0, nullable=True)
    mean: Series[float] = pa.Field(nullable=True)
    share_agree: Series[float] = pa.Field(nullable=True, ge=0.0, le=1.0)
    suppressed: Series[bool]


class SurveyFreeText(_Partitioned):
    """Per free-text answer, its respondent as published: see assets/aggregate/small_groups."""

    segment_id: Series[str]
    item_id: Series[str] = pa.Field(nullable=True)
    stakeholder_group: Series[str] = pa.Field(isin=ROLES, nullable=True)
    ethnic_group: Series[str] = pa.Field(nullable=True)
    age_band: Series[str] = pa.Field(nullable=True)
    disclosure: Series[str] = pa.Field(isin=DISCLOSURES)


def empty(model: type[pa.DataFrameModel]) -> pd.DataFrame:
    """An empty frame with the model's columns and dtypes: stages never special-case 'nothing'."""
    return model.to_schema().coerce_dtype(
        pd.DataFrame({name: pd.Series(dtype="object") for name in model.to_schema().columns})
    )


@dataclasses.dataclass(frozen=True)
class RoundInfo:
    round_id: str
    title: str
    kind: str
    period_start: str | None
    period_end: str | None
    reviews: str | None


@dataclasses.dataclass(frozen=True)
class SiteSubmission:
    """One site's submission for one round, as it moves from stage to stage.

    Each stage returns a copy with its tables replaced (`dataclasses.replace`). The
    frames a stage has not produced yet are empty, never None.
    """

    round_id: str
    site_id: str
    round: RoundInfo | None
    source_files: pd.DataFrame
    quarantine: pd.DataFrame
    attendees: pd.DataFrame
    segments: pd.DataFrame
    survey_responses: pd.DataFrame
    survey_answers: pd.DataFrame
    action_plan: pd.DataFrame
    segment_themes: pd.DataFrame = dataclasses.field(default_factory=lambda: empty(SegmentThemes))
    theme_prevalence: pd.DataFrame = dataclasses.field(
        default_factory=lambda: empty(ThemePrevalence)
    )
    survey_item_summary: pd.DataFrame = dataclasses.field(
        default_factory=lambda: empty(SurveyItemSummary)
    )
    survey_free_text: pd.DataFrame = dataclasses.field(
        default_factory=lambda: empty(SurveyFreeText)
    )
    segment_codings: pd.DataFrame = dataclasses.field(default_factory=lambda: empty(SegmentCodings))
    segment_reviews: pd.DataFrame = dataclasses.field(default_factory=lambda: empty(SegmentReviews))
    coder_agreement: pd.DataFrame = dataclasses.field(default_factory=lambda: empty(CoderAgreement))
