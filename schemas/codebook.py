"""The versioned, declarative codebook: themes, sub-codes, categories and their matching rules.

A codebook is a YAML file `codebook-<version>.yaml`. Analysts compare theme codes across
rounds, so a codebook must carry every top-level theme of the contract
(shared/contracts/codebook-themes.md): it may add codes, never drop or rename them. The
file is checked here once, on load, so that the coder can trust it: a bad pattern is a
codebook author's mistake and must surface before any segment is coded.

From v2 a codebook may also carry example sentences (`examples`, `counter_examples`) and
`semantic:` settings: the semantic coder (assets/code/semantic.py) learns from those
examples alone, so its thresholds are versioned with the examples they were set for.
"""

from __future__ import annotations

import functools
import hashlib
import re
from pathlib import Path
from typing import Any

import pydantic
import spacy
import yaml
from pydantic import ConfigDict, Field
from spacy.matcher import Matcher
from spacy.vocab import Vocab

from schemas.contract import CATEGORIES

# The top-level codes of shared/contracts/codebook-themes.md, in its order.
CONTRACT_THEME_CODES = (
    "minoritised-concept",
    "racism-experience",
    "pandemic-impact",
    "stigma",
    "professional-blindness",
    "education-mediation-digital",
    "human-rights-cohesion",
    "diversified-care-offer",
    "population-neighbourhood-models",
    "coproduction-impact",
)

# The codebooks that ship with the package; a deployment may point at another folder.
CODEBOOK_DIR = Path(__file__).parent / "codebook"

VERSION_PATTERN = r"v[0-9]+(?:\.[0-9]+)*"
_FILE_NAME = re.compile(rf"^codebook-({VERSION_PATTERN})\.yaml$")
_CODE = r"^[a-z0-9][a-z0-9-]*$"
_SUB_CODE = r"^[a-z0-9][a-z0-9-]*/[a-z0-9][a-z0-9-]*$"

# Token attributes that only a trained pipeline sets. The coder tokenises with a blank
# pipeline, so a rule on these would silently never fire: reject it instead.
NEEDS_TRAINED_PIPELINE = frozenset(
    {"LEMMA", "POS", "TAG", "MORPH", "DEP", "ENT_TYPE", "ENT_IOB", "ENT_ID", "SENT_START"}
)


class CodebookError(ValueError):
    """A codebook file that cannot be used: names the file, the place and the reason."""


class _Frozen(pydantic.BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Matching(_Frozen):
    """Phrases for a PhraseMatcher on LOWER, and token patterns for a spaCy Matcher."""

    phrases: tuple[str, ...] = ()
    patterns: tuple[tuple[dict[str, Any], ...], ...] = ()


class RuleGroup(Matching):
    """Rules that share a weight: 1.0 is a cue that decides alone, less needs company."""

    weight: float = Field(default=1.0, gt=0.0, le=1.0)


class SubCode(_Frozen):
    code: str = Field(pattern=_SUB_CODE)
    name: str
    brief_definition: str
    when_to_use: str | None = None
    example: str | None = None
    examples: tuple[str, ...] = ()
    counter_examples: tuple[str, ...] = ()
    rules: tuple[RuleGroup, ...] = Field(min_length=1)


class Theme(_Frozen):
    """A codebook entry after MacQueen et al. (1998), plus a counter-example and rules.

    `examples` are sentences that carry the theme; `counter_examples` look close but do
    not (an idiom, a neighbouring theme): the semantic coder's training data.
    """

    code: str = Field(pattern=_CODE)
    name: str
    brief_definition: str
    full_definition: str
    when_to_use: str
    when_not_to_use: str
    example: str
    counter_example: str
    examples: tuple[str, ...] = ()
    counter_examples: tuple[str, ...] = ()
    rules: tuple[RuleGroup, ...] = Field(min_length=1)
    exclusions: Matching = Matching()
    sub_codes: tuple[SubCode, ...] = ()


class CategoryCues(_Frozen):
    code: str
    definition: str
    examples: tuple[str, ...] = ()
    rules: tuple[RuleGroup, ...] = Field(min_length=1)
    exclusions: Matching = Matching()


class Categories(_Frozen):
    """How a segment gets its one category when cues disagree or are silent."""

    for_actions: str
    precedence: tuple[str, ...]
    default: str
    by_item: dict[str, str] = {}
    by_source_kind: dict[str, str] = {}
    cues: tuple[CategoryCues, ...]


class TrainingSet(_Frozen):
    """A file of labelled segments the machine coders learn from, beside the codebook.

    `path` is relative to the codebook's folder; `sha256` pins its content, so a coding that
    records this codebook version was learnt from exactly these segments. The file follows
    the labelled-set format of tests/coder_eval (assets/code/evaluation.load_eval_set).
    """

    path: str = Field(
        pattern=r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*(/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*\.yaml$"
    )
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class SemanticSettings(_Frozen):
    """How the semantic coder decides: probabilities at or above a threshold are assigned.

    `thresholds` overrides `theme_threshold` for single theme or sub-code codes.
    `regularisation` is the inverse strength C of the logistic regressions trained on
    the examples: smaller trusts the few examples less. `neutral_examples` are minutes
    sentences that carry no theme at all (procedure, housekeeping), so that "none" is
    something the coder has seen. `training_sets` (from v3) are labelled segments written
    for training, never the evaluation set's.
    """

    theme_threshold: float = Field(default=0.5, gt=0.0, lt=1.0)
    thresholds: dict[str, float] = {}
    category_threshold: float = Field(default=0.5, ge=0.0, lt=1.0)
    regularisation: float = Field(default=1.0, gt=0.0)
    neutral_examples: tuple[str, ...] = ()
    training_sets: tuple[TrainingSet, ...] = ()


class CombinedSettings(_Frozen):
    """How the combined coder (assets/code/combined.py) decides, from v3.

    It learns from the same rows as the semantic coder, over more features: the embedding
    and rule scores, standardised and scaled by `dense_weight`, beside the words and word
    pairs of the text (tf-idf, those in at least `min_word_count` training texts).
    `regularisation` is its regressions' inverse strength C, `theme_threshold` (or a code's
    entry in `thresholds`) the probability at or above which a theme is assigned.
    """

    theme_threshold: float = Field(default=0.5, gt=0.0, lt=1.0)
    thresholds: dict[str, float] = {}
    regularisation: float = Field(default=1.0, gt=0.0)
    dense_weight: float = Field(default=1.0, gt=0.0)
    min_word_count: int = Field(default=2, ge=1)


class Codebook(_Frozen):
    version: str = Field(pattern=rf"^{VERSION_PATTERN}$")
    min_score: float = Field(default=1.0, gt=0.0)
    semantic: SemanticSettings | None = None
    combined: CombinedSettings | None = None
    themes: tuple[Theme, ...]
    categories: Categories

    def __hash__(self) -> int:
        """By content, so that a compiled coder can be cached per codebook."""
        return hash(self.model_dump_json())

    @property
    def theme_codes(self) -> tuple[str, ...]:
        return tuple(theme.code for theme in self.themes)


def load_codebook(path: Path) -> Codebook:
    """Read and check a codebook file; raise CodebookError naming the file and the place."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise CodebookError(f"{path}: cannot be read ({error.strerror})") from error
    codebook = _checked_codebook(path, text)
    if codebook.semantic is not None:
        # Read every time: a training file can change while the codebook file does not.
        problems = _training_set_problems(codebook.semantic, path.parent)
        if problems:
            raise CodebookError(f"{path}: " + "; ".join(problems))
    return codebook


@functools.lru_cache(maxsize=8)
def _checked_codebook(path: Path, text: str) -> Codebook:
    """Parsed and checked once per process and content (training files aside): every
    site's run loads it twice, and checking its rules with spaCy is the costly part."""
    try:
        document = yaml.load(text, Loader=yaml.CSafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown place"
        raise CodebookError(f"{path}: not valid YAML at {where}") from error
    if not isinstance(document, dict):
        raise CodebookError(f"{path}: expected a mapping at the top level")
    try:
        codebook = Codebook.model_validate(document)
    except pydantic.ValidationError as error:
        problems = "; ".join(
            f"{_place(problem['loc'], document)}: {problem['msg']}" for problem in error.errors()
        )
        raise CodebookError(f"{path}: {problems}") from error
    problems = _problems(codebook, path)
    if problems:
        raise CodebookError(f"{path}: " + "; ".join(problems))
    return codebook


def codebook_path(version: str, codebook_dir: Path) -> Path:
    """Where the codebook of a version lives: one file per version, never edited in place."""
    if not re.fullmatch(VERSION_PATTERN, version):
        raise CodebookError(f"codebook version {version!r} is not of the form v1, v2, v2.1")
    return Path(codebook_dir) / f"codebook-{version}.yaml"


def latest_version(codebook_dir: Path) -> str:
    """The highest version in a folder, compared number by number (v10 after v9)."""
    versions = [
        match.group(1)
        for path in Path(codebook_dir).glob("codebook-*.yaml")
        if (match := _FILE_NAME.match(path.name))
    ]
    if not versions:
        raise CodebookError(f"{codebook_dir}: no codebook-<version>.yaml file")
    return max(versions, key=_version_key)


def _place(location: tuple[int | str, ...], document: dict[str, Any]) -> str:
    """A dotted path to a problem, with a theme's code in place of its list index."""
    parts = [str(part) for part in location]
    themes = document.get("themes")
    if len(location) > 1 and location[0] == "themes" and isinstance(location[1], int):
        theme = themes[location[1]] if isinstance(themes, list) else None
        if isinstance(theme, dict) and isinstance(theme.get("code"), str):
            parts[1] = theme["code"]
    return ".".join(parts)


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(number) for number in version[1:].split("."))


def _problems(codebook: Codebook, path: Path) -> list[str]:
    """Everything pydantic cannot see: the contract, uniqueness, and spaCy's pattern checks."""
    problems: list[str] = []
    match = _FILE_NAME.match(path.name)
    if match and match.group(1) != codebook.version:
        problems.append(f"file name says {match.group(1)} but version is {codebook.version}")

    missing = [code for code in CONTRACT_THEME_CODES if code not in codebook.theme_codes]
    if missing:
        problems.append(
            "contract themes missing (they may not be dropped or renamed): " + ", ".join(missing)
        )

    codes = [theme.code for theme in codebook.themes]
    codes += [sub.code for theme in codebook.themes for sub in theme.sub_codes]
    duplicates = sorted({code for code in codes if codes.count(code) > 1})
    if duplicates:
        problems.append("codes defined more than once: " + ", ".join(duplicates))

    for theme in codebook.themes:
        for sub in theme.sub_codes:
            if not sub.code.startswith(f"{theme.code}/"):
                problems.append(f"sub-code {sub.code} must start with {theme.code}/")
        groups = {f"themes.{theme.code}.rules": theme.rules}
        groups |= {f"themes.{sub.code}.rules": sub.rules for sub in theme.sub_codes}
        problems += _rule_problems(groups, f"themes.{theme.code}")
        problems += _matching_problems(theme.exclusions, f"themes.{theme.code}.exclusions")

    problems += _category_problems(codebook.categories)
    if codebook.semantic is not None:
        problems += _semantic_problems(codebook, codebook.semantic)
    if codebook.combined is not None:
        if codebook.semantic is None:
            problems.append("combined: needs the `semantic:` settings and examples it learns from")
        problems += [
            f"combined.thresholds.{code}: not a theme of this codebook, or not between 0 and 1"
            for code, value in codebook.combined.thresholds.items()
            if code not in codebook.theme_codes or not 0.0 < value < 1.0
        ]
    return problems


def training_set_path(training_set: TrainingSet, codebook_dir: Path) -> Path:
    return Path(codebook_dir) / training_set.path


def _training_set_problems(semantic: SemanticSettings, codebook_dir: Path) -> list[str]:
    """Each training file must exist with the content its hash pins: a version never drifts."""
    problems = []
    for number, training_set in enumerate(semantic.training_sets):
        place = f"semantic.training_sets[{number}] ({training_set.path})"
        try:
            content = training_set_path(training_set, codebook_dir).read_bytes()
        except OSError as error:
            problems.append(f"{place}: cannot be read ({error.strerror})")
            continue
        if hashlib.sha256(content).hexdigest() != training_set.sha256:
            problems.append(
                f"{place}: content differs from its sha256: a changed training set "
                "needs a new codebook version"
            )
    return problems


def _semantic_problems(codebook: Codebook, semantic: SemanticSettings) -> list[str]:
    """The semantic coder learns each code from its examples: a code without any cannot be
    learnt, and a sentence given as both example and counter-example teaches nothing."""
    problems: list[str] = []
    entries: list[Theme | SubCode] = [*codebook.themes]
    entries += [sub for theme in codebook.themes for sub in theme.sub_codes]
    for entry in entries:
        if not entry.examples:
            problems.append(f"themes.{entry.code}.examples: semantic coding needs examples")
        both = {_folded(text) for text in entry.examples} & {
            _folded(text) for text in entry.counter_examples
        }
        if both:
            problems.append(
                f"themes.{entry.code}: {len(both)} sentence(s) both example and counter-example"
            )
    for cues in codebook.categories.cues:
        if not cues.examples:
            problems.append(f"categories.{cues.code}.examples: semantic coding needs examples")
    codes = {entry.code for entry in entries}
    problems += [
        f"semantic.thresholds.{code}: not a theme or sub-code of this codebook"
        for code in semantic.thresholds
        if code not in codes
    ]
    problems += [
        f"semantic.thresholds.{code}: {value} is not between 0 and 1"
        for code, value in semantic.thresholds.items()
        if not 0.0 < value < 1.0
    ]
    return problems


def _folded(text: str) -> str:
    return " ".join(text.casefold().split())


def _category_problems(categories: Categories) -> list[str]:
    problems: list[str] = []
    cue_codes = [cues.code for cues in categories.cues]
    if sorted(cue_codes) != sorted(CATEGORIES):
        problems.append(f"categories.cues must define each of {', '.join(CATEGORIES)} once")
    if sorted(categories.precedence) != sorted(CATEGORIES):
        problems.append(f"categories.precedence must order exactly {', '.join(CATEGORIES)}")
    named = {
        "categories.for_actions": categories.for_actions,
        "categories.default": categories.default,
    }
    named |= {f"categories.by_item.{key}": value for key, value in categories.by_item.items()}
    named |= {
        f"categories.by_source_kind.{key}": value
        for key, value in categories.by_source_kind.items()
    }
    problems += [
        f"{place}: {value!r} is not a category"
        for place, value in named.items()
        if value not in CATEGORIES
    ]
    for cues in categories.cues:
        place = f"categories.{cues.code}"
        problems += _rule_problems({f"{place}.rules": cues.rules}, place)
        problems += _matching_problems(cues.exclusions, f"{place}.exclusions")
    return problems


def _rule_problems(groups: dict[str, tuple[RuleGroup, ...]], place: str) -> list[str]:
    """Check each group, and that no phrase is listed twice for one theme (it would count twice)."""
    problems: list[str] = []
    seen: set[str] = set()
    for where, rule_groups in groups.items():
        for number, group in enumerate(rule_groups):
            problems += _matching_problems(group, f"{where}[{number}]")
            if not group.phrases and not group.patterns:
                problems.append(f"{where}[{number}]: neither phrases nor patterns")
            for phrase in group.phrases:
                key = _folded(phrase)
                if key in seen:
                    problems.append(f"{place}: phrase {phrase!r} listed more than once")
                seen.add(key)
    return problems


@functools.cache
def _blank_vocab() -> Vocab:
    """One vocabulary for all pattern checks: building a pipeline costs a tenth of a second."""
    return spacy.blank("en").vocab


def _matching_problems(matching: Matching, place: str) -> list[str]:
    problems = [
        f"{place}.phrases[{number}]: empty phrase"
        for number, phrase in enumerate(matching.phrases)
        if not phrase.strip()
    ]
    matcher = Matcher(_blank_vocab(), validate=True)
    for number, pattern in enumerate(matching.patterns):
        upper_case = [
            word
            for token in pattern
            for key, value in token.items()
            if key.upper() == "LOWER"
            for word in _pattern_words(value)
            if word != word.lower()
        ]
        if upper_case:
            problems.append(
                f"{place}.patterns[{number}]: LOWER compares with the lower-cased token, "
                f"so {', '.join(map(repr, upper_case))} can never match"
            )
        unusable = sorted(
            {key.upper() for token in pattern for key in token} & NEEDS_TRAINED_PIPELINE
        )
        if unusable:
            problems.append(
                f"{place}.patterns[{number}]: {', '.join(unusable)} needs a trained pipeline, "
                "and the coder tokenises with a blank one"
            )
            continue
        try:
            matcher.add(f"{place}.patterns[{number}]", [list(pattern)])
        except (ValueError, re.error) as error:
            reason = " ".join(str(error).split())
            problems.append(f"{place}.patterns[{number}]: not a valid spaCy pattern ({reason})")
    return problems


def _pattern_words(value: object) -> list[str]:
    """The literal words of a LOWER value: a string, or the strings of an IN list."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict) and isinstance(value.get("IN"), list):
        return [word for word in value["IN"] if isinstance(word, str)]
    return []
