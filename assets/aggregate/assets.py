"""Dagster asset of the aggregate stage: counts analysts read, with small numbers suppressed."""

import dataclasses

import dagster as dg

from assets.aggregate.small_groups import survey_free_text
from assets.aggregate.summaries import survey_item_summary, theme_prevalence
from assets.stage_support import contained_errors, stage_asset, table_counts
from pipelines.resources import Disclosure, Instruments, StagingArea
from schemas.tables import SiteSubmission


@stage_asset(
    "aggregate",
    kinds={"pandas"},
    description="Theme prevalence per stakeholder group and survey item summaries, "
    "with counts of people below the disclosure threshold suppressed; free-text answers "
    "with their respondents' descriptions generalised until no group is that small.",
)
def aggregated_submission(
    coded_submission: SiteSubmission,
    disclosure: Disclosure,
    instruments: Instruments,
    staging: StagingArea,
) -> dg.Output[SiteSubmission]:
    with contained_errors("aggregate", staging.path):
        submission = dataclasses.replace(
            coded_submission,
            theme_prevalence=theme_prevalence(
                coded_submission.segments, coded_submission.segment_themes, disclosure.threshold
            ),
            survey_item_summary=survey_item_summary(
                coded_submission.survey_answers, disclosure.threshold
            ),
            survey_free_text=survey_free_text(
                coded_submission.segments,
                coded_submission.survey_responses,
                instruments.registry(),
                disclosure.threshold,
            ),
        )
    return dg.Output(
        submission,
        metadata={
            **table_counts(submission),
            "disclosure_threshold": disclosure.threshold,
            "suppressed_prevalence_cells": int(submission.theme_prevalence["suppressed"].sum()),
            "suppressed_survey_cells": int(submission.survey_item_summary["suppressed"].sum()),
            **{
                f"free_text_{level}": int(count)
                for level, count in submission.survey_free_text["disclosure"].value_counts().items()
            },
        },
    )
