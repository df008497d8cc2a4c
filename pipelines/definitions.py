"""The Dagster code location: every stage's asset, the checks between them, and the job.

`dg dev` (via [tool.dg] in pyproject.toml) and a deployed webserver/daemon (via
workspace.yaml) both load this module.
"""

from __future__ import annotations

import dagster as dg

from assets.aggregate.assets import aggregated_submission
from assets.anonymise.assets import anonymisation_gate, anonymised_submission
from assets.code.assets import coded_submission, coder_agreement_check
from assets.ingest.assets import ingested_submission
from assets.load.assets import warehouse_partition
from assets.validate.assets import (
    segments_expectations,
    survey_expectations,
    validated_submission,
)
from pipelines.io_managers import StagingIOManager
from pipelines.resources import from_environment

STAGES = [
    ingested_submission,
    validated_submission,
    anonymised_submission,
    coded_submission,
    aggregated_submission,
    warehouse_partition,
]

materialise_round_site = dg.define_asset_job(
    "materialise_round_site",
    selection=dg.AssetSelection.assets(*STAGES),
    description="Every stage for one round x site, raw files to warehouse rows.",
)


def build_definitions() -> dg.Definitions:
    resources = from_environment()
    return dg.Definitions(
        assets=STAGES,
        asset_checks=[
            anonymisation_gate,
            segments_expectations,
            survey_expectations,
            coder_agreement_check,
        ],
        jobs=[materialise_round_site],
        resources={
            **resources,
            "staging_io": StagingIOManager(staging_dir=resources["staging"].staging_dir),
        },
    )


defs = build_definitions()
