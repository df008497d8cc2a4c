"""The raw/ sensor, evaluated with Dagster's sensor testing API on a copy of the sample round.

A changed file reruns exactly its round x site; a touched file with the same bytes, and an
untouched one, trigger nothing; a removed file reruns its site; a new round becomes a
partition; the cursor survives a round trip; a site already loaded from the same files is
not rerun when the sensor is switched on; the round's names pass reruns a stale site.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from assets.anonymise.round_names import write_round_names
from pipelines import sensors
from pipelines.definitions import build_definitions, materialise_round_site
from pipelines.partitions import partition_key, register, round_site
from pipelines.sensors import RAW_SENSOR, FileState, RawCursor, raw_submissions_sensor
from tests.raw_places import (
    ROUND,
    SAMPLE_ROUND,
    SITES,
    STAGE_KEYS,
    Place,
    make_place,
    requested,
)


@pytest.fixture
def place(tmp_path: Path) -> Iterator[Place]:
    yield from make_place(
        tmp_path, raw_submissions_sensor(materialise_round_site.name, STAGE_KEYS, 30)
    )


@pytest.fixture
def settled(place: Place) -> Place:
    """Every site loaded from its current files and the sensor's first tick taken."""
    for site_id in SITES:
        place.load(site_id)
    first = place.tick()
    assert first.run_requests == []
    return place


def test_first_tick_runs_every_site_never_loaded_and_adds_the_partitions(place: Place) -> None:
    result = place.tick()

    assert requested(result) == [(ROUND, site) for site in SITES]
    added = {
        r.partitions_def_name: sorted(r.partition_keys) for r in result.dynamic_partitions_requests
    }
    assert added == {"round": [ROUND], "site": sorted(SITES)}
    for request in result.run_requests:
        assert request.job_name is None or request.job_name == materialise_round_site.name
        assert request.tags[sensors.TRIGGER_TAG] == "raw"
        assert sorted(request.asset_selection) == sorted(STAGE_KEYS)


def test_switching_the_sensor_on_leaves_sites_the_warehouse_holds_alone(place: Place) -> None:
    place.load("east-london")
    place.load("national")

    assert requested(place.tick()) == [(ROUND, "coventry-warwickshire")]


def test_nothing_changed_says_so(settled: Place) -> None:
    result = settled.tick()

    assert result.run_requests == []
    assert result.skip_reason is not None
    assert "nothing changed in 1 rounds / 3 sites" in result.skip_reason.skip_message


def test_a_changed_survey_reruns_exactly_its_round_and_site(settled: Place) -> None:
    survey = settled.raw / ROUND / "east-london" / "surveys" / "followup.csv"
    survey.write_bytes(survey.read_bytes().replace(b"EL24-001,", b"EL24-101,", 1))

    result = settled.tick()

    assert requested(result) == [(ROUND, "east-london")]
    assert settled.tick().run_requests == []


def test_a_touched_but_unchanged_file_triggers_nothing_and_is_not_hashed_again(
    settled: Place, monkeypatch: pytest.MonkeyPatch
) -> None:
    minutes = next((settled.raw / ROUND / "national" / "minutes").iterdir())
    later = minutes.stat().st_mtime_ns + 3_600 * 10**9
    os.utime(minutes, ns=(later, later))
    hashed: list[Path] = []
    hash_file = sensors._sha256
    monkeypatch.setattr(
        sensors, "_sha256", lambda path, *args: hashed.append(path) or hash_file(path, *args)
    )

    result = settled.tick()

    assert result.run_requests == []
    assert hashed == [minutes], "only the file whose stat changed is hashed"
    state = RawCursor.from_json(settled.cursor).files[f"{ROUND}/national/minutes/{minutes.name}"]
    assert state.mtime_ns == later
    hashed.clear()
    assert settled.tick().run_requests == []
    assert hashed == []


def test_a_removed_file_reruns_its_site(settled: Place) -> None:
    (settled.raw / ROUND / "east-london" / "action_plan.csv").unlink()

    assert requested(settled.tick()) == [(ROUND, "east-london")]


def test_a_replaced_file_with_other_bytes_reruns_its_site(settled: Place) -> None:
    site = settled.raw / ROUND / "coventry-warwickshire"
    replacement = settled.raw.parent / "followup.xlsx"
    shutil.copy(site / "surveys" / "followup.xlsx", replacement)
    with replacement.open("ab") as handle:
        handle.write(b"\0")
    os.replace(replacement, site / "surveys" / "followup.xlsx")

    assert requested(settled.tick()) == [(ROUND, "coventry-warwickshire")]


def test_a_changed_round_yaml_reruns_every_site_of_its_round(settled: Place) -> None:
    round_yaml = settled.raw / ROUND / "round.yaml"
    round_yaml.write_text(round_yaml.read_text() + "\n# corrected title\n")

    assert requested(settled.tick()) == [(ROUND, site) for site in SITES]


def test_hidden_and_lock_files_are_no_part_of_a_submission(settled: Place) -> None:
    site = settled.raw / ROUND / "national"
    (site / ".DS_Store").write_bytes(b"finder")
    (site / "minutes" / "~$notes.docx").write_bytes(b"lock")

    assert settled.tick().run_requests == []


def test_a_new_round_folder_becomes_a_partition_and_runs_its_sites_only(settled: Place) -> None:
    new_round = settled.raw / "2026-impact"
    shutil.copytree(SAMPLE_ROUND / "national", new_round / "national")
    (new_round / "round.yaml").write_text("round: 2026-impact\ntitle: t\nkind: impact\n")
    settled.instance.add_dynamic_partitions("round", [ROUND])
    settled.instance.add_dynamic_partitions("site", list(SITES))

    result = settled.tick()

    assert requested(result) == [("2026-impact", "national")]
    added = {
        r.partitions_def_name: list(r.partition_keys) for r in result.dynamic_partitions_requests
    }
    assert added == {"round": ["2026-impact"]}


def test_a_removed_site_folder_is_dropped_from_the_cursor_and_not_run(settled: Place) -> None:
    shutil.rmtree(settled.raw / ROUND / "national")

    result = settled.tick()

    assert result.run_requests == []
    cursor = RawCursor.from_json(settled.cursor)
    assert f"{ROUND}/national" not in cursor.generations
    assert not any(name.startswith(f"{ROUND}/national/") for name in cursor.files)


def test_a_file_changed_and_changed_back_gets_a_new_run_each_time(settled: Place) -> None:
    survey = settled.raw / ROUND / "east-london" / "surveys" / "followup.csv"
    original = survey.read_bytes()
    keys = []
    for content in (original + b"\n", original, original + b"\n"):
        survey.write_bytes(content)
        (request,) = settled.tick().run_requests
        keys.append(request.run_key)

    assert len(set(keys)) == 3


def test_the_cursor_round_trips() -> None:
    cursor = RawCursor(
        files={
            "2024-impact/round.yaml": FileState(120, 1_700_000_000_000_000_001, 17, "ab" * 32),
            "2024-impact/national/minutes/big.docx": FileState(2**31, 5, 6, None),
        },
        generations={"2024-impact/national": 3},
    )

    assert RawCursor.from_json(cursor.to_json()) == cursor
    assert RawCursor.from_json(None) == RawCursor()
    assert RawCursor.from_json('{"version": 0, "files": {}}') == RawCursor()


def test_a_stale_site_is_rerun_once_per_run_that_left_it_stale(settled: Place) -> None:
    # east-london was anonymised knowing no other site's names; national has found one since.
    write_round_names(settled.staging, ROUND, "east-london", [], used=[])
    write_round_names(settled.staging, ROUND, "national", ["Ngozi Adeyemi"], used=[])

    first = settled.tick()
    assert requested(first) == [(ROUND, "east-london")]
    (request,) = first.run_requests
    assert request.tags[sensors.TRIGGER_TAG] == "names"
    assert request.run_key == f"names/{ROUND}/east-london/after/none"
    assert "Ngozi" not in request.run_key
    assert settled.tick().run_requests[0].run_key == request.run_key, "Dagster de-dupes it"

    run = _succeed(settled.instance, ROUND, "east-london")
    assert settled.tick().run_requests[0].run_key == f"names/{ROUND}/east-london/after/{run}"

    write_round_names(settled.staging, ROUND, "east-london", [], used=["Ngozi Adeyemi"])
    assert settled.tick().run_requests == []


def _succeed(instance: dg.DagsterInstance, round_id: str, site_id: str) -> str:
    """A successful run of the partition on record (a stand-in asset: no stage runs)."""

    @dg.asset(name="stand_in", partitions_def=round_site)
    def stand_in() -> None:
        return None

    register(instance, [(round_id, site_id)])
    result = dg.materialize(
        [stand_in], instance=instance, partition_key=partition_key(round_id, site_id)
    )
    return result.run_id


def test_the_definitions_run_the_sensor_by_default_at_the_configured_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ARIADNE_SENSOR_INTERVAL_SECONDS", "7")
    (sensor,) = [s for s in build_definitions().sensors if s.name == RAW_SENSOR]

    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.minimum_interval_seconds == 7
    assert sensor.job_name == materialise_round_site.name
