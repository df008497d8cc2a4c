"""Identifiers become typed placeholders; things that only look a bit like them stay."""

from __future__ import annotations

import pytest

from assets.anonymise.engine import anonymise_text
from assets.anonymise.identifiers import identifier_recognisers, nhs_check_digit_ok

# 999 000 0018: 9*10 + 9*9 + 9*8 + 1*2 = 245, 245 mod 11 = 3, check 11 - 3 = 8.
# 999 000 0026: 245 - 2 + 4 = 247, mod 11 = 5, check 6.
VALID_NHS = ("9990000018", "9990000026")


def anonymised(text: str) -> str:
    return anonymise_text(text, identifier_recognisers()).text


def test_nhs_check_digit_by_hand_computed_examples():
    for number in VALID_NHS:
        assert nhs_check_digit_ok(number)
    assert not nhs_check_digit_ok("9990000019")
    # 9*10 + 9*9 + 9*8 = 243, mod 11 = 1, check would be 10: never issued.
    assert not any(nhs_check_digit_ok(f"999000000{digit}") for digit in range(10))


@pytest.mark.parametrize(
    "written",
    ["9990000018", "999 000 0018", "999-000-0018", "999 000 0026"],
)
def test_nhs_numbers(written):
    assert anonymised(f"NHS no. {written}, see notes") == "NHS no. [nhs-number], see notes"


@pytest.mark.parametrize(
    "written",
    [
        "07700 900123",
        "07700900123",
        "07700-900-123",
        "07700 900 123",
        "(07700) 900123",
        "+44 7700 900123",
        "+447700900123",
        "+44 (0)7700 900123",
        "+44 (0) 7700 900 123",
        "0044 7700 900123",
        "01632 960123",
        "(01632) 960123",
        "01632-960-123",
        "020 7946 0123",
        "(020) 7946 0123",
        "0207 946 0123",
        "02079460123",
        "+44 20 7946 0123",
        "+44 (0)20 7946 0123",
        # Ofcom's drama ranges for 03 and 08 numbers.
        "03069 990123",
        "0306 999 0123",
        "08081 570123",
        "0808 157 0123",
    ],
)
def test_uk_phone_numbers(written):
    assert anonymised(f"Ring {written} after 5") == "Ring [phone] after 5"


def test_phone_number_in_brackets_and_at_sentence_end_keeps_the_punctuation():
    assert anonymised("(tel 07700 900123).") == "(tel [phone])."
    assert anonymised("Bogdan (07700 900123)") == "Bogdan ([phone])"
    assert anonymised("Bogdan (01632) 960123") == "Bogdan [phone]"
    assert anonymised("Call 020 7946 0123, or 01632 960123.") == "Call [phone], or [phone]."


def test_a_ten_digit_run_failing_the_nhs_check_is_still_a_phone_if_phone_shaped():
    assert nhs_check_digit_ok("0163296012") is False
    assert anonymised("old number 01632 96012 here") == "old number [phone] here"


@pytest.mark.parametrize(
    "written",
    [
        "amara.okafor@example.org",
        "T.Whitfield+ariadne@example.org",
        "o'connor_s@mail.example.org",
        "AMARA@EXAMPLE.ORG",
    ],
)
def test_email_addresses(written):
    assert anonymised(f"Write to {written}.") == "Write to [email]."


@pytest.mark.parametrize(
    "written",
    ["AB 12 34 56 C", "AB123456C", "ab123456c", "Ab 123456 d", "JT 12 34 56", "CE 98 76 54 A"],
)
def test_national_insurance_numbers(written):
    assert anonymised(f"NI {written} noted") == "NI [ni-number] noted"


@pytest.mark.parametrize(
    "written",
    [
        "QQ 12 34 56 C",  # Q is never a first letter
        "DA 12 34 56 A",  # nor D
        "AO 12 34 56 A",  # O is never the second letter
        "GB 12 34 56 A",  # a pair never issued
        "TN 12 34 56 A",
        "AB 12 34 5",  # too short
    ],
)
def test_not_national_insurance_numbers(written):
    assert anonymised(f"code {written} noted") == f"code {written} noted"


@pytest.mark.parametrize(
    "written",
    [
        "E1 6AN",  # A9 9AA
        "M60 1NW",  # A99 9AA
        "W1A 0AX",  # A9A 9AA
        "CV1 2AB",  # AA9 9AA
        "CV34 6LN",  # AA99 9AA
        "EC1A 1BB",  # AA9A 9AA
        "ec1a1bb",
        "cv346ln",
        "Cv1 2ab",
    ],
)
def test_postcodes(written):
    assert anonymised(f"lives near {written}, by the park") == "lives near [postcode], by the park"


@pytest.mark.parametrize(
    "text",
    [
        "Invalid NHS number 999 000 0019 stays as written.",
        "Met on 21/05/2024, 2024-05-21 and 21.05.2024 at 10:30.",
        "In 2024 and 2025 the budget was £2,500 then £1,250.50 of £3.5m.",
        "Call NHS 111 or 999 in an emergency.",
        "The PHQ-9 and GAD-7 scores; Covid-19; Year 10; the 2nd floor; 9am to 5pm.",
        "Meeting at the M1 9AM slot; ICD-10 F20; 1,234,567 people.",
        "Reference 123456 and case 4567-89.",
        "Batch 0612 345 6789 and 04123 456789: 04 and 06 are no UK number range.",
    ],
)
def test_near_misses_are_left_alone(text):
    assert anonymised(text) == text


def test_counts_by_kind_say_how_many_not_what():
    result = anonymise_text(
        "amara@example.org, 07700 900123, 020 7946 0123, 999 000 0018, AB123456C, E1 6AN",
        identifier_recognisers(),
    )
    assert result.counts_by_kind == {
        "email": 1,
        "phone": 2,
        "nhs_number": 1,
        "ni_number": 1,
        "postcode": 1,
    }


def test_anonymising_twice_changes_nothing_more():
    once = anonymised("Write to amara@example.org or 07700 900123 from CV1 2AB.")
    assert anonymised(once) == once
