"""The load stage: write one round x site partition into the warehouse, all or nothing.

The load replaces a partition wholesale, so rerunning it with the same input leaves the
same rows (apart from run_id and loaded_at), and one site's load never touches another
site's rows. Only the source-file list keeps history: a file version that is no longer
submitted stays as `superseded`, so analysts can see what changed between runs.

The read side (`read_partition_summary`, `read_source_file_status`) serves the CLI. It
reads the analysts' views, so it shows what analysts see, and returns counts and file
names only: no text, no speaker, no small-cell detail.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, Table, delete, insert, inspect, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, OperationalError

from schemas.tables import RoundInfo, SiteSubmission
from warehouse.engine import begin_write
from warehouse.models import (
    ActionPlanEntry,
    CoderAgreement,
    QuarantineEntry,
    Round,
    Run,
    Segment,
    SegmentCoding,
    SegmentReview,
    SegmentTheme,
    SourceFile,
    SurveyFreeText,
    SurveyItemSummary,
    ThemePrevalence,
)

SUPERSEDED = "superseded"


class LoadError(RuntimeError):
    """The database refused the partition or went away; nothing of this load was written.

    The one exception is a connection lost while committing, where the client cannot
    know whether the commit arrived: the message says so (a rerun is safe either way).
    """


@dataclasses.dataclass(frozen=True)
class LoadCounts:
    """Rows written per table by one partition load (what the asset reports as metadata)."""

    source_files: int
    superseded_files: int
    quarantine: int
    segments: int
    segment_themes: int
    segment_codings: int
    segment_reviews: int
    coder_agreement: int
    action_plan_entries: int
    theme_prevalence: int
    survey_item_summary: int
    survey_free_text: int

    def by_table(self) -> dict[str, int]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class _Target:
    """Which submission frame fills which core table, with the columns taken from it."""

    frame: str
    table: Table
    columns: tuple[str, ...]
    # Columns the frame holds as ISO 8601 text and the table as timestamps.
    timestamps: tuple[str, ...] = ()


def _columns(model: type, *excluded: str) -> tuple[str, ...]:
    return tuple(c.name for c in model.__table__.columns if c.name not in excluded)


# Filled by the database (id) or stamped by the load (partition and run), never read from a frame.
_STAMPED = ("id", "round_id", "site_id", "run_id")

# In insert order: a segment before its themes. Deletion runs in reverse.
_TARGETS = (
    _Target("segments", Segment.__table__, _columns(Segment, *_STAMPED)),
    _Target("segment_themes", SegmentTheme.__table__, _columns(SegmentTheme, *_STAMPED)),
    _Target("segment_codings", SegmentCoding.__table__, _columns(SegmentCoding, *_STAMPED)),
    _Target(
        "segment_reviews",
        SegmentReview.__table__,
        _columns(SegmentReview, *_STAMPED),
        timestamps=("reviewed_at",),
    ),
    _Target("coder_agreement", CoderAgreement.__table__, _columns(CoderAgreement, *_STAMPED)),
    _Target("quarantine", QuarantineEntry.__table__, _columns(QuarantineEntry, *_STAMPED)),
    _Target("action_plan", ActionPlanEntry.__table__, _columns(ActionPlanEntry, *_STAMPED)),
    _Target("theme_prevalence", ThemePrevalence.__table__, _columns(ThemePrevalence, *_STAMPED)),
    _Target(
        "survey_item_summary",
        SurveyItemSummary.__table__,
        _columns(SurveyItemSummary, *_STAMPED),
    ),
    _Target("survey_free_text", SurveyFreeText.__table__, _columns(SurveyFreeText, *_STAMPED)),
)
_SOURCE_FILE_COLUMNS = _columns(SourceFile, *_STAMPED)


def replace_partition(
    engine: Engine, submission: SiteSubmission, run_id: str, loaded_at: datetime
) -> LoadCounts:
    """Replace the round x site partition of `submission` in one transaction.

    Every core table loses the partition's rows and gets the submission's, bulk-inserted;
    the round is upserted from `submission.round`. Source files are the exception: rows
    whose (source_file, source_sha256) is not submitted any more are kept and marked
    `superseded`. `attendees` is never read: it holds real names. A database error rolls
    everything back and is raised as `LoadError`, whose text names the step (the table
    being written, or opening or committing the transaction) and the constraint but
    never the row (the database's own message can quote it).
    """
    if loaded_at.tzinfo is None:
        raise ValueError("loaded_at must be timezone-aware, so runs compare across machines")
    partition = {"round_id": submission.round_id, "site_id": submission.site_id}
    if submission.round is not None and submission.round.round_id != submission.round_id:
        raise ValueError(
            f"submission for round {submission.round_id} carries round info for "
            f"{submission.round.round_id}"
        )
    lineage = {**partition, "run_id": run_id}
    source_files = _rows(submission, "source_files", _SOURCE_FILE_COLUMNS, lineage)
    rows = {
        target.frame: _rows(submission, target.frame, target.columns, lineage, target.timestamps)
        for target in _TARGETS
    }
    run = {**lineage, "loaded_at": loaded_at.astimezone(UTC)}

    # What the load was doing, for the error: never a row, only the step.
    step = "opening the transaction"
    try:
        with begin_write(engine) as connection:
            step = "writing core_run"
            _upsert(connection, Run.__table__, run)
            step = "writing core_source_file"
            superseded = _supersede_missing_files(connection, partition, source_files)
            for target in reversed(_TARGETS):
                step = f"writing {target.table.name}"
                connection.execute(delete(target.table).filter_by(**partition))
            step = "writing core_source_file"
            _insert(connection, SourceFile.__table__, source_files)
            for target in _TARGETS:
                step = f"writing {target.table.name}"
                _insert(connection, target.table, rows[target.frame])
            if submission.round is not None:
                step = "writing core_round"
                # Last, so parallel loads of one round's sites wait on this row only briefly.
                _upsert(connection, Round.__table__, _round_row(submission.round, run_id))
            step = "committing"
    except DBAPIError as error:
        # A connection lost while committing leaves the outcome unknown to the client.
        outcome = (
            "the database may or may not have committed it; rerunning the load replaces "
            "the partition either way"
            if step == "committing"
            else "nothing of this load was written"
        )
        raise LoadError(
            f"loading round {submission.round_id} site {submission.site_id} failed "
            f"{step}: {_describe(error)}; {outcome}"
        ) from None

    return LoadCounts(
        source_files=len(source_files),
        superseded_files=superseded,
        quarantine=len(rows["quarantine"]),
        segments=len(rows["segments"]),
        segment_themes=len(rows["segment_themes"]),
        segment_codings=len(rows["segment_codings"]),
        segment_reviews=len(rows["segment_reviews"]),
        coder_agreement=len(rows["coder_agreement"]),
        action_plan_entries=len(rows["action_plan"]),
        theme_prevalence=len(rows["theme_prevalence"]),
        survey_item_summary=len(rows["survey_item_summary"]),
        survey_free_text=len(rows["survey_free_text"]),
    )


def _rows(
    submission: SiteSubmission,
    name: str,
    columns: tuple[str, ...],
    lineage: dict[str, str],
    timestamps: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """The frame's rows as plain Python values, stamped with the partition and run.

    A frame that lacks a column, or holds rows of another partition, is a bug upstream:
    loading it would silently blank a column or leak rows into the wrong partition.
    `timestamps` columns are parsed as ISO 8601 in UTC (naive text counts as UTC), so
    text that is not a time is refused before anything is written.
    """
    frame: pd.DataFrame = getattr(submission, name)
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"{name}: missing columns {', '.join(missing)}")
    for key in ("round_id", "site_id"):
        if key in frame.columns:
            strays = int((frame[key] != lineage[key]).sum())
            if strays:
                raise ValueError(
                    f"{name}: {strays} rows have a {key} other than {lineage[key]}, "
                    f"the partition being loaded"
                )
    selected = frame.loc[:, list(columns)]
    for column in timestamps:
        try:
            parsed = pd.to_datetime(selected[column], utc=True, format="ISO8601")
        except (TypeError, ValueError):
            raise ValueError(f"{name}: {column} holds values that are not ISO 8601 times") from None
        selected = selected.assign(**{column: parsed})
    records = selected.astype(object).to_dict("records")
    return [
        {**{key: _plain(value) for key, value in record.items()}, **lineage} for record in records
    ]


def _plain(value: Any) -> Any:
    """pandas missing markers become NULL and numpy scalars Python ones, which drivers accept."""
    if pd.api.types.is_scalar(value) and pd.isna(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _round_row(round_info: RoundInfo, run_id: str) -> dict[str, Any]:
    return {
        "round_id": round_info.round_id,
        "title": round_info.title,
        "kind": round_info.kind,
        "period_start": _as_date(round_info.period_start),
        "period_end": _as_date(round_info.period_end),
        "reviews": round_info.reviews,
        "run_id": run_id,
    }


def _as_date(value: str | date | None) -> date | None:
    """round.yaml dates arrive as ISO text, or as dates when YAML parsed them already."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


def _supersede_missing_files(
    connection: Connection, partition: dict[str, str], source_files: list[dict[str, Any]]
) -> int:
    """Delete the rows the new load replaces, mark the rest superseded; return how many newly."""
    table = SourceFile.__table__
    submitted = {(row["source_file"], row["source_sha256"]) for row in source_files}
    existing = connection.execute(
        select(table.c.id, table.c.source_file, table.c.source_sha256, table.c.status).filter_by(
            **partition
        )
    ).all()
    replaced = [row.id for row in existing if (row.source_file, row.source_sha256) in submitted]
    newly_superseded = [
        row.id
        for row in existing
        if (row.source_file, row.source_sha256) not in submitted and row.status != SUPERSEDED
    ]
    if replaced:
        connection.execute(delete(table).where(table.c.id.in_(replaced)))
    if newly_superseded:
        connection.execute(
            update(table).where(table.c.id.in_(newly_superseded)).values(status=SUPERSEDED)
        )
    return len(newly_superseded)


def _insert(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    if rows:
        connection.execute(insert(table), rows)


def _upsert(connection: Connection, table: Table, row: dict[str, Any]) -> None:
    """Insert or update by primary key, race-free when two partitions upsert the same round."""
    dialects = {"postgresql": postgresql, "sqlite": sqlite}
    dialect = dialects.get(connection.dialect.name)
    if dialect is None:
        raise NotImplementedError(
            f"the warehouse supports {' and '.join(dialects)}, not {connection.dialect.name}"
        )
    key = [column.name for column in table.primary_key.columns]
    statement = dialect.insert(table).values(row)
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=key,
            set_={name: statement.excluded[name] for name in row if name not in key},
        )
    )


def _describe(error: DBAPIError) -> str:
    """What went wrong, from fields that cannot hold row values.

    PostgreSQL's DETAIL quotes the failing row, and data errors (SQLSTATE class 22)
    quote the bad value even in the primary message, so only the structured fields and,
    outside class 22, the primary message are used. SQLite's messages name constraints
    and columns, never values.
    """
    original = error.orig
    diag = getattr(original, "diag", None)
    if diag is None:
        return f"{type(original).__name__}: {original}"
    if diag.sqlstate is None and isinstance(error, OperationalError):
        # No SQLSTATE: the client's own error, not the server's, i.e. no connection.
        what = (
            "the connection to the database was lost (the server stopped or restarted)"
            if error.connection_invalidated
            else "the database could not be reached"
        )
        return f"{type(original).__name__}: {what}"
    sqlstate = diag.sqlstate or "unknown"
    parts = [f"{type(original).__name__} (SQLSTATE {sqlstate})"]
    if diag.message_primary and not sqlstate.startswith("22"):
        parts.append(diag.message_primary)
    parts.extend(
        f"{label} {value}"
        for label, value in (
            ("table", diag.table_name),
            ("column", diag.column_name),
            ("constraint", diag.constraint_name),
        )
        if value
    )
    return ", ".join(parts)


PARTITION = ["round_id", "site_id"]
SUMMARY_COUNTS = [
    "files_loaded",
    "files_quarantined",
    "segments",
    "participants",
    "quarantined_items",
    "warnings",
]
TOP_THEMES = 3
SOURCE_FILE_STATUS_COLUMNS = [
    "round_id",
    "site_id",
    "source_file",
    "source_sha256",
    "source_kind",
    "status",
    "run_id",
    "loaded_at",
]

_SUMMARY_QUERIES = {
    "partitions": "SELECT DISTINCT round_id, site_id FROM core_run",
    "files": """
        SELECT round_id, site_id,
               SUM(CASE WHEN status = 'loaded' THEN 1 ELSE 0 END) AS files_loaded,
               SUM(CASE WHEN status = 'quarantined' THEN 1 ELSE 0 END) AS files_quarantined
        FROM source_files GROUP BY round_id, site_id
    """,
    "segments": """
        SELECT round_id, site_id, COUNT(*) AS segments, COUNT(DISTINCT speaker) AS speakers
        FROM segments GROUP BY round_id, site_id
    """,
    # Survey answers have no speaker: each response (its id is unique within its file)
    # is one participant.
    "responses": """
        SELECT round_id, site_id, COUNT(*) AS respondents
        FROM (
            SELECT DISTINCT round_id, site_id, source_file, response_id FROM segments
            WHERE source_kind = 'survey' AND response_id IS NOT NULL
        ) responses
        GROUP BY round_id, site_id
    """,
    "quarantine": """
        SELECT round_id, site_id,
               SUM(CASE WHEN severity = 'error' THEN 1 ELSE 0 END) AS quarantined_items,
               SUM(CASE WHEN severity = 'warning' THEN 1 ELSE 0 END) AS warnings
        FROM quarantine GROUP BY round_id, site_id
    """,
    "themes": """
        SELECT round_id, site_id, theme_code, COUNT(DISTINCT segment_id) AS n_segments
        FROM segment_themes GROUP BY round_id, site_id, theme_code
    """,
}


def read_partition_summary(engine: Engine) -> pd.DataFrame:
    """One row per loaded round x site: file, segment, participant and quarantine counts.

    `participants` counts distinct speaker pseudonyms plus distinct survey responses;
    `quarantined_items` counts rejected files, rows and paragraphs (`warnings` those let
    through with a warning); `top_themes` lists the three theme codes with most segments,
    ties broken alphabetically, comma-separated. A warehouse nothing was loaded into
    yet gives an empty frame with these columns.
    """
    columns = [*PARTITION, *SUMMARY_COUNTS, "top_themes"]
    with engine.connect() as connection:
        if not _is_migrated(connection):
            return pd.DataFrame(columns=columns)
        frames = {name: _frame(connection, query) for name, query in _SUMMARY_QUERIES.items()}
    summary = frames["partitions"]
    for name in ("files", "segments", "responses", "quarantine"):
        summary = summary.merge(frames[name], on=PARTITION, how="left")
    counted = [c for c in summary.columns if c not in PARTITION]
    summary[counted] = summary[counted].apply(pd.to_numeric).fillna(0).astype("int64")
    summary["participants"] = summary["speakers"] + summary["respondents"]
    summary["top_themes"] = [
        _top_themes(frames["themes"], round_id, site_id)
        for round_id, site_id in zip(summary["round_id"], summary["site_id"], strict=True)
    ]
    return summary.loc[:, columns].sort_values(PARTITION, ignore_index=True)


def read_source_file_status(engine: Engine) -> pd.DataFrame:
    """Every file version the warehouse has seen, with its status (superseded ones included)."""
    with engine.connect() as connection:
        if not _is_migrated(connection):
            return pd.DataFrame(columns=SOURCE_FILE_STATUS_COLUMNS)
        query = (
            f"SELECT {', '.join(SOURCE_FILE_STATUS_COLUMNS)} FROM source_files "
            "ORDER BY round_id, site_id, source_file, status"
        )
        return _frame(connection, query)


@dataclasses.dataclass(frozen=True)
class RoundCoding:
    """A round's segments with every coder's codings and the published ones, from the views.

    `segments` carry their published category; `codings` are `segment_codings` (the machine
    coders' rows and each person's), which a review keeps as its baseline (callers pick the
    machine's with `is_machine`); `published` are `segment_themes`; `reviews` are
    `segment_reviews` (which segments each person reviewed, with their category).
    """

    segments: pd.DataFrame
    codings: pd.DataFrame
    published: pd.DataFrame
    reviews: pd.DataFrame


def read_round_coding(engine: Engine, round_id: str, site_id: str | None = None) -> RoundCoding:
    """What the review exports are made from and what an imported review is read against:
    the contract's views, as analysts see them.

    A warehouse not loaded since migration 0003 has no `segment_codings`; its
    `segment_themes` stand in for every coder's rows, and it has no reviews.
    """
    where = "round_id = :round_id" + (" AND site_id = :site_id" if site_id else "")
    parameters = {"round_id": round_id, "site_id": site_id}
    columns = "segment_id, theme_code, category, coder, confidence, codebook_version"
    with engine.connect() as connection:
        if not _is_migrated(connection):
            raise LoadError("the warehouse holds nothing yet: materialise a round first")
        has_codings = inspect(connection).has_table("segment_codings")
        segments = _frame(connection, f"SELECT * FROM segments WHERE {where}", parameters)
        published = _frame(
            connection, f"SELECT {columns} FROM segment_themes WHERE {where}", parameters
        )
        if has_codings:
            codings = _frame(
                connection, f"SELECT {columns} FROM segment_codings WHERE {where}", parameters
            )
            reviews = _frame(
                connection,
                f"SELECT segment_id, coder, category FROM segment_reviews WHERE {where}",
                parameters,
            )
        else:
            codings = published
            reviews = pd.DataFrame(columns=["segment_id", "coder", "category"])
    return RoundCoding(segments, codings, published, reviews)


def _is_migrated(connection: Connection) -> bool:
    """A warehouse no load has reached yet has no tables; the CLI may ask before the first load."""
    return inspect(connection).has_table(Run.__tablename__)


def _frame(
    connection: Connection, query: str, parameters: dict[str, object] | None = None
) -> pd.DataFrame:
    result = connection.execute(text(query), parameters or {})
    return pd.DataFrame(result.all(), columns=list(result.keys()))


def _top_themes(themes: pd.DataFrame, round_id: str, site_id: str) -> str:
    mine = themes[(themes["round_id"] == round_id) & (themes["site_id"] == site_id)]
    ranked = mine.sort_values(["n_segments", "theme_code"], ascending=[False, True])
    return ", ".join(ranked["theme_code"].head(TOP_THEMES))
