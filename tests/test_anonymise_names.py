"""Roster names in every form they take in minutes become the person's pseudonym."""

from __future__ import annotations

import pytest

from assets.anonymise.engine import anonymise_text
from assets.anonymise.pseudonyms import Pseudonymiser
from tests.test_anonymise_roster import (
    KEY,
    OTHER_SITE,
    PEOPLE,
    SITE_ID,
    roster_frame,
    site_recognisers,
)

ROLE = {name: role for _, name, role, _, _ in PEOPLE}


def ps(name: str) -> str:
    """The pseudonym the person should get, from the roster's role."""
    return Pseudonymiser(KEY).pseudonym(name, ROLE[name])


def anonymised(text: str, site_id: str = SITE_ID) -> str:
    return anonymise_text(text, site_recognisers(site_id=site_id)).text


@pytest.mark.parametrize(
    "name",
    [
        "Amara Okafor",
        "Tom Whitfield",
        "Siobhán O'Connor",
        "Bogdan Kowalczyk",
        "Zoë Nováková",
        "Oluwaseun Adeyemi-Bello",
        "Łukasz Wiśniewski",
        "Fatima Al-Hassan",
        "Niamh Ní Bhriain",
        "Zhang Wei",
        "Priya Ramanathan",
        "Harpreet Kaur",
        "Marcia Campbell-Reid",
        "Kwame Mensah",
        "Mehmet Öztürk",
    ],
)
def test_full_names_of_many_origins(name):
    assert anonymised(f"Thanks to {name} for chairing.") == f"Thanks to {ps(name)} for chairing."


@pytest.mark.parametrize(
    ("written", "name"),
    [
        ("Amara", "Amara Okafor"),
        ("Okafor", "Amara Okafor"),
        ("Whitfield", "Tom Whitfield"),
        ("Siobhan", "Siobhán O'Connor"),
        ("siobhan", "Siobhán O'Connor"),
        ("SIOBHÁN", "Siobhán O'Connor"),
        ("ZOE", "Zoë Nováková"),
        ("Zoe Novakova", "Zoë Nováková"),
        ("Lukasz Wisniewski", "Łukasz Wiśniewski"),
        ("Mehmet Ozturk", "Mehmet Öztürk"),
        ("OZTURK", "Mehmet Öztürk"),
        ("Ramanathan", "Priya Ramanathan"),
        ("Mensah", "Kwame Mensah"),
        ("Campbell-Reid", "Marcia Campbell-Reid"),
        ("Campbell", "Marcia Campbell-Reid"),
        ("Reid", "Marcia Campbell-Reid"),
        ("Al-Hassan", "Fatima Al-Hassan"),
        ("Hassan", "Fatima Al-Hassan"),
        ("Bhriain", "Niamh Ní Bhriain"),
        ("Zhang", "Zhang Wei"),
    ],
)
def test_first_names_surnames_any_case_with_or_without_diacritics(written, name):
    assert anonymised(f"We heard from {written} today.") == f"We heard from {ps(name)} today."


def test_written_with_diacritics_the_roster_lacks_or_decomposed():
    assert anonymised("Kwamé and Améra") == f"{ps('Kwame Mensah')} and Améra"
    decomposed = "Zoe\u0308 came"  # e + combining diaeresis: the mark goes with the name
    assert anonymised(decomposed) == f"{ps('Zoë Nováková')} came"


@pytest.mark.parametrize(
    ("written", "name"),
    [
        ("Adeyemi-Bello", "Oluwaseun Adeyemi-Bello"),
        ("Adeyemi Bello", "Oluwaseun Adeyemi-Bello"),
        ("Adeyemi \u2013 Bello", "Oluwaseun Adeyemi-Bello"),
        ("Adeyemi", "Oluwaseun Adeyemi-Bello"),
        ("Bello", "Oluwaseun Adeyemi-Bello"),
        ("O'Connor", "Siobhán O'Connor"),
        ("O\u2019Connor", "Siobhán O'Connor"),
        ("OConnor", "Siobhán O'Connor"),
        ("O Connor", "Siobhán O'Connor"),
        ("o'connor", "Siobhán O'Connor"),
    ],
)
def test_hyphenated_and_apostrophe_names(written, name):
    assert anonymised(f"Ask {written} first") == f"Ask {ps(name)} first"


def test_possessives_keep_their_apostrophe_s():
    assert anonymised("Bogdan's idea") == f"{ps('Bogdan Kowalczyk')}'s idea"
    assert anonymised("Bogdan\u2019s idea") == f"{ps('Bogdan Kowalczyk')}\u2019s idea"
    assert anonymised("O'Connor's point") == ps("Siobhán O'Connor") + "'s point"


def test_a_name_across_a_line_break_or_a_run_of_spaces_is_one_replacement():
    expected = f"said {ps('Amara Okafor')} and"
    assert anonymised("said Amara\n   Okafor and") == expected
    assert anonymised("said Amara \t Okafor and") == expected


def test_parts_of_one_person_next_to_each_other_become_one_pseudonym():
    assert anonymised("Niamh Bhriain agreed") == f"{ps('Niamh Ní Bhriain')} agreed"
    assert anonymised("Wei Zhang agreed") == f"{ps('Zhang Wei')} agreed"


def test_initials_case_sensitive_whole_word():
    amara = ps("Amara Okafor")
    assert (
        anonymised("AO: agreed. A.O. too; AO's plan")
        == f"{amara}: agreed. {amara} too; {amara}'s plan"
    )
    assert anonymised("ao and AOK and AOB stay") == "ao and AOK and AOB stay"
    # Derived from the name when the roster gives none: Zoë Nováková is ZN.
    assert anonymised("ZN agreed") == f"{ps('Zoë Nováková')} agreed"


def test_initials_that_are_an_acronym_of_the_field_are_not_initials():
    # Priya Ramanathan's initials are PR, which is also public relations.
    assert anonymised("PR and GP and NHS") == "PR and GP and NHS"


def test_common_english_words_count_as_names_only_in_title_case_or_as_the_full_name():
    will = ps("Will Brown")
    assert anonymised("Will said we will ask Mr Brown about the brown envelope.") == (
        f"{will} said we will ask Mr {will} about the brown envelope."
    )
    assert anonymised("then will brown joined") == f"then {will} joined"
    assert anonymised("WILL BROWN joined") == f"{will} joined"
    assert anonymised("IT WILL BE FINE") == "IT WILL BE FINE"


def test_name_particles_alone_are_not_names_unless_written_as_one():
    assert anonymised("al fresco; the NI number") == "al fresco; the NI number"
    assert anonymised("Ní Bhriain said") == f"{ps('Niamh Ní Bhriain')} said"


def test_names_next_to_digits_or_underscores_are_still_names():
    amara = ps("Amara Okafor")
    assert anonymised("see amara_okafor_notes.docx") == f"see {amara}_notes.docx"
    assert anonymised("Amara2 and okafor1") == f"{amara}2 and {amara}1"


def test_names_inside_other_words_are_left_alone():
    text = "Tomorrow the amaranth and the bellows; willing Kauri and Reidy."
    assert anonymised(text) == text


def test_a_part_shared_by_people_goes_to_this_sites_person():
    harpreet = Pseudonymiser(KEY).pseudonym("Harpreet Kaur", "carer")
    gurpreet = Pseudonymiser(KEY).pseudonym("Gurpreet Kaur", "staff")
    assert anonymised("Kaur agreed") == f"{harpreet} agreed"
    assert anonymised("Kaur agreed", site_id=OTHER_SITE) == f"{gurpreet} agreed"


def test_a_part_shared_at_the_same_site_is_ambiguous_and_becomes_person():
    frame = roster_frame(
        [
            (SITE_ID, "Amara Okafor", "staff", None, False),
            (SITE_ID, "Amara Osei", "carer", None, False),
        ]
    )
    text = anonymise_text("Amara and Osei", site_recognisers(frame)).text
    assert text == f"[person] and {Pseudonymiser(KEY).pseudonym('Amara Osei', 'carer')}"


def test_withdrawn_people_become_person_so_nothing_links_back():
    assert anonymised("Ayşe said, then Ayse Yilmaz and YILMAZ") == (
        "[person] said, then [person] and [person]"
    )


def test_identifiers_win_over_names_they_contain():
    assert anonymised("write to amara.okafor@example.org") == "write to [email]"


def test_offsets_stay_exact_around_non_ascii_text():
    assert anonymised("Café — Zoë\u2019s idea, naïve ﬁne") == (
        f"Café — {ps('Zoë Nováková')}\u2019s idea, naïve ﬁne"
    )
    assert anonymised("Straße: Łukasz") == f"Straße: {ps('Łukasz Wiśniewski')}"


def test_analysis_terms_survive():
    text = (
        "Somali and Sikh families, Urdu speakers, the mosque in Tower Hamlets, "
        "NHS and GP services, the BAME label, a WhatsApp group, Black Caribbean carers."
    )
    assert anonymised(text) == text


def test_counts_by_kind():
    result = anonymise_text("Amara and AO and Tom", site_recognisers())
    assert result.counts_by_kind == {"roster_name": 3}
