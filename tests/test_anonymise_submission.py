"""A whole round x site: speakers pseudonymised, text anonymised, withdrawn people gone."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from assets.anonymise.anonymiser import AnonymisedSubmission, anonymise_submission
from assets.anonymise.leaks import LEAK_TYPES, scan_for_leaks
from assets.anonymise.pseudonyms import Pseudonymiser
from schemas.tables import (
    ActionPlan,
    Attendees,
    RawSegments,
    Segments,
    SiteSubmission,
    SourceFiles,
    SurveyAnswers,
    SurveyResponses,
    empty,
)
from tests.test_anonymise_roster import KEY, PEOPLE, ROUND_ID, SITE_ID, roster_frame

MINUTES = "minutes/2024-05-21-workshop.md"
SURVEY = "surveys/followup.csv"
PLAN = "action_plan.csv"
SHA = "d4" * 32


def _segment(number, kind, file, speaker, group, text, withdrawn=False, response=None, item=None):
    return {
        "round_id": ROUND_ID,
        "site_id": SITE_ID,
        "segment_id": f"seg-{number}",
        "source_kind": kind,
        "event_id": "el-ws1" if kind == "minutes" else None,
        "source_file": file,
        "source_sha256": SHA,
        "locator": f"paragraph {number}" if kind == "minutes" else f"row {number}",
        "agenda_item": None,
        "stakeholder_group": group,
        "is_action": False,
        "response_id": response,
        "item_id": item,
        "text": text,
        "speaker_name": speaker,
        "withdrawn": withdrawn,
    }


def raw_submission(round_id: str = ROUND_ID) -> SiteSubmission:
    """What validate hands over: real names, raw text, withdrawn rows flagged by ingest."""
    segments = [
        _segment(1, "minutes", MINUTES, "Amara Okafor", "staff",
                 "Siobhan said the mosque in Tower Hamlets helped; ring 07700 900123."),
        _segment(2, "minutes", MINUTES, "Ayşe Y\u0131lmaz", "carer", "I would rather not say.",
                 withdrawn=True),
        _segment(3, "minutes", MINUTES, None, None, "Ayşe and Bogdan agreed with AO."),
        _segment(4, "minutes", MINUTES, "Zoë Nováková", "voluntary_sector",
                 "Our Somali and Sikh volunteers use WhatsApp."),
        _segment(5, "survey", SURVEY, None, "carer",
                 "Kwame at the GP was kind, amara@example.org", response="r1",
                 item="what_would_help"),
        _segment(6, "survey", SURVEY, None, "service_user", "Nothing changed for me.",
                 withdrawn=True, response="r2", item="still_in_way"),
    ]  # fmt: skip
    partition = {"round_id": round_id, "site_id": SITE_ID}
    responses = [
        {**partition, "response_id": r, "source_file": SURVEY, "source_sha256": SHA,
         "instrument_id": "impact-followup-v1", "locator": f"row {n}", "respondent_role": role,
         "ethnic_group": None, "age_band": None, "withdrawn": withdrawn}
        for n, (r, role, withdrawn) in enumerate(
            [("r1", "carer", False), ("r2", "service_user", True), ("r3", "staff", False)],
            start=2,
        )
    ]  # fmt: skip
    answers = [
        (r, item, kind, value)
        for r, item, kind, value in [
            ("r1", "respondent_role", "single_choice", "carer"),
            ("r1", "what_would_help", "free_text", "Kwame at the GP was kind, amara@example.org"),
            ("r2", "respondent_role", "single_choice", "service_user"),
            ("r2", "still_in_way", "free_text", "Nothing changed for me."),
            ("r3", "respondent_role", "single_choice", "staff"),
        ]
    ]
    files = [
        (MINUTES, "minutes", "loaded", 4),
        (SURVEY, "survey", "loaded", 3),
        (PLAN, "action_plan", "loaded", 2),
        ("minutes/steering.docx", "minutes", "quarantined", 0),
    ]
    return SiteSubmission(
        round_id=round_id,
        site_id=SITE_ID,
        round=None,
        source_files=SourceFiles.validate(
            pd.DataFrame(
                [
                    {
                        **partition,
                        "source_file": f,
                        "source_sha256": SHA,
                        "source_kind": kind,
                        "status": status,
                        "n_records": n,
                        "n_rejected": 0,
                        "n_withdrawn": 0,
                    }
                    for f, kind, status, n in files
                ]
            )
        ),
        quarantine=pd.DataFrame(),
        attendees=Attendees.validate(
            pd.DataFrame(
                [
                    {
                        **partition,
                        "event_id": "el-ws1",
                        "event_type": "local_workshop",
                        "name": name,
                        "role": role,
                        "initials": initials,
                    }
                    for site, name, role, initials, _ in PEOPLE
                    if site == SITE_ID
                ]
            )
        ),
        segments=RawSegments.validate(pd.DataFrame([{**s, **partition} for s in segments])),
        survey_responses=SurveyResponses.validate(pd.DataFrame(responses)),
        survey_answers=SurveyAnswers.validate(
            pd.DataFrame(
                [
                    {
                        **partition,
                        "response_id": r,
                        "source_file": SURVEY,
                        "item_id": item,
                        "item_type": kind,
                        "value": value,
                        "score": None,
                    }
                    for r, item, kind, value in answers
                ]
            )
        ),
        action_plan=ActionPlan.validate(
            pd.DataFrame(
                [
                    {
                        **partition,
                        "source_file": PLAN,
                        "source_sha256": SHA,
                        "locator": "row 2",
                        "action_id": "a1",
                        "action": "Bogdan to meet the Urdu-speaking GP group",
                        "theme_code": "diversified-care-offer",
                        "status": "in_progress",
                        "evidence": "E-mail from tom.whitfield@example.org; Amara chased it",
                    },
                    {
                        **partition,
                        "source_file": PLAN,
                        "source_sha256": SHA,
                        "locator": "row 3",
                        "action_id": "a2",
                        "action": "Translate the leaflets",
                        "theme_code": "education-mediation-digital",
                        "status": "not_started",
                        "evidence": None,
                    },
                ]
            )
        ),
    )


def run(submission: SiteSubmission | None = None, key: bytes = KEY, roster=None):
    return anonymise_submission(
        submission or raw_submission(),
        roster_frame() if roster is None else roster,
        Pseudonymiser(key),
        SITE_ID,
    )


def ps(name: str, role: str, key: bytes = KEY) -> str:
    return Pseudonymiser(key).pseudonym(name, role)


def test_segments_follow_the_segments_model_and_hold_no_names():
    result = run()
    segments = result.submission.segments
    Segments.validate(segments)
    assert "speaker_name" not in segments.columns
    assert "withdrawn" not in segments.columns
    assert scan_for_leaks(segments["text"], roster_frame()) == dict.fromkeys(LEAK_TYPES, 0)


def test_speakers_and_text_are_pseudonymised():
    by_id = run().submission.segments.set_index("segment_id")
    assert by_id.loc["seg-1", "speaker"] == ps("Amara Okafor", "staff")
    assert by_id.loc["seg-1", "text"] == (
        ps("Siobhán O'Connor", "service_user")
        + " said the mosque in Tower Hamlets helped; ring [phone]."
    )
    assert pd.isna(by_id.loc["seg-3", "speaker"])
    assert by_id.loc["seg-4", "text"] == "Our Somali and Sikh volunteers use WhatsApp."
    assert by_id.loc["seg-5", "text"] == (
        f"{ps('Kwame Mensah', 'voluntary_sector')} at the GP was kind, [email]"
    )


def test_agenda_items_are_anonymised_too():
    raw = raw_submission()
    segments = raw.segments.assign(agenda_item="Update from Bogdan (07700 900123)")
    anonymised = run(dataclasses.replace(raw, segments=segments)).submission.segments
    assert set(anonymised["agenda_item"]) == {
        f"Update from {ps('Bogdan Kowalczyk', 'staff')} ([phone])"
    }


def test_one_person_one_pseudonym_across_minutes_survey_and_action_plan():
    anonymised = run().submission
    amara = ps("Amara Okafor", "staff")
    by_id = anonymised.segments.set_index("segment_id")
    assert by_id.loc["seg-1", "speaker"] == amara
    assert amara in by_id.loc["seg-3", "text"]  # as the initials AO
    evidence = anonymised.action_plan.set_index("action_id").loc["a1", "evidence"]
    assert evidence == f"E-mail from [email]; {amara} chased it"


def test_withdrawn_segments_are_dropped_and_the_name_becomes_person_elsewhere():
    result = run()
    segments = result.submission.segments
    assert set(segments["segment_id"]) == {"seg-1", "seg-3", "seg-4", "seg-5"}
    text = segments.set_index("segment_id").loc["seg-3", "text"]
    assert text.startswith("[person] and ")
    assert result.withdrawn_segments == 2


def test_n_withdrawn_counts_records_of_each_file_never_whose():
    result = run()
    files = result.submission.source_files
    SourceFiles.validate(files)
    assert dict(zip(files["source_file"], files["n_withdrawn"], strict=True)) == {
        MINUTES: 1,
        SURVEY: 1,
        PLAN: 0,
        "minutes/steering.docx": 0,
    }


def test_withdrawn_survey_responses_and_their_answers_are_dropped():
    anonymised = run().submission
    SurveyResponses.validate(anonymised.survey_responses)
    SurveyAnswers.validate(anonymised.survey_answers)
    assert set(anonymised.survey_responses["response_id"]) == {"r1", "r3"}
    assert set(anonymised.survey_answers["response_id"]) == {"r1", "r3"}


def test_free_text_answers_are_anonymised_like_their_segment_and_choices_kept():
    anonymised = run().submission
    answers = anonymised.survey_answers.set_index(["response_id", "item_id"])
    segment_text = anonymised.segments.set_index("segment_id").loc["seg-5", "text"]
    assert answers.loc[("r1", "what_would_help"), "value"] == segment_text
    assert answers.loc[("r1", "respondent_role"), "value"] == "carer"


def test_action_plan_is_anonymised_and_valid():
    plan = run().submission.action_plan
    ActionPlan.validate(plan)
    by_id = plan.set_index("action_id")
    assert by_id.loc["a1", "action"] == (
        f"{ps('Bogdan Kowalczyk', 'staff')} to meet the Urdu-speaking GP group"
    )
    assert pd.isna(by_id.loc["a2", "evidence"])


def test_the_roster_never_travels_past_this_stage():
    attendees = run().submission.attendees
    assert attendees.empty
    assert list(attendees.columns) == list(empty(Attendees).columns)


def test_counts_by_replacement_kind_for_the_assets_metadata():
    result = run()
    assert isinstance(result, AnonymisedSubmission)
    # seg-1: Siobhan, phone; seg-3: Ayse, Bogdan, AO; seg-5: Kwame, e-mail;
    # action plan: Bogdan, e-mail, Amara (initials count as the roster name they stand
    # for). Survey answers repeat seg-5's text: each distinct text is counted once.
    assert result.replacements == {
        "roster_name": 7,
        "phone": 1,
        "email": 2,
    }
    assert result.speakers_pseudonymised == 2
    assert result.withdrawn_responses == 1


def test_same_pseudonyms_in_another_round_and_different_under_another_key():
    roster = pd.concat([roster_frame(), roster_frame(round_id="2025-impact")])
    first = run(roster=roster).submission.segments
    later = run(raw_submission("2025-impact"), roster=roster).submission.segments
    assert list(first["speaker"]) == list(later["speaker"])
    assert list(first["text"]) == list(later["text"])
    rekeyed = run(key=b"another-key-0123456789", roster=roster).submission.segments
    assert rekeyed.set_index("segment_id").loc["seg-1", "speaker"] != ps("Amara Okafor", "staff")
    assert rekeyed.set_index("segment_id").loc["seg-1", "speaker"] == ps(
        "Amara Okafor", "staff", b"another-key-0123456789"
    )


def test_a_withdrawal_in_another_round_removes_the_speaker_here_too():
    roster = pd.concat(
        [roster_frame(), roster_frame([(SITE_ID, "Zoë Nováková", None, None, True)], "2025")]
    )
    result = run(roster=roster)
    assert "seg-4" not in set(result.submission.segments["segment_id"])
    files = result.submission.source_files.set_index("source_file")
    assert files.loc[MINUTES, "n_withdrawn"] == 2


def test_an_empty_submission_gives_empty_valid_tables():
    raw = raw_submission()
    empty_submission = dataclasses.replace(
        raw,
        segments=empty(RawSegments),
        survey_responses=empty(SurveyResponses),
        survey_answers=empty(SurveyAnswers),
        action_plan=empty(ActionPlan),
    )
    anonymised = run(empty_submission).submission
    Segments.validate(anonymised.segments)
    assert anonymised.segments.empty
    assert anonymised.action_plan.empty


def test_a_site_mismatch_is_refused():
    with pytest.raises(ValueError, match="does not match"):
        anonymise_submission(raw_submission(), roster_frame(), Pseudonymiser(KEY), "sheffield")
