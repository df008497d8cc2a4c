"""Trained coders kept on disk: trained once, then loaded, and coding exactly as trained."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from assets.code.combined import CombinedCoder, code_by_machine, combined_coder, semantic_coder
from assets.code.embeddings import load_static_embedder
from assets.code.trained_coders import coder_key, load_or_train
from schemas.codebook import CODEBOOK_DIR, codebook_path, load_codebook
from tests.test_code_combined import _segments

TEXTS = [
    "Carers said the interpreter was booked late for every appointment.",
    "The link worker now comes to the mosque each month and people trust her.",
    "We agreed to train reception staff on cultural humility by March.",
]


@pytest.fixture(scope="module")
def codebook():
    return load_codebook(codebook_path("v3", CODEBOOK_DIR))


@pytest.fixture(scope="module")
def embedder():
    return load_static_embedder()


def test_a_coder_is_trained_once_then_loaded(tmp_path: Path) -> None:
    trained: list[int] = []

    def train() -> dict[str, int]:
        trained.append(1)
        return {"weights": len(trained)}

    assert load_or_train(tmp_path, "combined-abc", train) == {"weights": 1}
    assert load_or_train(tmp_path, "combined-abc", train) == {"weights": 1}
    assert len(trained) == 1
    assert load_or_train(tmp_path, "combined-other", train) == {"weights": 2}


def test_an_unreadable_entry_is_trained_again(tmp_path: Path) -> None:
    (tmp_path / "combined-abc.pkl").write_bytes(b"not a pickle")
    assert load_or_train(tmp_path, "combined-abc", lambda: "trained") == "trained"
    assert load_or_train(tmp_path, "combined-abc", lambda: "again") == "trained"


def test_the_key_changes_with_the_codebook_and_the_embedder(codebook) -> None:
    changed = codebook.model_copy(update={"version": "v3.1"})
    key = coder_key("combined", codebook, "minilm-static-1")
    assert key != coder_key("combined", changed, "minilm-static-1")
    assert key != coder_key("combined", codebook, "minilm-static-2")
    assert key != coder_key("semantic", codebook, "minilm-static-1")


def test_a_coder_loaded_from_disk_codes_as_the_trained_one(
    tmp_path: Path, codebook, embedder
) -> None:
    fresh = CombinedCoder(codebook, embedder)
    combined_coder.cache_clear()
    semantic_coder.cache_clear()
    code_by_machine(_segments(TEXTS), codebook, embedder, tmp_path)  # trains and keeps them
    stored = sorted(path.name.split("-")[0] for path in tmp_path.glob("*.pkl"))
    assert stored == ["combined", "semantic"]
    combined_coder.cache_clear()
    semantic_coder.cache_clear()
    loaded = combined_coder(codebook, embedder, tmp_path)
    assert loaded is not fresh
    assert [dataclasses.asdict(c) for c in loaded.code(_segments(TEXTS))] == [
        dataclasses.asdict(c) for c in fresh.code(_segments(TEXTS))
    ]
    assert "embedder" not in loaded.__getstate__()
