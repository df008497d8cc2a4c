"""The deductive rule coder: applies a codebook's themes and category cues to anonymised segments.

Directed content analysis (Hsieh and Shannon 2005) starts from codes found before; this
coder is its first, transparent pass. Every decision traces back to a phrase or token
pattern in the codebook, so an analyst can see why a segment got a theme and a
second coder (a person, or a later model) can be compared with it code by code.

Scoring. Each phrase or token pattern is one rule with a weight in (0, 1]. For a segment
and a theme, the score is the sum of the weights of the distinct rules of the theme and its
sub-codes that fired, each counted once however often it fires (repetition is not
evidence). The theme is assigned when the score reaches the codebook's `min_score`, and
its confidence is 1 - exp(-score): one full cue gives 0.63, two 0.86, three 0.95.
The same scoring ranks the category cues.

Vetoes. A rule hit is dropped when it overlaps an anonymisation placeholder (`[person]`,
`[carer-7f3a9c]`): what was redacted must never be evidence. It is also dropped when it
overlaps an exclusion of the same theme or category (`what a shame` for stigma,
`hasn't improved` for progress), or a longer hit of the same theme or category (a stretch
of text is evidence once: "peer support workers" is not also "peer support").
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import re
from collections.abc import Iterable, Iterator
from typing import Any

import pandas as pd
import pandera.errors
import pandera.pandas as pa
import spacy
from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc

from schemas.codebook import Categories, Codebook, Matching, RuleGroup
from schemas.tables import CodedSegments, SegmentThemes, empty

# Names the coding method in `segment_themes.coder`, beside the codebook version: a change
# to how rules are scored (not to the rules themselves) gets a new name here.
CODER = "rules-v1"

# Anonymised text marks what it removed with a bracketed slug: `[phone]`, `[person]`,
# `[carer-7f3a9c]`. Any such token is a placeholder, whatever the anonymiser calls it.
PLACEHOLDER = re.compile(r"\[[A-Za-z0-9_.-]+\]")

# Curly apostrophes become straight ones before matching (same length, so offsets hold):
# a rule for "can't" then also finds it typed with a curly apostrophe.
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})

SUB_CODE_COLUMNS = ("segment_id", "theme_code", "sub_code", "codebook_version")

_BATCH_SIZE = 1000
_MAX_VARIANTS = 20000
_INPUT_COLUMNS = ("segment_id", "text", "is_action")


class CodingError(ValueError):
    """The coder's input or output breaks a table model; names columns and checks, never text."""


@dataclasses.dataclass(frozen=True)
class CodingResult:
    """What coding one set of segments yields.

    `segments` follows `CodedSegments`, `segment_themes` follows `SegmentThemes`
    (theme codes at the contract's top level). `segment_sub_codes` is the optional finer
    detail: one row per (segment, sub-code) that fired, with columns SUB_CODE_COLUMNS.
    """

    segments: pd.DataFrame
    segment_themes: pd.DataFrame
    segment_sub_codes: pd.DataFrame


@dataclasses.dataclass(frozen=True)
class _Rule:
    target: int
    sub_code: str | None
    weight: float
    exclusion: bool


@dataclasses.dataclass(frozen=True)
class _SegmentCoding:
    """One segment's evidence: per theme or category (by index), the summed weights of its
    distinct rules that fired, and the sub-codes among them."""

    scores: dict[int, float]
    sub_codes: dict[int, tuple[str, ...]]


class RuleCoder:
    """A codebook compiled into spaCy matchers; build once per codebook (see `rule_coder`)."""

    def __init__(self, codebook: Codebook) -> None:
        self.codebook = codebook
        self.nlp: Language = spacy.blank("en")
        self.targets: tuple[str, ...] = codebook.theme_codes + tuple(
            cues.code for cues in codebook.categories.cues
        )
        self._phrase_matcher = PhraseMatcher(self.nlp.vocab, attr="LOWER")
        self._matcher = Matcher(self.nlp.vocab, validate=True)
        self._rules: dict[int, _Rule] = {}
        for target, theme in enumerate(codebook.themes):
            self._add_groups(target, None, theme.rules)
            self._add_exclusions(target, theme.exclusions)
            for sub in theme.sub_codes:
                self._add_groups(target, sub.code, sub.rules)
        for offset, cues in enumerate(codebook.categories.cues):
            target = len(codebook.themes) + offset
            self._add_groups(target, None, cues.rules)
            self._add_exclusions(target, cues.exclusions)

    def _add_groups(self, target: int, sub_code: str | None, groups: Iterable[RuleGroup]) -> None:
        for group in groups:
            self._add(_Rule(target, sub_code, group.weight, exclusion=False), group)

    def _add_exclusions(self, target: int, exclusions: Matching) -> None:
        self._add(_Rule(target, None, 0.0, exclusion=True), exclusions)

    def _add(self, rule: _Rule, matching: Matching) -> None:
        """Register each phrase and each pattern under its own key: rules count once each.

        A token pattern that only lists words (LOWER, IN, optional tokens) is a finite set
        of phrases: it goes to the PhraseMatcher, whose cost does not grow with the number
        of rules, instead of the Matcher, which tests every pattern at every token.
        """
        phrases = [phrase.translate(_APOSTROPHES) for phrase in matching.phrases]
        for doc in self.nlp.tokenizer.pipe(phrases):
            self._phrase_matcher.add(self._key(rule), [doc])
        for pattern in matching.patterns:
            variants = _word_sequences(pattern)
            if variants is None:
                self._matcher.add(self._key(rule), [list(pattern)])
            else:
                docs = [Doc(self.nlp.vocab, words=words) for words in variants]
                self._phrase_matcher.add(self._key(rule), docs)

    def _key(self, rule: _Rule) -> str:
        key = f"rule-{len(self._rules)}"
        self._rules[self.nlp.vocab.strings.add(key)] = rule
        return key

    def code(self, texts: Iterable[str]) -> Iterator[_SegmentCoding]:
        """Tokenise in batches (nlp.pipe) and score each text against every rule."""
        normalised = [text.translate(_APOSTROPHES) for text in texts]
        for text, doc in zip(
            normalised, self.nlp.pipe(normalised, batch_size=_BATCH_SIZE), strict=True
        ):
            yield self._score(doc, text)

    def explain(self, text: str) -> dict[str, list[str]]:
        """Which words fired for which theme or category: for analysts checking a decision."""
        text = text.translate(_APOSTROPHES)
        doc = self.nlp.make_doc(text)
        fired: dict[str, list[str]] = {}
        for match_id, start, end in self._hits(doc, text):
            fired.setdefault(self.targets[self._rules[match_id].target], []).append(
                doc[start:end].text
            )
        return fired

    def _hits(self, doc: Doc, text: str) -> list[tuple[int, int, int]]:
        """The (rule, start, end) matches that survive placeholders and exclusions.

        Within one theme or category a stretch of text is evidence once: of overlapping
        hits ("peer support" inside "peer support workers") only the longest counts.
        """
        matches = self._phrase_matcher(doc)
        if len(self._matcher):
            matches += self._matcher(doc)
        blocked = _placeholder_spans(doc, text)
        # Longest first, then leftmost, then rule order: the choice is deterministic.
        matches.sort(key=lambda match: (match[1] - match[2], match[1], match[0]))
        excluded: dict[int, list[tuple[int, int]]] = {}
        for match_id, start, end in matches:
            rule = self._rules[match_id]
            if rule.exclusion:
                excluded.setdefault(rule.target, []).append((start, end))
        kept: dict[int, list[tuple[int, int]]] = {}
        hits = []
        for match_id, start, end in matches:
            rule = self._rules[match_id]
            if rule.exclusion or _overlaps(start, end, blocked):
                continue
            if _overlaps(start, end, excluded.get(rule.target, ())):
                continue
            if _overlaps(start, end, kept.get(rule.target, ())):
                continue
            kept.setdefault(rule.target, []).append((start, end))
            hits.append((match_id, start, end))
        return hits

    def _score(self, doc: Doc, text: str) -> _SegmentCoding:
        fired: dict[int, dict[int, float]] = {}
        sub_codes: dict[int, set[str]] = {}
        for match_id, _start, _end in self._hits(doc, text):
            rule = self._rules[match_id]
            fired.setdefault(rule.target, {})[match_id] = rule.weight
            if rule.sub_code is not None:
                sub_codes.setdefault(rule.target, set()).add(rule.sub_code)
        return _SegmentCoding(
            scores={target: sum(weights.values()) for target, weights in fired.items()},
            sub_codes={target: tuple(sorted(codes)) for target, codes in sub_codes.items()},
        )


@functools.lru_cache(maxsize=2)
def rule_coder(codebook: Codebook) -> RuleCoder:
    """The compiled coder of a codebook, built once: compiling costs far more than matching."""
    return RuleCoder(codebook)


def confidence(score: float) -> float:
    """Each unit of rule weight removes about 63% of the remaining doubt."""
    return 1.0 - math.exp(-score)


def code_segments(segments: pd.DataFrame, codebook: Codebook) -> CodingResult:
    """Give every segment a category and any themes whose rules fire, recording the version.

    `segments` follows the `Segments` model (anonymised). Deterministic: the same segments
    and codebook always give the same rows in the same order.
    """
    missing = [column for column in _INPUT_COLUMNS if column not in segments.columns]
    if missing:
        raise CodingError("segments lack column(s): " + ", ".join(missing))
    coder = rule_coder(codebook)
    frame = segments.reset_index(drop=True)
    n_themes = len(codebook.themes)
    categories = []
    theme_rows: list[dict[str, object]] = []
    sub_code_rows: list[dict[str, object]] = []
    codings = coder.code(frame["text"].astype(str))
    for row, coding in zip(frame.itertuples(index=False), codings, strict=True):
        cue_scores = {
            cues.code: coding.scores.get(n_themes + offset, 0.0)
            for offset, cues in enumerate(codebook.categories.cues)
        }
        category = _category(row, cue_scores, codebook.categories)
        categories.append(category)
        for target, theme in enumerate(codebook.themes):
            score = coding.scores.get(target, 0.0)
            if score < codebook.min_score:
                continue
            theme_rows.append(
                {
                    "segment_id": row.segment_id,
                    "theme_code": theme.code,
                    "category": category,
                    "coder": CODER,
                    "confidence": round(confidence(score), 4),
                    "codebook_version": codebook.version,
                }
            )
            sub_code_rows += [
                {
                    "segment_id": row.segment_id,
                    "theme_code": theme.code,
                    "sub_code": sub_code,
                    "codebook_version": codebook.version,
                }
                for sub_code in coding.sub_codes.get(target, ())
            ]
    coded = frame.assign(
        category=pd.Series(categories, index=frame.index, dtype="object"),
        codebook_version=codebook.version,
    )
    themes = pd.DataFrame(theme_rows) if theme_rows else empty(SegmentThemes)
    sub_codes = pd.DataFrame(sub_code_rows, columns=list(SUB_CODE_COLUMNS))
    return CodingResult(
        segments=_validated(CodedSegments, coded),
        segment_themes=_validated(SegmentThemes, themes),
        segment_sub_codes=sub_codes,
    )


def _category(row: Any, scores: dict[str, float], categories: Categories) -> str:
    """Action paragraphs are solutions; else the strongest cue; else what the source implies.

    Ties go to the codebook's precedence order. With no cue, the survey item that was
    answered (`still_in_way` asks for barriers), then the source kind, then the default.
    """
    if bool(row.is_action):
        return categories.for_actions
    best = max(scores.values())
    if best > 0.0:
        return next(code for code in categories.precedence if scores[code] == best)
    item_id = getattr(row, "item_id", None)
    if isinstance(item_id, str) and item_id in categories.by_item:
        return categories.by_item[item_id]
    source_kind = getattr(row, "source_kind", None)
    if isinstance(source_kind, str) and source_kind in categories.by_source_kind:
        return categories.by_source_kind[source_kind]
    return categories.default


def _word_sequences(pattern: Iterable[dict[str, Any]]) -> list[list[str]] | None:
    """Every word sequence a pattern of plain word tokens matches, or None if it has others.

    A plain token is LOWER (or ORTH/TEXT on a caseless symbol such as "-") with a string
    or an IN list, required or optional ("?"). Anything else (REGEX, "*", wildcards)
    stays with the Matcher, and so does a pattern with too many variants to list.
    """
    choices: list[list[str | None]] = []
    for token in pattern:
        spec = {key.upper(): value for key, value in token.items()}
        optional = spec.pop("OP", None)
        if optional not in (None, "?") or len(spec) != 1:
            return None
        ((attr, value),) = spec.items()
        if attr not in ("LOWER", "ORTH", "TEXT"):
            return None
        words = value.get("IN") if isinstance(value, dict) and len(value) == 1 else value
        words = [words] if isinstance(words, str) else words
        if not isinstance(words, list) or not all(isinstance(word, str) for word in words):
            return None
        if attr != "LOWER" and any(word.lower() != word.upper() for word in words):
            return None
        choices.append([*words, None] if optional == "?" else list(words))
    if math.prod(len(options) for options in choices) > _MAX_VARIANTS:
        return None
    sequences = [
        [word for word in combination if word is not None]
        for combination in itertools.product(*choices)
    ]
    return [words for words in sequences if words]


def _placeholder_spans(doc: Doc, text: str) -> list[tuple[int, int]]:
    """Token ranges of the placeholders in a doc (the tokenizer splits `[`, `]` off)."""
    if "[" not in text:
        return []
    spans = []
    for found in PLACEHOLDER.finditer(text):
        span = doc.char_span(found.start(), found.end(), alignment_mode="expand")
        if span is not None:
            spans.append((span.start, span.end))
    return spans


def _overlaps(start: int, end: int, spans: Iterable[tuple[int, int]]) -> bool:
    return any(start < other_end and other_start < end for other_start, other_end in spans)


def _validated(model: type[pa.DataFrameModel], frame: pd.DataFrame) -> pd.DataFrame:
    """Validate; on failure name columns, checks and segment ids, never the values.

    The failing values may be a name that the anonymiser missed, so pandera's own message
    (which quotes them) is not chained either.
    """
    try:
        return model.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as error:
        cases = error.failure_cases
        problems = sorted(
            {
                f"{column if isinstance(column, str) else 'table'}: {check}"
                for column, check in zip(cases["column"], cases["check"], strict=True)
            }
        )
        rows = sorted({int(index) for index in cases["index"].dropna()})
        where = ""
        if rows and "segment_id" in frame.columns:
            segment_ids = frame["segment_id"].iloc[[row for row in rows if row < len(frame)]]
            where = " (segments " + ", ".join(map(str, segment_ids.iloc[:5])) + ")"
        raise CodingError(
            f"coded output breaks {model.__name__} in {len(cases)} place(s){where}: "
            + "; ".join(problems)
        ) from None
