"""Overlaps resolved once, for every recogniser, before Presidio's anonymizer replaces."""

from __future__ import annotations

from assets.anonymise.engine import Anonymiser
from assets.anonymise.spans import Span, select_spans


def replaced(text: str, *spans: Span) -> str:
    """The text after selection and replacement: people as `[person]`, identifiers typed."""
    return Anonymiser().replace(text, select_spans(text, spans)).text


TEXT = "Call Amara Okafor on 07700 900123 today"


def test_replacements_keep_the_text_around_them():
    name = Span(5, 17, "person")
    phone = Span(21, 33, "phone")
    result = Anonymiser().replace(TEXT, select_spans(TEXT, [phone, name]))
    assert result.text == "Call [person] on [phone] today"
    assert result.counts_by_kind == {"person": 1, "phone": 1}


def test_the_longest_span_wins_among_names():
    first = Span(5, 10, "roster_name")
    full = Span(5, 17, "roster_name")
    assert select_spans(TEXT, [first, full]) == [full]


def test_an_identifier_wins_over_a_longer_name_span_and_covers_it_all():
    too_long_name = Span(5, 33, "person")  # an NER span over the number
    phone = Span(21, 33, "phone")
    assert select_spans(TEXT, [too_long_name, phone]) == [Span(5, 33, "phone")]


def test_a_span_bridging_two_winners_leaves_nothing_behind():
    name = Span(5, 10, "roster_name")
    phone = Span(21, 33, "phone")
    bridge = Span(8, 25, "person")
    assert replaced(TEXT, name, phone, bridge) == "Call [phone] today"


def test_nothing_is_found_inside_placeholders_and_pseudonyms():
    text = "[carer-ab12ab] and [person] met"
    inside = Span(7, 13, "postcode")
    assert select_spans(text, [inside]) == []
    assert replaced(text, inside) == text


def test_a_longer_name_from_the_model_is_someone_else_and_a_tie_is_the_roster():
    roster_part = Span(5, 10, "roster_name")  # 'Amara' of another attendee
    model_name = Span(5, 17, "person")  # 'Amara Okafor', on no roster
    assert select_spans(TEXT, [roster_part, model_name]) == [model_name]
    same = Span(5, 17, "roster_name")
    assert select_spans(TEXT, [model_name, same]) == [same]
