"""Runs a materialisation's round x site partitions on every core.

Each partition is one Dagster run of `materialise_round_site` against the persistent
instance. With more than one to run, `workers` processes (`ARIADNE_PARALLEL_SITES`,
default 2, the machine's cores) take partitions in turn. Each worker keeps its NER model
loaded from one site to the next (until it is replaced after `sites_per_worker` runs, which
bounds its memory however large the round) and runs the model in its own process: it sets the
anonymiser's processes to 1, so two workers never start four NER processes on two cores.
A lone partition runs in this process, where the NER may use both cores.

Runs launched by the daemon (the raw/ sensor, the nightly schedule) get the same
parallelism from the run queue instead (deploy/dagster.yaml).
"""

from __future__ import annotations

import dataclasses
import functools
import multiprocessing
import os
import uuid
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed

import threadpoolctl
from dagster import (
    AssetKey,
    BetaWarning,
    DagsterEventType,
    DagsterInstance,
    EventLogEntry,
    JobDefinition,
    PreviewWarning,
)

from pipelines.partitions import partition_key

# The run's events are all in the Dagster event log; the terminal shows progress and problems.
QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@dataclasses.dataclass(frozen=True)
class PartitionOutcome:
    round_id: str
    site_id: str
    success: bool
    run_id: str


class SiteRunner:
    """Runs partitions in this process, or in a pool of workers kept for every pass.

    Use it as a context manager: the workers (and the models they loaded) last until the
    block ends, so the names pass reuses them.
    """

    def __init__(self, workers: int, sites_per_worker: int) -> None:
        self.workers = workers
        self.sites_per_worker = sites_per_worker
        self._pool: ProcessPoolExecutor | None = None
        self._pool_runs = 0
        self._local: tuple[JobDefinition, DagsterInstance] | None = None

    def __enter__(self) -> SiteRunner:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._pool is not None:
            self._pool.shutdown()

    def run(
        self, pairs: Sequence[tuple[str, str]], from_stage: str | None = None
    ) -> Iterator[PartitionOutcome]:
        """Run each (round, site); yield each outcome as its run ends (in that order).

        `from_stage` (an asset's name) runs it and the stages after it only, reading its
        input from the restricted staging area as the last run left it.
        """
        if self.workers <= 1 or (len(pairs) <= 1 and self._pool is None):
            if self._local is None:
                self._local = (_job(), DagsterInstance.get())
            for round_id, site_id in pairs:
                yield _run(*self._local, round_id, site_id, from_stage, show_stages=True)
            return
        # A pool's workers run `sites_per_worker` sites each on average, then make way for
        # fresh ones: what spaCy and the other libraries cache grows with every site.
        # (ProcessPoolExecutor's max_tasks_per_child deadlocks on Python 3.11.)
        per_pool = max(self.workers * self.sites_per_worker, 1)
        for start in range(0, len(pairs), per_pool):
            chunk = pairs[start : start + per_pool]
            pool = self._pool_for(len(chunk), per_pool)
            futures = [pool.submit(_run_in_worker, r, s, from_stage) for r, s in chunk]
            for future in as_completed(futures):
                yield future.result()

    def _pool_for(self, runs: int, per_pool: int) -> ProcessPoolExecutor:
        """The pool to run `runs` more sites in: a new one if this one has run its share."""
        if self._pool is not None and self._pool_runs + runs > per_pool:
            self._pool.shutdown()
            self._pool = None
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
            )
            self._pool_runs = 0
        self._pool_runs += runs
        return self._pool


def _job() -> JobDefinition:
    from pipelines.definitions import build_definitions, materialise_round_site

    return build_definitions().resolve_job_def(materialise_round_site.name)


def _stage_keys(from_stage: str | None) -> list[AssetKey]:
    """The stages in the order data flows, from `from_stage` on (all when None)."""
    from pipelines.definitions import STAGES

    keys = [stage.key for stage in STAGES]
    names = [key.to_user_string() for key in keys]
    return keys[names.index(from_stage) :] if from_stage else keys


def _run(
    job: JobDefinition,
    instance: DagsterInstance,
    round_id: str,
    site_id: str,
    from_stage: str | None = None,
    show_stages: bool = False,
) -> PartitionOutcome:
    run_id = str(uuid.uuid4())
    if show_stages:
        instance.add_event_listener(run_id, functools.partial(_show_stage, round_id, site_id))
    result = job.execute_in_process(
        partition_key=partition_key(round_id, site_id),
        instance=instance,
        raise_on_error=False,
        run_config=QUIET_CONSOLE,
        run_id=run_id,
        # Recorded on the run, so that automation sees these stages were in it and does
        # not run them again (docs/decisions/0015).
        asset_selection=_stage_keys(from_stage),
    )
    return PartitionOutcome(round_id, site_id, result.success, result.run_id)


def _show_stage(round_id: str, site_id: str, entry: EventLogEntry) -> None:
    """A line as each stage of a lone site's run starts: its only sign of life for minutes."""
    event = entry.dagster_event
    if event is not None and event.event_type == DagsterEventType.STEP_START:
        print(f"  {round_id} / {site_id}: {entry.step_key} ...", flush=True)


_worker: tuple[JobDefinition, DagsterInstance] | None = None


def _start_worker() -> None:
    """Load the job once per worker, on one core: one NER process, one BLAS thread.

    The workers share the cores; a worker's BLAS threads would compete with the other
    worker (fitting the coders took five times as long with them).
    """
    global _worker
    warnings.filterwarnings("ignore", category=PreviewWarning)
    warnings.filterwarnings("ignore", category=BetaWarning)
    os.environ["ARIADNE_ANONYMISER_PROCESSES"] = "1"
    threadpoolctl.threadpool_limits(1)
    _worker = (_job(), DagsterInstance.get())


def _run_in_worker(round_id: str, site_id: str, from_stage: str | None) -> PartitionOutcome:
    assert _worker is not None, "the pool's initializer loads the job"
    job, instance = _worker
    return _run(job, instance, round_id, site_id, from_stage)
