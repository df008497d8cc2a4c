"""Spans, recognisers and the one replacement step every recogniser feeds.

Each recogniser only says where personal data is (`Span`s). Choosing between
overlapping spans and rewriting the text happen once, here, so a new recogniser
(Presidio, spaCy NER) is one more object in the list and nothing else changes.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Protocol

from schemas.contract import ROLES

# Identifiers win over names when spans overlap (an e-mail address often holds a
# name); between identifiers of the same length, the more specific kind comes first.
IDENTIFIER_KINDS = ("email", "nhs_number", "ni_number", "postcode", "phone")

# What the replacement step writes: existing placeholders and pseudonyms are never
# matched again, so anonymising twice changes nothing and the leak scan skips them.
PLACEHOLDER = re.compile(
    r"\[(?:person|email|phone|nhs-number|ni-number|postcode|"
    rf"(?:{'|'.join(ROLES)})-[0-9a-f]{{6}})\]"
)


@dataclasses.dataclass(frozen=True, slots=True)
class Span:
    """Characters [start, end) of a text that hold personal data, and what replaces them."""

    start: int
    end: int
    kind: str
    replacement: str


class Recogniser(Protocol):
    """Anything that finds personal data in a text."""

    def find(self, text: str) -> list[Span]: ...


@dataclasses.dataclass(frozen=True)
class AnonymisedText:
    text: str
    counts_by_kind: dict[str, int]


def _rank(span: Span) -> tuple[int, int, int, int]:
    identifier = span.kind in IDENTIFIER_KINDS
    kind_order = IDENTIFIER_KINDS.index(span.kind) if identifier else len(IDENTIFIER_KINDS)
    return (0 if identifier else 1, span.start - span.end, kind_order, span.start)


def select_spans(text: str, spans: Iterable[Span]) -> list[Span]:
    """The spans to replace, in text order: no overlaps, nothing inside a placeholder.

    Identifiers come before names; within each, the longest span wins, then the
    more specific kind, then the earlier one. A losing span never leaves a piece of
    itself behind: where it reaches past the winner, the winner is widened to cover
    it (a name recogniser's span over a phone number becomes one `[phone]`).
    """
    placeholders = [(match.start(), match.end()) for match in PLACEHOLDER.finditer(text)]
    chosen: list[Span] = []
    for span in sorted(spans, key=_rank):
        if span.start >= span.end:
            continue
        if any(span.start < end and start < span.end for start, end in placeholders):
            continue
        overlapping = [i for i, c in enumerate(chosen) if span.start < c.end and c.start < span.end]
        if not overlapping:
            chosen.append(span)
            continue
        # `chosen` is in rank order, so the first span it overlaps is the winner.
        winner = overlapping[0]
        chosen[winner] = dataclasses.replace(
            chosen[winner],
            start=min(span.start, *(chosen[i].start for i in overlapping)),
            end=max(span.end, *(chosen[i].end for i in overlapping)),
        )
        for i in reversed(overlapping[1:]):
            del chosen[i]
    chosen.sort(key=lambda span: span.start)
    return chosen


def find_spans(text: str, recognisers: Sequence[Recogniser]) -> list[Span]:
    """Every recogniser's spans, resolved by `select_spans`."""
    return select_spans(
        text, [span for recogniser in recognisers for span in recogniser.find(text)]
    )


def anonymise_text(text: str, recognisers: Sequence[Recogniser]) -> AnonymisedText:
    """Replace what the recognisers find; counts by kind say how much, never what."""
    spans = find_spans(text, recognisers)
    if not spans:
        return AnonymisedText(text, {})
    pieces: list[str] = []
    position = 0
    for span in spans:
        pieces.append(text[position : span.start])
        pieces.append(span.replacement)
        position = span.end
    pieces.append(text[position:])
    return AnonymisedText("".join(pieces), dict(Counter(span.kind for span in spans)))
