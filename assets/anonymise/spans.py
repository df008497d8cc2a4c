"""Spans and the one rule that decides between overlapping ones.

Every recogniser (roster, NER, context rules, identifier patterns) only says where
personal data is. Choosing between overlapping findings happens once, here, before
Presidio's anonymizer rewrites the text, so adding a recogniser changes nothing else.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable

from schemas.contract import ROLES

# Identifiers win over names when spans overlap (an e-mail address often holds a
# name); between identifiers of the same length, the more specific kind comes first.
IDENTIFIER_KINDS = (
    "email",
    "nhs_number",
    "ni_number",
    "postcode",
    "phone",
    "street_address",
    "date_of_birth",
)
# Between names the longest wins ('Dr Helen Marsh' is not the attendee Helen Crossley);
# on a tie the roster's pseudonym wins over `[person]`.
NAME_KINDS = ("roster_name", "person")

# What the replacement step writes: existing placeholders and pseudonyms are never
# matched again, so anonymising twice changes nothing and the leak scan skips them.
PLACEHOLDER = re.compile(
    r"\[(?:person|email|phone|nhs-number|ni-number|postcode|address|date-of-birth|"
    rf"(?:{'|'.join(ROLES)})-[0-9a-f]{{6}})\]"
)


@dataclasses.dataclass(frozen=True, slots=True)
class Span:
    """Characters [start, end) of a text that hold personal data, and of which kind."""

    start: int
    end: int
    kind: str
    replacement: str = ""


def _rank(span: Span) -> tuple[int, ...]:
    if span.kind in IDENTIFIER_KINDS:
        return (0, span.start - span.end, IDENTIFIER_KINDS.index(span.kind), span.start)
    return (1, span.start - span.end, NAME_KINDS.index(span.kind), span.start)


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
