"""The text a SQLite file holds, for the tests that scan files for leaks.

Dagster keeps job and plan snapshots in its SQLite files as zlib blobs: a scan of the
file's bytes cannot see into them, and their compressed bytes, read as text, now and then
spell a short name part by chance. Scanning the stored values, blobs decompressed, does
both right.
"""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Iterator
from pathlib import Path

SQLITE_HEADER = b"SQLite format 3\x00"


def is_sqlite(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(len(SQLITE_HEADER)) == SQLITE_HEADER


def stored_values(database: Path) -> Iterator[str]:
    """Every text and blob in a SQLite file, a blob decompressed where it is zlib."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master")]
        for table in tables:
            try:
                rows = connection.execute(f'SELECT * FROM "{table}"').fetchall()
            except sqlite3.DatabaseError:
                continue  # an index or trigger, not a table
            for row in rows:
                for value in row:
                    if isinstance(value, str):
                        yield value
                    elif isinstance(value, bytes):
                        yield _blob_text(value)
    finally:
        connection.close()


def _blob_text(blob: bytes) -> str:
    """A zlib blob's content, else the blob's bytes read as text."""
    try:
        return zlib.decompress(blob).decode("utf-8", errors="ignore")
    except zlib.error:
        return blob.decode("utf-8", errors="ignore")
