"""Bring a warehouse to the newest schema, safely when several partitions start at once."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import URL

from warehouse.engine import begin_write, create_warehouse_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# Every migrating process takes the same PostgreSQL advisory lock. Its key is a 64-bit
# number derived from a name, so the source says what the lock is for and other
# applications sharing the database are unlikely to pick the same key.
_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"ariadne-impact warehouse migrations").digest()[:8], "big", signed=True
)
# Alembic's `context` and `op` are process-wide proxies, so two threads must not upgrade
# at the same time even against different databases.
_ALEMBIC_IN_USE = threading.Lock()


def alembic_config(connection: Connection) -> Config:
    """Alembic configuration without an ini file, so migrations also run from an installed package.

    The migrations' env.py runs against `connection` (Alembic cookbook: sharing a
    connection), inside the caller's transaction.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    config.attributes["connection"] = connection
    return config


def migrate(engine_or_url: Engine | str | URL) -> None:
    """Upgrade the warehouse to the newest revision; a no-op when it is already there.

    Two site partitions may load in parallel and both call this first. The whole upgrade
    runs in one transaction that first takes a lock: a transaction-level advisory lock
    on PostgreSQL, the database file's write lock on SQLite. The second caller waits,
    then finds the schema at head and does nothing.
    """
    if isinstance(engine_or_url, Engine):
        _upgrade(engine_or_url)
        return
    engine = create_warehouse_engine(engine_or_url)
    try:
        _upgrade(engine)
    finally:
        engine.dispose()


def _upgrade(engine: Engine) -> None:
    with _ALEMBIC_IN_USE, begin_write(engine) as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        command.upgrade(alembic_config(connection), "head")
