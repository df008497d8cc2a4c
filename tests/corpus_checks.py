"""What the two anonymiser corpora's own tests share: reading values back, and the checks
that keep their identifiers synthetic. Written apart from the anonymiser's code on purpose,
so that a corpus is never checked by the code it is there to judge.
"""

from __future__ import annotations

import re
import unicodedata

from assets.anonymise.evaluation import EvalDocument


def entity_texts(corpus: list[EvalDocument], entity_type: str) -> list[str]:
    """The text of every gold entity of one type, as written."""
    return [
        document.text[span.start : span.end]
        for document in corpus
        for span in document.entities
        if span.entity_type == entity_type
    ]


def nhs_check_digit_ok(digits: str) -> bool:
    """Modulus 11 on a 10-digit string (shared/domain-notes.md)."""
    total = sum(
        int(digit) * weight for digit, weight in zip(digits[:9], range(10, 1, -1), strict=True)
    )
    check = 11 - total % 11
    return check != 10 and (0 if check == 11 else check) == int(digits[9])


def phone_digits(value: str) -> str:
    """A UK number's digits in national form: '+44 (0)7700 900123' -> '07700900123'."""
    digits = re.sub(r"\D", "", value.replace("(0)", ""))
    for prefix in ("0044", "44"):
        if digits.startswith(prefix):
            return "0" + digits[len(prefix) :]
    return digits


def fold(value: str) -> str:
    """Case and diacritics away, and the letters NFKD leaves whole written bare."""
    value = value.casefold().replace("\u0142", "l").replace("\u0131", "i")
    return "".join(c for c in unicodedata.normalize("NFKD", value) if not unicodedata.combining(c))
