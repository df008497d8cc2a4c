"""Small-number suppression shared by every published count of people.

A count below the threshold is never published: it becomes null with `suppressed` true.
Where a group of cells adds up to a published total, a single suppressed cell could be
worked out by subtraction, so the next smallest cell of that group is suppressed too
(secondary suppression).
"""

from __future__ import annotations

import pandas as pd


def suppress(
    table: pd.DataFrame, count: str, threshold: int, groups: list[str], hide: list[str]
) -> pd.DataFrame:
    """Mark cells with `count` below `threshold` suppressed and null the columns in `hide`.

    `groups` names the columns whose rows add up to a published total; within each such
    group a lone suppressed cell takes the smallest other cell with it.
    """
    table = table.copy()
    table["suppressed"] = table[count] < threshold
    if groups and not table.empty:
        for _, group in table.groupby(groups, dropna=False, sort=False):
            if int(group["suppressed"].sum()) == 1:
                shown = group.loc[~group["suppressed"], count]
                if not shown.empty:
                    table.loc[shown.sort_values(kind="stable").index[0], "suppressed"] = True
    for column in hide:
        table[column] = table[column].astype("object").where(~table["suppressed"], None)
    return table
