"""People in charge: how reviews from the store change what the code stage publishes."""

from __future__ import annotations

import dataclasses

import dagster as dg
import pandas as pd
import pytest

from assets.code.assets import coder_agreement_check
from assets.code.coder import CODER
from assets.code.reviews import MACHINE, apply_reviews
from assets.review.store import STORE_COLUMNS
from schemas.codebook import CODEBOOK_DIR, codebook_path, load_codebook
from schemas.tables import SegmentThemes
from tests.conftest import coded_submission

ANA, BEN = "[researcher-0a1b2c]", "[researcher-3d4e5f]"
SHA = "e5" * 32
EARLY, LATE = "2026-03-02T09:30:00+00:00", "2026-03-05T16:00:00+00:00"


@pytest.fixture(scope="module")
def codebook():
    return load_codebook(codebook_path("v2", CODEBOOK_DIR))


@pytest.fixture
def segments() -> pd.DataFrame:
    """Five coded segments (m1, m2, m3, s1, s2 of east-london), the machine's categories."""
    return coded_submission().segments


def sid(key: str) -> str:
    """The conftest segment id for a short key: m1 -> east-london-m1-a1a1a1."""
    return next(s for s in coded_submission().segments["segment_id"] if s.split("-")[2] == key)


def machine(*codings: tuple[str, str, str]) -> pd.DataFrame:
    """The machine's rows: (segment key, theme, category)."""
    return SegmentThemes.validate(
        pd.DataFrame(
            [
                {
                    "segment_id": sid(key),
                    "theme_code": theme,
                    "category": category,
                    "coder": CODER,
                    "confidence": 0.8,
                    "codebook_version": "v2",
                }
                for key, theme, category in codings
            ]
        )
    )


MACHINE_CODINGS = (
    ("m1", "stigma", "barrier"),
    ("m1", "pandemic-impact", "barrier"),
    ("m2", "education-mediation-digital", "progress"),
    ("m3", "diversified-care-offer", "solution"),
    ("s1", "stigma", "barrier"),
)


def reviews(*rows: tuple[str, str, str, str, str]) -> pd.DataFrame:
    """Store rows: (segment key or id, coder, category, themes, reviewed_at)."""
    return pd.DataFrame(
        [
            {
                "segment_id": sid(key) if len(key) == 2 else key,
                "coder": coder,
                "category": category,
                "themes": themes,
                "reviewed_at": at,
                "source": "spreadsheet",
                "source_sha256": SHA,
                "codebook_version": "v2",
            }
            for key, coder, category, themes, at in rows
        ],
        columns=list(STORE_COLUMNS),
    )


def published(frame: pd.DataFrame, key: str) -> set[tuple[str, str, str]]:
    rows = frame[frame["segment_id"] == sid(key)]
    return set(zip(rows["theme_code"], rows["category"], rows["coder"], strict=True))


def category(frame: pd.DataFrame, key: str) -> str:
    return frame.loc[frame["segment_id"] == sid(key), "category"].item()


def test_without_reviews_the_machines_coding_is_published_unchanged(segments, codebook) -> None:
    themes = machine(*MACHINE_CODINGS)
    result = apply_reviews(segments, themes, reviews(), codebook)
    pd.testing.assert_frame_equal(
        result.segment_themes,
        themes.sort_values(["segment_id", "theme_code", "coder"], ignore_index=True),
    )
    assert list(result.segments["category"]) == list(segments["category"])
    assert result.segment_reviews.empty and result.coder_agreement.empty
    assert result.segments_reviewed == result.reviewers == result.stale_review_rows == 0


def test_the_latest_review_wins_over_the_machine_and_an_earlier_review(segments, codebook) -> None:
    result = apply_reviews(
        segments,
        machine(*MACHINE_CODINGS),
        reviews(
            ("m1", ANA, "barrier", "racism-experience", EARLY),
            ("m1", BEN, "barrier", "stigma;racism-experience", LATE),
        ),
        codebook,
    )
    assert published(result.segment_themes, "m1") == {
        ("stigma", "barrier", BEN),
        ("racism-experience", "barrier", BEN),
    }
    assert published(result.segment_themes, "m2") == {
        ("education-mediation-digital", "progress", CODER)
    }


def test_reviews_made_at_the_same_time_go_to_the_first_coder_by_name(segments, codebook) -> None:
    result = apply_reviews(
        segments,
        machine(*MACHINE_CODINGS),
        reviews(
            ("m2", BEN, "progress", "coproduction-impact", LATE),
            ("m2", ANA, "progress", "human-rights-cohesion", LATE),
        ),
        codebook,
    )
    assert published(result.segment_themes, "m2") == {("human-rights-cohesion", "progress", ANA)}


def test_a_reviewed_segment_with_no_theme_publishes_none(segments, codebook) -> None:
    result = apply_reviews(
        segments, machine(*MACHINE_CODINGS), reviews(("m3", ANA, "solution", "", EARLY)), codebook
    )
    assert published(result.segment_themes, "m3") == set()
    assert result.segments_reviewed == 1
    assert published(result.segment_codings, "m3") == {
        ("diversified-care-offer", "solution", CODER)
    }


def test_a_category_override_reaches_segments_and_segment_themes(segments, codebook) -> None:
    assert category(segments, "m1") == "barrier"
    result = apply_reviews(
        segments,
        machine(*MACHINE_CODINGS),
        reviews(("m1", ANA, "solution", "stigma", EARLY)),
        codebook,
    )
    assert category(result.segments, "m1") == "solution"
    assert published(result.segment_themes, "m1") == {("stigma", "solution", ANA)}
    assert category(result.segments, "m2") == category(segments, "m2")


def test_machine_rows_stay_in_segment_codings_beside_every_persons(segments, codebook) -> None:
    result = apply_reviews(
        segments,
        machine(*MACHINE_CODINGS),
        reviews(
            ("m1", ANA, "barrier", "racism-experience", EARLY),
            ("m1", BEN, "progress", "", LATE),
        ),
        codebook,
    )
    assert published(result.segment_codings, "m1") == {
        ("stigma", "barrier", CODER),
        ("pandemic-impact", "barrier", CODER),
        ("racism-experience", "barrier", ANA),
    }
    person_rows = result.segment_codings[result.segment_codings["coder"] == ANA]
    assert set(person_rows["confidence"]) == {1.0}
    reviewed = result.segment_reviews
    assert set(zip(reviewed["coder"], reviewed["category"], strict=True)) == {
        (ANA, "barrier"),
        (BEN, "progress"),
    }
    assert set(result.segment_reviews["reviewed_at"]) == {EARLY, LATE}


def test_agreement_is_computed_on_the_segments_both_coders_looked_at(segments, codebook) -> None:
    result = apply_reviews(
        segments,
        machine(*MACHINE_CODINGS),
        reviews(
            # Ana agrees with the machine on m1 and s1, and adds stigma to m2.
            ("m1", ANA, "barrier", "stigma;pandemic-impact", EARLY),
            ("s1", ANA, "barrier", "stigma", EARLY),
            ("m2", ANA, "progress", "education-mediation-digital;stigma", EARLY),
            # Ben looked at m3 only, which Ana never saw.
            ("m3", BEN, "solution", "diversified-care-offer", EARLY),
        ),
        codebook,
    )
    agreement = result.coder_agreement
    pairs = set(zip(agreement["coder_a"], agreement["coder_b"], strict=True))
    assert pairs == {(ANA, MACHINE), (BEN, MACHINE)}, "Ana and Ben share no segment"

    def row(coder: str, theme: str) -> pd.Series:
        mask = (agreement["coder_a"] == coder) & (agreement["theme_code"] == theme)
        return agreement[mask].iloc[0]

    stigma = row(ANA, "stigma")
    assert stigma["n_segments"] == 3
    # present/absent on (m1, m2, s1): Ana (1, 1, 1), machine (1, 0, 1).
    assert stigma["percent_agreement"] == pytest.approx(100 * 2 / 3)
    assert row(ANA, "pandemic-impact")["percent_agreement"] == 100.0
    assert row(BEN, "all")["n_segments"] == 1


def test_review_rows_of_segments_no_longer_submitted_are_counted_not_applied(
    segments, codebook
) -> None:
    result = apply_reviews(
        segments,
        machine(*MACHINE_CODINGS),
        reviews(
            ("east-london-m1-0f0f0f", ANA, "barrier", "racism-experience", EARLY),
            ("m2", ANA, "progress", "", EARLY),
        ),
        codebook,
    )
    assert result.stale_review_rows == 1
    assert set(result.segment_reviews["segment_id"]) == {sid("m2")}
    assert "east-london-m1-0f0f0f" not in set(result.segment_themes["segment_id"])
    assert "east-london-m1-0f0f0f" not in set(result.segment_codings["segment_id"])


def test_a_review_naming_a_theme_the_codebook_lacks_is_set_aside(segments, codebook) -> None:
    result = apply_reviews(
        segments,
        machine(*MACHINE_CODINGS),
        reviews(("m2", ANA, "progress", "stigma;theme-of-a-later-codebook", EARLY)),
        codebook,
    )
    assert result.unknown_theme_rows == 1
    assert published(result.segment_themes, "m2") == {
        ("education-mediation-digital", "progress", CODER)
    }


def test_rows_of_a_coder_that_is_no_machine_are_refused_as_the_machines(segments, codebook) -> None:
    themes = machine(*MACHINE_CODINGS).assign(coder=ANA)
    with pytest.raises(ValueError, match="not machines"):
        apply_reviews(segments, themes, reviews(), codebook)


def test_the_same_input_in_another_order_gives_the_same_rows(segments, codebook) -> None:
    store = reviews(
        ("m1", ANA, "barrier", "racism-experience", EARLY),
        ("m1", BEN, "barrier", "stigma", LATE),
        ("s2", BEN, "solution", "", LATE),
    )
    first = apply_reviews(segments, machine(*MACHINE_CODINGS), store, codebook)
    second = apply_reviews(
        segments.iloc[::-1], machine(*MACHINE_CODINGS[::-1]), store.iloc[::-1], codebook
    )
    for name in ("segment_themes", "segment_codings", "segment_reviews", "coder_agreement"):
        pd.testing.assert_frame_equal(getattr(first, name), getattr(second, name), obj=name)


def test_the_agreement_check_warns_naming_a_theme_below_the_alpha_floor(segments, codebook) -> None:
    result = apply_reviews(
        segments,
        machine(*MACHINE_CODINGS),
        reviews(
            # Ana and the machine disagree on stigma on two of the three shared segments.
            ("m1", ANA, "barrier", "pandemic-impact", EARLY),
            ("m2", ANA, "progress", "education-mediation-digital;stigma", EARLY),
            ("s1", ANA, "barrier", "stigma", EARLY),
        ),
        codebook,
    )
    submission = dataclasses.replace(
        coded_submission(),
        segment_reviews=result.segment_reviews,
        coder_agreement=result.coder_agreement,
    )
    check = coder_agreement_check(coded_submission=submission)
    assert not check.passed
    assert check.severity == dg.AssetCheckSeverity.WARN
    assert check.description.startswith("stigma: Krippendorff's alpha")
    assert ANA in check.description and "machine" in check.description
    records = check.metadata["agreement"].records
    stigma = next(r.data for r in records if r.data["theme_code"] == "stigma")
    assert (stigma["coder_a"], stigma["coder_b"], stigma["n_segments"]) == (ANA, MACHINE, 3)
    assert stigma["krippendorff_alpha"] < 0.667
    assert check.metadata["segments_reviewed"].value == 3


def test_the_agreement_check_passes_with_nothing_to_compare(segments, codebook) -> None:
    check = coder_agreement_check(coded_submission=coded_submission())
    assert check.passed
    assert "No double-coded segments" in check.description
    assert check.metadata["pairs"].value == 0
