"""Readers of the warehouse's views for `ariadne status` and `ariadne quarantine`.

Like the readers in loader.py, they read the contract's views, so they show what analysts
see and work for a role that may read nothing else (migration 0004). A quarantine reason
never quotes the file's content (shared/contracts/warehouse.md), so it may be printed.
"""

from __future__ import annotations

import re

import pandas as pd
from sqlalchemy import Engine, inspect, text

QUARANTINE_COLUMNS = [
    "round_id",
    "site_id",
    "source_file",
    "locator",
    "severity",
    "reason",
    "run_id",
]


def read_quarantine(
    engine: Engine, round_id: str | None = None, site_id: str | None = None
) -> pd.DataFrame:
    """Every quarantined file, row or paragraph of the last load of each partition.

    Ordered by round, site, file and place in the file, numbers in a locator compared as
    numbers (`row 9` before `row 10`). A warehouse nothing was loaded into yet gives an
    empty frame with these columns.
    """
    filters = {"round_id": round_id, "site_id": site_id}
    conditions = [f"{column} = :{column}" for column, value in filters.items() if value is not None]
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    with engine.connect() as connection:
        if not inspect(connection).has_table("quarantine"):
            return pd.DataFrame(columns=QUARANTINE_COLUMNS)
        result = connection.execute(
            text(f"SELECT {', '.join(QUARANTINE_COLUMNS)} FROM quarantine{where}"),
            filters,
        )
        frame = pd.DataFrame(result.all(), columns=QUARANTINE_COLUMNS)
    order = sorted(
        range(len(frame)),
        key=lambda i: (
            frame.at[i, "round_id"],
            frame.at[i, "site_id"],
            frame.at[i, "source_file"],
            _natural(frame.at[i, "locator"]),
            frame.at[i, "severity"],
            frame.at[i, "reason"],
        ),
    )
    return frame.iloc[order].reset_index(drop=True)


def _natural(locator: str) -> tuple[tuple[int, int | str], ...]:
    """`row 10, column b` as ((1, 'row '), (0, 10), (1, ', column b')): numbers sort as numbers."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part)
        for part in re.split(r"(\d+)", locator)
        if part
    )
