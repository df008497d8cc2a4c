"""What every reader shares: the raw file read once, problems as quarantine rows, ids, frames.

A reader never raises for bad input: it returns what it could read plus `Problem`s, which
the site reader turns into quarantine rows. A problem names the file, the place and the
reason, never the content (minutes and answers hold names).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pandera.pandas as pa

from schemas.tables import empty


@dataclasses.dataclass(frozen=True)
class SourceFile:
    """A raw file's bytes, read once, with the identity lineage needs."""

    path: Path
    source_file: str
    data: bytes
    sha256: str

    @classmethod
    def read(cls, path: Path, raw_dir: Path) -> SourceFile:
        """Read `path` (opened read-only); `source_file` is its posix path under `raw_dir`."""
        with path.open("rb") as handle:
            data = handle.read()
        return cls(
            path=path,
            source_file=relative_source(path, raw_dir),
            data=data,
            sha256=hashlib.sha256(data).hexdigest(),
        )


def relative_source(path: Path, raw_dir: Path) -> str:
    """`2024-impact/east-london/minutes/ws.docx`: stable whichever machine holds raw/."""
    return path.relative_to(raw_dir).as_posix()


@dataclasses.dataclass(frozen=True)
class Problem:
    """One quarantine row before the partition's round and site are added."""

    source_file: str
    locator: str
    reason: str
    severity: str = "error"


def segment_id(round_id: str, site_id: str, source_file: str, locator: str, sha256: str) -> str:
    """Stable across reruns of identical input, unique within the round, and free of names."""
    key = f"{round_id}/{site_id}/{source_file}/{locator}/{sha256}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def segment_record(
    source: SourceFile,
    *,
    round_id: str,
    site_id: str,
    source_kind: str,
    locator: str,
    text: str,
    event_id: str | None = None,
    agenda_item: str | None = None,
    stakeholder_group: str | None = None,
    is_action: bool = False,
    response_id: str | None = None,
    item_id: str | None = None,
    speaker_name: str | None = None,
    withdrawn: bool = False,
) -> dict[str, Any]:
    """One RawSegments row; every reader's segments are built the same way."""
    return {
        "round_id": round_id,
        "site_id": site_id,
        "segment_id": segment_id(round_id, site_id, source.source_file, locator, source.sha256),
        "source_kind": source_kind,
        "event_id": event_id,
        "source_file": source.source_file,
        "source_sha256": source.sha256,
        "locator": locator,
        "agenda_item": agenda_item,
        "stakeholder_group": stakeholder_group,
        "is_action": is_action,
        "response_id": response_id,
        "item_id": item_id,
        "text": text,
        "speaker_name": speaker_name,
        "withdrawn": withdrawn,
    }


@dataclasses.dataclass
class ReadResult:
    """What one reader got from one file: rows per table, problems, and the file's status."""

    records: dict[str, list[dict[str, Any]]] = dataclasses.field(default_factory=dict)
    problems: list[Problem] = dataclasses.field(default_factory=list)
    readable: bool = True
    n_records: int = 0
    n_rejected: int = 0
    n_withdrawn: int = 0

    def add(self, table: str, record: dict[str, Any]) -> None:
        self.records.setdefault(table, []).append(record)

    def rows(self, table: str) -> list[dict[str, Any]]:
        return self.records.get(table, [])


def frame(model: type[pa.DataFrameModel], records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Records as a frame with exactly the model's columns and dtypes (empty when none)."""
    rows = list(records)
    if not rows:
        return empty(model)
    columns = list(model.to_schema().columns)
    return model.to_schema().coerce_dtype(pd.DataFrame.from_records(rows, columns=columns))
