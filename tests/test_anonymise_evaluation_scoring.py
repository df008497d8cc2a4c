"""The evaluation corpus's parser and scoring, with hand-made detectors, and the corpus's minimums.

Not a test of the anonymiser: every detector here is a few lines whose right score can be
worked out by hand, so a wrong number is the scoring's fault.
"""

from __future__ import annotations

import collections
import re
from pathlib import Path

import pytest

from assets.anonymise.evaluation import (
    IDENTIFIER_TYPES,
    KEEP_CATEGORIES,
    NOT_ON_ROSTER,
    ON_ROSTER,
    ORIGINS,
    CorpusError,
    EvalDocument,
    GoldSpan,
    KeepTerm,
    Rate,
    evaluate,
    format_misses,
    format_report,
    load_corpus,
    parse_document,
    parse_markup,
)
from tests.corpus_checks import entity_texts, fold, nhs_check_digit_ok, phone_digits

CORPUS = Path(__file__).parent / "anonymiser_eval"
NHS_COMMENT = "# synthetic NHS numbers (test data)"


def _document(text: str, doc_id: str = "doc") -> EvalDocument:
    return parse_document({"id": doc_id, "kind": "minutes", "text": text})


# --- parser -----------------------------------------------------------------------------------


def test_markup_becomes_plain_text_with_exact_offsets():
    text, entities, keep_terms = parse_markup(
        "Call [[person/west_african:Amara Okafor]] on [[phone:07700 900123]]"
        " at {{place_of_worship:the mosque}}."
    )
    assert text == "Call Amara Okafor on 07700 900123 at the mosque."
    # "Call " is 5 characters, the name 12, " on " 4, the number 12, " at " 4, the term 10.
    assert entities == [
        GoldSpan(5, 17, "person", "west_african"),
        GoldSpan(21, 33, "phone"),
    ]
    assert keep_terms == [KeepTerm(37, 47, "place_of_worship")]
    assert text[5:17] == "Amara Okafor"
    assert text[21:33] == "07700 900123"
    assert text[37:47] == "the mosque"


def test_offsets_count_code_points_and_a_name_may_cross_a_line_break():
    text, entities, _ = parse_markup("Ask [[person/white_british:Zoë\nPemberton]]'s team")
    assert text == "Ask Zoë\nPemberton's team"
    assert entities == [GoldSpan(4, 17, "person", "white_british")]


def test_text_without_markup_is_unchanged():
    assert parse_markup("The workshop on 12 March 2024.") == (
        "The workshop on 12 March 2024.",
        [],
        [],
    )


@pytest.mark.parametrize(
    ("marked", "complaint"),
    [
        ("[[person/welsh:Gareth]] said", "origin"),
        ("[[person:Gareth]] said", "origin"),
        ("call [[passport:123456789]]", "unknown entity"),
        ("call [[phone/irish:07700 900123]]", "unknown entity"),
        ("the {{food:jollof}} was good", "unknown keep category"),
        ("mail [[email:]] today", "empty value"),
        ("mail [[email: a@example.org]] today", "whitespace"),
        ("[[person/irish:Sean said hello", "unbalanced"),
        ("Sean]] said hello", "unbalanced"),
        ("the {{area:Foleshill ward", "unbalanced"),
        ("[[person/irish:Sean [[email:a@example.org]] x]]", "inside"),
        ("[[Sean]]", "':'"),
    ],
)
def test_bad_markup_is_refused(marked, complaint):
    with pytest.raises(CorpusError, match=re.escape(complaint)):
        parse_markup(marked)


def test_load_corpus_reads_rosters_and_works_out_who_is_on_them(tmp_path):
    (tmp_path / "a.yaml").write_text(
        """
- id: one
  kind: survey_answer
  site: east-london
  roster:
    - {name: Zoë Pemberton, role: staff, initials: ZP}
    - {name: Ewa Nowak-Kowalska, role: carer}
  text: "[[person/white_british:Zoe]] and [[person/white_british:ZP]] met
    [[person/east_european:ewa nowak kowalska]], her son [[person/east_european:Kuba Nowak]]
    and Father [[person/irish:Byrne]]."
- id: two
  kind: action_plan
  text: "[[person/white_british:H. Pemberton]]"
""",
        encoding="utf-8",
    )
    one, two = load_corpus(tmp_path)
    assert (one.id, one.kind, one.site_id) == ("one", "survey_answer", "east-london")
    assert list(one.roster.columns) == ["round_id", "site_id", "name", "role", "initials"]
    assert one.roster.to_dict("records") == [
        {
            "round_id": "eval",
            "site_id": "east-london",
            "name": "Zoë Pemberton",
            "role": "staff",
            "initials": "ZP",
        },
        {
            "round_id": "eval",
            "site_id": "east-london",
            "name": "Ewa Nowak-Kowalska",
            "role": "carer",
            "initials": None,
        },
    ]
    assert [span.on_roster for span in one.entities] == [True, True, True, False, False]
    assert [one.text[span.start : span.end] for span in one.entities] == [
        "Zoe",
        "ZP",
        "ewa nowak kowalska",
        "Kuba Nowak",
        "Byrne",
    ]
    assert two.site_id == "eval"
    assert two.roster.empty
    assert list(two.roster.columns) == ["round_id", "site_id", "name", "role", "initials"]
    assert two.entities[0].on_roster is False


@pytest.mark.parametrize(
    ("document", "complaint"),
    [
        ("{id: doc-two, kind: minutes, text: '[[person/welsh:Gareth]]'}", "origin"),
        ("{id: doc-two, kind: notes, text: hello}", "kind"),
        ("{id: doc-two, kind: minutes, roster: [{name: A B, role: nurse}], text: hi}", "role"),
        ("{id: doc-two, kind: minutes, speaker: x, text: hi}", "unknown fields"),
        ("{id: doc-two, kind: minutes, text: ''}", "text"),
        ("{id: doc-two, kind: minutes, roster: [{name: ' - ', role: staff}], text: hi}", "no name"),
    ],
)
def test_a_bad_document_is_reported_with_its_file_and_id(tmp_path, document, complaint):
    (tmp_path / "bad.yaml").write_text(
        f"- {{id: doc-one, kind: minutes, text: fine}}\n- {document}\n", encoding="utf-8"
    )
    with pytest.raises(CorpusError, match=r"bad\.yaml") as caught:
        load_corpus(tmp_path)
    assert "'doc-two'" in str(caught.value)
    assert complaint in str(caught.value)


def test_a_document_without_a_usable_id_is_reported_by_its_place(tmp_path):
    (tmp_path / "bad.yaml").write_text(
        "- {id: doc-one, kind: minutes, text: fine}\n- {kind: minutes, text: hi}\n",
        encoding="utf-8",
    )
    with pytest.raises(CorpusError, match=r"bad\.yaml: document number 2: id must be a"):
        load_corpus(tmp_path)


def test_a_document_id_is_used_once_across_files(tmp_path):
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text("- {id: same, kind: minutes, text: hi}\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"b\.yaml: document 'same': id already used in a\.yaml"):
        load_corpus(tmp_path)


# --- scoring ----------------------------------------------------------------------------------

# "Harjit Dhaliwal rang 07700 900123 about the gurdwara." (53 characters): the name is 0-15,
# the phone 21-33, "gurdwara" 44-52. "Siobhan met Mind in Foleshill." (30 characters):
# "Siobhan" is 0-7, "Mind" 12-16, "Foleshill" 20-29.
FIRST = (
    "[[person/south_asian:Harjit Dhaliwal]] rang [[phone:07700 900123]]"
    " about the {{place_of_worship:gurdwara}}."
)
SECOND = "[[person/irish:Siobhan]] met {{organisation:Mind}} in {{area:Foleshill}}."


@pytest.fixture
def documents() -> list[EvalDocument]:
    return [_document(FIRST, doc_id="first"), _document(SECOND, doc_id="second")]


def _gold(document: EvalDocument) -> list[tuple[int, int, str]]:
    return [(span.start, span.end, span.entity_type) for span in document.entities]


def test_the_fixture_offsets_are_the_ones_reasoned_out(documents):
    first, second = documents
    assert _gold(first) == [(0, 15, "person"), (21, 33, "phone")]
    assert first.text[44:52] == "gurdwara"
    assert _gold(second) == [(0, 7, "person")]
    assert (second.text[12:16], second.text[20:29]) == ("Mind", "Foleshill")


def test_a_detector_that_finds_nothing_removes_nothing_and_keeps_everything(documents):
    report = evaluate(documents, lambda document: [])
    assert report.recall["person"] == Rate(0, 2)
    assert report.recall["phone"] == Rate(0, 1)
    assert report.recall["email"] == Rate(0, 0)
    assert report.recall["email"].value is None
    assert report.overall_recall == Rate(0, 3)
    assert report.overall_precision == Rate(0, 0)
    assert report.recall_by_origin["south_asian"] == Rate(0, 1)
    assert report.recall_by_roster == {ON_ROSTER: Rate(0, 0), NOT_ON_ROSTER: Rate(0, 2)}
    assert report.overall_kept == Rate(3, 3)
    assert [(miss.kind, miss.text) for miss in report.misses] == [
        ("leak", "Harjit Dhaliwal"),
        ("leak", "07700 900123"),
        ("leak", "Siobhan"),
    ]


def test_a_detector_that_finds_exactly_the_gold_scores_full_marks(documents):
    report = evaluate(documents, _gold)
    assert report.overall_recall == Rate(3, 3)
    assert report.precision["person"] == Rate(2, 2)
    assert report.precision["phone"] == Rate(1, 1)
    assert report.overall_precision.value == 1.0
    assert report.recall_by_origin["irish"] == Rate(1, 1)
    assert report.overall_kept == Rate(3, 3)
    assert report.misses == ()
    assert (report.documents, report.characters) == (2, 53 + 30)


def test_half_a_name_is_a_leak_but_not_a_false_positive(documents):
    def first_names_only(document: EvalDocument) -> list[tuple[int, int, str]]:
        if document.id == "first":
            return [(0, 6, "person"), (21, 33, "phone")]  # "Harjit" only
        return [(0, 7, "person")]

    report = evaluate(documents, first_names_only)
    assert report.recall["person"] == Rate(1, 2)
    assert report.recall["person"].value == 0.5
    assert report.recall["phone"] == Rate(1, 1)
    assert report.precision["person"] == Rate(2, 2)
    assert report.recall_by_origin["south_asian"] == Rate(0, 1)
    assert report.recall_by_origin["irish"] == Rate(1, 1)
    assert [
        (miss.document_id, miss.kind, miss.label, miss.start, miss.end) for miss in report.misses
    ] == [("first", "leak", "person/south_asian", 0, 15)]


def test_a_name_removed_under_another_type_counts_as_removed(documents):
    report = evaluate(documents[1:], lambda document: [(0, 7, "street_address")])
    assert report.recall["person"] == Rate(1, 1)
    assert report.precision["street_address"] == Rate(1, 1)
    assert report.precision["person"] == Rate(0, 0)


def test_a_span_over_a_keep_term_is_a_false_positive_and_a_lost_term(documents):
    # "Foleshill" (20-29) taken for a person, and the name with the word after it.
    report = evaluate(documents[1:], lambda document: [(20, 29, "person"), (0, 11, "person")])
    assert report.precision["person"] == Rate(1, 2)
    assert report.recall["person"] == Rate(1, 1)
    assert report.kept["area"] == Rate(0, 1)
    assert report.kept["organisation"] == Rate(1, 1)
    assert report.overall_kept == Rate(1, 2)
    assert {(miss.kind, miss.label, miss.text) for miss in report.misses} == {
        ("false_positive", "person", "Foleshill"),
        ("removed_keep_term", "area", "Foleshill"),
    }


def test_a_span_that_only_touches_a_term_or_a_name_overlaps_neither(documents):
    # " in " (16-20) ends where "Foleshill" starts and starts where "Mind" ends;
    # " met" (7-11) starts where "Siobhan" ends.
    report = evaluate(documents[1:], lambda document: [(16, 20, "person"), (7, 11, "phone")])
    assert report.overall_kept == Rate(2, 2)
    assert report.precision["person"] == Rate(0, 1)
    assert report.precision["phone"] == Rate(0, 1)
    assert report.recall["person"] == Rate(0, 1)


def test_whitespace_inside_a_name_need_not_be_covered():
    document = _document("[[person/white_british:Grace\nHollis]] is 78")
    report = evaluate([document], lambda document: [(0, 5, "person"), (6, 12, "person")])
    assert report.recall["person"] == Rate(1, 1)
    assert report.precision["person"] == Rate(2, 2)


def test_the_same_prediction_twice_counts_once(documents):
    report = evaluate(documents[1:], lambda document: [(0, 7, "person"), (0, 7, "person")])
    assert report.precision["person"] == Rate(1, 1)


@pytest.mark.parametrize(
    "prediction",
    [(0, 7, "roster_name"), (0, 99, "person"), (5, 5, "person"), (-1, 3, "person"), (0, 7)],
)
def test_a_detector_bug_is_an_error_not_a_score(documents, prediction):
    with pytest.raises(ValueError, match="'second'"):
        evaluate(documents[1:], lambda document: [prediction])


def test_the_report_prints_rates_and_counts_but_never_the_text(documents):
    def first_names_only(document: EvalDocument) -> list[tuple[int, int, str]]:
        return [(0, 6, "person")] if document.id == "first" else [(0, 7, "person")]

    printed = format_report(evaluate(documents, first_names_only))
    assert "2 documents" in printed
    person = next(line for line in printed.splitlines() if line.split()[:1] == ["person"])
    assert person.split() == ["person", "2", "1", "50.0%", "2", "2", "100.0%"]
    phone = next(line for line in printed.splitlines() if line.split()[:1] == ["phone"])
    assert phone.split() == ["phone", "1", "0", "0.0%", "0", "0", "-"]
    for origin in ORIGINS:
        assert origin in printed
    for category in KEEP_CATEGORIES:
        assert category in printed
    for written in ("Harjit", "Siobhan", "07700", "gurdwara", "Foleshill"):
        assert written not in printed


def test_the_misses_listing_names_document_offsets_and_text(documents):
    listing = format_misses(evaluate(documents, lambda document: []))
    assert listing.splitlines()[0] == "first\tleak\tperson/south_asian\t0-15\t'Harjit Dhaliwal'"


# --- the corpus -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus() -> list[EvalDocument]:
    return load_corpus(CORPUS)


def _people(corpus: list[EvalDocument]) -> list[tuple[EvalDocument, GoldSpan]]:
    return [
        (document, span)
        for document in corpus
        for span in document.entities
        if span.entity_type == "person"
    ]


def test_the_corpus_is_big_enough(corpus):
    assert len(corpus) >= 80
    assert sum(len(document.text) for document in corpus) >= 40_000
    assert {document.kind for document in corpus} == {"minutes", "survey_answer", "action_plan"}


def test_every_origin_has_at_least_forty_mentions(corpus):
    counts = collections.Counter(span.origin for _, span in _people(corpus))
    assert {origin: counts[origin] for origin in ORIGINS if counts[origin] < 40} == {}


def test_at_least_two_in_five_mentions_are_of_people_not_on_the_roster(corpus):
    people = _people(corpus)
    off_roster = sum(not span.on_roster for _, span in people)
    assert off_roster / len(people) >= 0.40
    assert off_roster < len(people)


def test_every_identifier_kind_appears_at_least_twenty_five_times(corpus):
    counts = {
        entity_type: len(entity_texts(corpus, entity_type)) for entity_type in IDENTIFIER_TYPES
    }
    assert {kind: count for kind, count in counts.items() if count < 25} == {}


def test_there_are_four_hundred_keep_terms_in_every_category(corpus):
    counts = collections.Counter(
        term.category for document in corpus for term in document.keep_terms
    )
    assert sum(counts.values()) >= 400
    assert set(counts) == set(KEEP_CATEGORIES)


def test_the_mod_11_check_itself():
    # 9,9,9,1,5,9,0,1,3 weighted 10..2 sum to 334; 334 mod 11 is 4; 11 - 4 = 7.
    assert nhs_check_digit_ok("9991590137")  # synthetic NHS number (test data)
    assert not nhs_check_digit_ok("9991590136")
    # 9,9,9 weighted 10, 9, 8 sum to 243; 243 mod 11 is 1; 11 - 1 = 10: never issued.
    assert not nhs_check_digit_ok("9990000000")


def test_every_nhs_number_passes_mod_11_in_every_written_form(corpus):
    values = entity_texts(corpus, "nhs_number")
    digits = [re.sub(r"[ -]", "", value) for value in values]
    assert all(re.fullmatch(r"\d{10}", number) for number in digits)
    assert [
        value
        for value, number in zip(values, digits, strict=True)
        if not nhs_check_digit_ok(number)
    ] == []
    assert any(re.fullmatch(r"\d{3} \d{3} \d{4}", value) for value in values)
    assert any(re.fullmatch(r"\d{3}-\d{3}-\d{4}", value) for value in values)
    assert any(re.fullmatch(r"\d{10}", value) for value in values)


def test_every_file_with_nhs_numbers_says_they_are_synthetic():
    for path in sorted(CORPUS.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        if "[[nhs_number:" in text:
            assert text.startswith(NHS_COMMENT), path.name


def test_every_phone_number_is_in_an_ofcom_drama_range(corpus):
    values = entity_texts(corpus, "phone")
    outside = [
        value
        for value in values
        if not re.fullmatch(r"07700900\d{3}|01632960\d{3}|02079460\d{3}", phone_digits(value))
    ]
    assert outside == []
    written = {
        "07700 900xxx": r"07700 900\d{3}",
        "no spaces": r"07700900\d{3}",
        "+44 7700": r"\+44 7700 ?900 ?\d{3}",
        "+44 (0)": r"\+44 \(0\).*",
        "0044": r"0044 .*",
        "01632": r"01632 960 ?\d{3}",
        "(01632)": r"\(01632\) 960 ?\d{3}",
        "020 7946": r"020 7946 0\d{3}",
        "02079460": r"02079460\d{3}",
    }
    assert [
        form
        for form, pattern in written.items()
        if not any(re.fullmatch(pattern, v) for v in values)
    ] == []


def test_every_email_is_at_an_example_domain(corpus):
    values = entity_texts(corpus, "email")
    assert [
        v for v in values if not re.fullmatch(r"[^@\s]+@example\.(org|com)", v, re.IGNORECASE)
    ] == []


def test_every_ni_number_has_a_valid_prefix(corpus):
    values = entity_texts(corpus, "ni_number")
    compact = [re.sub(r"\s", "", value).upper() for value in values]
    valid = re.compile(r"(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]?")
    assert [v for v, c in zip(values, compact, strict=True) if not valid.fullmatch(c)] == []
    assert any(" " in value for value in values)
    assert any(" " not in value for value in values)
    assert any(re.fullmatch(r"[A-Z]{2}\d{6}", c) for c in compact)  # without the suffix


def test_postcodes_come_in_all_six_formats_with_and_without_the_space_in_both_cases(corpus):
    values = entity_texts(corpus, "postcode")
    formats = {
        "A9 9AA": r"[A-Z]\d",
        "A99 9AA": r"[A-Z]\d\d",
        "A9A 9AA": r"[A-Z]\d[A-Z]",
        "AA9 9AA": r"[A-Z]{2}\d",
        "AA99 9AA": r"[A-Z]{2}\d\d",
        "AA9A 9AA": r"[A-Z]{2}\d[A-Z]",
    }
    found = {
        name
        for value in values
        for name, outward in formats.items()
        if re.fullmatch(outward + r" ?\d[A-Z]{2}", value.upper())
    }
    assert found == set(formats)
    unknown = [
        value
        for value in values
        if not any(
            re.fullmatch(outward + r" ?\d[A-Z]{2}", value.upper()) for outward in formats.values()
        )
    ]
    assert unknown == []
    assert any(" " not in value for value in values)
    assert any(value.islower() for value in values)
    assert any(value.isupper() for value in values)


def test_dates_of_birth_are_written_in_numeric_iso_and_worded_forms(corpus):
    values = entity_texts(corpus, "date_of_birth")
    assert any(re.fullmatch(r"\d{1,2}/\d{1,2}/\d{2,4}", value) for value in values)
    assert any(re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) for value in values)
    assert any(re.search(r"[A-Za-z]", value) for value in values)


def test_names_are_written_in_every_form_the_brief_asks_for(corpus):
    people = _people(corpus)
    written = [(document, document.text[span.start : span.end], span) for document, span in people]
    assert any("\n" in name for _, name, _ in written), "split across a line break"
    assert any(name.islower() for _, name, _ in written), "lower case"
    assert any(document.text[span.end : span.end + 2] == "'s" for document, _, span in written)
    assert any(re.fullmatch(r"[A-Z]{2,3}", name) and span.on_roster for _, name, span in written)
    rosters = [
        (name, set(document.roster.name)) for document, name, span in written if span.on_roster
    ]
    assert any(
        name.isascii() and any(not r.isascii() and fold(name) in fold(r) for r in roster)
        for name, roster in rosters
    ), "written without the roster's diacritics"
    assert any(
        not name.isascii() and any(r.isascii() and fold(name) in fold(r) for r in roster)
        for name, roster in rosters
    ), "written with diacritics the roster lacks"
    assert any(
        "-" not in name
        and any(
            "-" in r and fold(name) in (fold(r).replace("-", " "), fold(r).replace("-", ""))
            for r in roster
        )
        for name, roster in rosters
    ), "a hyphenated name written without its hyphen"


def test_person_spans_leave_titles_outside(corpus):
    titles = (
        r"(dr|mr|mrs|ms|miss|prof|professor|pastor|imam|father|sister|bishop|sheikh|maulana"
        r"|reverend)"
    )
    inside = [
        document.text[span.start : span.end]
        for document, span in _people(corpus)
        if re.match(titles + r"\.?\s", document.text[span.start : span.end], re.IGNORECASE)
    ]
    assert inside == []


def test_traps_are_left_in_the_text_unmarked(corpus):
    outside = []
    for document in corpus:
        spans = [*document.entities, *document.keep_terms]
        for match in re.finditer(r"\b(will|Will|May|grace|patience)\b", document.text):
            if not any(span.start <= match.start() < span.end for span in spans):
                outside.append(match.group(0))
    assert {"will", "Will", "May", "grace", "patience"} <= set(outside)
