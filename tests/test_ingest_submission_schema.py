"""round.yaml and manifest.yaml models: the contract's examples load, errors never quote."""

from __future__ import annotations

import datetime as dt

import pytest

from schemas.submission import (
    SubmissionFileError,
    decode_text,
    parse_manifest,
    parse_round,
)

# Verbatim from shared/contracts/raw-submission.md.
CONTRACT_ROUND = b"""\
round: 2024-impact               # must equal the folder name
title: ARIADNE impact analysis 2024
kind: impact                     # baseline | impact
period: {start: 2024-01-01, end: 2024-12-31}
reviews: 2022-baseline           # optional: the round whose action plans this one reviews
"""

CONTRACT_MANIFEST = b"""\
site: east-london                # must equal the folder name
round: 2024-impact               # must equal the parent folder name
events:
  - id: el-ws1                   # unique within the round
    type: local_workshop         # local_workshop | national_workshop | steering_group | other
    date: 2024-05-21
    minutes: minutes/2024-05-21-workshop.docx
    attendees:
      - name: Amara Okafor       # real names: they never leave the anonymisation stage
        role: staff              # staff | service_user | carer | voluntary_sector | ...
        initials: AO             # optional; minutes often use initials
      - name: Tom Whitfield
        role: carer
surveys:
  - file: surveys/followup.xlsx
    instrument: impact-followup-v1      # an instrument defined in the project
    columns:                            # optional: export header -> item id
      "How easy is it now to get mental health support?": access_ease
withdrawals:                     # optional: people who withdrew consent
  - name: Tom Whitfield          # every contribution of theirs is left out of the warehouse
"""


def test_contract_round_example_loads():
    round_ = parse_round(CONTRACT_ROUND)
    assert round_.round == "2024-impact"
    assert round_.kind == "impact"
    assert round_.period.start == dt.date(2024, 1, 1)
    assert round_.period.end == dt.date(2024, 12, 31)
    assert round_.reviews == "2022-baseline"


def test_contract_manifest_example_loads():
    manifest = parse_manifest(CONTRACT_MANIFEST)
    assert (manifest.site, manifest.round) == ("east-london", "2024-impact")
    (event,) = manifest.events
    assert (event.id, event.type, event.date) == ("el-ws1", "local_workshop", dt.date(2024, 5, 21))
    assert [(a.name, a.role, a.initials) for a in event.attendees] == [
        ("Amara Okafor", "staff", "AO"),
        ("Tom Whitfield", "carer", None),
    ]
    (survey,) = manifest.surveys
    assert survey.columns == {"How easy is it now to get mental health support?": "access_ease"}
    assert [w.name for w in manifest.withdrawals] == ["Tom Whitfield"]


def test_optional_parts_may_be_absent_or_empty_and_unknown_keys_are_kept():
    manifest = parse_manifest(
        b"site: national\nround: 2024-impact\nwithdrawals:\nsurveys:\ncontact_team: data-office\n"
    )
    assert manifest.events == [] and manifest.surveys == [] and manifest.withdrawals == []
    assert manifest.model_extra == {"contact_team": "data-office"}
    round_ = parse_round(b"round: 2022-baseline\ntitle: Baseline\nkind: baseline\n")
    assert round_.period is None and round_.reviews is None


def test_withdrawals_may_be_plain_names():
    manifest = parse_manifest(
        b"site: a\nround: b\nwithdrawals:\n  - Zainab Idowu\n  - name: Jan Kowal\n"
    )
    assert [w.name for w in manifest.withdrawals] == ["Zainab Idowu", "Jan Kowal"]


def test_vocabularies_accept_the_words_people_write():
    manifest = parse_manifest(
        b"site: sheffield\nround: 2024-impact\nevents:\n"
        b"  - {id: 7, type: Steering group, date: 2024-03-01, attendees: "
        b"[{name: Chen Jing, role: Service user}, {name: Kofi Boateng, role: voluntary-sector}]}\n"
        b"surveys:\n  - {file: surveys/a.csv, instrument: impact-followup-v1, "
        b'columns: {"  Padded header  ": access_ease}}\n'
    )
    (event,) = manifest.events
    assert event.id == "7"
    assert event.type == "steering_group"
    assert [a.role for a in event.attendees] == ["service_user", "voluntary_sector"]
    assert manifest.surveys[0].columns == {"Padded header": "access_ease"}


@pytest.mark.parametrize(
    ("text", "locator"),
    [
        (b"site: East London\nround: 2024-impact\n", "site"),
        (b"site: east-london\n", "round"),
        (
            b"site: a\nround: b\nevents:\n  - {id: e1, type: party, date: 2024-01-01}\n",
            "events[0].type",
        ),
        (
            b"site: a\nround: b\nevents:\n  - id: e1\n    type: other\n    date: 2024-01-01\n"
            b"    attendees:\n      - {name: Ngozi Adeyemi, role: boss}\n",
            "events[0].attendees[0].role",
        ),
        (b"site: a\nround: b\nevents:\n  - {id: e1, type: other, date: soon}\n", "events[0].date"),
        (b"site: a\nround: b\nsurveys:\n  - {file: s.csv}\n", "surveys[0].instrument"),
    ],
)
def test_invalid_manifest_names_the_place_without_quoting_values(text, locator):
    with pytest.raises(SubmissionFileError) as raised:
        parse_manifest(text)
    assert raised.value.locator == locator
    assert "Ngozi" not in str(raised.value)
    assert "East London" not in str(raised.value)


def test_yaml_syntax_error_gives_line_and_column_not_the_snippet():
    text = b"site: a\nround: b\nwithdrawals:\n  - name: Marek Kowalczyk: [\n"
    with pytest.raises(SubmissionFileError) as raised:
        parse_manifest(text)
    assert raised.value.locator.startswith("line 4, column ")
    assert "Marek" not in str(raised.value)
    assert "Kowalczyk" not in raised.value.reason


def test_impossible_date_is_located_not_raised():
    text = b"site: a\nround: b\nevents:\n  - id: e1\n    type: other\n    date: 2024-13-45\n"
    with pytest.raises(SubmissionFileError) as raised:
        parse_manifest(text)
    assert raised.value.locator == "line 6, column 11"


@pytest.mark.parametrize(("text", "reason"), [(b"", "empty"), (b"- a\n- b\n", "mapping")])
def test_manifest_must_be_a_mapping(text, reason):
    with pytest.raises(SubmissionFileError, match=reason):
        parse_manifest(text)


def test_yaml_in_windows_1252_is_read():
    text = "site: a\nround: b\nwithdrawals:\n  - name: Zoë Ó Briain\n".encode("cp1252")
    assert parse_manifest(text).withdrawals[0].name == "Zoë Ó Briain"


@pytest.mark.parametrize(
    "data",
    [
        "Zoë said hello".encode(),
        "\ufeffZoë said hello".encode(),
        "Zoë said hello".encode("cp1252"),
    ],
)
def test_decode_text_reads_utf8_bom_and_windows_1252(data):
    assert decode_text(data) == "Zoë said hello"


@pytest.mark.parametrize("data", [b"\x81\x8d\x90", "hello".encode("utf-16")])
def test_decode_text_refuses_other_encodings(data):
    with pytest.raises(UnicodeDecodeError):
        decode_text(data)
