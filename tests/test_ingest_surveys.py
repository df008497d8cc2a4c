"""Survey readers: CSV encodings and Excel, column mapping, dropped export columns, answers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from assets.ingest.sources import SourceFile, frame
from assets.ingest.surveys import read_survey
from schemas.instruments import INSTRUMENTS_DIR, load_instrument
from schemas.submission import SurveySpec, Withdrawal
from schemas.tables import RawSegments, SurveyAnswers, SurveyResponses
from tests.ingest_fixtures import (
    FOLLOWUP_HEADER,
    FOLLOWUP_QUESTIONS,
    FOLLOWUP_ROWS,
    csv_bytes,
    xlsx_bytes,
)

INSTRUMENT = load_instrument("impact-followup-v1", INSTRUMENTS_DIR)
EXPORT_ONLY = ["grace.mensah@example.org", "Grace Mensah", "Nadia Hussain", "nadia.hussain"]


def read(tmp_path: Path, name: str, data: bytes, columns=None, withdrawals=()):
    path = tmp_path / "2024-impact" / "east-london" / "surveys" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    result = read_survey(
        SourceFile.read(path, tmp_path),
        round_id="2024-impact",
        site_id="east-london",
        spec=SurveySpec(file=f"surveys/{name}", instrument=INSTRUMENT.id, columns=columns or {}),
        instrument=INSTRUMENT,
        withdrawals=[Withdrawal(name=w) for w in withdrawals],
    )
    tables = {
        "responses": frame(SurveyResponses, result.rows("survey_responses")),
        "answers": frame(SurveyAnswers, result.rows("survey_answers")),
        "segments": frame(RawSegments, result.rows("segments")),
    }
    return result, tables


def cells(tables: dict[str, pd.DataFrame], problems=()) -> list[str]:
    values = [str(v) for table in tables.values() for v in table.astype(str).to_numpy().ravel()]
    values += [str(v) for table in tables.values() for v in table.columns]
    return values + [f"{p.locator} {p.reason}" for p in problems]


def test_microsoft_forms_export_with_mapped_questions(tmp_path):
    data = xlsx_bytes([FOLLOWUP_HEADER, *FOLLOWUP_ROWS], extra_sheet=True)
    result, tables = read(
        tmp_path, "followup.xlsx", data, FOLLOWUP_QUESTIONS, withdrawals=["Tom Whitfield"]
    )
    responses = SurveyResponses.validate(tables["responses"])
    SurveyAnswers.validate(tables["answers"])
    RawSegments.validate(tables["segments"])
    assert list(responses["response_id"]) == ["1", "2", "4"]
    assert list(responses["locator"]) == ["row 2", "row 3", "row 5"]
    assert list(responses["respondent_role"]) == ["service_user", "carer", "staff"]
    assert list(responses["ethnic_group"]) == ["african", "white_british", "pakistani"]
    assert list(responses["age_band"]) == ["25-34", "55-64", "35-44"]
    assert list(responses["withdrawn"]) == [False, True, False]
    answers = tables["answers"].set_index(["response_id", "item_id"])
    assert answers.loc[("1", "access_ease"), "score"] == 4.0
    assert answers.loc[("1", "trust_services"), ["value", "score"]].tolist() == ["5", 5.0]
    assert answers.loc[("4", "access_ease"), "value"] == "3"
    assert answers.loc[("4", "trust_services"), "value"] == "4"
    assert ("1", "still_in_way") not in answers.index
    assert (result.n_records, result.n_withdrawn, result.n_rejected) == (3, 1, 0)
    assert not result.problems


def test_export_columns_are_dropped_and_never_stored(tmp_path):
    data = xlsx_bytes([FOLLOWUP_HEADER, *FOLLOWUP_ROWS])
    result, tables = read(tmp_path, "followup.xlsx", data, FOLLOWUP_QUESTIONS)
    everything = " ".join(cells(tables, result.problems))
    for value in [*EXPORT_ONLY, "Start time", "Email", "2024-06-01"]:
        assert value not in everything


def test_free_text_answers_are_segments(tmp_path):
    data = xlsx_bytes([FOLLOWUP_HEADER, *FOLLOWUP_ROWS])
    _, tables = read(tmp_path, "followup.xlsx", data, FOLLOWUP_QUESTIONS, ["Tom Whitfield"])
    segments = tables["segments"]
    assert list(segments["locator"]) == [
        "row 2, item what_changed",
        "row 2, item what_would_help",
        "row 3, item what_changed",
        "row 3, item still_in_way",
        "row 5, item still_in_way",
        "row 5, item what_would_help",
    ]
    assert set(segments["source_kind"]) == {"survey"}
    assert segments["event_id"].isna().all() and segments["speaker_name"].isna().all()
    assert list(segments["stakeholder_group"][:2]) == ["service_user", "service_user"]
    assert list(segments["withdrawn"]) == [False, False, True, True, False, False]
    assert list(segments["response_id"][:2]) == ["1", "1"]
    assert segments.iloc[0]["text"] == "Peer groups in the mosque helped me."


PAPER = [
    ["respondent_role", "ethnic_group", "age_band", "access_ease", "what_would_help"],
    ["Service user", "White: Roma", "65+", "Strongly Agree", "Somewhere to talk in Polish"],
    ["", "", "", "", ""],
    ["carer", "Zoë's own words", "25-34", "7", ""],
    ["", "Caribbean", "", "", "Café mornings"],
]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_csv_in_each_accepted_encoding(tmp_path, encoding):
    result, tables = read(tmp_path, "paper.csv", csv_bytes(PAPER, encoding))
    responses = tables["responses"]
    assert list(responses["locator"]) == ["row 2", "row 4", "row 5"]
    assert list(responses["response_id"]) == ["2", "4", "5"]
    assert list(responses["respondent_role"]) == ["service_user", "carer", ""]
    assert list(responses["ethnic_group"]) == ["roma", "Zoë's own words", "caribbean"]
    answers = tables["answers"].set_index(["response_id", "item_id"])
    assert answers.loc[("2", "access_ease"), ["value", "score"]].tolist() == ["5", 5.0]
    assert answers.loc[("4", "access_ease"), "value"] == "7"
    assert pd.isna(answers.loc[("4", "access_ease"), "score"])
    assert ("5", "respondent_role") not in answers.index
    assert list(tables["segments"]["text"]) == ["Somewhere to talk in Polish", "Café mornings"]
    assert list(tables["segments"]["stakeholder_group"]) == ["service_user", None]
    assert result.readable


def test_csv_in_another_encoding_is_quarantined(tmp_path):
    data = "respondent_role\ncarer\n".encode("utf-16")
    result, tables = read(tmp_path, "paper.csv", data)
    assert not result.readable
    assert all(table.empty for table in tables.values())
    (problem,) = result.problems
    assert (problem.locator, problem.severity) == ("file", "error")
    assert "UTF-8" in problem.reason


def test_truncated_xlsx_is_quarantined(tmp_path):
    data = xlsx_bytes([FOLLOWUP_HEADER, *FOLLOWUP_ROWS])
    result, _ = read(tmp_path, "followup.xlsx", data[: len(data) // 2])
    assert not result.readable
    assert result.problems[0].locator == "file"
    assert "Excel" in result.problems[0].reason


def test_headers_are_trimmed_and_mapped_or_matched_to_item_ids(tmp_path):
    rows = [
        ["  Response ID ", " Your role  ", "ACCESS EASE", "Ethnic_Group", "Last modified time"],
        ["R_7", "Staff", "agree", "indian", dt.datetime(2024, 7, 1)],
    ]
    _, tables = read(tmp_path, "q.xlsx", xlsx_bytes(rows), {"Your role": "respondent_role"})
    response = tables["responses"].iloc[0]
    assert (response["response_id"], response["respondent_role"]) == ("R_7", "staff")
    assert response["ethnic_group"] == "indian"
    assert set(tables["answers"]["item_id"]) == {"respondent_role", "access_ease", "ethnic_group"}


@pytest.mark.parametrize("header", ["ID", "Id", "Response ID", "Respondent ID", "ResponseId"])
def test_response_id_columns(tmp_path, header):
    rows = [[header, "respondent_role"], ["abc-1", "carer"], ["", "staff"]]
    _, tables = read(tmp_path, "ids.csv", csv_bytes(rows))
    assert list(tables["responses"]["response_id"]) == ["abc-1", "3"]


def test_name_column_marks_withdrawal_in_any_case_and_order(tmp_path):
    rows = [
        ["Name", "respondent_role", "what_changed"],
        ["WHITFIELD, Tom", "carer", "Less waiting."],
        ["Tomasz Nowicki", "carer", "More waiting."],
    ]
    result, tables = read(tmp_path, "n.csv", csv_bytes(rows), withdrawals=["Tom Whitfield"])
    assert list(tables["responses"]["withdrawn"]) == [True, False]
    assert list(tables["segments"]["withdrawn"]) == [True, False]
    assert result.n_withdrawn == 1
    assert "Nowicki" not in " ".join(cells(tables))


def test_repeated_response_id_is_quarantined_and_the_rest_loads(tmp_path):
    rows = [["ID", "respondent_role"], ["5", "carer"], ["6", "staff"], ["5", "other"]]
    result, tables = read(tmp_path, "dup.csv", csv_bytes(rows))
    SurveyResponses.validate(tables["responses"])
    assert list(tables["responses"]["response_id"]) == ["5", "6"]
    (problem,) = result.problems
    assert (problem.locator, problem.severity) == ("row 4", "error")
    assert "row 2" in problem.reason
    assert result.n_rejected == 1


def test_missing_required_column_and_unmatched_mapping_are_reported(tmp_path):
    rows = [["Email", "access_ease"], ["li.na@example.org", "4"]]
    result, tables = read(tmp_path, "x.csv", csv_bytes(rows), {"Who are you?": "respondent_role"})
    assert list(tables["responses"]["respondent_role"]) == [""]
    reasons = [p.reason for p in result.problems]
    assert any("respondent_role" in r and "no column" in r for r in reasons)
    assert any("no column of this file has that header" in r for r in reasons)
    assert all(p.severity == "warning" and p.locator == "row 1" for p in result.problems)


def test_two_columns_for_one_item_keep_the_first(tmp_path):
    rows = [["respondent_role", "Role"], ["carer", "staff"]]
    result, tables = read(tmp_path, "two.csv", csv_bytes(rows), {"Role": "respondent_role"})
    assert list(tables["responses"]["respondent_role"]) == ["carer"]
    (problem,) = result.problems
    assert problem.locator == "row 1, column B" and problem.severity == "error"


def test_header_row_may_be_preceded_by_empty_rows(tmp_path):
    rows = [[], [None, None], ["respondent_role", "age_band"], ["staff", "65+"]]
    _, tables = read(tmp_path, "late.xlsx", xlsx_bytes(rows))
    assert list(tables["responses"]["locator"]) == ["row 4"]


def test_empty_file_gives_empty_tables(tmp_path):
    result, tables = read(tmp_path, "empty.csv", b"")
    assert result.readable and all(table.empty for table in tables.values())
    assert list(tables["responses"].columns) == list(SurveyResponses.to_schema().columns)


def test_first_and_last_name_columns_mark_withdrawal_and_are_dropped(tmp_path):
    rows = [
        ["First name", "Surname", "respondent_role", "what_changed"],
        ["Tom", "Whitfield", "carer", "Less waiting."],
        ["Tom", "Okonkwo-Baker", "staff", "More staff."],
    ]
    _, tables = read(tmp_path, "split.csv", csv_bytes(rows), withdrawals=["Tom Whitfield"])
    assert list(tables["responses"]["withdrawn"]) == [True, False]
    assert "Okonkwo" not in " ".join(cells(tables))
