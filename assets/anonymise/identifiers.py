"""Recognisers for identifiers: e-mail, UK phone, NHS, National Insurance, postcode.

Each is one compiled pattern, and where the format has a rule the pattern cannot
express (the NHS number's check digit, the digits a UK phone number has) one small
check on the match. Formats: shared/domain-notes.md, 'Identifiers and classifications'.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from assets.anonymise.spans import Span

EMAIL = re.compile(r"(?<![\w.+'-])[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")

# A trunk '0' (or an area code in brackets, '(020)') or '+44'/'0044' (with an optional
# '(0)'), then the national number of 9 or 10 digits with light separators;
# `_is_uk_phone` checks what follows the 0. A bracket around the whole number stays.
PHONE = re.compile(
    r"(?<![\w+])"
    r"(?:(?:\+|00)\s?44\s?(?:\(\s?0\s?\)\s?|0\s?)?|\(\s?0(?=\d{2,4}\s?\))|0)"
    r"(?P<national>[1-9](?:[\s\-.()]{0,2}\d){8,9})"
    r"(?![\d])"
)
_UK_NUMBER_RANGES = frozenset("123789")  # 01/02 geographic, 03, 07 mobile, 08/09

NHS_NUMBER = re.compile(r"(?<![\w+])\d{3}[ -]?\d{3}[ -]?\d{4}(?!\w)")

# Neither prefix letter is D F I Q U V, the second is not O, and some pairs are
# never issued. The suffix A-D is optional: it is often left off, and the number
# without it is still the person's.
NI_NUMBER = re.compile(
    r"(?<![A-Za-z0-9])(?!(?:BG|GB|KN|NK|NT|TN|ZZ))"
    r"[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\s?\d{2}\s?\d{2}\s?\d{2}(?:\s?[A-D])?"
    r"(?![A-Za-z0-9])",
    re.IGNORECASE,
)

# BS7666: A9 9AA, A99 9AA, A9A 9AA, AA9 9AA, AA99 9AA, AA9A 9AA, with the letters
# each position may hold, plus GIR 0AA.
POSTCODE = re.compile(
    r"(?<![A-Za-z0-9])"
    r"(?:GIR\s?0AA|"
    r"[A-PR-UWYZ](?:[0-9][0-9]?|[0-9][A-HJKPSTUW]|[A-HK-Y][0-9][0-9]?|[A-HK-Y][0-9][ABEHMNPRV-Y])"
    r"\s?[0-9][ABD-HJLNP-UW-Z]{2})"
    r"(?![A-Za-z0-9])",
    re.IGNORECASE,
)


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


def _is_valid_nhs_number(match: re.Match[str]) -> bool:
    return nhs_check_digit_ok(re.sub(r"\D", "", match.group()))


def _is_uk_phone(match: re.Match[str]) -> bool:
    return match.group("national")[0] in _UK_NUMBER_RANGES


_DIGIT = re.compile(r"\d")
_AT = re.compile("@")


class PatternRecogniser:
    """Spans of one pattern, optionally filtered by a check on each match.

    `needs` is a cheap pattern every match contains (a digit, an '@'): a text without
    it is skipped, which is most paragraphs of minutes.
    """

    def __init__(
        self,
        kind: str,
        pattern: re.Pattern[str],
        replacement: str,
        accept: Callable[[re.Match[str]], bool] | None = None,
        needs: re.Pattern[str] | None = None,
    ) -> None:
        self.kind = kind
        self._pattern = pattern
        self._replacement = replacement
        self._accept = accept
        self._needs = needs

    def find(self, text: str) -> list[Span]:
        if self._needs is not None and not self._needs.search(text):
            return []
        return [
            Span(match.start(), match.end(), self.kind, self._replacement)
            for match in self._pattern.finditer(text)
            if self._accept is None or self._accept(match)
        ]


def identifier_recognisers() -> list[PatternRecogniser]:
    """One recogniser per identifier type, each with its typed placeholder."""
    return [
        PatternRecogniser("email", EMAIL, "[email]", needs=_AT),
        PatternRecogniser("phone", PHONE, "[phone]", _is_uk_phone, _DIGIT),
        PatternRecogniser("nhs_number", NHS_NUMBER, "[nhs-number]", _is_valid_nhs_number, _DIGIT),
        PatternRecogniser("ni_number", NI_NUMBER, "[ni-number]", needs=_DIGIT),
        PatternRecogniser("postcode", POSTCODE, "[postcode]", needs=_DIGIT),
    ]
