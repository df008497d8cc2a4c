"""The gate: what in anonymised text still looks like personal data, counted by type.

It runs the same recognisers as the anonymiser (so correctly anonymised text scores
zero and anything the anonymiser would have caught is counted), skipping the
placeholders and pseudonyms the anonymiser wrote. It returns counts only: the text
it found is never returned, logged or put in an exception.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from assets.anonymise.identifiers import identifier_recognisers
from assets.anonymise.roster import Roster, RosterRecogniser, as_roster
from assets.anonymise.spans import Recogniser, find_spans

LEAK_TYPES = ("roster_name", "email", "phone", "nhs_number", "ni_number", "postcode")
_LEAK_TYPE_OF_KIND = {"roster_initials": "roster_name"}


def scan_for_leaks(texts: Iterable[str | None], roster: Roster | pd.DataFrame) -> dict[str, int]:
    """Count, by type, the roster names and identifiers left in `texts`; all types present.

    Missing values (None, NaN) are skipped: nullable text columns can be passed as they are.
    """
    recognisers: list[Recogniser] = [
        *identifier_recognisers(),
        RosterRecogniser.for_scan(as_roster(roster)),
    ]
    counts = dict.fromkeys(LEAK_TYPES, 0)
    for text in texts:
        if not isinstance(text, str) or not text:
            continue
        for span in find_spans(text, recognisers):
            leak_type = _LEAK_TYPE_OF_KIND.get(span.kind, span.kind)
            counts[leak_type] = counts.get(leak_type, 0) + 1
    return counts
