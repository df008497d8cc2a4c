"""Survey exports (CSV or Excel) to responses, normalised answers and free-text segments.

Only the instrument's items are kept. Every other export column (`Email`, `Name`,
`Start time`, ...) is dropped as the file is read, with two narrow exceptions: a response
id column (`ID`, `Response ID`, `Respondent ID`) names the response, and a `Name` column
is compared with the withdrawals to mark the row withdrawn, then forgotten.

Answers are normalised here but not judged: an answer the item does not accept keeps its
trimmed text and no score, and the validate stage rejects its row (`Item.accepts`).
"""

from __future__ import annotations

from collections.abc import Sequence

from assets.ingest.people import same_person
from assets.ingest.sheets import Sheet, column_letter, open_sheet
from assets.ingest.sources import Problem, ReadResult, SourceFile, segment_record
from schemas.contract import ROLES
from schemas.instruments import Instrument, Item, answer_key
from schemas.submission import SurveySpec, Withdrawal

RESPONSE_ID_HEADERS = frozenset(
    {"id", "response id", "respondent id", "responseid", "respondentid"}
)
NAME_HEADERS = frozenset({"name", "full name", "your name", "respondent name"})
FIRST_NAME_HEADERS = frozenset({"first name", "given name", "forename"})
LAST_NAME_HEADERS = frozenset({"last name", "surname", "family name"})


def map_columns(
    sheet: Sheet, spec: SurveySpec, instrument: Instrument, source_file: str
) -> tuple[dict[int, Item], list[Problem]]:
    """Which column holds which item: the manifest's `columns` first, then item ids.

    Headers are compared trimmed, then without case or punctuation, so `Access ease`
    finds `access_ease`. A column is never quoted in a problem: its letter is.
    """
    items = instrument.items_by_id
    by_key = {answer_key(item_id): item for item_id, item in items.items()}
    mapped = {answer_key(header): item_id for header, item_id in spec.columns.items()}
    header_at = f"row {sheet.header_row}"
    columns: dict[int, Item] = {}
    problems: list[Problem] = []
    for index, header in enumerate(sheet.headers):
        item_id = spec.columns.get(header) or mapped.get(answer_key(header))
        item = items.get(item_id) if item_id else by_key.get(answer_key(header))
        if item is None:
            continue
        taken = next((col for col, known in columns.items() if known.id == item.id), None)
        if taken is not None:
            problems.append(
                Problem(
                    source_file,
                    f"{header_at}, column {column_letter(index)}",
                    f"a second column for item {item.id} (the first is column "
                    f"{column_letter(taken)}); this column was not loaded",
                )
            )
            continue
        columns[index] = item
    header_keys = {answer_key(header) for header in sheet.headers}
    for header, item_id in spec.columns.items():
        if answer_key(header) not in header_keys:
            problems.append(
                Problem(
                    source_file,
                    header_at,
                    f"the manifest maps a header to item {item_id}, but no column of this "
                    "file has that header",
                    "warning",
                )
            )
    found = {item.id for item in columns.values()}
    for item in instrument.items:
        if item.required and item.id not in found:
            problems.append(
                Problem(
                    source_file,
                    header_at,
                    f"no column for required item {item.id}; every response will be rejected",
                    "warning",
                )
            )
    return columns, problems


def _find_column(sheet: Sheet, accepted: frozenset[str]) -> int | None:
    return next(
        (index for index, header in enumerate(sheet.headers) if answer_key(header) in accepted),
        None,
    )


def _is_withdrawn(
    sheet: Sheet,
    row: tuple[str, ...],
    name_columns: tuple[list[int | None], ...],
    withdrawals: Sequence[Withdrawal],
) -> bool:
    """Whether the row's name (a Name column, or first and last name) is a withdrawal's.

    The name is only compared, never kept.
    """
    for columns in name_columns:
        if None in columns:
            continue
        name = " ".join(sheet.cell(row, column) for column in columns if column is not None)
        if name.strip() and any(same_person(name, w.name) for w in withdrawals):
            return True
    return False


def _answers(
    sheet: Sheet, row: tuple[str, ...], columns: dict[int, Item]
) -> list[tuple[Item, str, float | None]]:
    """(item, value, score) of every non-empty answer; unaccepted ones keep their text."""
    answers = []
    for column, item in columns.items():
        raw = sheet.cell(row, column)
        answer = item.normalise(raw)
        if answer is None:
            answers.append((item, raw, None))
        elif not answer.is_missing:
            answers.append((item, answer.value or raw, answer.score))
    return answers


def read_survey(
    source: SourceFile,
    *,
    round_id: str,
    site_id: str,
    spec: SurveySpec,
    instrument: Instrument,
    withdrawals: Sequence[Withdrawal],
) -> ReadResult:
    """Records for `survey_responses`, `survey_answers` and `segments`, and any problems."""
    result = ReadResult()
    sheet = open_sheet(source, result)
    if sheet is None:
        return result
    columns, problems = map_columns(sheet, spec, instrument, source.source_file)
    result.problems.extend(problems)
    id_column = _find_column(sheet, RESPONSE_ID_HEADERS)
    name_columns = (
        [_find_column(sheet, NAME_HEADERS)],
        [_find_column(sheet, FIRST_NAME_HEADERS), _find_column(sheet, LAST_NAME_HEADERS)],
    )
    place = {"round_id": round_id, "site_id": site_id}
    rows_by_id: dict[str, int] = {}

    for number, row in sheet.rows:
        locator = f"row {number}"
        response_id = (sheet.cell(row, id_column) if id_column is not None else "") or str(number)
        if response_id in rows_by_id:
            result.problems.append(
                Problem(
                    source.source_file,
                    locator,
                    f"response id repeats the one in row {rows_by_id[response_id]}; row not loaded",
                )
            )
            result.n_rejected += 1
            continue
        rows_by_id[response_id] = number
        withdrawn = _is_withdrawn(sheet, row, name_columns, withdrawals)
        answers = _answers(sheet, row, columns)
        values = {item.id: value for item, value, _ in answers}
        role = values.get("respondent_role", "")
        for item, value, score in answers:
            result.add(
                "survey_answers",
                {
                    **place,
                    "response_id": response_id,
                    "source_file": source.source_file,
                    "item_id": item.id,
                    "item_type": item.type,
                    "value": value,
                    "score": score,
                },
            )
            if item.type == "free_text":
                result.add(
                    "segments",
                    segment_record(
                        source,
                        **place,
                        source_kind="survey",
                        locator=f"{locator}, item {item.id}",
                        text=value,
                        stakeholder_group=role if role in ROLES else None,
                        response_id=response_id,
                        item_id=item.id,
                        withdrawn=withdrawn,
                    ),
                )
        result.add(
            "survey_responses",
            {
                **place,
                "response_id": response_id,
                "source_file": source.source_file,
                "source_sha256": source.sha256,
                "instrument_id": instrument.id,
                "locator": locator,
                "respondent_role": role,
                "ethnic_group": values.get("ethnic_group"),
                "age_band": values.get("age_band"),
                "withdrawn": withdrawn,
            },
        )
        result.n_records += 1
        result.n_withdrawn += int(withdrawn)
    return result
