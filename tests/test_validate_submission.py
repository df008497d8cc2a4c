"""The validate stage rejects rows, never partitions, and never quotes what it rejects."""

from __future__ import annotations

import pandas as pd

from assets.validate.validation import validate_submission
from schemas.tables import (
    ActionPlan,
    Attendees,
    Quarantine,
    RawSegments,
    SiteSubmission,
    SourceFiles,
    SurveyAnswers,
    SurveyResponses,
    empty,
)

SHA = "a" * 64
SURVEY = "2024-impact/east-london/surveys/followup.csv"
PLAN = "2024-impact/east-london/action_plan.csv"
LIKERT = {"1", "2", "3", "4", "5"}
ROLES = {"staff", "carer", "service_user"}


def accepts(instrument_id: str, item_id: str, value: str) -> bool:
    assert instrument_id == "impact-followup-v1"
    if item_id == "respondent_role":
        return value in ROLES
    if item_id == "access_ease":
        return value in LIKERT
    return True


def required(instrument_id: str) -> list[str]:
    return ["respondent_role"]


def _frame(rows: list[dict], model) -> pd.DataFrame:
    return pd.DataFrame(rows) if rows else empty(model)


def _base() -> dict:
    return {"round_id": "2024-impact", "site_id": "east-london"}


def _submission(
    responses: list[tuple[str, str, str]],
    answers: list[tuple[str, str, str]],
    plan_themes: list[str],
) -> SiteSubmission:
    """responses: (response_id, row, role); answers: (response_id, item_id, value)."""
    survey_responses = _frame(
        [
            {
                **_base(),
                "response_id": rid,
                "source_file": SURVEY,
                "source_sha256": SHA,
                "instrument_id": "impact-followup-v1",
                "locator": f"row {row}",
                "respondent_role": role,
                "ethnic_group": None,
                "age_band": None,
                "withdrawn": False,
            }
            for rid, row, role in responses
        ],
        SurveyResponses,
    )
    survey_answers = _frame(
        [
            {
                **_base(),
                "response_id": rid,
                "source_file": SURVEY,
                "item_id": item,
                "item_type": "free_text" if item == "what_changed" else "likert5",
                "value": value,
                "score": float(value) if value.isdigit() else None,
            }
            for rid, item, value in answers
        ],
        SurveyAnswers,
    )
    segments = _frame(
        [
            {
                **_base(),
                "segment_id": f"seg-{rid}",
                "source_kind": "survey",
                "event_id": None,
                "source_file": SURVEY,
                "source_sha256": SHA,
                "locator": f"row {rid}, item what_changed",
                "agenda_item": None,
                "stakeholder_group": "carer",
                "is_action": False,
                "response_id": rid,
                "item_id": "what_changed",
                "text": value,
                "speaker_name": None,
                "withdrawn": False,
            }
            for rid, item, value in answers
            if item == "what_changed"
        ],
        RawSegments,
    )
    action_plan = _frame(
        [
            {
                **_base(),
                "source_file": PLAN,
                "source_sha256": SHA,
                "locator": f"row {n + 2}",
                "action_id": f"el-a{n}",
                "action": "Recruit peer workers",
                "theme_code": theme,
                "status": "in_progress",
                "evidence": None,
            }
            for n, theme in enumerate(plan_themes)
        ],
        ActionPlan,
    )
    plan_segments = _frame(
        [
            {
                **_base(),
                "segment_id": f"plan-{n}",
                "source_kind": "action_plan",
                "event_id": None,
                "source_file": PLAN,
                "source_sha256": SHA,
                "locator": f"row {n + 2}, column action",
                "agenda_item": None,
                "stakeholder_group": None,
                "is_action": True,
                "response_id": None,
                "item_id": None,
                "text": "Recruit peer workers",
                "speaker_name": None,
                "withdrawn": False,
            }
            for n, _ in enumerate(plan_themes)
        ],
        RawSegments,
    )
    source_files = pd.DataFrame(
        [
            {
                **_base(),
                "source_file": f,
                "source_sha256": SHA,
                "source_kind": kind,
                "status": "loaded",
                "n_records": 1,
                "n_rejected": 0,
                "n_withdrawn": 0,
            }
            for f, kind in ((SURVEY, "survey"), (PLAN, "action_plan"))
        ]
    )
    return SiteSubmission(
        round_id="2024-impact",
        site_id="east-london",
        round=None,
        source_files=SourceFiles.validate(source_files),
        quarantine=empty(Quarantine),
        attendees=empty(Attendees),
        segments=pd.concat([segments, plan_segments], ignore_index=True),
        survey_responses=survey_responses,
        survey_answers=survey_answers,
        action_plan=action_plan,
    )


def test_bad_responses_are_rejected_whole_with_file_and_row() -> None:
    submission = _submission(
        responses=[("1", "2", "carer"), ("2", "3", "staff"), ("3", "4", ""), ("4", "5", "carer")],
        answers=[
            ("1", "access_ease", "4"),
            ("1", "what_changed", "Amara Okafor helped me"),
            ("2", "access_ease", "7"),
            ("2", "what_changed", "Call Bogdan on 07700 900123"),
            ("3", "access_ease", "2"),
            ("4", "access_ease", "5"),
            ("1", "respondent_role", "carer"),
            ("2", "respondent_role", "staff"),
            ("4", "respondent_role", "carer"),
        ],
        plan_themes=["diversified-care-offer"],
    )
    out = validate_submission(submission, accepts, required, ["diversified-care-offer"])
    assert sorted(out.survey_responses["response_id"]) == ["1", "4"]
    assert set(out.survey_answers["response_id"]) == {"1", "4"}
    assert list(out.segments.loc[out.segments["source_kind"] == "survey", "response_id"]) == ["1"]
    errors = out.quarantine[out.quarantine["severity"] == "error"].set_index("locator")
    assert "access_ease" in errors.loc["row 3", "reason"]
    assert "respondent_role" in errors.loc["row 4", "reason"]
    assert (errors["source_file"] == SURVEY).all()
    # reasons never quote what was rejected
    for reason in out.quarantine["reason"]:
        assert "7" not in reason and "Bogdan" not in reason and "07700" not in reason
    counts = out.source_files.set_index("source_file")
    assert counts.loc[SURVEY, "n_rejected"] == 2
    assert counts.loc[PLAN, "n_rejected"] == 0


def test_duplicate_response_ids_are_rejected() -> None:
    submission = _submission(
        responses=[("9", "2", "carer"), ("9", "3", "staff"), ("10", "4", "staff")],
        answers=[("9", "respondent_role", "carer"), ("10", "respondent_role", "staff")],
        plan_themes=[],
    )
    out = validate_submission(submission, accepts, required, ["stigma"])
    assert list(out.survey_responses["response_id"]) == ["10"]
    reasons = out.quarantine.set_index("locator")["reason"]
    assert "duplicate" in reasons["row 2"] or "response_id" in reasons["row 2"]


def test_action_plan_entry_with_unknown_theme_is_quarantined_with_its_segment() -> None:
    submission = _submission(
        responses=[], answers=[], plan_themes=["stigma", "not-a-theme", "stigma"]
    )
    out = validate_submission(submission, accepts, required, ["stigma"])
    assert list(out.action_plan["action_id"]) == ["el-a0", "el-a2"]
    assert sorted(out.segments["segment_id"]) == ["plan-0", "plan-2"]
    row = out.quarantine.set_index("locator").loc["row 3"]
    assert row["source_file"] == PLAN and "theme_code" in row["reason"]


def test_clean_submission_passes_untouched() -> None:
    submission = _submission(
        responses=[("1", "2", "carer")],
        answers=[("1", "respondent_role", "carer"), ("1", "access_ease", "3")],
        plan_themes=["stigma"],
    )
    out = validate_submission(submission, accepts, required, ["stigma"])
    assert out.quarantine.empty
    assert len(out.survey_responses) == 1 and len(out.action_plan) == 1
