"""CSV and Excel files as rows of text, numbered as a spreadsheet shows them.

Survey exports and action plans both arrive as a table whose first non-empty row holds the
headers. Row numbers are the ones Excel shows (the first row is row 1), so that `row 7`
in a quarantine report is row 7 on screen, also for a CSV opened in Excel. Cells become
text: whole numbers without `.0`, dates as ISO dates, empty cells as "", invisible
formatting characters dropped. A formula in a workbook is read as the value Excel last
showed for it, never as the formula.

No real export is wider or has longer cells than Excel allows, so a file beyond that is
refused and a row with a longer cell is left out: both bound the memory and time a
crafted file can take.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io

import openpyxl
from openpyxl.utils import get_column_letter

from assets.ingest.archives import ArchiveError, check_archive
from assets.ingest.sources import Problem, ReadResult, SourceFile
from schemas.submission import decode_text, visible_text

MAX_COLUMNS = 16_384
"""Excel's widest sheet (column XFD): no survey export or action plan has more columns."""

MAX_CELL_CHARS = 32_767
"""The most characters an Excel cell holds: no export has longer cells, and the review
workbook could not show a longer answer whole."""

_ZIP = b"PK\x03\x04"


class SheetError(ValueError):
    """The file cannot be read as a table; the message is a reason safe to report.

    `locator` is where reading stopped: `file`, or the row that made it stop.
    """

    def __init__(self, reason: str, locator: str = "file") -> None:
        super().__init__(reason)
        self.locator = locator


@dataclasses.dataclass(frozen=True)
class Sheet:
    """The header row and data rows; `too_long` holds (row, column) of each row left out
    because a cell is longer than MAX_CELL_CHARS."""

    header_row: int
    headers: tuple[str, ...]
    rows: tuple[tuple[int, tuple[str, ...]], ...]
    too_long: tuple[tuple[int, int], ...] = ()

    def cell(self, row: tuple[str, ...], column: int) -> str:
        return row[column].strip() if column < len(row) else ""


def column_letter(column: int) -> str:
    """Spreadsheet letter of a 0-based column index: what a data manager looks for."""
    return get_column_letter(column + 1)


def cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _check_width(record: tuple[str, ...], number: int) -> tuple[str, ...]:
    if len(record) > MAX_COLUMNS:
        raise SheetError(
            f"has {len(record):,} columns, more than the {MAX_COLUMNS:,} a spreadsheet can "
            "have; file not read",
            f"row {number}",
        )
    return record


def _csv_rows(data: bytes) -> list[tuple[str, ...]]:
    if data.startswith(_ZIP):
        raise SheetError("is a ZIP archive (an Excel or Word file?) named .csv, not CSV text")
    try:
        text = decode_text(data)
    except UnicodeDecodeError as error:
        raise SheetError(error.reason) from error
    reader = csv.reader(io.StringIO(text, newline=""))
    records: list[tuple[str, ...]] = []
    try:
        for record in reader:
            records.append(_check_width(tuple(record), len(records) + 1))
    except csv.Error as error:
        raise SheetError(
            f"not a readable CSV file past this row ({error}); file not read",
            f"row {len(records) + 1}",
        ) from error
    last = records[-1][-1] if records and records[-1] else ""
    if ("\n" in last or "\r" in last) and not text.rstrip("\r\n").endswith('"'):
        raise SheetError(
            "a quote opened in this row is never closed, so the rest of the file would be "
            "one cell; file not read",
            f"row {len(records)}",
        )
    return records


def _xlsx_rows(data: bytes) -> list[tuple[str, ...]]:
    try:
        check_archive(data, "the workbook")
    except ArchiveError as error:
        raise SheetError(str(error)) from error
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:
        raise SheetError("could not be read as an Excel (.xlsx) workbook") from error
    try:
        sheet = workbook.worksheets[0]
        # Exports often carry wrong or no dimensions; without them every row is read.
        sheet.reset_dimensions()
        return [
            _check_width(tuple(cell_text(value) for value in values), number)
            for number, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), 1)
        ]
    except SheetError:
        raise
    except Exception as error:
        raise SheetError("could not be read as an Excel (.xlsx) workbook") from error
    finally:
        workbook.close()


def read_sheet(source: SourceFile) -> Sheet:
    """The file's header row and data rows; raises SheetError when it cannot be read."""
    if source.path.suffix.lower() == ".xlsx":
        if not source.data:
            raise SheetError("the workbook is empty (0 bytes)")
        records = _xlsx_rows(source.data)
    else:
        records = _csv_rows(source.data)
    numbered = [
        (number, tuple(visible_text(cell) for cell in record))
        for number, record in enumerate(records, start=1)
        if any(cell.strip() for cell in record)
    ]
    if not numbered:
        return Sheet(header_row=1, headers=(), rows=())
    (header_row, headers), *rows = numbered
    too_long = [
        (number, next(c for c, cell in enumerate(record) if len(cell) > MAX_CELL_CHARS))
        for number, record in numbered
        if any(len(cell) > MAX_CELL_CHARS for cell in record)
    ]
    if too_long and too_long[0][0] == header_row:
        raise SheetError(
            f"a header longer than {MAX_CELL_CHARS:,} characters; file not read",
            f"row {header_row}, column {column_letter(too_long[0][1])}",
        )
    left_out = {number for number, _ in too_long}
    return Sheet(
        header_row=header_row,
        headers=tuple(header.strip() for header in headers),
        rows=tuple((number, row) for number, row in rows if number not in left_out),
        too_long=tuple(too_long),
    )


def open_sheet(source: SourceFile, result: ReadResult) -> Sheet | None:
    """The file's first sheet, or None with the file marked unreadable and the reason recorded."""
    try:
        sheet = read_sheet(source)
    except SheetError as error:
        result.readable = False
        result.problems.append(Problem(source.source_file, error.locator, str(error)))
        return None
    for number, column in sheet.too_long:
        result.problems.append(
            Problem(
                source.source_file,
                f"row {number}, column {column_letter(column)}",
                f"a cell longer than {MAX_CELL_CHARS:,} characters, the most a spreadsheet "
                "cell holds; row not loaded",
            )
        )
        result.n_rejected += 1
    return sheet
