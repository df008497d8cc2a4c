"""Dagster asset of the report: one impact report per round, over the round's sites."""

import dagster as dg

from assets.load.assets import warehouse_partition
from assets.report.report import build_report, write_report
from assets.stage_support import contained_errors
from pipelines.partitions import rounds
from pipelines.resources import Disclosure, Instruments, Reports, StagingArea, Warehouse

# Plain `eager()` waits until every site partition of the round has loaded. But the site
# dimension is shared by all rounds and no round has every site (2024-impact has no
# sheffield, 2022-baseline no national), so it would never fire. Without that wait the
# report is remade after each site's load of the round, once no other is in progress:
# the page lists the sites it covers, and the round's last load leaves the complete one.
REPORT_AUTOMATION = dg.AutomationCondition.eager().without(
    ~dg.AutomationCondition.any_deps_missing()
)


@dg.asset(
    partitions_def=rounds,
    deps=[
        dg.AssetDep(
            warehouse_partition,
            partition_mapping=dg.MultiToSingleDimensionPartitionMapping(
                partition_dimension_name="round"
            ),
        )
    ],
    automation_condition=REPORT_AUTOMATION,
    group_name="report",
    code_version="1",
    kinds={"html"},
    description="The round's impact report: one self-contained HTML page made from the "
    "warehouse's analyst views (themes by site, change, categories, actions, survey, "
    "quotes from published cells only, lineage).",
)
def impact_report(
    context: dg.AssetExecutionContext,
    warehouse: Warehouse,
    reports: Reports,
    disclosure: Disclosure,
    instruments: Instruments,
    staging: StagingArea,
) -> dg.MaterializeResult:
    """Write `<reports_dir>/<round>/impact-report.html`; metadata is the path and counts.

    Automation is `eager()` without its wait for every upstream partition (see
    REPORT_AUTOMATION): each site load of the round remakes the report, not only the
    last, because "every site" of a shared site dimension is never loaded for one round.
    """
    round_id = context.partition_key
    with contained_errors("report", staging.path):
        engine = warehouse.engine()
        try:
            report = build_report(
                engine,
                round_id,
                threshold=disclosure.threshold,
                run_id=context.run_id,
                instruments_dir=instruments.registry().instruments_dir,
            )
        finally:
            engine.dispose()
        path = write_report(report, reports.path, round_id)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "bytes": len(report.html.encode("utf-8")),
            "disclosure_threshold": disclosure.threshold,
            **report.counts,
        }
    )
