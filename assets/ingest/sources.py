"""What every reader shares: the raw file read once, problems as quarantine rows, ids, frames.

A reader never raises for bad input: it returns what it could read plus `Problem`s, which
the site reader turns into quarantine rows. A problem names the file, the place and the
reason, never the content (minutes and answers hold names).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pandera.pandas as pa

from schemas.submission import MAX_YAML_BYTES
from schemas.tables import empty

MAX_FILE_BYTES = 256 * 2**20
"""The largest Word or Excel file read: the most its parts may inflate to
(`archives.MAX_ARCHIVE_BYTES`), since photos hardly compress. A file is read whole into
memory, so a larger one (a video saved as .docx) is refused before it is read."""

MAX_TEXT_FILE_BYTES = 64 * 2**20
"""The largest CSV, Markdown or text file read. 50,000 survey responses with three long
free-text answers each come to about 40 MiB; decoded, the text can take four bytes a
character, and its rows as much again, which keeps one file's reading under 1 GiB."""

TEXT_SUFFIXES = (".csv", ".md", ".txt")
YAML_SUFFIXES = (".yaml", ".yml")


def max_bytes(path: Path) -> int:
    """The most bytes a file of this kind may have (see the limits above)."""
    suffix = path.suffix.lower()
    if suffix in YAML_SUFFIXES:
        return MAX_YAML_BYTES
    return MAX_TEXT_FILE_BYTES if suffix in TEXT_SUFFIXES else MAX_FILE_BYTES


class FileTooLargeError(ValueError):
    """A raw file over its `max_bytes`: not read at all; the message is safe to report."""


@dataclasses.dataclass(frozen=True)
class SourceFile:
    """A raw file's bytes, read once, with the identity lineage needs."""

    path: Path
    source_file: str
    data: bytes
    sha256: str

    @classmethod
    def read(cls, path: Path, raw_dir: Path) -> SourceFile:
        """Read `path` (opened read-only); `source_file` is its posix path under `raw_dir`.

        Raises FileTooLargeError, without reading it, for a file over its `max_bytes`.
        """
        limit = max_bytes(path)
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            data = handle.read(limit + 1) if size <= limit else b""
        if size > limit or len(data) > limit:
            raise FileTooLargeError(
                f"is {max(size, len(data)) / 2**20:,.0f} MiB, more than the "
                f"{limit / 2**20:,.0f} MiB a {path.suffix.lower() or 'raw'} file may be"
            )
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
