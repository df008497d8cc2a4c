"""Minutes readers: Word, Markdown and text, paragraphs as segments, headings as agenda items."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import docx
import pytest
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls

from assets.ingest.minutes import read_minutes, text_paragraphs, word_paragraphs
from assets.ingest.sources import SourceFile, frame
from schemas.submission import Attendee, Event, Withdrawal
from schemas.tables import RawSegments
from tests.ingest_fixtures import ATTENDEES_WS1, docx_bytes

EVENT = Event(
    id="el-ws1",
    type="local_workshop",
    date=dt.date(2024, 5, 21),
    minutes="minutes/ws.docx",
    attendees=[Attendee(**attendee) for attendee in ATTENDEES_WS1],
)


def source(tmp_path: Path, name: str, data: bytes) -> SourceFile:
    path = tmp_path / "2024-impact" / "east-london" / "minutes" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return SourceFile.read(path, tmp_path)


def read(tmp_path, name, data, withdrawals=()):
    result = read_minutes(
        source(tmp_path, name, data),
        round_id="2024-impact",
        site_id="east-london",
        event=EVENT,
        withdrawals=[Withdrawal(name=w) for w in withdrawals],
    )
    segments = frame(RawSegments, result.rows("segments"))
    RawSegments.validate(segments)
    return result, segments


def test_word_headings_are_agenda_items_and_paragraphs_are_numbered():
    data = docx_bytes(
        [
            ("title", "Workshop minutes"),
            ("p", "Opening remarks."),
            ("h1", "Access"),
            ("p", "First point."),
            ("p", "   "),
            ("h3", "Detail"),
            ("p", "Second point."),
            ("h9", "Deep"),
            ("p", "Third point."),
        ]
    )
    paragraphs = word_paragraphs(data)
    assert [(p.number, p.agenda_item, p.text) for p in paragraphs] == [
        (1, "Workshop minutes", "Opening remarks."),
        (2, "Access", "First point."),
        (3, "Detail", "Second point."),
        (4, "Deep", "Third point."),
    ]


def test_word_style_based_on_a_heading_is_a_heading():
    document = docx.Document()
    style = document.styles.add_style("Site Heading", WD_STYLE_TYPE.PARAGRAPH)
    style.base_style = document.styles["Heading 2"]
    document.add_paragraph("Our priorities", style="Site Heading")
    document.add_paragraph("Reach out to communities.")
    buffer = io.BytesIO()
    document.save(buffer)
    (paragraph,) = word_paragraphs(buffer.getvalue())
    assert (paragraph.agenda_item, paragraph.text) == (
        "Our priorities",
        "Reach out to communities.",
    )


def test_word_list_items_are_one_segment_each_and_tables_read_cell_by_cell():
    document = docx.Document()
    document.add_paragraph("Before the table.")
    document.add_paragraph("First bullet.", style="List Bullet")
    document.add_paragraph("Second bullet.", style="List Number")
    table = document.add_table(rows=2, cols=3)
    table.cell(0, 0).text = "Theme"
    table.cell(0, 1).text = "Owner"
    table.cell(0, 2).text = "Due"
    merged = table.cell(1, 0).merge(table.cell(1, 1))
    merged.text = "Interpreters for first appointments"
    table.cell(1, 2).add_paragraph("Second paragraph in a cell.")
    document.add_paragraph("After the table.")
    buffer = io.BytesIO()
    document.save(buffer)
    texts = [p.text for p in word_paragraphs(buffer.getvalue())]
    assert texts == [
        "Before the table.",
        "First bullet.",
        "Second bullet.",
        "Theme",
        "Owner",
        "Due",
        "Interpreters for first appointments",
        "Second paragraph in a cell.",
        "After the table.",
    ]


def test_word_tracked_changes_read_as_accepted_and_content_controls_are_read():
    document = docx.Document()
    paragraph = document.add_paragraph("AO: We now ")
    paragraph._p.append(
        parse_xml(
            f'<w:ins {nsdecls("w")} w:id="1" w:author="Editor" w:date="2024-05-22T10:00:00Z">'
            "<w:r><w:t>fund interpreters</w:t></w:r></w:ins>"
        )
    )
    paragraph._p.append(
        parse_xml(
            f'<w:del {nsdecls("w")} w:id="2" w:author="Editor" w:date="2024-05-22T10:00:00Z">'
            "<w:r><w:delText> for nobody</w:delText></w:r></w:del>"
        )
    )
    body = document.element.body
    body.insert(
        len(body) - 1,
        parse_xml(
            f"<w:sdt {nsdecls('w')}><w:sdtPr/><w:sdtContent>"
            "<w:p><w:r><w:t>Inside a content control.</w:t></w:r></w:p>"
            "</w:sdtContent></w:sdt>"
        ),
    )
    buffer = io.BytesIO()
    document.save(buffer)
    texts = [p.text for p in word_paragraphs(buffer.getvalue())]
    assert texts == ["AO: We now fund interpreters", "Inside a content control."]


def test_markdown_blocks_headings_and_rules():
    text = (
        "# Agenda item one\n"
        "First line of a paragraph\n"
        "second line of the same paragraph.\n"
        "\n"
        "---\n"
        "\n"
        "   \n"
        "## Agenda item two ##\n"
        "- a list item\n"
        "- another list item\n"
        "\n"
        "#hashtag is not a heading\n"
    )
    paragraphs = text_paragraphs(text.encode())
    assert [(p.number, p.agenda_item, p.text) for p in paragraphs] == [
        (1, "Agenda item one", "First line of a paragraph\nsecond line of the same paragraph."),
        (2, "Agenda item two", "- a list item\n- another list item"),
        (3, "Agenda item two", "#hashtag is not a heading"),
    ]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_text_minutes_in_each_encoding(tmp_path, encoding):
    text = "Priya: The café on Mare Street hosts the group.\r\n\r\nSiobhán: Agreed.\r\n"
    result, segments = read(tmp_path, "notes.txt", text.encode(encoding))
    assert list(segments["text"]) == ["The café on Mare Street hosts the group.", "Agreed."]
    assert list(segments["speaker_name"]) == ["Priya Raman", "Siobhán Ní Bhriain"]
    assert list(segments["locator"]) == ["paragraph 1", "paragraph 2"]
    assert result.readable and not result.problems


def test_docx_segments_carry_speakers_actions_and_withdrawals(tmp_path):
    data = docx_bytes(
        [
            ("h1", "Welcome"),
            ("p", "AO: Welcome back."),
            ("p", "Carer (TW): Still hard to get an appointment."),
            ("p", "Action: Book interpreters."),
            ("p", "The main issues were: waiting times."),
        ]
    )
    result, segments = read(tmp_path, "ws.docx", data, withdrawals=["Tom Whitfield"])
    rows = segments.to_dict("records")
    assert [r["speaker_name"] for r in rows] == ["Amara Okafor", "Tom Whitfield", None, None]
    assert [r["stakeholder_group"] for r in rows] == ["staff", "carer", None, None]
    assert [r["is_action"] for r in rows] == [False, False, True, False]
    assert [r["withdrawn"] for r in rows] == [False, True, False, False]
    assert rows[0]["text"] == "Welcome back."
    assert rows[3]["text"] == "The main issues were: waiting times."
    assert {r["agenda_item"] for r in rows} == {"Welcome"}
    assert {r["event_id"] for r in rows} == {"el-ws1"}
    assert {r["source_kind"] for r in rows} == {"minutes"}
    assert {r["source_file"] for r in rows} == {"2024-impact/east-london/minutes/ws.docx"}
    assert (result.n_records, result.n_withdrawn) == (4, 1)


def test_unresolved_label_is_a_warning_that_names_the_paragraph(tmp_path):
    data = docx_bytes([("p", "Opening."), ("p", "Yusuf Demir: I was not on the list.")])
    result, segments = read(tmp_path, "ws.docx", data)
    assert len(segments) == 2
    assert segments.iloc[1]["speaker_name"] is None
    assert segments.iloc[1]["text"] == "Yusuf Demir: I was not on the list."
    (problem,) = result.problems
    assert problem.severity == "warning"
    assert problem.locator == "paragraph 2"
    assert problem.source_file == "2024-impact/east-london/minutes/ws.docx"
    assert "Yusuf" not in problem.reason and "Demir" not in problem.reason


def test_label_only_paragraph_makes_no_segment_but_is_counted(tmp_path):
    data = b"AO:\n\nWelcome back.\n"
    result, segments = read(tmp_path, "ws.md", data)
    assert list(segments["locator"]) == ["paragraph 2"]
    assert [p.locator for p in result.problems] == ["paragraph 1"]


@pytest.mark.parametrize(
    "data",
    [
        b"this is not a zip file",
        docx_bytes([("p", "Hello.")])[:300],
        b"PK\x03\x04" + b"\x00" * 60,
    ],
)
def test_unreadable_docx_is_quarantined_not_raised(tmp_path, data):
    result, segments = read(tmp_path, "broken.docx", data)
    assert not result.readable
    assert segments.empty
    (problem,) = result.problems
    assert (problem.locator, problem.severity) == ("file", "error")
    assert "Word" in problem.reason


def test_undecodable_text_minutes_are_quarantined(tmp_path):
    result, segments = read(tmp_path, "notes.md", b"Caf\x81 \x8d\x90")
    assert not result.readable and segments.empty
    assert result.problems[0].locator == "file"


def test_segment_ids_are_stable_unique_and_name_free(tmp_path):
    data = docx_bytes([("p", "AO: One."), ("p", "Tom: Two."), ("p", "Three.")])
    _, first = read(tmp_path, "ws.docx", data)
    _, second = read(tmp_path, "ws.docx", data)
    assert list(first["segment_id"]) == list(second["segment_id"])
    assert first["segment_id"].is_unique
    assert all(len(value) == 16 and int(value, 16) >= 0 for value in first["segment_id"])
    _, changed = read(tmp_path, "ws.docx", docx_bytes([("p", "AO: One!"), ("p", "Tom: Two.")]))
    assert set(changed["segment_id"]).isdisjoint(first["segment_id"])
