"""Dagster assets of the validate stage: pandera models row by row, then GX suites as checks."""

from pathlib import Path

import dagster as dg

from assets.stage_support import contained_errors, stage_asset, table_counts
from assets.validate.expectations import partition_docs_dir, run_suite, write_docs_index
from assets.validate.validation import validate_submission
from pipelines.partitions import round_site, split_partition_key
from pipelines.resources import Codebooks, DataDocs, Instruments, StagingArea
from schemas.tables import SiteSubmission


@stage_asset(
    "validate",
    kinds={"pandas", "pandera"},
    description="The ingested tables checked against their pandera models and instruments; "
    "failing rows are quarantined with file, locator and reason. Restricted.",
)
def validated_submission(
    ingested_submission: SiteSubmission,
    codebooks: Codebooks,
    instruments: Instruments,
    staging: StagingArea,
) -> dg.Output[SiteSubmission]:
    with contained_errors("validate", staging.path):
        registry = instruments.registry()
        submission = validate_submission(
            ingested_submission,
            accepts=registry.accepts,
            required=registry.required,
            theme_codes=codebooks.load().theme_codes,
        )
    return dg.Output(submission, metadata=table_counts(submission))


def _expectation_check(name: str, table: str, asset: dg.AssetsDefinition | str):
    @dg.asset_check(
        asset=asset,
        name=f"{name}_expectations",
        blocking=True,
        partitions_def=round_site,
        description=f"Great Expectations suite `{name}` on the {table} table; builds Data Docs.",
    )
    def check(
        context: dg.AssetCheckExecutionContext,
        anonymised_submission: SiteSubmission,
        data_docs: DataDocs,
        staging: StagingArea,
    ) -> dg.AssetCheckResult:
        round_id, site_id = split_partition_key(context.partition_key)
        docs = partition_docs_dir(Path(data_docs.data_docs_dir), round_id, site_id)
        with contained_errors(f"{name}_expectations", staging.path):
            outcome = run_suite(
                name,
                getattr(anonymised_submission, table),
                docs,
                run_name=f"{round_id}.{site_id}.{context.run.run_id[:8]}",
            )
            write_docs_index(Path(data_docs.data_docs_dir))
        return dg.AssetCheckResult(
            passed=outcome.success,
            metadata={
                "expectations_evaluated": outcome.evaluated,
                "expectations_failed": len(outcome.failed),
                "failed": ", ".join(outcome.failed) or "none",
                "unexpected_rows": sum(outcome.unexpected_counts.values()),
                "data_docs": dg.MetadataValue.path(str(docs / "index.html")),
            },
        )

    return check


segments_expectations = _expectation_check("segments", "segments", "anonymised_submission")
survey_expectations = _expectation_check(
    "survey_responses", "survey_responses", "anonymised_submission"
)
