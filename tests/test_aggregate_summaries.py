"""Theme prevalence and survey summaries: counts right, small numbers never published."""

from __future__ import annotations

import pandas as pd
import pytest

from assets.aggregate.disclosure import suppress
from assets.aggregate.summaries import participant_refs, survey_item_summary, theme_prevalence

SHA = "0" * 64


def _segments(rows: list[tuple[str, str | None, str | None, str | None]]) -> pd.DataFrame:
    """(segment_id, speaker, response_id, stakeholder_group) -> a Segments-shaped frame."""
    return pd.DataFrame(
        [
            {
                "segment_id": segment_id,
                "round_id": "2024-impact",
                "site_id": "east-london",
                "speaker": speaker,
                "response_id": response_id,
                "stakeholder_group": group,
                "source_file": "2024-impact/east-london/minutes/ws.md",
            }
            for segment_id, speaker, response_id, group in rows
        ]
    )


def _themes(pairs: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "segment_id": s,
                "theme_code": t,
                "category": c,
                "coder": "rules-v1",
                "confidence": 0.9,
                "codebook_version": "v1",
            }
            for s, t, c in pairs
        ]
    )


def test_prevalence_counts_segments_and_distinct_participants() -> None:
    carers = [(f"s{i}", f"[carer-00000{i % 6}]", None, "carer") for i in range(12)]
    segments = _segments([*carers, ("u1", None, "17", "service_user"), ("u2", None, None, None)])
    themes = _themes(
        [(s, "stigma", "barrier") for s, *_ in carers]
        + [("u1", "stigma", "barrier"), ("u2", "stigma", "barrier")]
    )
    table = theme_prevalence(segments, themes, threshold=5)
    row = table.set_index("stakeholder_group").loc["carer"]
    assert row["n_segments"] == 12
    assert row["n_participants"] == 6
    overall = table.set_index("stakeholder_group").loc["all"]
    assert overall["n_segments"] == 14
    # six carers and one survey respondent; the unknown speaker is not counted
    assert overall["n_participants"] == 7
    assert "unknown" in set(table["stakeholder_group"])


def test_prevalence_suppresses_small_groups_and_their_complement() -> None:
    staff = [(f"st{i}", f"[staff-{i:06x}]", None, "staff") for i in range(7)]
    carers = [(f"c{i}", f"[carer-{i:06x}]", None, "carer") for i in range(6)]
    one = [("u1", "[service_user-abcdef]", None, "service_user")]
    segments = _segments([*staff, *carers, *one])
    themes = _themes([(s, "racism-experience", "barrier") for s, *_ in [*staff, *carers, *one]])
    table = theme_prevalence(segments, themes, threshold=5).set_index("stakeholder_group")
    assert table.loc["service_user", "suppressed"]
    assert pd.isna(table.loc["service_user", "n_participants"])
    # carers (6) are the smallest published cell, so they go too: total minus staff would
    # otherwise reveal the lone service user.
    assert table.loc["carer", "suppressed"]
    assert not table.loc["staff", "suppressed"]
    assert table.loc["staff", "n_participants"] == 7


def test_suppress_leaves_large_counts_alone() -> None:
    table = pd.DataFrame({"g": ["a", "a"], "n": [10, 12]})
    out = suppress(table, "n", 5, ["g"], ["n"])
    assert not out["suppressed"].any()
    assert list(out["n"]) == [10, 12]


@pytest.mark.parametrize("threshold", [3, 5, 10])
def test_survey_summary_mean_share_and_threshold(threshold: int) -> None:
    scores = [1, 2, 4, 4, 5, 5, 5, 3]
    answers = pd.DataFrame(
        [
            {
                "round_id": "2024-impact",
                "site_id": "east-london",
                "response_id": str(i),
                "source_file": "f.csv",
                "item_id": "access_ease",
                "item_type": "likert5",
                "value": str(score),
                "score": float(score),
            }
            for i, score in enumerate(scores)
        ]
    )
    table = survey_item_summary(answers, threshold)
    total = table[table["response_option"].isna()].iloc[0]
    if threshold > len(scores):
        assert total["suppressed"]
        assert pd.isna(total["n_responses"]) and pd.isna(total["mean"])
    else:
        assert total["n_responses"] == len(scores)
        assert total["mean"] == pytest.approx(sum(scores) / len(scores))
        assert total["share_agree"] == pytest.approx(5 / 8)
    options = table[table["response_option"].notna()].set_index("response_option")
    assert bool(options.loc["5", "suppressed"]) == (threshold > 3)
    published = options[~options["suppressed"]]
    assert (published["n_responses"] >= threshold).all()


def test_two_survey_files_with_the_same_response_ids_are_different_people() -> None:
    answers = pd.DataFrame(
        [
            {
                "round_id": "2024-impact",
                "site_id": "east-london",
                "response_id": str(i),
                "source_file": source_file,
                "item_id": "access_ease",
                "item_type": "likert5",
                "value": "4",
                "score": 4.0,
            }
            for source_file in ("surveys/paper.csv", "surveys/online.xlsx")
            for i in range(1, 4)
        ]
    )
    table = survey_item_summary(answers, threshold=5)
    total = table[table["response_option"].isna()].iloc[0]
    assert total["n_responses"] == 6
    segments = pd.DataFrame(
        {
            "speaker": [None, None],
            "response_id": ["1", "1"],
            "source_file": ["surveys/paper.csv", "surveys/online.xlsx"],
        }
    )
    assert participant_refs(segments).nunique() == 2


def test_share_agreeing_only_for_likert_items() -> None:
    answers = pd.DataFrame(
        [
            {
                "round_id": "2024-impact",
                "site_id": "east-london",
                "response_id": str(i),
                "source_file": "f.csv",
                "item_id": "age_band",
                "item_type": "single_choice",
                "value": "65+",
                "score": None,
            }
            for i in range(6)
        ]
    )
    total = survey_item_summary(answers, threshold=5).iloc[0]
    assert total["n_responses"] == 6 and pd.isna(total["share_agree"])
