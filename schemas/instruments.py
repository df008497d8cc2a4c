"""Survey instruments: which items a survey asks and which answers each item accepts.

Instruments are data: `schemas/instruments/<instrument-id>.yaml`, one file each, so a new
instrument is a new file and never a code change. This module only knows the item types
(`likert5`, `single_choice`, `free_text`, `number`) and how answers are compared: case,
accents, punctuation and spacing never matter, so `Asian or Asian British: Pakistani`,
`asian - pakistani` and `Pakistani` reach the same option.
"""

from __future__ import annotations

import math
import re
import unicodedata
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)

from schemas.contract import is_slug

ITEM_TYPES = ("likert5", "single_choice", "free_text", "number")
ITEM_ID_PATTERN = r"^[a-z][a-z0-9_]*$"
INSTRUMENTS_DIR = Path(__file__).resolve().parent / "instruments"

# The contract fixes the likert5 scale (raw-submission.md, Surveys); an item may still
# bring its own five options, e.g. an ease scale instead of an agreement scale.
AGREEMENT_LABELS = (
    "Strongly disagree",
    "Disagree",
    "Neither agree nor disagree",
    "Agree",
    "Strongly agree",
)


class InstrumentError(ValueError):
    """An instrument file is missing or does not describe a usable instrument."""


class InstrumentNotFoundError(InstrumentError, LookupError):
    """No file defines the instrument a manifest names."""


def answer_key(text: str) -> str:
    """The form answers are compared in: no case, accents, punctuation or extra spaces.

    `+` is kept so that `65+` stays distinct from `65`.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(re.findall(r"[^\W_]+|\+", plain.casefold()))


def _integral_text(text: str) -> str:
    """`4.0` (a number cell written out by a CSV export) means the option `4`."""
    try:
        number = float(text)
    except ValueError:
        return text
    if math.isfinite(number) and number.is_integer():
        return str(int(number))
    return text


def _number_text(number: float) -> str:
    return str(int(number)) if number.is_integer() else repr(number)


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


class Option(_Frozen):
    """One answer an item accepts: its canonical `value` and what people write for it."""

    value: str = Field(min_length=1)
    label: str | None = None
    aliases: tuple[str, ...] = ()
    group: str | None = None
    score: float | None = None

    def spellings(self) -> tuple[str, ...]:
        return (self.value, *((self.label,) if self.label else ()), *self.aliases)


class OptionGroup(_Frozen):
    """A higher-level group of options (e.g. the ONS high-level ethnic groups).

    An answer may name the group before the option (`White: Roma`); results may be
    generalised to the group when the options' counts are small.
    """

    value: str = Field(min_length=1)
    label: str
    aliases: tuple[str, ...] = ()

    def spellings(self) -> tuple[str, ...]:
        return (self.value, self.label, *self.aliases)


class NormalisedAnswer(_Frozen):
    """An answer in canonical form; `value` None means the answer was left empty."""

    value: str | None
    score: float | None = None
    group: str | None = None

    @property
    def is_missing(self) -> bool:
        return self.value is None


MISSING = NormalisedAnswer(value=None)


class Item(_Frozen):
    id: Annotated[str, Field(pattern=ITEM_ID_PATTERN)]
    question: str = Field(min_length=1)
    type: Literal[ITEM_TYPES]  # type: ignore[valid-type]
    required: bool = False
    options: tuple[Option, ...] = ()
    groups: tuple[OptionGroup, ...] = ()
    minimum: float | None = None
    maximum: float | None = None

    _lookup: dict[str, Option] = PrivateAttr(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _default_likert_scale(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("type") == "likert5" and not data.get("options"):
            return {**data, "options": _agreement_options()}
        return data

    @model_validator(mode="after")
    def _check_options(self) -> Item:
        if self.type in ("likert5", "single_choice") and not self.options:
            raise ValueError(f"item {self.id}: a {self.type} item needs options")
        if self.type in ("free_text", "number") and (self.options or self.groups):
            raise ValueError(f"item {self.id}: a {self.type} item takes no options")
        if self.type == "likert5":
            scores = sorted(option.score or 0.0 for option in self.options)
            if scores != [1.0, 2.0, 3.0, 4.0, 5.0]:
                raise ValueError(f"item {self.id}: likert5 options must score 1 to 5")
        group_values = {group.value for group in self.groups}
        for option in self.options:
            if option.group is not None and option.group not in group_values:
                raise ValueError(f"item {self.id}: option {option.value} names unknown group")
        self._lookup = self._index_spellings()
        return self

    def _index_spellings(self) -> dict[str, Option]:
        """Every spelling of every option, once; two options answering to one is an error."""
        groups = {group.value: group for group in self.groups}
        lookup: dict[str, Option] = {}
        for option in self.options:
            spellings = list(option.spellings())
            if option.group is not None:
                spellings += [
                    f"{prefix} {spelling}"
                    for prefix in groups[option.group].spellings()
                    for spelling in option.spellings()
                ]
            for spelling in spellings:
                known = lookup.setdefault(answer_key(spelling), option)
                if known is not option:
                    raise ValueError(
                        f"item {self.id}: options {known.value} and {option.value} "
                        f"share the spelling {spelling!r}"
                    )
        return lookup

    def normalise(self, raw: object) -> NormalisedAnswer | None:
        """The canonical answer; `MISSING` when empty; None when the item does not accept it."""
        text = "" if raw is None else str(raw).strip()
        if not text:
            return MISSING
        if self.type == "free_text":
            return NormalisedAnswer(value=text)
        if self.type == "number":
            return self._normalise_number(text)
        option = self._lookup.get(answer_key(_integral_text(text)))
        if option is None:
            return None
        return NormalisedAnswer(value=option.value, score=option.score, group=option.group)

    def _normalise_number(self, text: str) -> NormalisedAnswer | None:
        try:
            number = float(text)
        except ValueError:
            return None
        if not math.isfinite(number):
            return None
        if self.minimum is not None and number < self.minimum:
            return None
        if self.maximum is not None and number > self.maximum:
            return None
        return NormalisedAnswer(value=_number_text(number), score=number)

    def accepts(self, value: object) -> bool:
        """Whether a stored answer is valid: one of the item's values, or empty when optional."""
        answer = self.normalise(value)
        if answer is None:
            return False
        return not (answer.is_missing and self.required)

    def option(self, value: str) -> Option | None:
        """The option with this canonical value (for its label and group), or None."""
        return next((option for option in self.options if option.value == value), None)


def _agreement_options() -> list[dict[str, Any]]:
    options = []
    for score, label in enumerate(AGREEMENT_LABELS, start=1):
        aliases = [f"{score} {label}", f"{label} {score}"]
        if score == 3:
            aliases += ["Neutral", "Neither"]
        options.append({"value": str(score), "label": label, "aliases": aliases, "score": score})
    return options


class Instrument(_Frozen):
    id: Annotated[str, Field(min_length=1)]
    title: str
    version: str | None = None
    description: str | None = None
    items: tuple[Item, ...]

    @model_validator(mode="after")
    def _unique_items(self) -> Instrument:
        ids = [item.id for item in self.items]
        repeated = sorted({item_id for item_id in ids if ids.count(item_id) > 1})
        if repeated:
            raise ValueError(f"item ids repeat: {', '.join(repeated)}")
        if not is_slug(self.id):
            raise ValueError("instrument id must be a lower-case slug")
        return self

    @property
    def items_by_id(self) -> dict[str, Item]:
        return {item.id: item for item in self.items}

    def item(self, item_id: str) -> Item:
        """The item with this id; KeyError if the instrument has none."""
        return self.items_by_id[item_id]


def load_instrument(instrument_id: str, instruments_dir: Path = INSTRUMENTS_DIR) -> Instrument:
    """Read `<instruments_dir>/<instrument_id>.yaml`; raises InstrumentError when unusable."""
    if not is_slug(instrument_id):
        raise InstrumentError("an instrument id is a lower-case slug")
    path = Path(instruments_dir) / f"{instrument_id}.yaml"
    if not path.is_file():
        raise InstrumentNotFoundError(f"instrument {instrument_id} is not defined in {path}")
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, ValueError) as error:
        raise InstrumentError(f"{path} is not valid YAML: {error}") from error
    try:
        instrument = Instrument.model_validate(content)
    except ValidationError as error:
        raise InstrumentError(f"{path} does not define an instrument: {error}") from error
    if instrument.id != instrument_id:
        raise InstrumentError(f"{path} defines instrument {instrument.id}, not {instrument_id}")
    return instrument


class InstrumentRegistry:
    """The instruments of one folder, each loaded once, as the later stages ask about them.

    Validation asks whether a stored answer is valid (`accepts`) and which items a response
    must answer (`required`).
    """

    def __init__(self, instruments_dir: Path = INSTRUMENTS_DIR) -> None:
        self.instruments_dir = Path(instruments_dir)
        self._loaded: dict[str, Instrument] = {}

    def get(self, instrument_id: str) -> Instrument:
        """The instrument; raises InstrumentError (InstrumentNotFoundError if undefined)."""
        if instrument_id not in self._loaded:
            self._loaded[instrument_id] = load_instrument(instrument_id, self.instruments_dir)
        return self._loaded[instrument_id]

    def accepts(self, instrument_id: str, item_id: str, value: object) -> bool:
        """Whether `value` is valid for the item; never for an unknown instrument or item."""
        try:
            item = self.get(instrument_id).items_by_id.get(item_id)
        except InstrumentNotFoundError:
            return False
        return item is not None and item.accepts(value)

    def required(self, instrument_id: str) -> list[str]:
        """Ids of the items every response must answer ([] for an unknown instrument)."""
        try:
            return [item.id for item in self.get(instrument_id).items if item.required]
        except InstrumentNotFoundError:
            return []
