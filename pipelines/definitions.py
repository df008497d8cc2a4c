"""The Dagster code location: every stage's asset, the checks between them, the job, and
what launches it under `dagster-daemon`.

`dg dev` (via [tool.dg] in pyproject.toml) and a deployed webserver/daemon (via
workspace.yaml) both load this module. Under the daemon, the raw/ sensor runs the job for
each round x site whose files changed, the nightly schedule reconciles raw/ with the
warehouse, and the automation sensor makes the stages after the anonymisation gate (and
round-level assets) follow their inputs (docs/decisions/0015). Two runs of one site never
run at once: every run of a round x site carries Dagster's `dagster/partition/site` tag,
which deploy/dagster.yaml limits to one run in progress per value.
"""

from __future__ import annotations

import dagster as dg

from assets.aggregate.assets import aggregated_submission
from assets.anonymise.assets import anonymisation_gate, anonymised_submission
from assets.code.assets import coded_submission, coder_agreement_check
from assets.ingest.assets import ingested_submission
from assets.load.assets import warehouse_partition
from assets.report.assets import impact_report
from assets.stage_support import follows_inputs
from assets.validate.assets import (
    segments_expectations,
    survey_expectations,
    validated_submission,
)
from pipelines.io_managers import StagingIOManager
from pipelines.resources import from_environment
from pipelines.schedules import nightly_reconcile_schedule
from pipelines.sensors import raw_submissions_sensor


def _following(stages: list[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
    """The stages after the gate, each materialising again when its input updates, never
    past a failed gate: the n-th after it looks n assets up for the gate's checks."""
    return [
        stage.map_asset_specs(
            lambda spec, depth=depth: spec.replace_attributes(
                automation_condition=follows_inputs(gate_depth=depth)
            )
        )
        for depth, stage in enumerate(stages, start=1)
    ]


# In the order data flows. The anonymisation gate and the Great Expectations suites are
# blocking checks on anonymised_submission; what comes after it follows its inputs.
STAGES = [
    ingested_submission,
    validated_submission,
    anonymised_submission,
    *_following([coded_submission, aggregated_submission, warehouse_partition]),
]

# The stages form a chain, so a run gains nothing from a process per step and would pay
# the project's imports and model loads at every step: by default a run executes in one
# process, as `ariadne materialise` does. Run config can still choose `multiprocess`.
materialise_round_site = dg.define_asset_job(
    "materialise_round_site",
    selection=dg.AssetSelection.assets(*STAGES),
    description="Every stage for one round x site, raw files to warehouse rows.",
    config={"execution": {"config": {"in_process": {}}}},
)


def build_definitions() -> dg.Definitions:
    resources = from_environment()
    automation = resources["automation"]
    stage_keys = [stage.key for stage in STAGES]
    return dg.Definitions(
        assets=[*STAGES, impact_report],
        asset_checks=[
            anonymisation_gate,
            segments_expectations,
            survey_expectations,
            coder_agreement_check,
        ],
        jobs=[materialise_round_site],
        sensors=[
            raw_submissions_sensor(
                materialise_round_site.name, stage_keys, automation.sensor_interval_seconds
            ),
            dg.AutomationConditionSensorDefinition(
                "follow_inputs",
                target=dg.AssetSelection.all(),
                default_status=dg.DefaultSensorStatus.RUNNING,
                minimum_interval_seconds=automation.sensor_interval_seconds,
                emit_backfills=False,
                description="Materialises the assets with an automation condition (the "
                "aggregate, the load, round-level assets) when their inputs update.",
            ),
        ],
        schedules=[
            nightly_reconcile_schedule(
                materialise_round_site.name, stage_keys, automation.nightly_cron
            )
        ],
        resources={
            **resources,
            "staging_io": StagingIOManager(staging_dir=resources["staging"].staging_dir),
        },
    )


defs = build_definitions()
