"""PostgreSQL roles (migration 0004): the analyst reads the views, nothing else; the loader writes.

Every test runs in its own schema of the session's database (conftest's `warehouse_url`,
PostgreSQL only). Roles are the cluster's, so the tests never drop or alter
`ariadne_analyst` or `ariadne_loader`: they take a role with `SET LOCAL ROLE`, which ends
with the transaction, or through the connection's startup options on an engine of their
own, disposed afterwards. Grants belong to the test's schema and go with it.
"""

from __future__ import annotations

import importlib.util
import secrets
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from types import ModuleType

import pytest
from alembic import command
from sqlalchemy import Connection, Engine, create_engine, make_url, text
from sqlalchemy.exc import DBAPIError

from assets.load.loader import read_partition_summary, read_source_file_status, replace_partition
from tests.conftest import ATTENDEE_NAMES, coded_submission
from warehouse.engine import begin_write, create_warehouse_engine
from warehouse.migrations_runner import MIGRATIONS, alembic_config, migrate

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("warehouse_url", ["postgres"], indirect=True),
]

ANALYST, LOADER = "ariadne_analyst", "ariadne_loader"
BASELINE, IMPACT = "2022-baseline", "2024-impact"
LOADED_AT = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)
PERMISSION_DENIED = "42501"
NOT_UPDATABLE = "55000"
UNDEFINED_TABLE = "42P01"
WRITES = ("INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")


def _roles_migration() -> ModuleType:
    """Revision 0004 as a module, for its lists and its CREATE ROLE statement."""
    path = MIGRATIONS / "versions" / "0004_roles.py"
    spec = importlib.util.spec_from_file_location("ariadne_migration_0004", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ROLES = _roles_migration()


@pytest.fixture
def loaded(warehouse_engine: Engine) -> Engine:
    """Two rounds, the second reviewing the first, so every view with rows has some."""
    replace_partition(warehouse_engine, coded_submission(BASELINE), "run-1", LOADED_AT)
    replace_partition(
        warehouse_engine, coded_submission(IMPACT, reviews=BASELINE), "run-2", LOADED_AT
    )
    return warehouse_engine


def _relations(connection: Connection, kinds: str) -> list[str]:
    """Names of the current schema's relations of the given pg_class kinds ('v', 'r', 'S')."""
    return list(
        connection.execute(
            text(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND CAST(c.relkind AS text) = ANY(:kinds) "
                "ORDER BY c.relname"
            ),
            {"kinds": list(kinds)},
        ).scalars()
    )


def _as(engine: Engine, role: str, sql: str) -> list[tuple]:
    """Run `sql` as `role` and return its rows; the transaction and the role end here."""
    with engine.connect() as connection:
        connection.execute(text(f"SET LOCAL ROLE {role}"))
        try:
            return [tuple(row) for row in connection.execute(text(sql))]
        finally:
            connection.rollback()


def _refusal(engine: Engine, role: str, sql: str) -> str | None:
    """The SQLSTATE `sql` fails with when run as `role`, None when it succeeds."""
    try:
        _as(engine, role, sql)
    except DBAPIError as error:
        return error.orig.sqlstate
    return None


def _url_as(warehouse_url: str, role: str) -> str:
    """The test's warehouse URL, its connections taking `role` as they open."""
    url = make_url(warehouse_url)
    options = f"{url.query['options']} -crole={role}"
    return url.update_query_dict({"options": options}).render_as_string(hide_password=False)


def test_the_analyst_reads_every_view(loaded: Engine) -> None:
    with loaded.connect() as connection:
        views = _relations(connection, "v")
    assert set(ROLES.VIEWS) <= set(views)
    counts = {view: len(_as(loaded, ANALYST, f"SELECT * FROM {view}")) for view in views}
    for view in ("segments", "segment_themes", "source_files", "quarantine", "theme_change"):
        assert counts[view] > 0, view


def test_the_analyst_is_refused_every_table_and_sequence(loaded: Engine) -> None:
    with loaded.connect() as connection:
        tables = _relations(connection, "rp")
        sequences = _relations(connection, "S")
    assert {"core_quarantine", "core_segment", "core_run", "alembic_version"} <= set(tables)
    assert {"core_quarantine_id_seq", "core_source_file_id_seq"} <= set(sequences)
    refused = {table: _refusal(loaded, ANALYST, f"SELECT * FROM {table}") for table in tables}
    refused |= {seq: _refusal(loaded, ANALYST, f"SELECT nextval('{seq}')") for seq in sequences}
    assert refused == dict.fromkeys([*tables, *sequences], PERMISSION_DENIED)


def test_the_analyst_cannot_write_through_a_view(loaded: Engine) -> None:
    """Simple views would pass writes to their table; the analyst has no right to try."""
    with loaded.connect() as connection:
        views = _relations(connection, "v")
    for view in views:
        for statement in (
            f"INSERT INTO {view} (round_id) VALUES ('2099-impact')",
            f"UPDATE {view} SET round_id = '2099-impact'",
            f"DELETE FROM {view}",
        ):
            # A view too complex to write through is refused before rights are checked.
            assert _refusal(loaded, ANALYST, statement) in (PERMISSION_DENIED, NOT_UPDATABLE), (
                statement
            )
    assert _refusal(loaded, ANALYST, "INSERT INTO quarantine (round_id) VALUES ('x')") == (
        PERMISSION_DENIED
    )


def test_the_analyst_creates_nothing_and_reads_no_server_file(loaded: Engine) -> None:
    assert _refusal(loaded, ANALYST, "CREATE TABLE mine (x int)") == PERMISSION_DENIED
    assert _refusal(loaded, ANALYST, "CREATE VIEW mine AS SELECT 1 AS x") == PERMISSION_DENIED
    # A key file on the database server is out of reach too.
    assert _refusal(loaded, ANALYST, "SELECT pg_read_file('PG_VERSION')") == PERMISSION_DENIED


def test_privileges_are_exactly_views_to_the_analyst_and_core_tables_to_the_loader(
    loaded: Engine,
) -> None:
    """The guard for later migrations: a view they forget to grant, or a table they expose,
    fails here (see the docstring of revision 0004)."""
    with loaded.connect() as connection:
        views, tables = _relations(connection, "v"), _relations(connection, "rp")
        sequences = _relations(connection, "S")

        def has(role: str, relation: str, privilege: str, kind: str = "table") -> bool:
            return connection.execute(
                text(f"SELECT has_{kind}_privilege(:role, :relation, :privilege)"),
                {"role": role, "relation": relation, "privilege": privilege},
            ).scalar_one()

        for view in views:
            assert has(ANALYST, view, "SELECT"), view
            assert has(LOADER, view, "SELECT"), view
            assert not any(has(ANALYST, view, write) for write in WRITES), view
        for table in tables:
            assert not has(ANALYST, table, "SELECT"), table
            assert not any(has(ANALYST, table, write) for write in WRITES), table
            if table.startswith("core_"):
                for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE"):
                    assert has(LOADER, table, privilege), (table, privilege)
            assert not has(LOADER, table, "TRUNCATE"), table
        for sequence in sequences:
            assert not has(ANALYST, sequence, "USAGE", "sequence"), sequence
            assert has(LOADER, sequence, "USAGE", "sequence"), sequence
        assert has(LOADER, "alembic_version", "SELECT")
        assert not has(LOADER, "alembic_version", "UPDATE")


def test_the_views_hold_no_attendee_name(loaded: Engine) -> None:
    texts = " ".join(
        repr(row) for view in ROLES.VIEWS for row in _as(loaded, ANALYST, f"SELECT * FROM {view}")
    )
    assert "[carer-7f3a9c]" in texts
    for name, _, _ in ATTENDEE_NAMES:
        assert name not in texts
        assert name.split()[-1] not in texts


def test_the_loader_migrates_loads_and_reads(warehouse_url: str, loaded: Engine) -> None:
    engine = create_warehouse_engine(_url_as(warehouse_url, LOADER))
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT current_user")).scalar_one() == LOADER
        migrate(engine)  # at head: what every load does first
        replace_partition(
            engine, coded_submission(IMPACT, "sheffield", reviews=BASELINE), "run-3", LOADED_AT
        )
        replace_partition(engine, coded_submission(BASELINE), "run-4", LOADED_AT)
        summary = read_partition_summary(engine)
        assert {(IMPACT, "sheffield"), (BASELINE, "east-london")} <= set(
            zip(summary["round_id"], summary["site_id"], strict=True)
        )
        assert set(read_source_file_status(engine)["run_id"]) >= {"run-3", "run-4"}
        for statement in (
            "DROP TABLE core_segment_theme",
            "ALTER TABLE core_segment ADD COLUMN note text",
            "CREATE TABLE mine (x int)",
            "UPDATE alembic_version SET version_num = '0003'",
            "TRUNCATE core_quarantine",
        ):
            with engine.connect() as connection, pytest.raises(DBAPIError) as refused:
                connection.execute(text(statement))
            assert refused.value.orig.sqlstate == PERMISSION_DENIED, statement
    finally:
        engine.dispose()


def test_the_revision_runs_again_after_a_downgrade(loaded: Engine) -> None:
    with begin_write(loaded) as connection:
        command.downgrade(alembic_config(connection), "0003")
    # Without USAGE on the schema its names do not even resolve for the analyst.
    assert _refusal(loaded, ANALYST, "SELECT * FROM segments") == UNDEFINED_TABLE
    migrate(loaded)
    assert _as(loaded, ANALYST, "SELECT COUNT(*) FROM segments") == [(10,)]
    assert _refusal(loaded, ANALYST, "SELECT * FROM core_segment") == PERMISSION_DENIED


@pytest.fixture
def second_database(postgres_url: str) -> Iterator[str]:
    """Another database of the same cluster, dropped afterwards."""
    name = f"ariadne_roles_{secrets.token_hex(5)}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_a_second_database_in_the_cluster_migrates_with_the_roles_already_there(
    loaded: Engine, second_database: str
) -> None:
    migrate(second_database)
    engine = create_warehouse_engine(second_database)
    try:
        replace_partition(engine, coded_submission(IMPACT), "run-9", LOADED_AT)
        assert _as(engine, ANALYST, "SELECT COUNT(*) FROM segments") == [(5,)]
        assert _refusal(engine, ANALYST, "SELECT * FROM core_segment") == PERMISSION_DENIED
    finally:
        engine.dispose()
    assert _as(loaded, ANALYST, "SELECT COUNT(*) FROM segments") == [(10,)]


@pytest.fixture
def throwaway_role(postgres_url: str) -> Iterator[str]:
    """A role name of this test only, dropped afterwards if it was created."""
    role = f"ariadne_test_{secrets.token_hex(4)}"
    yield role
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP ROLE IF EXISTS {role}"))
    admin.dispose()


def _waiting_on_a_lock(engine: Engine, pid: int) -> bool:
    with engine.connect() as connection:
        return (
            connection.execute(
                text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"),
                {"pid": pid},
            ).scalar()
            == "Lock"
        )


def test_creating_a_role_tolerates_a_twin_created_meanwhile(
    warehouse_engine: Engine, throwaway_role: str
) -> None:
    """The first creator holds its new role uncommitted; the second finds no role, waits
    on the catalog, and must end quietly when the first commits."""
    statement = text(ROLES.create_role_sql(throwaway_role))
    errors: list[BaseException] = []
    second_pid: list[int] = []

    def second() -> None:
        try:
            with warehouse_engine.begin() as connection:
                second_pid.append(connection.execute(text("SELECT pg_backend_pid()")).scalar())
                connection.execute(statement)
        except BaseException as error:
            errors.append(error)

    with warehouse_engine.connect() as first:
        first.execute(statement)
        thread = threading.Thread(target=second, daemon=True)
        thread.start()
        for _ in range(300):
            if second_pid and _waiting_on_a_lock(warehouse_engine, second_pid[0]):
                break
            time.sleep(0.05)
        else:
            pytest.fail("the second CREATE ROLE never waited on the first")
        first.commit()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert errors == []
    with warehouse_engine.connect() as connection:
        found = connection.execute(
            text("SELECT rolcanlogin FROM pg_roles WHERE rolname = :role"), {"role": throwaway_role}
        ).all()
    assert found == [(False,)]


def test_a_user_who_may_not_create_roles_is_told_what_to_ask(
    warehouse_engine: Engine, throwaway_role: str
) -> None:
    with warehouse_engine.connect() as connection:
        connection.execute(text(f"SET LOCAL ROLE {ANALYST}"))
        with pytest.raises(DBAPIError) as refused:
            connection.execute(text(ROLES.create_role_sql(throwaway_role)))
    diagnosis = refused.value.orig.diag
    assert diagnosis.message_primary == (
        f"role {throwaway_role} does not exist and {ANALYST} may not create roles"
    )
    assert f"CREATE ROLE {throwaway_role} NOLOGIN" in diagnosis.message_hint
