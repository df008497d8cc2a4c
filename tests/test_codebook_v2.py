"""Codebook v2: v1 kept whole, plus the example sentences the semantic coder learns from."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assets.code.coder import code_segments
from schemas.codebook import (
    CODEBOOK_DIR,
    Codebook,
    CodebookError,
    codebook_path,
    load_codebook,
)
from tests.test_code_codebook import minimal_codebook, write
from tests.test_code_coder import FOUND, segments_frame

NEW_FIELDS = {"examples", "counter_examples"}


@pytest.fixture(scope="module")
def v1() -> Codebook:
    return load_codebook(codebook_path("v1", CODEBOOK_DIR))


@pytest.fixture(scope="module")
def v2() -> Codebook:
    return load_codebook(codebook_path("v2", CODEBOOK_DIR))


def test_both_versions_load(v1, v2):
    assert (v1.version, v2.version) == ("v1", "v2")
    assert v1.semantic is None
    assert v2.semantic is not None


def test_v2_keeps_every_v1_theme_sub_code_and_rule_unchanged(v1, v2):
    assert v2.theme_codes[: len(v1.theme_codes)] == v1.theme_codes
    assert v2.min_score == v1.min_score
    themes = {theme.code: theme for theme in v2.themes}
    for old in v1.themes:
        new = themes[old.code]
        assert new.model_dump(exclude=NEW_FIELDS | {"sub_codes"}) == old.model_dump(
            exclude=NEW_FIELDS | {"sub_codes"}
        )
        assert [sub.code for sub in new.sub_codes] == [sub.code for sub in old.sub_codes]
        for old_sub, new_sub in zip(old.sub_codes, new.sub_codes, strict=True):
            assert new_sub.model_dump(exclude=NEW_FIELDS) == old_sub.model_dump(exclude=NEW_FIELDS)
    old_categories = v1.categories.model_dump(exclude={"cues": {"__all__": {"examples"}}})
    new_categories = v2.categories.model_dump(exclude={"cues": {"__all__": {"examples"}}})
    assert new_categories == old_categories


def test_rule_coding_is_the_same_under_v1_and_v2(v1, v2):
    texts = [text for sentences in FOUND.values() for text in sentences]
    frame = segments_frame(texts)
    old, new = code_segments(frame, v1), code_segments(frame, v2)
    columns = ["segment_id", "theme_code", "category", "coder", "confidence"]
    assert new.segment_themes[columns].equals(old.segment_themes[columns])
    assert new.segments["category"].equals(old.segments["category"])
    assert set(new.segment_themes["codebook_version"]) == {"v2"}
    assert len(new.segment_themes) >= len(texts)


def test_every_theme_and_sub_code_has_examples_and_counter_examples(v2):
    entries = [*v2.themes, *(sub for theme in v2.themes for sub in theme.sub_codes)]
    assert len(entries) == 15
    for entry in entries:
        assert len(set(entry.examples)) >= 8, entry.code
        assert len(set(entry.counter_examples)) >= 4, entry.code
    for cues in v2.categories.cues:
        assert len(set(cues.examples)) >= 10, cues.code
    assert len(v2.semantic.neutral_examples) >= 8


def _sentences(codebook: Codebook) -> list[str]:
    sentences = list(codebook.semantic.neutral_examples)
    for theme in codebook.themes:
        sentences += [*theme.examples, *theme.counter_examples]
        for sub in theme.sub_codes:
            sentences += [*sub.examples, *sub.counter_examples]
    for cues in codebook.categories.cues:
        sentences += cues.examples
    return sentences


def test_no_sentence_is_written_twice(v2):
    """A sentence given twice would count twice in training, or teach two answers."""
    folded = [" ".join(text.casefold().split()) for text in _sentences(v2)]
    assert len(folded) == len(set(folded))


def test_examples_carry_no_placeholder_or_identifier(v2):
    """Codebook sentences are made up and written as people speak: no pseudonym or
    placeholder (the coder neutralises those), no phone number, no e-mail address."""
    for sentence in _sentences(v2):
        assert not re.search(r"\[[^\]]*\]|@|\d{5,}", sentence), sentence


def semantic_codebook(**changes) -> dict:
    document = minimal_codebook("v7")
    for theme in document["themes"]:
        theme["examples"] = [f"{theme['code']} sentence one", f"{theme['code']} sentence two"]
        theme["counter_examples"] = [f"not {theme['code']}"]
    for cues in document["categories"]["cues"]:
        cues["examples"] = [f"a {cues['code']} sentence"]
    document["semantic"] = {"theme_threshold": 0.5, **changes}
    return document


def test_a_minimal_semantic_codebook_loads(tmp_path: Path):
    codebook = load_codebook(write(tmp_path, semantic_codebook(thresholds={"stigma": 0.7})))
    assert codebook.semantic.thresholds == {"stigma": 0.7}
    assert codebook.semantic.category_threshold == 0.5


def test_semantic_settings_need_examples_for_every_code(tmp_path: Path):
    document = semantic_codebook()
    document["themes"][3]["examples"] = []
    document["categories"]["cues"][1]["examples"] = []
    with pytest.raises(CodebookError) as error:
        load_codebook(write(tmp_path, document))
    message = str(error.value)
    assert "themes.stigma.examples: semantic coding needs examples" in message
    assert "categories.barrier.examples: semantic coding needs examples" in message


def test_a_sentence_cannot_be_example_and_counter_example(tmp_path: Path):
    document = semantic_codebook()
    document["themes"][0]["counter_examples"] = ["  MINORITISED-CONCEPT sentence one "]
    with pytest.raises(CodebookError, match=r"minoritised-concept: 1 sentence.*both"):
        load_codebook(write(tmp_path, document))


def test_thresholds_name_known_codes_between_zero_and_one(tmp_path: Path):
    document = semantic_codebook(thresholds={"stigma/unknown": 0.5, "stigma": 1.5})
    with pytest.raises(CodebookError) as error:
        load_codebook(write(tmp_path, document))
    assert "semantic.thresholds.stigma/unknown: not a theme or sub-code" in str(error.value)
    assert "semantic.thresholds.stigma: 1.5 is not between 0 and 1" in str(error.value)


def test_unknown_semantic_settings_are_rejected(tmp_path: Path):
    with pytest.raises(CodebookError, match=r"semantic\.threshold"):
        load_codebook(write(tmp_path, semantic_codebook(threshold=0.4)))
