"""The migrations build the contract's views, agree with the models, and survive a race."""

from __future__ import annotations

import multiprocessing
import threading

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from tests.conftest import run_at_once
from warehouse.engine import begin_write, create_warehouse_engine
from warehouse.migrations_runner import alembic_config, migrate
from warehouse.models import Base

# shared/contracts/warehouse.md v1, then the documented extensions, in view column order.
CONTRACT_VIEWS = {
    "segments": [
        "segment_id",
        "round_id",
        "site_id",
        "source_kind",
        "event_id",
        "speaker",
        "stakeholder_group",
        "text",
        "source_file",
        "source_sha256",
        "locator",
        "run_id",
        "agenda_item",
        "is_action",
        "category",
        "codebook_version",
        "response_id",
        "item_id",
    ],
    "segment_themes": [
        "segment_id",
        "theme_code",
        "category",
        "coder",
        "confidence",
        "codebook_version",
        "round_id",
        "site_id",
    ],
    "theme_prevalence": [
        "round_id",
        "site_id",
        "stakeholder_group",
        "theme_code",
        "category",
        "n_segments",
        "n_participants",
        "suppressed",
    ],
    "survey_item_summary": [
        "round_id",
        "site_id",
        "item_id",
        "response_option",
        "n_responses",
        "mean",
        "share_agree",
        "suppressed",
    ],
    "action_progress": [
        "round_id",
        "site_id",
        "action_id",
        "theme_code",
        "status",
        "previous_status",
    ],
    "source_files": [
        "round_id",
        "site_id",
        "source_file",
        "source_sha256",
        "status",
        "run_id",
        "loaded_at",
        "source_kind",
        "n_records",
        "n_rejected",
        "n_withdrawn",
    ],
    "quarantine": ["round_id", "site_id", "source_file", "locator", "reason", "run_id", "severity"],
    "rounds": ["round_id", "title", "kind", "period_start", "period_end", "reviews"],
    "survey_free_text": [
        "round_id",
        "site_id",
        "segment_id",
        "item_id",
        "stakeholder_group",
        "ethnic_group",
        "age_band",
        "disclosure",
        "text",
    ],
    "segment_codings": [
        "segment_id",
        "theme_code",
        "category",
        "coder",
        "confidence",
        "codebook_version",
        "round_id",
        "site_id",
        "run_id",
    ],
    "segment_reviews": [
        "round_id",
        "site_id",
        "segment_id",
        "coder",
        "category",
        "reviewed_at",
        "codebook_version",
        "run_id",
    ],
    "coder_agreement": [
        "round_id",
        "site_id",
        "coder_a",
        "coder_b",
        "theme_code",
        "n_segments",
        "cohen_kappa",
        "krippendorff_alpha",
        "percent_agreement",
        "warning",
        "run_id",
    ],
    "theme_change": [
        "round_id",
        "reviewed_round_id",
        "site_id",
        "theme_code",
        "n_segments_then",
        "share_then",
        "n_segments_now",
        "share_now",
        "share_change",
    ],
}


def _head(connection) -> str:
    return ScriptDirectory.from_config(alembic_config(connection)).get_current_head()


def _version(connection) -> list[str]:
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()


@pytest.mark.parametrize("view", sorted(CONTRACT_VIEWS))
def test_view_exposes_exactly_the_contract_columns(warehouse_engine, view):
    with warehouse_engine.connect() as connection:
        columns = list(connection.execute(text(f"SELECT * FROM {view}")).keys())
    assert columns == CONTRACT_VIEWS[view]


def test_every_view_is_a_contract_view(warehouse_engine):
    assert set(inspect(warehouse_engine).get_view_names()) == set(CONTRACT_VIEWS)


def test_models_match_the_hand_written_migration(warehouse_engine):
    with warehouse_engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_migrating_again_is_a_no_op_at_head(warehouse_engine):
    migrate(warehouse_engine)
    with warehouse_engine.connect() as connection:
        assert _version(connection) == [_head(connection)]


def test_migrate_accepts_a_url(warehouse_url):
    migrate(warehouse_url)
    engine = create_warehouse_engine(warehouse_url)
    try:
        assert set(inspect(engine).get_view_names()) == set(CONTRACT_VIEWS)
    finally:
        engine.dispose()


def test_downgrade_to_base_removes_every_table_and_view(warehouse_engine):
    with begin_write(warehouse_engine) as connection:
        command.downgrade(alembic_config(connection), "base")
    inspector = inspect(warehouse_engine)
    assert inspector.get_view_names() == []
    assert [t for t in inspector.get_table_names() if t != "alembic_version"] == []


def _migrate_when_released(url: str, start: multiprocessing.synchronize.Barrier) -> None:
    start.wait(timeout=30)
    migrate(url)


def test_concurrent_migrations_from_several_processes(warehouse_url):
    assert run_at_once(_migrate_when_released, [(warehouse_url,)] * 3) == [0, 0, 0]
    engine = create_warehouse_engine(warehouse_url)
    try:
        with engine.connect() as connection:
            assert _version(connection) == [_head(connection)]
        assert set(inspect(engine).get_view_names()) == set(CONTRACT_VIEWS)
    finally:
        engine.dispose()


def test_concurrent_migrations_from_several_threads(warehouse_url):
    start = threading.Barrier(3)
    errors: list[BaseException] = []

    def run() -> None:
        start.wait(timeout=30)
        try:
            migrate(warehouse_url)
        except BaseException as error:
            errors.append(error)

    # Daemon threads: a deadlock fails this test instead of hanging the session.
    threads = [threading.Thread(target=run, daemon=True) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    engine = create_warehouse_engine(warehouse_url)
    try:
        with engine.connect() as connection:
            assert _version(connection) == [_head(connection)]
    finally:
        engine.dispose()


def _constraint_names(engine) -> dict[str, set[str]]:
    inspector = inspect(engine)
    names = {}
    for table in Base.metadata.tables:
        names[table] = {
            *(c["name"] for c in inspector.get_check_constraints(table)),
            *(c["name"] for c in inspector.get_foreign_keys(table)),
            *(c["name"] for c in inspector.get_indexes(table)),
            inspector.get_pk_constraint(table)["name"],
        }
    return names


def test_constraints_carry_the_names_the_models_give_them(warehouse_engine):
    from_models = create_warehouse_engine("sqlite://")
    try:
        Base.metadata.create_all(from_models)
        expected = _constraint_names(from_models)
    finally:
        from_models.dispose()

    assert _constraint_names(warehouse_engine) == expected
    assert "ck_core_theme_prevalence_suppressed_count_is_null" in expected["core_theme_prevalence"]
