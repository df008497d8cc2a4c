"""The review store: people's codings, kept apart from the warehouse as an input of the code stage.

`ariadne import-review` writes here and the code stage reads it on every run, so a rerun of a
round recodes its segments by machine and still publishes what people decided.

Layout: `<reviews_dir>/<round_id>/<site_id>/<coder>.csv`, one file per reviewer and round x
site, named by the reviewer's pseudonym without brackets (`researcher-3fa91c.csv`). A row per
segment the reviewer reviewed: its category and top-level themes (`;`-joined; empty is a
decision too: no theme), when the decision was imported (ISO 8601, UTC), from which file
(`source`, `source_sha256`) and with which codebook version. The files hold pseudonyms,
segment ids and codes only: never text, never a name. A reviewer's name is pseudonymised
with the project's key before anything is written.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import hashlib
import io
import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from assets.anonymise.pseudonyms import Pseudonymiser
from assets.review.refi_qda import import_project_qdpx
from assets.review.spreadsheet import import_review_xlsx
from schemas.codebook import Codebook
from schemas.contract import CATEGORIES, SLUG_PATTERN
from schemas.tables import PSEUDONYM, SHA256

STORE_COLUMNS = (
    "segment_id",
    "coder",
    "category",
    "themes",
    "reviewed_at",
    "source",
    "source_sha256",
    "codebook_version",
)
SOURCES = ("spreadsheet", "qdpx")
THEME_SEPARATOR = ";"
# Reviewers are researchers: their pseudonyms say so, like a speaker's names their group.
REVIEWER_ROLE = "researcher"

_THEME_CODE = re.compile(rf"^{SLUG_PATTERN}$")


class ReviewStoreError(ValueError):
    """A review file that cannot be read: names the file, row and reason, never a value."""


class ReviewFileImport(NamedTuple):
    """A reviewed file read back: store rows per site, and each row that was not imported."""

    by_site: dict[str, pd.DataFrame]
    problems: list[str]


def reviewer_pseudonym(name: str, pseudonymiser: Pseudonymiser) -> str:
    """A reviewer's pseudonym, `[researcher-xxxxxx]`; a name that is a pseudonym already stays.

    A project exported with earlier reviews carries their coders as pseudonyms: imported
    again, they stay the same coders.
    """
    name = name.strip()
    if re.fullmatch(PSEUDONYM, name):
        return name
    return pseudonymiser.pseudonym(name, REVIEWER_ROLE)


def review_file(reviews_dir: Path, round_id: str, site_id: str, coder: str) -> Path:
    """Where a reviewer's decisions on one round x site are kept."""
    if not re.fullmatch(PSEUDONYM, coder):
        raise ValueError("a review file is named by a coder pseudonym, such as [researcher-3fa91c]")
    return Path(reviews_dir) / round_id / site_id / f"{coder.strip('[]')}.csv"


def import_review_file(
    path: Path,
    segments: pd.DataFrame,
    codings: pd.DataFrame,
    codebook: Codebook,
    pseudonymiser: Pseudonymiser,
    reviewed_at: datetime,
) -> ReviewFileImport:
    """Read a reviewed `.xlsx` (from export-review) or a `.qdpx` as store rows, per site.

    `segments` are the round's anonymised segments with their category, `codings` its
    segment codings (the published machine coder's are the spreadsheet's baseline).
    Reviewer and REFI user names are pseudonymised here. A bad spreadsheet row is a problem
    and the other rows still import; a file that cannot be read at all raises (ReviewError,
    QdpxError).
    """
    path = Path(path)
    suffix = path.suffix.casefold()
    coder_name = functools.partial(reviewer_pseudonym, pseudonymiser=pseudonymiser)
    if suffix == ".xlsx":
        imported = import_review_xlsx(path, segments, codings, codebook, coder_name=coder_name)
        source = "spreadsheet"
    elif suffix == ".qdpx":
        imported = import_project_qdpx(path, segments, codebook, coder_name=coder_name)
        source = "qdpx"
    else:
        raise ValueError(f"{path.name}: not a review file: expected .xlsx or .qdpx")
    rows = review_rows(
        imported.reviewed,
        imported.codings,
        reviewed_at=reviewed_at,
        source=source,
        source_sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        codebook_version=codebook.version,
    )
    site_of = dict(zip(segments["segment_id"], segments["site_id"], strict=True))
    sites = rows["segment_id"].map(site_of)
    by_site = {site: rows[sites == site].reset_index(drop=True) for site in sorted(set(sites))}
    return ReviewFileImport(by_site=by_site, problems=imported.problems)


def review_rows(
    reviewed: pd.DataFrame,
    codings: pd.DataFrame,
    *,
    reviewed_at: datetime,
    source: str,
    source_sha256: str,
    codebook_version: str,
) -> pd.DataFrame:
    """Store rows, one per (segment_id, coder, category) in `reviewed`, with that coder's themes.

    `codings` follows SegmentThemes. The category is the reviewer's, from `reviewed`: a
    segment reviewed without a theme has no coding to carry it.
    """
    themes: dict[tuple[str, str], set[str]] = {}
    for row in codings.itertuples(index=False):
        themes.setdefault((row.segment_id, row.coder), set()).add(row.theme_code)
    decisions = sorted(
        zip(reviewed["segment_id"], reviewed["coder"], reviewed["category"], strict=True)
    )
    rows = [
        {
            "segment_id": segment_id,
            "coder": coder,
            "category": category,
            "themes": THEME_SEPARATOR.join(sorted(themes.get((segment_id, coder), ()))),
            "reviewed_at": _timestamp(reviewed_at),
            "source": source,
            "source_sha256": source_sha256,
            "codebook_version": codebook_version,
        }
        for segment_id, coder, category in decisions
    ]
    frame = pd.DataFrame(rows, columns=list(STORE_COLUMNS))
    _check_rows(frame, "the rows to store")
    return frame


def write_reviews(reviews_dir: Path, round_id: str, site_id: str, rows: pd.DataFrame) -> list[Path]:
    """Merge store rows into their coders' files of one round x site; return the files written.

    A coder's new rows replace that coder's earlier rows for the same segments; their other
    rows, and every other coder's file, stay. A decision imported again unchanged (same
    category and themes) keeps its earlier row, so re-importing a file, or a project that
    carries earlier reviews, does not make old decisions the latest. Each file is replaced
    atomically: a reader sees the old file or the new one, never half of one.
    """
    _check_rows(rows, "the rows to store")
    written = []
    for coder, new in rows.groupby("coder", sort=True):
        path = review_file(reviews_dir, round_id, site_id, str(coder))
        old = _read_file(path) if path.exists() else _empty()
        decision = ["category", "themes"]
        same = new.merge(old, on=["segment_id", *decision], suffixes=("", "_old"))
        unchanged = old[old["segment_id"].isin(same["segment_id"])]
        changed = new[~new["segment_id"].isin(same["segment_id"])]
        kept = old[~old["segment_id"].isin(new["segment_id"])]
        merged = pd.concat([kept, unchanged, changed], ignore_index=True)
        _write_atomically(path, merged.sort_values("segment_id", ignore_index=True))
        written.append(path)
    return written


def read_reviews(reviews_dir: Path, round_id: str, site_id: str) -> pd.DataFrame:
    """Every reviewer's rows for one round x site (STORE_COLUMNS), checked; none: empty.

    A malformed file raises ReviewStoreError naming the file, row and reason.
    """
    folder = Path(reviews_dir) / round_id / site_id
    frames = [_read_file(path) for path in sorted(folder.glob("*.csv"))] if folder.is_dir() else []
    if not frames:
        return _empty()
    return pd.concat(frames, ignore_index=True).sort_values(
        ["coder", "segment_id"], ignore_index=True
    )


def _timestamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("reviewed_at must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _empty() -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype="object") for column in STORE_COLUMNS})


def _read_file(path: Path) -> pd.DataFrame:
    def fail(row: int, reason: str) -> ReviewStoreError:
        return ReviewStoreError(f"{path}: row {row}: {reason}")

    try:
        content = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise fail(1, "not UTF-8 text") from None
    try:
        lines = list(csv.reader(io.StringIO(content, newline="")))
    except csv.Error as error:
        raise ReviewStoreError(f"{path}: not a readable CSV file ({error})") from None
    if not lines or tuple(lines[0]) != STORE_COLUMNS:
        raise fail(1, f"the header must be {','.join(STORE_COLUMNS)}")
    expected_coder = f"[{path.stem}]"
    records = []
    for number, values in enumerate(lines[1:], start=2):
        if len(values) != len(STORE_COLUMNS):
            raise fail(number, f"{len(values)} fields, not {len(STORE_COLUMNS)}")
        record = dict(zip(STORE_COLUMNS, values, strict=True))
        reason = _row_problem(record)
        if reason is None and record["coder"] != expected_coder:
            reason = "coder is not the reviewer the file is named after"
        if reason:
            raise fail(number, reason)
        records.append(record)
    frame = pd.DataFrame(records, columns=list(STORE_COLUMNS)).astype("object")
    duplicated = frame["segment_id"].duplicated()
    if duplicated.any():
        raise fail(int(duplicated.to_numpy().argmax()) + 2, "a segment reviewed twice in one file")
    return frame


def _check_rows(frame: pd.DataFrame, what: str) -> None:
    """The same checks as reading: nothing is written that could not be read back."""
    for number, record in enumerate(frame.to_dict("records"), start=1):
        reason = _row_problem({key: str(value) for key, value in record.items()})
        if reason:
            raise ReviewStoreError(f"{what}: row {number}: {reason}")
    if frame.duplicated(["segment_id", "coder"]).any():
        raise ReviewStoreError(f"{what}: a segment reviewed twice by one coder")


def _row_problem(record: Mapping[str, str]) -> str | None:
    """Why a store row is not valid, without quoting it (a hand-edited file may hold a name)."""
    if not record["segment_id"].strip():
        return "segment_id is empty"
    if not re.fullmatch(PSEUDONYM, record["coder"]):
        return "coder is not a pseudonym such as [researcher-3fa91c]"
    if record["category"] not in CATEGORIES:
        return f"category is not one of {', '.join(CATEGORIES)}"
    themes = record["themes"].split(THEME_SEPARATOR) if record["themes"] else []
    if not all(_THEME_CODE.fullmatch(theme) for theme in themes):
        return "themes must be top-level theme codes joined by ';'"
    if len(set(themes)) != len(themes):
        return "themes lists a theme twice"
    try:
        moment = datetime.fromisoformat(record["reviewed_at"])
    except ValueError:
        return "reviewed_at is not an ISO 8601 date and time"
    if moment.utcoffset() != timedelta(0):
        return "reviewed_at is not in UTC"
    if record["source"] not in SOURCES:
        return f"source is not one of {', '.join(SOURCES)}"
    if not re.fullmatch(SHA256, record["source_sha256"]):
        return "source_sha256 is not a SHA-256 in hex"
    if not record["codebook_version"].strip():
        return "codebook_version is empty"
    return None


def _write_atomically(path: Path, frame: pd.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.tmp")
    try:
        with temporary.open("w", encoding="utf-8", newline="") as handle:
            frame.loc[:, list(STORE_COLUMNS)].to_csv(handle, index=False, lineterminator="\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
