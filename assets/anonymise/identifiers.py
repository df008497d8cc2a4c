"""Presidio recognisers for the identifiers that matter in the UK, and only those.

Presidio's defaults load US recognisers (SSN, ITIN, driving licence) and leave the UK
NINO and postcode ones off; its own UK patterns miss lower-case postcodes and the
common phone forms. So the registry is built from these: one `PatternRecognizer` per
identifier, each with the pattern the format allows and, where the format has a rule
a pattern cannot express (the NHS number's check digit, the ranges a UK phone number
starts with), a `validate_result`. Formats: shared/domain-notes.md, 'Identifiers and
classifications'.
"""

from __future__ import annotations

import re

import tldextract
from presidio_analyzer import Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import EmailRecognizer

# Presidio entity type -> the placeholder that replaces it, in the order that wins
# when two identifiers overlap with the same length (the more specific first).
IDENTIFIER_PLACEHOLDERS = {
    "EMAIL_ADDRESS": "[email]",
    "UK_NHS": "[nhs-number]",
    "UK_NINO": "[ni-number]",
    "UK_POSTCODE": "[postcode]",
    "PHONE_NUMBER": "[phone]",
    "STREET_ADDRESS": "[address]",
    "DATE_OF_BIRTH": "[date-of-birth]",
}

# A trunk '0' (or an area code in brackets, '(020)') or '+44'/'0044' (with an optional
# '(0)'), then the national number of 9 or 10 digits with light separators;
# `_is_uk_phone` checks what follows the 0. A bracket around the whole number stays.
PHONE = (
    r"(?<![\w+])"
    r"(?:(?:\+|00)\s?44\s?(?:\(\s?0\s?\)\s?|0\s?)?|\(\s?0(?=\d{2,4}\s?\))|0)"
    r"(?P<national>[1-9](?:[\s\-.()]{0,2}\d){8,9})"
    r"(?![\d])"
)
_PHONE = re.compile(PHONE)
_UK_NUMBER_RANGES = frozenset("123789")  # 01/02 geographic, 03, 07 mobile, 08/09

NHS_NUMBER = r"(?<![\w+])\d{3}[ -]?\d{3}[ -]?\d{4}(?!\w)"

# Neither prefix letter is D F I Q U V, the second is not O, and some pairs are
# never issued. The suffix A-D is optional: it is often left off, and the number
# without it is still the person's.
NI_NUMBER = (
    r"(?<![A-Za-z0-9])(?!(?:BG|GB|KN|NK|NT|TN|ZZ))"
    r"[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\s?\d{2}\s?\d{2}\s?\d{2}(?:\s?[A-D])?"
    r"(?![A-Za-z0-9])"
)

# BS7666: A9 9AA, A99 9AA, A9A 9AA, AA9 9AA, AA99 9AA, AA9A 9AA, with the letters
# each position may hold, plus GIR 0AA.
POSTCODE = (
    r"(?<![A-Za-z0-9])"
    r"(?:GIR\s?0AA|"
    r"[A-PR-UWYZ](?:[0-9][0-9]?|[0-9][A-HJKPSTUW]|[A-HK-Y][0-9][0-9]?|[A-HK-Y][0-9][ABEHMNPRV-Y])"
    r"\s?[0-9][ABD-HJLNP-UW-Z]{2})"
    r"(?![A-Za-z0-9])"
)

# A house number (with a letter, or a flat and a building before it), then one to four
# capitalised words, then a street type, and perhaps a second street after a comma:
# '14 Acacia Road', 'Flat 3, Carrow House, 22 Mill Lane', '8 Mill Court, Bretton Way'.
# Area names ('Tower Hamlets', 'Foleshill') have no number and no street type, so
# they stay.
_STREET_TYPES = (
    "Road|Rd|Street|St|Avenue|Ave|Lane|Ln|Close|Drive|Way|Crescent|Cres|Grove|Place|Pl|"
    "Terrace|Gardens|Court|Ct|Square|Sq|Hill|Row|Walk|Mews|Park|Rise|View|Green|Parade|"
    "Boulevard|Gate|Yard|Wharf|Villas|Mount|Vale|Circus|Broadway"
)
_BUILDINGS = "House|Court|Building|Buildings|Tower|Towers|Lodge|Mansions|Block|Point|Heights"
_WORDS = r"(?:[A-Z][\w'\u2019-]*\s+){1,4}"
STREET_ADDRESS = (
    r"(?<![\w])"
    r"(?:(?:Flat|Apartment|Apt|Unit|Room|Level|Floor|Suite)\s+\d+[A-Za-z]?,?\s+)?"
    rf"(?:{_WORDS}(?:{_BUILDINGS}),?\s+)?"
    r"\d{1,4}[A-Za-z]?(?:-\d{1,4}[A-Za-z]?)?,?\s+"
    rf"{_WORDS}(?:{_STREET_TYPES})\b\.?"
    rf"(?:,\s+{_WORDS}(?:{_STREET_TYPES})\b\.?)?"
)

# A date written in any common way (a month and year, or the year after 'born in',
# too), counted as a date of birth only after words that say so ('DOB', 'date of birth',
# 'born on'): a meeting's date stays in the minutes.
_MONTHS = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_DATE = (
    r"(?:\d{1,2}[/.\- ]\d{1,2}[/.\- ](?:\d{4}|\d{2})"
    r"|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTHS}\.?,?\s+(?:\d{{4}}|'?\d{{2}}\b)"
    rf"|{_MONTHS}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
    rf"|{_MONTHS}\.?,?\s+\d{{4}}"
    r"|(?:19|20)\d{2}\b)"
)
DATE_OF_BIRTH = (
    r"\b(?i:DOB|D\.O\.B\.?|date of birth|birth date|born(?:\s+(?:on|in))?|birthday)"
    r"(?:\s*(?i:is|was|of|as|:|-))?\s*(?i:the\s+)?"
    rf"(?P<date>{_DATE})"
)
_DATE_OF_BIRTH = re.compile(DATE_OF_BIRTH)

_FLAGS = re.IGNORECASE | re.MULTILINE
_CASE_SENSITIVE = re.MULTILINE


def nhs_check_digit_ok(digits: str) -> bool:
    """Modulus 11: weights 10..2 on digits 1-9, check = 11 - remainder, 11 -> 0, 10 never issued."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(
        int(digit) * weight for digit, weight in zip(digits[:9], range(10, 1, -1), strict=True)
    )
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


class NhsNumberRecognizer(PatternRecognizer):
    """Ten digits in 3-3-4 (any separator or none) that pass the modulus-11 check."""

    def __init__(self) -> None:
        super().__init__(
            supported_entity="UK_NHS",
            patterns=[Pattern("nhs number", NHS_NUMBER, 1.0)],
            global_regex_flags=_FLAGS,
        )

    def validate_result(self, pattern_text: str) -> bool:
        return nhs_check_digit_ok(re.sub(r"\D", "", pattern_text))


class UkPhoneRecognizer(PatternRecognizer):
    """UK numbers in every common form: 07700 900123, +44 (0)7700 900123, (01632) 960123."""

    def __init__(self) -> None:
        super().__init__(
            supported_entity="PHONE_NUMBER",
            patterns=[Pattern("uk phone", PHONE, 1.0)],
            global_regex_flags=_FLAGS,
        )

    def validate_result(self, pattern_text: str) -> bool:
        match = _PHONE.search(pattern_text)
        return match is not None and match.group("national")[0] in _UK_NUMBER_RANGES


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's e-mail recogniser, checking the domain against the bundled suffix list.

    The stock one calls `tldextract.extract`, which fetches the public suffix list
    from the internet on first use; this one reads the snapshot tldextract ships.
    """

    _extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

    def validate_result(self, pattern_text: str) -> bool:
        return self._extract(pattern_text.rsplit("@", 1)[-1]).fqdn != ""


class DateOfBirthRecognizer(PatternRecognizer):
    """A date right after words that make it a date of birth; the date alone is replaced."""

    def __init__(self) -> None:
        super().__init__(
            supported_entity="DATE_OF_BIRTH",
            patterns=[Pattern("date of birth", DATE_OF_BIRTH, 1.0)],
            global_regex_flags=_CASE_SENSITIVE,
        )

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        """Results cover the date only, not the words before it."""
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        for result in results:
            match = _DATE_OF_BIRTH.match(text, result.start, result.end)
            if match is not None:
                result.start = match.start("date")
        return results


def identifier_recognisers() -> list[PatternRecognizer]:
    """One recogniser per identifier the UK data can hold; nothing from other countries."""
    return [
        OfflineEmailRecognizer(),
        UkPhoneRecognizer(),
        NhsNumberRecognizer(),
        PatternRecognizer(
            supported_entity="UK_NINO",
            patterns=[Pattern("national insurance number", NI_NUMBER, 1.0)],
            global_regex_flags=_FLAGS,
        ),
        PatternRecognizer(
            supported_entity="UK_POSTCODE",
            patterns=[Pattern("postcode", POSTCODE, 1.0)],
            global_regex_flags=_FLAGS,
        ),
        PatternRecognizer(
            supported_entity="STREET_ADDRESS",
            patterns=[Pattern("street address", STREET_ADDRESS, 1.0)],
            global_regex_flags=_CASE_SENSITIVE,
        ),
        DateOfBirthRecognizer(),
    ]
