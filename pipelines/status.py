"""What `ariadne status` and `ariadne quarantine` print: where each round x site stands.

Three sources meet here: raw/ as it is now (each file's SHA-256, hashed as the ingest and
the raw/ sensor hash it), the warehouse's `source_files` and `quarantine` views (what the
last load of each partition took in or refused), and the Dagster instance (each
partition's last run, its outcome, the checks that failed in it and the steps that
failed). What is shown is file names, states, counts, check and step names and quarantine
reasons, which never quote a file's content; a failed step's error is not shown (it may
quote a value) but kept in the restricted error log the run names.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from dagster import DagsterEventType, DagsterInstance, RunsFilter
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from assets.ingest.submission import discover_partitions
from assets.load.loader import (
    SOURCE_FILE_STATUS_COLUMNS,
    SUPERSEDED,
    read_source_file_status,
)
from assets.load.readers import QUARANTINE_COLUMNS, read_quarantine
from pipelines.partitions import partition_key
from pipelines.sensors import scan, site_contents

Pair = tuple[str, str]

# A file's state: the warehouse's (loaded, quarantined) when it holds these very bytes,
# else where raw/ and the warehouse part ways.
NEW = "new"
CHANGED = "changed"
REMOVED = "removed"
NOTES = {
    NEW: "not loaded yet",
    CHANGED: "changed since it was loaded; not loaded yet",
    REMOVED: "no longer in raw/; the next run marks it superseded",
}
STATE_ORDER = ("loaded", "quarantined", NEW, CHANGED, REMOVED)
QUARANTINE_SHOWN = 5
# A blocking check that fails fails its step too; the check is listed already.
CHECK_FAILED = "DagsterAssetCheckFailedError"
STEP_ERROR = "DagsterExecutionStepExecutionError"


@dataclasses.dataclass(frozen=True)
class FileLine:
    source_file: str
    state: str


@dataclasses.dataclass(frozen=True)
class LastRun:
    """A partition's latest Dagster run. `failed_checks` and `failed_steps` hold names and
    error classes only: an error's message may quote a value."""

    run_id: str
    outcome: str
    started_at: datetime
    failed_checks: tuple[str, ...]
    failed_steps: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class SiteStatus:
    round_id: str
    site_id: str
    files: tuple[FileLine, ...]
    superseded: int
    last_run: LastRun | None
    quarantine: pd.DataFrame


@dataclasses.dataclass(frozen=True)
class Status:
    """Every site's status; `warehouse_problem` says why the warehouse could not be read."""

    sites: tuple[SiteStatus, ...]
    warehouse_problem: str | None = None


def collect_status(
    raw_dir: Path,
    engine: Engine,
    instance: DagsterInstance,
    round_id: str | None = None,
    site_id: str | None = None,
) -> Status:
    """The status of every round x site in raw/ or in the warehouse (or of one round, site).

    A warehouse that cannot be read (a server down) still leaves raw/ and the runs to
    show; the problem is reported by the exception's type, which quotes no URL.
    """
    problem = None
    try:
        files = read_source_file_status(engine)
        quarantine = read_quarantine(engine, round_id, site_id)
    except DBAPIError as error:
        problem = f"the warehouse could not be read ({type(error.orig).__name__})"
        files = pd.DataFrame(columns=SOURCE_FILE_STATUS_COLUMNS)
        quarantine = pd.DataFrame(columns=QUARANTINE_COLUMNS)

    def wanted(pair: Pair) -> bool:
        return (round_id is None or pair[0] == round_id) and (site_id is None or pair[1] == site_id)

    in_raw = [pair for pair in discover_partitions(raw_dir) if wanted(pair)]
    loaded = {
        pair for pair in zip(files["round_id"], files["site_id"], strict=True) if wanted(pair)
    }
    pairs = sorted({*in_raw, *loaded})
    raw_files = scan(raw_dir, in_raw, {})
    sites = []
    for r, s in pairs:
        mine = files[(files["round_id"] == r) & (files["site_id"] == s)]
        raw = site_contents(raw_files, r, s) if (r, s) in in_raw else {}
        sites.append(
            SiteStatus(
                round_id=r,
                site_id=s,
                files=file_states(raw, mine),
                superseded=int((mine["status"] == SUPERSEDED).sum()),
                last_run=last_run(instance, r, s),
                quarantine=quarantine[
                    (quarantine["round_id"] == r) & (quarantine["site_id"] == s)
                ].reset_index(drop=True),
            )
        )
    return Status(tuple(sites), problem)


def file_states(raw: dict[str, str | None], warehouse: pd.DataFrame) -> tuple[FileLine, ...]:
    """Each file of raw/ with the warehouse's state for its bytes, then files raw/ lost.

    `raw` maps source file to SHA-256 (None where the ingest does not read the file);
    `warehouse` holds the partition's `source_files` rows, superseded ones included.
    """
    current = warehouse[warehouse["status"] != SUPERSEDED]
    held = {
        (row.source_file, None if pd.isna(row.source_sha256) else row.source_sha256): row.status
        for row in current.itertuples(index=False)
    }
    held_names = {name for name, _ in held}
    lines = [
        FileLine(
            name,
            held.get((name, sha)) or (CHANGED if name in held_names else NEW),
        )
        for name, sha in sorted(raw.items())
    ]
    lines.extend(FileLine(name, REMOVED) for name in sorted(held_names - set(raw)))
    return tuple(lines)


def last_run(instance: DagsterInstance, round_id: str, site_id: str) -> LastRun | None:
    """The partition's latest run, with the checks that failed in it and the failed steps."""
    records = instance.get_run_records(
        RunsFilter(tags={"dagster/partition": str(partition_key(round_id, site_id))}), limit=1
    )
    if not records:
        return None
    record = records[0]
    run_id = record.dagster_run.run_id
    started = (
        datetime.fromtimestamp(record.start_time, UTC)
        if record.start_time
        else record.create_timestamp
    )
    return LastRun(
        run_id=run_id,
        outcome=record.dagster_run.status.value.lower(),
        started_at=started,
        failed_checks=_failed_checks(instance, run_id),
        failed_steps=_failed_steps(instance, run_id),
    )


def _failed_checks(instance: DagsterInstance, run_id: str) -> tuple[str, ...]:
    """`check on asset (severity)` for each check evaluation of the run that did not pass."""
    failed = []
    for entry in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = entry.dagster_event.event_specific_data
        if not evaluation.passed:
            failed.append(
                f"{evaluation.check_name} on {evaluation.asset_key.to_user_string()} "
                f"({evaluation.severity.value.lower()})"
            )
    return tuple(failed)


def _failed_steps(instance: DagsterInstance, run_id: str) -> tuple[str, ...]:
    """`step (error class)` for each failed step that is not a failed check's."""
    failed = set()
    for entry in instance.all_logs(run_id, of_type=DagsterEventType.STEP_FAILURE):
        error = entry.dagster_event.step_failure_data.error
        # Dagster wraps what the step raised; its cause is the stage's own error.
        while error is not None and error.cls_name == STEP_ERROR and error.cause is not None:
            error = error.cause
        kind = error.cls_name if error is not None else "unknown error"
        if kind != CHECK_FAILED:
            failed.add(f"{entry.step_key} ({kind})")
    return tuple(sorted(failed))


def format_status(status: Status) -> str:
    """The terminal text of `ariadne status`: one block per round x site."""
    blocks = [_site_block(site) for site in status.sites]
    if status.warehouse_problem:
        blocks.insert(0, f"{status.warehouse_problem}: showing raw/ and the runs only")
    return "\n\n".join(blocks)


def _site_block(site: SiteStatus) -> str:
    lines = [f"{site.round_id} / {site.site_id}", f"  {_run_line(site.last_run)}"]
    if site.last_run is not None:
        lines.append(f"  checks failed: {', '.join(site.last_run.failed_checks) or 'none'}")
        if site.last_run.failed_steps:
            lines.append(
                f"  steps failed: {', '.join(site.last_run.failed_steps)} "
                "(a stage's error is in its restricted log, in the staging folder's errors/)"
            )
    lines.append(f"  files: {_counts(line.state for line in site.files) or 'none'}")
    prefix = f"{site.round_id}/{site.site_id}/"
    shown = sorted((line.source_file.removeprefix(prefix), line.state) for line in site.files)
    state_width = max((len(state) for _, state in shown), default=0)
    name_width = max((len(name) for name, _ in shown), default=0)
    for name, state in shown:
        note = f"  ({NOTES[state]})" if state in NOTES else ""
        lines.append(f"    {state:<{state_width}}  {name:<{name_width}}{note}".rstrip())
    if site.superseded:
        lines.append(f"  superseded file versions kept as history: {site.superseded}")
    lines.append(f"  quarantine: {_quarantine_counts(site.quarantine)}")
    for row in site.quarantine.head(QUARANTINE_SHOWN).itertuples(index=False):
        lines.append(f"    {_item(row, prefix)}")
    hidden = len(site.quarantine) - QUARANTINE_SHOWN
    if hidden > 0:
        lines.append(
            f"    ... and {hidden} more: ariadne quarantine --round {site.round_id} "
            f"--site {site.site_id}"
        )
    return "\n".join(lines)


def _run_line(run: LastRun | None) -> str:
    if run is None:
        return "never run"
    return f"last run {run.run_id[:8]}: {run.outcome}, started {run.started_at:%Y-%m-%d %H:%M} UTC"


def _counts(states: Iterable[str]) -> str:
    counts = Counter(states)
    order = {state: n for n, state in enumerate(STATE_ORDER)}
    ranked = sorted(counts, key=lambda state: (order.get(state, len(order)), state))
    return ", ".join(f"{counts[state]} {state}" for state in ranked)


def _quarantine_counts(items: pd.DataFrame) -> str:
    errors = int((items["severity"] == "error").sum())
    warnings = int((items["severity"] == "warning").sum())
    return f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"


def _item(row: Any, prefix: str = "") -> str:
    shown = row.source_file.removeprefix(prefix)
    return f"{row.severity.upper():7} {shown} [{row.locator}]: {row.reason}"


def format_quarantine(items: pd.DataFrame) -> str:
    """The terminal text of `ariadne quarantine`: every item, grouped by round x site."""
    blocks = []
    for (r, s), group in items.groupby(["round_id", "site_id"], sort=True):
        lines = [f"{r} / {s}: {_quarantine_counts(group)}"]
        lines.extend(
            f"  {_item(row)} (run {row.run_id[:8]})" for row in group.itertuples(index=False)
        )
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
