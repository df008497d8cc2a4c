"""Free-text survey answers with who gave them, generalised until no one stands alone.

Analysts need to know which group said what (the programme is about ethnicity), but
with 5-40 people per workshop, role x ethnic group x age band is nearly always a group
of one or two. So each respondent's description is published at the most detailed
level whose combination, among the site's published descriptions, is shared by at
least k respondents (the disclosure threshold):

1. role, ethnic group, age band, as answered;
2. the ethnic group generalised to its ONS high-level group (Pakistani -> Asian);
3. the age band widened too (25-34 -> 16-34);
4. the age band left out;
5. the ethnic group left out too: the role alone (the `segments` view shows it anyway),
   marked `suppressed`.

Both generalisations are declared in the survey instrument (option `group`s), not here.
Respondents move up one level at a time, smallest combinations first being whatever
is below k, and counts are taken again after every move, so a published combination
is always counted over everyone who publishes it.
"""

from __future__ import annotations

import pandas as pd

from assets.aggregate.summaries import respondents
from schemas.instruments import InstrumentRegistry
from schemas.tables import SurveyFreeText, empty

LEVELS = ("as_answered", "ethnic_group_generalised", "age_band_widened", "age_band_left_out")
SUPPRESSED = "suppressed"
ATTRIBUTES = ("ethnic_group", "age_band")


def _group_of(
    registry: InstrumentRegistry, instrument_id: str, item_id: str, value: object
) -> object:
    """The option's higher-level group, or the value itself when it has none."""
    if not isinstance(value, str):
        return value
    try:
        option = registry.get(instrument_id).item(item_id).option(value)
    except KeyError:
        return value
    return option.group if option is not None and option.group else value


def _described(people: pd.DataFrame, level: pd.Series) -> pd.DataFrame:
    """What each respondent's description shows at their current level."""
    ethnic = people["ethnic_group"].where(level < 1, people["ethnic_group_generalised"])
    ethnic = ethnic.where(level < 4, None)
    age = people["age_band"].where(level < 2, people["age_band_widened"])
    age = age.where(level < 3, None)
    return pd.DataFrame(
        {"role": people["respondent_role"], "ethnic_group": ethnic, "age_band": age}
    )


def generalise_respondents(
    responses: pd.DataFrame, registry: InstrumentRegistry, threshold: int
) -> pd.DataFrame:
    """Per respondent (source_file, response_id): the description that may be published."""
    people = responses.reset_index(drop=True)
    people = people.assign(
        ethnic_group_generalised=[
            _group_of(registry, instrument, "ethnic_group", value)
            for instrument, value in zip(
                people["instrument_id"], people["ethnic_group"], strict=True
            )
        ],
        age_band_widened=[
            _group_of(registry, instrument, "age_band", value)
            for instrument, value in zip(people["instrument_id"], people["age_band"], strict=True)
        ],
    )
    level = pd.Series(0, index=people.index)
    top = len(LEVELS)
    while True:
        described = _described(people, level).fillna("\0")
        counts = described.groupby(list(described.columns))["role"].transform("size")
        too_small = (counts < threshold) & (level < top)
        if not too_small.any():
            break
        level = level.where(~too_small, level + 1)
    published = _described(people, level)
    return pd.DataFrame(
        {
            "source_file": people["source_file"],
            "response_id": people["response_id"],
            "stakeholder_group": published["role"],
            "ethnic_group": published["ethnic_group"],
            "age_band": published["age_band"],
            "disclosure": [LEVELS[n] if n < top else SUPPRESSED for n in level],
        }
    )


def survey_free_text(
    segments: pd.DataFrame,
    responses: pd.DataFrame,
    registry: InstrumentRegistry,
    threshold: int,
) -> pd.DataFrame:
    """One row per free-text answer (a survey segment) with its respondent's description."""
    answers = segments[segments["source_kind"] == "survey"]
    if answers.empty or responses.empty:
        return empty(SurveyFreeText)
    described = generalise_respondents(responses, registry, threshold)
    described.index = respondents(described)
    keys = respondents(answers)
    rows = described.reindex(keys)
    return SurveyFreeText.validate(
        pd.DataFrame(
            {
                "round_id": answers["round_id"].to_numpy(),
                "site_id": answers["site_id"].to_numpy(),
                "segment_id": answers["segment_id"].to_numpy(),
                "item_id": answers["item_id"].to_numpy(),
                "stakeholder_group": rows["stakeholder_group"].to_numpy(),
                "ethnic_group": rows["ethnic_group"].to_numpy(),
                "age_band": rows["age_band"].to_numpy(),
                "disclosure": rows["disclosure"].fillna(SUPPRESSED).to_numpy(),
            }
        )
    )
