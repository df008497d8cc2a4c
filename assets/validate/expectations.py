"""Great Expectations suites (declared in schemas/expectations/) run on one partition's tables.

GX 1.x runs in an ephemeral context over a pandas data source; a checkpoint validates the
frame, keeps the result on disk and rebuilds the Data Docs site under the configured
folder. Result formats never carry unexpected values, so neither the results nor the Data
Docs can show a text.

Each round x site has a Data Docs site of its own (`<data docs>/<round>/<site>/`), and
`<data docs>/index.html` links them: GX rebuilds a site's index from every result the site
keeps, so one site for the whole programme made each run slower than the last (0.5 s at
the first run, 1.1 s at the 80th).
GX is imported inside the function: it takes seconds to import and only checks need it.
"""

from __future__ import annotations

import dataclasses
import html
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import yaml

if TYPE_CHECKING:
    from great_expectations.data_context import AbstractDataContext

SUITES_DIR = Path(__file__).resolve().parents[2] / "schemas" / "expectations"
RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 0}
SITE = "ariadne"


@dataclasses.dataclass(frozen=True)
class SuiteOutcome:
    suite: str
    success: bool
    evaluated: int
    failed: list[str]
    unexpected_counts: dict[str, int]


def load_suite(name: str, suites_dir: Path = SUITES_DIR) -> dict:
    return yaml.safe_load((suites_dir / f"{name}.yaml").read_text())


def _context(data_docs_dir: Path) -> AbstractDataContext:
    """An in-memory GX context whose validation results and Data Docs persist on disk.

    Results are kept under the Data Docs folder, so the site's index lists every
    partition's and every run's validation, not only the last one.
    """
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
    )

    root = data_docs_dir.resolve()
    root.mkdir(parents=True, exist_ok=True)
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False)
    )
    config.stores = {
        **config.stores,
        "validation_results_store": {
            "class_name": "ValidationResultsStore",
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(root / "validation_results"),
            },
        },
    }
    config.data_docs_sites = {
        SITE: {
            "class_name": "SiteBuilder",
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            # Validation pages only: each lists its suite's expectations with their
            # results, the suites themselves are in schemas/expectations/, and nothing
            # here is profiled. Each section costs a render at every run.
            "site_section_builders": {"expectations": "0", "profiling": "0"},
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(root),
            },
        }
    }
    context = gx.get_context(project_config=config, mode="ephemeral")
    context.variables.progress_bars = {"globally": False}
    return context


def _camel(expectation_type: str) -> str:
    return "".join(part.capitalize() for part in expectation_type.split("_"))


def run_suite(name: str, frame: pd.DataFrame, data_docs_dir: Path, run_name: str) -> SuiteOutcome:
    """Validate `frame` against suite `name` and rebuild the Data Docs site."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx

    declared = load_suite(name)
    context = _context(data_docs_dir)
    batch = (
        context.data_sources.add_pandas(f"ariadne_{name}")
        .add_dataframe_asset(declared["table"])
        .add_batch_definition_whole_dataframe(run_name)
    )
    suite = context.suites.add(gx.ExpectationSuite(name=declared["suite"]))
    for expectation in declared["expectations"]:
        suite.add_expectation(
            getattr(gx.expectations, _camel(expectation["type"]))(**expectation["kwargs"])
        )
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{name}:{run_name}", data=batch, suite=suite)
    )
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name=f"{name}_checkpoint",
            validation_definitions=[definition],
            actions=[gx.checkpoint.UpdateDataDocsAction(name="data_docs", site_names=[SITE])],
            result_format=RESULT_FORMAT,
        )
    )
    result = checkpoint.run(
        batch_parameters={"dataframe": frame},
        run_id=gx.core.run_identifier.RunIdentifier(run_name=run_name),
    )
    failed: list[str] = []
    unexpected: dict[str, int] = {}
    evaluated = 0
    for run in result.run_results.values():
        for outcome in run.results:
            evaluated += 1
            config = outcome.expectation_config
            label = (
                f"{config.type}({config.kwargs.get('column') or config.kwargs.get('column_list')})"
            )
            if not outcome.success:
                failed.append(label)
                unexpected[label] = int(outcome.result.get("unexpected_count") or 0)
    return SuiteOutcome(name, bool(result.success), evaluated, failed, unexpected)


def partition_docs_dir(data_docs_dir: Path, round_id: str, site_id: str) -> Path:
    """The Data Docs site of one round x site."""
    return Path(data_docs_dir) / round_id / site_id


def write_docs_index(data_docs_dir: Path) -> Path:
    """`<data docs>/index.html`: a link to every round x site's Data Docs, by slug only."""
    root = Path(data_docs_dir)
    sites = sorted(path.parent.relative_to(root) for path in root.glob("*/*/index.html"))
    items = "\n".join(
        f'<li><a href="{html.escape(site.as_posix())}/index.html">'
        f"{html.escape(' / '.join(site.parts))}</a></li>"
        for site in sites
    )
    index = root / "index.html"
    # Two site workers may write it at once: each through a file of its own.
    temporary = index.with_name(f".index.{os.getpid()}.tmp")
    temporary.write_text(
        "<!doctype html>\n<meta charset='utf-8'>\n<title>ARIADNE Data Docs</title>\n"
        f"<h1>Great Expectations Data Docs by round and site</h1>\n<ul>\n{items}\n</ul>\n",
        encoding="utf-8",
    )
    os.replace(temporary, index)
    return index
