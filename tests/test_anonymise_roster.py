"""The roster the anonymiser accepts, and the synthetic roster the anonymise tests share.

Every name here is made up, of many origins; the other anonymise test modules import
`roster_frame`, `KEY` and `site_recognisers` from here.
"""

from __future__ import annotations

import pandas as pd
import pytest
from presidio_analyzer import EntityRecognizer

from assets.anonymise.identifiers import identifier_recognisers
from assets.anonymise.names import RosterRecognizer
from assets.anonymise.pseudonyms import Pseudonymiser
from assets.anonymise.roster import Roster, as_roster

ROUND_ID = "2024-impact"
SITE_ID = "east-london"
OTHER_SITE = "coventry-warwickshire"
KEY = b"test-key-0123456789abcdef"

# (site, name, role, initials, withdrawn)
PEOPLE = (
    (SITE_ID, "Amara Okafor", "staff", "AO", False),  # Nigerian
    (SITE_ID, "Tom Whitfield", "carer", "TW", False),  # White British
    (SITE_ID, "Siobhán O'Connor", "service_user", None, False),  # Irish
    (SITE_ID, "Bogdan Kowalczyk", "staff", "BK", False),  # Polish
    (SITE_ID, "Zoë Nováková", "voluntary_sector", None, False),  # Czech
    (SITE_ID, "Oluwaseun Adeyemi-Bello", "carer", None, False),  # Yoruba, hyphenated
    (SITE_ID, "Will Brown", "staff", None, False),  # English words as names
    (SITE_ID, "Łukasz Wiśniewski", "staff", None, False),  # letters NFKD cannot split
    (SITE_ID, "Fatima Al-Hassan", "commissioner", None, False),  # Arab
    (SITE_ID, "Niamh Ní Bhriain", "researcher", None, False),  # Irish, particle
    (SITE_ID, "Zhang Wei", "service_user", None, False),  # Chinese, surname first
    (SITE_ID, "Priya Ramanathan", "carer", "PR", False),  # South Asian; PR is protected
    (SITE_ID, "Harpreet Kaur", "carer", None, False),  # Sikh; Kaur shared, below
    (SITE_ID, "Marcia Campbell-Reid", "service_user", None, False),  # Caribbean
    (SITE_ID, "Kwame Mensah", "voluntary_sector", "KM", False),  # Ghanaian
    (SITE_ID, "Mehmet Öztürk", "service_user", None, False),  # Turkish
    (SITE_ID, "Ayşe Y\u0131lmaz", "carer", None, True),  # Turkish, withdrew
    (OTHER_SITE, "Gurpreet Kaur", "staff", None, False),  # shares 'Kaur', other site
    (OTHER_SITE, "Desmond Thompson", "staff", "DT", False),  # Jamaican, other site
)


def roster_frame(people=PEOPLE, round_id: str = ROUND_ID) -> pd.DataFrame:
    """The roster as the lead passes it: one row per person per round x site."""
    return pd.DataFrame(
        [
            {
                "round_id": round_id,
                "site_id": site,
                "name": name,
                "role": role,
                "initials": initials,
                "withdrawn": withdrawn,
            }
            for site, name, role, initials, withdrawn in people
        ]
    )


def site_recognisers(
    roster: pd.DataFrame | None = None,
    key: bytes = KEY,
    round_id: str = ROUND_ID,
    site_id: str = SITE_ID,
) -> list[EntityRecognizer]:
    compiled = as_roster(roster_frame() if roster is None else roster)
    return [
        *identifier_recognisers(),
        RosterRecognizer.for_site(compiled, Pseudonymiser(key), round_id, site_id),
    ]


def test_one_person_per_normalised_name_across_rounds_and_spellings():
    frame = pd.concat(
        [
            roster_frame(),
            roster_frame(
                [(SITE_ID, "SIOBHAN  O\u2019CONNOR", "service_user", None, False)], "2025"
            ),
        ]
    )
    roster = Roster(frame)
    assert len(roster) == len(PEOPLE)
    person = roster.person("siobhan o'connor")
    assert person is not None
    assert {round_id for round_id, _, _ in person.appearances} == {ROUND_ID, "2025"}


def test_role_of_this_site_wins_then_the_first():
    frame = roster_frame(
        [
            (OTHER_SITE, "Kwame Mensah", "staff", None, False),
            (SITE_ID, "Kwame Mensah", "Voluntary sector", None, False),
        ]
    )
    person = Roster(frame).person("Kwame Mensah")
    assert person.role_at(ROUND_ID, SITE_ID) == "voluntary_sector"
    assert person.role_at(ROUND_ID, OTHER_SITE) == "staff"
    assert person.role_at(ROUND_ID, "sheffield") == "staff"


def test_a_withdrawal_row_from_ingest_marks_the_person_withdrawn_everywhere():
    frame = pd.DataFrame(
        [
            {"round_id": "2022-baseline", "site_id": SITE_ID, "name": "Tom Whitfield",
             "role": "carer", "initials": "TW", "kind": "attendee", "event_id": "ws1"},
            {"round_id": ROUND_ID, "site_id": SITE_ID, "name": "Tom Whitfield",
             "role": None, "initials": None, "kind": "withdrawal", "event_id": None},
        ]
    )  # fmt: skip
    assert Roster(frame).person("Tom Whitfield").withdrawn


def test_rows_without_a_usable_name_are_skipped_and_counted():
    frame = roster_frame([(SITE_ID, "Amara Okafor", "staff", None, False)])
    frame = pd.concat([frame, frame.assign(name=[None]), frame.assign(name=[" - "])])
    roster = Roster(frame)
    assert len(roster) == 1
    assert roster.skipped_rows == 2


def test_missing_columns_are_named_and_no_name_is_quoted():
    frame = roster_frame().drop(columns=["site_id"])
    with pytest.raises(ValueError, match="site_id") as error:
        Roster(frame)
    assert "Okafor" not in str(error.value)


def test_a_frame_with_the_same_content_is_compiled_once():
    assert as_roster(roster_frame()) is as_roster(roster_frame())
    changed = roster_frame([*PEOPLE, (SITE_ID, "Hodan Warsame", "carer", None, False)])
    assert as_roster(changed) is not as_roster(roster_frame())


def test_repr_does_not_show_names():
    assert "Okafor" not in repr(Roster(roster_frame()))
