"""The stages after the anonymisation gate follow their inputs by declarative automation,
never past a failed gate, and a run of every stage triggers nothing more.

The conditions evaluated are the real definitions'; the runs that make the event history
they read are of stand-ins with the same keys, inputs, partitions and checks (no stage's
work is needed to know what automation would request).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import dagster as dg
import pytest

from pipelines.definitions import STAGES, build_definitions
from pipelines.partitions import partition_key, register, round_site

EAST_LONDON = partition_key("2024-impact", "east-london")
NATIONAL = partition_key("2024-impact", "national")
ANONYMISED = dg.AssetKey("anonymised_submission")
CODED = dg.AssetKey("coded_submission")
AGGREGATED = dg.AssetKey("aggregated_submission")
LOAD = dg.AssetKey("warehouse_partition")
GATE = "anonymisation_gate"
STAGE_KEYS = [stage.key for stage in STAGES]


@dataclasses.dataclass
class Outcomes:
    """What the stand-ins do in the next run: which raise, which checks fail."""

    failing_assets: set[dg.AssetKey] = dataclasses.field(default_factory=set)
    failing_checks: set[str] = dataclasses.field(default_factory=set)


def stand_in_job(graph: dg.AssetGraph, outcomes: Outcomes) -> dg.JobDefinition:
    """A job of an asset or check of the same key, inputs, partitions and blocking for each
    real one."""

    def asset(key: dg.AssetKey) -> dg.AssetsDefinition:
        @dg.asset(key=key, deps=list(graph.get(key).parent_keys), partitions_def=round_site)
        def stand_in() -> None:
            if key in outcomes.failing_assets:
                raise RuntimeError(f"{key.to_user_string()} failed")

        return stand_in

    def check(key: dg.AssetCheckKey) -> dg.AssetChecksDefinition:
        @dg.asset_check(
            asset=key.asset_key,
            name=key.name,
            blocking=graph.get(key).blocking,
            partitions_def=round_site,
        )
        def stand_in_check() -> dg.AssetCheckResult:
            return dg.AssetCheckResult(passed=key.name not in outcomes.failing_checks)

        return stand_in_check

    return dg.Definitions(
        assets=[asset(key) for key in graph.materializable_asset_keys],
        asset_checks=[check(key) for key in graph.asset_check_keys],
        jobs=[dg.define_asset_job("stand_ins")],
    ).resolve_job_def("stand_ins")


@dataclasses.dataclass
class Automation:
    instance: dg.DagsterInstance
    definitions: dg.Definitions
    stand_ins: dg.JobDefinition
    outcomes: Outcomes
    cursor: object = None

    def run(self, keys: list[dg.AssetKey] | None, partition: str) -> None:
        """One run of the stand-ins for `keys` (every stage if None) of one partition, with
        its asset selection recorded as the sensor's and the schedule's runs record it."""
        self.stand_ins.execute_in_process(
            partition_key=partition,
            instance=self.instance,
            asset_selection=keys or list(STAGE_KEYS),
            raise_on_error=False,
        )

    def requested(self) -> dict[dg.AssetKey, set[str]]:
        """One tick of the real conditions: what they would run, per asset."""
        result = dg.evaluate_automation_conditions(
            defs=self.definitions, instance=self.instance, cursor=self.cursor
        )
        self.cursor = result.cursor
        return {
            key: {str(p) for p in result.get_requested_partitions(key)}
            for key in (ANONYMISED, CODED, AGGREGATED, LOAD)
            if result.get_num_requested(key)
        }


@pytest.fixture(scope="module")
def stand_ins() -> tuple[dg.Definitions, dg.JobDefinition, Outcomes]:
    """The real definitions, and the stand-in job with the outcomes it reads (built once)."""
    definitions = build_definitions()
    outcomes = Outcomes()
    return definitions, stand_in_job(definitions.resolve_asset_graph(), outcomes), outcomes


@pytest.fixture
def automation(
    stand_ins: tuple[dg.Definitions, dg.JobDefinition, Outcomes],
) -> Iterator[Automation]:
    """Two round x site partitions, every stage materialised, automation's first tick taken."""
    definitions, job, outcomes = stand_ins
    outcomes.failing_assets.clear()
    outcomes.failing_checks.clear()
    with dg.instance_for_test() as instance:
        register(instance, [("2024-impact", "east-london"), ("2024-impact", "national")])
        subject = Automation(instance, definitions, job, outcomes)
        for partition in (EAST_LONDON, NATIONAL):
            subject.run(None, partition)
        assert subject.requested() == {}
        yield subject


def test_the_stages_after_the_gate_follow_an_anonymise_run_alone(automation: Automation) -> None:
    automation.run([ANONYMISED], EAST_LONDON)

    assert automation.requested() == {
        CODED: {EAST_LONDON},
        AGGREGATED: {EAST_LONDON},
        LOAD: {EAST_LONDON},
    }
    assert automation.requested() == {}


def test_the_aggregate_and_the_load_follow_a_recoded_partition_only(
    automation: Automation,
) -> None:
    automation.run([CODED], NATIONAL)

    assert automation.requested() == {AGGREGATED: {NATIONAL}, LOAD: {NATIONAL}}


def test_a_run_of_every_stage_triggers_nothing_more(automation: Automation) -> None:
    automation.run(None, EAST_LONDON)

    assert automation.requested() == {}


def test_an_input_updated_by_a_run_that_planned_the_asset_is_not_followed_up(
    automation: Automation,
) -> None:
    # The run recorded the aggregate in its selection, so its coded output is not a new
    # input: the sensor's and the schedule's runs name every stage for this reason.
    automation.outcomes.failing_assets.add(AGGREGATED)
    automation.run(None, EAST_LONDON)

    assert automation.requested() == {}


def test_nothing_follows_a_failed_gate_and_a_passing_rerun_recodes(
    automation: Automation,
) -> None:
    automation.outcomes.failing_checks.add(GATE)
    automation.run([ANONYMISED], EAST_LONDON)
    assert automation.requested() == {}

    automation.run([CODED], EAST_LONDON)  # a person forcing the code stage past the gate
    assert automation.requested() == {}

    automation.outcomes.failing_checks.clear()
    automation.run([ANONYMISED], EAST_LONDON)
    assert automation.requested() == {
        CODED: {EAST_LONDON},
        AGGREGATED: {EAST_LONDON},
        LOAD: {EAST_LONDON},
    }


def test_the_stages_up_to_the_gate_are_run_by_the_job_not_by_automation() -> None:
    definitions = build_definitions()
    graph = definitions.resolve_asset_graph()
    automated = {
        key for key in graph.materializable_asset_keys if graph.get(key).automation_condition
    }
    (sensor,) = [s for s in definitions.sensors if s.name == "follow_inputs"]

    assert {CODED, AGGREGATED, LOAD} <= automated
    assert automated.isdisjoint(
        {dg.AssetKey("ingested_submission"), dg.AssetKey("validated_submission"), ANONYMISED}
    )
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
