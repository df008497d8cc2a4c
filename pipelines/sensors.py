"""The raw/ sensor: a changed submission reruns its round x site, and nothing else does.

Each tick stats every file of every submission and hashes only those whose size or times
changed since the cursor, so a tick stays cheap however large raw/ grows; what triggers a
run is the content hash, so a file touched or copied over with the same bytes triggers
nothing. The cursor (JSON, kept in Dagster's schedule storage, so it survives a restart)
holds each file's stat and hash and, per round x site, how many changes were requested.

A site the cursor has not seen yet (the sensor's first tick, a new site folder) is compared
with what the warehouse holds: a site already loaded from exactly these files is not rerun
when the sensor is switched on. A round's `round.yaml` is a source file of each of its
sites, so changing it reruns them all. A site folder that disappears is dropped from the
cursor and its warehouse rows are kept (removing a whole site is a decision for a person).

The sensor also runs the round's names pass: a site anonymised before another site of the
round found a name (`assets/anonymise/round_names.py`) is requested again, once per run of
it that left it stale, unless a run of it is already queued or running. Whatever launched
the run that found the name (this sensor, the schedule, automation, the UI), the next tick
sees the stale site.
"""

import dataclasses
import hashlib
import json
import os
import stat as stat_mode
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import dagster as dg
import pandas as pd

from assets.anonymise.round_names import stale_sites
from assets.ingest.sources import max_bytes, relative_source
from assets.ingest.submission import discover_partitions, inside
from assets.load.loader import SUPERSEDED, read_source_file_status
from pipelines.partitions import partition_key, rounds, sites
from pipelines.resources import RawSubmissions, StagingArea, Warehouse

RAW_SENSOR = "raw_submissions"
TRIGGER_TAG = "ariadne/trigger"
CURSOR_VERSION = 1
IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]

Pair = tuple[str, str]
Contents = dict[str, str | None]
"""A site's files as lineage records them: source file -> SHA-256 (None: not read)."""


@dataclasses.dataclass(frozen=True)
class FileState:
    """What a tick knows of one raw file; `sha256` is None for a file the ingest refuses
    without reading it (too large, or a link leading outside its folder)."""

    size: int
    mtime_ns: int
    ctime_ns: int
    sha256: str | None

    def same_stat(self, stat: os.stat_result) -> bool:
        return (self.size, self.mtime_ns, self.ctime_ns) == (
            stat.st_size,
            stat.st_mtime_ns,
            stat.st_ctime_ns,
        )


@dataclasses.dataclass(frozen=True)
class RawCursor:
    """The sensor's memory between ticks: every file's state, and per site (`round/site`)
    how many changes have been requested; a site absent from `generations` is unseen."""

    files: Mapping[str, FileState] = dataclasses.field(default_factory=dict)
    generations: Mapping[str, int] = dataclasses.field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": CURSOR_VERSION,
                "files": {
                    name: [s.size, s.mtime_ns, s.ctime_ns, s.sha256]
                    for name, s in sorted(self.files.items())
                },
                "generations": dict(sorted(self.generations.items())),
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str | None) -> "RawCursor":
        """The cursor a tick left; none (or one of another version) is an empty cursor, so
        every site is compared with the warehouse again."""
        data = json.loads(text) if text else {}
        if data.get("version") != CURSOR_VERSION:
            return cls()
        return cls(
            files={name: FileState(*state) for name, state in data["files"].items()},
            generations=dict(data["generations"]),
        )


def _ignored(name: str) -> bool:
    """Hidden files and Office lock files are no part of a submission (as the ingest says)."""
    return name.startswith((".", "~$"))


def submission_files(raw_dir: Path, pairs: Iterable[Pair]) -> dict[str, tuple[Path, Path]]:
    """Every file a round x site run records: its round's round.yaml and every file in its
    site folder. Maps the source file (as lineage names it) to (path, the folder it must
    stay inside)."""
    files: dict[str, tuple[Path, Path]] = {}
    for round_id, site_id in pairs:
        round_yaml = raw_dir / round_id / "round.yaml"
        files[relative_source(round_yaml, raw_dir)] = (round_yaml, round_yaml.parent)
        site_dir = raw_dir / round_id / site_id
        for folder, folders, names in os.walk(site_dir):
            folders[:] = [name for name in folders if not _ignored(name)]
            for name in names:
                if not _ignored(name):
                    path = Path(folder) / name
                    files[relative_source(path, raw_dir)] = (path, site_dir)
    return files


def _sha256(path: Path, folder: Path, size: int) -> str | None:
    """The content hash the ingest would record; None where it would not read the file."""
    if not inside(path, folder) or size > max_bytes(path):
        return None
    try:
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        return None


def scan(
    raw_dir: Path, pairs: Iterable[Pair], previous: Mapping[str, FileState]
) -> dict[str, FileState]:
    """The state of every submission file now: stat all, hash only what stat says changed.

    What is not a regular file after links are followed (a broken link, a file that
    vanished, a pipe) is left out, as the ingest leaves it out.
    """
    states: dict[str, FileState] = {}
    for name, (path, folder) in submission_files(raw_dir, pairs).items():
        try:
            stat = path.stat()
        except OSError:
            continue
        if not stat_mode.S_ISREG(stat.st_mode):
            continue
        known = previous.get(name)
        states[name] = (
            known
            if known is not None and known.same_stat(stat)
            else FileState(
                stat.st_size,
                stat.st_mtime_ns,
                stat.st_ctime_ns,
                _sha256(path, folder, stat.st_size),
            )
        )
    return states


def site_contents(files: Mapping[str, FileState], round_id: str, site_id: str) -> Contents:
    """A site's files and hashes, its round's round.yaml included."""
    prefix = f"{round_id}/{site_id}/"
    return {
        name: state.sha256
        for name, state in files.items()
        if name.startswith(prefix) or name == f"{round_id}/round.yaml"
    }


def loaded_contents(status: pd.DataFrame) -> dict[Pair, Contents]:
    """What the warehouse holds per round x site: its files that are not superseded, as
    `read_source_file_status` returns them."""
    current = status[status["status"] != SUPERSEDED]
    loaded: dict[Pair, Contents] = {}
    for row in current.itertuples(index=False):
        sha = None if pd.isna(row.source_sha256) else str(row.source_sha256)
        loaded.setdefault((row.round_id, row.site_id), {})[row.source_file] = sha
    return loaded


def fingerprint(contents: Contents) -> str:
    """One hash for a site's whole submission (file names and their hashes, no content)."""
    return hashlib.sha256(json.dumps(sorted(contents.items())).encode()).hexdigest()


def _site(round_id: str, site_id: str) -> str:
    return f"{round_id}/{site_id}"


@dataclasses.dataclass(frozen=True)
class RawChanges:
    """One look at raw/: every round x site in it, those whose submission changed, and the
    cursor to keep."""

    partitions: tuple[Pair, ...]
    changed: tuple[Pair, ...]
    removed: tuple[str, ...]
    cursor: RawCursor

    def run_key(self, round_id: str, site_id: str) -> str:
        """Unique per change: the generation tells apart a file changed and changed back;
        the fingerprint keeps a reset cursor from reusing a key of other content."""
        contents = site_contents(self.cursor.files, round_id, site_id)
        generation = self.cursor.generations[_site(round_id, site_id)]
        return f"raw/{round_id}/{site_id}/{generation}/{fingerprint(contents)[:16]}"


def diff_raw(
    raw_dir: Path, previous: RawCursor, loaded: Callable[[], Mapping[Pair, Contents]]
) -> RawChanges:
    """What changed in raw/ since `previous`, per round x site.

    A site the cursor knows is changed when its files or their hashes differ from the
    cursor's; a site it does not know, when they differ from what the warehouse holds
    (`loaded`, read only if some site is new; a site never loaded always differs).
    """
    pairs = discover_partitions(raw_dir)
    files = scan(raw_dir, pairs, previous.files)
    unseen = [pair for pair in pairs if _site(*pair) not in previous.generations]
    warehouse = loaded() if unseen else {}
    changed = []
    for pair in pairs:
        before = warehouse.get(pair) if pair in unseen else site_contents(previous.files, *pair)
        if site_contents(files, *pair) != before:
            changed.append(pair)
    generations = {
        _site(*pair): previous.generations.get(_site(*pair), 0) + (pair in changed)
        for pair in pairs
    }
    removed = tuple(sorted(set(previous.generations) - set(generations)))
    return RawChanges(tuple(pairs), tuple(changed), removed, RawCursor(files, generations))


def stale_partitions(staging: Path, pairs: Iterable[Pair]) -> list[Pair]:
    """Round x sites anonymised without a name found since at another site of the round."""
    by_round: dict[str, list[str]] = {}
    for round_id, site_id in pairs:
        by_round.setdefault(round_id, []).append(site_id)
    return [
        (round_id, site_id)
        for round_id, site_ids in by_round.items()
        for site_id in stale_sites(staging, round_id, site_ids)
    ]


def in_flight(instance: dg.DagsterInstance, round_id: str, site_id: str) -> bool:
    """Whether a run of this round x site is queued or running."""
    tags = {"dagster/partition": str(partition_key(round_id, site_id))}
    return bool(instance.get_run_records(dg.RunsFilter(tags=tags, statuses=IN_FLIGHT), limit=1))


def _last_success(instance: dg.DagsterInstance, round_id: str, site_id: str) -> str:
    tags = {"dagster/partition": str(partition_key(round_id, site_id))}
    records = instance.get_run_records(
        dg.RunsFilter(tags=tags, statuses=[dg.DagsterRunStatus.SUCCESS]), limit=1
    )
    return records[0].dagster_run.run_id if records else "none"


def names_reruns(
    instance: dg.DagsterInstance,
    staging: Path,
    changes: RawChanges,
    stages: Sequence[dg.AssetKey],
) -> list[dg.RunRequest]:
    """Reruns for the round's names pass: stale sites not changed this tick nor in flight.

    The run key names the stale site's last successful run, so a site is asked for once per
    run that left it stale: a rerun that fails is not retried forever, and no name (nor a
    hash of one) reaches Dagster.
    """
    return [
        run_request(
            round_id,
            site_id,
            stages,
            f"names/{round_id}/{site_id}/after/{_last_success(instance, round_id, site_id)}",
            "names",
        )
        for round_id, site_id in stale_partitions(staging, changes.partitions)
        if (round_id, site_id) not in changes.changed and not in_flight(instance, round_id, site_id)
    ]


def new_partitions(
    instance: dg.DagsterInstance, pairs: Iterable[Pair]
) -> list[dg.AddDynamicPartitionsRequest]:
    """Requests adding the rounds and sites the instance does not know yet (ids are slugs:
    `discover_partitions` never returns another folder)."""
    pairs = list(pairs)
    requests = []
    for definition, values in ((rounds, {r for r, _ in pairs}), (sites, {s for _, s in pairs})):
        new = sorted(values - set(instance.get_dynamic_partitions(definition.name)))
        if new:
            requests.append(definition.build_add_request(new))
    return requests


def warehouse_contents(warehouse: Warehouse) -> dict[Pair, Contents]:
    engine = warehouse.engine()
    try:
        return loaded_contents(read_source_file_status(engine))
    finally:
        engine.dispose()


def run_request(
    round_id: str, site_id: str, stages: Sequence[dg.AssetKey], run_key: str, trigger: str
) -> dg.RunRequest:
    """A run of every stage of one round x site.

    The stages are named although the job holds nothing else: a run whose asset selection
    is recorded is one the automation conditions recognise as having run the aggregate and
    the load too, so the aggregate's input updating in it triggers nothing more.
    """
    return dg.RunRequest(
        partition_key=partition_key(round_id, site_id),
        run_key=run_key,
        asset_selection=list(stages),
        tags={TRIGGER_TAG: trigger},
    )


def raw_submissions_sensor(
    job_name: str, stages: Sequence[dg.AssetKey], minimum_interval_seconds: int
) -> dg.SensorDefinition:
    """The raw/ sensor, requesting the job `job_name` (its `stages`) for each changed
    round x site."""

    @dg.sensor(
        name=RAW_SENSOR,
        job_name=job_name,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Reruns a round x site when a file of its submission changes (by content "
        "hash), adds new rounds and sites as partitions, and reruns sites the round's names "
        "pass finds stale.",
    )
    def raw_submissions(
        context: dg.SensorEvaluationContext,
        raw: RawSubmissions,
        staging: StagingArea,
        warehouse: Warehouse,
    ) -> dg.SensorResult:
        changes = diff_raw(
            raw.path, RawCursor.from_json(context.cursor), lambda: warehouse_contents(warehouse)
        )
        requests = [
            run_request(round_id, site_id, stages, changes.run_key(round_id, site_id), "raw")
            for round_id, site_id in changes.changed
        ]
        requests += names_reruns(context.instance, staging.path, changes, stages)
        for site in changes.removed:
            context.log.info(f"{site} is no longer in raw/; its warehouse rows are kept")
        n_rounds = len({r for r, _ in changes.partitions})
        return dg.SensorResult(
            run_requests=requests,
            dynamic_partitions_requests=new_partitions(context.instance, changes.partitions),
            cursor=changes.cursor.to_json(),
            skip_reason=None
            if requests
            else f"nothing changed in {n_rounds} rounds / {len(changes.partitions)} sites",
        )

    return raw_submissions
