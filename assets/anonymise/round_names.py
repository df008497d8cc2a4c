"""Names the NER and the context rules found, shared between the sites of a round.

They are real names, so they live in the restricted staging area only
(`<staging>/detected_names/<round>/<site>.json`, readable by the owner alone), never
in metadata or the warehouse. Each site's run reads the others' so that a person
found at one site is replaced at every site, and the gate checks each site's text
against every name known when it was anonymised. A site anonymised before another
site's names were known is stale if one of those names is in its published text:
`stale_sites` names it, and `ariadne materialise` (or the raw/ sensor) reruns it, so
that after a run no name found anywhere in the round is left in any site's text,
whatever the order sites ran in.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from assets.anonymise.anonymiser import published_texts
from assets.anonymise.engine import pattern_spans
from assets.anonymise.names import KnownNamesRecognizer
from pipelines.io_managers import read_staged, staged_path
from pipelines.restricted import restricted_folder

FOLDER = "detected_names"
# The asset whose staged output holds a site's published (anonymised) texts.
ANONYMISED_ASSET = "anonymised_submission"


def _round_folder(staging: Path, round_id: str) -> Path:
    return Path(staging) / FOLDER / round_id


def _write(path: Path, content: object) -> None:
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(content, handle, ensure_ascii=False)
    os.replace(temporary, path)


def write_round_names(
    staging: Path, round_id: str, site_id: str, names: Iterable[str], used: Iterable[str]
) -> None:
    """Replace this site's names atomically, with the other sites' names its run used."""
    folder = restricted_folder(_round_folder(staging, round_id))
    _write(folder / f"{site_id}.json", sorted(set(names)))
    _write(folder / f"{site_id}.used", sorted(set(used)))


def names_for_gate(staging: Path, round_id: str, site_id: str) -> set[str]:
    """The names the site's last anonymisation replaced: its own and those it used.

    Sites of a round run at the same time, so another site may find a name after this
    site's text was anonymised: that is `stale_sites`'s to catch (and rerun), not a
    leak of this run.
    """
    folder = _round_folder(staging, round_id)
    own, used = folder / f"{site_id}.json", folder / f"{site_id}.used"
    return {
        name
        for path in (own, used)
        if path.exists()
        for name in json.loads(path.read_text(encoding="utf-8"))
    }


def stale_sites(
    staging: Path,
    round_id: str,
    site_ids: Iterable[str],
    published: Callable[[str], Iterable[str | None]] | None = None,
) -> list[str]:
    """Sites anonymised before another site found a name that is in their text.

    A site whose run used every name found since is fresh. Otherwise its published
    texts (`published(site_id)`; by default its staged anonymised submission) are
    scanned for the round's names as the gate scans them: only a site where one is
    found runs again. A rerun would change nothing else, and at national scale most
    names found at one site never occur at another. A staged site found clean is
    recorded as checked (`<site>.checked`: a digest of the names, those its run used
    and its staged file), so that the next command does not scan it again for the same
    names: otherwise every site that ran before the last name was found would be
    scanned by every later command, a rerun of one site included.
    """
    folder = _round_folder(staging, round_id)
    found_at = _names_by_site(staging, round_id)
    every_name = set().union(*found_at.values())
    behind: dict[str, str | None] = {}
    for site_id in site_ids:
        used_path = folder / f"{site_id}.used"
        if not used_path.exists():
            continue
        used = used_path.read_text(encoding="utf-8")
        current = set().union(*(names for site, names in found_at.items() if site != site_id))
        if set(json.loads(used)) == current:
            continue
        digest = None if published else _check_digest(staging, round_id, site_id, every_name, used)
        if digest is None or not _checked(folder, site_id, digest):
            behind[site_id] = digest
    if not behind:
        return []
    recognisers = KnownNamesRecognizer.of(every_name)
    texts_of = published or functools.partial(_staged_texts, staging, round_id)
    stale = []
    for site_id, digest in behind.items():
        if _holds_any(texts_of(site_id), recognisers):
            stale.append(site_id)
        elif digest is not None:
            _write(folder / f"{site_id}.checked", digest)
    return stale


def _check_digest(
    staging: Path, round_id: str, site_id: str, names: set[str], used: str
) -> str | None:
    """What a clean scan of the site's staged text held for: None if nothing is staged."""
    try:
        staged = staged_path(staging, ANONYMISED_ASSET, round_id, site_id).stat()
    except FileNotFoundError:
        return None
    content = json.dumps([sorted(names), used, staged.st_mtime_ns, staged.st_size])
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def _checked(folder: Path, site_id: str, digest: str) -> bool:
    path = folder / f"{site_id}.checked"
    return path.exists() and json.loads(path.read_text(encoding="utf-8")) == digest


def _staged_texts(staging: Path, round_id: str, site_id: str) -> list[str | None] | None:
    """The site's published texts as its last run staged them; None if none are."""
    try:
        return published_texts(read_staged(staging, ANONYMISED_ASSET, round_id, site_id))
    except FileNotFoundError:
        return None


def _holds_any(texts: Iterable[str | None] | None, recognisers: list[KnownNamesRecognizer]) -> bool:
    """Whether a name is in the texts; with no texts staged, assume so and run again."""
    if texts is None:
        return True
    return any(text and pattern_spans(text, recognisers) for text in texts)


def read_round_names(staging: Path, round_id: str, *, except_site: str | None = None) -> set[str]:
    """Every name found at the round's sites so far (but `except_site`'s)."""
    return set().union(
        *(
            names
            for site_id, names in _names_by_site(staging, round_id).items()
            if site_id != except_site
        )
    )


def _names_by_site(staging: Path, round_id: str) -> dict[str, set[str]]:
    """The names each site of the round found, each site's file read once."""
    folder = _round_folder(staging, round_id)
    return {
        path.stem: set(json.loads(path.read_text(encoding="utf-8")))
        for path in (sorted(folder.glob("*.json")) if folder.is_dir() else ())
    }
