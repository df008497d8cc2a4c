"""Minutes (`.docx`, `.md`, `.txt`) to segments: one segment per paragraph, never split or merged.

Where a segment comes from is `paragraph N`. N counts, from 1 and in reading order, the
paragraphs that hold text (at least one letter or digit) and are not headings. Empty
paragraphs, headings and lines such as `---` are not counted. So a data manager finds
paragraph N by counting the document's text paragraphs and skipping its headings.

- Word (`.docx`): headings are paragraphs in a style `Heading 1`..`Heading 9` or `Title`
  (or a style based on one of them). A list item is a paragraph like any other: one
  segment. Tables are read where they stand, row by row, each row's cells left to right,
  and every text paragraph in a cell is one paragraph (a merged cell is read once).
  Paragraphs inside content controls count too. Text reads as with tracked changes
  accepted (insertions in, deletions out). Headers, footers, footnotes, comments and
  text boxes are not minutes and are not read.
- Markdown and plain text: a line starting with `#` to `######` and a space is a heading;
  any other block of consecutive non-empty lines is one paragraph (its lines are kept,
  joined by line breaks). Plain text follows the same rule.

A heading becomes the `agenda_item` of the segments after it, until the next heading.
Invisible formatting characters (zero-width spaces, direction marks) are dropped from the
text. A paragraph longer than MAX_PARAGRAPH_CHARS is not loaded: it keeps its number, and
the quarantine names it; a heading that long is counted and refused as a paragraph.
"""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Iterator, Sequence

import docx
from docx.document import Document as WordDocument
from docx.oxml.ns import qn
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph as WordParagraph

from assets.ingest.archives import ArchiveError, check_archive
from assets.ingest.people import Person, Roster
from assets.ingest.sources import Problem, ReadResult, SourceFile, segment_record
from assets.ingest.speakers import SpeakerResolver
from schemas.submission import Event, Withdrawal, decode_text, visible_text

MAX_PARAGRAPH_CHARS = 100_000
"""The longest paragraph loaded as a segment: about 15,000 words, far beyond any paragraph
of minutes. Longer ones are whole transcripts pasted without paragraph breaks (or files
made to hurt): one segment cannot be coded or reviewed, and every later stage's work on a
segment grows with its length."""

_HAS_TEXT = re.compile(r"[^\W_]")
# The heading's text runs to the end of the line; closing `#`s are stripped after the
# match (a lazy text followed by `[ \t#]*$` takes quadratic time on a long line of them).
_MARKDOWN_HEADING = re.compile(r"^ {0,3}#{1,6}(?:[ \t]+(?P<text>.*)|[ \t#]*+)$")
_WORD_HEADING = re.compile(r"^(?:heading [1-9]|title)$", re.IGNORECASE)
_W_TEXT = qn("w:t")
_TEXT_ELEMENTS = {
    _W_TEXT: "",
    qn("w:tab"): "\t",
    qn("w:br"): "\n",
    qn("w:cr"): "\n",
    qn("w:noBreakHyphen"): "-",
}
# Text under these is not the paragraph's: deleted or moved-away text (tracked changes),
# text boxes (their own paragraphs, not minutes) and the duplicate of a drawing's content
# that Word writes for older readers.
_NOT_PARAGRAPH_TEXT = {
    qn("w:del"),
    qn("w:moveFrom"),
    qn("w:txbxContent"),
    "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback",
}
# Block-level wrappers whose paragraphs are part of the document (content controls).
_CONTAINERS = {qn("w:sdt"), qn("w:sdtContent"), qn("w:customXml")}


class MinutesFormatError(ValueError):
    """The file cannot be read as minutes in its format."""


@dataclasses.dataclass(frozen=True)
class Paragraph:
    number: int
    text: str
    agenda_item: str | None


def _numbered(blocks: Iterator[tuple[bool, str]]) -> list[Paragraph]:
    """(is_heading, text) blocks to paragraphs, numbered as the module docstring says."""
    paragraphs: list[Paragraph] = []
    agenda_item: str | None = None
    for heading, text in blocks:
        text = visible_text(text).strip()
        if not _HAS_TEXT.search(text):
            continue
        if heading and len(text) <= MAX_PARAGRAPH_CHARS:
            agenda_item = text
        else:
            if heading:  # no agenda item is that long: counted, and refused, as a paragraph
                agenda_item = None
            paragraphs.append(Paragraph(len(paragraphs) + 1, text, agenda_item))
    return paragraphs


class _HeadingStyles:
    """Whether a paragraph's style is a heading (or based on one), per style id once:
    python-docx looks a style up by searching the styles part, about 2 ms a paragraph."""

    def __init__(self) -> None:
        self._known: dict[str | None, bool] = {}

    def __call__(self, paragraph: BaseOxmlElement, parent: WordDocument | _Cell) -> bool:
        style_id = paragraph.style
        if style_id not in self._known:
            self._known[style_id] = self._is_heading(WordParagraph(paragraph, parent))
        return self._known[style_id]

    @staticmethod
    def _is_heading(paragraph: WordParagraph) -> bool:
        style = paragraph.style
        while style is not None:
            if _WORD_HEADING.match(style.name or ""):
                return True
            style = style.base_style
        return False


def _inside(element: BaseOxmlElement, stop: BaseOxmlElement) -> bool:
    for ancestor in element.iterancestors():
        if ancestor is stop:
            return False
        if ancestor.tag in _NOT_PARAGRAPH_TEXT:
            return True
    return False


def _paragraph_text(paragraph: BaseOxmlElement) -> str:
    """The paragraph's text as it reads with tracked changes accepted.

    python-docx's own `text` leaves out tracked insertions and text in inline content
    controls; minutes are often edited with Track Changes on.
    """
    return "".join(
        (element.text or "") if element.tag == _W_TEXT else _TEXT_ELEMENTS[element.tag]
        for element in paragraph.iter(*_TEXT_ELEMENTS)
        if not _inside(element, paragraph)
    )


def _word_blocks(
    element: BaseOxmlElement, parent: WordDocument | _Cell, headings: _HeadingStyles
) -> Iterator[tuple[bool, str]]:
    """(is_heading, text) of the paragraphs under a body or cell, content controls included."""
    for child in element.iterchildren():
        if child.tag == qn("w:p"):
            yield headings(child, parent), _paragraph_text(child)
        elif child.tag == qn("w:tbl"):
            yield from _table_blocks(Table(child, parent), headings)
        elif child.tag in _CONTAINERS:
            yield from _word_blocks(child, parent, headings)


def _table_blocks(table: Table, headings: _HeadingStyles) -> Iterator[tuple[bool, str]]:
    seen: list[object] = []
    for row in table.rows:
        for cell in row.cells:
            if any(cell._tc is known for known in seen):
                continue
            seen.append(cell._tc)
            yield from _word_blocks(cell._tc, cell, headings)


def word_paragraphs(data: bytes) -> list[Paragraph]:
    """Paragraphs of a Word document; raises MinutesFormatError when it is not one."""
    try:
        check_archive(data, "the Word document")
    except ArchiveError as error:
        raise MinutesFormatError(str(error)) from error
    try:
        document = docx.Document(io.BytesIO(data))
        return _numbered(_word_blocks(document.element.body, document, _HeadingStyles()))
    except Exception as error:
        raise MinutesFormatError("could not be read as a Word (.docx) document") from error


def _text_blocks(text: str) -> Iterator[tuple[bool, str]]:
    block: list[str] = []
    for line in text.splitlines():
        heading = _MARKDOWN_HEADING.match(line)
        if heading or not line.strip():
            if block:
                yield False, "\n".join(block)
                block = []
            if heading:
                yield True, (heading["text"] or "").rstrip(" \t#")
        else:
            block.append(line.strip())
    if block:
        yield False, "\n".join(block)


def text_paragraphs(data: bytes) -> list[Paragraph]:
    """Paragraphs of a Markdown or plain-text file in UTF-8 or Windows-1252."""
    try:
        text = decode_text(data)
    except UnicodeDecodeError as error:
        raise MinutesFormatError(error.reason) from error
    return _numbered(_text_blocks(text))


def read_paragraphs(source: SourceFile) -> list[Paragraph]:
    if source.path.suffix.lower() == ".docx":
        if not source.data:
            raise MinutesFormatError("the Word document is empty (0 bytes)")
        return word_paragraphs(source.data)
    return text_paragraphs(source.data)


def read_minutes(
    source: SourceFile,
    *,
    round_id: str,
    site_id: str,
    event: Event,
    withdrawals: Sequence[Withdrawal],
) -> ReadResult:
    """One event's minutes as RawSegments records (table `segments`), with any problems."""
    result = ReadResult()
    try:
        paragraphs = read_paragraphs(source)
    except MinutesFormatError as error:
        result.readable = False
        result.problems.append(Problem(source.source_file, "file", str(error)))
        return result
    resolver = SpeakerResolver(
        event_id=event.id,
        attendees=Roster(Person(a.name, a.role, a.initials) for a in event.attendees),
        withdrawals=Roster(Person(w.name) for w in withdrawals),
    )
    for paragraph in paragraphs:
        locator = f"paragraph {paragraph.number}"
        if len(paragraph.text) > MAX_PARAGRAPH_CHARS:
            result.problems.append(
                Problem(
                    source.source_file,
                    locator,
                    f"a paragraph of {len(paragraph.text):,} characters, more than the "
                    f"{MAX_PARAGRAPH_CHARS:,} a segment may hold; not loaded (split it "
                    "into paragraphs)",
                )
            )
            result.n_rejected += 1
            continue
        attribution = resolver.attribute(paragraph.text)
        if attribution.problem:
            result.problems.append(
                Problem(source.source_file, locator, attribution.problem, "warning")
            )
        if not attribution.text:
            result.problems.append(
                Problem(
                    source.source_file,
                    locator,
                    "paragraph holds only a speaker label and no text; no segment made",
                    "warning",
                )
            )
            continue
        result.add(
            "segments",
            segment_record(
                source,
                round_id=round_id,
                site_id=site_id,
                source_kind="minutes",
                locator=locator,
                text=attribution.text,
                event_id=event.id,
                agenda_item=paragraph.agenda_item,
                stakeholder_group=attribution.stakeholder_group,
                is_action=attribution.is_action,
                speaker_name=attribution.speaker.name if attribution.speaker else None,
                withdrawn=attribution.withdrawn,
            ),
        )
        result.n_records += 1
        result.n_withdrawn += int(attribution.withdrawn)
    return result
