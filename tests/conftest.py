"""Database fixtures for every test: a throwaway PostgreSQL database, and a warehouse per test.

`warehouse_url` and `warehouse_engine` run a test twice, on SQLite and on PostgreSQL,
because every SQL the warehouse uses must work on both. PostgreSQL is the server at
ARIADNE_TEST_POSTGRES_URL (trust auth on 127.0.0.1 by default): each test session gets
its own database, each test its own schema in it, so tests never see each other's rows.
"""

from __future__ import annotations

import dataclasses
import functools
import multiprocessing
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.exc import OperationalError

from schemas.tables import (
    ActionPlan,
    Attendees,
    CodedSegments,
    Quarantine,
    RoundInfo,
    SegmentCodings,
    SegmentThemes,
    SiteSubmission,
    SourceFiles,
    SurveyAnswers,
    SurveyFreeText,
    SurveyItemSummary,
    SurveyResponses,
    ThemePrevalence,
    empty,
)
from warehouse.engine import create_warehouse_engine
from warehouse.migrations_runner import migrate

POSTGRES_URL_VARIABLE = "ARIADNE_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _admin_engine(url: str) -> Engine:
    """AUTOCOMMIT, because CREATE and DROP DATABASE cannot run inside a transaction."""
    return create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The programme's shared folder (contracts, schemas), beside the checkout as CI lays it.

    ARIADNE_SHARED_DIR overrides; missing, it is a failure on CI and a skip elsewhere.
    """
    path = Path(
        os.environ.get("ARIADNE_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared")
    )
    if not path.is_dir():
        message = f"the shared folder is not at {path}; set ARIADNE_SHARED_DIR to where it is"
        if _on_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a fresh PostgreSQL database for this test session, dropped afterwards.

    Unreachable server: a failure on CI (CI must not pass by skipping), a skip elsewhere.
    """
    server_url = os.environ.get(POSTGRES_URL_VARIABLE, DEFAULT_POSTGRES_URL)
    shown = make_url(server_url).render_as_string(hide_password=True)
    admin = _admin_engine(server_url)
    try:
        connection = admin.connect()
    except OperationalError:
        admin.dispose()
        message = (
            f"PostgreSQL at {shown} is unreachable; start it, or point "
            f"{POSTGRES_URL_VARIABLE} at a server where this user may CREATE DATABASE "
            f"(a SQLAlchemy URL such as postgresql+psycopg://user@host:5432/dbname)"
        )
        if _on_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    name = f"ariadne_test_{secrets.token_hex(6)}"
    with connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    # No idle connection may outlive this point: forked test processes inherit them.
    admin.dispose()
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def warehouse_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """An empty warehouse: a SQLite file in tmp_path, or a fresh PostgreSQL schema.

    The PostgreSQL URL sets the schema as the connection's search_path, so unqualified
    table and view names (as analysts write them) land in this test's schema only.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'warehouse.db'}"
        return
    database_url = make_url(request.getfixturevalue("postgres_url"))
    schema = f"test_{secrets.token_hex(6)}"
    admin = _admin_engine(database_url)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    try:
        yield database_url.update_query_dict(
            {"options": f"-csearch_path={schema}"}
        ).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            # A test that left a transaction hanging must not hang the session: the
            # session's DROP DATABASE ... WITH (FORCE) removes the schema anyway.
            connection.execute(text("SET lock_timeout = '10s'"))
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def warehouse_engine(warehouse_url: str) -> Iterator[Engine]:
    """An engine on a warehouse migrated to head."""
    engine = create_warehouse_engine(warehouse_url)
    migrate(engine)
    try:
        yield engine
    finally:
        engine.dispose()


SHA_MINUTES = "a1" * 32
SHA_SURVEY = "b2" * 32
SHA_ACTION_PLAN = "c3" * 32
MINUTES = "minutes/2024-05-21-workshop.md"
SURVEY = "surveys/followup.csv"
ACTION_PLAN = "action_plan.csv"
MISSING_MINUTES = "minutes/steering-group.docx"

# Made-up attendees of many origins: the load must never write them anywhere.
ATTENDEE_NAMES = (
    ("Amara Okafor", "staff", "AO"),
    ("Tomasz Wiśniewski", "carer", "TW"),
    ("Farhana Choudhury", "service_user", "FC"),
)


def coded_submission(
    round_id: str = "2024-impact",
    site_id: str = "east-london",
    *,
    minutes_sha256: str = SHA_MINUTES,
    actions: tuple[tuple[str, str], ...] | dict[str, str] = (
        ("a1", "in_progress"),
        ("a2", "not_started"),
    ),
    reviews: str | None = None,
    title: str | None = None,
) -> SiteSubmission:
    """A small coded submission as the load receives it, valid against the pandera models.

    Speakers are pseudonyms; `attendees` holds made-up names that must never reach the
    warehouse. `minutes_sha256` stands for a version of the minutes file: its segments'
    text and ids follow it, as they would after a site resubmits corrected minutes.
    `actions` maps action_id to status. `segment_codings` holds every row of
    `segment_themes`, as the pipeline's always holds the published machine rows and each
    person's. Each call returns frames of its own to modify.
    """
    actions = tuple(actions.items()) if isinstance(actions, dict) else actions
    built = _validated_submission(round_id, site_id, minutes_sha256, actions, reviews, title)
    return dataclasses.replace(
        built,
        **{
            field.name: getattr(built, field.name).copy()
            for field in dataclasses.fields(built)
            if isinstance(getattr(built, field.name), pd.DataFrame)
        },
    )


@functools.cache
def _validated_submission(
    round_id: str,
    site_id: str,
    minutes_sha256: str,
    actions: tuple[tuple[str, str], ...],
    reviews: str | None,
    title: str | None,
) -> SiteSubmission:
    """Built once per argument set: pandera validation is what makes a fixture slow."""
    partition = (round_id, site_id)
    version = minutes_sha256[:6]

    def frame(model, columns: str, rows: list[tuple]) -> pd.DataFrame:
        names = ["round_id", "site_id", *columns.split()]
        return model.validate(pd.DataFrame([(*partition, *row) for row in rows], columns=names))

    # Tables as rows, one line per row where it fits: the formatter keeps its hands off.
    # fmt: off
    minutes = (MINUTES, minutes_sha256, "ws1", "Access")
    survey = (SURVEY, SHA_SURVEY, None, None)
    segments = frame(
        CodedSegments,
        "segment_id source_kind source_file source_sha256 event_id agenda_item locator "
        "speaker stakeholder_group text category is_action response_id item_id "
        "codebook_version",
        [
            (f"{site_id}-m1-{version}", "minutes", *minutes, "paragraph 2", "[carer-7f3a9c]",
             "carer", f"Waiting lists are still long ({version}).", "barrier", False, None,
             None, "1.0.0"),
            (f"{site_id}-m2-{version}", "minutes", *minutes, "paragraph 3", "[staff-0b12de]",
             "staff", "The link worker post is now funded.", "progress", False, None, None,
             "1.0.0"),
            (f"{site_id}-m3-{version}", "minutes", *minutes, "paragraph 4", None, None,
             "Action: invite the mosque's youth group.", "solution", True, None, None,
             "1.0.0"),
            (f"{site_id}-s1", "survey", *survey, "row 2, column still_in_way", None,
             "service_user", "Nobody explained the options.", "barrier", False, "r1",
             "still_in_way", "1.0.0"),
            (f"{site_id}-s2", "survey", *survey, "row 3, column what_would_help", None,
             "carer", "Interpreters at every appointment.", "solution", False, "r2",
             "what_would_help", "1.0.0"),
        ],
    )
    themes = [
        (f"m1-{version}", "stigma", "barrier", "rules-v1", 0.9),
        (f"m1-{version}", "pandemic-impact", "barrier", "rules-v1", 0.6),
        (f"m2-{version}", "education-mediation-digital", "progress", "rules-v1", 0.8),
        (f"m3-{version}", "diversified-care-offer", "solution", "rules-v1", 0.7),
        ("s1", "stigma", "barrier", "rules-v1", 0.5),
        ("s2", "education-mediation-digital", "solution", "rules-v1", 0.75),
        ("s2", "education-mediation-digital", "solution", "reviewer-2", 1.0),
    ]
    theme_rows = pd.DataFrame(
        [(f"{site_id}-{segment}", *rest, "1.0.0") for segment, *rest in themes],
        columns=["segment_id", "theme_code", "category", "coder", "confidence", "codebook_version"],
    )
    frames = {
        "segments": segments,
        "segment_themes": SegmentThemes.validate(theme_rows),
        "segment_codings": SegmentCodings.validate(theme_rows.copy()),
        "source_files": frame(
            SourceFiles,
            "source_file source_sha256 source_kind status n_records n_rejected n_withdrawn",
            [
                (MINUTES, minutes_sha256, "minutes", "loaded", 3, 0, 1),
                (SURVEY, SHA_SURVEY, "survey", "loaded", 2, 1, 0),
                (ACTION_PLAN, SHA_ACTION_PLAN, "action_plan", "loaded", len(actions), 0, 0),
                (MISSING_MINUTES, None, "minutes", "quarantined", 0, 0, 0),
            ],
        ),
        "quarantine": frame(
            Quarantine,
            "source_file locator reason severity",
            [
                (SURVEY, "row 4, column respondent_role",
                 "value is not one of the instrument's options", "error"),
                (MISSING_MINUTES, "file", "named in the manifest but missing", "error"),
                (MINUTES, "paragraph 6", "speaker label does not resolve to an attendee",
                 "warning"),
            ],
        ),
        "action_plan": frame(
            ActionPlan,
            "source_file source_sha256 locator action_id action theme_code status evidence",
            [
                (ACTION_PLAN, SHA_ACTION_PLAN, f"row {row}", action_id,
                 "Fund a community link worker", "diversified-care-offer", status, None)
                for row, (action_id, status) in enumerate(actions, start=2)
            ],
        ),
        "theme_prevalence": frame(
            ThemePrevalence,
            "stakeholder_group theme_code category n_segments n_participants suppressed",
            [
                ("carer", "stigma", "barrier", 6, 5, False),
                ("staff", "stigma", "barrier", None, None, True),
            ],
        ),
        "survey_free_text": frame(
            SurveyFreeText,
            "segment_id item_id stakeholder_group ethnic_group age_band disclosure",
            [
                (f"{site_id}-s1", "still_in_way", "service_user", None, None, "suppressed"),
                (f"{site_id}-s2", "what_would_help", "carer", "asian", "35-54",
                 "age_band_widened"),
            ],
        ),
        "survey_item_summary": frame(
            SurveyItemSummary,
            "item_id response_option n_responses mean share_agree suppressed",
            [
                ("access_ease", None, 12, 3.25, 0.5, False),
                ("access_ease", "Agree", 6, None, None, False),
                ("access_ease", "Strongly disagree", None, None, None, True),
            ],
        ),
    }
    # fmt: on
    attendees = frame(
        Attendees,
        "event_id event_type name role initials",
        [("ws1", "local_workshop", *attendee) for attendee in ATTENDEE_NAMES],
    )
    return SiteSubmission(
        round_id=round_id,
        site_id=site_id,
        round=RoundInfo(
            round_id=round_id,
            title=title or f"ARIADNE {round_id}",
            kind="baseline" if "baseline" in round_id else "impact",
            period_start="2024-01-01",
            period_end="2024-12-31",
            reviews=reviews,
        ),
        attendees=attendees,
        survey_responses=empty(SurveyResponses),
        survey_answers=empty(SurveyAnswers),
        **frames,
    )


@pytest.fixture
def make_coded_submission():
    """The factory `coded_submission`, for tests that need SiteSubmissions to load."""
    return coded_submission


def run_at_once(target: Callable[..., object], argument_lists: list[tuple]) -> list[int | None]:
    """Fork one process per argument tuple, release them together, return their exit codes.

    Each target receives its arguments and then the shared start barrier. Fork, so the
    children start at once without re-importing the project.
    """
    context = multiprocessing.get_context("fork")
    start = context.Barrier(len(argument_lists))
    workers = [context.Process(target=target, args=(*args, start)) for args in argument_lists]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    stuck = [worker for worker in workers if worker.is_alive()]
    for worker in stuck:
        worker.kill()
    assert stuck == [], "a worker did not finish within 30 s"
    return [worker.exitcode for worker in workers]
