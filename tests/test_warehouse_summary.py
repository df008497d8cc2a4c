"""The CLI's read side: per-partition summary and source-file status, from the views."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pandas as pd

from assets.load.loader import (
    SOURCE_FILE_STATUS_COLUMNS,
    read_partition_summary,
    read_source_file_status,
    replace_partition,
)
from tests.conftest import MINUTES, SHA_MINUTES
from warehouse.engine import create_warehouse_engine

LOADED_AT = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
SHA_MINUTES_CORRECTED = "d4" * 32


def expected_top_themes(submission) -> str:
    """Independently of the SQL: distinct segments per theme, most first, ties by code."""
    counts = submission.segment_themes.groupby("theme_code")["segment_id"].nunique()
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(code for code, _ in ranked[:3])


def test_summary_counts_each_partition(warehouse_engine, make_coded_submission):
    east_london = make_coded_submission()
    sheffield = make_coded_submission(site_id="sheffield", minutes_sha256=SHA_MINUTES_CORRECTED)
    replace_partition(warehouse_engine, east_london, "run-1", LOADED_AT)
    replace_partition(
        warehouse_engine, make_coded_submission(site_id="sheffield"), "run-2", LOADED_AT
    )
    replace_partition(warehouse_engine, sheffield, "run-3", LOADED_AT)

    summary = read_partition_summary(warehouse_engine)

    assert list(summary[["round_id", "site_id"]].itertuples(index=False, name=None)) == [
        ("2024-impact", "east-london"),
        ("2024-impact", "sheffield"),
    ]
    for (_, row), submission in zip(summary.iterrows(), [east_london, sheffield], strict=True):
        files = submission.source_files["status"].value_counts()
        segments = submission.segments
        survey = segments[segments["source_kind"] == "survey"]
        severity = submission.quarantine["severity"].value_counts()
        assert row["files_loaded"] == files["loaded"]
        assert row["files_quarantined"] == files["quarantined"]
        assert row["segments"] == len(segments)
        assert (
            row["participants"] == segments["speaker"].nunique() + survey["response_id"].nunique()
        )
        assert row["quarantined_items"] == severity["error"]
        assert row["warnings"] == severity["warning"]
        assert row["top_themes"] == expected_top_themes(submission)
    assert summary["top_themes"].str.split(", ").map(len).tolist() == [3, 3]


def test_a_survey_response_with_several_answers_is_one_participant(
    warehouse_engine, make_coded_submission
):
    submission = make_coded_submission()
    segments = submission.segments.copy()
    segments.loc[segments["source_kind"] == "survey", "response_id"] = "r1"
    speakers = segments["speaker"].nunique()
    replace_partition(
        warehouse_engine, dataclasses.replace(submission, segments=segments), "run-1", LOADED_AT
    )

    (participants,) = read_partition_summary(warehouse_engine)["participants"]

    assert participants == speakers + 1


def test_a_partition_of_quarantined_files_only_is_summarised(
    warehouse_engine, make_coded_submission
):
    submission = make_coded_submission()
    quarantined_only = dataclasses.replace(
        submission,
        source_files=submission.source_files[submission.source_files["status"] == "quarantined"],
        segments=submission.segments.iloc[0:0],
        segment_themes=submission.segment_themes.iloc[0:0],
        segment_codings=submission.segment_codings.iloc[0:0],
        action_plan=submission.action_plan.iloc[0:0],
    )
    replace_partition(warehouse_engine, quarantined_only, "run-1", LOADED_AT)

    (row,) = read_partition_summary(warehouse_engine).to_dict("records")

    assert (row["files_loaded"], row["files_quarantined"], row["segments"]) == (0, 1, 0)
    assert (row["participants"], row["top_themes"]) == (0, "")
    assert row["quarantined_items"] == (submission.quarantine["severity"] == "error").sum()


def test_source_file_status_keeps_superseded_versions(warehouse_engine, make_coded_submission):
    replace_partition(warehouse_engine, make_coded_submission(), "run-1", LOADED_AT)
    corrected = make_coded_submission(minutes_sha256=SHA_MINUTES_CORRECTED)
    replace_partition(warehouse_engine, corrected, "run-2", LOADED_AT)

    status = read_source_file_status(warehouse_engine)

    assert list(status.columns) == SOURCE_FILE_STATUS_COLUMNS
    assert len(status) == len(corrected.source_files) + 1
    minutes = status[status["source_file"] == MINUTES]
    assert set(zip(minutes["source_sha256"], minutes["status"], strict=True)) == {
        (SHA_MINUTES, "superseded"),
        (SHA_MINUTES_CORRECTED, "loaded"),
    }


def test_reading_a_warehouse_nothing_was_loaded_into(warehouse_url):
    engine = create_warehouse_engine(warehouse_url)
    try:
        summary = read_partition_summary(engine)
        status = read_source_file_status(engine)
    finally:
        engine.dispose()

    assert isinstance(summary, pd.DataFrame) and summary.empty
    assert "top_themes" in summary.columns and "participants" in summary.columns
    assert status.empty and list(status.columns) == SOURCE_FILE_STATUS_COLUMNS
