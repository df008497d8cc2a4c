"""Who said a paragraph of minutes: the speaker label at its start, resolved to an attendee.

The rule for a label, so that ordinary sentences with a colon stay text:

- it opens the paragraph and ends at the first colon, which is followed by a space or
  ends the paragraph (so `10:30` and `https://` never qualify);
- before the colon stand one to four words, each of them capitalised (`Amara`,
  `O'Brien`, `Dr.`), initials (`AO`, `A.O.`) or a name particle (`de`, `van`, `al`),
  or the words are together a role (`Carer`, `service user`);
- optionally followed by one parenthesised part of the same kind: `Carer (TW)`;
- Markdown bold around it is allowed: `**AO:**`, `**AO**:`.

So `The main issues were: ...` is text (lower-case words), while `AO: ...`,
`Amara Okafor: ...` and `Carer (TW): ...` are labels. Words in lower case (`tom
whitfield: ...`) are a label only when they name an attendee or a withdrawn person:
people type names in any case, but a lower-case prefix that names nobody is a sentence.

A paragraph opening with `Action:` (or `Actions:`, `Agreed action:`, `Action (AO):`)
records an agreed action and is never read as a label.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from assets.ingest.people import Person, Roster, role_word, same_person

_BOLD = r"(?:\*\*|__)?"
# Runs of white space are matched possessively (`\s*+`) wherever a non-space must follow:
# giving some back could never help, and trying to takes quadratic time on a paragraph
# that opens with thousands of spaces.
_ACTION = re.compile(
    rf"^\s*+{_BOLD}\s*+(?:agreed\s++)?actions?(?:\s*+\([^()\n]{{0,40}}\))?\s*+{_BOLD}\s*+:",
    re.IGNORECASE,
)
_LABEL = re.compile(
    rf"""^\s*+{_BOLD}
    (?P<head>[^\W\d_][^:()\n]{{0,39}}?)
    (?:\s*+\((?P<inner>[^:()\n]{{1,40}})\))?
    \s*+{_BOLD}\s*+:\s*{_BOLD}
    (?:\s+(?P<rest>.*)|$)""",
    re.VERBOSE | re.DOTALL,
)
NAME_PARTICLES = frozenset(
    {"al", "bin", "binti", "da", "das", "de", "del", "der", "di", "dos", "du", "el", "ibn"}
    | {"la", "le", "van", "von"}
)
MAX_LABEL_WORDS = 4


@dataclasses.dataclass(frozen=True)
class Label:
    """A speaker label as written: `head (inner): rest`."""

    head: str
    inner: str | None
    rest: str


@dataclasses.dataclass(frozen=True)
class Attribution:
    """A paragraph with its label removed and resolved.

    `problem` is a warning's reason (it never quotes the label); `text` may be empty when
    the paragraph held only a label.
    """

    text: str
    speaker: Person | None = None
    stakeholder_group: str | None = None
    is_action: bool = False
    withdrawn: bool = False
    problem: str | None = None


def is_action(paragraph: str) -> bool:
    return bool(_ACTION.match(paragraph))


def _label_words_ok(words: str, any_case: bool) -> bool:
    tokens = words.split()
    if not 1 <= len(tokens) <= MAX_LABEL_WORDS:
        return False
    if any_case or role_word(words) is not None:
        return True
    if all(token.casefold() in NAME_PARTICLES for token in tokens):
        return False
    return all(token[0].isupper() or token.casefold() in NAME_PARTICLES for token in tokens)


def find_label(paragraph: str, *, any_case: bool = False) -> Label | None:
    """The speaker label opening `paragraph`, or None if it does not open with one.

    With `any_case`, the words need not be capitalised (the caller then checks that they
    name someone); the other parts of the rule still apply.
    """
    if is_action(paragraph):
        return None
    found = _LABEL.match(paragraph)
    if not found:
        return None
    head = found["head"].strip()
    inner = found["inner"].strip() if found["inner"] else None
    if not _label_words_ok(head, any_case) or (
        inner is not None and not _label_words_ok(inner, any_case)
    ):
        return None
    return Label(head=head, inner=inner, rest=(found["rest"] or "").strip())


@dataclasses.dataclass(frozen=True)
class SpeakerResolver:
    """Resolves labels against one event's attendees and the site's withdrawals."""

    event_id: str
    attendees: Roster
    withdrawals: Roster

    def attribute(self, paragraph: str) -> Attribution:
        text = paragraph.strip()
        if is_action(text):
            return Attribution(text=text, is_action=True)
        label = find_label(text) or self._lower_case_label(text)
        if label is None:
            return Attribution(text=text)
        return self._resolve(label, text)

    def _lower_case_label(self, text: str) -> Label | None:
        label = find_label(text, any_case=True)
        if label is None:
            return None
        parts = [label.head, *([label.inner] if label.inner else [])]
        named = any(self.attendees.match(part) or self.withdrawals.match(part) for part in parts)
        return label if named else None

    def _is_withdrawn(self, person: Person) -> bool:
        return any(same_person(w.name, person.name) for w in self.withdrawals.people)

    def _names_withdrawn(self, label: Label) -> bool:
        """An unresolved label that names a withdrawn person is theirs: leave it out."""
        parts = [label.head, *([label.inner] if label.inner else [])]
        return any(self.withdrawals.match(part) for part in parts)

    def _resolve(self, label: Label, paragraph: str) -> Attribution:
        rest = label.rest
        action = is_action(rest)
        head_people = self.attendees.match(label.head)
        head_role = role_word(label.head)
        inner_people = self.attendees.match(label.inner) if label.inner else []
        inner_role = role_word(label.inner) if label.inner else None

        people = head_people or inner_people
        role = head_role or inner_role
        if len(people) > 1 and role is not None:
            people = [person for person in people if person.role == role] or people
        if len(people) == 1:
            person = people[0]
            problem = None
            if role is not None and person.role != role:
                problem = (
                    f"speaker label's role differs from the attendee's role in event "
                    f"{self.event_id}; the manifest's role is used"
                )
            return Attribution(
                text=rest,
                speaker=person,
                stakeholder_group=person.role,
                is_action=action,
                withdrawn=self._is_withdrawn(person),
                problem=problem,
            )
        if len(people) > 1:
            return Attribution(
                text=paragraph,
                withdrawn=self._names_withdrawn(label),
                problem=(
                    f"speaker label matches more than one attendee of event {self.event_id}; "
                    "loaded with unknown speaker"
                ),
            )
        if role is not None:
            return self._resolve_role(label, role, rest, action)
        return Attribution(
            text=paragraph,
            withdrawn=self._names_withdrawn(label),
            problem=(
                f"paragraph opens with a speaker label that matches no attendee of event "
                f"{self.event_id}; loaded with unknown speaker and the text as written"
            ),
        )

    def _resolve_role(self, label: Label, role: str, rest: str, action: bool) -> Attribution:
        """`Carer:` is the carers' voice; it is one person only if one carer attended."""
        named_someone = label.inner is not None and role_word(label.inner) is None
        holders: Sequence[Person] = self.attendees.with_role(role)
        if len(holders) == 1 and not named_someone:
            return Attribution(
                text=rest,
                speaker=holders[0],
                stakeholder_group=role,
                is_action=action,
                withdrawn=self._is_withdrawn(holders[0]),
            )
        problem = None
        if named_someone:
            problem = (
                f"the name or initials in a speaker label match no attendee of event "
                f"{self.event_id}; loaded with the label's role and unknown speaker"
            )
        return Attribution(
            text=rest,
            stakeholder_group=role,
            is_action=action,
            withdrawn=self._names_withdrawn(label),
            problem=problem,
        )
