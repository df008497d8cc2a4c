"""CSV and Excel files as rows of text, numbered as a spreadsheet shows them.

Survey exports and action plans both arrive as a table whose first non-empty row holds the
headers. Row numbers are the ones Excel shows (the first row is row 1), so that `row 7`
in a quarantine report is row 7 on screen, also for a CSV opened in Excel. Cells become
text: whole numbers without `.0`, dates as ISO dates, empty cells as "".
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io

import openpyxl
from openpyxl.utils import get_column_letter

from assets.ingest.sources import Problem, ReadResult, SourceFile
from schemas.submission import decode_text


class SheetError(ValueError):
    """The file cannot be read as a table; the message is a reason safe to report."""


@dataclasses.dataclass(frozen=True)
class Sheet:
    header_row: int
    headers: tuple[str, ...]
    rows: tuple[tuple[int, tuple[str, ...]], ...]

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


def _csv_rows(data: bytes) -> list[tuple[str, ...]]:
    try:
        text = decode_text(data)
    except UnicodeDecodeError as error:
        raise SheetError("not readable as UTF-8 or Windows-1252 text") from error
    try:
        return [tuple(record) for record in csv.reader(io.StringIO(text, newline=""))]
    except csv.Error as error:
        raise SheetError(f"not a readable CSV file ({type(error).__name__})") from error


def _xlsx_rows(data: bytes) -> list[tuple[str, ...]]:
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:
        raise SheetError("could not be read as an Excel (.xlsx) workbook") from error
    try:
        sheet = workbook.worksheets[0]
        # Exports often carry wrong or no dimensions; without them every row is read.
        sheet.reset_dimensions()
        return [
            tuple(cell_text(value) for value in values)
            for values in sheet.iter_rows(min_row=1, values_only=True)
        ]
    except Exception as error:
        raise SheetError("could not be read as an Excel (.xlsx) workbook") from error
    finally:
        workbook.close()


def read_sheet(source: SourceFile) -> Sheet:
    """The file's header row and data rows; raises SheetError when it cannot be read."""
    if source.path.suffix.lower() == ".xlsx":
        records = _xlsx_rows(source.data)
    else:
        records = _csv_rows(source.data)
    numbered = [
        (number, record)
        for number, record in enumerate(records, start=1)
        if any(cell.strip() for cell in record)
    ]
    if not numbered:
        return Sheet(header_row=1, headers=(), rows=())
    (header_row, headers), *rows = numbered
    return Sheet(
        header_row=header_row,
        headers=tuple(header.strip() for header in headers),
        rows=tuple(rows),
    )


def open_sheet(source: SourceFile, result: ReadResult) -> Sheet | None:
    """The file's first sheet, or None with the file marked unreadable and the reason recorded."""
    try:
        return read_sheet(source)
    except SheetError as error:
        result.readable = False
        result.problems.append(Problem(source.source_file, "file", str(error)))
        return None
