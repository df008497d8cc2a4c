"""Dagster asset of the load stage: one round x site replaced in the warehouse atomically."""

from datetime import UTC, datetime

import dagster as dg

from assets.load.loader import replace_partition
from assets.stage_support import column_schema, contained_errors
from pipelines.partitions import round_site
from pipelines.resources import StagingArea, Warehouse
from schemas.tables import CodedSegments, SiteSubmission
from warehouse.migrations_runner import migrate


@dg.asset(
    partitions_def=round_site,
    group_name="load",
    code_version="1",
    kinds={"sqlalchemy"},
    pool="warehouse",
    description="Writes the partition's segments, codings, aggregates, source files and "
    "quarantine to the warehouse in one transaction (delete, then insert).",
)
def warehouse_partition(
    context: dg.AssetExecutionContext,
    aggregated_submission: SiteSubmission,
    warehouse: Warehouse,
    staging: StagingArea,
) -> dg.MaterializeResult:
    with contained_errors("load", staging.path):
        engine = warehouse.engine()
        migrate(engine)
        counts = replace_partition(
            engine, aggregated_submission, run_id=context.run_id, loaded_at=datetime.now(UTC)
        )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": counts.segments,
            "dagster/table_name": "segments",
            "dagster/column_schema": column_schema(CodedSegments),
            **{f"rows_{table}": n for table, n in counts.by_table().items()},
            "warehouse": engine.url.render_as_string(hide_password=True).split("://")[0],
        }
    )
