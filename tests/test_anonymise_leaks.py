"""The gate: what survives in anonymised text is counted by type, and only counted."""

from __future__ import annotations

import logging
import math
import re

import pytest

from assets.anonymise.engine import anonymise_text
from assets.anonymise.identifiers import POSTCODE
from assets.anonymise.leaks import LEAK_TYPES, scan_for_leaks
from tests.test_anonymise_roster import roster_frame, site_recognisers

# 999 000 0018 is an NHS test number (999 prefix) that passes mod-11 on purpose.
RAW = [
    "Amara Okafor said Siobhán's group meets at the mosque; AO will write it up.",
    "Ring Bogdan on 07700 900123 or e-mail zoe.novakova@example.org before Friday.",
    "Harpreet's NHS number 999 000 0018 and NI AB 12 34 56 C were in the letter from E1 6AN.",
    "Ayşe Y\u0131lmaz withdrew; Will said we will ask Mr Brown. Somali speakers at the GP.",
]


def anonymised_texts() -> list[str]:
    recognisers = site_recognisers()
    return [anonymise_text(text, recognisers).text for text in RAW]


def test_correctly_anonymised_text_has_no_leaks():
    assert scan_for_leaks(anonymised_texts(), roster_frame()) == dict.fromkeys(LEAK_TYPES, 0)


def test_raw_text_is_counted_by_type():
    assert scan_for_leaks(RAW, roster_frame()) == {
        # Amara Okafor, Siobhán, AO, Bogdan, Harpreet, Ayşe Yilmaz, Will, Brown; not 'will'
        # nor the name inside the e-mail address.
        "roster_name": 8,
        "email": 1,
        "phone": 1,
        "nhs_number": 1,
        "ni_number": 1,
        "postcode": 1,
        "round_name": 0,
        "street_address": 0,
        "date_of_birth": 0,
    }


@pytest.mark.parametrize(
    ("planted", "leak_type"),
    [
        ("Okafor", "roster_name"),
        ("okafor", "roster_name"),
        ("SIOBHAN", "roster_name"),
        ("Zoe", "roster_name"),
        ("Desmond Thompson", "roster_name"),  # named at another site: still a roster name
        ("Yilmaz", "roster_name"),  # withdrawn: still a roster name
        ("AO", "roster_name"),
        ("Will", "roster_name"),
        ("zoe.novakova@example.org", "email"),
        ("+44 (0)20 7946 0123", "phone"),
        ("999 000 0026", "nhs_number"),
        ("jt123456a", "ni_number"),
        ("CV34 6LN", "postcode"),
    ],
)
def test_what_is_planted_in_anonymised_text_is_found_by_type(planted, leak_type):
    texts = anonymised_texts()
    texts[1] = f"{texts[1]} Also {planted} here."
    expected = dict.fromkeys(LEAK_TYPES, 0) | {leak_type: 1}
    assert scan_for_leaks(texts, roster_frame()) == expected


def test_ordinary_words_placeholders_and_pseudonyms_are_not_leaks():
    # 'ab12ab' in a pseudonym would be a postcode on its own.
    assert re.search(POSTCODE, "ab12ab", re.IGNORECASE)
    texts = [
        "we will see; the brown envelope; [carer-ab12ab] and [person] and [postcode]",
        "[phone], [email], [nhs-number], [ni-number]",
    ]
    assert scan_for_leaks(texts, roster_frame()) == dict.fromkeys(LEAK_TYPES, 0)


def test_missing_values_are_skipped():
    found = scan_for_leaks([None, math.nan, "", "Amara"], roster_frame())
    assert found["roster_name"] == 1


def test_counts_only_nothing_logged(caplog):
    caplog.set_level(logging.DEBUG)
    found = scan_for_leaks(["Kwame Mensah, kwame@example.org"], roster_frame())
    assert set(found) == set(LEAK_TYPES)
    assert all(isinstance(count, int) for count in found.values())
    assert "Kwame" not in caplog.text
    assert "Mensah" not in repr(found)
