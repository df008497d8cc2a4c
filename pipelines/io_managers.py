"""The hand-off between stages, kept in the restricted staging area.

Dagster's default IO manager pickles outputs under DAGSTER_HOME, which is not a place for
personal data (nor for anonymised text that has not yet passed the gate). This one writes
each round x site bundle to `<staging>/<asset>/<round>/<site>.pkl`, readable by its owner only.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

from dagster import ConfigurableIOManager, InputContext, OutputContext

from pipelines.partitions import split_partition_key
from pipelines.restricted import restricted_folder


def staged_path(staging: Path, asset: str, round_id: str, site_id: str) -> Path:
    """Where an asset's output for one round x site is kept."""
    return Path(staging) / asset / round_id / f"{site_id}.pkl"


def read_staged(staging: Path, asset: str, round_id: str, site_id: str) -> Any:
    """An asset's last output for one round x site, read outside a run."""
    with staged_path(staging, asset, round_id, site_id).open("rb") as handle:
        return pickle.load(handle)


class StagingIOManager(ConfigurableIOManager):
    staging_dir: str = "staging"

    def _path(self, context: InputContext | OutputContext) -> Path:
        round_id, site_id = split_partition_key(context.asset_partition_key)
        return staged_path(
            Path(self.staging_dir), "__".join(context.asset_key.path), round_id, site_id
        )

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        path = self._path(context)
        restricted_folder(path.parent)
        temporary = path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            pickle.dump(obj, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)

    def load_input(self, context: InputContext) -> Any:
        with self._path(context).open("rb") as handle:
            return pickle.load(handle)
