"""pydantic models of `round.yaml` and `manifest.yaml` (shared/contracts/raw-submission.md).

The contract is the floor: every key it names is read as it describes, unknown keys are
kept (a later contract version may add some), and closed vocabularies are accepted in the
spellings data managers use (`Service user` for `service_user`). Error texts built here
never quote a value from the file: manifests hold real names.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from schemas.contract import EVENT_TYPES, ROLES, ROUND_KINDS, SLUG_PATTERN, is_slug, role_slug

MAX_YAML_BYTES = 2**20
"""The largest round.yaml or manifest.yaml read: 1 MiB holds 400 events of 40 attendees
each, several years of a busy site. PyYAML reads about 0.4 MiB a second and a manifest is
read a few times a run (the round's roster, its event ids), so this keeps a crafted one to
seconds."""

MAX_YAML_VALUES = 1_000_000
"""The most values (scalars, lists, mappings) a YAML file may hold once its aliases
(`*name`) are expanded. A few aliases can stand for a billion values ("billion laughs");
any code that walks the expanded document would never finish. Written out, MAX_YAML_BYTES
holds at most about 500,000 (`[a,a,a,...]`), a real manifest under 100,000."""

# Invisible formatting characters (Unicode category Cf): zero-width spaces and joiners,
# soft hyphens, direction marks, byte order marks. Text pasted from e-mail or the web
# carries them (right-to-left names often with direction marks); inside a name they stop it
# matching the roster while nothing a reader sees changes, so every text read drops them.
_INVISIBLE = re.compile(
    "[" + "".join(chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) == "Cf") + "]"
)


def visible_text(text: str) -> str:
    """`text` without invisible formatting characters (see `_INVISIBLE`)."""
    return _INVISIBLE.sub("", text)


def _check_slug(value: str) -> str:
    if not is_slug(value):
        raise ValueError(f"must be a lower-case slug ({SLUG_PATTERN})")
    return value


def _vocabulary_word(value: object) -> object:
    """`Local workshop` and `local-workshop` mean `local_workshop`: data managers type these."""
    if isinstance(value, str):
        return re.sub(r"[\s-]+", "_", value.strip().casefold())
    return value


def _role_word(value: object) -> object:
    if isinstance(value, str):
        return role_slug(value) or value
    return value


def _none_as_empty_list(value: object) -> object:
    """`withdrawals:` with nothing under it is YAML null; it means 'none'."""
    return [] if value is None else value


def _withdrawal_entries(value: object) -> object:
    """`- Tom Whitfield` is read as `- name: Tom Whitfield`: the name is all a withdrawal needs."""
    if isinstance(value, list):
        return [{"name": entry} if isinstance(entry, str) else entry for entry in value]
    return _none_as_empty_list(value)


def _none_as_empty_dict(value: object) -> object:
    return {} if value is None else value


def _visible(value: object) -> object:
    """Names are matched against the minutes' text, which loses its invisible characters."""
    return visible_text(value) if isinstance(value, str) else value


Slug = Annotated[str, AfterValidator(_check_slug)]
Role = Annotated[Literal[ROLES], BeforeValidator(_role_word)]  # type: ignore[valid-type]
EventType = Annotated[Literal[EVENT_TYPES], BeforeValidator(_vocabulary_word)]  # type: ignore[valid-type]
RoundKind = Annotated[Literal[ROUND_KINDS], BeforeValidator(_vocabulary_word)]  # type: ignore[valid-type]
NonEmptyText = Annotated[str, Field(min_length=1)]
Name = Annotated[str, BeforeValidator(_visible), Field(min_length=1)]


class _Open(BaseModel):
    """Unknown keys are allowed (the contract may grow); bare YAML numbers are read as text."""

    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True, str_strip_whitespace=True)


class Period(_Open):
    start: dt.date
    end: dt.date


class Round(_Open):
    """`round.yaml`: one per round folder."""

    round: Slug
    title: NonEmptyText
    kind: RoundKind
    period: Period | None = None
    reviews: Slug | None = None


class Attendee(_Open):
    name: Name
    role: Role
    initials: Annotated[str | None, BeforeValidator(_visible)] = None


class Event(_Open):
    id: Slug
    type: EventType
    date: dt.date
    minutes: NonEmptyText | None = None
    attendees: Annotated[list[Attendee], BeforeValidator(_none_as_empty_list)] = []


class SurveySpec(_Open):
    file: NonEmptyText
    instrument: Slug
    columns: Annotated[dict[str, str], BeforeValidator(_none_as_empty_dict)] = {}

    @field_validator("columns")
    @classmethod
    def _trim_headers(cls, columns: dict[str, str]) -> dict[str, str]:
        """Export headers are compared after trimming, so the mapping is trimmed too."""
        return {header.strip(): item_id.strip() for header, item_id in columns.items()}


class Withdrawal(_Open):
    name: Name


class Manifest(_Open):
    """`manifest.yaml`: one per site per round."""

    site: Slug
    round: Slug
    events: Annotated[list[Event], BeforeValidator(_none_as_empty_list)] = []
    surveys: Annotated[list[SurveySpec], BeforeValidator(_none_as_empty_list)] = []
    withdrawals: Annotated[list[Withdrawal], BeforeValidator(_withdrawal_entries)] = []


class SubmissionFileError(ValueError):
    """A YAML file of the submission cannot be used; `locator` says where, `reason` why.

    Neither ever quotes the file's content.
    """

    def __init__(self, locator: str, reason: str) -> None:
        super().__init__(f"{locator}: {reason}")
        self.locator = locator
        self.reason = reason


NOT_TEXT = "not readable as UTF-8 or Windows-1252 text"


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _utf8_line(data: bytes) -> int | None:
    """The first line that is UTF-8 with a character beyond ASCII, if any."""
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.isascii():
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                continue
            return number
    return None


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM) first, then Windows-1252, as Notepad and Excel save them.

    Raises UnicodeDecodeError, whose `reason` is safe to report, when neither fits; for NUL
    bytes, which mean a binary or UTF-16 file that Windows-1252 would turn into garbage; and
    for a file that mixes UTF-8 lines with Windows-1252 ones (rows pasted from two exports):
    read as Windows-1252, its UTF-8 names would turn into mojibake that no roster matches.
    """
    nul = data.find(b"\x00")
    if nul >= 0:
        reason = f"{NOT_TEXT}: a NUL byte on line {_line_of(data, nul)} (a binary or UTF-16 file)"
        raise UnicodeDecodeError("utf-8", data, nul, nul + 1, reason)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        not_utf8 = error.start
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError as error:
        raise UnicodeDecodeError("cp1252", data, error.start, error.end, NOT_TEXT) from None
    utf8 = _utf8_line(data)
    if utf8 is not None:
        reason = (
            f"mixes UTF-8 text (line {utf8}) with Windows-1252 text (line "
            f"{_line_of(data, not_utf8)}); save it again in one encoding, e.g. UTF-8"
        )
        raise UnicodeDecodeError("utf-8", data, not_utf8, not_utf8 + 1, reason)
    return text


def _where(mark: yaml.Mark | None) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark else "file"


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


_SAFE_TAGS = frozenset(
    {tag for tag in yaml.constructor.SafeConstructor.yaml_constructors if tag}
    | {"tag:yaml.org,2002:merge", "tag:yaml.org,2002:value"}
)


def check_nodes(root: yaml.Node) -> None:
    """Refuse a node tree that could not be read safely, before anything is built from it.

    Aliases make the tree a graph: each node is visited once and its size when expanded
    is summed from its children's, so a billion laughs is measured without being expanded.
    Raises SubmissionFileError for an expansion beyond MAX_YAML_VALUES, an alias inside
    the value it names, and a tag that builds an object (`!!python/object:...`).
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    pending: list[tuple[yaml.Node, bool]] = [(root, False)]
    while pending:
        node, children_done = pending.pop()
        key = id(node)
        if children_done:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            if sizes[key] > MAX_YAML_VALUES:
                raise SubmissionFileError(
                    _where(node.start_mark),
                    f"its aliases (*name) expand it to more than {MAX_YAML_VALUES:,} values "
                    "(a 'billion laughs'); write the values out instead",
                )
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise SubmissionFileError(
                _where(node.start_mark), "an alias (*name) stands inside the value it names"
            )
        if node.tag not in _SAFE_TAGS:
            raise SubmissionFileError(
                _where(node.start_mark),
                "a YAML tag (!...) that would build an object; only plain values are read",
            )
        open_nodes.add(key)
        pending.append((node, True))
        pending.extend((child, False) for child in _children(node))


class _CheckedLoader(yaml.CSafeLoader):
    """`yaml.CSafeLoader` that runs `check_nodes` on a document before constructing it.

    libyaml parses about ten times as fast as PyYAML's pure-Python parser (a manifest is
    read by every site's run of its round), and refuses nesting deeper than 1,000 levels
    itself, before any Python recursion.
    """

    def construct_document(self, node: yaml.Node) -> Any:
        check_nodes(node)
        return super().construct_document(node)


def _impossible_value(text: str) -> str:
    """Where a scalar YAML cannot turn into a value (`date: 2024-13-45`), found on the node
    tree (`yaml.compose` builds no Python objects, so this stays safe); a node an alias
    repeats is looked at once."""
    constructor = yaml.constructor.SafeConstructor()
    pending = [yaml.compose(text, Loader=yaml.SafeLoader)]
    seen: set[int] = set()
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            try:
                constructor.construct_object(node, deep=True)
            except (ValueError, yaml.YAMLError):
                return _where(node.start_mark)
        pending.extend(_children(node))
    return "file"


def load_yaml(data: bytes) -> Any:
    """Parse YAML safely (no object tags, bounded aliases); errors by line and column only."""
    if len(data) > MAX_YAML_BYTES:
        raise SubmissionFileError(
            "file",
            f"is {len(data) / 2**20:,.1f} MiB, more than the {MAX_YAML_BYTES // 2**20} MiB "
            "a round.yaml or manifest.yaml may be",
        )
    try:
        text = decode_text(data)
    except UnicodeDecodeError as error:
        raise SubmissionFileError("file", error.reason) from error
    try:
        return yaml.load(text, Loader=_CheckedLoader)
    except SubmissionFileError:
        raise
    except yaml.MarkedYAMLError as error:
        where = _where(error.problem_mark or error.context_mark)
        if "maximum nesting depth" in str(error.problem):
            raise SubmissionFileError(where, "nested too deeply to be read") from error
        raise SubmissionFileError(where, "not valid YAML (syntax error)") from error
    except yaml.YAMLError as error:
        raise SubmissionFileError("file", "not valid YAML") from error
    except RecursionError as error:
        raise SubmissionFileError("file", "nested too deeply to be read") from error
    except ValueError as error:
        raise SubmissionFileError(
            _impossible_value(text), "a value cannot be read (e.g. an impossible date)"
        ) from error


def _locator(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(f".{part}" if parts else str(part))
    return "".join(parts) or "file"


MAX_PLACES_LISTED = 20
"""How many further places a reason lists: a manifest wrong in every one of thousands of
entries still gets a reason a person can read."""


def describe_validation_error(error: ValidationError) -> tuple[str, str]:
    """(locator, reason) of the first problem, without the offending value (it may be a name)."""
    details = error.errors(include_input=False, include_url=False, include_context=False)
    first, *others = details
    shown = [_locator(tuple(d["loc"])) for d in others[:MAX_PLACES_LISTED]]
    if len(others) > MAX_PLACES_LISTED:
        shown.append(f"and {len(others) - MAX_PLACES_LISTED:,} more")
    also = "; also at " + ", ".join(shown) if others else ""
    return _locator(tuple(first["loc"])), f"{first['msg']}{also}"


def _parse(model: type[BaseModel], data: bytes, what: str) -> Any:
    content = load_yaml(data)
    if content is None:
        raise SubmissionFileError("file", f"{what} is empty")
    if not isinstance(content, dict):
        raise SubmissionFileError("file", f"{what} must be a mapping of keys to values")
    try:
        return model.model_validate(content)
    except ValidationError as error:
        raise SubmissionFileError(*describe_validation_error(error)) from error


def parse_round(data: bytes) -> Round:
    """`round.yaml` from its bytes; raises SubmissionFileError."""
    return _parse(Round, data, "round.yaml")


def parse_manifest(data: bytes) -> Manifest:
    """`manifest.yaml` from its bytes; raises SubmissionFileError."""
    return _parse(Manifest, data, "manifest.yaml")
