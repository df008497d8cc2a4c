"""The semantic coder: offline, from the packaged model; clear sentences get their theme.

Sentences are written here in the voices of staff, carers and service users; none is
taken from the codebook's examples. Speed is measured by benchmarks/embeddings.py, never
asserted here.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from assets.code.embeddings import (
    DEFAULT_STATIC_MODEL_DIR,
    EmbeddingModelMissing,
    StaticEmbedder,
    load_static_embedder,
    prepare_embedding_model,
)
from assets.code.semantic import SemanticCoder, SemanticCodingError
from assets.code.training import NEUTRAL_WORD, neutralise
from schemas.codebook import CODEBOOK_DIR, codebook_path, load_codebook

CLEAR = {
    "minoritised-concept": "The label BAME lumps completely different communities together; "
    "Somali, Polish and Caribbean families do not have the same needs.",
    "racism-experience": "A man in the car park spat at my wife and shouted racist abuse at "
    "her because of her headscarf.",
    "pandemic-impact": "When the pandemic hit and everything went into lockdown, the day centre "
    "closed and my son was left alone at home for months.",
    "stigma": "Nobody in our family may mention mental illness; my parents are terrified the "
    "neighbours will find out and think we are cursed.",
    "professional-blindness": "The psychiatrist never once asked about our culture or religion "
    "and wrote my brother up as aggressive and non-compliant.",
    "education-mediation-digital": "There was no interpreter, so my twelve-year-old daughter "
    "had to translate what the psychiatrist said to me.",
    "human-rights-cohesion": "Every patient has a human right to dignity and to be told their "
    "rights under the law in words they understand.",
    "diversified-care-offer": "The peer support workers and the women's group at the community "
    "centre offer culturally appropriate support that the clinic never could.",
    "population-neighbourhood-models": "The new neighbourhood mental health hub inside our local "
    "GP surgery means people no longer cross the city to be seen.",
    "coproduction-impact": "Service users and carers co-designed the new crisis pathway with "
    "the trust, and commissioners funded it because of the research findings.",
}
NEUTRAL = "The chair opened the meeting at ten and apologies were noted."


def _refuse(*args: object, **kwargs: object) -> None:
    raise OSError("network access refused by the test")


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Any attempt to open a connection or resolve a host fails, as on a machine offline."""
    monkeypatch.setattr(socket.socket, "connect", _refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", _refuse)
    monkeypatch.setattr(socket, "create_connection", _refuse)
    monkeypatch.setattr(socket, "getaddrinfo", _refuse)
    yield


@pytest.fixture(scope="module")
def model_dir() -> Path:
    """The distilled model; made here, offline, if the set-up step has not made it yet."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", _refuse)
        patch.setattr(socket, "getaddrinfo", _refuse)
        return prepare_embedding_model(DEFAULT_STATIC_MODEL_DIR)


@pytest.fixture(scope="module")
def codebook():
    return load_codebook(codebook_path("v2", CODEBOOK_DIR))


@pytest.fixture(scope="module")
def coder(model_dir: Path, codebook) -> SemanticCoder:
    return SemanticCoder(codebook, load_static_embedder(model_dir))


def test_loads_and_codes_with_the_network_refused(no_network, model_dir, codebook):
    embedder = load_static_embedder(model_dir)
    coder = SemanticCoder(codebook, embedder)
    (coding,) = coder.code([CLEAR["pandemic-impact"]])
    assert "pandemic-impact" in coding.themes
    with pytest.raises(OSError, match="refused"):
        socket.create_connection(("127.0.0.1", 9))


@pytest.mark.parametrize("theme", sorted(CLEAR))
def test_a_clear_sentence_gets_its_theme_as_the_strongest(coder, theme):
    (coding,) = coder.code([CLEAR[theme]])
    assert theme in coding.themes
    assert max(coding.theme_scores, key=coding.theme_scores.get) == theme


def test_a_procedural_sentence_gets_no_theme(coder):
    (coding,) = coder.code([NEUTRAL])
    assert coding.themes == ()
    assert coding.sub_codes == ()


def test_scores_cover_every_code_and_lie_in_zero_one(coder, codebook):
    codings = coder.code([*CLEAR.values(), NEUTRAL])
    sub_codes = {sub.code for theme in codebook.themes for sub in theme.sub_codes}
    for coding in codings:
        assert list(coding.theme_scores) == list(codebook.theme_codes)
        assert set(coding.sub_code_scores) == sub_codes
        scores = [*coding.theme_scores.values(), *coding.sub_code_scores.values()]
        assert all(0.0 <= score <= 1.0 for score in scores)
        assert 0.0 <= coding.category_confidence <= 1.0
        # A sub-code is only ever reported under its own, assigned, theme.
        assert all(sub.split("/")[0] in coding.themes for sub in coding.sub_codes)


def test_themes_follow_the_codebook_thresholds(model_dir, codebook):
    """The cut comes from the codebook: a threshold just above a theme's score silences
    it, one just below another theme's score assigns that one; scores do not move."""
    embedder = load_static_embedder(model_dir)
    default = SemanticCoder(codebook, embedder).code([CLEAR["stigma"]])[0]
    stigma = default.theme_scores["stigma"]
    weakest = min(default.theme_scores, key=default.theme_scores.get)
    thresholds = {"stigma": (stigma + 1.0) / 2, weakest: default.theme_scores[weakest] / 2}
    moved = codebook.model_copy(
        update={"semantic": codebook.semantic.model_copy(update={"thresholds": thresholds})}
    )
    changed = SemanticCoder(moved, embedder).code([CLEAR["stigma"]])[0]
    assert "stigma" in default.themes and "stigma" not in changed.themes
    assert weakest not in default.themes and weakest in changed.themes
    assert changed.theme_scores == default.theme_scores


def test_a_clear_proposal_is_a_solution(coder):
    (coding,) = coder.code(
        ["We recommend that the trust should run an evening clinic at the mosque next year."]
    )
    assert coding.category == "solution"


def test_coding_is_deterministic_and_independent_of_batch(model_dir, codebook, coder):
    texts = [*CLEAR.values(), NEUTRAL]
    first = coder.code(texts)
    again = SemanticCoder(codebook, load_static_embedder(model_dir)).code(texts)
    assert again == first
    reversed_order = coder.code(texts[::-1])[::-1]
    assert reversed_order == first
    assert coder.code(texts[3:4]) == first[3:4]


def test_placeholders_are_neutralised_before_embedding(coder):
    said = "said nobody at the mosque must know her son is on the ward."
    codings = coder.code(
        [f"[carer-3fa91c] {said}", f"[staff-0b12cd] {said}", f"[person] {said}", f"Someone {said}"]
    )
    assert codings[0] == codings[1] == codings[2] == codings[3]
    assert neutralise("[service_user-81b2d0]  asked [person]\u2019s view") == (
        f"{NEUTRAL_WORD} asked {NEUTRAL_WORD}'s view"
    )


def test_empty_input_and_blank_texts(coder, codebook):
    assert coder.code([]) == []
    blank, text, empty = coder.code(["   ", CLEAR["stigma"], ""])
    for coding in (blank, empty):
        assert coding.themes == () and coding.sub_codes == ()
        assert coding.category is None and coding.category_confidence == 0.0
        assert set(coding.theme_scores.values()) == {0.0}
    assert "stigma" in text.themes


def test_a_codebook_without_examples_is_refused(model_dir):
    v1 = load_codebook(codebook_path("v1", CODEBOOK_DIR))
    with pytest.raises(SemanticCodingError, match="v1 has no `semantic:` settings"):
        SemanticCoder(v1, load_static_embedder(model_dir))


def test_embeddings_are_unit_length_and_repeatable(model_dir):
    embedder = load_static_embedder(model_dir)
    vectors = embedder.embed([CLEAR["stigma"], NEUTRAL])
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(vectors, embedder.embed([CLEAR["stigma"], NEUTRAL]))
    assert embedder.embed([]).shape == (0, vectors.shape[1])


def test_preparing_again_keeps_the_prepared_model(model_dir):
    weights = model_dir / "model.safetensors"
    before = (weights.stat().st_mtime_ns, weights.read_bytes())
    assert prepare_embedding_model(model_dir) == model_dir
    assert (weights.stat().st_mtime_ns, weights.read_bytes()) == before


def test_a_missing_model_says_how_to_prepare_it(tmp_path):
    with pytest.raises(EmbeddingModelMissing, match="prepare_embedding_model"):
        load_static_embedder(tmp_path / "nothing-here")
    (tmp_path / "stale").mkdir()
    (tmp_path / "stale" / "distillation.json").write_text('{"recipe": "old"}', encoding="utf-8")
    with pytest.raises(EmbeddingModelMissing, match="prepare_embedding_model"):
        StaticEmbedder(tmp_path / "stale")
