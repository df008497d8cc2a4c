"""The warehouse's base tables: one row set per round x site partition, behind the contract's views.

Analysts never read these tables: they read the views the migrations create over them
(shared/contracts/warehouse.md), so these tables can change shape in a migration without
breaking anyone. The migrations are hand-written and authoritative; these models mirror
them so the load can build Core statements, and a test keeps the two in step.

Every partition row carries `run_id` and references the `core_run` row of the load
that wrote it, so lineage (which run, when) can never point at nothing.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from schemas.contract import (
    ACTION_STATUSES,
    CATEGORIES,
    DISCLOSURES,
    ROUND_KINDS,
    SEVERITIES,
    SOURCE_FILE_STATUSES,
    SOURCE_KINDS,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _one_of(column: str, values: tuple[str, ...]) -> CheckConstraint:
    """A CHECK that keeps a closed vocabulary of the contract closed in the database too."""
    listed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({listed})", name=column)


def _loaded_by_run() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["run_id", "round_id", "site_id"],
        ["core_run.run_id", "core_run.round_id", "core_run.site_id"],
    )


class Round(Base):
    """One impact round (round.yaml); shared by all its sites, upserted by each site's load."""

    __tablename__ = "core_round"
    __table_args__ = (_one_of("kind", ROUND_KINDS),)

    round_id: Mapped[str] = mapped_column(String, primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String)
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    reviews: Mapped[str | None] = mapped_column(String)
    run_id: Mapped[str] = mapped_column(String)


class Run(Base):
    """Append-only log of loads: which run wrote which partition, and when."""

    __tablename__ = "core_run"

    run_id: Mapped[str] = mapped_column(String, primary_key=True)
    round_id: Mapped[str] = mapped_column(String, primary_key=True)
    site_id: Mapped[str] = mapped_column(String, primary_key=True)
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SourceFile(Base):
    """Raw files seen per partition, including superseded versions kept as history."""

    __tablename__ = "core_source_file"
    __table_args__ = (
        _one_of("status", SOURCE_FILE_STATUSES),
        _one_of("source_kind", SOURCE_KINDS),
        _loaded_by_run(),
        Index("ix_core_source_file_partition", "round_id", "site_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    round_id: Mapped[str] = mapped_column(String)
    site_id: Mapped[str] = mapped_column(String)
    source_file: Mapped[str] = mapped_column(String)
    source_sha256: Mapped[str | None] = mapped_column(String)
    source_kind: Mapped[str | None] = mapped_column(String)
    status: Mapped[str] = mapped_column(String)
    n_records: Mapped[int] = mapped_column(Integer)
    n_rejected: Mapped[int] = mapped_column(Integer)
    n_withdrawn: Mapped[int] = mapped_column(Integer)
    run_id: Mapped[str] = mapped_column(String)


class QuarantineEntry(Base):
    """A rejected (error) or flagged (warning) file, row or paragraph; `reason` never quotes it."""

    __tablename__ = "core_quarantine"
    __table_args__ = (
        _one_of("severity", SEVERITIES),
        _loaded_by_run(),
        Index("ix_core_quarantine_partition", "round_id", "site_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    round_id: Mapped[str] = mapped_column(String)
    site_id: Mapped[str] = mapped_column(String)
    source_file: Mapped[str] = mapped_column(String)
    locator: Mapped[str] = mapped_column(String)
    reason: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String)
    run_id: Mapped[str] = mapped_column(String)


class Segment(Base):
    """An anonymised, coded segment: speakers are pseudonyms, withdrawn people are gone."""

    __tablename__ = "core_segment"
    __table_args__ = (
        _one_of("source_kind", SOURCE_KINDS),
        _one_of("category", CATEGORIES),
        _loaded_by_run(),
    )

    round_id: Mapped[str] = mapped_column(String, primary_key=True)
    site_id: Mapped[str] = mapped_column(String, primary_key=True)
    segment_id: Mapped[str] = mapped_column(String, primary_key=True)
    source_kind: Mapped[str] = mapped_column(String)
    event_id: Mapped[str | None] = mapped_column(String)
    speaker: Mapped[str | None] = mapped_column(String)
    stakeholder_group: Mapped[str | None] = mapped_column(String)
    text: Mapped[str] = mapped_column(Text)
    source_file: Mapped[str] = mapped_column(String)
    source_sha256: Mapped[str] = mapped_column(String)
    locator: Mapped[str] = mapped_column(String)
    agenda_item: Mapped[str | None] = mapped_column(Text)
    is_action: Mapped[bool] = mapped_column(Boolean)
    category: Mapped[str] = mapped_column(String)
    codebook_version: Mapped[str] = mapped_column(String)
    response_id: Mapped[str | None] = mapped_column(String)
    item_id: Mapped[str | None] = mapped_column(String)
    run_id: Mapped[str] = mapped_column(String)


class SegmentTheme(Base):
    """A theme one coder gave one segment."""

    __tablename__ = "core_segment_theme"
    __table_args__ = (
        _one_of("category", CATEGORIES),
        CheckConstraint("confidence >= 0 AND confidence <= 1", name="confidence"),
        ForeignKeyConstraint(
            ["round_id", "site_id", "segment_id"],
            ["core_segment.round_id", "core_segment.site_id", "core_segment.segment_id"],
        ),
        _loaded_by_run(),
    )

    round_id: Mapped[str] = mapped_column(String, primary_key=True)
    site_id: Mapped[str] = mapped_column(String, primary_key=True)
    segment_id: Mapped[str] = mapped_column(String, primary_key=True)
    theme_code: Mapped[str] = mapped_column(String, primary_key=True)
    coder: Mapped[str] = mapped_column(String, primary_key=True)
    category: Mapped[str] = mapped_column(String)
    confidence: Mapped[float] = mapped_column(Float)
    codebook_version: Mapped[str] = mapped_column(String)
    run_id: Mapped[str] = mapped_column(String)


class ActionPlanEntry(Base):
    """One agreed action and its status this round; `action_progress` pairs it with last round's."""

    __tablename__ = "core_action_plan_entry"
    __table_args__ = (_one_of("status", ACTION_STATUSES), _loaded_by_run())

    round_id: Mapped[str] = mapped_column(String, primary_key=True)
    site_id: Mapped[str] = mapped_column(String, primary_key=True)
    action_id: Mapped[str] = mapped_column(String, primary_key=True)
    action: Mapped[str] = mapped_column(Text)
    theme_code: Mapped[str] = mapped_column(String)
    status: Mapped[str] = mapped_column(String)
    evidence: Mapped[str | None] = mapped_column(Text)
    source_file: Mapped[str] = mapped_column(String)
    source_sha256: Mapped[str] = mapped_column(String)
    locator: Mapped[str] = mapped_column(String)
    run_id: Mapped[str] = mapped_column(String)


class ThemePrevalence(Base):
    """Counts per stakeholder group x theme x category; a suppressed count is stored as null."""

    __tablename__ = "core_theme_prevalence"
    __table_args__ = (
        _one_of("category", CATEGORIES),
        CheckConstraint(
            "NOT suppressed OR n_participants IS NULL", name="suppressed_count_is_null"
        ),
        _loaded_by_run(),
    )

    round_id: Mapped[str] = mapped_column(String, primary_key=True)
    site_id: Mapped[str] = mapped_column(String, primary_key=True)
    stakeholder_group: Mapped[str] = mapped_column(String, primary_key=True)
    theme_code: Mapped[str] = mapped_column(String, primary_key=True)
    category: Mapped[str] = mapped_column(String, primary_key=True)
    n_segments: Mapped[int | None] = mapped_column(Integer)
    n_participants: Mapped[int | None] = mapped_column(Integer)
    suppressed: Mapped[bool] = mapped_column(Boolean)
    run_id: Mapped[str] = mapped_column(String)


class SurveyItemSummary(Base):
    """Survey results per item (null response_option: the item's total row)."""

    __tablename__ = "core_survey_item_summary"
    __table_args__ = (
        CheckConstraint("NOT suppressed OR n_responses IS NULL", name="suppressed_count_is_null"),
        _loaded_by_run(),
        Index("ix_core_survey_item_summary_partition", "round_id", "site_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    round_id: Mapped[str] = mapped_column(String)
    site_id: Mapped[str] = mapped_column(String)
    item_id: Mapped[str] = mapped_column(String)
    response_option: Mapped[str | None] = mapped_column(String)
    n_responses: Mapped[int | None] = mapped_column(Integer)
    mean: Mapped[float | None] = mapped_column(Float)
    share_agree: Mapped[float | None] = mapped_column(Float)
    suppressed: Mapped[bool] = mapped_column(Boolean)
    run_id: Mapped[str] = mapped_column(String)


class SurveyFreeText(Base):
    """Who gave each free-text answer, as far as small groups allow (migration 0002)."""

    __tablename__ = "core_survey_free_text"
    __table_args__ = (
        _one_of("disclosure", DISCLOSURES),
        _loaded_by_run(),
        Index("ix_core_survey_free_text_partition", "round_id", "site_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    round_id: Mapped[str] = mapped_column(String)
    site_id: Mapped[str] = mapped_column(String)
    segment_id: Mapped[str] = mapped_column(String)
    item_id: Mapped[str | None] = mapped_column(String)
    stakeholder_group: Mapped[str | None] = mapped_column(String)
    ethnic_group: Mapped[str | None] = mapped_column(String)
    age_band: Mapped[str | None] = mapped_column(String)
    disclosure: Mapped[str] = mapped_column(String)
    run_id: Mapped[str] = mapped_column(String)


class SegmentCoding(Base):
    """A theme one coder, the machine or a person, gave one segment (migration 0003).

    Unlike `core_segment_theme`, which holds the published coding (people's reviews take
    precedence), this keeps every coder's themes: what agreement is measured on.
    """

    __tablename__ = "core_segment_coding"
    __table_args__ = (
        _one_of("category", CATEGORIES),
        CheckConstraint("confidence >= 0 AND confidence <= 1", name="confidence"),
        ForeignKeyConstraint(
            ["round_id", "site_id", "segment_id"],
            ["core_segment.round_id", "core_segment.site_id", "core_segment.segment_id"],
        ),
        _loaded_by_run(),
    )

    round_id: Mapped[str] = mapped_column(String, primary_key=True)
    site_id: Mapped[str] = mapped_column(String, primary_key=True)
    segment_id: Mapped[str] = mapped_column(String, primary_key=True)
    theme_code: Mapped[str] = mapped_column(String, primary_key=True)
    coder: Mapped[str] = mapped_column(String, primary_key=True)
    category: Mapped[str] = mapped_column(String)
    confidence: Mapped[float] = mapped_column(Float)
    codebook_version: Mapped[str] = mapped_column(String)
    run_id: Mapped[str] = mapped_column(String)


class SegmentReview(Base):
    """A segment a person reviewed, with or without giving it a theme (migration 0003).

    A review without themes still says "none of the themes": agreement counts it as absent.
    """

    __tablename__ = "core_segment_review"
    __table_args__ = (
        _one_of("category", CATEGORIES),
        ForeignKeyConstraint(
            ["round_id", "site_id", "segment_id"],
            ["core_segment.round_id", "core_segment.site_id", "core_segment.segment_id"],
        ),
        _loaded_by_run(),
    )

    round_id: Mapped[str] = mapped_column(String, primary_key=True)
    site_id: Mapped[str] = mapped_column(String, primary_key=True)
    segment_id: Mapped[str] = mapped_column(String, primary_key=True)
    coder: Mapped[str] = mapped_column(String, primary_key=True)
    category: Mapped[str] = mapped_column(String)
    reviewed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    codebook_version: Mapped[str] = mapped_column(String)
    run_id: Mapped[str] = mapped_column(String)


class CoderAgreement(Base):
    """Agreement of a pair of coders on one theme (or `all`) in one partition (migration 0003).

    Kappa and alpha are null where undefined; the view adds the low-alpha warning.
    """

    __tablename__ = "core_coder_agreement"
    __table_args__ = (
        CheckConstraint("n_segments >= 0", name="n_segments"),
        CheckConstraint(
            "percent_agreement >= 0 AND percent_agreement <= 100", name="percent_agreement"
        ),
        _loaded_by_run(),
    )

    round_id: Mapped[str] = mapped_column(String, primary_key=True)
    site_id: Mapped[str] = mapped_column(String, primary_key=True)
    coder_a: Mapped[str] = mapped_column(String, primary_key=True)
    coder_b: Mapped[str] = mapped_column(String, primary_key=True)
    theme_code: Mapped[str] = mapped_column(String, primary_key=True)
    n_segments: Mapped[int] = mapped_column(Integer)
    cohen_kappa: Mapped[float | None] = mapped_column(Float)
    krippendorff_alpha: Mapped[float | None] = mapped_column(Float)
    percent_agreement: Mapped[float | None] = mapped_column(Float)
    run_id: Mapped[str] = mapped_column(String)
