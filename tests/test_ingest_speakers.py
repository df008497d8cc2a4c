"""Speaker labels: what counts as one, and how it resolves against the event's attendees."""

from __future__ import annotations

import pytest

from assets.ingest.people import Person, Roster
from assets.ingest.speakers import SpeakerResolver, find_label, is_action

ATTENDEES = [
    Person("Amara Okafor", "staff", "AO"),
    Person("Tom Whitfield", "carer", "TW"),
    Person("Priya Raman", "service_user"),
    Person("Siobhán Ní Bhriain", "researcher"),
    Person("Wojciech Nowak", "voluntary_sector"),
    Person("Dr Kwame Mensah", "staff"),
    Person("Ana de Souza", "commissioner"),
]


def resolver(attendees=ATTENDEES, withdrawals=()):
    return SpeakerResolver(
        event_id="el-ws1",
        attendees=Roster(attendees),
        withdrawals=Roster(Person(name) for name in withdrawals),
    )


@pytest.mark.parametrize(
    ("paragraph", "head", "inner", "rest"),
    [
        ("AO: Welcome back.", "AO", None, "Welcome back."),
        ("Amara Okafor: Welcome back.", "Amara Okafor", None, "Welcome back."),
        ("Amara: Welcome back.", "Amara", None, "Welcome back."),
        ("Carer (TW): It is still hard.", "Carer", "TW", "It is still hard."),
        ("Service user: Better now.", "Service user", None, "Better now."),
        ("service user: Better now.", "service user", None, "Better now."),
        ("Dr. Mensah: Referrals are up.", "Dr. Mensah", None, "Referrals are up."),
        ("A.O.: Thanks all.", "A.O.", None, "Thanks all."),
        ("Ana de Souza: Funding is agreed.", "Ana de Souza", None, "Funding is agreed."),
        ("**AO:** Welcome back.", "AO", None, "Welcome back."),
        ("**AO**: Welcome back.", "AO", None, "Welcome back."),
        ("Staff (Amara):  Two lines\nof text", "Staff", "Amara", "Two lines\nof text"),
        ("Tom:", "Tom", None, ""),
    ],
)
def test_label_forms(paragraph, head, inner, rest):
    label = find_label(paragraph)
    assert label is not None
    assert (label.head, label.inner, label.rest) == (head, inner, rest)


@pytest.mark.parametrize(
    "paragraph",
    [
        "The main issues were: waiting times and interpreters.",
        "We agreed: more outreach.",
        "Three things stood out: trust, language and stigma.",
        "At 10:30 the group split in two.",
        "See https://example.org/report for the figures.",
        "Note that: this was not minuted.",
        "Next steps: book a room.",
        "Action: The trust funds interpreters.",
        "ACTIONS: two follow-ups.",
        "Action (AO): draft the report.",
        "One Two Three Four Five: too many words for a label.",
        "de la: particles alone are no name.",
        "No colon here at all.",
        "Amara:no space after the colon.",
    ],
)
def test_not_labels(paragraph):
    assert find_label(paragraph) is None


def test_lower_case_prefix_is_a_label_only_when_it_names_someone():
    assert resolver().attribute("priya: Better now.").speaker.name == "Priya Raman"
    plain = resolver().attribute("we agreed: more outreach.")
    assert plain.text == "we agreed: more outreach."
    assert plain.problem is None and plain.speaker is None


@pytest.mark.parametrize(
    "paragraph",
    ["Action: fund it.", "action: fund it.", "Actions: two.", "Agreed action: fund it."],
)
def test_action_paragraphs(paragraph):
    assert is_action(paragraph)
    attribution = resolver().attribute(paragraph)
    assert attribution.is_action
    assert attribution.speaker is None
    assert attribution.text == paragraph
    assert attribution.problem is None


@pytest.mark.parametrize(
    ("paragraph", "speaker", "group"),
    [
        ("Amara Okafor: Welcome.", "Amara Okafor", "staff"),
        ("amara okafor: Welcome.", "Amara Okafor", "staff"),
        ("Okafor, Amara: Welcome.", "Amara Okafor", "staff"),
        ("ao: Welcome.", "Amara Okafor", "staff"),
        ("Amara: Welcome.", "Amara Okafor", "staff"),
        ("Okafor: Welcome.", "Amara Okafor", "staff"),
        ("AO: Welcome.", "Amara Okafor", "staff"),
        ("PR: Better now.", "Priya Raman", "service_user"),
        ("Siobhan Ni Bhriain: A note.", "Siobhán Ní Bhriain", "researcher"),
        ("SIOBHÁN: A note.", "Siobhán Ní Bhriain", "researcher"),
        ("Dr Mensah: Referrals.", "Dr Kwame Mensah", "staff"),
        ("Kwame Mensah: Referrals.", "Dr Kwame Mensah", "staff"),
        ("Carer (TW): Still hard.", "Tom Whitfield", "carer"),
        ("Carer: Still hard.", "Tom Whitfield", "carer"),
        ("Carers: Still hard.", "Tom Whitfield", "carer"),
        ("Voluntary sector: More referrals.", "Wojciech Nowak", "voluntary_sector"),
        ("Staff: Two staff attended.", None, "staff"),
        ("Commissioner (Ana): Funding.", "Ana de Souza", "commissioner"),
    ],
)
def test_labels_resolve_by_name_initials_and_role(paragraph, speaker, group):
    attribution = resolver().attribute(paragraph)
    assert (attribution.speaker.name if attribution.speaker else None) == speaker
    assert attribution.stakeholder_group == group
    assert attribution.problem is None
    assert attribution.text == paragraph.split(":", 1)[1].strip()


def test_role_label_names_nobody_when_several_hold_the_role():
    attribution = resolver().attribute("Staff: We need more time.")
    assert attribution.speaker is None
    assert attribution.stakeholder_group == "staff"
    assert attribution.text == "We need more time."
    assert attribution.problem is None


def test_unresolved_label_warns_without_quoting_and_keeps_the_text():
    paragraph = "Marcus Boateng: I was not on the list."
    attribution = resolver().attribute(paragraph)
    assert attribution.speaker is None and attribution.stakeholder_group is None
    assert attribution.text == paragraph
    assert "speaker label" in attribution.problem
    assert "Marcus" not in attribution.problem and "Boateng" not in attribution.problem


def test_ambiguous_first_name_warns():
    attendees = [*ATTENDEES, Person("Amara Nwosu", "carer")]
    attribution = resolver(attendees).attribute("Amara: Which of us?")
    assert attribution.speaker is None
    assert "more than one" in attribution.problem
    narrowed = resolver(attendees).attribute("Carer (Amara): Me.")
    assert narrowed.speaker.name == "Amara Nwosu"


def test_role_and_unknown_initials_keep_the_role():
    attribution = resolver().attribute("Carer (ZZ): Someone else's words.")
    assert attribution.speaker is None
    assert attribution.stakeholder_group == "carer"
    assert attribution.problem is not None and "ZZ" not in attribution.problem


def test_role_mismatch_uses_the_manifest_and_warns():
    attribution = resolver().attribute("Carer (AO): Words.")
    assert attribution.speaker.name == "Amara Okafor"
    assert attribution.stakeholder_group == "staff"
    assert attribution.problem is not None


def test_label_then_action():
    attribution = resolver().attribute("AO: Action: draft the PCREF report.")
    assert attribution.speaker.name == "Amara Okafor"
    assert attribution.is_action
    assert attribution.text == "Action: draft the PCREF report."


def test_withdrawn_speaker_is_marked_by_any_label_form():
    for paragraph in ("TW: Words.", "Tom: Words.", "Carer: Words.", "tom whitfield: Words."):
        assert resolver(withdrawals=["Tom Whitfield"]).attribute(paragraph).withdrawn, paragraph
    assert not resolver(withdrawals=["Tom Whitfield"]).attribute("AO: Words.").withdrawn


def test_withdrawn_person_missing_from_attendees_is_still_marked():
    attribution = resolver(withdrawals=["Hana Kobayashi"]).attribute("Hana: I came late.")
    assert attribution.speaker is None
    assert attribution.withdrawn


def test_withdrawal_written_in_another_order_or_case():
    assert resolver(withdrawals=["WHITFIELD Tom"]).attribute("TW: Words.").withdrawn


def test_no_label_means_unknown_speaker():
    attribution = resolver().attribute("  Peer support groups now meet weekly. ")
    assert attribution.speaker is None and attribution.stakeholder_group is None
    assert attribution.text == "Peer support groups now meet weekly."
    assert not attribution.withdrawn and attribution.problem is None


def test_letters_without_accents_match_their_plain_spelling():
    mehmet, lukasz = (
        Person("Mehmet Y\u0131lmaz", "commissioner"),
        Person("\u0141ukasz S\u00f8rensen"),
    )
    attribute = resolver([mehmet, lukasz]).attribute
    assert attribute("Yilmaz: Budget confirmed.").speaker == mehmet
    assert attribute("Lukasz: Thanks.").speaker == lukasz
    assert attribute("SORENSEN: Thanks.").speaker == lukasz


@pytest.mark.parametrize(
    ("paragraph", "speaker"),
    [
        ("MR: Said the stall at the mosque helped.", "Mohammed Rahman"),
        ("MS: Agreed.", "Maria Silva"),
        ("DR: Disagreed.", "Deepa Rao"),
        ("Mr Rahman: Thanks.", "Mohammed Rahman"),
        ("Dr Rao: Thanks.", "Deepa Rao"),
    ],
)
def test_initials_that_look_like_titles_are_still_initials(paragraph, speaker):
    attendees = [
        Person("Mohammed Rahman", "service_user", "MR"),
        Person("Maria Silva", "staff"),
        Person("Deepa Rao", "staff"),
    ]
    attribution = resolver(attendees).attribute(paragraph)
    assert attribution.speaker.name == speaker
    assert attribution.problem is None
