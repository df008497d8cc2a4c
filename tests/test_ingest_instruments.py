"""Instruments: the YAML definitions, answer normalisation and `accepts`."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from schemas.contract import ROLES
from schemas.instruments import (
    INSTRUMENTS_DIR,
    InstrumentError,
    InstrumentNotFoundError,
    InstrumentRegistry,
    answer_key,
    load_instrument,
)

FOLLOWUP = "impact-followup-v1"

ONS_2021 = {
    "asian": ["Bangladeshi", "Chinese", "Indian", "Pakistani", "Any other Asian background"],
    "black": ["African", "Caribbean", "Any other Black, Black British or Caribbean background"],
    "mixed": [
        "White and Asian",
        "White and Black African",
        "White and Black Caribbean",
        "Any other Mixed or Multiple ethnic background",
    ],
    "white": [
        "English, Welsh, Scottish, Northern Irish or British",
        "Irish",
        "Gypsy or Irish Traveller",
        "Roma",
        "Any other White background",
    ],
    "other": ["Arab", "Any other ethnic group"],
}


@pytest.fixture(scope="module")
def followup():
    return load_instrument(FOLLOWUP, INSTRUMENTS_DIR)


def test_followup_has_the_contract_items(followup):
    types = {item.id: item.type for item in followup.items}
    assert types == {
        "respondent_role": "single_choice",
        "ethnic_group": "single_choice",
        "age_band": "single_choice",
        "access_ease": "likert5",
        "respect_experience": "likert5",
        "trust_services": "likert5",
        "what_changed": "free_text",
        "still_in_way": "free_text",
        "what_would_help": "free_text",
    }
    assert [item.id for item in followup.items if item.required] == ["respondent_role"]
    assert all(item.question for item in followup.items)


def test_respondent_role_options_are_the_contract_roles(followup):
    assert tuple(option.value for option in followup.item("respondent_role").options) == ROLES


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("service_user", "service_user"),
        ("Service user", "service_user"),
        ("service-user", "service_user"),
        ("  SERVICE   USER ", "service_user"),
        ("Voluntary sector", "voluntary_sector"),
        ("voluntary_sector", "voluntary_sector"),
        ("Carer", "carer"),
        ("commissioner", "commissioner"),
        ("Researcher", "researcher"),
        ("Staff", "staff"),
        ("other", "other"),
    ],
)
def test_respondent_role_accepts_slugs_and_words(followup, raw, expected):
    item = followup.item("respondent_role")
    assert item.normalise(raw).value == expected
    assert item.accepts(raw)


def test_ethnic_group_has_the_19_ons_categories_in_5_groups(followup):
    item = followup.item("ethnic_group")
    categories = [option for option in item.options if option.value != "prefer_not_to_say"]
    assert len(categories) == 19
    for group, names in ONS_2021.items():
        for name in names:
            answer = item.normalise(name)
            assert answer is not None, name
            assert answer.group == group, name
            assert item.option(answer.value).group == group
    assert item.normalise("Prefer not to say").value == "prefer_not_to_say"
    assert item.normalise("Prefer not to say").group is None


def test_every_category_is_accepted_after_every_spelling_of_its_group(followup):
    item = followup.item("ethnic_group")
    groups = {group.value: group for group in item.groups}
    for option in item.options:
        if option.group is None:
            continue
        for prefix in groups[option.group].spellings():
            for separator in (": ", " - ", ", ", " "):
                answer = item.normalise(f"{prefix}{separator}{option.label}")
                assert answer is not None and answer.value == option.value


@pytest.mark.parametrize(
    ("raw", "expected", "group"),
    [
        ("Asian or Asian British: Pakistani", "pakistani", "asian"),
        ("Black, Black British, Caribbean or African - Caribbean", "caribbean", "black"),
        ("White: Roma", "roma", "white"),
        ("pakistani", "pakistani", "asian"),
        ("  white AND black   caribbean ", "white_and_black_caribbean", "mixed"),
        ("Mixed/multiple ethnic groups: White and Asian", "white_and_asian", "mixed"),
        ("White: English/Welsh/Scottish/Northern Irish/British", "white_british", "white"),
        ("Other ethnic group: Arab", "arab", "other"),
        ("gypsy or irish traveller", "gypsy_or_irish_traveller", "white"),
        ("Rómá", "roma", "white"),
    ],
)
def test_ethnic_group_spellings(followup, raw, expected, group):
    answer = followup.item("ethnic_group").normalise(raw)
    assert (answer.value, answer.group) == (expected, group)


@pytest.mark.parametrize("raw", ["Martian", "Other", "Asian: Roma", "White: Pakistani", "BAME"])
def test_ethnic_group_rejects_what_is_not_a_category(followup, raw):
    item = followup.item("ethnic_group")
    assert item.normalise(raw) is None
    assert not item.accepts(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("16-24", "16-24"),
        ("16 \u2013 24", "16-24"),
        ("25 - 34", "25-34"),
        ("45-54", "45-54"),
        ("65+", "65+"),
        ("prefer NOT to say", "prefer_not_to_say"),
    ],
)
def test_age_band(followup, raw, expected):
    assert followup.item("age_band").normalise(raw).value == expected


@pytest.mark.parametrize("raw", ["65", "15-24", "old", "24"])
def test_age_band_rejects_other_values(followup, raw):
    assert followup.item("age_band").normalise(raw) is None


@pytest.mark.parametrize(
    ("raw", "value", "score"),
    [
        ("1", "1", 1.0),
        ("5", "5", 5.0),
        ("4.0", "4", 4.0),
        ("Strongly disagree", "1", 1.0),
        ("disagree", "2", 2.0),
        ("NEITHER AGREE NOR DISAGREE", "3", 3.0),
        ("Agree", "4", 4.0),
        ("strongly AGREE", "5", 5.0),
        ("  Strongly   agree ", "5", 5.0),
    ],
)
def test_likert5_numbers_and_labels_in_any_case(followup, raw, value, score):
    answer = followup.item("access_ease").normalise(raw)
    assert (answer.value, answer.score) == (value, score)


@pytest.mark.parametrize("raw", ["0", "6", "4.5", "Agree strongly!?", "yes"])
def test_likert5_rejects_values_off_the_scale(followup, raw):
    item = followup.item("trust_services")
    assert item.normalise(raw) is None
    assert not item.accepts(raw)


def test_empty_answer_is_missing_not_invalid(followup):
    optional = followup.item("access_ease")
    required = followup.item("respondent_role")
    for raw in ("", "   ", None):
        assert optional.normalise(raw).is_missing
        assert optional.accepts(raw)
        assert not required.accepts(raw)


def test_free_text_keeps_the_trimmed_answer(followup):
    answer = followup.item("what_would_help").normalise("  More interpreters \n")
    assert (answer.value, answer.score) == ("More interpreters", None)


def test_canonical_values_are_accepted_as_stored(followup):
    for item in followup.items:
        for option in item.options:
            assert item.accepts(option.value)
            assert item.normalise(option.value).value == option.value


def _write(folder: Path, content: dict) -> None:
    (folder / f"{content['id']}.yaml").write_text(yaml.safe_dump(content), encoding="utf-8")


def test_a_new_instrument_is_a_new_yaml_file(tmp_path):
    _write(
        tmp_path,
        {
            "id": "carer-pulse-v1",
            "title": "Carer pulse",
            "items": [
                {"id": "visits", "question": "How many visits?", "type": "number", "minimum": 0},
                {
                    "id": "ease",
                    "question": "Getting help is",
                    "type": "likert5",
                    "options": [
                        {"value": str(n), "label": label, "score": n}
                        for n, label in enumerate(
                            ["Very hard", "Hard", "Neither", "Easy", "Very easy"], start=1
                        )
                    ],
                },
                {
                    "id": "borough",
                    "question": "Where do you live?",
                    "type": "single_choice",
                    "required": True,
                    "options": [{"value": "hackney"}, {"value": "tower_hamlets"}],
                },
            ],
        },
    )
    instrument = load_instrument("carer-pulse-v1", tmp_path)
    visits, ease, borough = instrument.items
    assert visits.normalise("3").value == "3"
    assert visits.normalise("2.5").score == 2.5
    assert visits.normalise("-1") is None
    assert visits.normalise("lots") is None
    assert visits.normalise("nan") is None
    assert ease.normalise("very EASY").score == 5.0
    assert ease.normalise("Strongly agree") is None
    assert borough.normalise("Tower Hamlets").value == "tower_hamlets"
    assert not borough.accepts("")


def test_unknown_instrument_is_reported(tmp_path):
    with pytest.raises(InstrumentNotFoundError):
        load_instrument("no-such-survey", tmp_path)
    with pytest.raises(InstrumentError):
        load_instrument("../impact-followup-v1", INSTRUMENTS_DIR)


@pytest.mark.parametrize(
    "items",
    [
        [{"id": "a", "question": "q", "type": "single_choice"}],
        [{"id": "a", "question": "q", "type": "free_text", "options": [{"value": "x"}]}],
        [{"id": "a", "question": "q", "type": "likert7"}],
        [{"id": "a", "question": "q", "type": "free_text"}] * 2,
        [
            {
                "id": "a",
                "question": "q",
                "type": "single_choice",
                "options": [{"value": "x", "aliases": ["y"]}, {"value": "y"}],
            }
        ],
        [{"id": "a", "question": "q", "type": "free_text", "requried": True}],
    ],
)
def test_broken_instrument_definitions_are_refused(tmp_path, items):
    _write(tmp_path, {"id": "broken", "title": "Broken", "items": items})
    with pytest.raises(InstrumentError):
        load_instrument("broken", tmp_path)


def test_instrument_id_must_match_its_file(tmp_path):
    (tmp_path / "one.yaml").write_text(
        yaml.safe_dump({"id": "two", "title": "t", "items": []}), encoding="utf-8"
    )
    with pytest.raises(InstrumentError, match="two"):
        load_instrument("one", tmp_path)


def test_answer_key_ignores_case_accents_punctuation_but_keeps_plus():
    assert answer_key("  Asian or Asian British:  PAKISTANI ") == "asian or asian british pakistani"
    assert answer_key("Rómá") == answer_key("roma")
    assert answer_key("65+") != answer_key("65")


def test_registry_answers_validation():
    registry = InstrumentRegistry(INSTRUMENTS_DIR)
    assert registry.accepts(FOLLOWUP, "access_ease", "4")
    assert registry.accepts(FOLLOWUP, "ethnic_group", "pakistani")
    assert not registry.accepts(FOLLOWUP, "access_ease", "7")
    assert not registry.accepts(FOLLOWUP, "respondent_role", "")
    assert not registry.accepts(FOLLOWUP, "postcode", "E1 6AN")
    assert not registry.accepts("no-such-survey", "access_ease", "4")
    assert registry.required(FOLLOWUP) == ["respondent_role"]
    assert registry.required("no-such-survey") == []
    assert registry.get(FOLLOWUP) is registry.get(FOLLOWUP)
