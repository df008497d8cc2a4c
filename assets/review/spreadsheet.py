"""The review spreadsheet: each segment with the machine's coding, and columns to judge it.

For reviewers without a QDA tool. They read a segment and its machine themes and category,
then write `accept` (y/n), themes to reject or add, a category override and their name.
The machine's coding shown is the published machine coder's (`assets.review.codings`), and
the import judges the reviewer against those same rows: their themes are the machine's,
minus `reject_themes`, plus `add_themes`; the category is the override, else the segment's.
A row with none of these filled was not reviewed. A row that cannot be read is reported
with its sheet, row and reason, and the other rows still import.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from pathlib import Path

import pandas as pd
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from assets.ingest.archives import ArchiveError, check_archive
from assets.review import (
    MACHINE_CODERS,
    group_of,
    human_codings,
    reading_order,
    require_anonymised,
    theme_codes_in_order,
    top_level_codes,
    write_row,
)
from assets.review.codings import ReviewImport, published_machine_rows, reviewed_table
from schemas.codebook import Codebook
from schemas.contract import CATEGORIES

REVIEW_SHEET = "review"
CODEBOOK_SHEET = "codebook"
SEGMENT_COLUMNS = (
    "segment_id",
    "round",
    "site",
    "stakeholder_group",
    "source_file",
    "locator",
    "text",
    "machine_themes",
    "machine_category",
)
REVIEW_COLUMNS = ("accept", "reject_themes", "add_themes", "category_override", "reviewer")
YES = ("y", "yes")
NO = ("n", "no")

_CODE_LIST = re.compile(r"[,;\s]+")
_WIDTHS = {"text": 80, "machine_themes": 30, "reject_themes": 30, "add_themes": 30}


class ReviewError(ValueError):
    """A review workbook that cannot be read at all: names the file and the reason."""


def export_review_xlsx(
    segments: pd.DataFrame,
    segment_themes: pd.DataFrame,
    codebook: Codebook,
    path: Path,
    *,
    machine_coders: Collection[str] = MACHINE_CODERS,
) -> None:
    """Write the review workbook: a `review` sheet, one row per segment, and the codebook.

    `segments` follows CodedSegments (anonymised, with the machine's category);
    `segment_themes` holds the round's codings (segment_codings: every coder's rows), of
    which the published machine coder's are shown as the machine's themes.
    """
    require_anonymised(segments)
    order = theme_codes_in_order(codebook)
    machine = published_machine_rows(segment_themes, segments, machine_coders)
    themes_of = machine.groupby("segment_id")["theme_code"].agg(
        lambda codes: ", ".join(sorted(set(codes), key=order.index))
    )
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = REVIEW_SHEET
    columns = (*SEGMENT_COLUMNS, *REVIEW_COLUMNS)
    _header(sheet, columns)
    for number, row in enumerate(reading_order(segments).itertuples(index=False), start=2):
        values = (
            row.segment_id,
            row.round_id,
            row.site_id,
            group_of(row.stakeholder_group),
            row.source_file,
            row.locator,
            row.text,
            themes_of.get(row.segment_id, ""),
            row.category,
        )
        write_row(sheet, number, map(str, values))

    last_row = max(sheet.max_row, 2)
    n_codes = _codebook_sheet(workbook.create_sheet(CODEBOOK_SHEET), codebook)
    validations = {
        "accept": DataValidation(type="list", formula1='"y,n"', allow_blank=True),
        "category_override": DataValidation(
            type="list", formula1=f'"{",".join(CATEGORIES)}"', allow_blank=True
        ),
    }
    # Theme lists may hold several codes: the drop-down offers one, typing more is allowed.
    theme_choices = f"={CODEBOOK_SHEET}!$A$2:$A${n_codes + 1}"
    for name in ("reject_themes", "add_themes"):
        validations[name] = DataValidation(
            type="list", formula1=theme_choices, allow_blank=True, showErrorMessage=False
        )
    for name, validation in validations.items():
        letter = sheet.cell(row=1, column=columns.index(name) + 1).column_letter
        validation.add(f"{letter}2:{letter}{last_row}")
        sheet.add_data_validation(validation)
    sheet.freeze_panes = "B2"
    workbook.save(path)


def import_review_xlsx(
    path: Path,
    segments: pd.DataFrame,
    segment_themes: pd.DataFrame,
    codebook: Codebook,
    *,
    coder_name: Callable[[str], str] = lambda name: name,
    machine_coders: Collection[str] = MACHINE_CODERS,
) -> ReviewImport:
    """Read a filled-in review workbook back as the reviewers' codings.

    The baseline is the published machine coder's rows in `segment_themes`, as the export
    showed them, not the sheet's own machine_themes column (which a reviewer may have
    edited). `coder_name` turns the reviewer column into the coder (the caller pseudonymises
    it there). Each reviewed segment is in `reviewed` with the reviewer's category.
    """
    path = Path(path)
    machine_category = dict(zip(segments["segment_id"], segments["category"], strict=True))
    machine = published_machine_rows(segment_themes, segments, machine_coders)
    machine_themes = machine.groupby("segment_id")["theme_code"].agg(set).to_dict()
    codes = top_level_codes(codebook)
    rows: list[dict[str, str]] = []
    reviewed: dict[tuple[str, str], int] = {}
    categories: dict[tuple[str, str], str] = {}
    problems: list[str] = []
    for number, cells in _review_rows(path):
        accept, reviewer = cells["accept"].casefold(), cells["reviewer"]
        override = cells["category_override"].casefold()
        reject, reasons = _theme_list(cells["reject_themes"], "reject_themes", codes)
        add, add_reasons = _theme_list(cells["add_themes"], "add_themes", codes)
        reasons += add_reasons
        changes = any(cells[name] for name in ("reject_themes", "add_themes", "category_override"))
        if not accept and not changes:
            continue
        segment_id = cells["segment_id"]
        if segment_id not in machine_category:
            reasons.append(f"unknown segment id {segment_id!r}")
        if accept not in ("", *YES, *NO):
            reasons.append("accept must be y or n")
        if accept in YES and reject:
            reasons.append("accept is y, yet reject_themes is filled: write n to reject themes")
        if accept in NO and not changes:
            reasons.append("accept is n, but no reject_themes, add_themes or category_override")
        baseline = machine_themes.get(segment_id, set())
        reasons += [
            f"reject_themes lists {code}, which the machine did not give"
            for code in sorted(reject - baseline)
        ]
        if override and override not in CATEGORIES:
            reasons.append(f"category_override must be one of {', '.join(CATEGORIES)}")
        if not reviewer:
            reasons.append("no reviewer: whose coding is it?")
        coder = coder_name(reviewer) if reviewer else ""
        if not reasons and (segment_id, coder) in reviewed:
            earlier = reviewed[(segment_id, coder)]
            reasons.append(
                f"segment {segment_id} was already reviewed by this reviewer in row {earlier}"
            )
        if reasons:
            problems += [f"{path.name}: sheet {REVIEW_SHEET!r}, row {number}: {r}" for r in reasons]
            continue
        reviewed[(segment_id, coder)] = number
        category = override or machine_category[segment_id]
        categories[(segment_id, coder)] = category
        rows += [
            {"segment_id": segment_id, "theme_code": theme, "category": category, "coder": coder}
            for theme in (baseline - reject) | add
        ]
    return ReviewImport(
        codings=human_codings(rows, codebook),
        reviewed=reviewed_table((*pair, category) for pair, category in categories.items()),
        problems=problems,
    )


def _header(sheet: Worksheet, columns: tuple[str, ...]) -> None:
    write_row(sheet, 1, columns, header=True)
    for cell in sheet[1]:
        sheet.column_dimensions[cell.column_letter].width = _WIDTHS.get(str(cell.value), 16)


def _codebook_sheet(sheet: Worksheet, codebook: Codebook) -> int:
    """List every code a reviewer may write, then the categories; return how many codes."""
    _header(sheet, ("code", "name", "brief_definition"))
    sheet.column_dimensions["C"].width = 100
    themes = {theme.code: theme for theme in codebook.themes}
    entries = []
    for code in theme_codes_in_order(codebook):
        theme = themes[code]
        entries.append((theme.code, theme.name, theme.brief_definition))
        entries += [(sub.code, sub.name, sub.brief_definition) for sub in theme.sub_codes]
    definitions = {cues.code: cues.definition for cues in codebook.categories.cues}
    categories = [(code, f"category: {code}", definitions[code]) for code in CATEGORIES]
    for number, entry in enumerate((*entries, *categories), start=2):
        write_row(sheet, number, (" ".join(value.split()) for value in entry))
    return len(entries)


def _theme_list(value: str, column: str, codes: dict[str, str]) -> tuple[set[str], list[str]]:
    """The top-level themes a comma list names, and a reason for each code it does not know."""
    written = [code for code in _CODE_LIST.split(value.casefold()) if code]
    unknown = [f"unknown theme code {code!r} in {column}" for code in written if code not in codes]
    return {codes[code] for code in written if code in codes}, unknown


def _review_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """The review sheet's rows as text by column name, with their Excel row numbers.

    The workbook is opened only once its declared sizes show it is no ZIP bomb (the limits
    ingest applies to a site's Excel files).
    """
    try:
        check_archive(path.read_bytes(), "the workbook")
    except ArchiveError as error:
        raise ReviewError(f"{path}: {error}") from None
    except OSError as error:
        raise ReviewError(f"{path}: cannot be read ({error.strerror})") from None
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types for a file that is not a workbook
        raise ReviewError(
            f"{path}: not a readable .xlsx workbook ({type(error).__name__})"
        ) from None
    try:
        if REVIEW_SHEET not in workbook.sheetnames:
            raise ReviewError(f"{path}: no sheet named {REVIEW_SHEET!r}")
        rows = workbook[REVIEW_SHEET].iter_rows(values_only=True)
        header = [_text(value) for value in next(rows, ())]
        missing = [name for name in ("segment_id", *REVIEW_COLUMNS) if name not in header]
        if missing:
            raise ReviewError(
                f"{path}: sheet {REVIEW_SHEET!r}, row 1: missing column(s) {', '.join(missing)}"
            )
        wanted = {name: header.index(name) for name in ("segment_id", *REVIEW_COLUMNS)}
        return [
            (number, {name: _text(row[i] if i < len(row) else None) for name, i in wanted.items()})
            for number, row in enumerate(rows, start=2)
        ]
    finally:
        workbook.close()


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()
