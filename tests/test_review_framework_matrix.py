"""The framework matrix: cases by themes, quotes tagged with their category, Excel's cell limit."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from assets.review import CUT_NOTE, EXCEL_CELL_LIMIT
from assets.review.framework_matrix import CASE_COLUMNS, MATRIX_SHEET, export_framework_matrix
from schemas.codebook import CODEBOOK_DIR, CONTRACT_THEME_CODES, codebook_path, load_codebook
from schemas.tables import SegmentThemes
from tests.conftest import coded_submission

ROUND = "2024-impact"
TEXT_KEYS = ("m1", "m2", "m3", "s1", "s2")


@pytest.fixture(scope="module")
def codebook():
    return load_codebook(codebook_path("v1", CODEBOOK_DIR))


def segments(*sites: str) -> pd.DataFrame:
    """The conftest submission's coded segments for some sites (made-up, anonymised)."""
    return pd.concat([coded_submission(ROUND, site).segments for site in sites], ignore_index=True)


def themes(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    """SegmentThemes rows from (segment_id, theme_code, category, coder)."""
    frame = pd.DataFrame(rows, columns=["segment_id", "theme_code", "category", "coder"])
    return SegmentThemes.validate(frame.assign(confidence=1.0, codebook_version="v1"))


def matrix(path: Path) -> dict[tuple[str, str, str], dict[str, str | None]]:
    """The matrix read back: per (round, site, stakeholder group), the cell of each theme."""
    rows = list(load_workbook(path)[MATRIX_SHEET].iter_rows(values_only=True))
    header = rows[0]
    assert header[: len(CASE_COLUMNS)] == CASE_COLUMNS
    return {
        tuple(row[: len(CASE_COLUMNS)]): dict(
            zip(header[len(CASE_COLUMNS) :], row[len(CASE_COLUMNS) :], strict=True)
        )
        for row in rows[1:]
    }


def export(frame: pd.DataFrame, coded: pd.DataFrame, codebook, tmp_path: Path) -> Path:
    path = tmp_path / "matrix.xlsx"
    export_framework_matrix(frame, coded, codebook, path)
    return path


def test_rows_are_site_by_stakeholder_group_and_columns_the_themes_in_contract_order(
    codebook, tmp_path
):
    path = export(segments("sheffield", "east-london"), themes([]), codebook, tmp_path)

    header = next(load_workbook(path)[MATRIX_SHEET].iter_rows(values_only=True))
    assert header == (*CASE_COLUMNS, *CONTRACT_THEME_CODES)
    # Sites in order, groups in the contract's order (staff, service_user, carer), unknown last.
    groups = ["staff", "service_user", "carer", "unknown"]
    assert list(matrix(path)) == [
        (ROUND, site, group) for site in ("east-london", "sheffield") for group in groups
    ]


def test_cells_hold_the_segments_coded_there_tagged_with_their_category(codebook, tmp_path):
    frame = segments("east-london")
    ids = {key: next(s for s in frame["segment_id"] if f"-{key}" in s) for key in TEXT_KEYS}
    text = dict(zip(frame["segment_id"], frame["text"], strict=True))
    coded = themes(
        [
            (ids["m1"], "stigma", "barrier", "rules-v1"),
            (ids["s2"], "stigma", "solution", "rules-v1"),
            (ids["m1"], "pandemic-impact", "barrier", "rules-v1"),
            (ids["m2"], "education-mediation-digital", "progress", "rules-v1"),
        ]
    )

    cells = matrix(export(frame, coded, codebook, tmp_path))

    carers = cells[(ROUND, "east-london", "carer")]
    # m1 (minutes) comes before s2 (survey) in reading order, a blank line between them.
    assert carers["stigma"] == f"[barrier] {text[ids['m1']]}\n\n[solution] {text[ids['s2']]}"
    assert carers["pandemic-impact"] == f"[barrier] {text[ids['m1']]}"
    assert carers["racism-experience"] is None
    staff = cells[(ROUND, "east-london", "staff")]
    assert staff["education-mediation-digital"] == f"[progress] {text[ids['m2']]}"
    assert all(cell is None for cell in cells[(ROUND, "east-london", "service_user")].values())


def test_a_segment_coded_twice_appears_once_with_every_category_given(codebook, tmp_path):
    frame = segments("east-london")
    m1 = next(s for s in frame["segment_id"] if "-m1" in s)
    coded = themes(
        [(m1, "stigma", "barrier", "rules-v1"), (m1, "stigma", "progress", "reviewer-2")]
    )

    cell = matrix(export(frame, coded, codebook, tmp_path))[(ROUND, "east-london", "carer")]

    text = frame.set_index("segment_id").at[m1, "text"]
    assert cell["stigma"] == f"[progress, barrier] {text}"


def test_a_cell_over_excels_limit_is_cut_with_a_note(codebook, tmp_path):
    """Excel counts UTF-16 units: 20,000 emoji are 40,000 of them, over the 32,767 limit."""
    frame = segments("east-london")
    m1 = next(s for s in frame["segment_id"] if "-m1" in s)
    frame.loc[frame["segment_id"] == m1, "text"] = "Families said 😔" + "😔" * 20_000
    coded = themes([(m1, "stigma", "barrier", "rules-v1")])

    cell = matrix(export(frame, coded, codebook, tmp_path))[(ROUND, "east-london", "carer")]

    value = cell["stigma"]
    assert value.startswith("[barrier] Families said 😔")
    assert value.endswith(CUT_NOTE)
    # At the limit, or one unit short where an emoji's two units would straddle it.
    assert EXCEL_CELL_LIMIT - 1 <= len(value.encode("utf-16-le")) // 2 <= EXCEL_CELL_LIMIT


def test_hostile_segment_text_stays_text(codebook, tmp_path):
    frame = segments("east-london")
    m1 = next(s for s in frame["segment_id"] if "-m1" in s)
    hostile = '=HYPERLINK("https://example.org/x","see minutes")'
    frame.loc[frame["segment_id"] == m1, "text"] = hostile
    path = export(frame, themes([(m1, "stigma", "barrier", "rules-v1")]), codebook, tmp_path)

    sheet = load_workbook(path)[MATRIX_SHEET]
    cells = [cell for row in sheet.iter_rows(min_row=2) for cell in row if cell.value]
    quoted = [cell for cell in cells if hostile in str(cell.value)]
    assert [(cell.data_type, cell.value) for cell in quoted] == [("s", f"[barrier] {hostile}")]


def test_a_theme_outside_the_codebook_is_refused(codebook, tmp_path):
    frame = segments("east-london")
    coded = themes([(frame["segment_id"].iat[0], "made-up-theme", "barrier", "rules-v1")])

    with pytest.raises(ValueError, match="not in codebook v1: made-up-theme"):
        export(frame, coded, codebook, tmp_path)


def test_raw_segments_with_speaker_names_are_refused(codebook, tmp_path):
    raw = segments("east-london").assign(speaker_name="Farhana Choudhury")

    with pytest.raises(ValueError, match="raw segments"):
        export(raw, themes([]), codebook, tmp_path)
    assert not (tmp_path / "matrix.xlsx").exists()
