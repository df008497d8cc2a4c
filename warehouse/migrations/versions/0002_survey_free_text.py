"""Free-text survey answers with who gave them, generalised for small groups.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28

`core_survey_free_text` holds, per free-text answer (a survey segment), the respondent's
role, ethnic group and age band as they may be published: generalised or left out until
at least k respondents of the site share the combination (assets/aggregate/small_groups).
The `survey_free_text` view joins the anonymised text from `segments`.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "core_survey_free_text"
DISCLOSURES = (
    "as_answered",
    "ethnic_group_generalised",
    "age_band_widened",
    "age_band_left_out",
    "suppressed",
)
VIEW = """
    SELECT f.round_id, f.site_id, f.segment_id, f.item_id, f.stakeholder_group,
           f.ethnic_group, f.age_band, f.disclosure, s.text
    FROM core_survey_free_text f
    JOIN segments s
      ON s.round_id = f.round_id AND s.site_id = f.site_id AND s.segment_id = f.segment_id
"""


def upgrade() -> None:
    listed = ", ".join(f"'{value}'" for value in DISCLOSURES)
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("round_id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=False),
        sa.Column("segment_id", sa.String(), nullable=False),
        sa.Column("item_id", sa.String(), nullable=True),
        sa.Column("stakeholder_group", sa.String(), nullable=True),
        sa.Column("ethnic_group", sa.String(), nullable=True),
        sa.Column("age_band", sa.String(), nullable=True),
        sa.Column("disclosure", sa.String(), nullable=False),
        sa.Column("run_id", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{TABLE}")),
        sa.CheckConstraint(f"disclosure IN ({listed})", name=op.f(f"ck_{TABLE}_disclosure")),
        sa.ForeignKeyConstraint(
            ["run_id", "round_id", "site_id"],
            ["core_run.run_id", "core_run.round_id", "core_run.site_id"],
            name=op.f(f"fk_{TABLE}_run_id_core_run"),
        ),
    )
    op.create_index(op.f(f"ix_{TABLE}_partition"), TABLE, ["round_id", "site_id"])
    op.execute(f"CREATE VIEW survey_free_text AS {VIEW}")


def downgrade() -> None:
    op.execute("DROP VIEW survey_free_text")
    op.drop_index(op.f(f"ix_{TABLE}_partition"), table_name=TABLE)
    op.drop_table(TABLE)
