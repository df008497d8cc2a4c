"""No secret is logged or written to metadata: not the pseudonym key, nor the database password.

A sample site runs through the pipeline with a known `ARIADNE_PSEUDONYM_KEY` and a
warehouse URL holding a password, once loading into PostgreSQL (trust authentication
ignores the password) and once against a server that is not there, so the load fails
and error paths are searched too. Then every place a secret could land is read: the
terminal (stdout and stderr, file descriptors included), Python log records, every run's
config, tags and job and execution plan snapshots, every event of the event log
serialised (asset metadata, check results, failures), every file under DAGSTER_HOME
(and every value of its SQLite databases, decompressed where Dagster compresses), the
Data Docs, the staging area's error logs and the warehouse's tables.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import DagsterEventType, DagsterInstance, serialize_value
from sqlalchemy import create_engine, make_url, text

from pipelines import cli
from pipelines.definitions import build_definitions, materialise_round_site
from pipelines.partitions import partition_key, register
from tests.sqlite_text import stored_values

SAMPLE_RAW = Path(__file__).resolve().parents[1] / "raw"
ROUND, SITE = "2024-impact", "national"
KEY = "no-secrets-test-key-5f1c9a27d3"
PASSWORD = "s3cret-example"
SECRETS = {"pseudonym key": KEY, "database password": PASSWORD}


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """One sample site in a raw/ of its own, with every setting pointing into tmp_path."""
    raw = tmp_path / "raw"
    shutil.copytree(SAMPLE_RAW / ROUND / SITE, raw / ROUND / SITE)
    shutil.copy(SAMPLE_RAW / ROUND / "round.yaml", raw / ROUND / "round.yaml")
    for name, value in {
        "ARIADNE_RAW_DIR": raw,
        "ARIADNE_STAGING_DIR": tmp_path / "staging",
        "ARIADNE_DATA_DOCS_DIR": tmp_path / "data_docs",
        "ARIADNE_PSEUDONYM_KEY": KEY,
        "DAGSTER_HOME": tmp_path / "dagster_home",
    }.items():
        monkeypatch.setenv(name, str(value))
    return tmp_path


def _with_password(url: str) -> str:
    return make_url(url).set(password=PASSWORD).render_as_string(hide_password=False)


def _dagster_texts() -> Iterator[tuple[str, str]]:
    """Every run's config, tags, snapshots and events, as Dagster stores them."""
    with DagsterInstance.get() as instance:
        records = instance.get_run_records()
        assert records, "no run was recorded"
        for record in records:
            run = record.dagster_run
            where = f"run {run.run_id[:8]}"
            yield f"{where} config", serialize_value(run.run_config)
            yield f"{where} tags", serialize_value(run.tags)
            if run.job_snapshot_id:
                snapshot = instance.get_job_snapshot(run.job_snapshot_id)
                yield f"{where} job snapshot", serialize_value(snapshot)
            if run.execution_plan_snapshot_id:
                plan = instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
                yield f"{where} execution plan", serialize_value(plan)
            for entry in instance.all_logs(run.run_id):
                kind = entry.dagster_event.event_type_value if entry.dagster_event else "log"
                yield f"{where} event {kind}", serialize_value(entry)


def _file_texts(*folders: Path) -> Iterator[tuple[str, str]]:
    for folder in folders:
        for path in folder.rglob("*"):
            if not path.is_file():
                continue
            yield str(path), path.read_bytes().decode("utf-8", errors="ignore")
            if path.suffix == ".db":
                yield from ((f"{path} (rows)", value) for value in stored_values(path))


def _warehouse_texts(url: str) -> Iterator[tuple[str, str]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            tables = connection.execute(
                text(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = current_schema()"
                )
            ).scalars()
            for table in list(tables):
                rows = connection.execute(text(f'SELECT * FROM "{table}"')).all()
                yield f"warehouse {table}", repr(rows)
    finally:
        engine.dispose()


def _leaks(texts: Iterator[tuple[str, str]]) -> list[str]:
    """Where a secret was found (the place and which secret, never the text around it)."""
    return [
        f"{where}: {secret}"
        for where, content in texts
        for secret, value in SECRETS.items()
        if value in content
    ]


def _everything(
    root: Path, terminal: pytest.CaptureResult[str], caplog: pytest.LogCaptureFixture
) -> Iterator[tuple[str, str]]:
    yield "stdout", terminal.out
    yield "stderr", terminal.err
    yield "log records", "\n".join(record.getMessage() for record in caplog.records)
    yield from _dagster_texts()
    yield from _file_texts(root / "dagster_home", root / "data_docs", root / "staging" / "errors")


def _postgres_schema(postgres_url: str) -> str:
    """A schema of its own in the session's database, as the connection's search_path."""
    schema = f"no_secrets_{secrets.token_hex(4)}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return (
        make_url(postgres_url)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )


@pytest.mark.postgres
def test_a_run_into_postgresql_keeps_the_key_and_the_password_to_itself(
    site: Path,
    postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = _postgres_schema(postgres_url)
    monkeypatch.setenv("ARIADNE_WAREHOUSE_URL", _with_password(url))
    caplog.set_level("DEBUG")

    assert cli.main(["materialise"]) == 0

    terminal = capfd.readouterr()
    texts = [*_everything(site, terminal, caplog), *_warehouse_texts(url)]
    assert any(where.startswith("warehouse segments") for where, _ in texts)
    leaks = _leaks(iter(texts))
    assert not leaks, "\n".join(leaks)


def test_a_load_that_cannot_reach_the_database_keeps_them_to_itself_too(
    site: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Error paths quote what went wrong: the connection error must not quote the URL.

    The partition's job runs as `ariadne materialise` runs it, without the CLI's closing
    summary, which would itself fail on the missing server.
    """
    # Port 1 on this machine: nothing listens there, so the load fails connecting.
    monkeypatch.setenv(
        "ARIADNE_WAREHOUSE_URL", f"postgresql+psycopg://postgres:{PASSWORD}@127.0.0.1:1/test"
    )
    caplog.set_level("DEBUG")
    home = site / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    job = build_definitions().resolve_job_def(materialise_round_site.name)
    with DagsterInstance.get() as instance:
        register(instance, [(ROUND, SITE)])
        # The console logger at its default level: everything a run logs reaches stderr.
        result = job.execute_in_process(
            partition_key=partition_key(ROUND, SITE), instance=instance, raise_on_error=False
        )
        assert not result.success
        failures = instance.all_logs(result.run_id, of_type=DagsterEventType.STEP_FAILURE)
    assert {entry.step_key for entry in failures} == {"warehouse_partition"}
    assert list((site / "staging" / "errors").glob("load-*.log"))

    terminal = capfd.readouterr()
    leaks = _leaks(_everything(site, terminal, caplog))
    assert not leaks, "\n".join(leaks)


def test_the_search_finds_a_planted_secret(site: Path) -> None:
    planted = {"planted": f"options -c key={KEY}", "url": _with_password("postgresql://u@h/d")}
    assert _leaks(iter(planted.items())) == [
        "planted: pseudonym key",
        "url: database password",
    ]
