"""Every coder's codings, people's reviews, agreement between coders, and theme change.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05

`segment_themes` publishes one coding per segment (people's reviews take precedence over
the machine's); `core_segment_coding` keeps every coder's, the machine's and each
person's, and `core_segment_review` which segments each person reviewed (with or without
a theme). `core_coder_agreement` holds kappa, alpha and percent agreement per pair of
coders and theme. `theme_change` compares each round with the round it reviews, from the
published coding; it is computed at query time, like `action_progress`, so it is right
whichever round was loaded first and stays right when either is reloaded.

Vocabularies and the alpha threshold are spelled out, not imported, as in 0001.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CATEGORIES = ("progress", "barrier", "solution")
# Krippendorff's floor for tentative conclusions (assets/code/agreement.TENTATIVE_ALPHA).
TENTATIVE_ALPHA = 0.667

VIEWS = {
    # Joined to `segments` like `segment_themes`: codings of a superseded file's
    # segments never reach analysts.
    "segment_codings": """
        SELECT c.segment_id, c.theme_code, c.category, c.coder, c.confidence,
               c.codebook_version, c.round_id, c.site_id, c.run_id
        FROM core_segment_coding c
        JOIN segments s
          ON s.round_id = c.round_id AND s.site_id = c.site_id AND s.segment_id = c.segment_id
    """,
    "segment_reviews": """
        SELECT r.round_id, r.site_id, r.segment_id, r.coder, r.category, r.reviewed_at,
               r.codebook_version, r.run_id
        FROM core_segment_review r
        JOIN segments s
          ON s.round_id = r.round_id AND s.site_id = r.site_id AND s.segment_id = r.segment_id
    """,
    "coder_agreement": f"""
        SELECT round_id, site_id, coder_a, coder_b, theme_code, n_segments, cohen_kappa,
               krippendorff_alpha, percent_agreement,
               CASE
                   WHEN krippendorff_alpha IS NULL THEN NULL
                   WHEN krippendorff_alpha < {TENTATIVE_ALPHA} THEN TRUE
                   ELSE FALSE
               END AS warning,
               run_id
        FROM core_coder_agreement
    """,
    # Keys: each (site, theme) of either round of a pair, by UNION (SQLite before 3.39
    # has no FULL OUTER JOIN). A site without segments in a round has no share there
    # (null); a site with segments but not this theme has 0.
    "theme_change": """
        WITH pairs AS (
            SELECT round_id, reviews AS reviewed_round_id FROM rounds WHERE reviews IS NOT NULL
        ),
        site_totals AS (
            SELECT round_id, site_id, COUNT(*) AS n_segments
            FROM segments GROUP BY round_id, site_id
        ),
        theme_counts AS (
            SELECT round_id, site_id, theme_code, COUNT(DISTINCT segment_id) AS n_segments
            FROM segment_themes GROUP BY round_id, site_id, theme_code
        ),
        pair_themes AS (
            SELECT p.round_id, p.reviewed_round_id, t.site_id, t.theme_code
            FROM pairs p JOIN theme_counts t ON t.round_id = p.round_id
            UNION
            SELECT p.round_id, p.reviewed_round_id, t.site_id, t.theme_code
            FROM pairs p JOIN theme_counts t ON t.round_id = p.reviewed_round_id
        ),
        counted AS (
            SELECT k.round_id, k.reviewed_round_id, k.site_id, k.theme_code,
                   CASE WHEN total_then.n_segments IS NULL THEN NULL
                        ELSE COALESCE(then_.n_segments, 0) END AS n_segments_then,
                   total_then.n_segments AS total_then,
                   CASE WHEN total_now.n_segments IS NULL THEN NULL
                        ELSE COALESCE(now_.n_segments, 0) END AS n_segments_now,
                   total_now.n_segments AS total_now
            FROM pair_themes k
            LEFT JOIN site_totals total_then
              ON total_then.round_id = k.reviewed_round_id AND total_then.site_id = k.site_id
            LEFT JOIN theme_counts then_
              ON then_.round_id = k.reviewed_round_id AND then_.site_id = k.site_id
             AND then_.theme_code = k.theme_code
            LEFT JOIN site_totals total_now
              ON total_now.round_id = k.round_id AND total_now.site_id = k.site_id
            LEFT JOIN theme_counts now_
              ON now_.round_id = k.round_id AND now_.site_id = k.site_id
             AND now_.theme_code = k.theme_code
        ),
        shares AS (
            SELECT round_id, reviewed_round_id, site_id, theme_code,
                   n_segments_then,
                   CAST(n_segments_then AS DOUBLE PRECISION) / total_then AS share_then,
                   n_segments_now,
                   CAST(n_segments_now AS DOUBLE PRECISION) / total_now AS share_now
            FROM counted
        )
        SELECT round_id, reviewed_round_id, site_id, theme_code,
               n_segments_then, share_then, n_segments_now, share_now,
               share_now - share_then AS share_change
        FROM shares
    """,
}


def _partition() -> list[sa.Column]:
    return [
        sa.Column("round_id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=False),
    ]


def _of_a_segment(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["round_id", "site_id", "segment_id"],
        ["core_segment.round_id", "core_segment.site_id", "core_segment.segment_id"],
        name=op.f(f"fk_{table}_round_id_core_segment"),
    )


def _loaded_by_run(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["run_id", "round_id", "site_id"],
        ["core_run.run_id", "core_run.round_id", "core_run.site_id"],
        name=op.f(f"fk_{table}_run_id_core_run"),
    )


def _category(table: str) -> sa.CheckConstraint:
    listed = ", ".join(f"'{value}'" for value in CATEGORIES)
    return sa.CheckConstraint(f"category IN ({listed})", name=op.f(f"ck_{table}_category"))


def upgrade() -> None:
    op.create_table(
        "core_segment_coding",
        *_partition(),
        sa.Column("segment_id", sa.String(), nullable=False),
        sa.Column("theme_code", sa.String(), nullable=False),
        sa.Column("coder", sa.String(), nullable=False),
        sa.Column("category", sa.String(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("codebook_version", sa.String(), nullable=False),
        sa.Column("run_id", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint(
            "round_id",
            "site_id",
            "segment_id",
            "theme_code",
            "coder",
            name=op.f("pk_core_segment_coding"),
        ),
        _category("core_segment_coding"),
        sa.CheckConstraint(
            "confidence >= 0 AND confidence <= 1", name=op.f("ck_core_segment_coding_confidence")
        ),
        _of_a_segment("core_segment_coding"),
        _loaded_by_run("core_segment_coding"),
    )
    op.create_table(
        "core_segment_review",
        *_partition(),
        sa.Column("segment_id", sa.String(), nullable=False),
        sa.Column("coder", sa.String(), nullable=False),
        sa.Column("category", sa.String(), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("codebook_version", sa.String(), nullable=False),
        sa.Column("run_id", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint(
            "round_id", "site_id", "segment_id", "coder", name=op.f("pk_core_segment_review")
        ),
        _category("core_segment_review"),
        _of_a_segment("core_segment_review"),
        _loaded_by_run("core_segment_review"),
    )
    op.create_table(
        "core_coder_agreement",
        *_partition(),
        sa.Column("coder_a", sa.String(), nullable=False),
        sa.Column("coder_b", sa.String(), nullable=False),
        sa.Column("theme_code", sa.String(), nullable=False),
        sa.Column("n_segments", sa.Integer(), nullable=False),
        sa.Column("cohen_kappa", sa.Float(), nullable=True),
        sa.Column("krippendorff_alpha", sa.Float(), nullable=True),
        sa.Column("percent_agreement", sa.Float(), nullable=True),
        sa.Column("run_id", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint(
            "round_id",
            "site_id",
            "coder_a",
            "coder_b",
            "theme_code",
            name=op.f("pk_core_coder_agreement"),
        ),
        sa.CheckConstraint("n_segments >= 0", name=op.f("ck_core_coder_agreement_n_segments")),
        sa.CheckConstraint(
            "percent_agreement >= 0 AND percent_agreement <= 100",
            name=op.f("ck_core_coder_agreement_percent_agreement"),
        ),
        _loaded_by_run("core_coder_agreement"),
    )
    for name, query in VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {query}")


def downgrade() -> None:
    for name in reversed(VIEWS):
        op.execute(f"DROP VIEW {name}")
    for table in ("core_coder_agreement", "core_segment_review", "core_segment_coding"):
        op.drop_table(table)
