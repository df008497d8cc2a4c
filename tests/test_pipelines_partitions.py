"""Partitions: new rounds and sites register without code; ids that would break keys never do."""

from __future__ import annotations

import stat

import dagster as dg
import pytest

from pipelines.io_managers import StagingIOManager
from pipelines.partitions import partition_key, register, split_partition_key


def test_register_adds_new_rounds_and_sites_once() -> None:
    with dg.instance_for_test() as instance:
        register(instance, [("2022-baseline", "sheffield"), ("2024-impact", "east-london")])
        register(instance, [("2024-impact", "east-london"), ("2026-impact", "national")])
        assert sorted(instance.get_dynamic_partitions("round")) == [
            "2022-baseline",
            "2024-impact",
            "2026-impact",
        ]
        assert sorted(instance.get_dynamic_partitions("site")) == [
            "east-london",
            "national",
            "sheffield",
        ]


@pytest.mark.parametrize("bad", ["East-London", "east|london", "a,b", "[x]", "-lead", ""])
def test_register_refuses_ids_that_are_not_slugs(bad: str) -> None:
    with dg.instance_for_test() as instance:
        with pytest.raises(ValueError, match="slug"):
            register(instance, [("2024-impact", bad)])
        assert instance.get_dynamic_partitions("site") == []


def test_partition_key_round_trips() -> None:
    key = partition_key("2024-impact", "east-london")
    assert split_partition_key(key) == ("2024-impact", "east-london")
    assert split_partition_key(str(key)) == ("2024-impact", "east-london")


def test_staging_io_manager_keeps_bundles_private(tmp_path) -> None:
    manager = StagingIOManager(staging_dir=str(tmp_path / "staging"))
    key = partition_key("2024-impact", "east-london")
    output = dg.build_output_context(
        asset_key=dg.AssetKey("ingested_submission"), partition_key=str(key)
    )
    manager.handle_output(output, {"names": ["kept here only"]})
    path = tmp_path / "staging" / "ingested_submission" / "2024-impact" / "east-london.pkl"
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for folder in (path.parent, path.parent.parent, tmp_path / "staging"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    loaded = manager.load_input(
        dg.build_input_context(asset_key=dg.AssetKey("ingested_submission"), partition_key=str(key))
    )
    assert loaded == {"names": ["kept here only"]}
