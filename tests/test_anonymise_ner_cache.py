"""The NER pass's entities kept between runs: the same spans, and only new text re-read."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from assets.anonymise.engine import Anonymiser, analyzer_engine, model_id
from assets.anonymise.ner_cache import NerCache, cache_path, load_ner_cache, save_ner_cache

TEXTS = [
    "Dr Amara Okafor said the crisis line never called back.",
    "Kwame Mensah from the Ghanaian church asked about interpreters in Leeds.",
    "Siobhán Ní Bhriain will write to the CMHT manager before the next workshop.",
]


@pytest.fixture
def model_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every piece the model reads, in order."""
    nlp_engine = analyzer_engine().nlp_engine
    original = nlp_engine.process_batch
    read: list[str] = []

    def counting(texts, *args, **kwargs):
        texts = list(texts)
        read.extend(texts)
        return original(texts, *args, **kwargs)

    monkeypatch.setattr(nlp_engine, "process_batch", counting)
    return read


def test_cached_entities_give_the_spans_the_model_gives(model_reads: list[str]) -> None:
    cache = NerCache(model_id())
    fresh = Anonymiser(ner_cache=cache).detect(TEXTS)
    assert sorted(model_reads) == sorted(TEXTS)
    model_reads.clear()
    again = Anonymiser(ner_cache=NerCache(model_id(), cache.used)).detect(TEXTS)
    assert again == fresh
    assert any(span.kind != "email" for spans in fresh for span in spans)
    assert model_reads == []


def test_only_changed_text_goes_through_the_model(model_reads: list[str]) -> None:
    cache = NerCache(model_id())
    Anonymiser(ner_cache=cache).detect(TEXTS)
    model_reads.clear()
    changed = [*TEXTS[:2], TEXTS[2].replace("next workshop", "March meeting")]
    Anonymiser(ner_cache=NerCache(model_id(), cache.used)).detect(changed)
    assert model_reads == [changed[2]]


def test_a_saved_cache_is_for_the_owner_and_holds_no_text(tmp_path: Path) -> None:
    cache = NerCache(model_id())
    Anonymiser(ner_cache=cache).detect(TEXTS)
    path = cache_path(tmp_path, "2024-impact", "east-london")
    save_ner_cache(path, cache)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    content = path.read_bytes()
    for name in ("Okafor", "Mensah", "Bhriain", "Leeds"):
        assert name.encode() not in content
    assert load_ner_cache(path, model_id()).used == {}
    assert load_ner_cache(path, model_id()).get(TEXTS[0]) == cache.used[NerCache.key(TEXTS[0])]


def test_a_cache_of_another_model_or_unreadable_is_ignored(tmp_path: Path) -> None:
    cache = NerCache("another-model==1.0")
    cache.put(TEXTS[0], ((), ()))
    path = tmp_path / "site.pkl"
    save_ner_cache(path, cache)
    assert load_ner_cache(path, model_id()).get(TEXTS[0]) is None
    path.write_bytes(b"\x80\x05 broken")
    assert load_ner_cache(path, model_id()).get(TEXTS[0]) is None
