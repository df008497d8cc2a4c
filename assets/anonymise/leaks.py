"""The gate: what in anonymised text still looks like personal data, counted by type.

It runs the anonymiser's pattern recognisers (identifiers, the roster, and the names
the NER and the context rules found anywhere in the round), so correctly anonymised
text scores zero, skipping the placeholders and pseudonyms the anonymiser wrote. It
needs no model and no key. It returns counts only: the text it found is never
returned, logged or put in an exception.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
from presidio_analyzer import EntityRecognizer

from assets.anonymise.engine import pattern_spans
from assets.anonymise.identifiers import identifier_recognisers
from assets.anonymise.names import KnownNamesRecognizer, RosterRecognizer
from assets.anonymise.roster import Roster, RosterRecogniser, as_roster

LEAK_TYPES = (
    "roster_name",
    "round_name",
    "email",
    "phone",
    "nhs_number",
    "ni_number",
    "postcode",
    "street_address",
    "date_of_birth",
)


def scan_for_leaks(
    texts: Iterable[str | None],
    roster: Roster | pd.DataFrame,
    round_names: Iterable[str] = (),
) -> dict[str, int]:
    """Count, by type, the names and identifiers left in `texts`; all types present.

    `round_names` are the names found at any site of the round; they count as
    `round_name`. Missing values (None, NaN) are skipped.
    """
    recognisers: list[EntityRecognizer] = [
        *identifier_recognisers(),
        RosterRecognizer(RosterRecogniser.for_scan(as_roster(roster))),
        *KnownNamesRecognizer.of(round_names),
    ]
    counts = dict.fromkeys(LEAK_TYPES, 0)
    for text in texts:
        if not isinstance(text, str) or not text:
            continue
        for span in pattern_spans(text, recognisers):
            leak_type = "round_name" if span.kind == "person" else span.kind
            counts[leak_type] += 1
    return counts
