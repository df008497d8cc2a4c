"""Faults in the warehouse load: a run killed midway, two sites at once, the server gone, reruns.

The load must leave a round x site either as it was before or as the new run wrote it,
never in between. Each case compares a content hash of every view (rows sorted, run ids
and load times aside) with the state the warehouse should be in, made by loading the
same submissions one after another into a second warehouse on the same backend.
Faults come from the test, never from production code: SQLAlchemy event hooks on the
loading engine fire at a chosen statement or at commit, where a forked loading process
SIGKILLs itself, or the test stops its private PostgreSQL server.
"""

from __future__ import annotations

import dataclasses
import hashlib
import multiprocessing
import os
import secrets
import shutil
import signal
import traceback
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, create_engine, event, inspect, make_url, text
from sqlalchemy.sql.dml import Delete, Insert

from assets.load.loader import LoadError, replace_partition
from pipelines import cli
from schemas.tables import SiteSubmission
from tests.conftest import _on_ci, coded_submission, run_at_once
from tests.private_postgres import PrivatePostgres, PrivatePostgresUnavailable
from warehouse.engine import create_warehouse_engine
from warehouse.migrations_runner import migrate

ROUND = "2024-impact"
BASELINE = "2022-baseline"
SITE = "east-london"
OTHER_SITE = "sheffield"
LOADED_AT = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
PER_RUN = {"run_id", "loaded_at"}
# The contract's oldest views: a hash over fewer would mean the views were not found.
CORE_VIEWS = {"rounds", "source_files", "quarantine", "segments", "segment_themes"}
# Each site's segments: the fixture's five, times this.
COPIES = 120
SHA_CORRECTED = "d4" * 32
REVIEWER = "[researcher-4c9e1f]"
SAMPLE_RAW = Path(__file__).resolve().parents[1] / "raw"


def view_names(engine: Engine) -> list[str]:
    names = sorted(inspect(engine).get_view_names())
    assert set(names) >= CORE_VIEWS, f"the warehouse lacks views: {CORE_VIEWS - set(names)}"
    return names


def view_rows(engine: Engine, view: str) -> list[tuple]:
    """The view's rows, sorted, each as (column, repr(value)) pairs without the run's columns."""
    with engine.connect() as connection:
        result = connection.execute(text(f'SELECT * FROM "{view}"')).mappings()
        return sorted(
            tuple(sorted((key, repr(value)) for key, value in row.items() if key not in PER_RUN))
            for row in result
        )


def content_hash(engine: Engine) -> str:
    """Every view's rows, sorted, run ids and load times aside."""
    digest = hashlib.sha256()
    for view in view_names(engine):
        digest.update(repr((view, view_rows(engine, view))).encode())
    return digest.hexdigest()


def run_ids(engine: Engine) -> set[str]:
    """Every load the run log records (rows of a rolled-back load must not be among them)."""
    with engine.connect() as connection:
        return set(connection.execute(text("SELECT run_id FROM core_run")).scalars())


def scaled(submission: SiteSubmission, copies: int = COPIES) -> SiteSubmission:
    """The submission with every segment, coding and free-text row repeated `copies` times.

    Big enough that a load runs several statements of hundreds of rows each. Copy n of a
    segment gets the id suffix `-cn`; a person reviewed the first copy of each segment
    and agreement is recorded, so every view of the contract has rows.
    """

    def repeat(frame: pd.DataFrame) -> pd.DataFrame:
        return pd.concat(
            [frame.assign(segment_id=frame["segment_id"] + f"-c{n}") for n in range(copies)],
            ignore_index=True,
        )

    segments = repeat(submission.segments)
    segments["text"] = segments["text"] + " (" + segments["segment_id"].str[-4:] + ")"
    reviewed = submission.segment_themes.assign(
        segment_id=submission.segment_themes["segment_id"] + "-c0", coder=REVIEWER, confidence=1.0
    ).drop_duplicates(["segment_id", "theme_code"])
    codings = pd.concat([repeat(submission.segment_codings), reviewed], ignore_index=True)
    reviews = reviewed.drop_duplicates("segment_id").loc[
        :, ["segment_id", "coder", "category", "codebook_version"]
    ]
    return dataclasses.replace(
        submission,
        segments=segments,
        segment_themes=repeat(submission.segment_themes),
        segment_codings=codings,
        segment_reviews=reviews.assign(reviewed_at="2026-10-05T14:00:00+00:00"),
        coder_agreement=pd.DataFrame(
            [
                ("rules-v1", REVIEWER, "stigma", 2, 1.0, 1.0, 100.0),
                ("rules-v1", REVIEWER, "all", 5, 0.4, None, 60.0),
            ],
            columns=[
                "coder_a",
                "coder_b",
                "theme_code",
                "n_segments",
                "cohen_kappa",
                "krippendorff_alpha",
                "percent_agreement",
            ],
        ),
        survey_free_text=repeat(submission.survey_free_text),
    )


def versions(site_id: str, round_id: str = ROUND) -> tuple[SiteSubmission, SiteSubmission]:
    """A site's first submission and a corrected one: new minutes, an action achieved."""
    first = scaled(coded_submission(round_id, site_id))
    corrected = scaled(
        coded_submission(
            round_id,
            site_id,
            minutes_sha256=SHA_CORRECTED,
            actions={"a1": "achieved", "a2": "in_progress", "a3": "not_started"},
        )
    )
    return first, corrected


def load_all(engine: Engine, submissions: list[SiteSubmission], run: str) -> None:
    for number, submission in enumerate(submissions):
        replace_partition(engine, submission, f"{run}-{number}", LOADED_AT)


def expected_hash(url: str, submissions: list[SiteSubmission]) -> str:
    """The content after loading `submissions` one by one, without faults, at `url`."""
    engine = create_warehouse_engine(url)
    try:
        migrate(engine)
        load_all(engine, submissions, "run-expected")
        return content_hash(engine)
    finally:
        engine.dispose()


@pytest.fixture
def reference_url(warehouse_url: str, tmp_path: Path) -> Iterator[str]:
    """A second empty warehouse on the backend of `warehouse_url`: where expectations are made."""
    url = make_url(warehouse_url)
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'reference.db'}"
        return
    schema = f"reference_{secrets.token_hex(6)}"
    admin = create_engine(url.difference_update_query(["options"]), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def in_child(target: Callable[..., object], *args: object) -> int | None:
    """Run `target(*args)` in a forked process and return its exit code (-9: SIGKILLed)."""
    process = multiprocessing.get_context("fork").Process(target=target, args=args)
    process.start()
    process.join(timeout=60)
    if process.is_alive():
        process.kill()
        process.join()
        pytest.fail("the loading process did not finish within 60 s")
    return process.exitcode


# Where a load is killed: after a statement of a kind on a table, or as it commits.
KILL_POINTS = {
    "after-the-run-is-logged": (Insert, "core_run"),
    "after-the-old-rows-are-deleted": (Delete, "core_segment"),
    "after-the-segments-are-inserted": (Insert, "core_segment"),
    "after-every-coder-is-inserted": (Insert, "core_segment_coding"),
    "at-commit": None,
}


def on_load_step(engine: Engine, point: str, action: Callable[[], None]) -> Callable[[], None]:
    """Call `action` at `point` of every load on `engine`; returns the undo."""
    where = KILL_POINTS[point]
    if where is None:

        def at_commit(_connection) -> None:
            action()

        event.listen(engine, "commit", at_commit)
        return lambda: event.remove(engine, "commit", at_commit)
    kind, table = where

    def after_execute(_connection, statement, *_rest) -> None:
        if isinstance(statement, kind) and statement.table.name == table:
            action()

    event.listen(engine, "after_execute", after_execute)
    return lambda: event.remove(engine, "after_execute", after_execute)


def _load_and_die(url: str, submission: SiteSubmission, run_id: str, point: str) -> None:
    engine = create_warehouse_engine(url)
    on_load_step(engine, point, lambda: os.kill(os.getpid(), signal.SIGKILL))
    replace_partition(engine, submission, run_id, LOADED_AT)
    # Reaching this line means the kill point was never passed: exit code 0 fails the test.


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_a_load_killed_midway_leaves_the_previous_state_and_the_rerun_completes(
    warehouse_url: str, warehouse_engine: Engine, reference_url: str, point: str
) -> None:
    first, corrected = versions(SITE)
    other_site = versions(OTHER_SITE)[0]
    load_all(warehouse_engine, [first, other_site], "run-before")
    previous = content_hash(warehouse_engine)
    warehouse_engine.dispose()  # no pooled connection may be shared with the child

    exit_code = in_child(_load_and_die, warehouse_url, corrected, "run-killed", point)

    assert exit_code == -signal.SIGKILL, f"the load was not killed at {point}"
    assert content_hash(warehouse_engine) == previous
    assert "run-killed" not in run_ids(warehouse_engine)
    if warehouse_engine.dialect.name == "sqlite":
        with warehouse_engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"

    replace_partition(warehouse_engine, corrected, "run-rerun", LOADED_AT)

    expected = expected_hash(reference_url, [first, other_site, corrected])
    assert content_hash(warehouse_engine) == expected
    assert expected != previous


def _load_in_turn(url: str, submissions: list[SiteSubmission], start) -> None:
    """One site's process: migrate (another may be migrating too) and load each version."""
    engine = create_warehouse_engine(url)
    start.wait(timeout=30)
    migrate(engine)
    for number, submission in enumerate(submissions):
        replace_partition(engine, submission, f"run-{submission.site_id}-{number}", LOADED_AT)
    engine.dispose()


def test_two_sites_of_a_round_loading_at_once_lose_and_duplicate_nothing(
    warehouse_url: str, reference_url: str
) -> None:
    """Both start on an empty warehouse, so the migration races too; each loads three times."""
    plans = {}
    for site in (SITE, OTHER_SITE):
        first, corrected = versions(site)
        plans[site] = [first, corrected, first]

    exit_codes = run_at_once(_load_in_turn, [(warehouse_url, plan) for plan in plans.values()])

    assert exit_codes == [0, 0]
    engine = create_warehouse_engine(warehouse_url)
    try:
        expected = expected_hash(reference_url, [s for plan in plans.values() for s in plan])
        assert content_hash(engine) == expected
        with engine.connect() as connection:
            counted = connection.execute(
                text(
                    "SELECT site_id, COUNT(*), COUNT(DISTINCT segment_id) FROM core_segment "
                    "GROUP BY site_id ORDER BY site_id"
                )
            ).all()
        assert [tuple(row) for row in counted] == [
            (site, len(plans[site][-1].segments), len(plans[site][-1].segments))
            for site in sorted(plans)
        ]
        assert run_ids(engine) == {f"run-{site}-{n}" for site in plans for n in range(3)}
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def private_server() -> Iterator[PrivatePostgres]:
    """A PostgreSQL server of this module's own, on a free port; never the shared one."""
    try:
        server = PrivatePostgres()
    except PrivatePostgresUnavailable as error:
        message = f"cannot make a private PostgreSQL server for the fault tests: {error}"
        if _on_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    try:
        server.start()
    except PrivatePostgresUnavailable as error:
        server.remove()
        message = f"cannot start the private PostgreSQL server for the fault tests: {error}"
        if _on_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    try:
        yield server
    finally:
        server.remove()


# Where the server goes away, and the step the error must name.
SERVER_LOST = {
    "before-the-load": "opening the transaction",
    "after-the-segments-are-inserted": "writing core_segment_theme",
    "at-commit": "committing",
}


@pytest.mark.parametrize("point", list(SERVER_LOST))
def test_a_load_whose_server_goes_away_fails_clearly_loses_nothing_and_reruns(
    private_server: PrivatePostgres, point: str
) -> None:
    token = secrets.token_hex(4)
    warehouse = create_warehouse_engine(private_server.create_database(f"warehouse_{token}"))
    reference_url = private_server.create_database(f"reference_{token}")
    first, corrected = versions(SITE)
    try:
        migrate(warehouse)
        replace_partition(warehouse, first, "run-before", LOADED_AT)
        previous = content_hash(warehouse)
        expected = expected_hash(reference_url, [first, corrected])

        if point == "before-the-load":
            private_server.stop_immediately()
            with pytest.raises(LoadError) as raised:
                replace_partition(warehouse, corrected, "run-lost", LOADED_AT)
        else:
            undo = on_load_step(warehouse, point, private_server.stop_immediately)
            try:
                with pytest.raises(LoadError) as raised:
                    replace_partition(warehouse, corrected, "run-lost", LOADED_AT)
            finally:
                undo()
        private_server.start()

        message = "".join(traceback.format_exception(raised.value))
        assert f"round {ROUND} site {SITE} failed {SERVER_LOST[point]}" in str(raised.value)
        lost = "could not be reached" if point == "before-the-load" else "connection to the"
        assert lost in str(raised.value)
        row_values = [
            *corrected.segments["text"],
            *corrected.segments["segment_id"],
            *corrected.segments["speaker"].dropna(),
            *corrected.action_plan["action"],
        ]
        assert [value for value in row_values if value in message] == []
        assert content_hash(warehouse) == previous
        assert run_ids(warehouse) == {"run-before"}

        replace_partition(warehouse, corrected, "run-rerun", LOADED_AT)

        assert content_hash(warehouse) == expected
        assert expected != previous
    finally:
        warehouse.dispose()
        if not private_server.is_running():
            private_server.start()


RERUNS = 3


def test_rerunning_a_round_three_times_leaves_every_view_equal(warehouse_engine: Engine) -> None:
    """Two rounds, the second reviewing the first, so action_progress and theme_change fill."""
    submissions = [
        scaled(coded_submission(BASELINE, site), copies=10) for site in (SITE, OTHER_SITE)
    ] + [
        scaled(coded_submission(ROUND, site, reviews=BASELINE, actions={"a1": "achieved"}), 10)
        for site in (SITE, OTHER_SITE)
    ]
    hashes = []
    for rerun in range(RERUNS):
        for submission in submissions:
            replace_partition(
                warehouse_engine,
                submission,
                f"run-{rerun}-{submission.round_id}-{submission.site_id}",
                LOADED_AT + timedelta(hours=rerun),
            )
        hashes.append(content_hash(warehouse_engine))

    assert hashes == [hashes[0]] * RERUNS
    empty = [v for v in view_names(warehouse_engine) if not view_rows(warehouse_engine, v)]
    assert empty == []
    with warehouse_engine.connect() as connection:
        latest = set(connection.execute(text("SELECT DISTINCT run_id FROM segments")).scalars())
    assert latest == {f"run-{RERUNS - 1}-{s.round_id}-{s.site_id}" for s in submissions}


def test_materialising_a_sample_site_twice_leaves_every_view_equal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real pipeline through `ariadne materialise --site`, on a SQLite warehouse."""
    raw = tmp_path / "raw"
    (raw / BASELINE).mkdir(parents=True)
    shutil.copy(SAMPLE_RAW / BASELINE / "round.yaml", raw / BASELINE / "round.yaml")
    shutil.copytree(SAMPLE_RAW / BASELINE / OTHER_SITE, raw / BASELINE / OTHER_SITE)
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    for variable, value in {
        "ARIADNE_RAW_DIR": str(raw),
        "ARIADNE_WAREHOUSE_URL": url,
        "ARIADNE_STAGING_DIR": str(tmp_path / "staging"),
        "ARIADNE_REVIEWS_DIR": str(tmp_path / "reviews"),
        "ARIADNE_DATA_DOCS_DIR": str(tmp_path / "data_docs"),
        "ARIADNE_PSEUDONYM_KEY": "fault-injection-test-key",
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
    }.items():
        monkeypatch.setenv(variable, value)
    engine = create_warehouse_engine(url)
    try:
        hashes, runs = [], []
        for _ in range(2):
            assert cli.main(["materialise", "--round", BASELINE, "--site", OTHER_SITE]) == 0
            hashes.append(content_hash(engine))
            runs.append(run_ids(engine))
            engine.dispose()

        assert hashes[0] == hashes[1]
        assert len(runs[0]) == 1 and runs[0] < runs[1], "the second run did not load"
        with engine.connect() as connection:
            segments = connection.execute(text("SELECT COUNT(*) FROM segments")).scalar()
        assert segments > 0
    finally:
        engine.dispose()
