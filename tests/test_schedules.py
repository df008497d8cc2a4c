"""The nightly reconcile: a no-op that says so when raw/ matches the warehouse, otherwise a run
for each round x site whose files differ (or were never loaded), and nothing else."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from pipelines.definitions import build_definitions, materialise_round_site
from pipelines.partitions import split_partition_key
from pipelines.resources import RawSubmissions, Warehouse
from pipelines.schedules import NIGHTLY_RECONCILE, TIMEZONE, nightly_reconcile_schedule
from pipelines.sensors import TRIGGER_TAG
from tests.raw_places import ROUND, SITES, STAGE_KEYS, Place, make_place

NIGHT = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


@pytest.fixture
def place(tmp_path: Path) -> Iterator[Place]:
    yield from make_place(tmp_path)


def reconcile(place: Place) -> list[dg.RunRequest] | dg.SkipReason:
    schedule = nightly_reconcile_schedule(materialise_round_site.name, STAGE_KEYS, "0 2 * * *")
    # Entered, so the instance the context opens from its reference is closed in turn.
    with dg.build_schedule_context(
        instance=place.instance,
        scheduled_execution_time=NIGHT,
        resources={
            "raw": RawSubmissions(raw_dir=str(place.raw)),
            "warehouse": Warehouse(url=place.warehouse_url),
        },
    ) as context:
        return schedule(context)


def test_a_night_when_raw_matches_the_warehouse_launches_nothing_and_says_so(
    place: Place,
) -> None:
    for site_id in SITES:
        place.load(site_id)

    result = reconcile(place)

    assert isinstance(result, dg.SkipReason)
    assert result.skip_message == (
        "nothing changed in 1 rounds / 3 sites: raw/ matches the warehouse"
    )


def test_only_sites_whose_files_differ_or_never_loaded_run(place: Place) -> None:
    place.load("east-london")
    place.load("national")
    survey = place.raw / ROUND / "east-london" / "surveys" / "followup.csv"
    survey.write_bytes(survey.read_bytes() + b"\n")

    result = reconcile(place)

    assert isinstance(result, list)
    assert sorted(split_partition_key(r.partition_key) for r in result) == [
        (ROUND, "coventry-warwickshire"),
        (ROUND, "east-london"),
    ]
    for request in result:
        assert request.tags[TRIGGER_TAG] == "nightly"
        assert request.run_key.startswith("nightly/2026-03-02/")
        assert sorted(request.asset_selection) == sorted(STAGE_KEYS)


def test_a_removed_file_is_out_of_date_until_a_run_supersedes_it(place: Place) -> None:
    for site_id in SITES:
        place.load(site_id)
    (place.raw / ROUND / "coventry-warwickshire" / "action_plan.xlsx").unlink()

    result = reconcile(place)
    assert [split_partition_key(r.partition_key) for r in result] == [
        (ROUND, "coventry-warwickshire")
    ]

    place.load("coventry-warwickshire")  # the load marks the removed file superseded
    assert isinstance(reconcile(place), dg.SkipReason)


def test_the_night_registers_rounds_and_sites_as_partitions(place: Place) -> None:
    reconcile(place)

    assert place.instance.get_dynamic_partitions("round") == [ROUND]
    assert sorted(place.instance.get_dynamic_partitions("site")) == sorted(SITES)


def test_the_schedule_runs_by_default_at_the_configured_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ARIADNE_NIGHTLY_CRON", "30 3 * * *")
    (schedule,) = [s for s in build_definitions().schedules if s.name == NIGHTLY_RECONCILE]

    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert schedule.cron_schedule == "30 3 * * *"
    assert schedule.execution_timezone == TIMEZONE
    assert schedule.job_name == materialise_round_site.name
