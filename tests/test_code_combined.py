"""The learnt coders' training data, the combined coder, and what the machine publishes.

Sentences here are written for these tests in the voices of staff, carers and service
users; none is taken from the codebook's examples or training sets.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assets.code.coder import CODER as RULES_CODER
from assets.code.combined import CODER, CombinedCoder, code_by_machine
from assets.code.embeddings import load_static_embedder
from assets.code.evaluation import load_eval_set
from assets.code.semantic import SemanticCodingError
from assets.code.training import training_data
from schemas.codebook import (
    CODEBOOK_DIR,
    CodebookError,
    TrainingSet,
    codebook_path,
    load_codebook,
)
from schemas.tables import CodedSegments, SegmentThemes

CLEAR = {
    "pandemic-impact": "During the lockdowns the day hospital shut and my brother's sessions "
    "went to the phone, which he hated; nobody visited for eight months.",
    "education-mediation-digital": "We waited forty minutes for a Tigrinya interpreter and in "
    "the end the nurse used a translation app on her phone.",
    "population-neighbourhood-models": "The trust has put a mental health worker into each "
    "primary care network so people are seen in their own neighbourhood.",
}
PROCEDURE = "The chair welcomed everyone and the notes of the last meeting were agreed."


@pytest.fixture(scope="module")
def codebook():
    return load_codebook(codebook_path("v3", CODEBOOK_DIR))


@pytest.fixture(scope="module")
def embedder():
    return load_static_embedder()


@pytest.fixture(scope="module")
def coder(codebook, embedder) -> CombinedCoder:
    return CombinedCoder(codebook, embedder)


def _segments(texts: list[str], **columns: object) -> pd.DataFrame:
    n = len(texts)
    frame = pd.DataFrame(
        {
            "segment_id": [f"seg-{i}" for i in range(n)],
            "round_id": "2024-impact",
            "site_id": "east-london",
            "source_kind": "minutes",
            "event_id": "el-ws1",
            "speaker": None,
            "stakeholder_group": "carer",
            "agenda_item": None,
            "text": texts,
            "source_file": "minutes/ws1.docx",
            "source_sha256": "a" * 64,
            "locator": [f"paragraph {i + 1}" for i in range(n)],
            "is_action": False,
            "item_id": None,
            "response_id": None,
        }
    )
    return frame.assign(**columns)


def test_training_rows_teach_only_what_they_say(codebook):
    data = training_data(codebook)
    codes = list(codebook.theme_codes)
    stigma = codes.index("stigma")
    texts = {text: row for row, text in enumerate(data.texts)}
    # A counter-example of stigma teaches only that it is not stigma.
    counter = next(iter(next(t for t in codebook.themes if t.code == "stigma").counter_examples))
    row = texts[" ".join(counter.split())]
    assert data.teaches[row].tolist() == [column == stigma for column in range(len(codes))]
    assert data.themes[row].sum() == 0 and data.categories[row] is None
    # A category's example says nothing about themes.
    example = next(iter(codebook.categories.cues[0].examples))
    row = texts[" ".join(example.split())]
    assert not data.teaches[row].any() and data.categories[row] == codebook.categories.cues[0].code
    # A training segment teaches every theme and its category.
    segments = [row for row, category in enumerate(data.categories) if category is not None]
    assert sum(data.teaches[row].all() for row in segments) >= 1500
    rows, labels = data.for_theme(stigma)
    assert set(labels) == {0, 1} and len(rows) == int(data.teaches[:, stigma].sum())


def test_a_changed_training_set_needs_a_new_version(codebook, tmp_path):
    shutil.copytree(CODEBOOK_DIR, tmp_path / "codebook")
    copy = tmp_path / "codebook" / "training" / "workshop-minutes.yaml"
    assert load_codebook(tmp_path / "codebook" / "codebook-v3.yaml") == codebook
    copy.write_text(copy.read_text(encoding="utf-8") + "\n# one more line\n", encoding="utf-8")
    with pytest.raises(CodebookError, match=r"minutes\.yaml.*needs a new codebook version"):
        load_codebook(tmp_path / "codebook" / "codebook-v3.yaml")
    copy.unlink()
    with pytest.raises(CodebookError, match=r"workshop-minutes\.yaml.*cannot be read"):
        load_codebook(tmp_path / "codebook" / "codebook-v3.yaml")


@pytest.mark.parametrize("path", ["../raw/x.yaml", "/etc/passwd.yaml", "training/../x.yaml"])
def test_a_training_set_path_stays_beside_the_codebook(path):
    with pytest.raises(ValueError, match="path"):
        TrainingSet(path=path, sha256=hashlib.sha256(b"").hexdigest())


def test_every_pinned_training_set_matches_its_hash(codebook):
    for entry in codebook.semantic.training_sets:
        content = (CODEBOOK_DIR / entry.path).read_bytes()
        assert hashlib.sha256(content).hexdigest() == entry.sha256


def _word_pairs(text: str) -> set[tuple[str, str]]:
    words = re.findall(r"[a-z0-9']+", text.casefold())
    return set(itertools.pairwise(words))


def test_no_training_segment_copies_an_evaluation_segment(codebook):
    """The training sets were written without sight of tests/coder_eval; this holds them to
    it: no training text shares half its word pairs (Jaccard) with a labelled segment.
    (The closest pair, a request to send corrections to the notes, shares 0.47.)"""
    training = [
        text
        for entry in codebook.semantic.training_sets
        for text in load_eval_set(CODEBOOK_DIR / entry.path)["text"]
    ]
    assert len(training) == 1500
    pairs = [_word_pairs(text) for text in training]
    gold = load_eval_set()
    for segment_id, text in zip(gold["segment_id"], gold["text"], strict=True):
        own = _word_pairs(text)
        for other, words in zip(training, pairs, strict=True):
            overlap = len(own & words) / len(own | words) if own | words else 0.0
            assert overlap < 0.5, (segment_id, other)


@pytest.mark.parametrize("theme", sorted(CLEAR))
def test_a_clear_segment_gets_its_theme(coder, theme):
    (coding,) = coder.code(_segments([CLEAR[theme]]))
    assert theme in coding.themes
    assert max(coding.theme_scores, key=coding.theme_scores.get) == theme


def test_procedure_gets_no_theme_and_an_action_is_a_solution(coder):
    procedure, action = coder.code(
        _segments([PROCEDURE, "Book the community hall for the next two sessions."]).assign(
            is_action=[False, True]
        )
    )
    assert procedure.themes == ()
    assert (action.category, action.category_confidence) == ("solution", 1.0)


def test_the_survey_item_informs_the_category(coder):
    text = "Having a link worker who speaks Bengali at the surgery."
    changed, helps = coder.code(
        _segments([text, text], source_kind="survey", item_id=["what_changed", "what_would_help"])
    )
    assert changed.theme_scores != helps.theme_scores or changed.category != helps.category


def test_coding_is_deterministic_and_independent_of_batch(codebook, embedder, coder):
    segments = _segments([*CLEAR.values(), PROCEDURE])
    first = coder.code(segments)
    assert CombinedCoder(codebook, embedder).code(segments) == first
    assert coder.code(segments.iloc[::-1])[::-1] == first
    assert coder.code(segments.iloc[1:2]) == first[1:2]
    for coding in first:
        assert all(0.0 <= score <= 1.0 for score in coding.theme_scores.values())


def test_a_codebook_without_examples_is_refused(embedder):
    with pytest.raises(SemanticCodingError, match="v1 has no `semantic:` and `combined:`"):
        CombinedCoder(load_codebook(codebook_path("v1", CODEBOOK_DIR)), embedder)


def test_the_machine_publishes_the_combined_coding_and_keeps_every_coder(codebook, embedder):
    segments = _segments([*CLEAR.values(), PROCEDURE])
    machine = code_by_machine(segments, codebook, embedder)
    CodedSegments.validate(machine.segments)
    SegmentThemes.validate(machine.segment_themes)
    coders = {coder.partition(":")[0] for coder in machine.segment_codings["coder"]}
    assert coders == {RULES_CODER, "semantic-v2", CODER}
    published = machine.segment_themes
    assert set(published["coder"]) == {f"{CODER}:{embedder.name}"}
    assert published["codebook_version"].eq("v3").all()
    # The published rows are exactly the combined coder's rows in segment_codings.
    combined = machine.segment_codings[machine.segment_codings["coder"].str.startswith(CODER)]
    pd.testing.assert_frame_equal(combined.reset_index(drop=True), published.reset_index(drop=True))
    # A segment's category is one: the same in segments and in each of its theme rows.
    category = dict(zip(machine.segments["segment_id"], machine.segments["category"], strict=True))
    assert (published["category"] == published["segment_id"].map(category)).all()
    assert "seg-3" not in set(published["segment_id"])  # procedure gets no theme


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_a_codebook_before_v3_is_coded_by_rules_alone(embedder, version):
    """ARIADNE_CODEBOOK_VERSION may recode a round with an older codebook: v1 has no
    examples, v2 examples but no `combined:` settings; both publish the rule coder's."""
    older = load_codebook(codebook_path(version, CODEBOOK_DIR))
    machine = code_by_machine(_segments(list(CLEAR.values())), older, embedder)
    assert set(machine.segment_themes["coder"]) == {RULES_CODER}
    assert machine.segment_codings.equals(machine.segment_themes)


def test_confidence_is_the_combined_probability(codebook, embedder, coder):
    segments = _segments(list(CLEAR.values()))
    machine = code_by_machine(segments, codebook, embedder)
    scores = {
        (f"seg-{i}", theme): score
        for i, coding in enumerate(coder.code(segments))
        for theme, score in coding.theme_scores.items()
    }
    for row in machine.segment_themes.itertuples(index=False):
        assert np.isclose(row.confidence, scores[(row.segment_id, row.theme_code)])


def test_model_dir_is_a_resource_setting(tmp_path: Path):
    from pipelines.resources import EmbeddingModel

    assert EmbeddingModel(model_dir=str(tmp_path)).path == tmp_path
