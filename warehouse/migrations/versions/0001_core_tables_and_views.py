"""Core tables per round x site partition, and the analysts' views of contract v1.

Revision ID: 0001
Revises:
Create Date: 2025-11-28

The views are the interface of shared/contracts/warehouse.md (v1) plus `rounds`; they
expose only the contract's columns and the documented extensions, so a role that may
read the views only never sees lineage internals or free text beyond `segments.text`.
The vocabularies in the CHECK constraints are spelled out here, not imported, so this
revision keeps meaning what it meant when it ran; a new vocabulary needs a new revision.
Constraint and index names are final (`op.f`): Alembic would otherwise apply the models'
naming convention to them a second time.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SOURCE_KINDS = ("minutes", "survey", "action_plan")
CATEGORIES = ("progress", "barrier", "solution")
SOURCE_FILE_STATUSES = ("loaded", "quarantined", "superseded")
SEVERITIES = ("error", "warning")
ACTION_STATUSES = ("not_started", "in_progress", "achieved", "stalled", "dropped")
ROUND_KINDS = ("baseline", "impact")


def _one_of(table: str, column: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    listed = ", ".join(f"'{value}'" for value in values)
    return sa.CheckConstraint(f"{column} IN ({listed})", name=op.f(f"ck_{table}_{column}"))


def _partition() -> list[sa.Column]:
    return [
        sa.Column("round_id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=False),
    ]


def _loaded_by_run(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["run_id", "round_id", "site_id"],
        ["core_run.run_id", "core_run.round_id", "core_run.site_id"],
        name=op.f(f"fk_{table}_run_id_core_run"),
    )


def _surrogate_id() -> sa.Column:
    return sa.Column("id", sa.Integer(), nullable=False, autoincrement=True)


def _run_id() -> sa.Column:
    return sa.Column("run_id", sa.String(), nullable=False)


VIEWS = {
    "rounds": """
        SELECT round_id, title, kind, period_start, period_end, reviews
        FROM core_round
    """,
    "source_files": """
        SELECT f.round_id, f.site_id, f.source_file, f.source_sha256, f.status,
               f.run_id, r.loaded_at,
               f.source_kind, f.n_records, f.n_rejected, f.n_withdrawn
        FROM core_source_file f
        JOIN core_run r
          ON r.run_id = f.run_id AND r.round_id = f.round_id AND r.site_id = f.site_id
    """,
    "quarantine": """
        SELECT round_id, site_id, source_file, locator, reason, run_id,
               severity
        FROM core_quarantine
    """,
    # A load replaces a partition's segments, so this filter is a safeguard: whatever
    # happens, text from a superseded version of a file never reaches analysts.
    "segments": """
        SELECT s.segment_id, s.round_id, s.site_id, s.source_kind, s.event_id, s.speaker,
               s.stakeholder_group, s.text, s.source_file, s.source_sha256, s.locator,
               s.run_id,
               s.agenda_item, s.is_action, s.category, s.codebook_version,
               s.response_id, s.item_id
        FROM core_segment s
        WHERE NOT EXISTS (
            SELECT 1 FROM core_source_file f
            WHERE f.round_id = s.round_id AND f.site_id = s.site_id
              AND f.source_file = s.source_file AND f.source_sha256 = s.source_sha256
              AND f.status = 'superseded'
        )
    """,
    "segment_themes": """
        SELECT t.segment_id, t.theme_code, t.category, t.coder, t.confidence,
               t.codebook_version,
               t.round_id, t.site_id
        FROM core_segment_theme t
        JOIN segments s
          ON s.round_id = t.round_id AND s.site_id = t.site_id AND s.segment_id = t.segment_id
    """,
    "theme_prevalence": """
        SELECT round_id, site_id, stakeholder_group, theme_code, category,
               n_segments, n_participants, suppressed
        FROM core_theme_prevalence
    """,
    "survey_item_summary": """
        SELECT round_id, site_id, item_id, response_option, n_responses, mean, share_agree,
               suppressed
        FROM core_survey_item_summary
    """,
    # previous_status is joined at query time, not stored, so it is right whichever of
    # the two rounds was loaded first and stays right when either is reloaded.
    "action_progress": """
        SELECT a.round_id, a.site_id, a.action_id, a.theme_code, a.status,
               p.status AS previous_status
        FROM core_action_plan_entry a
        LEFT JOIN core_round r ON r.round_id = a.round_id
        LEFT JOIN core_action_plan_entry p
          ON p.round_id = r.reviews AND p.site_id = a.site_id AND p.action_id = a.action_id
    """,
}


def upgrade() -> None:
    op.create_table(
        "core_round",
        sa.Column("round_id", sa.String(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=True),
        sa.Column("period_end", sa.Date(), nullable=True),
        sa.Column("reviews", sa.String(), nullable=True),
        _run_id(),
        sa.PrimaryKeyConstraint("round_id", name=op.f("pk_core_round")),
        _one_of("core_round", "kind", ROUND_KINDS),
    )
    op.create_table(
        "core_run",
        sa.Column("run_id", sa.String(), nullable=False),
        *_partition(),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "round_id", "site_id", name=op.f("pk_core_run")),
    )
    op.create_table(
        "core_source_file",
        _surrogate_id(),
        *_partition(),
        sa.Column("source_file", sa.String(), nullable=False),
        sa.Column("source_sha256", sa.String(), nullable=True),
        sa.Column("source_kind", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("n_records", sa.Integer(), nullable=False),
        sa.Column("n_rejected", sa.Integer(), nullable=False),
        sa.Column("n_withdrawn", sa.Integer(), nullable=False),
        _run_id(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_source_file")),
        _one_of("core_source_file", "status", SOURCE_FILE_STATUSES),
        _one_of("core_source_file", "source_kind", SOURCE_KINDS),
        _loaded_by_run("core_source_file"),
    )
    op.create_index(
        op.f("ix_core_source_file_partition"), "core_source_file", ["round_id", "site_id"]
    )
    op.create_table(
        "core_quarantine",
        _surrogate_id(),
        *_partition(),
        sa.Column("source_file", sa.String(), nullable=False),
        sa.Column("locator", sa.String(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(), nullable=False),
        _run_id(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_quarantine")),
        _one_of("core_quarantine", "severity", SEVERITIES),
        _loaded_by_run("core_quarantine"),
    )
    op.create_index(
        op.f("ix_core_quarantine_partition"), "core_quarantine", ["round_id", "site_id"]
    )
    op.create_table(
        "core_segment",
        *_partition(),
        sa.Column("segment_id", sa.String(), nullable=False),
        sa.Column("source_kind", sa.String(), nullable=False),
        sa.Column("event_id", sa.String(), nullable=True),
        sa.Column("speaker", sa.String(), nullable=True),
        sa.Column("stakeholder_group", sa.String(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source_file", sa.String(), nullable=False),
        sa.Column("source_sha256", sa.String(), nullable=False),
        sa.Column("locator", sa.String(), nullable=False),
        sa.Column("agenda_item", sa.Text(), nullable=True),
        sa.Column("is_action", sa.Boolean(), nullable=False),
        sa.Column("category", sa.String(), nullable=False),
        sa.Column("codebook_version", sa.String(), nullable=False),
        sa.Column("response_id", sa.String(), nullable=True),
        sa.Column("item_id", sa.String(), nullable=True),
        _run_id(),
        sa.PrimaryKeyConstraint("round_id", "site_id", "segment_id", name=op.f("pk_core_segment")),
        _one_of("core_segment", "source_kind", SOURCE_KINDS),
        _one_of("core_segment", "category", CATEGORIES),
        _loaded_by_run("core_segment"),
    )
    op.create_table(
        "core_segment_theme",
        *_partition(),
        sa.Column("segment_id", sa.String(), nullable=False),
        sa.Column("theme_code", sa.String(), nullable=False),
        sa.Column("coder", sa.String(), nullable=False),
        sa.Column("category", sa.String(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("codebook_version", sa.String(), nullable=False),
        _run_id(),
        sa.PrimaryKeyConstraint(
            "round_id",
            "site_id",
            "segment_id",
            "theme_code",
            "coder",
            name=op.f("pk_core_segment_theme"),
        ),
        _one_of("core_segment_theme", "category", CATEGORIES),
        sa.CheckConstraint(
            "confidence >= 0 AND confidence <= 1", name=op.f("ck_core_segment_theme_confidence")
        ),
        sa.ForeignKeyConstraint(
            ["round_id", "site_id", "segment_id"],
            ["core_segment.round_id", "core_segment.site_id", "core_segment.segment_id"],
            name=op.f("fk_core_segment_theme_round_id_core_segment"),
        ),
        _loaded_by_run("core_segment_theme"),
    )
    op.create_table(
        "core_action_plan_entry",
        *_partition(),
        sa.Column("action_id", sa.String(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("theme_code", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("source_file", sa.String(), nullable=False),
        sa.Column("source_sha256", sa.String(), nullable=False),
        sa.Column("locator", sa.String(), nullable=False),
        _run_id(),
        sa.PrimaryKeyConstraint(
            "round_id", "site_id", "action_id", name=op.f("pk_core_action_plan_entry")
        ),
        _one_of("core_action_plan_entry", "status", ACTION_STATUSES),
        _loaded_by_run("core_action_plan_entry"),
    )
    op.create_table(
        "core_theme_prevalence",
        *_partition(),
        sa.Column("stakeholder_group", sa.String(), nullable=False),
        sa.Column("theme_code", sa.String(), nullable=False),
        sa.Column("category", sa.String(), nullable=False),
        sa.Column("n_segments", sa.Integer(), nullable=True),
        sa.Column("n_participants", sa.Integer(), nullable=True),
        sa.Column("suppressed", sa.Boolean(), nullable=False),
        _run_id(),
        sa.PrimaryKeyConstraint(
            "round_id",
            "site_id",
            "stakeholder_group",
            "theme_code",
            "category",
            name=op.f("pk_core_theme_prevalence"),
        ),
        _one_of("core_theme_prevalence", "category", CATEGORIES),
        # Disclosure control, enforced where analysts read: a suppressed count is null.
        sa.CheckConstraint(
            "NOT suppressed OR n_participants IS NULL",
            name=op.f("ck_core_theme_prevalence_suppressed_count_is_null"),
        ),
        _loaded_by_run("core_theme_prevalence"),
    )
    op.create_table(
        "core_survey_item_summary",
        _surrogate_id(),
        *_partition(),
        sa.Column("item_id", sa.String(), nullable=False),
        sa.Column("response_option", sa.String(), nullable=True),
        sa.Column("n_responses", sa.Integer(), nullable=True),
        sa.Column("mean", sa.Float(), nullable=True),
        sa.Column("share_agree", sa.Float(), nullable=True),
        sa.Column("suppressed", sa.Boolean(), nullable=False),
        _run_id(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_survey_item_summary")),
        sa.CheckConstraint(
            "NOT suppressed OR n_responses IS NULL",
            name=op.f("ck_core_survey_item_summary_suppressed_count_is_null"),
        ),
        _loaded_by_run("core_survey_item_summary"),
    )
    op.create_index(
        op.f("ix_core_survey_item_summary_partition"),
        "core_survey_item_summary",
        ["round_id", "site_id"],
    )
    for name, query in VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {query}")


def downgrade() -> None:
    for name in reversed(VIEWS):
        op.execute(f"DROP VIEW {name}")
    for table in (
        "core_survey_item_summary",
        "core_theme_prevalence",
        "core_action_plan_entry",
        "core_segment_theme",
        "core_segment",
        "core_quarantine",
        "core_source_file",
        "core_run",
        "core_round",
    ):
        op.drop_table(table)
