"""A site's action plan (`action_plan.csv` or `.xlsx`) to ActionPlan rows and segments.

Each entry's `action` is a segment (an agreed action), and so is its `evidence` when
given: both are free text that names people and is anonymised and coded like minutes.
Headers are compared without case or punctuation (`Action ID` is `action_id`); `status`
is read in the words people use (`In progress`). Values outside the contract's
vocabularies are kept as written for the validate stage to reject.
"""

from __future__ import annotations

import re

from assets.ingest.sheets import open_sheet
from assets.ingest.sources import Problem, ReadResult, SourceFile, segment_record
from schemas.instruments import answer_key

COLUMNS = {
    "action id": "action_id",
    "actionid": "action_id",
    "action": "action",
    "theme": "theme",
    "theme code": "theme",
    "status": "status",
    "evidence": "evidence",
}
REQUIRED = ("action_id", "action", "theme", "status")


def _status(value: str) -> str:
    return re.sub(r"[\s-]+", "_", value.strip().casefold())


def read_action_plan(source: SourceFile, *, round_id: str, site_id: str) -> ReadResult:
    """Records for `action_plan` and `segments`, and any problems."""
    result = ReadResult()
    sheet = open_sheet(source, result)
    if sheet is None:
        return result
    columns: dict[str, int] = {}
    for index, header in enumerate(sheet.headers):
        name = COLUMNS.get(answer_key(header))
        if name is not None:
            columns.setdefault(name, index)
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        result.readable = False
        result.problems.append(
            Problem(
                source.source_file,
                f"row {sheet.header_row}",
                f"missing column(s): {', '.join(missing)}",
            )
        )
        return result

    def segment(locator: str, text: str, is_action: bool) -> dict[str, object]:
        return segment_record(
            source,
            round_id=round_id,
            site_id=site_id,
            source_kind="action_plan",
            locator=locator,
            text=text,
            is_action=is_action,
        )

    for number, row in sheet.rows:
        values = {name: sheet.cell(row, index) for name, index in columns.items()}
        evidence = values.get("evidence") or None
        result.add(
            "action_plan",
            {
                "round_id": round_id,
                "site_id": site_id,
                "source_file": source.source_file,
                "source_sha256": source.sha256,
                "locator": f"row {number}",
                "action_id": values["action_id"],
                "action": values["action"],
                "theme_code": values["theme"].casefold(),
                "status": _status(values["status"]),
                "evidence": evidence,
            },
        )
        result.n_records += 1
        if values["action"]:
            result.add("segments", segment(f"row {number}, column action", values["action"], True))
        if evidence:
            result.add("segments", segment(f"row {number}, column evidence", evidence, False))
    return result
