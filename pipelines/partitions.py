"""Round x site partitions: each impact round is a rerunnable materialisation, sliced by site.

Both dimensions are dynamic, so a new round folder (or a new site in a round) becomes a
partition without a code change: the CLI, and later the raw/ sensor, register them.
"""

from __future__ import annotations

from dagster import (
    DagsterInstance,
    DynamicPartitionsDefinition,
    MultiPartitionKey,
    MultiPartitionsDefinition,
)

from schemas.contract import is_slug

rounds = DynamicPartitionsDefinition(name="round")
sites = DynamicPartitionsDefinition(name="site")
round_site = MultiPartitionsDefinition({"round": rounds, "site": sites})


def partition_key(round_id: str, site_id: str) -> MultiPartitionKey:
    return MultiPartitionKey({"round": round_id, "site": site_id})


def split_partition_key(key: str | MultiPartitionKey) -> tuple[str, str]:
    """(round_id, site_id) of a round x site key, whichever form Dagster hands over."""
    dims = key.keys_by_dimension if isinstance(key, MultiPartitionKey) else None
    if dims is None:
        round_id, site_id = str(key).split("|")
        return round_id, site_id
    return dims["round"], dims["site"]


def register(instance: DagsterInstance, pairs: list[tuple[str, str]]) -> None:
    """Add rounds and sites the instance does not know yet.

    Keys are checked to be slugs first: Dagster silently accepts a key holding `|`, `,`,
    `[` or `]`, and every multi-partition key built on it then vanishes.
    """
    bad = [value for pair in pairs for value in pair if not is_slug(value)]
    if bad:
        raise ValueError(f"not a lower-case slug, refusing to register as a partition: {bad}")
    for definition, values in ((rounds, {r for r, _ in pairs}), (sites, {s for _, s in pairs})):
        known = set(instance.get_dynamic_partitions(definition.name))
        new = sorted(values - known)
        if new:
            instance.add_dynamic_partitions(definition.name, new)
