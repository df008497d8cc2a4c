"""One round x site submission from raw/ into a `SiteSubmission`, and the layout of raw/.

Reading never stops at bad input: a problem becomes a quarantine row naming the file, the
place and the reason (never the content), and everything else still loads. Only an
unreadable `manifest.yaml` stops a site, because without it nothing can be attributed.
Raw files are only ever opened for reading.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd

from assets.ingest.action_plans import read_action_plan
from assets.ingest.minutes import read_minutes
from assets.ingest.sources import (
    FileTooLargeError,
    Problem,
    ReadResult,
    SourceFile,
    frame,
    relative_source,
)
from assets.ingest.surveys import read_survey
from schemas.contract import (
    ACTION_PLAN_NAMES,
    MINUTES_SUFFIXES,
    SURVEY_SUFFIXES,
    is_slug,
)
from schemas.instruments import (
    INSTRUMENTS_DIR,
    Instrument,
    InstrumentError,
    InstrumentNotFoundError,
    load_instrument,
)
from schemas.submission import (
    MAX_YAML_BYTES,
    Manifest,
    SubmissionFileError,
    SurveySpec,
    parse_manifest,
    parse_round,
)
from schemas.tables import (
    ActionPlan,
    Attendees,
    Quarantine,
    RawSegments,
    RoundInfo,
    SiteSubmission,
    SourceFiles,
    SurveyAnswers,
    SurveyResponses,
)

logger = logging.getLogger(__name__)

ROSTER_COLUMNS = ("round_id", "site_id", "event_id", "name", "role", "initials", "kind")


def _ignored(path: Path) -> bool:
    """Hidden files and Office lock files (`~$report.docx`) are not part of a submission."""
    return path.name.startswith((".", "~$"))


def _resolved(path: Path) -> Path | None:
    """Where `path` leads after every link, or None for a link loop."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return None


def inside(path: Path, folder: Path) -> bool:
    """Whether `path`, links followed, is in `folder`: a link must not lead to another
    site's files or anywhere else on the machine."""
    resolved, root = _resolved(path), _resolved(folder)
    return resolved is not None and root is not None and resolved.is_relative_to(root)


def _read_manifest_bytes(raw_dir: Path, round_id: str, site_id: str) -> bytes:
    """A site's manifest.yaml, read no further than the most a manifest may be.

    Raises OSError if it cannot be read, or leads outside its site folder.
    """
    site_dir = raw_dir / round_id / site_id
    path = site_dir / "manifest.yaml"
    if not inside(path, site_dir):
        raise PermissionError("manifest.yaml leads outside its site folder")
    with path.open("rb") as handle:
        return handle.read(MAX_YAML_BYTES + 1)


def _shown(named: str, limit: int = 200) -> str:
    """A path as a manifest names it, cut short enough for a reason."""
    return named if len(named) <= limit else f"{named[:limit]}..."


# ---------------------------------------------------------------------------------------
# Layout


@dataclasses.dataclass(frozen=True)
class Layout:
    """The (round_id, site_id) partitions under raw/, and folders that cannot be one."""

    partitions: tuple[tuple[str, str], ...]
    rejected: tuple[str, ...]


def scan_layout(raw_dir: Path) -> Layout:
    """Round folders and their site folders; a folder whose name is not a slug is rejected."""
    raw_dir = Path(raw_dir)
    partitions: list[tuple[str, str]] = []
    rejected: list[str] = []
    if not raw_dir.is_dir():
        return Layout((), ())
    for round_dir in sorted(p for p in raw_dir.iterdir() if p.is_dir() and not _ignored(p)):
        if not is_slug(round_dir.name):
            rejected.append(relative_source(round_dir, raw_dir))
            continue
        for site_dir in sorted(p for p in round_dir.iterdir() if p.is_dir() and not _ignored(p)):
            if is_slug(site_dir.name):
                partitions.append((round_dir.name, site_dir.name))
            else:
                rejected.append(relative_source(site_dir, raw_dir))
    return Layout(tuple(partitions), tuple(rejected))


def discover_partitions(raw_dir: Path) -> list[tuple[str, str]]:
    """(round_id, site_id) of every site folder; non-slug folders are logged, not partitioned."""
    layout = scan_layout(raw_dir)
    for folder in layout.rejected:
        logger.warning(
            "raw folder %s is not a lower-case slug ([a-z0-9][a-z0-9-]*); it is not read",
            folder,
        )
    return list(layout.partitions)


def read_roster(raw_dir: Path) -> pd.DataFrame:
    """Every attendee and withdrawal named by any manifest under raw/, for the anonymiser.

    Columns: round_id, site_id, event_id (None for a withdrawal), name, role (None for a
    withdrawal), initials, kind (`attendee` or `withdrawal`). Unreadable manifests are
    skipped: their sites are quarantined by `read_site_submission` anyway. Each site's run
    reads every manifest of the programme, so a manifest's people are parsed once per
    process and content (`_manifest_people`), not once per run.
    """
    raw_dir = Path(raw_dir)
    rows: list[tuple[Any, ...]] = []
    for round_id, site_id in scan_layout(raw_dir).partitions:
        try:
            content = _read_manifest_bytes(raw_dir, round_id, site_id)
            rows += _manifest_people(content, round_id, site_id)
        except (OSError, SubmissionFileError):
            continue
    return pd.DataFrame(rows, columns=list(ROSTER_COLUMNS))


@functools.lru_cache(maxsize=4096)
def _manifest_people(content: bytes, round_id: str, site_id: str) -> tuple[tuple[Any, ...], ...]:
    """A manifest's attendees and withdrawals as roster rows (in ROSTER_COLUMNS' order)."""
    manifest = parse_manifest(content)
    attendees = (
        (round_id, site_id, event.id, attendee.name, attendee.role, attendee.initials, "attendee")
        for event in manifest.events
        for attendee in event.attendees
    )
    withdrawals = (
        (round_id, site_id, None, withdrawal.name, None, None, "withdrawal")
        for withdrawal in manifest.withdrawals
    )
    return (*attendees, *withdrawals)


def event_sites(raw_dir: Path, round_id: str) -> dict[str, list[str]]:
    """Which sites of a round use each event id: the contract wants them unique in the round."""
    sites: dict[str, list[str]] = {}
    for partition_round, site_id in scan_layout(Path(raw_dir)).partitions:
        if partition_round != round_id:
            continue
        try:
            event_ids = _manifest_event_ids(_read_manifest_bytes(Path(raw_dir), round_id, site_id))
        except (OSError, SubmissionFileError):
            continue
        for event_id in event_ids:
            sites.setdefault(event_id, []).append(site_id)
    return sites


@functools.lru_cache(maxsize=4096)
def _manifest_event_ids(content: bytes) -> tuple[str, ...]:
    """A manifest's event ids: each site's run reads every manifest of its round, so each
    is parsed once per process and content, not once per run."""
    return tuple(event.id for event in parse_manifest(content).events)


# ---------------------------------------------------------------------------------------
# One site


class _SiteReader:
    """Collects one site's tables, source files and problems while its files are read."""

    def __init__(self, raw_dir: Path, round_id: str, site_id: str, instruments_dir: Path):
        self.raw_dir = raw_dir
        self.round_id = round_id
        self.site_id = site_id
        self.instruments_dir = instruments_dir
        self.site_dir = raw_dir / round_id / site_id
        self.manifest_file = f"{round_id}/{site_id}/manifest.yaml"
        self.problems: list[Problem] = []
        self.files: list[dict[str, Any]] = []
        self.tables: dict[str, list[dict[str, Any]]] = {}
        self.accounted: dict[Path, str] = {}
        self.instruments: dict[str, Instrument | InstrumentError] = {}

    # -- bookkeeping

    def problem(self, source_file: str, locator: str, reason: str, severity: str = "error") -> None:
        self.problems.append(Problem(source_file, locator, reason, severity))

    def add_file(
        self,
        source_file: str,
        sha256: str | None,
        kind: str | None,
        loaded: bool,
        n_records: int = 0,
        n_rejected: int = 0,
        n_withdrawn: int = 0,
    ) -> None:
        self.files.append(
            {
                "round_id": self.round_id,
                "site_id": self.site_id,
                "source_file": source_file,
                "source_sha256": sha256,
                "source_kind": kind,
                "status": "loaded" if loaded else "quarantined",
                "n_records": n_records,
                "n_rejected": n_rejected,
                "n_withdrawn": n_withdrawn,
            }
        )

    def absorb(self, source: SourceFile, kind: str, result: ReadResult) -> None:
        self.problems.extend(result.problems)
        for table, records in result.records.items():
            self.tables.setdefault(table, []).extend(records)
        self.add_file(
            source.source_file,
            source.sha256,
            kind,
            result.readable,
            result.n_records,
            result.n_rejected,
            result.n_withdrawn,
        )

    def open(
        self,
        path: Path,
        kind: str | None,
        folder: Path | None = None,
        consequence: str = "not read",
    ) -> SourceFile | None:
        """The file's bytes, or None with the reason and `consequence` recorded and the file
        quarantined.

        A file that leads (by a symbolic link) outside `folder`, the site folder unless
        given, is not read at all, nor is one larger than its kind may be.
        """
        source_file = relative_source(path, self.raw_dir)
        self.accounted[_resolved(path) or path] = source_file
        if not inside(path, folder or self.site_dir):
            reason = "is a link to a file outside its folder"
        else:
            try:
                return SourceFile.read(path, self.raw_dir)
            except FileTooLargeError as error:
                reason = str(error)
            except OSError as error:
                reason = f"could not be opened ({type(error).__name__})"
        self.problem(source_file, "file", f"{reason}; {consequence}")
        self.add_file(source_file, None, kind, loaded=False)
        return None

    # -- round.yaml and manifest.yaml

    def read_round(self) -> RoundInfo | None:
        path = self.raw_dir / self.round_id / "round.yaml"
        source_file = f"{self.round_id}/round.yaml"
        if not path.is_file():
            self.problem(source_file, "file", "round.yaml is missing from the round folder")
            return None
        source = self.open(path, None, folder=path.parent)
        if source is None:
            return None
        try:
            round_ = parse_round(source.data)
        except SubmissionFileError as error:
            self.problem(source_file, error.locator, error.reason)
            self.add_file(source_file, source.sha256, None, loaded=False)
            return None
        if round_.round != self.round_id:
            self.problem(
                source_file, "round", f"round must equal its folder name ({self.round_id})"
            )
        self.add_file(source_file, source.sha256, None, loaded=True, n_records=1)
        return RoundInfo(
            round_id=self.round_id,
            title=round_.title,
            kind=round_.kind,
            period_start=round_.period.start.isoformat() if round_.period else None,
            period_end=round_.period.end.isoformat() if round_.period else None,
            reviews=round_.reviews,
        )

    def read_manifest(self) -> Manifest | None:
        path = self.site_dir / "manifest.yaml"
        if not path.is_file():
            self.problem(self.manifest_file, "file", "manifest.yaml is missing; site not read")
            return None
        source = self.open(path, None, consequence="site not read")
        if source is None:
            return None
        try:
            manifest = parse_manifest(source.data)
        except SubmissionFileError as error:
            self.problem(self.manifest_file, error.locator, f"{error.reason}; site not read")
            self.add_file(self.manifest_file, source.sha256, None, loaded=False)
            return None
        for key, folder in (("site", self.site_id), ("round", self.round_id)):
            if getattr(manifest, key) != folder:
                self.problem(
                    self.manifest_file, key, f"{key} must equal its folder name ({folder})"
                )
        self.add_file(self.manifest_file, source.sha256, None, loaded=True, n_records=1)
        return manifest

    # -- files the manifest names

    def locate(self, named: str, where: str) -> Path | None:
        """The file a manifest entry names, relative to the site folder; None if unusable."""
        text = named.strip().replace("\\", "/")
        pure = PurePosixPath(text)
        if pure.is_absolute() or ".." in pure.parts or not pure.parts:
            self.problem(
                self.manifest_file,
                where,
                f"names {_shown(text)}, which is not inside the site folder",
            )
            return None
        path = self.site_dir.joinpath(*pure.parts)
        if not _is_file(path):
            path = _find_ignoring_case(self.site_dir, pure.parts)
            if path is None:
                self.problem(
                    self.manifest_file,
                    where,
                    f"names {self.round_id}/{self.site_id}/{_shown(text)}, which does not exist",
                )
                return None
            self.problem(
                self.manifest_file,
                where,
                f"names {_shown(text)}, found as {relative_source(path, self.raw_dir)} "
                "(upper and lower case differ)",
                "warning",
            )
        earlier = self.accounted.get(_resolved(path) or path)
        if earlier is not None:
            self.problem(
                self.manifest_file, where, f"names {earlier} a second time; it is read once"
            )
            return None
        return path

    def set_aside(self, path: Path | None, kind: str) -> None:
        """A named file that is not read because its manifest entry is unusable."""
        source = self.open(path, kind) if path is not None else None
        if source is not None:
            self.add_file(source.source_file, source.sha256, kind, loaded=False)

    def wrong_format(self, path: Path, kind: str, suffixes: Iterable[str], where: str) -> bool:
        if path.suffix.lower() in suffixes:
            return False
        source = self.open(path, kind)
        if source is not None:
            self.problem(
                source.source_file,
                "file",
                f"named at {where} as {kind}, which must be one of: {', '.join(suffixes)}",
            )
            self.add_file(source.source_file, source.sha256, kind, loaded=False)
        return True

    def read_events(self, manifest: Manifest) -> None:
        event_ids: set[str] = set()
        used_by = event_sites(self.raw_dir, self.round_id)
        for index, event in enumerate(manifest.events):
            where = f"events[{index}]"
            elsewhere = sorted(set(used_by.get(event.id, [])) - {self.site_id})
            if elsewhere:
                self.problem(
                    self.manifest_file,
                    f"{where}.id",
                    f"event id {event.id} is also used by {', '.join(elsewhere)} in this round; "
                    "event ids must be unique within a round",
                    severity="warning",
                )
            if event.id in event_ids:
                self.problem(
                    self.manifest_file,
                    f"{where}.id",
                    f"event id {event.id} is used twice; this event was not read",
                )
                if event.minutes is not None:
                    self.set_aside(self.locate(event.minutes, f"{where}.minutes"), "minutes")
                continue
            event_ids.add(event.id)
            self.tables.setdefault("attendees", []).extend(
                {
                    "round_id": self.round_id,
                    "site_id": self.site_id,
                    "event_id": event.id,
                    "event_type": event.type,
                    "name": attendee.name,
                    "role": attendee.role,
                    "initials": attendee.initials,
                }
                for attendee in event.attendees
            )
            if event.minutes is None:
                continue
            path = self.locate(event.minutes, f"{where}.minutes")
            if path is None or self.wrong_format(
                path, "minutes", MINUTES_SUFFIXES, f"{where}.minutes"
            ):
                continue
            source = self.open(path, "minutes")
            if source is not None:
                result = read_minutes(
                    source,
                    round_id=self.round_id,
                    site_id=self.site_id,
                    event=event,
                    withdrawals=manifest.withdrawals,
                )
                self.absorb(source, "minutes", result)

    def instrument(self, spec: SurveySpec, where: str) -> Instrument | None:
        if spec.instrument not in self.instruments:
            try:
                self.instruments[spec.instrument] = load_instrument(
                    spec.instrument, self.instruments_dir
                )
            except InstrumentError as error:
                self.instruments[spec.instrument] = error
        found = self.instruments[spec.instrument]
        if isinstance(found, InstrumentNotFoundError):
            self.problem(
                self.manifest_file,
                f"{where}.instrument",
                f"instrument {spec.instrument} is not defined; survey not read",
            )
            return None
        if isinstance(found, InstrumentError):
            self.problem(
                self.manifest_file,
                f"{where}.instrument",
                f"instrument {spec.instrument} could not be loaded ({found}); survey not read",
            )
            return None
        for item_id in spec.columns.values():
            if item_id not in found.items_by_id:
                self.problem(
                    self.manifest_file,
                    f"{where}.columns",
                    f"maps a header to item {item_id}, which instrument {found.id} does not "
                    "have; that column was not loaded",
                )
        return found

    def read_surveys(self, manifest: Manifest) -> None:
        for index, spec in enumerate(manifest.surveys):
            where = f"surveys[{index}]"
            path = self.locate(spec.file, f"{where}.file")
            if path is None or self.wrong_format(path, "survey", SURVEY_SUFFIXES, f"{where}.file"):
                continue
            instrument = self.instrument(spec, where)
            source = self.open(path, "survey")
            if source is None:
                continue
            if instrument is None:
                self.add_file(source.source_file, source.sha256, "survey", loaded=False)
                continue
            result = read_survey(
                source,
                round_id=self.round_id,
                site_id=self.site_id,
                spec=spec,
                instrument=instrument,
                withdrawals=manifest.withdrawals,
            )
            self.absorb(source, "survey", result)

    def read_action_plan(self) -> None:
        present = [self.site_dir / name for name in ACTION_PLAN_NAMES]
        present = [path for path in present if path.is_file()]
        for number, path in enumerate(present):
            source = self.open(path, "action_plan")
            if source is None:
                continue
            if number > 0:
                self.problem(
                    source.source_file,
                    "file",
                    f"a second action plan beside {present[0].name}; only that one was read",
                )
                self.add_file(source.source_file, source.sha256, "action_plan", loaded=False)
                continue
            result = read_action_plan(source, round_id=self.round_id, site_id=self.site_id)
            self.absorb(source, "action_plan", result)

    def report_unread_files(self) -> None:
        """Files nobody named are reported, so a typo in the manifest never hides data."""
        for path in sorted(self.site_dir.rglob("*")):
            relative = path.relative_to(self.site_dir)
            if not _is_file(path) or any(_ignored(Path(part)) for part in relative.parts):
                continue
            if (_resolved(path) or path) in self.accounted:
                continue
            kind = {"minutes": "minutes", "surveys": "survey"}.get(relative.parts[0])
            source = self.open(path, kind)
            if source is None:
                continue
            self.problem(
                source.source_file, "file", "not named in manifest.yaml; not read", "warning"
            )
            self.add_file(source.source_file, source.sha256, kind, loaded=False)

    # -- the bundle

    def bundle(self, round_info: RoundInfo | None) -> SiteSubmission:
        place = {"round_id": self.round_id, "site_id": self.site_id}
        return SiteSubmission(
            round_id=self.round_id,
            site_id=self.site_id,
            round=round_info,
            source_files=frame(SourceFiles, self.files),
            quarantine=frame(
                Quarantine, ({**place, **dataclasses.asdict(p)} for p in self.problems)
            ),
            attendees=frame(Attendees, self.tables.get("attendees", [])),
            segments=frame(RawSegments, self.tables.get("segments", [])),
            survey_responses=frame(SurveyResponses, self.tables.get("survey_responses", [])),
            survey_answers=frame(SurveyAnswers, self.tables.get("survey_answers", [])),
            action_plan=frame(ActionPlan, self.tables.get("action_plan", [])),
        )


def _is_file(path: Path) -> bool:
    """`Path.is_file`, False also for a name the system refuses (too long, say)."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def _find_ignoring_case(folder: Path, parts: tuple[str, ...]) -> Path | None:
    """`Minutes/WS.docx` for `minutes/ws.docx`: Windows users do not see the difference."""
    current = folder
    for part in parts:
        if not current.is_dir():
            return None
        matches = [child for child in current.iterdir() if child.name.casefold() == part.casefold()]
        if len(matches) != 1:
            return None
        current = matches[0]
    return current if current.is_file() else None


def read_site_submission(
    raw_dir: Path,
    round_id: str,
    site_id: str,
    *,
    instruments_dir: Path = INSTRUMENTS_DIR,
) -> SiteSubmission:
    """Read `raw/<round_id>/<site_id>/` and everything its manifest names.

    Every problem is a quarantine row and the rest still loads; if manifest.yaml itself
    cannot be read, the bundle holds only that (and any round.yaml) problem.
    """
    if not (is_slug(round_id) and is_slug(site_id)):
        raise ValueError("round_id and site_id must be lower-case slugs")
    reader = _SiteReader(Path(raw_dir), round_id, site_id, Path(instruments_dir))
    round_info = reader.read_round()
    manifest = reader.read_manifest()
    if manifest is None:
        return reader.bundle(round_info)
    steps = (
        lambda: reader.read_events(manifest),
        lambda: reader.read_surveys(manifest),
        reader.read_action_plan,
        reader.report_unread_files,
    )
    for step in steps:
        try:
            step()
        except OSError as error:
            # A folder that cannot be listed or a file that vanished mid-read: the files
            # read so far stand, the others are reported on the next run.
            reader.problem(
                f"{round_id}/{site_id}", "folder", f"could not be read ({type(error).__name__})"
            )
    return reader.bundle(round_info)
