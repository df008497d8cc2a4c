"""The NER pass's entities per text piece, kept between runs of a round x site.

The model's pass is most of the anonymise stage's time. When a site sends a corrected
survey export, or a site reruns because another site found a name, most of its texts
are the ones the model already read: their entities come from here, and only new or
changed text goes through the model. That keeps a site's rerun proportional to what
changed (benchmarks/README.md, "End to end").

Entries are keyed by the SHA-256 of the piece and hold labels, offsets and scores, never
text. A hash of a short text that holds a name can still be guessed at, so the cache
lives in the restricted staging area beside the site's other staged tables. A cache
made by another model (or another version of it) is ignored; a save keeps only the
entries the run used, so a site's cache never outgrows its submission.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle
from pathlib import Path

from pipelines.restricted import restricted_folder

FOLDER = "ner_cache"


@dataclasses.dataclass(frozen=True)
class CachedEntity:
    """What Presidio's spaCy recogniser reads of a spaCy `Span` (its attribute names)."""

    label_: str
    start_char: int
    end_char: int


Entry = tuple[tuple[CachedEntity, ...], tuple[float, ...]]


class NerCache:
    """Entities and scores by piece; remembers which entries this run used."""

    def __init__(self, model_id: str, entries: dict[str, Entry] | None = None) -> None:
        self.model_id = model_id
        self._entries = entries or {}
        self._used: dict[str, Entry] = {}

    @staticmethod
    def key(piece: str) -> str:
        return hashlib.sha256(piece.encode("utf-8", "surrogatepass")).hexdigest()

    def get(self, piece: str) -> Entry | None:
        key = self.key(piece)
        entry = self._used.get(key) or self._entries.get(key)
        if entry is not None:
            self._used[key] = entry
        return entry

    def put(self, piece: str, entry: Entry) -> None:
        self._used[self.key(piece)] = entry

    @property
    def used(self) -> dict[str, Entry]:
        return dict(self._used)


def cache_path(staging: Path, round_id: str, site_id: str) -> Path:
    return Path(staging) / FOLDER / round_id / f"{site_id}.pkl"


def load_ner_cache(path: Path, model_id: str) -> NerCache:
    """The site's cache, or an empty one (no file, another model, an unreadable file)."""
    try:
        with path.open("rb") as handle:
            stored_model, entries = pickle.load(handle)
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError):
        return NerCache(model_id)
    return NerCache(model_id, entries if stored_model == model_id else None)


def save_ner_cache(path: Path, cache: NerCache) -> None:
    """Write the entries this run used, atomically, readable by the owner only."""
    restricted_folder(path.parent)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        pickle.dump((cache.model_id, cache.used), handle, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(temporary, path)
