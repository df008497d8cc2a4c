"""Matching the names people write against a manifest's attendees and withdrawals.

Minutes call people `Amara Okafor`, `Amara`, `Okafor`, `AO` or `Dr Okafor`, in any case
and with or without accents; a withdrawal may be written `Okafor, Amara`. All of these
are compared in one normal form so that a label, a survey's Name cell and a withdrawal
meet the same way.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Sequence

from assets.text_folding import fold
from schemas.contract import role_slug

# Titles come and go in minutes (`Dr Okafor`, `Okafor`): they never decide who is meant.
HONORIFICS = frozenset(
    {"dr", "mr", "mrs", "ms", "miss", "mx", "prof", "professor", "cllr", "rev", "revd", "sir"}
)


def _words(text: str) -> tuple[str, ...]:
    """The folded words of a text: the same folding the anonymiser matches names with."""
    return tuple(re.findall(r"[^\W_]+(?:['-][^\W_]+)*", fold(text).text))


def name_tokens(text: str) -> tuple[str, ...]:
    """Lower-case, accent-free words of a name, a leading title and punctuation dropped.

    Apostrophes and hyphens inside a word are kept (`o'brien`, `anne-marie`). A title
    alone is not dropped: `MR` and `DR` are also initials.
    """
    words = _words(text)
    while len(words) > 1 and words[0] in HONORIFICS:
        words = words[1:]
    return words


def compact(text: str) -> str:
    """`A.O.`, `a o` and `AO` alike, for comparing initials."""
    return "".join(_words(text))


def role_word(text: str) -> str | None:
    """A role as minutes write it (`Carer`, `Carers`, `service user`), as its slug."""
    slug = role_slug(text)
    if slug is None and text.strip().casefold().endswith("s"):
        slug = role_slug(text.strip()[:-1])
    return slug


@dataclasses.dataclass(frozen=True)
class Person:
    """Someone a manifest names: an attendee (with role) or a withdrawal (role None)."""

    name: str
    role: str | None = None
    initials: str | None = None

    @property
    def tokens(self) -> tuple[str, ...]:
        return name_tokens(self.name)

    def derived_initials(self) -> set[str]:
        """`Anne-Marie Ng` is written `AN` or `AMN`."""
        words = self.tokens
        by_word = "".join(word[0] for word in words)
        by_part = "".join(part[0] for word in words for part in word.split("-") if part)
        return {value for value in (by_word, by_part) if len(value) >= 2}

    def has_full_name(self, tokens: Sequence[str]) -> bool:
        """The whole name, in either order, or first and last name without middle names."""
        own = self.tokens
        if not tokens or not own:
            return False
        if tuple(tokens) == own or sorted(tokens) == sorted(own):
            return True
        return len(tokens) == 2 and len(own) > 2 and (tokens[0], tokens[1]) == (own[0], own[-1])

    def has_initials(self, text: str) -> bool:
        return bool(self.initials) and compact(text) == compact(self.initials or "")

    def has_first_or_surname(self, tokens: Sequence[str]) -> bool:
        own = self.tokens
        return len(tokens) == 1 and len(own) > 1 and tokens[0] in (own[0], own[-1])

    def has_derived_initials(self, text: str) -> bool:
        return compact(text) in self.derived_initials()


def same_person(a: str, b: str) -> bool:
    """Whether two written full names are the same name (order, case, titles aside)."""
    return Person(a).has_full_name(name_tokens(b)) or Person(b).has_full_name(name_tokens(a))


class Roster:
    """People a label can name, matched in order of certainty.

    Full name first, then the initials the manifest gives, then first name or surname,
    then initials worked out from the name. The first kind that matches anyone decides,
    so `Tom` means the only Tom even if someone else's initials are `TO`.
    """

    def __init__(self, people: Iterable[Person]) -> None:
        self.people = tuple(people)

    def match(self, text: str) -> list[Person]:
        tokens = name_tokens(text)
        if not tokens:
            return []
        looks_like_initials = len(tokens) == 1 or all(len(token) == 1 for token in tokens)
        tiers: tuple[Callable[[Person], bool], ...] = (
            lambda person: person.has_full_name(tokens),
            lambda person: person.has_initials(text),
            lambda person: person.has_first_or_surname(tokens),
            lambda person: looks_like_initials and person.has_derived_initials(text),
        )
        for tier in tiers:
            found = [person for person in self.people if tier(person)]
            if found:
                return found
        return []

    def with_role(self, role: str) -> list[Person]:
        return [person for person in self.people if person.role == role]
