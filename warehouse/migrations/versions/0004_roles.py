"""PostgreSQL roles: `ariadne_analyst` reads the contract's views, `ariadne_loader` writes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08

Both roles are NOLOGIN group roles: people and services log in as their own roles and are
made members (`CREATE ROLE alice LOGIN IN ROLE ariadne_analyst`). Roles belong to the
whole cluster, so they are created only when missing, and a migration of another database
creating them at the same moment is not an error. Grants belong to the objects of this
schema (the connection's current schema), so dropping the schema drops them.

The analyst gets USAGE on the schema and SELECT on the views, nothing else: no base
table (`core_*`, which hold lineage internals, and `core_quarantine`, whose reasons the
`quarantine` view publishes), no sequence, not `alembic_version`. PostgreSQL checks a
view's base tables with the rights of the view's owner (the role that ran the
migrations), so the views read without any right on the tables behind them; a view
must therefore never be made `security_invoker`. No view holds a name, contact detail or
identifier (shared/contracts/warehouse.md), and the warehouse holds no pseudonym key.

The loader gets what `replace_partition`, `migrate` at head and the CLI's readers need:
read and write on the core tables, their sequences, SELECT on the views and on
`alembic_version`. It owns nothing, so it cannot create, alter or drop.

A later migration grants what it creates, in the same revision (spelled out there, like
the vocabularies, so each revision keeps meaning what it meant when it ran):

    if op.get_bind().dialect.name == "postgresql":
        op.execute("GRANT SELECT ON new_view TO ariadne_analyst, ariadne_loader")
        op.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON core_new TO ariadne_loader")
        op.execute("GRANT USAGE, SELECT ON SEQUENCE core_new_id_seq TO ariadne_loader")

tests/test_warehouse_roles.py fails for any view the analyst cannot read, any table or
sequence it can, and any core table the loader cannot write.

SQLite has no roles: this revision does nothing there, and access to the SQLite file is
the file system's permissions.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ANALYST = "ariadne_analyst"
LOADER = "ariadne_loader"
# The contract's views (0001) and those 0002 and 0003 added.
VIEWS = (
    "rounds",
    "source_files",
    "quarantine",
    "segments",
    "segment_themes",
    "theme_prevalence",
    "survey_item_summary",
    "action_progress",
    "survey_free_text",
    "segment_codings",
    "segment_reviews",
    "coder_agreement",
    "theme_change",
)
CORE_TABLES = (
    "core_round",
    "core_run",
    "core_source_file",
    "core_quarantine",
    "core_segment",
    "core_segment_theme",
    "core_action_plan_entry",
    "core_theme_prevalence",
    "core_survey_item_summary",
    "core_survey_free_text",
    "core_segment_coding",
    "core_segment_review",
    "core_coder_agreement",
)
# Serial ids of 0001 and 0002.
SEQUENCES = (
    "core_source_file_id_seq",
    "core_quarantine_id_seq",
    "core_survey_item_summary_id_seq",
    "core_survey_free_text_id_seq",
)


def create_role_sql(role: str) -> str:
    """A statement creating `role` NOLOGIN unless it exists, safe against a concurrent twin.

    Two databases of one cluster migrating at once both find the role missing; the second
    CREATE ROLE then fails with duplicate_object or unique_violation, which means the role
    is there. A migrating user who may not create roles gets a message saying what to ask.
    """
    return f"""
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '{role}') THEN
                CREATE ROLE {role} NOLOGIN;
            END IF;
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN
                NULL;
            WHEN insufficient_privilege THEN
                RAISE EXCEPTION 'role {role} does not exist and % may not create roles',
                    current_user
                    USING HINT = 'an administrator runs CREATE ROLE {role} NOLOGIN once '
                                 'per cluster, then the migration grants it its rights';
        END
        $$
    """


def _schema() -> str:
    """The current schema, quoted: where the migrations created their tables and views."""
    bind = op.get_bind()
    name = bind.execute(sa.text("SELECT current_schema()")).scalar_one()
    return bind.dialect.identifier_preparer.quote(name)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    schema = _schema()
    for role in (ANALYST, LOADER):
        op.execute(create_role_sql(role))
    # PUBLIC (every role) may read nothing here and create nothing: only grants count.
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM PUBLIC")
    op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM PUBLIC")
    op.execute(f"REVOKE CREATE ON SCHEMA {schema} FROM PUBLIC")
    op.execute(f"GRANT USAGE ON SCHEMA {schema} TO {ANALYST}, {LOADER}")
    op.execute(f"GRANT SELECT ON {', '.join(VIEWS)} TO {ANALYST}, {LOADER}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(CORE_TABLES)} TO {LOADER}")
    op.execute(f"GRANT USAGE, SELECT ON SEQUENCE {', '.join(SEQUENCES)} TO {LOADER}")
    op.execute(f"GRANT SELECT ON alembic_version TO {LOADER}")


def downgrade() -> None:
    """Take back this schema's grants. The roles stay (other databases may use them), and
    PUBLIC gets nothing back (nothing here needs it)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    schema = _schema()
    for what in ("TABLES", "SEQUENCES"):
        op.execute(f"REVOKE ALL ON ALL {what} IN SCHEMA {schema} FROM {ANALYST}, {LOADER}")
    op.execute(f"REVOKE USAGE ON SCHEMA {schema} FROM {ANALYST}, {LOADER}")
