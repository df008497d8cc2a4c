"""Free-text answers travel with who gave them, generalised until k respondents share it."""

from __future__ import annotations

import pandas as pd
import pytest

from assets.aggregate.small_groups import generalise_respondents, survey_free_text
from schemas.instruments import InstrumentRegistry
from schemas.tables import SurveyFreeText

INSTRUMENT = "impact-followup-v1"
FILE = "2024-impact/east-london/survey/export.xlsx"


def responses(people: list[tuple[str, str | None, str | None]]) -> pd.DataFrame:
    """One survey response per (role, ethnic group, age band), numbered from 1."""
    return pd.DataFrame(
        [
            {
                "round_id": "2024-impact",
                "site_id": "east-london",
                "response_id": str(number),
                "source_file": FILE,
                "instrument_id": INSTRUMENT,
                "respondent_role": role,
                "ethnic_group": ethnic_group,
                "age_band": age_band,
            }
            for number, (role, ethnic_group, age_band) in enumerate(people, start=1)
        ]
    )


@pytest.fixture(scope="module")
def registry() -> InstrumentRegistry:
    return InstrumentRegistry()


def published(people: list[tuple[str, str | None, str | None]], registry, k: int = 5):
    table = generalise_respondents(responses(people), registry, k)
    return list(
        zip(
            table["stakeholder_group"],
            table["ethnic_group"],
            table["age_band"],
            table["disclosure"],
            strict=True,
        )
    )


def test_a_combination_held_by_k_respondents_is_published_as_answered(registry) -> None:
    people = [("carer", "pakistani", "35-44")] * 5
    assert set(published(people, registry)) == {("carer", "pakistani", "35-44", "as_answered")}


def test_small_ethnic_groups_are_generalised_to_their_ons_group(registry) -> None:
    people = [("carer", "pakistani", "35-44")] * 3 + [("carer", "bangladeshi", "35-44")] * 2
    assert set(published(people, registry)) == {
        ("carer", "asian", "35-44", "ethnic_group_generalised")
    }


def test_then_age_bands_are_widened_then_left_out(registry) -> None:
    widened = [("staff", "african", "25-34")] * 3 + [("staff", "caribbean", "16-24")] * 2
    assert set(published(widened, registry)) == {("staff", "black", "16-34", "age_band_widened")}
    apart = [("staff", "african", "25-34")] * 3 + [("staff", "caribbean", "55-64")] * 2
    assert set(published(apart, registry)) == {("staff", "black", None, "age_band_left_out")}


def test_a_group_too_small_at_every_level_keeps_only_the_role(registry) -> None:
    people = [("carer", "white_british", "65+")] * 5 + [("service_user", "arab", "16-24")] * 2
    rows = published(people, registry)
    assert rows[:5] == [("carer", "white_british", "65+", "as_answered")] * 5
    assert rows[5:] == [("service_user", None, None, "suppressed")] * 2


def test_every_published_description_is_shared_by_k_respondents(registry) -> None:
    people = (
        [("carer", "pakistani", "35-44")] * 6
        + [("carer", "indian", "45-54")] * 2
        + [("carer", "chinese", "35-44")] * 1
        + [("staff", "white_british", "25-34")] * 4
        + [("staff", "irish", "35-44")] * 3
        + [("service_user", "caribbean", None)] * 5
        + [("service_user", "prefer_not_to_say", "65+")] * 1
    )
    rows = published(people, registry, k=3)
    # The role alone is in the segments view anyway; every fuller description is shared.
    described = [row[:3] for row in rows if row[3] != "suppressed"]
    assert (pd.Series(described).value_counts() >= 3).all()
    assert ("carer", "pakistani", "35-44", "as_answered") in rows
    assert ("service_user", None, None, "suppressed") in rows


def test_free_text_answers_carry_their_respondents_description(registry) -> None:
    people = [("carer", "pakistani", "35-44")] * 5 + [("staff", "roma", "16-24")]
    segments = pd.DataFrame(
        {
            "round_id": "2024-impact",
            "site_id": "east-london",
            "segment_id": ["m1", "a1", "a6"],
            "source_kind": ["minutes", "survey", "survey"],
            "source_file": ["minutes.md", FILE, FILE],
            "response_id": [None, "1", "6"],
            "item_id": [None, "what_changed", "what_changed"],
        }
    )
    table = survey_free_text(segments, responses(people), registry, threshold=5)
    SurveyFreeText.validate(table)
    rows = table.set_index("segment_id")
    assert list(rows.index) == ["a1", "a6"]
    assert rows.loc["a1", "ethnic_group"] == "pakistani"
    assert rows.loc["a6", "disclosure"] == "suppressed"
    assert pd.isna(rows.loc["a6", "ethnic_group"])
