"""Action plans: CSV or Excel to ActionPlan rows and their action/evidence segments."""

from __future__ import annotations

from pathlib import Path

import pytest

from assets.ingest.action_plans import read_action_plan
from assets.ingest.sources import SourceFile, frame
from schemas.tables import ActionPlan, RawSegments
from tests.ingest_fixtures import ACTION_PLAN, csv_bytes, xlsx_bytes


def read(tmp_path: Path, name: str, data: bytes):
    path = tmp_path / "2024-impact" / "coventry-warwickshire" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    result = read_action_plan(
        SourceFile.read(path, tmp_path), round_id="2024-impact", site_id="coventry-warwickshire"
    )
    return (
        result,
        frame(ActionPlan, result.rows("action_plan")),
        frame(RawSegments, result.rows("segments")),
    )


@pytest.mark.parametrize(
    ("name", "data"),
    [("action_plan.csv", csv_bytes(ACTION_PLAN)), ("action_plan.xlsx", xlsx_bytes(ACTION_PLAN))],
)
def test_action_plan_rows_and_segments(tmp_path, name, data):
    result, plan, segments = read(tmp_path, name, data)
    ActionPlan.validate(plan)
    RawSegments.validate(segments)
    assert list(plan["action_id"]) == ["A1", "A2"]
    assert list(plan["theme_code"]) == ["education-mediation-digital", "racism-experience"]
    assert list(plan["status"]) == ["in_progress", "not_started"]
    assert plan["evidence"].tolist() == ["Budget agreed.", None]
    assert list(plan["locator"]) == ["row 2", "row 3"]
    assert list(segments["locator"]) == [
        "row 2, column action",
        "row 2, column evidence",
        "row 3, column action",
    ]
    assert list(segments["is_action"]) == [True, False, True]
    assert set(segments["source_kind"]) == {"action_plan"}
    assert segments["speaker_name"].isna().all() and not segments["withdrawn"].any()
    assert set(segments["source_file"]) == {f"2024-impact/coventry-warwickshire/{name}"}
    assert result.n_records == 2 and not result.problems


def test_headers_in_words_and_numbers_from_excel(tmp_path):
    rows = [
        ["Action ID", "Action", "Theme", "Status", "Evidence"],
        [1, "Open a peer-support café", "Diversified-Care-Offer", "Achieved", None],
        [None, None, None, None, None],
        [2, "Publish a PCREF update", "coproduction-impact", "stalled", "Delayed to 2025."],
    ]
    _, plan, segments = read(tmp_path, "action_plan.xlsx", xlsx_bytes(rows))
    assert list(plan["action_id"]) == ["1", "2"]
    assert list(plan["theme_code"]) == ["diversified-care-offer", "coproduction-impact"]
    assert list(plan["status"]) == ["achieved", "stalled"]
    assert list(plan["locator"]) == ["row 2", "row 4"]
    assert len(segments) == 3


def test_missing_columns_quarantine_the_file(tmp_path):
    rows = [["action_id", "action"], ["A1", "Fund interpreters"]]
    result, plan, segments = read(tmp_path, "action_plan.csv", csv_bytes(rows))
    assert not result.readable and plan.empty and segments.empty
    (problem,) = result.problems
    assert problem.locator == "row 1"
    assert "theme" in problem.reason and "status" in problem.reason


def test_status_outside_the_vocabulary_is_kept_for_validation(tmp_path):
    rows = [ACTION_PLAN[0], ["A9", "Something", "stigma", "Maybe later", ""]]
    _, plan, _ = read(tmp_path, "action_plan.csv", csv_bytes(rows))
    assert list(plan["status"]) == ["maybe_later"]
