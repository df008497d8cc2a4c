"""The held-out anonymiser corpus loads and is big and varied enough to report an honest figure.

This checks the corpus only. It never runs or scores the anonymiser: the held-out set is
scored once per release and never tuned on (tests/anonymiser_holdout/README.md).
"""

from __future__ import annotations

import collections
import re
from pathlib import Path

import pytest

from assets.anonymise.evaluation import (
    IDENTIFIER_TYPES,
    KEEP_CATEGORIES,
    ORIGINS,
    EvalDocument,
    GoldSpan,
    load_corpus,
)
from tests.corpus_checks import entity_texts, fold, nhs_check_digit_ok, phone_digits

HOLDOUT = Path("tests/anonymiser_holdout")
DEVELOPMENT = Path("tests/anonymiser_eval")
NHS_COMMENT = "# synthetic NHS numbers (test data)"


@pytest.fixture(scope="module")
def corpus() -> list[EvalDocument]:
    return load_corpus(HOLDOUT)


def _people(corpus: list[EvalDocument]) -> list[GoldSpan]:
    return [
        span for document in corpus for span in document.entities if span.entity_type == "person"
    ]


def _shape(value: str) -> str:
    """How a value is written, not what it says: '999 044 3483' and '999 753 8943' look alike."""
    return re.sub(r"[a-z]+", "a", re.sub(r"[A-Z]+", "A", re.sub(r"\d+", "9", value)))


def test_the_corpus_is_big_enough(corpus):
    assert len(corpus) >= 60
    assert sum(len(document.text) for document in corpus) >= 30_000
    assert {document.kind for document in corpus} == {"minutes", "survey_answer", "action_plan"}


def test_every_origin_has_at_least_twenty_five_mentions(corpus):
    counts = collections.Counter(span.origin for span in _people(corpus))
    assert {origin: counts[origin] for origin in ORIGINS if counts[origin] < 25} == {}


def test_at_least_two_in_five_mentions_are_of_people_not_on_the_roster(corpus):
    people = _people(corpus)
    off_roster = sum(not span.on_roster for span in people)
    assert off_roster / len(people) >= 0.40
    assert off_roster < len(people)


def test_every_identifier_kind_appears_at_least_fifteen_times_in_varied_forms(corpus):
    counts = {kind: len(entity_texts(corpus, kind)) for kind in IDENTIFIER_TYPES}
    assert {kind: count for kind, count in counts.items() if count < 15} == {}
    # Three written shapes at least, so a detector that knows one layout cannot pass.
    shapes = {
        kind: {_shape(value) for value in entity_texts(corpus, kind)} for kind in IDENTIFIER_TYPES
    }
    assert {kind: len(found) for kind, found in shapes.items() if len(found) < 3} == {}


def test_there_are_two_hundred_and_fifty_keep_terms_across_every_category(corpus):
    counts = collections.Counter(
        term.category for document in corpus for term in document.keep_terms
    )
    assert sum(counts.values()) >= 250
    assert set(counts) == set(KEEP_CATEGORIES)


def test_the_mod_11_check_itself():
    # 9,9,9,0,4,4,3,4,8 weighted 10..2 sum to 327; 327 mod 11 is 8; 11 - 8 = 3.
    assert nhs_check_digit_ok("9990443483")  # synthetic NHS number (test data)
    assert not nhs_check_digit_ok("9990443484")


def test_every_nhs_number_is_synthetic_and_passes_mod_11(corpus):
    values = entity_texts(corpus, "nhs_number")
    digits = [re.sub(r"[ -]", "", value) for value in values]
    assert [
        value
        for value, number in zip(values, digits, strict=True)
        if not (re.fullmatch(r"999\d{7}", number) and nhs_check_digit_ok(number))
    ] == []


def test_every_file_with_nhs_numbers_says_they_are_synthetic():
    for path in sorted(HOLDOUT.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        if "[[nhs_number:" in text:
            assert text.startswith(NHS_COMMENT), path.name


def test_every_phone_number_is_in_an_ofcom_drama_range(corpus):
    outside = [
        value
        for value in entity_texts(corpus, "phone")
        if not re.fullmatch(r"07700900\d{3}|01632960\d{3}|02079460\d{3}", phone_digits(value))
    ]
    assert outside == []


def test_every_email_is_at_an_example_domain(corpus):
    outside = [
        value
        for value in entity_texts(corpus, "email")
        if not re.fullmatch(r"[^@\s]+@example\.(org|com)", value, re.IGNORECASE)
    ]
    assert outside == []


def test_every_ni_number_has_a_valid_prefix(corpus):
    valid = re.compile(r"(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]?")
    values = entity_texts(corpus, "ni_number")
    assert [v for v in values if not valid.fullmatch(re.sub(r"\s", "", v).upper())] == []


def test_it_shares_no_document_or_roster_name_with_the_development_corpus(corpus):
    development = load_corpus(DEVELOPMENT)
    assert {d.id for d in corpus} & {d.id for d in development} == set()
    names = {fold(name) for d in corpus for name in d.roster.name}
    assert names & {fold(name) for d in development for name in d.roster.name} == set()
