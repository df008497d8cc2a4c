"""Trained coders kept on disk, so that a process codes without training first.

The semantic and combined coders learn from the codebook's sentences and training sets:
about eleven seconds, in every process that codes (each site worker of `ariadne
materialise`, each run Dagster launches for a site's update). What they learn depends only
on the codebook, the embedding model, the libraries that fit them and this package's code,
so it is kept under a key of all four and loaded in a fraction of a second afterwards.
It holds what was learnt from the codebook's synthetic examples, never a participant's
text. A missing or unreadable entry is trained again; a changed input makes a new key.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import scipy
import sklearn

from schemas.codebook import Codebook

Coder = TypeVar("Coder")
# The code a trained coder's content depends on: a change to any of these retrains.
CODE_FILES = ("coder.py", "semantic.py", "combined.py", "training.py", "embeddings.py")
HERE = Path(__file__).resolve().parent


def coder_key(kind: str, codebook: Codebook, embedder_name: str) -> str:
    """What a trained coder depends on, hashed: codebook, embedding model, libraries, code."""
    digest = hashlib.sha256()
    for part in (
        kind,
        codebook.model_dump_json(),
        embedder_name,
        sklearn.__version__,
        np.__version__,
        scipy.__version__,
    ):
        digest.update(part.encode("utf-8") + b"\0")
    for name in CODE_FILES:
        digest.update((HERE / name).read_bytes())
    return f"{kind}-{digest.hexdigest()[:24]}"


def load_or_train(folder: Path | None, key: str, train: Callable[[], Coder]) -> Coder:
    """The coder kept under `key` in `folder`, else `train()`'s, kept there for next time."""
    if folder is None:
        return train()
    path = Path(folder) / f"{key}.pkl"
    try:
        with path.open("rb") as handle:
            return pickle.load(handle)
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError):
        pass
    coder = train()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    with temporary.open("wb") as handle:
        pickle.dump(coder, handle, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(temporary, path)
    return coder
