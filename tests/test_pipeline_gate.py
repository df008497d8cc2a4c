"""The gate: if anonymisation lets a name through, the partition never reaches the warehouse.

An anonymiser bug is simulated by taking the roster recogniser away, so names survive
anonymisation; the blocking gate must fail, the load must be skipped, and the event log
must carry counts only.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from dagster import DagsterInstance
from sqlalchemy import create_engine, inspect, text

from assets.anonymise.engine import AnonymisedText, Anonymiser
from pipelines import cli

SAMPLE_RAW = Path(__file__).resolve().parents[1] / "raw"


@pytest.fixture
def one_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    raw = tmp_path / "raw"
    shutil.copytree(SAMPLE_RAW / "2024-impact" / "national", raw / "2024-impact" / "national")
    shutil.copy(SAMPLE_RAW / "2024-impact" / "round.yaml", raw / "2024-impact" / "round.yaml")
    for name, value in {
        "ARIADNE_RAW_DIR": raw,
        "ARIADNE_WAREHOUSE_URL": f"sqlite:///{tmp_path / 'warehouse.db'}",
        "ARIADNE_STAGING_DIR": tmp_path / "staging",
        "ARIADNE_DATA_DOCS_DIR": tmp_path / "data_docs",
        "ARIADNE_PSEUDONYM_KEY": "gate-test-key-0123456789",
        "DAGSTER_HOME": tmp_path / "dagster_home",
    }.items():
        monkeypatch.setenv(name, str(value))
    return tmp_path


def test_a_leaking_partition_fails_the_gate_and_is_not_loaded(
    one_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Anonymiser, "replace", lambda self, text, spans: AnonymisedText(text, {}))
    assert cli.main(["materialise"]) == 1

    engine = create_engine(f"sqlite:///{one_site / 'warehouse.db'}")
    if inspect(engine).has_table("core_segment"):
        with engine.connect() as connection:
            assert connection.execute(text("SELECT COUNT(*) FROM core_segment")).scalar() == 0
    engine.dispose()

    instance = DagsterInstance.get()
    [run] = instance.get_run_records(limit=1)
    evaluations = [
        event.dagster_event.event_specific_data
        for event in instance.all_logs(run.dagster_run.run_id)
        if event.dagster_event and event.dagster_event.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    gate = next(e for e in evaluations if e.check_name == "anonymisation_gate")
    assert not gate.passed
    assert gate.metadata["found_roster_name"].value > 0
    steps = {
        event.dagster_event.step_key
        for event in instance.all_logs(run.dagster_run.run_id)
        if event.dagster_event and event.dagster_event.event_type_value == "STEP_SUCCESS"
    }
    assert "warehouse_partition" not in steps
    assert "coded_submission" not in steps


def test_the_same_site_loads_when_anonymisation_works(one_site: Path) -> None:
    assert cli.main(["materialise"]) == 0
    engine = create_engine(f"sqlite:///{one_site / 'warehouse.db'}")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM segments")).scalar() > 20
    engine.dispose()
