"""The review spreadsheet: what it shows, hostile text kept as text, and decisions read back."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook

from assets.code.coder import CodingResult
from assets.review.spreadsheet import (
    CODEBOOK_SHEET,
    REVIEW_COLUMNS,
    REVIEW_SHEET,
    SEGMENT_COLUMNS,
    ReviewError,
    export_review_xlsx,
    import_review_xlsx,
)
from schemas.codebook import CODEBOOK_DIR, codebook_path, load_codebook
from schemas.tables import SegmentThemes
from tests.hostile_files import xlsx_zip_bomb
from tests.test_review_refi_qda import coded_round

HOSTILE = (
    '=HYPERLINK("https://example.org/steal","Open the minutes")',
    "+1 said the same",
    "-- nobody answered the phone",
    "@everyone was invited",
    "\tindented by the note-taker",
    "\rstarting with a carriage return",
)


@pytest.fixture(scope="module")
def codebook():
    return load_codebook(codebook_path("v1", CODEBOOK_DIR))


@pytest.fixture(scope="module")
def coded() -> CodingResult:
    return coded_round(("east-london",))


def segment_id(coded: CodingResult, key: str) -> str:
    return next(sid for sid in coded.segments["segment_id"] if f"-{key}" in sid)


def machine_themes(coded: CodingResult, key: str) -> set[str]:
    themes = coded.segment_themes
    return set(themes.loc[themes["segment_id"] == segment_id(coded, key), "theme_code"])


def exported(coded: CodingResult, codebook, tmp_path: Path) -> Path:
    path = tmp_path / "review.xlsx"
    export_review_xlsx(coded.segments, coded.segment_themes, codebook, path)
    return path


def sheet_rows(path: Path, sheet: str = REVIEW_SHEET) -> list[dict[str, object]]:
    rows = list(load_workbook(path)[sheet].iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def fill(path: Path, decisions: dict[str, dict[str, str]], extra_rows: list[dict] = ()) -> Path:
    """Write reviewers' decisions into the rows of these segment ids, as Excel would save them."""
    workbook = load_workbook(path)
    sheet = workbook[REVIEW_SHEET]
    header = [cell.value for cell in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        decision = decisions.get(row[0].value, {})
        for name, value in decision.items():
            row[header.index(name)].value = value
    for values in extra_rows:
        sheet.append([values.get(name) for name in header])
    workbook.save(path)
    return path


def import_(path: Path, coded: CodingResult, codebook, **options):
    return import_review_xlsx(path, coded.segments, coded.segment_themes, codebook, **options)


# --- the export ------------------------------------------------------------------------


def test_review_sheet_has_a_row_per_segment_with_the_machines_coding(coded, codebook, tmp_path):
    rows = sheet_rows(exported(coded, codebook, tmp_path))

    assert list(rows[0]) == [*SEGMENT_COLUMNS, *REVIEW_COLUMNS]
    assert [row["segment_id"] for row in rows] == [
        segment_id(coded, key) for key in ("m1", "m2", "m3", "s1", "s2")
    ], "reading order: the minutes paragraph by paragraph, then the survey row by row"
    by_id = {row["segment_id"]: row for row in rows}
    for segment in coded.segments.itertuples(index=False):
        row = by_id[segment.segment_id]
        assert row["text"] == segment.text
        assert row["machine_category"] == segment.category
        assert (row["round"], row["site"], row["locator"]) == (
            segment.round_id,
            segment.site_id,
            segment.locator,
        )
        themes = coded.segment_themes
        expected = themes.loc[themes["segment_id"] == segment.segment_id, "theme_code"]
        assert set(row["machine_themes"].split(", ")) == set(expected)
        assert all(row[name] is None for name in REVIEW_COLUMNS)
    assert by_id[segment_id(coded, "m3")]["stakeholder_group"] == "unknown"


def test_only_the_machines_rows_are_shown_as_its_themes(coded, codebook, tmp_path):
    person = SegmentThemes.validate(
        coded.segment_themes.head(1).assign(theme_code="racism-experience", coder="reviewer-2")
    )
    path = tmp_path / "review.xlsx"
    themes = pd.concat([coded.segment_themes, person], ignore_index=True)
    export_review_xlsx(coded.segments, themes, codebook, path)

    shown = {row["segment_id"]: row["machine_themes"] for row in sheet_rows(path)}
    assert "racism-experience" not in shown[person["segment_id"].iat[0]]


def every_coder(coded: CodingResult, rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    """The rule coder's rows and more coders' (segment key, theme, category, coder), as in
    segment_codings."""
    more = pd.DataFrame(
        [(segment_id(coded, key), *rest, 0.8, "v1") for key, *rest in rows],
        columns=list(SegmentThemes.to_schema().columns),
    )
    return SegmentThemes.validate(pd.concat([coded.segment_themes, more], ignore_index=True))


def test_the_machines_themes_are_the_published_coders_only(coded, codebook, tmp_path):
    """Where the embedding coders ran, segment_themes published the combined coder's rows."""
    codings = every_coder(
        coded,
        [
            ("m1", "racism-experience", "barrier", "combined-v1:minilm"),
            ("m2", "pandemic-impact", "progress", "semantic-v2:minilm"),
            ("m2", "racism-experience", "progress", "[researcher-0a1b2c]"),
        ],
    )
    path = tmp_path / "review.xlsx"
    export_review_xlsx(coded.segments, codings, codebook, path)

    shown = {row["segment_id"]: row["machine_themes"] for row in sheet_rows(path)}
    assert shown[segment_id(coded, "m1")] == "racism-experience"
    assert shown[segment_id(coded, "m2")] is None, "coded by the semantic coder only"
    assert all(shown[segment_id(coded, key)] is None for key in ("m3", "s1", "s2"))


def test_the_baseline_is_the_published_coder_the_export_showed(coded, codebook, tmp_path):
    m1, m2 = segment_id(coded, "m1"), segment_id(coded, "m2")
    codings = every_coder(
        coded,
        [
            ("m1", "racism-experience", "barrier", "combined-v1:minilm"),
            ("m2", "pandemic-impact", "progress", "semantic-v2:minilm"),
        ],
    )
    path = tmp_path / "review.xlsx"
    export_review_xlsx(coded.segments, codings, codebook, path)
    fill(
        path,
        {
            m1: {"accept": "y", "reviewer": "r6"},
            m2: {"accept": "n", "reject_themes": "pandemic-impact", "reviewer": "r6"},
        },
    )

    result = import_review_xlsx(path, coded.segments, codings, codebook)

    assert list(result.codings[["segment_id", "theme_code"]].itertuples(index=False)) == [
        (m1, "racism-experience")
    ]
    assert result.problems == [
        "review.xlsx: sheet 'review', row 3: reject_themes lists pandemic-impact, "
        "which the machine did not give"
    ]


def test_review_columns_offer_drop_down_lists(coded, codebook, tmp_path):
    sheet = load_workbook(exported(coded, codebook, tmp_path))[REVIEW_SHEET]
    header = [cell.value for cell in sheet[1]]
    lists = {
        str(validation.sqref): validation.formula1
        for validation in sheet.data_validations.dataValidation
    }

    def column(name: str) -> str:
        letter = sheet.cell(row=1, column=header.index(name) + 1).column_letter
        return f"{letter}2:{letter}6"

    assert lists[column("accept")] == '"y,n"'
    assert lists[column("category_override")] == '"progress,barrier,solution"'
    assert lists[column("add_themes")].startswith(f"={CODEBOOK_SHEET}!$A$2")


def test_codebook_sheet_lists_every_code_and_the_categories(coded, codebook, tmp_path):
    rows = sheet_rows(exported(coded, codebook, tmp_path), CODEBOOK_SHEET)

    codes = [row["code"] for row in rows]
    expected = [
        code
        for theme in codebook.themes
        for code in (theme.code, *(sub.code for sub in theme.sub_codes))
    ]
    assert codes == [*expected, "progress", "barrier", "solution"]
    stigma = rows[codes.index("stigma")]
    theme = next(theme for theme in codebook.themes if theme.code == "stigma")
    assert stigma["name"] == theme.name
    assert stigma["brief_definition"] == " ".join(theme.brief_definition.split())


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_text_is_written_as_text_never_as_a_formula(coded, codebook, tmp_path, hostile):
    segments = coded.segments.copy()
    segments.loc[0, "text"] = hostile
    segments.loc[0, "locator"] = hostile
    path = tmp_path / "review.xlsx"
    export_review_xlsx(segments, coded.segment_themes, codebook, path)

    sheet = load_workbook(path)[REVIEW_SHEET]
    header = [cell.value for cell in sheet[1]]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == segments.at[0, "segment_id"])
    for name in ("text", "locator"):
        cell = row[header.index(name)]
        assert cell.data_type == "s"
        assert cell.value == hostile
        assert cell.quotePrefix, "Excel must keep it text when the cell is edited, too"


# --- the import ------------------------------------------------------------------------


def test_accepted_rows_give_the_machines_themes_as_the_reviewers(coded, codebook, tmp_path):
    m1, s1 = segment_id(coded, "m1"), segment_id(coded, "s1")
    path = fill(
        exported(coded, codebook, tmp_path),
        {m1: {"accept": "y", "reviewer": "Reviewer A"}, s1: {"accept": "Y", "reviewer": "B"}},
    )

    result = import_(path, coded, codebook, coder_name=lambda name: f"[reviewer-{len(name)}]")

    assert result.problems == []
    assert set(result.codings[["segment_id", "theme_code", "coder"]].itertuples(index=False)) == {
        (m1, theme, "[reviewer-10]") for theme in machine_themes(coded, "m1")
    } | {(s1, theme, "[reviewer-1]") for theme in machine_themes(coded, "s1")}
    categories = dict(zip(coded.segments["segment_id"], coded.segments["category"], strict=True))
    assert list(result.codings["category"]) == [categories[s] for s in result.codings["segment_id"]]
    SegmentThemes.validate(result.codings)


def test_rejections_additions_and_a_category_override_apply(coded, codebook, tmp_path):
    m1, m2 = segment_id(coded, "m1"), segment_id(coded, "m2")
    (m1_theme,) = machine_themes(coded, "m1")
    path = fill(
        exported(coded, codebook, tmp_path),
        {
            m1: {
                "accept": "n",
                "reject_themes": m1_theme,
                "add_themes": "racism-experience; Professional-Blindness/institutional-racism",
                "category_override": "Solution",
                "reviewer": "r1",
            },
            m2: {"add_themes": "coproduction-impact", "reviewer": "r1"},
        },
    )

    result = import_(path, coded, codebook)

    assert result.problems == []
    got = set(result.codings[["segment_id", "theme_code", "category"]].itertuples(index=False))
    assert got == {
        (m1, "racism-experience", "solution"),
        (m1, "professional-blindness", "solution"),  # a sub-code counts as its theme
        *(
            (m2, theme, "progress")
            for theme in machine_themes(coded, "m2") | {"coproduction-impact"}
        ),
    }


def test_a_reviewed_segment_left_without_themes_is_still_listed_as_reviewed(
    coded, codebook, tmp_path
):
    m1 = segment_id(coded, "m1")
    path = fill(
        exported(coded, codebook, tmp_path),
        {
            m1: {
                "accept": "n",
                "reject_themes": ", ".join(machine_themes(coded, "m1")),
                "reviewer": "r2",
            }
        },
    )

    result = import_(path, coded, codebook)

    assert result.codings.empty
    assert result.reviewed.to_dict("records") == [
        {"segment_id": m1, "coder": "r2", "category": "barrier"}
    ]


def test_every_reviewed_segment_carries_the_reviewers_category(coded, codebook, tmp_path):
    """A category override on a segment left without a theme has no coding to carry it."""
    m1, m2 = segment_id(coded, "m1"), segment_id(coded, "m2")
    path = fill(
        exported(coded, codebook, tmp_path),
        {
            m1: {
                "accept": "n",
                "reject_themes": ", ".join(machine_themes(coded, "m1")),
                "category_override": "solution",
                "reviewer": "r2",
            },
            m2: {"accept": "y", "reviewer": "r2"},
        },
    )

    result = import_(path, coded, codebook)

    assert result.reviewed.to_dict("records") == [
        {"segment_id": m1, "coder": "r2", "category": "solution"},
        {"segment_id": m2, "coder": "r2", "category": "progress"},
    ]
    assert set(result.codings["segment_id"]) == {m2}


def test_unreviewed_rows_are_skipped(coded, codebook, tmp_path):
    path = fill(exported(coded, codebook, tmp_path), {segment_id(coded, "m2"): {"reviewer": "r3"}})

    result = import_(path, coded, codebook)

    assert (result.codings.empty, result.reviewed.empty, result.problems) == (True, True, [])


def test_the_baseline_is_the_machines_coding_not_the_sheets_copy_of_it(coded, codebook, tmp_path):
    m1 = segment_id(coded, "m1")
    path = fill(
        exported(coded, codebook, tmp_path),
        {m1: {"machine_themes": "human-rights-cohesion", "accept": "y", "reviewer": "r4"}},
    )

    result = import_(path, coded, codebook)

    assert set(result.codings["theme_code"]) == machine_themes(coded, "m1")


def test_bad_rows_are_reported_with_sheet_row_and_reason_and_good_rows_still_import(
    coded, codebook, tmp_path
):
    m1, m2, m3, s1, s2 = (segment_id(coded, key) for key in ("m1", "m2", "m3", "s1", "s2"))
    (m2_theme,) = machine_themes(coded, "m2")
    path = fill(
        exported(coded, codebook, tmp_path),
        {
            m1: {"accept": "y", "reviewer": "r5"},  # good: row 2
            m2: {"accept": "n", "add_themes": "stgima", "reviewer": "r5"},  # row 3
            m3: {"accept": "n", "category_override": "urgent", "reviewer": "r5"},  # row 4
            s1: {"accept": "y", "reject_themes": m2_theme, "reviewer": "r5"},  # row 5
            s2: {"accept": "n", "reviewer": "r5"},  # row 6
        },
        extra_rows=[
            {"segment_id": "east-london-m9-zzzzzz", "accept": "y", "reviewer": "r5"},  # row 7
            {"segment_id": m1, "accept": "maybe"},  # row 8
            {"segment_id": m1, "accept": "y", "reviewer": "r5"},  # row 9
        ],
    )

    result = import_(path, coded, codebook)

    assert set(result.codings["segment_id"]) == {m1}
    where = f"review.xlsx: sheet '{REVIEW_SHEET}', row"
    assert result.problems == [
        f"{where} 3: unknown theme code 'stgima' in add_themes",
        f"{where} 4: category_override must be one of progress, barrier, solution",
        f"{where} 5: accept is y, yet reject_themes is filled: write n to reject themes",
        f"{where} 5: reject_themes lists {m2_theme}, which the machine did not give",
        f"{where} 6: accept is n, but no reject_themes, add_themes or category_override",
        f"{where} 7: unknown segment id 'east-london-m9-zzzzzz'",
        f"{where} 8: accept must be y or n",
        f"{where} 8: no reviewer: whose coding is it?",
        f"{where} 9: segment {m1} was already reviewed by this reviewer in row 2",
    ]


def test_problems_never_quote_the_reviewer_or_the_text(coded, codebook, tmp_path):
    """The reviewer column may hold a real name until the lead pseudonymises it."""
    path = fill(
        exported(coded, codebook, tmp_path),
        {segment_id(coded, "m2"): {"accept": "n", "add_themes": "x", "reviewer": "Nkechi Adeyemi"}},
    )

    problems = " ".join(import_(path, coded, codebook).problems)

    assert problems
    assert "Nkechi" not in problems and "peer support" not in problems


def test_a_workbook_that_is_a_zip_bomb_is_refused_before_it_is_opened(coded, codebook, tmp_path):
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(xlsx_zip_bomb())

    with pytest.raises(ReviewError, match=r"bomb\.xlsx: the workbook: .*ZIP bomb"):
        import_(path, coded, codebook)


def test_a_workbook_without_the_review_sheet_is_refused(coded, codebook, tmp_path):
    path = tmp_path / "other.xlsx"
    Workbook().save(path)

    with pytest.raises(ReviewError, match=r"other\.xlsx: no sheet named 'review'"):
        import_(path, coded, codebook)


def test_a_review_sheet_missing_its_columns_is_refused(coded, codebook, tmp_path):
    path = tmp_path / "cut.xlsx"
    workbook = Workbook()
    workbook.active.title = REVIEW_SHEET
    workbook.active.append(["segment_id", "accept"])
    workbook.save(path)

    with pytest.raises(ReviewError, match=r"row 1: missing column\(s\) reject_themes, add_themes"):
        import_(path, coded, codebook)


def test_a_file_that_is_not_a_workbook_is_refused(coded, codebook, tmp_path):
    path = tmp_path / "review.xlsx"
    path.write_text("segment_id,accept\n", encoding="utf-8")

    with pytest.raises(ReviewError, match=r"review\.xlsx: not a readable \.xlsx workbook"):
        import_(path, coded, codebook)


def test_raw_segments_with_speaker_names_are_refused(coded, codebook, tmp_path):
    raw = coded.segments.assign(speaker_name="Tomasz Wiśniewski")

    with pytest.raises(ValueError, match="raw segments"):
        export_review_xlsx(raw, coded.segment_themes, codebook, tmp_path / "x.xlsx")
    assert not (tmp_path / "x.xlsx").exists()
