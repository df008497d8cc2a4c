"""Inter-coder agreement: kappa and alpha checked against values worked out by hand.

The hand computations use the 2x2 table of a pair's present/absent decisions on one theme.
Cohen's kappa: (p_o - p_e) / (1 - p_e), where p_e sums, over present and absent, the
product of the two coders' marginal shares. Krippendorff's alpha (nominal, two coders, no
missing values): with n = 2 x units pairable values, n_1 and n_0 the values that are present
and absent, and d the units where the coders disagree (each adds 1 to o_01 and to o_10),
alpha = 1 - (n - 1) * 2d / (2 * n_1 * n_0).
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from assets.code.agreement import (
    AGREEMENT_COLUMNS,
    ALL_THEMES,
    TENTATIVE_ALPHA,
    coder_agreement,
    warnings,
)

STIGMA = "stigma"
RACISM = "racism-experience"


def codings(*rows: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=["segment_id", "theme_code", "coder"])


def segments(count: int) -> list[str]:
    return [f"el-ws1-p{number:03d}" for number in range(1, count + 1)]


def row(agreement: pd.DataFrame, theme: str, coder_a: str = "ana", coder_b: str = "ben"):
    found = agreement[
        (agreement["coder_a"] == coder_a)
        & (agreement["coder_b"] == coder_b)
        & (agreement["theme_code"] == theme)
    ]
    assert len(found) == 1
    return found.iloc[0]


def test_symmetric_two_by_two_table():
    """Ten segments: both present 4, only ana 1, only ben 1, both absent 4.

    p_o = 8/10; both coders mark half present, so p_e = 0.5*0.5 + 0.5*0.5 = 0.5 and
    kappa = (0.8 - 0.5) / 0.5 = 0.6. Alpha: n = 20, n_1 = n_0 = 10, d = 2:
    1 - 19 * 4 / 200 = 0.62. Kappa and alpha differ, as they should on a small sample.
    """
    ids = segments(10)
    frame = codings(
        *[(segment, STIGMA, "ana") for segment in ids[:5]],
        *[(segment, STIGMA, "ben") for segment in [*ids[:4], ids[5]]],
    )
    result = row(coder_agreement(frame, [STIGMA], {"ana": ids, "ben": ids}), STIGMA)
    assert result["n_segments"] == 10
    assert result["cohen_kappa"] == pytest.approx(0.6)
    assert result["krippendorff_alpha"] == pytest.approx(0.62)
    assert result["percent_agreement"] == pytest.approx(80.0)


def test_asymmetric_two_by_two_table():
    """Eight segments: both present 2, only ana 1, both absent 5.

    p_o = 7/8; ana marks 3/8 present, ben 2/8, so p_e = 3/8*2/8 + 5/8*6/8 = 36/64 and
    kappa = (56/64 - 36/64) / (28/64) = 5/7. Alpha: n = 16, n_1 = 5, n_0 = 11, d = 1:
    1 - 15 * 2 / 110 = 8/11.
    """
    ids = segments(8)
    frame = codings(
        *[(segment, STIGMA, "ana") for segment in ids[:3]],
        *[(segment, STIGMA, "ben") for segment in ids[:2]],
    )
    result = row(coder_agreement(frame, [STIGMA], {"ana": ids, "ben": ids}), STIGMA)
    assert result["cohen_kappa"] == pytest.approx(5 / 7)
    assert result["krippendorff_alpha"] == pytest.approx(8 / 11)
    assert result["percent_agreement"] == pytest.approx(87.5)


def test_perfect_agreement_is_one():
    ids = segments(6)
    frame = codings(*[(segment, STIGMA, coder) for segment in ids[:2] for coder in ("ana", "ben")])
    result = row(coder_agreement(frame, [STIGMA], {"ana": ids, "ben": ids}), STIGMA)
    assert result["cohen_kappa"] == pytest.approx(1.0)
    assert result["krippendorff_alpha"] == pytest.approx(1.0)
    assert result["percent_agreement"] == pytest.approx(100.0)


def test_a_theme_neither_coder_used_is_undefined_not_a_crash():
    ids = segments(5)
    frame = codings((ids[0], STIGMA, "ana"), (ids[0], STIGMA, "ben"))
    agreement = coder_agreement(frame, [STIGMA, RACISM], {"ana": ids, "ben": ids})
    result = row(agreement, RACISM)
    assert result["n_segments"] == 5
    assert math.isnan(result["cohen_kappa"])
    assert math.isnan(result["krippendorff_alpha"])
    assert result["percent_agreement"] == pytest.approx(100.0)
    assert warnings(agreement) == []


def test_a_theme_both_coders_gave_everywhere_is_undefined_too():
    ids = segments(3)
    frame = codings(*[(segment, STIGMA, coder) for segment in ids for coder in ("ana", "ben")])
    result = row(coder_agreement(frame, [STIGMA], {"ana": ids, "ben": ids}), STIGMA)
    assert math.isnan(result["cohen_kappa"])
    assert math.isnan(result["krippendorff_alpha"])
    assert result["percent_agreement"] == pytest.approx(100.0)


def test_complete_disagreement_with_one_value_each_is_defined():
    """Ana says present on all 3, Ben absent on all 3: p_o = 0, p_e = 1*0 + 0*1 = 0, kappa 0.

    Alpha: n = 6, n_1 = n_0 = 3, d = 3: 1 - 5 * 6 / 18 = -2/3 (worse than chance).
    """
    ids = segments(3)
    frame = codings(*[(segment, STIGMA, "ana") for segment in ids])
    result = row(coder_agreement(frame, [STIGMA], {"ana": ids, "ben": ids}), STIGMA)
    assert result["cohen_kappa"] == pytest.approx(0.0)
    assert result["krippendorff_alpha"] == pytest.approx(-2 / 3)
    assert result["percent_agreement"] == pytest.approx(0.0)


def test_a_segment_looked_at_without_a_theme_counts_as_absent():
    """Ben looked at four segments and coded nothing: every decision of his is 'absent'.

    Ana: present on one of four. p_o = 3/4, p_e = 1/4*0 + 3/4*1 = 3/4, so kappa = 0.
    Alpha: n = 8, n_1 = 1, n_0 = 7, d = 1: 1 - 7 * 2 / 14 = 0.
    """
    ids = segments(4)
    frame = codings((ids[0], STIGMA, "ana"))
    result = row(coder_agreement(frame, [STIGMA], {"ana": ids, "ben": ids}), STIGMA)
    assert result["n_segments"] == 4
    assert result["cohen_kappa"] == pytest.approx(0.0)
    assert result["krippendorff_alpha"] == pytest.approx(0.0)
    assert result["percent_agreement"] == pytest.approx(75.0)


def test_only_segments_both_coders_looked_at_are_compared():
    ids = segments(9)
    # Ana's codings on segments Ben never saw must not count as disagreements.
    frame = codings(
        *[(segment, STIGMA, "ana") for segment in ids[:3]],
        (ids[3], STIGMA, "ana"),
        (ids[3], STIGMA, "ben"),
    )
    agreement = coder_agreement(frame, [STIGMA], {"ana": ids[:6], "ben": ids[3:]})
    result = row(agreement, STIGMA)
    assert result["n_segments"] == 3
    assert result["percent_agreement"] == pytest.approx(100.0)


def test_no_shared_segments_gives_nan_everywhere():
    ids = segments(4)
    frame = codings((ids[0], STIGMA, "ana"), (ids[3], STIGMA, "ben"))
    agreement = coder_agreement(frame, [STIGMA], {"ana": ids[:2], "ben": ids[2:]})
    for theme in (STIGMA, ALL_THEMES):
        result = row(agreement, theme)
        assert result["n_segments"] == 0
        assert math.isnan(result["cohen_kappa"])
        assert math.isnan(result["krippendorff_alpha"])
        assert math.isnan(result["percent_agreement"])


def test_pooled_row_counts_every_theme_decision():
    """Four segments, two themes. Stigma: ana present on 1-2, ben on 1. Racism: nobody.

    Pooled: 8 decisions, 1 disagreement: 87.5%. Ana marks 2/8 present, ben 1/8, so
    p_e = 2/8*1/8 + 6/8*7/8 = 44/64 and kappa = (56/64 - 44/64) / (20/64) = 0.6.
    Alpha: n = 16, n_1 = 3, n_0 = 13, d = 1: 1 - 15 * 2 / 78 = 8/13.
    """
    ids = segments(4)
    frame = codings((ids[0], STIGMA, "ana"), (ids[1], STIGMA, "ana"), (ids[0], STIGMA, "ben"))
    agreement = coder_agreement(frame, [STIGMA, RACISM], {"ana": ids, "ben": ids})
    pooled = row(agreement, ALL_THEMES)
    assert pooled["n_segments"] == 4
    assert pooled["percent_agreement"] == pytest.approx(87.5)
    assert pooled["cohen_kappa"] == pytest.approx(0.6)
    assert pooled["krippendorff_alpha"] == pytest.approx(8 / 13)
    stigma = row(agreement, STIGMA)
    # Ana 2/4 present, ben 1/4: p_e = 1/8 + 3/8 = 1/2, kappa = (3/4 - 1/2) / (1/2) = 0.5.
    assert stigma["cohen_kappa"] == pytest.approx(0.5)
    # n = 8, n_1 = 3, n_0 = 5, d = 1: 1 - 7 * 2 / 30 = 8/15.
    assert stigma["krippendorff_alpha"] == pytest.approx(8 / 15)


def test_every_pair_of_three_coders_gets_rows_in_a_tidy_frame():
    ids = segments(4)
    frame = codings((ids[0], STIGMA, "rules-v1"), (ids[0], STIGMA, "ana"))
    agreement = coder_agreement(
        frame, [STIGMA, RACISM], {"rules-v1": ids, "ana": ids, "semantic": ids}
    )
    assert tuple(agreement.columns) == AGREEMENT_COLUMNS
    pairs = list(dict.fromkeys(zip(agreement["coder_a"], agreement["coder_b"], strict=True)))
    assert pairs == [("ana", "rules-v1"), ("ana", "semantic"), ("rules-v1", "semantic")]
    assert list(agreement["theme_code"][:3]) == [STIGMA, RACISM, ALL_THEMES]
    assert len(agreement) == 9
    assert str(agreement["n_segments"].dtype) == "int64"
    assert str(agreement["krippendorff_alpha"].dtype) == "float64"


def test_a_single_coder_gives_an_empty_frame_with_the_columns():
    agreement = coder_agreement(codings(), [STIGMA], {"ana": segments(3)})
    assert agreement.empty
    assert tuple(agreement.columns) == AGREEMENT_COLUMNS


def test_warnings_name_themes_below_the_tentative_floor():
    ids = segments(10)
    frame = codings(
        # Stigma: the 0.62 table of the symmetric example, below 0.667.
        *[(segment, STIGMA, "ana") for segment in ids[:5]],
        *[(segment, STIGMA, "ben") for segment in [*ids[:4], ids[5]]],
        # Racism: perfect agreement on two segments, alpha 1.
        *[(segment, RACISM, coder) for segment in ids[:2] for coder in ("ana", "ben")],
    )
    agreement = coder_agreement(frame, [STIGMA, RACISM], {"ana": ids, "ben": ids})
    found = warnings(agreement)
    assert len(found) == 1
    assert found[0].startswith(f"{STIGMA}: Krippendorff's alpha 0.620 between ana and ben")
    assert str(TENTATIVE_ALPHA) in found[0]
    assert warnings(agreement, threshold=0.5) == []


@pytest.mark.parametrize(
    ("frame", "coded", "message"),
    [
        (codings(("s1", STIGMA, "ana")), {"ana": ["s2"], "ben": ["s2"]}, "did not look at"),
        (codings(("s1", STIGMA, "cara")), {"ana": ["s1"], "ben": ["s1"]}, "cara"),
        (codings(("s1", "stigma/cultural", "ana")), {"ana": ["s1"]}, "stigma/cultural"),
        (pd.DataFrame({"segment_id": ["s1"], "coder": ["ana"]}), {"ana": ["s1"]}, "theme_code"),
    ],
)
def test_codings_that_cannot_be_compared_raise(frame, coded, message):
    with pytest.raises(ValueError, match=message):
        coder_agreement(frame, [STIGMA], coded)
