"""A real `dagster-daemon` on PostgreSQL-backed Dagster storage (deploy/dagster.yaml) runs
the pipeline when one site's survey changes, and only then.

The sample round's coventry-warwickshire and national sites are loaded first with
`ariadne materialise`; then the daemon starts on the same instance. Its raw/ sensor must
leave both alone, rerun exactly coventry-warwickshire when its survey changes and its
action plan is removed (the warehouse then holds the new survey, the old one and the
action plan `superseded`, no action plan rows, and a changed summary), trigger nothing for
a touched file, and after a restart carry on from the cursor it left. Waits poll Dagster's
own records with a generous timeout; nothing depends on how fast the machine is.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import dagster as dg
import openpyxl
import pandas as pd
import pytest
import yaml
from dagster._core.scheduler.instigation import TickStatus  # ticks have no public type
from sqlalchemy import create_engine, make_url, text

from pipelines.sensors import RAW_SENSOR, TRIGGER_TAG, RawCursor

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ROUND = "2024-impact"
CHANGED, UNTOUCHED = "coventry-warwickshire", "national"
SURVEY = f"{ROUND}/{CHANGED}/surveys/followup.xlsx"
ACTION_PLAN = f"{ROUND}/{CHANGED}/action_plan.xlsx"
AUTOMATION_SENSOR = "follow_inputs"
TIMEOUT_SECONDS = 480
DONE = (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)

T = TypeVar("T")


def _admin(url: str):
    return create_engine(url, isolation_level="AUTOCOMMIT")


@pytest.fixture
def dagster_database(postgres_url: str) -> Iterator[dict[str, str]]:
    """A database of its own for Dagster's storage, as the DAGSTER_PG_* variables name it."""
    server = make_url(postgres_url)
    name = f"ariadne_dagster_test_{secrets.token_hex(5)}"
    admin = _admin(postgres_url)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    try:
        yield {
            "DAGSTER_PG_HOST": server.host or "127.0.0.1",
            "DAGSTER_PG_PORT": str(server.port or 5432),
            "DAGSTER_PG_DB": name,
            "DAGSTER_PG_USER": server.username or "postgres",
            "DAGSTER_PG_PASSWORD": server.password or "",
        }
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def warehouse_url(postgres_url: str) -> str:
    """A schema of the session's database for the warehouse."""
    schema = f"daemon_{secrets.token_hex(5)}"
    admin = _admin(postgres_url)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return (
        make_url(postgres_url)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )


@dataclasses.dataclass
class Daemon:
    """`dagster-daemon run` on the repository's workspace.yaml, in a process group of its own
    so stopping it stops its code server and run workers too. It runs in `folder`, so any
    relative default path lands there, never in the checkout."""

    env: dict[str, str]
    log: Path
    folder: Path
    process: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                [str(BIN / "dagster-daemon"), "run", "-w", str(REPO / "workspace.yaml")],
                cwd=self.folder,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def wait_for(self, what: str, found: Callable[[], T | None]) -> T:
        """Poll until `found` returns something; fail, with the log's end, on timeout or if
        the daemon died."""
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            value = found()
            if value:
                return value
            assert self.process is not None
            if self.process.poll() is not None:
                break
            time.sleep(1)
        tail = "\n".join(self.log.read_text(errors="replace").splitlines()[-40:])
        pytest.fail(f"gave up waiting for {what}; the daemon's log ends:\n{tail}")


def ticks(instance: dg.DagsterInstance, name: str) -> list:
    """The sensor's finished ticks, newest first."""
    states = [s for s in instance.all_instigator_state() if s.instigator_name == name]
    if not states:
        return []
    finished = (TickStatus.SKIPPED, TickStatus.SUCCESS, TickStatus.FAILURE)
    return [
        tick
        for tick in instance.get_ticks(states[0].instigator_origin_id, states[0].selector_id)
        if tick.status in finished
    ]


def tick_after(instance: dg.DagsterInstance, name: str, moment: float):
    """The newest finished tick of the sensor that started after `moment`, if any."""
    later = [tick for tick in ticks(instance, name) if tick.timestamp > moment]
    return later[0] if later else None


def site_runs(instance: dg.DagsterInstance) -> set[str]:
    """Runs of a round x site partition (round-level assets, such as a report following the
    round's loads, run without a site and are not counted)."""
    return {
        record.dagster_run.run_id
        for record in instance.get_run_records()
        if "dagster/partition/site" in record.dagster_run.tags
    }


def query(url: str, sql: str) -> pd.DataFrame:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return pd.read_sql_query(text(sql), connection)
    finally:
        engine.dispose()


def access_ease_mean(url: str) -> float:
    summary = query(
        url,
        f"SELECT mean FROM survey_item_summary WHERE round_id = '{ROUND}' "
        f"AND site_id = '{CHANGED}' AND item_id = 'access_ease' AND response_option IS NULL",
    )
    (mean,) = summary["mean"]
    return float(mean)


def change_one_answer(path: Path) -> None:
    """The first respondent now strongly agrees that support is easier to get (no new text)."""
    workbook = openpyxl.load_workbook(path)
    sheet = workbook.active
    column = next(
        cell.column for cell in sheet[1] if str(cell.value).startswith("It is easier now")
    )
    assert str(sheet.cell(row=2, column=column).value).lower() != "strongly agree"
    sheet.cell(row=2, column=column).value = "Strongly agree"
    workbook.save(path)


@pytest.mark.parametrize("name", ["dagster.yaml", "dagster-local.yaml"])
def test_the_instance_configs_queue_runs_and_allow_one_run_per_site_at_once(name: str) -> None:
    config = yaml.safe_load((REPO / "deploy" / name).read_text())
    # The PostgreSQL storage is proven by the daemon test below; the rest loads here.
    overrides = {key: value for key, value in config.items() if key != "storage"}

    with dg.instance_for_test(overrides=overrides) as instance:
        queue = instance.get_concurrency_config().run_queue_config
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"

    per_site = {"key": "dagster/partition/site", "value": {"applyLimitPerUniqueValue": True}}
    assert {**per_site, "limit": 1} in queue.tag_concurrency_limits
    assert queue.max_concurrent_runs >= 1
    assert config["telemetry"] == {"enabled": False}


@pytest.mark.postgres
def test_only_the_changed_site_reruns_under_the_daemon_and_the_cursor_survives_a_restart(
    tmp_path: Path,
    dagster_database: dict[str, str],
    warehouse_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    raw = tmp_path / "raw"
    for site in (CHANGED, UNTOUCHED):
        shutil.copytree(REPO / "raw" / ROUND / site, raw / ROUND / site)
    shutil.copy(REPO / "raw" / ROUND / "round.yaml", raw / ROUND / "round.yaml")
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "deploy" / "dagster.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        **dagster_database,
        "DAGSTER_HOME": str(home),
        "ARIADNE_RAW_DIR": str(raw),
        "ARIADNE_WAREHOUSE_URL": warehouse_url,
        "ARIADNE_STAGING_DIR": str(tmp_path / "staging"),
        "ARIADNE_REVIEWS_DIR": str(tmp_path / "reviews"),
        "ARIADNE_DATA_DOCS_DIR": str(tmp_path / "data_docs"),
        "ARIADNE_REPORTS_DIR": str(tmp_path / "reports"),
        "ARIADNE_PSEUDONYM_KEY": "daemon-test-key-" + "0" * 16,
        "ARIADNE_SENSOR_INTERVAL_SECONDS": "1",
    }
    for name, value in dagster_database.items():
        monkeypatch.setenv(name, value)

    loaded = subprocess.run(
        [str(BIN / "ariadne"), "materialise"], env=env, cwd=tmp_path, capture_output=True
    )
    assert loaded.returncode == 0, loaded.stdout.decode()[-2000:]
    before_daemon = time.time()
    daemon = Daemon(env, tmp_path / "daemon.log", tmp_path)
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        preloaded = site_runs(instance)
        untouched_runs = query(
            warehouse_url, f"SELECT DISTINCT run_id FROM segments WHERE site_id = '{UNTOUCHED}'"
        )
        mean_before = access_ease_mean(warehouse_url)
        daemon.start()

        # Switched on over a loaded warehouse, the sensor finds nothing to do.
        first = daemon.wait_for(
            "the raw/ sensor's first tick", lambda: tick_after(instance, RAW_SENSOR, before_daemon)
        )
        assert first.status == TickStatus.SKIPPED
        assert "nothing changed in 1 rounds / 2 sites" in first.skip_reason
        assert site_runs(instance) == preloaded

        # One site's survey changes and its action plan goes.
        old_survey_sha = hashlib.sha256((raw / SURVEY).read_bytes()).hexdigest()
        edited = tmp_path / "followup.xlsx"
        shutil.copy(raw / SURVEY, edited)
        change_one_answer(edited)
        new_survey_sha = hashlib.sha256(edited.read_bytes()).hexdigest()
        (raw / ACTION_PLAN).unlink()
        os.replace(edited, raw / SURVEY)

        def saw_the_change():
            tick = ticks(instance, RAW_SENSOR)[0]
            files = RawCursor.from_json(tick.cursor).files
            seen = ACTION_PLAN not in files and files[SURVEY].sha256 == new_survey_sha
            return tick if seen else None

        def sensor_runs_done() -> list[dg.RunRecord] | None:
            records = instance.get_run_records(
                dg.RunsFilter(tags={"dagster/sensor_name": RAW_SENSOR})
            )
            return records if all(r.dagster_run.status in DONE for r in records) else None

        daemon.wait_for("the sensor to see the change", saw_the_change)
        records = daemon.wait_for("the sensor's runs to finish", sensor_runs_done)
        # One run, or two if a tick fell between the two edits: of that site alone.
        assert 1 <= len(records) <= 2
        for record in records:
            run = record.dagster_run
            assert run.status == dg.DagsterRunStatus.SUCCESS
            assert run.tags["dagster/partition/site"] == CHANGED
            assert run.tags["dagster/partition/round"] == ROUND
            assert run.tags[TRIGGER_TAG] == "raw"
            checks = {
                entry.dagster_event.asset_check_evaluation_data.check_name
                for entry in instance.all_logs(
                    run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
                )
            }
            assert "anonymisation_gate" in checks
        sensor_runs = {record.dagster_run.run_id for record in records}

        # Automation and the names pass have had a look since, and ran no site again.
        finished = max(record.end_time for record in records)
        daemon.wait_for(
            "an automation tick after the run",
            lambda: tick_after(instance, AUTOMATION_SENSOR, finished),
        )
        daemon.wait_for(
            "a raw/ sensor tick after the run", lambda: tick_after(instance, RAW_SENSOR, finished)
        )
        assert site_runs(instance) - preloaded == sensor_runs

        # The warehouse holds the new survey, and what was replaced or removed is superseded.
        files = query(
            warehouse_url,
            f"SELECT source_file, source_sha256, status FROM source_files "
            f"WHERE round_id = '{ROUND}' AND site_id = '{CHANGED}'",
        )
        status = {(r.source_file, r.source_sha256): r.status for r in files.itertuples()}
        assert status[(SURVEY, new_survey_sha)] == "loaded"
        assert status[(SURVEY, old_survey_sha)] == "superseded"
        assert {s for (name, _), s in status.items() if name == ACTION_PLAN} == {"superseded"}
        actions = query(warehouse_url, f"SELECT * FROM action_progress WHERE site_id = '{CHANGED}'")
        assert actions.empty
        assert access_ease_mean(warehouse_url) > mean_before
        assert query(
            warehouse_url, f"SELECT DISTINCT run_id FROM segments WHERE site_id = '{UNTOUCHED}'"
        ).equals(untouched_runs)

        # Touched files with the same bytes trigger nothing (the sensor did see them).
        minutes = next((raw / ROUND / UNTOUCHED / "minutes").iterdir())
        touched_at = time.time()
        later = time.time_ns() + 3_600 * 10**9
        for path in (minutes, raw / SURVEY):
            os.utime(path, ns=(later, later))
        relative = f"{ROUND}/{UNTOUCHED}/minutes/{minutes.name}"

        def saw_the_touch():
            tick = tick_after(instance, RAW_SENSOR, touched_at)
            cursor = RawCursor.from_json(tick.cursor) if tick else None
            return tick if cursor and cursor.files[relative].mtime_ns == later else None

        touched = daemon.wait_for("the sensor to see the touched files", saw_the_touch)
        assert touched.status == TickStatus.SKIPPED
        assert site_runs(instance) - preloaded == sensor_runs

        # Restarted, the daemon carries on from the cursor it left: no rerun, same memory.
        cursor_before = RawCursor.from_json(touched.cursor)
        assert cursor_before.generations[f"{ROUND}/{CHANGED}"] == len(sensor_runs)
        daemon.stop()
        restarted_at = time.time()
        daemon.start()
        after_restart = daemon.wait_for(
            "the first raw/ sensor tick after the restart",
            lambda: tick_after(instance, RAW_SENSOR, restarted_at),
        )
        assert after_restart.status == TickStatus.SKIPPED
        assert RawCursor.from_json(after_restart.cursor) == cursor_before
        assert site_runs(instance) - preloaded == sensor_runs
    finally:
        daemon.stop()
        instance.dispose()
