"""The nightly reconcile: every round x site whose raw files differ from the warehouse's runs.

The raw/ sensor reacts to changes as they happen; this is the level check behind it. It
hashes every submission file (no cursor: a night has time) and compares each site with the
files the warehouse's `source_files` hold for it, so a run that failed, a change made while
the daemon was down, or a site never loaded is caught by the next night, and a night on
which everything matches launches nothing and says so. Sites with a run already queued or
running are left to that run.
"""

from collections.abc import Sequence

import dagster as dg

from pipelines.partitions import register
from pipelines.resources import RawSubmissions, Warehouse
from pipelines.sensors import RawCursor, diff_raw, in_flight, run_request, warehouse_contents

NIGHTLY_RECONCILE = "nightly_reconcile"
TIMEZONE = "Europe/London"


def nightly_reconcile_schedule(
    job_name: str, stages: Sequence[dg.AssetKey], cron_schedule: str
) -> dg.ScheduleDefinition:
    """The schedule, requesting the job `job_name` (its `stages`) for each round x site out
    of date."""

    @dg.schedule(
        name=NIGHTLY_RECONCILE,
        job_name=job_name,
        cron_schedule=cron_schedule,
        execution_timezone=TIMEZONE,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Reruns every round x site whose raw files (by content hash) differ from "
        "the files the warehouse holds for it; nothing when all match.",
    )
    def nightly_reconcile(
        context: dg.ScheduleEvaluationContext, raw: RawSubmissions, warehouse: Warehouse
    ) -> list[dg.RunRequest] | dg.SkipReason:
        changes = diff_raw(raw.path, RawCursor(), lambda: warehouse_contents(warehouse))
        register(context.instance, list(changes.partitions))
        night = context.scheduled_execution_time.date().isoformat()
        requests = [
            run_request(
                round_id, site_id, stages, f"nightly/{night}/{round_id}/{site_id}", "nightly"
            )
            for round_id, site_id in changes.changed
            if not in_flight(context.instance, round_id, site_id)
        ]
        if requests:
            return requests
        if changes.changed:
            return dg.SkipReason(
                f"{len(changes.changed)} sites differ from the warehouse; each already has "
                "a run queued or running"
            )
        n_rounds = len({round_id for round_id, _ in changes.partitions})
        return dg.SkipReason(
            f"nothing changed in {n_rounds} rounds / {len(changes.partitions)} sites: "
            "raw/ matches the warehouse"
        )

    return nightly_reconcile
