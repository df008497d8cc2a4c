"""pydantic models of `round.yaml` and `manifest.yaml` (shared/contracts/raw-submission.md).

The contract is the floor: every key it names is read as it describes, unknown keys are
kept (a later contract version may add some), and closed vocabularies are accepted in the
spellings data managers use (`Service user` for `service_user`). Error texts built here
never quote a value from the file: manifests hold real names.
"""

from __future__ import annotations

import datetime as dt
import re
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


Slug = Annotated[str, AfterValidator(_check_slug)]
Role = Annotated[Literal[ROLES], BeforeValidator(_role_word)]  # type: ignore[valid-type]
EventType = Annotated[Literal[EVENT_TYPES], BeforeValidator(_vocabulary_word)]  # type: ignore[valid-type]
RoundKind = Annotated[Literal[ROUND_KINDS], BeforeValidator(_vocabulary_word)]  # type: ignore[valid-type]
NonEmptyText = Annotated[str, Field(min_length=1)]


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
    name: NonEmptyText
    role: Role
    initials: str | None = None


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
    name: NonEmptyText


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


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM) first, then Windows-1252, as Notepad and Excel save them.

    Raises UnicodeDecodeError when neither fits, and for NUL bytes, which mean a binary
    or UTF-16 file that Windows-1252 would otherwise turn into garbage.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252")
    if "\x00" in text:
        raise UnicodeDecodeError("cp1252", data, 0, 1, "NUL byte: not a text file")
    return text


def _where(mark: yaml.Mark | None) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark else "file"


def _impossible_value(text: str) -> str:
    """Where a scalar YAML cannot turn into a value (`date: 2024-13-45`), found on the node
    tree (`yaml.compose` builds no Python objects, so this stays safe)."""
    constructor = yaml.constructor.SafeConstructor()
    pending = [yaml.compose(text, Loader=yaml.SafeLoader)]
    while pending:
        node = pending.pop()
        if isinstance(node, yaml.ScalarNode):
            try:
                constructor.construct_object(node, deep=True)
            except (ValueError, yaml.YAMLError):
                return _where(node.start_mark)
        elif isinstance(node, yaml.SequenceNode):
            pending.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            pending.extend(part for pair in node.value for part in pair)
    return "file"


def load_yaml(data: bytes) -> Any:
    """Parse YAML with `yaml.safe_load`; errors are reported by line and column only."""
    try:
        text = decode_text(data)
    except UnicodeDecodeError as error:
        raise SubmissionFileError("file", "not readable as UTF-8 or Windows-1252 text") from error
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        where = _where(error.problem_mark or error.context_mark)
        raise SubmissionFileError(where, "not valid YAML (syntax error)") from error
    except yaml.YAMLError as error:
        raise SubmissionFileError("file", "not valid YAML") from error
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


def describe_validation_error(error: ValidationError) -> tuple[str, str]:
    """(locator, reason) of the first problem, without the offending value (it may be a name)."""
    details = error.errors(include_input=False, include_url=False, include_context=False)
    first, *others = details
    also = "; also at " + ", ".join(_locator(tuple(d["loc"])) for d in others) if others else ""
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
