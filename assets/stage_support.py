"""What every stage's Dagster asset shares: safe metadata and errors that cannot leak.

Asset metadata and the event log are readable by everyone with Dagster access, so they
carry counts only. An exception raised inside a stage may quote a value (a pandas or
library message echoing a cell), so its full text goes to a restricted error log in the
staging area and Dagster sees only the stage, the exception type and where the log is.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import traceback
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pandera.pandas as pa

from pipelines.partitions import round_site
from pipelines.restricted import restricted_folder
from schemas.tables import SiteSubmission


def stage_asset(
    stage: str, description: str, kinds: set[str]
) -> Callable[[Callable[..., object]], dg.AssetsDefinition]:
    """The decorator every stage's asset shares: round x site, handed over through staging."""
    return dg.asset(
        partitions_def=round_site,
        io_manager_key="staging_io",
        group_name=stage,
        code_version="1",
        kinds=kinds,
        description=description,
    )


def follows_inputs(gate_depth: int) -> dg.AutomationCondition:
    """Materialise again when an input updates (eager), but only while every blocking check
    up to `gate_depth` assets upstream last passed.

    Dagster's own `all_deps_blocking_checks_passed` looks at direct inputs only, and the
    anonymisation gate sits on `anonymised_submission`, further up than the aggregate and
    the load: without the nesting, a coded partition made from a gate failure could flow
    on into the warehouse. An update made in the same run as this asset's is ignored, so a
    job run over every stage triggers nothing more.
    """
    checks = dg.AutomationCondition.all_deps_blocking_checks_passed()
    upstream, passed = checks, checks
    for _ in range(gate_depth - 1):
        upstream = dg.AutomationCondition.all_deps_match(upstream)
        passed = passed & upstream
    return (
        dg.AutomationCondition.eager() & passed.with_label("upstream blocking checks passed")
    ).with_label("follows inputs")


class StageFailed(Exception):
    """A stage failed; the details are in the restricted error log it names."""


@contextlib.contextmanager
def contained_errors(stage: str, staging_dir: Path) -> Iterator[None]:
    try:
        yield
    except Exception as error:
        log_dir = restricted_folder(staging_dir / "errors")
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        log = log_dir / f"{stage}-{stamp}.log"
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write("".join(traceback.format_exception(error)))
        raise StageFailed(
            f"{stage} failed with {type(error).__name__}; details in the restricted log {log}"
        ) from None


def table_counts(submission: SiteSubmission) -> dict[str, int]:
    """Row counts of every table in the bundle: safe for metadata."""
    counts = {
        "source_files": len(submission.source_files),
        "segments": len(submission.segments),
        "survey_responses": len(submission.survey_responses),
        "action_plan_entries": len(submission.action_plan),
        "segment_themes": len(submission.segment_themes),
        "quarantined": int((submission.quarantine["severity"] == "error").sum()),
        "warnings": int((submission.quarantine["severity"] == "warning").sum()),
    }
    return {f"n_{name}": value for name, value in counts.items()}


def content_version(submission: SiteSubmission) -> dg.DataVersion:
    """A data version from the raw files' hashes: the same files give the same version."""
    files = submission.source_files.sort_values("source_file")
    digest = hashlib.sha256()
    for name, sha in zip(files["source_file"], files["source_sha256"].fillna(""), strict=True):
        digest.update(f"{name}\0{sha}\n".encode())
    return dg.DataVersion(digest.hexdigest()[:16])


def column_schema(model: type[pa.DataFrameModel]) -> dg.TableSchema:
    """A pandera model as Dagster's column schema, shown in the UI's Columns tab."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=name,
                type=str(column.dtype),
                constraints=dg.TableColumnConstraints(nullable=column.nullable),
            )
            for name, column in model.to_schema().columns.items()
        ]
    )
