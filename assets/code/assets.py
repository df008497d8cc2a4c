"""Dagster asset of the code stage: themes and a category for every segment."""

import dataclasses

import dagster as dg

from assets.code.coder import code_segments
from assets.stage_support import contained_errors, stage_asset, table_counts
from pipelines.resources import Codebooks, StagingArea
from schemas.tables import SiteSubmission


@stage_asset(
    "code",
    kinds={"spacy"},
    description="Deductive coding against the versioned codebook: each segment's themes "
    "and one category (progress, barrier, solution).",
)
def coded_submission(
    anonymised_submission: SiteSubmission,
    codebooks: Codebooks,
    staging: StagingArea,
) -> dg.Output[SiteSubmission]:
    with contained_errors("code", staging.path):
        codebook = codebooks.load()
        coding = code_segments(anonymised_submission.segments, codebook)
    submission = dataclasses.replace(
        anonymised_submission, segments=coding.segments, segment_themes=coding.segment_themes
    )
    themes = coding.segment_themes.groupby("theme_code").size().sort_values(ascending=False)
    return dg.Output(
        submission,
        metadata={
            **table_counts(submission),
            "codebook_version": codebook.version,
            "segments_without_theme": int(
                (~coding.segments["segment_id"].isin(coding.segment_themes["segment_id"])).sum()
            ),
            "top_themes": ", ".join(themes.index[:3]) or "none",
        },
    )
