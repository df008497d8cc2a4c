"""The one replacement step: overlaps resolved once, for every recogniser there is or will be."""

from __future__ import annotations

from assets.anonymise.spans import Span, anonymise_text, select_spans


class Fixed:
    """A recogniser that finds what it is told to: stands in for any future one."""

    def __init__(self, *spans: Span) -> None:
        self._spans = list(spans)

    def find(self, text: str) -> list[Span]:
        return list(self._spans)


TEXT = "Call Amara Okafor on 07700 900123 today"


def test_replacements_keep_the_text_around_them():
    name = Span(5, 17, "roster_name", "[staff-0a1b2c]")
    phone = Span(21, 33, "phone", "[phone]")
    result = anonymise_text(TEXT, [Fixed(phone), Fixed(name)])
    assert result.text == "Call [staff-0a1b2c] on [phone] today"
    assert result.counts_by_kind == {"roster_name": 1, "phone": 1}


def test_the_longest_span_wins_among_names():
    first = Span(5, 10, "roster_name", "[carer-111111]")
    full = Span(5, 17, "roster_name", "[staff-222222]")
    assert select_spans(TEXT, [first, full]) == [full]


def test_an_identifier_wins_over_a_longer_name_span_and_covers_it_all():
    too_long_name = Span(5, 33, "person", "[person]")  # a future NER span over the number
    phone = Span(21, 33, "phone", "[phone]")
    assert select_spans(TEXT, [too_long_name, phone]) == [Span(5, 33, "phone", "[phone]")]


def test_a_span_bridging_two_winners_leaves_nothing_behind():
    name = Span(5, 10, "roster_name", "[staff-0a1b2c]")
    phone = Span(21, 33, "phone", "[phone]")
    bridge = Span(8, 25, "person", "[person]")
    result = anonymise_text(TEXT, [Fixed(name, phone, bridge)])
    assert result.text == "Call [phone] today"


def test_nothing_is_found_inside_placeholders_and_pseudonyms():
    text = "[carer-ab12ab] and [person] met"
    inside = Span(7, 13, "postcode", "[postcode]")
    assert select_spans(text, [inside]) == []
    assert anonymise_text(text, [Fixed(inside)]).text == text
