"""Synthetic raw submissions for tests: Word, Excel and CSV files built in a temp folder.

Every name, e-mail and number here is made up (e-mails @example.org, phones from Ofcom's
drama ranges). `write_standard_site` writes one complete, valid site that other tests may
import and vary.
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import datetime as dt
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import docx
import openpyxl
import yaml

ROUND_ID = "2024-impact"
SITE_ID = "east-london"
PREFIX = f"{ROUND_ID}/{SITE_ID}/"
# The standard site's files, as the warehouse names them (`source_file`).
FILES = {
    "round": f"{ROUND_ID}/round.yaml",
    "manifest": PREFIX + "manifest.yaml",
    "workshop": PREFIX + "minutes/2024-05-21-workshop.docx",
    "steering": PREFIX + "minutes/2024-06-10-steering.md",
    "followup": PREFIX + "surveys/followup.xlsx",
    "paper": PREFIX + "surveys/paper-forms.csv",
    "action_plan": PREFIX + "action_plan.csv",
}

Block = tuple[str, Any]


def docx_bytes(blocks: Sequence[Block]) -> bytes:
    """A Word document from blocks: ("title"|"h1".."h9"|"p"|"list", text) or ("table", rows)."""
    document = docx.Document()
    for kind, content in blocks:
        if kind == "title":
            document.add_heading(content, level=0)
        elif kind.startswith("h"):
            document.add_heading(content, level=int(kind[1:]))
        elif kind == "p":
            document.add_paragraph(content)
        elif kind == "list":
            document.add_paragraph(content, style="List Bullet")
        elif kind == "table":
            table = document.add_table(rows=len(content), cols=len(content[0]))
            for r, row in enumerate(content):
                for c, text in enumerate(row):
                    table.cell(r, c).text = text
        else:
            raise ValueError(kind)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def xlsx_bytes(rows: Sequence[Sequence[object]], *, extra_sheet: bool = False) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(list(row))
    if extra_sheet:
        workbook.create_sheet("Summary").append(["not", "survey", "data"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows: Sequence[Sequence[object]], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)


ATTENDEES_WS1 = [
    {"name": "Amara Okafor", "role": "staff", "initials": "AO"},
    {"name": "Tom Whitfield", "role": "carer", "initials": "TW"},
    {"name": "Priya Raman", "role": "service_user"},
    {"name": "Wojciech Nowak", "role": "voluntary_sector"},
    {"name": "Siobhán Ní Bhriain", "role": "researcher"},
]
ATTENDEES_SG1 = [
    {"name": "Mehmet Y\u0131lmaz", "role": "commissioner", "initials": "MY"},
    {"name": "Li Wei", "role": "staff"},
    {"name": "Fatima Zahra Benali", "role": "service_user"},
]

FOLLOWUP_QUESTIONS = {
    "Which of these best describes you?": "respondent_role",
    "What is your ethnic group?": "ethnic_group",
    "What is your age?": "age_band",
    "How easy is it now to get mental health support?": "access_ease",
    "I was treated with respect for my culture and background": "respect_experience",
    "I trust local mental health services more than a year ago": "trust_services",
    "What has changed since last year?": "what_changed",
    "What still gets in the way?": "still_in_way",
    "What would help most?": "what_would_help",
}

MANIFEST: dict[str, Any] = {
    "site": SITE_ID,
    "round": ROUND_ID,
    "events": [
        {
            "id": "el-ws1",
            "type": "local_workshop",
            "date": dt.date(2024, 5, 21),
            "minutes": "minutes/2024-05-21-workshop.docx",
            "attendees": ATTENDEES_WS1,
        },
        {
            "id": "el-sg1",
            "type": "steering_group",
            "date": dt.date(2024, 6, 10),
            "minutes": "minutes/2024-06-10-steering.md",
            "attendees": ATTENDEES_SG1,
        },
    ],
    "surveys": [
        {
            "file": "surveys/followup.xlsx",
            "instrument": "impact-followup-v1",
            "columns": FOLLOWUP_QUESTIONS,
        },
        {"file": "surveys/paper-forms.csv", "instrument": "impact-followup-v1"},
    ],
    "withdrawals": [{"name": "Tom Whitfield"}],
}

ROUND = {
    "round": ROUND_ID,
    "title": "ARIADNE impact analysis 2024",
    "kind": "impact",
    "period": {"start": dt.date(2024, 1, 1), "end": dt.date(2024, 12, 31)},
    "reviews": "2022-baseline",
}

WORKSHOP_MINUTES: list[Block] = [
    ("title", "East London co-design workshop"),
    ("h1", "Welcome and introductions"),
    ("p", "AO: Welcome back, a year on from the baseline workshop."),
    ("p", "Carer (TW): Getting an appointment for my brother is still hard."),
    ("h2", "What has changed"),
    ("p", "Priya Raman: The community link worker made a real difference."),
    ("p", "The main issues were: waiting times and interpreters."),
    ("list", "Peer support groups now meet weekly."),
    ("p", "Voluntary sector: We get more referrals from the trust now."),
    ("p", ""),
    ("p", "Action: The trust funds interpreters for every first appointment."),
    ("table", [["Theme", "Note"], ["Stigma", "Siobhan: Families still avoid services."]]),
]

STEERING_MINUTES = """# Steering group

MY: The budget for the link worker post is confirmed.
The post starts in September.

Li: We will report against PCREF this year.

## Actions

Action: LW drafts the PCREF report.

service user: Feedback sessions should be held in community venues.
"""

FOLLOWUP_HEADER = [
    "ID",
    "Start time",
    "Completion time",
    "Email",
    "Name",
    *FOLLOWUP_QUESTIONS,
]
FOLLOWUP_ROWS: list[list[object]] = [
    [
        1,
        dt.datetime(2024, 6, 1, 9, 30),
        dt.datetime(2024, 6, 1, 9, 41),
        "grace.mensah@example.org",
        "Grace Mensah",
        "Service user",
        "Black, Black British, Caribbean or African - African",
        "25-34",
        4,
        "Agree",
        "strongly AGREE",
        "Peer groups in the mosque helped me.",
        None,
        "More interpreters",
    ],
    [
        2,
        dt.datetime(2024, 6, 2, 14, 0),
        dt.datetime(2024, 6, 2, 14, 12),
        "t.whitfield@example.org",
        "Tom Whitfield",
        "Carer",
        "White: English, Welsh, Scottish, Northern Irish or British",
        "55-64",
        "2",
        "Disagree",
        3,
        "Nothing really.",
        "Waiting lists",
        None,
    ],
    [None] * 14,
    [
        4,
        dt.datetime(2024, 6, 3, 10, 0),
        dt.datetime(2024, 6, 3, 10, 5),
        "nadia.hussain@example.org",
        "Nadia Hussain",
        "staff",
        "Asian or Asian British: Pakistani",
        "35-44",
        "NEITHER AGREE NOR DISAGREE",
        5,
        4.0,
        None,
        "Stigma in the community, call 07700 900123",
        "Training",
    ],
]

PAPER_FORMS = [
    [
        "respondent_role",
        "ethnic_group",
        "age_band",
        "access_ease",
        "respect_experience",
        "trust_services",
        "what_changed",
        "still_in_way",
        "what_would_help",
    ],
    ["carer", "Roma", "65+", "strongly disagree", "", "", "", "Nobody explains café rules", ""],
    ["voluntary-sector", "Other ethnic group: Arab", "45-54", "3", "4", "5", "", "", "Funding"],
]

ACTION_PLAN = [
    ["action_id", "action", "theme", "status", "evidence"],
    ["A1", "Fund interpreters", "education-mediation-digital", "In progress", "Budget agreed."],
    ["A2", "Discuss racism openly in team meetings", "racism-experience", "not_started", ""],
]


@dataclasses.dataclass
class Site:
    """A site folder under a temporary raw/ that a test can add files to."""

    raw_dir: Path
    round_id: str = ROUND_ID
    site_id: str = SITE_ID

    @property
    def round_dir(self) -> Path:
        return self.raw_dir / self.round_id

    @property
    def site_dir(self) -> Path:
        return self.round_dir / self.site_id

    def write(self, relative: str, data: bytes | str) -> Path:
        path = self.site_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            data = data.encode("utf-8")
        path.write_bytes(data)
        return path

    def write_round(self, content: dict[str, Any] | str) -> Path:
        self.round_dir.mkdir(parents=True, exist_ok=True)
        path = self.round_dir / "round.yaml"
        text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
        path.write_text(text, encoding="utf-8")
        return path

    def write_manifest(self, content: dict[str, Any] | str) -> Path:
        text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
        return self.write("manifest.yaml", text)


def standard_manifest() -> dict[str, Any]:
    return copy.deepcopy(MANIFEST)


def write_standard_site(raw_dir: Path, round_id: str = ROUND_ID, site_id: str = SITE_ID) -> Site:
    """A complete valid submission: two minutes, two surveys, an action plan, a withdrawal."""
    site = Site(raw_dir, round_id, site_id)
    site.write_round({**ROUND, "round": round_id})
    manifest = standard_manifest()
    manifest["round"], manifest["site"] = round_id, site_id
    site.write_manifest(manifest)
    site.write("minutes/2024-05-21-workshop.docx", docx_bytes(WORKSHOP_MINUTES))
    site.write("minutes/2024-06-10-steering.md", STEERING_MINUTES)
    site.write("surveys/followup.xlsx", xlsx_bytes([FOLLOWUP_HEADER, *FOLLOWUP_ROWS]))
    site.write("surveys/paper-forms.csv", csv_bytes(PAPER_FORMS, encoding="cp1252"))
    site.write("action_plan.csv", csv_bytes(ACTION_PLAN))
    return site
