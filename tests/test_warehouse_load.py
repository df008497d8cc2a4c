"""replace_partition: whole partitions, idempotent, independent, all or nothing, with history."""

from __future__ import annotations

import dataclasses
import hashlib
import multiprocessing
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import inspect, text

from assets.load.loader import LoadError, replace_partition
from tests.conftest import ATTENDEE_NAMES, SHA_MINUTES, run_at_once
from warehouse.engine import create_warehouse_engine

VIEWS = (
    "rounds",
    "source_files",
    "quarantine",
    "segments",
    "segment_themes",
    "theme_prevalence",
    "survey_item_summary",
    "action_progress",
)
PER_RUN = {"run_id", "loaded_at"}
FIRST_LOAD = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
SHA_MINUTES_CORRECTED = "d4" * 32
MINUTES = "minutes/2024-05-21-workshop.md"


def rows(engine, view: str, **where: str) -> list[dict]:
    with engine.connect() as connection:
        found = [dict(row) for row in connection.execute(text(f"SELECT * FROM {view}")).mappings()]
    return [row for row in found if all(row[key] == value for key, value in where.items())]


def content_hash(engine, **where: str) -> str:
    """Every view's rows, sorted, without the columns that name the run."""
    digest = hashlib.sha256()
    for view in VIEWS:
        view_where = {key: value for key, value in where.items() if view != "rounds"}
        content = sorted(
            tuple(sorted((key, repr(value)) for key, value in row.items() if key not in PER_RUN))
            for row in rows(engine, view, **view_where)
        )
        digest.update(repr((view, content)).encode())
    return digest.hexdigest()


def as_utc(value) -> pd.Timestamp:
    """SQLite returns the stored UTC text, PostgreSQL an aware datetime."""
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def test_reloading_the_same_input_changes_only_run_id_and_loaded_at(
    warehouse_engine, make_coded_submission
):
    submission = make_coded_submission()
    replace_partition(warehouse_engine, submission, "run-1", FIRST_LOAD)
    first = content_hash(warehouse_engine)
    second_load = FIRST_LOAD + timedelta(hours=2)

    replace_partition(warehouse_engine, submission, "run-2", second_load)

    assert content_hash(warehouse_engine) == first
    segments = rows(warehouse_engine, "segments")
    assert len(segments) == len(submission.segments)
    assert {row["run_id"] for row in segments} == {"run-2"}
    files = rows(warehouse_engine, "source_files")
    assert {as_utc(row["loaded_at"]) for row in files} == {pd.Timestamp(second_load)}


def test_the_content_hash_sees_a_change(warehouse_engine, make_coded_submission):
    replace_partition(warehouse_engine, make_coded_submission(), "run-1", FIRST_LOAD)
    first = content_hash(warehouse_engine)

    changed = make_coded_submission(actions={"a1": "achieved", "a2": "not_started"})
    replace_partition(warehouse_engine, changed, "run-2", FIRST_LOAD)

    assert content_hash(warehouse_engine) != first


def test_loading_one_site_leaves_other_sites_untouched(warehouse_engine, make_coded_submission):
    replace_partition(warehouse_engine, make_coded_submission(), "run-a", FIRST_LOAD)
    east_london = content_hash(warehouse_engine, site_id="east-london")

    other = make_coded_submission(site_id="sheffield")
    replace_partition(warehouse_engine, other, "run-b", FIRST_LOAD)
    corrected = make_coded_submission(site_id="sheffield", minutes_sha256=SHA_MINUTES_CORRECTED)
    replace_partition(warehouse_engine, corrected, "run-c", FIRST_LOAD)

    assert content_hash(warehouse_engine, site_id="east-london") == east_london
    assert {row["run_id"] for row in rows(warehouse_engine, "segments", site_id="east-london")} == {
        "run-a"
    }
    assert len(rows(warehouse_engine, "segments", site_id="sheffield")) == len(corrected.segments)
    assert rows(warehouse_engine, "source_files", site_id="east-london", status="superseded") == []


def test_a_changed_file_is_kept_as_superseded_history(warehouse_engine, make_coded_submission):
    replace_partition(warehouse_engine, make_coded_submission(), "run-1", FIRST_LOAD)
    corrected = make_coded_submission(minutes_sha256=SHA_MINUTES_CORRECTED)

    counts = replace_partition(warehouse_engine, corrected, "run-2", FIRST_LOAD)
    again = replace_partition(warehouse_engine, corrected, "run-3", FIRST_LOAD)

    versions = {
        (row["source_sha256"], row["status"], row["run_id"])
        for row in rows(warehouse_engine, "source_files", source_file=MINUTES)
    }
    assert versions == {
        (SHA_MINUTES, "superseded", "run-1"),
        (SHA_MINUTES_CORRECTED, "loaded", "run-3"),
    }
    assert (counts.superseded_files, again.superseded_files) == (1, 0)
    minutes = rows(warehouse_engine, "segments", source_kind="minutes")
    assert {row["source_sha256"] for row in minutes} == {SHA_MINUTES_CORRECTED}
    assert len(rows(warehouse_engine, "source_files")) == len(corrected.source_files) + 1


def test_a_file_put_back_is_loaded_again_and_its_successor_superseded(
    warehouse_engine, make_coded_submission
):
    replace_partition(warehouse_engine, make_coded_submission(), "run-1", FIRST_LOAD)
    corrected = make_coded_submission(minutes_sha256=SHA_MINUTES_CORRECTED)
    replace_partition(warehouse_engine, corrected, "run-2", FIRST_LOAD)

    replace_partition(warehouse_engine, make_coded_submission(), "run-3", FIRST_LOAD)

    versions = {
        (row["source_sha256"], row["status"])
        for row in rows(warehouse_engine, "source_files", source_file=MINUTES)
    }
    assert versions == {(SHA_MINUTES, "loaded"), (SHA_MINUTES_CORRECTED, "superseded")}


def test_segments_of_a_superseded_file_version_are_hidden(warehouse_engine, make_coded_submission):
    submission = make_coded_submission()
    replace_partition(warehouse_engine, submission, "run-1", FIRST_LOAD)
    with warehouse_engine.begin() as connection:
        connection.execute(
            text("UPDATE core_source_file SET status = 'superseded' WHERE source_file = :file"),
            {"file": MINUTES},
        )
        stored = connection.execute(text("SELECT COUNT(*) FROM core_segment")).scalar_one()

    visible = rows(warehouse_engine, "segments")
    assert stored == len(submission.segments)
    assert {row["source_file"] for row in visible} == {"surveys/followup.csv"}
    assert {row["segment_id"] for row in rows(warehouse_engine, "segment_themes")} == {
        row["segment_id"] for row in visible
    }


def test_a_failed_load_rolls_back_everything_and_quotes_nothing(
    warehouse_engine, make_coded_submission
):
    replace_partition(warehouse_engine, make_coded_submission(), "run-1", FIRST_LOAD)
    before = content_hash(warehouse_engine)
    corrected = make_coded_submission(minutes_sha256=SHA_MINUTES_CORRECTED)
    themes = corrected.segment_themes.copy()
    themes.loc[themes.index[-1], "theme_code"] = None
    broken = dataclasses.replace(corrected, segment_themes=themes)

    with pytest.raises(LoadError) as raised:
        replace_partition(warehouse_engine, broken, "run-2", FIRST_LOAD)

    message = str(raised.value)
    assert "core_segment_theme" in message
    assert "theme_code" in message
    for quoted in [*corrected.segments["text"], *corrected.segments["segment_id"]]:
        assert quoted not in message
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    assert content_hash(warehouse_engine) == before
    assert {row["run_id"] for row in rows(warehouse_engine, "source_files")} == {"run-1"}
    with warehouse_engine.connect() as connection:
        runs = connection.execute(text("SELECT run_id FROM core_run")).scalars().all()
    assert runs == ["run-1"]


def test_a_suppressed_count_is_refused_by_the_warehouse(warehouse_engine, make_coded_submission):
    submission = make_coded_submission()
    prevalence = submission.theme_prevalence.copy()
    prevalence.loc[prevalence["suppressed"], "n_participants"] = 3

    with pytest.raises(LoadError, match="core_theme_prevalence"):
        replace_partition(
            warehouse_engine,
            dataclasses.replace(submission, theme_prevalence=prevalence),
            "run-1",
            FIRST_LOAD,
        )

    assert rows(warehouse_engine, "theme_prevalence") == []
    assert rows(warehouse_engine, "segments") == []


def test_a_coding_of_a_segment_that_is_not_loaded_is_refused(
    warehouse_engine, make_coded_submission
):
    submission = make_coded_submission()
    themes = submission.segment_themes.copy()
    themes.loc[themes.index[0], "segment_id"] = "east-london-m9-unknown"

    with pytest.raises(LoadError, match="core_segment_theme"):
        replace_partition(
            warehouse_engine,
            dataclasses.replace(submission, segment_themes=themes),
            "run-1",
            FIRST_LOAD,
        )

    assert rows(warehouse_engine, "segments") == []


@pytest.mark.parametrize("order", ["baseline first", "impact first"])
def test_action_progress_pairs_each_action_with_the_reviewed_round(
    warehouse_engine, make_coded_submission, order
):
    baseline = make_coded_submission(
        "2022-baseline", actions={"a1": "not_started", "a2": "in_progress"}
    )
    other_site = make_coded_submission("2022-baseline", "sheffield", actions={"a3": "stalled"})
    impact = make_coded_submission(
        "2024-impact",
        actions={"a1": "achieved", "a3": "not_started"},
        reviews="2022-baseline",
    )
    loads = [baseline, other_site, impact]
    for submission in loads if order == "baseline first" else reversed(loads):
        replace_partition(warehouse_engine, submission, "run-1", FIRST_LOAD)

    def progress() -> dict[tuple[str, str, str], tuple[str, str | None]]:
        return {
            (row["round_id"], row["site_id"], row["action_id"]): (
                row["status"],
                row["previous_status"],
            )
            for row in rows(warehouse_engine, "action_progress")
        }

    assert progress() == {
        ("2022-baseline", "east-london", "a1"): ("not_started", None),
        ("2022-baseline", "east-london", "a2"): ("in_progress", None),
        ("2022-baseline", "sheffield", "a3"): ("stalled", None),
        ("2024-impact", "east-london", "a1"): ("achieved", "not_started"),
        ("2024-impact", "east-london", "a3"): ("not_started", None),
    }

    revised = make_coded_submission("2022-baseline", actions={"a1": "dropped"})
    replace_partition(warehouse_engine, revised, "run-2", FIRST_LOAD)
    assert progress()[("2024-impact", "east-london", "a1")] == ("achieved", "dropped")


def test_the_round_is_upserted_once_for_all_its_sites(warehouse_engine, make_coded_submission):
    replace_partition(warehouse_engine, make_coded_submission(title="Draft"), "run-1", FIRST_LOAD)
    replace_partition(
        warehouse_engine,
        make_coded_submission(site_id="sheffield", title="ARIADNE impact analysis 2024"),
        "run-2",
        FIRST_LOAD,
    )

    (only,) = rows(warehouse_engine, "rounds")
    assert only["round_id"] == "2024-impact"
    assert only["title"] == "ARIADNE impact analysis 2024"
    assert only["kind"] == "impact"
    assert str(only["period_start"]) == "2024-01-01"


def test_load_counts_are_the_rows_written(warehouse_engine, make_coded_submission):
    submission = make_coded_submission()

    counts = replace_partition(warehouse_engine, submission, "run-1", FIRST_LOAD)

    assert counts.by_table() == {
        "source_files": len(rows(warehouse_engine, "source_files")),
        "superseded_files": 0,
        "quarantine": len(rows(warehouse_engine, "quarantine")),
        "segments": len(rows(warehouse_engine, "segments")),
        "segment_themes": len(rows(warehouse_engine, "segment_themes")),
        "segment_codings": len(rows(warehouse_engine, "segment_codings")),
        "segment_reviews": len(rows(warehouse_engine, "segment_reviews")),
        "coder_agreement": len(rows(warehouse_engine, "coder_agreement")),
        "action_plan_entries": len(rows(warehouse_engine, "action_progress")),
        "theme_prevalence": len(rows(warehouse_engine, "theme_prevalence")),
        "survey_item_summary": len(rows(warehouse_engine, "survey_item_summary")),
        "survey_free_text": len(rows(warehouse_engine, "survey_free_text")),
    }
    assert counts.segments == len(submission.segments) > 0


def test_no_attendee_name_is_written_anywhere(warehouse_engine, make_coded_submission):
    submission = make_coded_submission()
    assert len(submission.attendees) == len(ATTENDEE_NAMES)

    replace_partition(warehouse_engine, submission, "run-1", FIRST_LOAD)

    written = []
    with warehouse_engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            for row in connection.execute(text(f"SELECT * FROM {table}")):
                written.extend(str(value) for value in row)
    assert len(written) > 100
    for name, _role, _initials in ATTENDEE_NAMES:
        for part in name.split():
            assert not [value for value in written if part in value]


def test_rows_of_another_partition_are_refused(warehouse_engine, make_coded_submission):
    submission = make_coded_submission()
    segments = submission.segments.copy()
    segments.loc[segments.index[0], "site_id"] = "sheffield"

    with pytest.raises(ValueError, match="segments: 1 rows have a site_id other than east-london"):
        replace_partition(
            warehouse_engine,
            dataclasses.replace(submission, segments=segments),
            "run-1",
            FIRST_LOAD,
        )

    assert rows(warehouse_engine, "source_files") == []


def test_a_frame_without_a_column_is_refused(warehouse_engine, make_coded_submission):
    submission = make_coded_submission()
    uncoded = submission.segments.drop(columns=["category", "codebook_version"])

    with pytest.raises(ValueError, match="segments: missing columns category, codebook_version"):
        replace_partition(
            warehouse_engine,
            dataclasses.replace(submission, segments=uncoded),
            "run-1",
            FIRST_LOAD,
        )


def test_a_naive_loaded_at_is_refused(warehouse_engine, make_coded_submission):
    with pytest.raises(ValueError, match="timezone-aware"):
        replace_partition(
            warehouse_engine, make_coded_submission(), "run-1", datetime(2025, 3, 1, 9, 30)
        )


def _load_when_released(url: str, site_id: str, start: multiprocessing.synchronize.Barrier):
    from tests.conftest import coded_submission

    engine = create_warehouse_engine(url)
    start.wait(timeout=30)
    replace_partition(engine, coded_submission(site_id=site_id), f"run-{site_id}", FIRST_LOAD)
    engine.dispose()


def test_two_sites_of_one_round_load_at_the_same_time(warehouse_url, warehouse_engine):
    warehouse_engine.dispose()
    sites = ["east-london", "sheffield", "coventry-warwickshire"]
    exit_codes = run_at_once(_load_when_released, [(warehouse_url, site) for site in sites])
    assert exit_codes == [0] * len(sites)
    loaded = {(row["site_id"], row["run_id"]) for row in rows(warehouse_engine, "segments")}
    assert loaded == {(site, f"run-{site}") for site in sites}
    assert len(rows(warehouse_engine, "rounds")) == 1
