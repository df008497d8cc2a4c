"""The roster: everyone named in raw/, compiled once into the patterns that find them.

The roster the anonymiser accepts is a pandas DataFrame, one row per person per
round x site they are named in (an event's attendee or a withdrawal):

| column | type | |
| --- | --- | --- |
| `round_id`, `site_id` | str | where the person is named |
| `name` | str | as written in the manifest |
| `role` | str or null | a contract role (`staff`, `Service user`); null for a withdrawal |
| `initials` | str or null (column optional) | as the manifest gives them |
| `withdrawn` | bool (optional, default False) | the person withdrew consent there |
| `kind` | str (optional) | `withdrawal` marks the row withdrawn too (ingest's `read_roster`) |

Other columns (ingest's `event_id`) are ignored.

One person is one normalised name (`normalise_name`): two rows with the same name
are the same person, in every round and site, and two different people who share
a name cannot be told apart from the text, so they share a pseudonym. Whoever
withdrew in any row is withdrawn everywhere: consent is withdrawn by a person, not
by a round. Rows without a usable name are skipped (counted in `skipped_rows`).

Every person is found by their full name, by each part of it of two letters or
more (hyphenated parts whole and split), and by their initials (the manifest's and,
derived from the name, first + last and, for three-part names, all three). Parts
that are ordinary words ('Will', 'Young') count alone only in Title case; see
`vocabulary`. A match is made on the folded text (case, diacritics and typography
ignored), across line breaks, and is mapped back to the original characters.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import re
from collections.abc import Callable, Iterator
from typing import NamedTuple

import pandas as pd

from assets.anonymise.pseudonyms import WITHDRAWN_PERSON, Pseudonymiser
from assets.anonymise.spans import Span
from assets.anonymise.vocabulary import SPEECH_VERBS, protected_initials, title_case_only_words
from assets.text_folding import fold, letters_only, normalise_name
from schemas.contract import role_slug

REQUIRED_COLUMNS = ("round_id", "site_id", "name")
OPTIONAL_COLUMNS = ("role", "initials", "withdrawn", "kind")
MIN_PART_LETTERS = 2
_CACHE_SIZE = 4

# How each non-letter of a normalised name may be written in the text.
_ATOMS = {
    " ": r"\s+",
    "-": r"(?:\s*-\s*|\s+)",
    "'": r"['\s]?",
    ".": r"\.?",
}
# A name ends where letters end: 'amara_okafor.docx' and 'Amara2' still hold a name.
_NOT_AFTER_LETTER = r"(?<![^\W\d_])"
_NOT_BEFORE_LETTER = r"(?![^\W\d_])"
_JOINER = re.compile(r"[\s_]+")
_UPPER = "".join(
    char
    for start, stop in ((0x41, 0x250), (0x1E00, 0x1F00))
    for char in map(chr, range(start, stop))
    if char.isupper()
)
_INITIALS = re.compile(rf"(?<!\w)(?:[{_UPPER}]{{2,3}}|[{_UPPER}]\.(?:[{_UPPER}]\.?){{1,2}})(?!\w)")
# Where initials that are also a word or an acronym ('AM', 'GP') still stand for the
# person the manifest gives them to: a speaker label ('GP:', 'GP (commissioner)'),
# before a verb of speech ('AM said')...
_SPEAKER_CONTEXT = re.compile(rf"\s*(?::|\(|(?:{SPEECH_VERBS})\b)")
# ...or as the owner of an action: 'Action: OK to contact...', 'Lead: GP'.
_OWNER_BEFORE = re.compile(r"(?i:action|actions|lead|owner|owners|by)\s*:\s*$")
# One initial before a surname: 'H. Dhaliwal'.
_INITIAL_BEFORE = re.compile(rf"(?<!\w)([{_UPPER}])\.?\s+$")


@dataclasses.dataclass(frozen=True)
class Person:
    """One normalised name, where it appears, with which role, and whether withdrawn."""

    key: str
    withdrawn: bool
    appearances: tuple[tuple[str, str, str | None], ...]

    def named_at(self, site_id: str, round_id: str | None = None) -> bool:
        return any(
            site == site_id and (round_id is None or round_ == round_id)
            for round_, site, _ in self.appearances
        )

    def role_at(self, round_id: str, site_id: str) -> str:
        """This site's attendee list decides (this round first), else the first role given."""
        for same_round in (True, False):
            for round_, site, role in self.appearances:
                if role and site == site_id and (round_ == round_id or not same_round):
                    return role
        return next((role for _, _, role in self.appearances if role), "other")


class RosterMatch(NamedTuple):
    start: int
    end: int
    kind: str
    candidates: tuple[str, ...]


def _is_title_case(written: str) -> bool:
    letters = [char for char in written if char.isalpha()]
    return bool(letters) and letters[0].isupper() and not all(c.isupper() for c in letters)


def _forms(key: str) -> Iterator[str]:
    """Full name, every whitespace part, and the pieces of hyphenated parts."""
    yield key
    for part in key.split(" "):
        yield part
        if "-" in part:
            yield from part.split("-")


def _derived_initials(key: str) -> set[str]:
    firsts = [letters[0].upper() for part in key.split(" ") if (letters := letters_only(part))]
    derived = {firsts[0] + firsts[-1]} if len(firsts) >= 2 else set()
    if len(firsts) == 3:
        derived.add("".join(firsts))
    return derived


def _atoms(form: str) -> list[str]:
    return [
        _ATOMS.get(char) or (re.escape(char) if char.isalnum() else re.escape(char) + "?")
        for char in form
    ]


def _trie_pattern(node: dict[str, dict]) -> str:
    """A regex of the trie: shared prefixes are matched once, and the longer name first."""
    branches = [atom + _trie_pattern(child) for atom, child in sorted(node.items()) if atom]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if "" in node else body


def _cell(row: dict, column: str) -> object:
    value = row.get(column)
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


class Roster:
    """People of the roster and the compiled patterns that find them in any text."""

    def __init__(
        self,
        entries: pd.DataFrame,
        *,
        title_case_only: frozenset[str] | None = None,
        protected: frozenset[str] | None = None,
    ) -> None:
        missing = [column for column in REQUIRED_COLUMNS if column not in entries.columns]
        if missing:
            raise ValueError(f"roster is missing column(s): {', '.join(missing)}")
        title_case_only = title_case_only_words() if title_case_only is None else title_case_only
        protected = protected_initials() if protected is None else protected

        appearances: dict[str, list[tuple[str, str, str | None]]] = {}
        withdrawn: dict[str, bool] = {}
        given_initials: dict[str, set[str]] = collections.defaultdict(set)
        self.skipped_rows = 0
        columns = [c for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) if c in entries.columns]
        for row in entries[columns].to_dict("records"):
            name = _cell(row, "name")
            key = normalise_name(name) if isinstance(name, str) else ""
            if not letters_only(key):
                self.skipped_rows += 1
                continue
            role = _cell(row, "role")
            appearances.setdefault(key, []).append(
                (
                    str(_cell(row, "round_id")),
                    str(_cell(row, "site_id")),
                    role_slug(role) if isinstance(role, str) else None,
                )
            )
            withdrawn[key] = (
                withdrawn.get(key, False)
                or bool(_cell(row, "withdrawn") or False)
                or _cell(row, "kind") == "withdrawal"
            )
            initials = _cell(row, "initials")
            if isinstance(initials, str):
                given_initials[key].add(letters_only(normalise_name(initials)).upper())

        self._people = {
            key: Person(key, withdrawn[key], tuple(rows)) for key, rows in appearances.items()
        }
        forms: dict[str, list[str]] = {}
        initials: dict[str, list[str]] = {}
        speaker_initials: dict[str, list[str]] = {}
        trie: dict[str, dict] = {}
        for key in self._people:
            for form in _forms(key):
                letters = letters_only(form)
                if len(letters) < MIN_PART_LETTERS:
                    continue
                holders = forms.setdefault(letters, [])
                if key not in holders:
                    holders.append(key)
                node = trie
                for atom in _atoms(form):
                    node = node.setdefault(atom, {})
                node[""] = {}
            for letters in given_initials[key] | _derived_initials(key):
                if not 2 <= len(letters) <= 3:
                    continue
                if letters in protected and letters not in given_initials[key]:
                    continue
                table = speaker_initials if letters in protected else initials
                holders = table.setdefault(letters, [])
                if key not in holders:
                    holders.append(key)
        self._forms = {letters: tuple(keys) for letters, keys in forms.items()}
        self._title_case_only = frozenset(title_case_only & self._forms.keys())
        self._initials = {letters: tuple(keys) for letters, keys in initials.items()}
        self._speaker_initials = {
            letters: tuple(keys) for letters, keys in speaker_initials.items()
        }
        self._name_pattern = (
            re.compile(rf"{_NOT_AFTER_LETTER}(?:{_trie_pattern(trie)}){_NOT_BEFORE_LETTER}")
            if trie
            else None
        )

    def __len__(self) -> int:
        return len(self._people)

    def __repr__(self) -> str:
        return f"Roster({len(self)} people)"

    @property
    def people(self) -> tuple[Person, ...]:
        return tuple(self._people.values())

    def person(self, name: str) -> Person | None:
        return self._people.get(normalise_name(name))

    def by_initials(self, label: str) -> tuple[Person, ...]:
        keys = self._initials.get(letters_only(normalise_name(label)).upper(), ())
        return tuple(self._people[key] for key in keys)

    def matches(self, text: str) -> list[RosterMatch]:
        """Where roster names and initials occur, with the people each could stand for."""
        found: list[RosterMatch] = []
        if self._name_pattern is not None:
            folded = fold(text)
            for match in self._name_pattern.finditer(folded.text):
                letters = letters_only(match.group())
                start, end = folded.to_original(match.start(), match.end())
                if letters in self._title_case_only and not _is_title_case(text[start:end]):
                    continue
                candidates = self._forms[letters]
                start = self._with_initial_before(text, start, candidates)
                found.append(RosterMatch(start, end, "roster_name", candidates))
        if self._initials or self._speaker_initials:
            for match in _INITIALS.finditer(text):
                letters = letters_only(normalise_name(match.group())).upper()
                keys = self._initials.get(letters)
                if keys is None and (
                    _SPEAKER_CONTEXT.match(text, match.end())
                    or _OWNER_BEFORE.search(text[max(0, match.start() - 12) : match.start()])
                ):
                    keys = self._speaker_initials.get(letters)
                if keys:
                    found.append(RosterMatch(match.start(), match.end(), "roster_initials", keys))
        return found

    def _with_initial_before(self, text: str, start: int, candidates: tuple[str, ...]) -> int:
        """Widen a surname over the initial of a candidate's first name before it."""
        before = _INITIAL_BEFORE.search(text[max(0, start - 4) : start])
        if before is None:
            return start
        letter = fold(before.group(1)).text
        if any(key.split(" ")[0].startswith(letter) and " " in key for key in candidates):
            return start - (len(text[max(0, start - 4) : start]) - before.start())
        return start

    def replacement(
        self, candidates: tuple[str, ...], pseudonymiser: Pseudonymiser, round_id: str, site_id: str
    ) -> str:
        """The pseudonym a match stands for at this round x site, or `[person]`.

        Of the people a name could be, those named at this round x site count first,
        then those named at this site, then everyone. If they do not all get the
        same replacement the match is ambiguous and becomes `[person]`; so does a
        withdrawn person's name.
        """
        people = [self._people[key] for key in candidates]
        for tier in (
            [p for p in people if p.named_at(site_id, round_id)],
            [p for p in people if p.named_at(site_id)],
            people,
        ):
            if tier:
                replacements = {self.pseudonym(p, pseudonymiser, round_id, site_id) for p in tier}
                return replacements.pop() if len(replacements) == 1 else WITHDRAWN_PERSON
        return WITHDRAWN_PERSON

    @staticmethod
    def pseudonym(person: Person, pseudonymiser: Pseudonymiser, round_id: str, site_id: str) -> str:
        if person.withdrawn:
            return WITHDRAWN_PERSON
        return pseudonymiser.pseudonym(person.key, person.role_at(round_id, site_id))


class RosterRecogniser:
    """Roster names and initials as spans, each replaced by what `resolve` says."""

    def __init__(self, roster: Roster, resolve: Callable[[tuple[str, ...]], str]) -> None:
        self._roster = roster
        self._resolve = resolve
        self._replacements: dict[tuple[str, ...], str] = {}

    @classmethod
    def for_site(
        cls, roster: Roster, pseudonymiser: Pseudonymiser, round_id: str, site_id: str
    ) -> RosterRecogniser:
        """Replacements as this round x site's text needs them: pseudonyms or `[person]`."""
        return cls(
            roster,
            lambda candidates: roster.replacement(candidates, pseudonymiser, round_id, site_id),
        )

    @classmethod
    def for_scan(cls, roster: Roster) -> RosterRecogniser:
        """For the leak scan, where only the count matters and no key is needed."""
        return cls(roster, lambda candidates: WITHDRAWN_PERSON)

    def find(self, text: str) -> list[Span]:
        spans: list[Span] = []
        for match in self._roster.matches(text):
            replacement = self._replacements.get(match.candidates)
            if replacement is None:
                replacement = self._resolve(match.candidates)
                self._replacements[match.candidates] = replacement
            previous = spans[-1] if spans else None
            if (
                previous is not None
                and previous.kind == match.kind == "roster_name"
                and previous.replacement == replacement
                and _JOINER.fullmatch(text, previous.end, match.start)
            ):
                # 'Amara Okafor' for 'Amara Chioma Okafor': one person, one pseudonym.
                spans[-1] = Span(previous.start, match.end, match.kind, replacement)
            else:
                spans.append(Span(match.start, match.end, match.kind, replacement))
        return spans


_cache: collections.OrderedDict[str, Roster] = collections.OrderedDict()


def _fingerprint(entries: pd.DataFrame) -> str:
    columns = [c for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) if c in entries.columns]
    hashed = pd.util.hash_pandas_object(entries[columns].astype(object), index=False)
    return hashlib.sha256(",".join(columns).encode() + hashed.to_numpy().tobytes()).hexdigest()


def as_roster(roster: Roster | pd.DataFrame) -> Roster:
    """A compiled Roster; a DataFrame with the same content is compiled only once."""
    if isinstance(roster, Roster):
        return roster
    missing = [column for column in REQUIRED_COLUMNS if column not in roster.columns]
    if missing:
        raise ValueError(f"roster is missing column(s): {', '.join(missing)}")
    fingerprint = _fingerprint(roster)
    compiled = _cache.get(fingerprint)
    if compiled is None:
        compiled = Roster(roster)
        _cache[fingerprint] = compiled
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    _cache.move_to_end(fingerprint)
    return compiled
