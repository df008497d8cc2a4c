"""The framework-method matrix (Gale et al. 2013): cases as rows, themes as columns.

Rows are round x site x stakeholder group, columns the themes in the contract's order,
and each cell holds the anonymised segments coded there, in reading order, each tagged with
its category ("[barrier] ..."), so researchers can summarise a cell from its quotes. Pass
the segment_themes rows of the coders wanted (the machine's, a reviewer's, or both): a
segment appears once per cell, with every category its rows give.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from openpyxl import Workbook

from assets.review import (
    group_of,
    group_order,
    reading_order,
    require_anonymised,
    theme_codes_in_order,
    write_row,
)
from schemas.codebook import Codebook
from schemas.contract import CATEGORIES

MATRIX_SHEET = "framework"
CASE_COLUMNS = ("round", "site", "stakeholder_group")
BETWEEN_SEGMENTS = "\n\n"


def export_framework_matrix(
    segments: pd.DataFrame, segment_themes: pd.DataFrame, codebook: Codebook, path: Path
) -> None:
    """Write the matrix as an .xlsx; a cell over Excel's limit is cut, with a note saying so.

    Every round x site x stakeholder group with segments gets a row, coded or not: an empty
    cell is a finding too.
    """
    require_anonymised(segments)
    themes = theme_codes_in_order(codebook)
    unknown = sorted(set(segment_themes["theme_code"]) - set(themes))
    if unknown:
        raise ValueError(f"theme codes not in codebook {codebook.version}: {', '.join(unknown)}")
    categories = (
        segment_themes.groupby(["segment_id", "theme_code"])["category"]
        .agg(lambda found: ", ".join(code for code in CATEGORIES if code in set(found)))
        .to_dict()
    )
    cells: dict[tuple[str, str, str], dict[str, list[str]]] = {}
    for row in reading_order(segments).itertuples(index=False):
        case = cells.setdefault((row.round_id, row.site_id, group_of(row.stakeholder_group)), {})
        for theme in themes:
            tag = categories.get((row.segment_id, theme))
            if tag:
                case.setdefault(theme, []).append(f"[{tag}] {row.text}")

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = MATRIX_SHEET
    write_row(sheet, 1, (*CASE_COLUMNS, *themes), header=True)
    keys = sorted(cells, key=lambda key: (key[0], key[1], group_order(key[2]), key[2]))
    for number, key in enumerate(keys, start=2):
        quotes = [BETWEEN_SEGMENTS.join(cells[key].get(theme, [])) for theme in themes]
        write_row(sheet, number, (*key, *quotes))
    for column in range(len(CASE_COLUMNS) + 1, len(CASE_COLUMNS) + len(themes) + 1):
        sheet.column_dimensions[sheet.cell(row=1, column=column).column_letter].width = 60
    sheet.freeze_panes = sheet.cell(row=2, column=len(CASE_COLUMNS) + 1)
    workbook.save(path)
