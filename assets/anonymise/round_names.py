"""Names the NER and the context rules found, shared between the sites of a round.

They are real names, so they live in the restricted staging area only
(`<staging>/detected_names/<round>/<site>.json`, readable by the owner alone), never
in metadata or the warehouse. Each site's run reads the others' so that a person
found at one site is replaced at every site, and the gate checks every site's text
against all of them. A site anonymised before another site's names were known is
stale: `stale_sites` names it, and `ariadne materialise` reruns it, so that after a
run the round is anonymised against every name found in it, whatever the order.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

from pipelines.restricted import restricted_folder

FOLDER = "detected_names"


def _round_folder(staging: Path, round_id: str) -> Path:
    return Path(staging) / FOLDER / round_id


def _fingerprint(names: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(set(names))).encode("utf-8")).hexdigest()


def _write(path: Path, content: object) -> None:
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(content, handle, ensure_ascii=False)
    os.replace(temporary, path)


def write_round_names(
    staging: Path, round_id: str, site_id: str, names: Iterable[str], used: Iterable[str]
) -> None:
    """Replace this site's names atomically, with a fingerprint of the others' it used."""
    folder = restricted_folder(_round_folder(staging, round_id))
    _write(folder / f"{site_id}.json", sorted(set(names)))
    _write(folder / f"{site_id}.used", _fingerprint(used))


def stale_sites(staging: Path, round_id: str, site_ids: Iterable[str]) -> list[str]:
    """Sites anonymised without a name another site of the round has found since."""
    folder = _round_folder(staging, round_id)
    stale = []
    for site_id in site_ids:
        used = folder / f"{site_id}.used"
        current = _fingerprint(read_round_names(staging, round_id, except_site=site_id))
        if used.exists() and json.loads(used.read_text(encoding="utf-8")) != current:
            stale.append(site_id)
    return stale


def read_round_names(staging: Path, round_id: str, *, except_site: str | None = None) -> set[str]:
    """Every name found at the round's sites so far (but `except_site`'s)."""
    names: set[str] = set()
    folder = _round_folder(staging, round_id)
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
        if path.stem != except_site:
            names.update(json.loads(path.read_text(encoding="utf-8")))
    return names
