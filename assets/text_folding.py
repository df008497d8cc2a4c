"""Folding text and names so that matching ignores case, diacritics and typography.

Shared by ingest (resolving speaker labels and withdrawals) and anonymise (finding
names): both must see 'Siobhan' and 'Siobhán' as one person, the same way. Minutes
spell one person 'Siobhán', 'Siobhan' and 'SIOBHAN', and 'O'Connor' with
a straight or a curly apostrophe. Recognisers match on a folded copy of the text,
and the offset map puts every match back on the exact characters of the original,
so nothing around a name is disturbed and no character is cut in half.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import unicodedata

_APOSTROPHES = frozenset("\u2018\u2019\u201b\u02bc\u02b9\u00b4\u2032")
_HYPHENS = frozenset("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d")
# Letters that NFKD does not split into a base letter and a mark, written without
# their stroke or ligature by people who cannot type them ('Lukasz' for the Polish
# name with a stroked L).
_UNDECOMPOSABLE = {
    "\u0142": "l",  # l with stroke (Polish)
    "\u00f8": "o",  # o with stroke (Danish, Norwegian)
    "\u0111": "d",  # d with stroke (Croatian, Vietnamese)
    "\u00f0": "d",  # eth (Icelandic)
    "\u00fe": "th",  # thorn (Icelandic)
    "\u00e6": "ae",  # ash
    "\u0153": "oe",  # oe ligature
    "\u0131": "i",  # dotless i (Turkish)
    "\u0127": "h",  # h with stroke (Maltese)
    "\u0167": "t",  # t with stroke (Sami)
    "\u0140": "l",  # l with middle dot (Catalan)
}
_NON_WORD = re.compile(r"[\W_]+")
_SPACED_HYPHEN = re.compile(r"\s*-\s*")


@functools.cache
def fold_char(char: str) -> str:
    """One character folded: no case, no diacritics, one apostrophe, one hyphen.

    May return zero characters (a lone combining mark) or several ('ß' -> 'ss').
    """
    if char in _APOSTROPHES:
        return "'"
    if char in _HYPHENS:
        return "-"
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", char).casefold())
    return "".join(
        _UNDECOMPOSABLE.get(part, part) for part in folded if not unicodedata.combining(part)
    )


@dataclasses.dataclass(frozen=True, slots=True)
class FoldedText:
    """A folded copy of a text and the way back to the original's offsets.

    `origin[i]` is the index in the original of the character that produced folded
    character i; None when the fold kept every character in place (plain ASCII).
    """

    original: str
    text: str
    origin: tuple[int, ...] | None

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a folded span [start, end) to the original, taking in marks it dropped."""
        if self.origin is None:
            return start, end
        orig_start = self.origin[start]
        orig_end = self.origin[end] if end < len(self.origin) else len(self.original)
        return orig_start, max(orig_end, self.origin[end - 1] + 1)


def fold(text: str) -> FoldedText:
    """Fold a text for matching; ASCII (most minutes) takes the fast path."""
    if text.isascii():
        return FoldedText(text, text.lower(), None)
    pieces = [fold_char(char) for char in text]
    if all(len(piece) == 1 for piece in pieces):
        return FoldedText(text, "".join(pieces), None)
    origin = tuple(index for index, piece in enumerate(pieces) for _ in piece)
    return FoldedText(text, "".join(pieces), origin)


def normalise_name(name: str) -> str:
    """The canonical spelling of a name, so one person has one identity in every file.

    NFKD with diacritics stripped, casefolded, whitespace collapsed, typographic
    apostrophes and hyphens made plain, spaces around hyphens removed.
    """
    folded = _SPACED_HYPHEN.sub("-", fold(name).text)
    return " ".join(folded.split())


def letters_only(value: str) -> str:
    """What is left of a folded name or form without spaces and punctuation.

    Two spellings that differ only in punctuation ('O'Connor', 'O Connor',
    'OConnor') share it, so it is the key matches are looked up by.
    """
    return _NON_WORD.sub("", value)
