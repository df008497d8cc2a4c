"""Exports in which researchers review the machine's theme coding, and imports of their codings.

Three ways out: a REFI-QDA project for QDA tools (`refi_qda`), a review spreadsheet
(`spreadsheet`) and a framework-method matrix (`framework_matrix`). They take anonymised
segments only. What they share lives here: the order segments are read in, which coders are
machines, theme codes by any code of the codebook, and Excel cells that hold text only.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

import pandas as pd
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet

from assets.aggregate.summaries import UNKNOWN_GROUP
from assets.code.coder import CODER as RULES_CODER
from assets.code.combined import CODER as COMBINED_CODER
from assets.code.semantic import CODER as SEMANTIC_CODER
from schemas.codebook import CONTRACT_THEME_CODES, Codebook
from schemas.contract import ROLES
from schemas.tables import SegmentThemes

# The coding methods whose rows in segment_themes are the machine's; any other coder is a
# person. A method may name a variant after a colon (`semantic-v1:<embedder>`).
MACHINE_CODERS: frozenset[str] = frozenset({RULES_CODER, SEMANTIC_CODER, COMBINED_CODER})

# Excel keeps at most this many characters (UTF-16 code units) in a cell.
EXCEL_CELL_LIMIT = 32_767
CUT_NOTE = "\n\n[cut here: an Excel cell holds at most 32,767 characters]"

# A cell starting with one of these is read as a formula by Excel or by a CSV round trip.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"(\d+)")


def require_anonymised(segments: pd.DataFrame) -> None:
    """Refuse segments as read (RawSegments): their speaker names must never reach an export."""
    if "speaker_name" in segments.columns:
        raise ValueError(
            "segments carry speaker_name: these are raw segments; export anonymised ones only"
        )


def reading_order(segments: pd.DataFrame) -> pd.DataFrame:
    """Segments as a reader meets them: by round, site and file, then locator number by number.

    The order is a function of the segments alone, not of how a caller sorted them, so an
    import can lay the sources out exactly as the export did ("paragraph 10" after "9").
    """

    def locator_key(locator: str) -> tuple[tuple[int, int | str], ...]:
        parts = _NUMBER.split(locator)
        return tuple((0, int(part)) if part.isdigit() else (1, part) for part in parts if part)

    columns = ["round_id", "site_id", "source_file", "locator", "segment_id"]
    keys = [
        (round_id, site_id, source_file, locator_key(locator), segment_id)
        for round_id, site_id, source_file, locator, segment_id in segments[columns]
        .astype(str)
        .itertuples(index=False)
    ]
    order = sorted(range(len(keys)), key=keys.__getitem__)
    return segments.iloc[order].reset_index(drop=True)


def group_of(stakeholder_group: object) -> str:
    """A segment's stakeholder group, or the aggregate stage's `unknown` when none is recorded."""
    return stakeholder_group if isinstance(stakeholder_group, str) else UNKNOWN_GROUP


def group_order(group: str) -> int:
    """Stakeholder groups in the contract's order, `unknown` last."""
    return ROLES.index(group) if group in ROLES else len(ROLES)


def is_machine(coder: str, machine_coders: Collection[str]) -> bool:
    return coder.partition(":")[0] in machine_coders


def machine_rows(segment_themes: pd.DataFrame, machine_coders: Collection[str]) -> pd.DataFrame:
    mask = segment_themes["coder"].map(lambda coder: is_machine(coder, machine_coders))
    return segment_themes[mask.astype(bool)]


def theme_codes_in_order(codebook: Codebook) -> list[str]:
    """The contract's themes in its order, then any a later codebook added, in its order."""
    extra = [code for code in codebook.theme_codes if code not in CONTRACT_THEME_CODES]
    return [code for code in CONTRACT_THEME_CODES if code in codebook.theme_codes] + extra


def top_level_codes(codebook: Codebook) -> dict[str, str]:
    """Every code of the codebook, theme or sub-code, to its top-level theme code.

    segment_themes holds top-level codes only: a person who codes `stigma/cultural` has
    coded `stigma`.
    """
    codes = {theme.code: theme.code for theme in codebook.themes}
    codes |= {sub.code: theme.code for theme in codebook.themes for sub in theme.sub_codes}
    return codes


def human_codings(rows: list[dict[str, str]], codebook: Codebook) -> pd.DataFrame:
    """Rows of (segment_id, theme_code, category, coder) as a SegmentThemes table.

    A person's coding is a decision, not a score: its confidence is 1.
    """
    columns = ["segment_id", "theme_code", "category", "coder"]
    frame = pd.DataFrame(rows, columns=columns).drop_duplicates(
        ["segment_id", "theme_code", "coder"]
    )
    frame = frame.sort_values(["segment_id", "theme_code", "coder"], ignore_index=True)
    return SegmentThemes.validate(
        frame.assign(confidence=1.0, codebook_version=codebook.version)
    ).reset_index(drop=True)


def write_row(sheet: Worksheet, row: int, values: Iterable[str], *, header: bool = False) -> None:
    """Write a row of text cells: a bold header, or wrapped text aligned to the top."""
    for column, value in enumerate(values, start=1):
        cell = sheet.cell(row=row, column=column)
        write_text(cell, value)
        if header:
            cell.font = Font(bold=True)
        else:
            cell.alignment = Alignment(wrap_text=True, vertical="top")


def write_text(cell: Cell, value: str) -> None:
    """Write a string that Excel shows as text and never runs as a formula, cut to fit a cell.

    Hostile text ("=HYPERLINK(...)") is stored as a string with Excel's quote prefix, so
    that editing the cell in Excel does not turn it into a formula either.
    """
    value = fit_cell(ILLEGAL_CHARACTERS_RE.sub("\ufffd", value))
    cell.value = value or None
    if value.startswith(_FORMULA_STARTS):
        cell.data_type = "s"
        cell.quotePrefix = True


def fit_cell(value: str) -> str:
    """The value, or as much of it as fits in an Excel cell followed by CUT_NOTE."""
    if _utf16_length(value) <= EXCEL_CELL_LIMIT:
        return value
    room = EXCEL_CELL_LIMIT - _utf16_length(CUT_NOTE)
    kept = value.encode("utf-16-le")[: 2 * room].decode("utf-16-le", errors="ignore")
    return kept + CUT_NOTE


def _utf16_length(value: str) -> int:
    """Excel counts UTF-16 code units: a character outside the BMP (an emoji) counts twice."""
    return len(value.encode("utf-16-le")) // 2
