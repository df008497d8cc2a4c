"""Scale: 1,500 segments of about 80 words and a roster of 500 people, all anonymised.

Correctness at scale only; speed is measured by the benchmark, never asserted in a test.
"""

from __future__ import annotations

import random

import pandas as pd

from assets.anonymise.anonymiser import anonymise_submission
from assets.anonymise.leaks import LEAK_TYPES, scan_for_leaks
from assets.anonymise.pseudonyms import Pseudonymiser
from schemas.tables import ActionPlan, RawSegments, SiteSubmission, SurveyAnswers, SurveyResponses
from schemas.tables import empty as empty_frame
from tests.test_anonymise_roster import KEY, ROUND_ID, SITE_ID

# fmt: off
FIRST = (
    "Amara", "Tom", "Siobhán", "Bogdan", "Zoë", "Oluwaseun", "Priya", "Mohammed", "Aisha",
    "Kwame", "Marcia", "Desmond", "Łukasz", "Ayşe", "Fatima", "Yusuf", "Wei", "Xiaoling",
    "Niamh", "Harpreet", "Gurinder", "Chukwuemeka", "Abdi", "Hodan", "Sana", "Imran", "Olga",
    "Dmitri", "Mehmet", "Elif", "Kofi", "Ngozi", "Hyun", "Deepa", "Rajesh", "Ana", "João",
    "Seamus", "Aoife", "Tariq",
)
LAST = (
    "Okafor", "Whitfield", "O'Connor", "Kowalczyk", "Nováková", "Adeyemi-Bello", "Sharma",
    "Iqbal", "Begum", "Mensah", "Campbell", "Thompson", "Wiśniewski", "Öztürk", "Al-Hassan",
    "Abdullah", "Zhang", "Wu", "Kelly", "Kaur", "Singh", "Eze", "Warsame", "Hussain", "Ahmed",
    "Petrova", "Ivanov", "Demir", "Boateng", "Nwosu", "Chen", "Park", "Patel", "Mehta",
    "Silva", "Santos", "Murphy", "Byrne", "Chaudhry", "Osei",
)
WORDS = (
    "the", "service", "people", "community", "mental", "health", "support", "access", "we",
    "said", "that", "it", "is", "a", "barrier", "and", "to", "of", "in", "for", "care",
    "workshop", "trust", "families", "carers", "language", "interpreter", "GP", "NHS",
    "Somali", "mosque", "Urdu", "Sikh", "group", "meeting", "progress", "since", "last",
    "year", "still", "waiting", "lists", "referral",
)
# fmt: on


def test_fifteen_hundred_segments_with_a_roster_of_five_hundred():
    rng = random.Random(7)
    names = sorted({f"{rng.choice(FIRST)} {rng.choice(LAST)}" for _ in range(800)})[:500]
    assert len(names) == 500
    roster = pd.DataFrame(
        {
            "round_id": ROUND_ID,
            "site_id": SITE_ID,
            "name": names,
            "role": [rng.choice(("staff", "carer", "service_user")) for _ in names],
            "initials": None,
            "withdrawn": [index % 50 == 0 for index in range(len(names))],
        }
    )
    texts = []
    for index in range(1_500):
        words = [rng.choice(WORDS) for _ in range(80)]
        words[rng.randrange(80)] = rng.choice(names)
        words[rng.randrange(80)] = rng.choice(names).split()[0]
        if index % 10 == 0:
            words[rng.randrange(80)] = "07700 900123"
        texts.append(" ".join(words))
    segments = pd.DataFrame(
        {
            "round_id": ROUND_ID,
            "site_id": SITE_ID,
            "segment_id": [f"s{index}" for index in range(len(texts))],
            "source_kind": "minutes",
            "event_id": "ws1",
            "source_file": "minutes/ws1.md",
            "source_sha256": "e5" * 32,
            "locator": [f"paragraph {index}" for index in range(len(texts))],
            "agenda_item": None,
            "stakeholder_group": None,
            "is_action": False,
            "response_id": None,
            "item_id": None,
            "text": texts,
            "speaker_name": [names[index % 500] for index in range(len(texts))],
            "withdrawn": False,
        }
    )
    submission = SiteSubmission(
        round_id=ROUND_ID,
        site_id=SITE_ID,
        round=None,
        source_files=pd.DataFrame({"source_file": ["minutes/ws1.md"]}),
        quarantine=pd.DataFrame(),
        attendees=pd.DataFrame(),
        segments=RawSegments.validate(segments),
        survey_responses=empty_frame(SurveyResponses),
        survey_answers=empty_frame(SurveyAnswers),
        action_plan=empty_frame(ActionPlan),
    )

    result = anonymise_submission(submission, roster, Pseudonymiser(KEY), SITE_ID)
    found = scan_for_leaks(result.submission.segments["text"], roster)

    assert found == dict.fromkeys(LEAK_TYPES, 0)
    assert len(result.submission.segments) == 1_500 - 1_500 // 50
    withdrawn = set(roster.loc[roster["withdrawn"], "name"])
    kept = [
        text
        for text, name in zip(texts, segments["speaker_name"], strict=True)
        if name not in withdrawn
    ]
    assert result.replacements["phone"] == sum("07700 900123" in text for text in kept)
