"""A copy of the sample round with a staging folder, a warehouse and a Dagster instance, for
the tests of the raw/ sensor and the nightly reconcile."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from assets.ingest.submission import read_site_submission
from assets.load.loader import replace_partition
from pipelines.definitions import STAGES
from pipelines.partitions import split_partition_key
from pipelines.resources import RawSubmissions, StagingArea, Warehouse
from tests.conftest import coded_submission
from warehouse.engine import create_warehouse_engine
from warehouse.migrations_runner import migrate

SAMPLE_ROUND = Path(__file__).resolve().parents[1] / "raw" / "2024-impact"
ROUND = "2024-impact"
SITES = ("coventry-warwickshire", "east-london", "national")
STAGE_KEYS = [stage.key for stage in STAGES]
LOADED_AT = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


@dataclasses.dataclass
class Place:
    """A raw/ copy, a staging folder and a warehouse, with a Dagster instance and a cursor."""

    raw: Path
    staging: Path
    warehouse_url: str
    instance: dg.DagsterInstance
    sensor: dg.SensorDefinition | None
    cursor: str | None = None

    def tick(self) -> dg.SensorResult:
        """One evaluation, as the daemon would run it, keeping the cursor it leaves."""
        with dg.build_sensor_context(
            instance=self.instance,
            cursor=self.cursor,
            resources={
                "raw": RawSubmissions(raw_dir=str(self.raw)),
                "staging": StagingArea(staging_dir=str(self.staging)),
                "warehouse": Warehouse(url=self.warehouse_url),
            },
        ) as context:
            result = self.sensor(context)
        self.cursor = result.cursor
        return result

    def load(self, site_id: str) -> None:
        """Put the site's current files in the warehouse, as a run would record them."""
        ingested = read_site_submission(self.raw, ROUND, site_id)
        engine = create_warehouse_engine(self.warehouse_url)
        try:
            migrate(engine)
            submission = dataclasses.replace(
                coded_submission(ROUND, site_id), source_files=ingested.source_files
            )
            replace_partition(engine, submission, run_id=f"run-{site_id}", loaded_at=LOADED_AT)
        finally:
            engine.dispose()


def requested(result: dg.SensorResult) -> list[tuple[str, str]]:
    return sorted(split_partition_key(request.partition_key) for request in result.run_requests)


def make_place(tmp_path: Path, sensor: dg.SensorDefinition | None = None) -> Iterator[Place]:
    """The sample round copied under tmp_path, with an empty warehouse and a test instance."""
    raw = tmp_path / "raw"
    shutil.copytree(SAMPLE_ROUND, raw / ROUND)
    with dg.instance_for_test() as instance:
        yield Place(
            raw=raw,
            staging=tmp_path / "staging",
            warehouse_url=f"sqlite:///{tmp_path / 'warehouse.db'}",
            instance=instance,
            sensor=sensor,
        )
