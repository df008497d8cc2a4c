"""Scoring any anonymiser against the labelled corpus in tests/anonymiser_eval/.

The corpus is written with inline markup (tests/anonymiser_eval/README.md):
`[[person/<origin>:Name]]` and `[[<identifier>:value]]` mark what must be removed,
`{{<category>:term}}` what must be kept. `load_corpus` turns it into plain text with
gold spans; `evaluate` runs a detector over it and counts.

Recall is judged on characters, not on span boundaries: a gold entity counts as removed
only when every non-whitespace character of it is covered by some predicted span, of
any type, because a name replaced by an address placeholder is gone, while half a name
left in the text is a leak. This module deliberately shares no word lists or folding
code with the anonymiser, so that it cannot agree with the anonymiser's mistakes.
"""

from __future__ import annotations

import dataclasses
import numbers
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import pandas as pd
import yaml

from schemas.contract import ROLES, is_slug

ORIGINS = (
    "south_asian",
    "east_african",
    "west_african",
    "caribbean",
    "east_european",
    "arab",
    "turkish",
    "chinese",
    "irish",
    "white_british",
)
IDENTIFIER_TYPES = (
    "email",
    "phone",
    "nhs_number",
    "ni_number",
    "postcode",
    "street_address",
    "date_of_birth",
)
ENTITY_TYPES = ("person", *IDENTIFIER_TYPES)
KEEP_CATEGORIES = (
    "ethnic_group",
    "nationality",
    "religion",
    "language",
    "place_of_worship",
    "organisation",
    "area",
    "service",
    "other_term",
)
DOCUMENT_KINDS = ("minutes", "survey_answer", "action_plan")
ROUND_ID = "eval"
ROSTER_COLUMNS = ("round_id", "site_id", "name", "role", "initials")
ON_ROSTER = "on_roster"
NOT_ON_ROSTER = "not_on_roster"

_ANY_MARKUP = re.compile(r"\[\[.*?\]\]|\{\{.*?\}\}", re.DOTALL)
_STRAY = re.compile(r"\[\[|\]\]|\{\{|\}\}")
_DOCUMENT_FIELDS = frozenset({"id", "kind", "site", "roster", "text"})
_ROSTER_FIELDS = frozenset({"name", "role", "initials"})
# Letters NFKD leaves whole (l with stroke, dotless i, o with stroke, d with stroke), which
# people who cannot type them write bare, and the curly apostrophe.
_BARE_LETTERS = str.maketrans(
    {"\u0142": "l", "\u0131": "i", "\u00f8": "o", "\u0111": "d", "\u2019": "'"}
)


class CorpusError(ValueError):
    """Bad markup or a bad document: the message names the file and the document id."""


@dataclasses.dataclass(frozen=True)
class GoldSpan:
    """Something the anonymiser must remove, as characters [start, end) of the plain text.

    `origin` is the name's origin for people (None for identifiers); `on_roster` says
    whether the mention is of someone on the document's attendance list.
    """

    start: int
    end: int
    entity_type: str
    origin: str | None = None
    on_roster: bool | None = None


@dataclasses.dataclass(frozen=True)
class KeepTerm:
    """A term the analysis needs, which the anonymiser must leave alone."""

    start: int
    end: int
    category: str


@dataclasses.dataclass(frozen=True, eq=False)
class EvalDocument:
    """One labelled document: what a detector sees (text, roster) and the gold labels."""

    id: str
    kind: str
    site_id: str
    text: str
    roster: pd.DataFrame
    entities: list[GoldSpan]
    keep_terms: list[KeepTerm]


Prediction = tuple[int, int, str]
Detector = Callable[[EvalDocument], Iterable[Prediction]]


@dataclasses.dataclass(frozen=True)
class Rate:
    """hits out of total; `value` is None when there was nothing to count."""

    hits: int
    total: int

    @property
    def value(self) -> float | None:
        return self.hits / self.total if self.total else None

    def __add__(self, other: Rate) -> Rate:
        return Rate(self.hits + other.hits, self.total + other.total)


@dataclasses.dataclass(frozen=True)
class Miss:
    """One mistake, for debugging: a leak, a false positive or a removed keep term.

    Only ever about the synthetic corpus, so the text may be shown.
    """

    document_id: str
    kind: str
    label: str
    start: int
    end: int
    text: str


@dataclasses.dataclass(frozen=True)
class EvalReport:
    """Counts behind every figure, keyed in the fixed order of the vocabularies above."""

    documents: int
    characters: int
    recall: dict[str, Rate]
    precision: dict[str, Rate]
    recall_by_origin: dict[str, Rate]
    recall_by_roster: dict[str, Rate]
    kept: dict[str, Rate]
    misses: tuple[Miss, ...]

    @property
    def overall_recall(self) -> Rate:
        return sum(self.recall.values(), Rate(0, 0))

    @property
    def overall_precision(self) -> Rate:
        return sum(self.precision.values(), Rate(0, 0))

    @property
    def overall_kept(self) -> Rate:
        return sum(self.kept.values(), Rate(0, 0))


def parse_markup(marked: str) -> tuple[str, list[GoldSpan], list[KeepTerm]]:
    """Plain text and the labelled spans in it; raise CorpusError on any bad markup."""
    pieces: list[str] = []
    entities: list[GoldSpan] = []
    keep_terms: list[KeepTerm] = []
    length = 0
    position = 0
    for match in _ANY_MARKUP.finditer(marked):
        before = marked[position : match.start()]
        _refuse_stray(before, marked, position)
        pieces.append(before)
        length += len(before)
        label, value = _label_and_value(match.group(0), match.start())
        start, end = length, length + len(value)
        if match.group(0).startswith("[["):
            entities.append(_gold_span(label, start, end, match.start()))
        else:
            keep_terms.append(_keep_term(label, start, end, match.start()))
        pieces.append(value)
        length = end
        position = match.end()
    _refuse_stray(marked[position:], marked, position)
    pieces.append(marked[position:])
    return "".join(pieces), entities, keep_terms


def _refuse_stray(chunk: str, marked: str, offset: int) -> None:
    stray = _STRAY.search(chunk)
    if stray:
        at = offset + stray.start()
        raise CorpusError(f"unbalanced {stray.group(0)!r} at {_where(marked, at)}")


def _where(marked: str, at: int) -> str:
    line = marked.count("\n", 0, at) + 1
    return f"line {line} of the text, near {marked[max(0, at - 20) : at + 30]!r}"


def _label_and_value(markup: str, at: int) -> tuple[str, str]:
    inner = markup[2:-2]
    label, colon, value = inner.partition(":")
    if not colon:
        raise CorpusError(f"no ':' between label and value in {markup!r} (offset {at})")
    if not value.strip():
        raise CorpusError(f"empty value in {markup!r} (offset {at})")
    if value != value.strip():
        raise CorpusError(f"whitespace around the value in {markup!r} (offset {at})")
    if _STRAY.search(value):
        raise CorpusError(f"markup inside markup in {markup!r} (offset {at})")
    return label, value


def _gold_span(label: str, start: int, end: int, at: int) -> GoldSpan:
    entity_type, slash, origin = label.partition("/")
    if entity_type == "person":
        if origin not in ORIGINS:
            raise CorpusError(
                f"person mention at offset {at} needs an origin, one of {', '.join(ORIGINS)};"
                f" got {label!r}"
            )
        return GoldSpan(start, end, "person", origin)
    if slash or entity_type not in IDENTIFIER_TYPES:
        raise CorpusError(
            f"unknown entity {label!r} at offset {at}; use person/<origin> or one of"
            f" {', '.join(IDENTIFIER_TYPES)}"
        )
    return GoldSpan(start, end, entity_type)


def _keep_term(label: str, start: int, end: int, at: int) -> KeepTerm:
    if label not in KEEP_CATEGORIES:
        raise CorpusError(
            f"unknown keep category {label!r} at offset {at}; use one of"
            f" {', '.join(KEEP_CATEGORIES)}"
        )
    return KeepTerm(start, end, label)


def load_corpus(folder: Path) -> list[EvalDocument]:
    """Every document of every *.yaml file in the folder, in file then document order."""
    files = sorted(Path(folder).glob("*.yaml"))
    if not files:
        raise CorpusError(f"{folder}: no *.yaml corpus files")
    documents: list[EvalDocument] = []
    seen: dict[str, str] = {}
    for path in files:
        for document in _load_file(path):
            if document.id in seen:
                raise CorpusError(
                    f"{path.name}: document {document.id!r}: id already used in {seen[document.id]}"
                )
            seen[document.id] = path.name
            documents.append(document)
    return documents


def _load_file(path: Path) -> list[EvalDocument]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise CorpusError(f"{path.name}: not valid YAML: {error}") from error
    if not isinstance(raw, list):
        raise CorpusError(f"{path.name}: must hold a list of documents")
    documents = []
    for index, entry in enumerate(raw):
        label = entry.get("id") if isinstance(entry, Mapping) else None
        try:
            documents.append(parse_document(entry))
        except CorpusError as error:
            name = repr(label) if label is not None else f"number {index + 1}"
            raise CorpusError(f"{path.name}: document {name}: {error}") from error
    return documents


def parse_document(entry: object) -> EvalDocument:
    """One document from its YAML mapping; errors say what is wrong, not where."""
    if not isinstance(entry, Mapping):
        raise CorpusError("a document must be a mapping")
    unknown = set(entry) - _DOCUMENT_FIELDS
    if unknown:
        raise CorpusError(f"unknown fields {sorted(unknown)}")
    document_id = entry.get("id")
    if not isinstance(document_id, str) or not is_slug(document_id):
        raise CorpusError(f"id must be a lower-case slug, got {document_id!r}")
    kind = entry.get("kind")
    if kind not in DOCUMENT_KINDS:
        raise CorpusError(f"kind must be one of {', '.join(DOCUMENT_KINDS)}, got {kind!r}")
    site_id = entry.get("site", ROUND_ID)
    if not is_slug(site_id):
        raise CorpusError(f"site must be a lower-case slug, got {site_id!r}")
    marked = entry.get("text")
    if not isinstance(marked, str) or not marked.strip():
        raise CorpusError("text is missing or empty")
    roster = _roster(entry.get("roster") or [], site_id)
    text, entities, keep_terms = parse_markup(marked)
    people = [_name_forms(row.name, row.initials) for row in roster.itertuples()]
    entities = [
        dataclasses.replace(
            span, on_roster=any(_names(text[span.start : span.end], forms) for forms in people)
        )
        if span.entity_type == "person"
        else span
        for span in entities
    ]
    return EvalDocument(document_id, kind, site_id, text, roster, entities, keep_terms)


def _roster(entries: object, site_id: str) -> pd.DataFrame:
    if not isinstance(entries, list):
        raise CorpusError("roster must be a list of {name, role, initials}")
    rows = []
    for entry in entries:
        if not isinstance(entry, Mapping) or set(entry) - _ROSTER_FIELDS:
            raise CorpusError(f"roster entry {entry!r} must have only name, role, initials")
        name, role, initials = entry.get("name"), entry.get("role"), entry.get("initials")
        if not isinstance(name, str) or not _tokens(name):
            raise CorpusError(f"roster entry {entry!r} has no name")
        if role not in ROLES:
            raise CorpusError(f"roster entry {name!r}: role must be one of {', '.join(ROLES)}")
        if initials is not None and not isinstance(initials, str):
            raise CorpusError(f"roster entry {name!r}: initials must be text")
        rows.append((ROUND_ID, site_id, name, role, initials))
    return pd.DataFrame(rows, columns=list(ROSTER_COLUMNS), dtype=object)


def _fold(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value.casefold().translate(_BARE_LETTERS))
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _tokens(value: str) -> list[str]:
    return re.sub(r"[-\s.]+", " ", _fold(value)).split()


def _name_forms(name: str, initials: str | None) -> tuple[set[str], set[str]]:
    """A roster person's name parts (and hyphenated parts run together), and initials."""
    parts = set(_tokens(name))
    parts.update("".join(_tokens(word)) for word in name.split())
    tokens = _tokens(name)
    initial_forms = {"".join(token[0] for token in tokens), tokens[0][0] + tokens[-1][0]}
    if initials:
        initial_forms.add("".join(_tokens(initials)))
    return parts, initial_forms


def _names(mention: str, forms: tuple[set[str], set[str]]) -> bool:
    """Whether a mention, however written, is this roster person."""
    parts, initials = forms
    tokens = _tokens(mention)
    return (
        all(token in parts or _initial_of(token, parts) for token in tokens)
        or "".join(tokens) in parts
        or "".join(tokens) in initials
    )


def _initial_of(token: str, parts: set[str]) -> bool:
    """'H' in 'H. Dhaliwal' or 'W' in 'Hodan W' stands for a part of the name."""
    return len(token) == 1 and any(part.startswith(token) for part in parts)


def evaluate(documents: Sequence[EvalDocument], detect: Detector) -> EvalReport:
    """Run the detector on every document and count hits against the gold labels."""
    recall = {entity_type: Rate(0, 0) for entity_type in ENTITY_TYPES}
    precision = {entity_type: Rate(0, 0) for entity_type in ENTITY_TYPES}
    by_origin = {origin: Rate(0, 0) for origin in ORIGINS}
    by_roster = {ON_ROSTER: Rate(0, 0), NOT_ON_ROSTER: Rate(0, 0)}
    kept = {category: Rate(0, 0) for category in KEEP_CATEGORIES}
    misses: list[Miss] = []
    for document in documents:
        predictions = _checked(document, detect(document))
        covered = bytearray(len(document.text))
        for start, end, _ in predictions:
            covered[start:end] = b"\x01" * (end - start)
        for span in document.entities:
            found = all(
                covered[index] or document.text[index].isspace()
                for index in range(span.start, span.end)
            )
            score = Rate(int(found), 1)
            recall[span.entity_type] += score
            if span.entity_type == "person":
                by_origin[span.origin] += score
                by_roster[ON_ROSTER if span.on_roster else NOT_ON_ROSTER] += score
            if not found:
                label = f"person/{span.origin}" if span.origin else span.entity_type
                misses.append(_miss(document, "leak", label, span.start, span.end))
        for start, end, entity_type in predictions:
            hit = any(_overlap(start, end, span.start, span.end) for span in document.entities)
            precision[entity_type] += Rate(int(hit), 1)
            if not hit:
                misses.append(_miss(document, "false_positive", entity_type, start, end))
        for term in document.keep_terms:
            intact = not any(
                _overlap(start, end, term.start, term.end) for start, end, _ in predictions
            )
            kept[term.category] += Rate(int(intact), 1)
            if not intact:
                misses.append(
                    _miss(document, "removed_keep_term", term.category, term.start, term.end)
                )
    return EvalReport(
        documents=len(documents),
        characters=sum(len(document.text) for document in documents),
        recall=recall,
        precision=precision,
        recall_by_origin=by_origin,
        recall_by_roster=by_roster,
        kept=kept,
        misses=tuple(misses),
    )


def _checked(document: EvalDocument, predictions: Iterable[Prediction]) -> list[Prediction]:
    """Predictions made unique and checked, so a detector's bug is not scored as a miss."""
    checked = []
    for prediction in dict.fromkeys(tuple(p) for p in predictions):
        if len(prediction) != 3:
            raise ValueError(f"document {document.id!r}: prediction {prediction!r} is not a triple")
        start, end, entity_type = prediction
        if entity_type not in ENTITY_TYPES:
            raise ValueError(
                f"document {document.id!r}: prediction {prediction!r} has entity type"
                f" {entity_type!r}; use one of {', '.join(ENTITY_TYPES)}"
            )
        integers = isinstance(start, numbers.Integral) and isinstance(end, numbers.Integral)
        if not (integers and 0 <= start < end <= len(document.text)):
            raise ValueError(
                f"document {document.id!r}: prediction {prediction!r} is not a span of its"
                f" {len(document.text)} characters"
            )
        checked.append((int(start), int(end), entity_type))
    return checked


def _overlap(start: int, end: int, other_start: int, other_end: int) -> bool:
    return start < other_end and other_start < end


def _miss(document: EvalDocument, kind: str, label: str, start: int, end: int) -> Miss:
    return Miss(document.id, kind, label, start, end, document.text[start:end])


def format_report(report: EvalReport) -> str:
    """The plain-text tables `ariadne eval-anonymiser` prints: counts and rates, no text."""
    entity_rows = [
        [
            entity_type,
            *_rate_cells(report.recall[entity_type]),
            *_rate_cells(report.precision[entity_type]),
        ]
        for entity_type in ENTITY_TYPES
    ]
    entity_rows.append(
        ["all", *_rate_cells(report.overall_recall), *_rate_cells(report.overall_precision)]
    )
    sections = [
        f"Anonymiser evaluation: {report.documents} documents, {report.characters:,} characters.\n"
        "An entity is removed only if all of it is covered; a prediction is correct if it"
        " overlaps an entity.",
        _table(
            ["entity", "gold", "removed", "recall", "predicted", "correct", "precision"],
            entity_rows,
        ),
        "Person mentions by name origin (recall)",
        _table(
            ["origin", "gold", "removed", "recall"],
            [[origin, *_rate_cells(rate)] for origin, rate in report.recall_by_origin.items()],
        ),
        "Person mentions by attendance list (recall)",
        _table(
            ["mention of", "gold", "removed", "recall"],
            [
                [key.replace("_", " "), *_rate_cells(rate)]
                for key, rate in report.recall_by_roster.items()
            ],
        ),
        "Terms the analysis needs (share kept)",
        _table(
            ["category", "terms", "kept", "share kept"],
            [
                *([category, *_rate_cells(rate)] for category, rate in report.kept.items()),
                ["all", *_rate_cells(report.overall_kept)],
            ],
        ),
    ]
    return "\n\n".join(sections) + "\n"


def format_misses(report: EvalReport) -> str:
    """Every mistake with its document and offsets: for debugging on the synthetic corpus."""
    return "\n".join(
        f"{miss.document_id}\t{miss.kind}\t{miss.label}\t{miss.start}-{miss.end}\t{miss.text!r}"
        for miss in report.misses
    )


def _rate_cells(rate: Rate) -> list[str]:
    value = "-" if rate.value is None else f"{rate.value:.1%}"
    return [str(rate.total), str(rate.hits), value]


def _table(header: list[str], rows: list[list[str]]) -> str:
    """Labels left-aligned, numbers right-aligned, each column as wide as its widest cell."""
    widths = [max(len(line[column]) for line in (header, *rows)) for column in range(len(header))]
    return "\n".join(
        "  ".join(
            cell.ljust(width) if column == 0 else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(line, widths, strict=True))
        )
        for line in (header, *rows)
    )


# The targets: every identifier found, names found in every origin group, and
# the analysis terms kept.
IDENTIFIER_RECALL_TARGET = 1.0
NAME_RECALL_TARGET = 0.99
KEPT_TARGET = 0.97


def shortfalls(report: EvalReport) -> list[str]:
    """Each target the report misses, in words; empty when every target is met."""
    problems = [
        f"{kind} recall {rate.value:.3f} < {IDENTIFIER_RECALL_TARGET}"
        for kind, rate in report.recall.items()
        if kind in IDENTIFIER_TYPES and rate.value is not None
        if rate.value < IDENTIFIER_RECALL_TARGET
    ]
    problems += [
        f"{origin} name recall {rate.value:.3f} < {NAME_RECALL_TARGET}"
        for origin, rate in report.recall_by_origin.items()
        if rate.value is not None and rate.value < NAME_RECALL_TARGET
    ]
    kept = report.overall_kept.value
    if kept is not None and kept < KEPT_TARGET:
        problems.append(f"analysis terms kept {kept:.3f} < {KEPT_TARGET}")
    return problems
