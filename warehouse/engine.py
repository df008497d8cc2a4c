"""Engines and write transactions that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.engine import URL


def create_warehouse_engine(url: str | URL, *, busy_timeout_seconds: float = 30.0) -> Engine:
    """An engine for the warehouse at `url` (any SQLAlchemy URL; SQLite and PostgreSQL tested).

    Parameters are hidden from exception texts because rows hold anonymised but still
    personal free text. On SQLite, foreign keys are switched on (they are off by
    default) and a writer waits up to `busy_timeout_seconds` for another partition's
    load instead of failing with "database is locked"; the file's folder is created so
    the default `sqlite:///warehouse/ariadne.db` works from a fresh checkout.
    """
    url = make_url(url)
    if url.get_backend_name() != "sqlite":
        return create_engine(url, hide_parameters=True, pool_pre_ping=True)
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, hide_parameters=True, connect_args={"timeout": busy_timeout_seconds}
    )
    event.listen(engine, "connect", _enable_sqlite_foreign_keys)
    return engine


def _enable_sqlite_foreign_keys(dbapi_connection, _connection_record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


@contextmanager
def begin_write(engine: Engine) -> Iterator[Connection]:
    """A transaction that is going to write, committed on success and rolled back on error.

    SQLite's default deferred transaction starts as a reader; when two loads both read
    and then try to write, SQLite fails one at once rather than letting it wait, so on
    SQLite the transaction takes the write lock up front (BEGIN IMMEDIATE) and the busy
    timeout makes the second writer queue behind the first.
    """
    with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        yield connection
