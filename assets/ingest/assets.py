"""Dagster asset of the ingest stage: a site's raw submission for a round, parsed."""

import dagster as dg

from assets.ingest.submission import read_site_submission
from assets.stage_support import contained_errors, content_version, stage_asset, table_counts
from pipelines.partitions import split_partition_key
from pipelines.resources import RawSubmissions, StagingArea
from schemas.tables import SiteSubmission


@stage_asset(
    "ingest",
    kinds={"pandas"},
    description="Minutes, surveys and action plan of one site for one round, parsed. "
    "Holds real names: kept in the restricted staging area only.",
)
def ingested_submission(
    context: dg.AssetExecutionContext, raw: RawSubmissions, staging: StagingArea
) -> dg.Output[SiteSubmission]:
    round_id, site_id = split_partition_key(context.partition_key)
    with contained_errors("ingest", staging.path):
        submission = read_site_submission(raw.path, round_id, site_id)
    return dg.Output(
        submission, metadata=table_counts(submission), data_version=content_version(submission)
    )
