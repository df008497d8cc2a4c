"""The sample rounds in raw/, materialised once per test session for the report's tests.

`ariadne materialise` on both sample rounds takes about a minute, so the report's unit
tests and its browser test share one SQLite warehouse, made the first time either asks.
"""

from __future__ import annotations

import dataclasses
import functools
import shutil
from pathlib import Path

import pytest
import yaml

from pipelines import cli

SAMPLE_RAW = Path(__file__).resolve().parents[1] / "raw"
ROUND_ID = "2024-impact"


@dataclasses.dataclass(frozen=True)
class SampleWarehouse:
    raw: Path
    url: str


@functools.cache
def materialised_sample(root: Path) -> SampleWarehouse:
    """Both sample rounds (2024-impact reviews 2022-baseline) loaded into SQLite under `root`."""
    raw = root / "raw"
    shutil.copytree(SAMPLE_RAW, raw)
    url = f"sqlite:///{root / 'warehouse.db'}"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ARIADNE_RAW_DIR", str(raw))
        env.setenv("ARIADNE_WAREHOUSE_URL", url)
        env.setenv("ARIADNE_STAGING_DIR", str(root / "staging"))
        env.setenv("ARIADNE_DATA_DOCS_DIR", str(root / "data_docs"))
        env.setenv("ARIADNE_PSEUDONYM_KEY", "report-tests-sample-key")
        env.setenv("DAGSTER_HOME", str(root / "dagster_home"))
        assert cli.main(["materialise"]) == 0
    return SampleWarehouse(raw, url)


def sample_warehouse(tmp_path_factory: pytest.TempPathFactory) -> SampleWarehouse:
    """The session's materialised sample (the same folder for every module that asks)."""
    return materialised_sample(tmp_path_factory.getbasetemp() / "report-sample")


def roster_names(raw: Path) -> set[str]:
    """Every attendee and withdrawn person named in the sample manifests."""
    names: set[str] = set()
    for manifest in raw.glob("*/*/manifest.yaml"):
        data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
        for event in data.get("events") or []:
            names.update(person["name"] for person in event.get("attendees") or [])
        names.update(person["name"] for person in data.get("withdrawals") or [])
    return names
