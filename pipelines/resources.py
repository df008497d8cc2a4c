"""Typed configuration: every setting the pipeline reads, from one place.

Each resource takes its value from an environment variable (named in its docstring) with
the default a data manager gets on a fresh clone. The pseudonym key is read through
`EnvVar` when set, so Dagster shows its name and never its value.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from dagster import ConfigurableResource, EnvVar
from sqlalchemy import Engine

from assets.code.embeddings import DEFAULT_STATIC_MODEL_DIR, StaticEmbedder, load_static_embedder
from pipelines.restricted import restricted_folder
from schemas.codebook import CODEBOOK_DIR, Codebook, codebook_path, latest_version, load_codebook
from schemas.instruments import INSTRUMENTS_DIR, InstrumentRegistry
from warehouse.engine import create_warehouse_engine


class RawSubmissions(ConfigurableResource):
    """Where sites' submissions land (`ARIADNE_RAW_DIR`, default `raw`). Read-only."""

    raw_dir: str = "raw"

    @property
    def path(self) -> Path:
        return Path(self.raw_dir)


class StagingArea(ConfigurableResource):
    """The restricted folder for parsed, not yet anonymised tables (`ARIADNE_STAGING_DIR`)."""

    staging_dir: str = "staging"

    @property
    def path(self) -> Path:
        return Path(self.staging_dir)


class ReviewStore(ConfigurableResource):
    """People's reviewed codings, imported by `ariadne import-review` (`ARIADNE_REVIEWS_DIR`).

    An input of the code stage like raw/: kept apart from the warehouse so a rerun of a
    round recodes its segments and still publishes what people decided.
    """

    reviews_dir: str = "reviews"

    @property
    def path(self) -> Path:
        return Path(self.reviews_dir)


class PseudonymKey(ConfigurableResource):
    """The secret behind every pseudonym: `ARIADNE_PSEUDONYM_KEY`, else a key file.

    The key file (`ARIADNE_PSEUDONYM_KEY_FILE`, default `.secrets/pseudonym.key`, git-ignored)
    is created on first use. Losing it changes every pseudonym; see README "Rotating the key".
    """

    key: str | None = None
    key_file: str = ".secrets/pseudonym.key"

    def secret(self) -> bytes:
        """The key's bytes, in a run or outside one (where an EnvVar field holds its name)."""
        key = self.key.get_value() if isinstance(self.key, EnvVar) else self.key
        if key:
            return key.encode()
        path = Path(self.key_file)
        if not path.exists():
            restricted_folder(path.parent)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
        return path.read_text().strip().encode()


class Warehouse(ConfigurableResource):
    """The analysts' database (`ARIADNE_WAREHOUSE_URL`, default a SQLite file).

    Read through `EnvVar` when set, like the pseudonym key: the URL may hold a password,
    and Dagster stores a resource's plain values in every run's job snapshot.
    """

    url: str = "sqlite:///warehouse/ariadne.db"

    def engine(self) -> Engine:
        """An engine in a run or outside one (where an EnvVar field holds its name)."""
        url = self.url.get_value() if isinstance(self.url, EnvVar) else self.url
        return create_warehouse_engine(url)


class Codebooks(ConfigurableResource):
    """Versioned codebooks (`ARIADNE_CODEBOOK_VERSION`, default the newest in schemas/codebook)."""

    version: str | None = None

    def load(self) -> Codebook:
        version = self.version or latest_version(CODEBOOK_DIR)
        return load_codebook(codebook_path(version, CODEBOOK_DIR))


class EmbeddingModel(ConfigurableResource):
    """The static sentence-embedding model the learnt coders read (`ARIADNE_EMBEDDING_MODEL_DIR`,
    default `build/minilm-l6-v2-static` in the project, made by `ariadne prepare`)."""

    model_dir: str | None = None

    @property
    def path(self) -> Path:
        return Path(self.model_dir) if self.model_dir else DEFAULT_STATIC_MODEL_DIR

    def embedder(self) -> StaticEmbedder:
        return load_static_embedder(self.path)


class TrainedCoders(ConfigurableResource):
    """Where trained coders are kept between processes (`ARIADNE_TRAINED_CODERS_DIR`,
    default `build/coders`): each is trained once per codebook, embedding model and code
    version instead of in every process (assets/code/trained_coders.py)."""

    coders_dir: str = "build/coders"

    @property
    def path(self) -> Path:
        return Path(self.coders_dir)


class Instruments(ConfigurableResource):
    """The survey instruments sites may name in a manifest (schemas/instruments)."""

    def registry(self) -> InstrumentRegistry:
        return InstrumentRegistry(INSTRUMENTS_DIR)


class Disclosure(ConfigurableResource):
    """Small-number suppression: counts of people below the threshold are never published.

    `ARIADNE_DISCLOSURE_THRESHOLD`, default 5 (the contract's).
    """

    threshold: int = 5


class AnonymiserSettings(ConfigurableResource):
    """How the anonymiser runs (`ARIADNE_ANONYMISER_PROCESSES`: processes for the NER pass).

    Both cores by default; a site with little text runs in one process anyway.
    """

    processes: int = 2


class SiteWorkers(ConfigurableResource):
    """Processes `ariadne materialise` runs a round's sites in (`ARIADNE_PARALLEL_SITES`).

    Two by default, the machine's cores: each worker runs one site at a time with its NER
    in one process (pipelines/round_runner.py). A worker is replaced by a fresh one after
    `sites_per_worker` runs (`ARIADNE_SITES_PER_WORKER`, default 100): spaCy's vocabulary
    and other caches grow by a megabyte or two a site, so without it a worker's memory
    would grow with the round; a fresh worker costs its start-up (imports and models).
    """

    workers: int = 2
    sites_per_worker: int = 100


class Reports(ConfigurableResource):
    """Where impact reports are written (`ARIADNE_REPORTS_DIR`, default `reports`).

    One folder per round: `<reports_dir>/<round_id>/impact-report.html`. Reports hold
    anonymised quotes, so the folder is shared like the warehouse, not like staging.
    """

    reports_dir: str = "reports"

    @property
    def path(self) -> Path:
        return Path(self.reports_dir)


class DataDocs(ConfigurableResource):
    """Where Great Expectations writes its Data Docs (`ARIADNE_DATA_DOCS_DIR`)."""

    data_docs_dir: str = "warehouse/data_docs"


def _from_env(**fields: str) -> dict[str, str]:
    """The fields whose environment variable is set; the others keep the resource's default."""
    return {field: os.environ[name] for field, name in fields.items() if os.environ.get(name)}


def from_environment() -> dict[str, ConfigurableResource]:
    """The resources as the environment configures them; the one place env vars are read."""
    threshold = _from_env(threshold="ARIADNE_DISCLOSURE_THRESHOLD")
    processes = _from_env(processes="ARIADNE_ANONYMISER_PROCESSES")
    workers = _from_env(
        workers="ARIADNE_PARALLEL_SITES", sites_per_worker="ARIADNE_SITES_PER_WORKER"
    )
    return {
        "raw": RawSubmissions(**_from_env(raw_dir="ARIADNE_RAW_DIR")),
        "staging": StagingArea(**_from_env(staging_dir="ARIADNE_STAGING_DIR")),
        "reviews": ReviewStore(**_from_env(reviews_dir="ARIADNE_REVIEWS_DIR")),
        "pseudonym_key": PseudonymKey(
            key=EnvVar("ARIADNE_PSEUDONYM_KEY")
            if os.environ.get("ARIADNE_PSEUDONYM_KEY")
            else None,
            **_from_env(key_file="ARIADNE_PSEUDONYM_KEY_FILE"),
        ),
        "warehouse": Warehouse(url=EnvVar("ARIADNE_WAREHOUSE_URL"))
        if os.environ.get("ARIADNE_WAREHOUSE_URL")
        else Warehouse(),
        "codebooks": Codebooks(**_from_env(version="ARIADNE_CODEBOOK_VERSION")),
        "instruments": Instruments(),
        "embedding_model": EmbeddingModel(**_from_env(model_dir="ARIADNE_EMBEDDING_MODEL_DIR")),
        "trained_coders": TrainedCoders(**_from_env(coders_dir="ARIADNE_TRAINED_CODERS_DIR")),
        "disclosure": Disclosure(**{k: int(v) for k, v in threshold.items()}),
        "anonymiser": AnonymiserSettings(**{k: int(v) for k, v in processes.items()}),
        "site_workers": SiteWorkers(**{k: int(v) for k, v in workers.items()}),
        "data_docs": DataDocs(**_from_env(data_docs_dir="ARIADNE_DATA_DOCS_DIR")),
        "reports": Reports(**_from_env(reports_dir="ARIADNE_REPORTS_DIR")),
        "automation": Automation(
            **_from_env(nightly_cron="ARIADNE_NIGHTLY_CRON"),
            **{
                k: int(v)
                for k, v in _from_env(
                    sensor_interval_seconds="ARIADNE_SENSOR_INTERVAL_SECONDS"
                ).items()
            },
        ),
    }


class Automation(ConfigurableResource):
    """When the daemon looks for work: the raw/ sensor's and the automation sensor's interval
    (`ARIADNE_SENSOR_INTERVAL_SECONDS`, default 30) and the nightly reconcile's cron schedule,
    in Europe/London time (`ARIADNE_NIGHTLY_CRON`, default `0 2 * * *`)."""

    sensor_interval_seconds: int = 30
    nightly_cron: str = "0 2 * * *"
