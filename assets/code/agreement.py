"""Agreement between coders who coded the same segments, per theme, as present or absent.

Qualitative reports give inter-coder agreement per code: Cohen's kappa (0.61-0.80
substantial, above 0.80 almost perfect) or Krippendorff's alpha (0.800 reliable, 0.667 the
floor for tentative conclusions). Coders are people or coding methods (`rules-v1`, a
semantic coder); only segments both coders of a pair looked at are compared, and a segment
a coder looked at without giving it a theme counts as that theme absent.

Undefined values. When both coders made the same decision on every shared segment for a
theme (typically: neither ever used it), kappa and alpha have a zero denominator: chance
agreement is already perfect, so agreement beyond chance cannot be measured. They are then
NaN (NULL in the warehouse), percent agreement is 100, and `warnings` does not flag them.
With no shared segments, all three are NaN. Nothing here raises on such data.

Besides one row per theme, each pair gets a row with theme_code `all`, pooling every
(segment, theme) decision: its percent agreement is the overall agreement of the pair, and
its kappa and alpha treat each decision as one unit.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping

import krippendorff
import numpy as np
import pandas as pd
from sklearn.metrics import cohen_kappa_score

# The theme_code of the row that pools a pair's decisions on every theme.
ALL_THEMES = "all"

# Krippendorff's thresholds: below TENTATIVE_ALPHA a code should not support conclusions.
TENTATIVE_ALPHA = 0.667
RELIABLE_ALPHA = 0.800

AGREEMENT_COLUMNS = (
    "coder_a",
    "coder_b",
    "theme_code",
    "n_segments",
    "cohen_kappa",
    "krippendorff_alpha",
    "percent_agreement",
)


def coder_agreement(
    codings: pd.DataFrame,
    theme_codes: Iterable[str],
    coded_segments: Mapping[str, Iterable[str]],
) -> pd.DataFrame:
    """Kappa, alpha and percent agreement for each pair of coders and each theme.

    `codings` has one row per theme a coder gave a segment (columns segment_id, theme_code,
    coder). `theme_codes` are the themes to compare. `coded_segments` gives, per coder, every
    segment that coder looked at, with or without a theme. Returns AGREEMENT_COLUMNS, one
    row per pair (coder names in sorted order, coder_a < coder_b) and theme, in the order of
    `theme_codes`, then the pooled `all` row; percent_agreement is 0-100.
    """
    themes = list(dict.fromkeys(theme_codes))
    looked_at = {coder: frozenset(segments) for coder, segments in coded_segments.items()}
    present = _presence(codings, themes, looked_at)

    rows: list[dict[str, object]] = []
    for coder_a, coder_b in itertools.combinations(sorted(looked_at), 2):
        shared = sorted(looked_at[coder_a] & looked_at[coder_b])
        pooled_a: list[np.ndarray] = []
        pooled_b: list[np.ndarray] = []
        for theme in themes:
            decisions_a = _decisions(shared, present.get((coder_a, theme), frozenset()))
            decisions_b = _decisions(shared, present.get((coder_b, theme), frozenset()))
            pooled_a.append(decisions_a)
            pooled_b.append(decisions_b)
            rows.append(_row(coder_a, coder_b, theme, len(shared), decisions_a, decisions_b))
        rows.append(
            _row(
                coder_a,
                coder_b,
                ALL_THEMES,
                len(shared),
                np.concatenate(pooled_a) if pooled_a else np.array([], dtype=int),
                np.concatenate(pooled_b) if pooled_b else np.array([], dtype=int),
            )
        )
    frame = pd.DataFrame(rows, columns=list(AGREEMENT_COLUMNS))
    frame["n_segments"] = frame["n_segments"].astype("int64")
    for column in ("cohen_kappa", "krippendorff_alpha", "percent_agreement"):
        frame[column] = frame[column].astype("float64")
    return frame


def warnings(agreement: pd.DataFrame, threshold: float = TENTATIVE_ALPHA) -> list[str]:
    """One line per pair and theme whose alpha is below the threshold (undefined ones are not).

    The pooled `all` rows are left out: a weak theme must be named, not averaged away.
    """
    low = agreement[
        (agreement["theme_code"] != ALL_THEMES) & (agreement["krippendorff_alpha"] < threshold)
    ]
    return [
        f"{row.theme_code}: Krippendorff's alpha {row.krippendorff_alpha:.3f} between "
        f"{row.coder_a} and {row.coder_b} on {row.n_segments} segments is below {threshold:.3f}"
        for row in low.itertuples(index=False)
    ]


def _presence(
    codings: pd.DataFrame, themes: list[str], looked_at: Mapping[str, frozenset[str]]
) -> dict[tuple[str, str], frozenset[str]]:
    """Per (coder, theme), the segments where the theme is present; checks the codings first.

    A coding of a segment the coder did not look at, by a coder with no segments, or with a
    theme outside `themes` is an error in how the codings were gathered: raise ValueError.
    """
    missing = [column for column in ("segment_id", "theme_code", "coder") if column not in codings]
    if missing:
        raise ValueError("codings lack column(s): " + ", ".join(missing))
    unknown_coders = sorted(set(codings["coder"]) - set(looked_at))
    if unknown_coders:
        raise ValueError(
            "codings by coder(s) with no coded segments given: " + ", ".join(unknown_coders)
        )
    unknown_themes = sorted(set(codings["theme_code"]) - set(themes))
    if unknown_themes:
        raise ValueError("codings use theme code(s) not compared: " + ", ".join(unknown_themes))
    outside = [
        f"{coder}/{segment_id}"
        for segment_id, coder in zip(codings["segment_id"], codings["coder"], strict=True)
        if segment_id not in looked_at[coder]
    ]
    if outside:
        raise ValueError(
            f"{len(outside)} coding(s) of segments their coder did not look at: "
            + ", ".join(sorted(set(outside))[:5])
        )
    grouped = codings.groupby(["coder", "theme_code"])["segment_id"]
    return {key: frozenset(segments) for key, segments in grouped}


def _decisions(shared: list[str], present: frozenset[str]) -> np.ndarray:
    return np.array([segment in present for segment in shared], dtype=int)


def _row(
    coder_a: str,
    coder_b: str,
    theme: str,
    n_segments: int,
    decisions_a: np.ndarray,
    decisions_b: np.ndarray,
) -> dict[str, object]:
    kappa = alpha = percent = np.nan
    if decisions_a.size:
        percent = 100.0 * float(np.mean(decisions_a == decisions_b))
        # One value across both coders: chance agreement is 1, so both measures are 0/0.
        if np.unique(np.concatenate([decisions_a, decisions_b])).size > 1:
            kappa = float(cohen_kappa_score(decisions_a, decisions_b, labels=[0, 1]))
            alpha = float(
                krippendorff.alpha(
                    reliability_data=np.vstack([decisions_a, decisions_b]),
                    level_of_measurement="nominal",
                )
            )
    return {
        "coder_a": coder_a,
        "coder_b": coder_b,
        "theme_code": theme,
        "n_segments": n_segments,
        "cohen_kappa": kappa,
        "krippendorff_alpha": alpha,
        "percent_agreement": percent,
    }
