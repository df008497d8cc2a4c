"""Word and Excel files are ZIP archives: their declared sizes are checked before they are opened.

python-docx reads every part of a document into memory and builds the whole tree of its
text; openpyxl streams a worksheet but holds its shared strings. A ZIP bomb (a part of a
few kB that inflates to gigabytes) or a huge embedded image would exhaust memory or time
there. Python's `zipfile`, which both use, never inflates a part beyond the size the
archive's directory declares for it, so checking the declared sizes first bounds what
either reader can be made to hold.

An XML part that declares a DTD (`<!DOCTYPE ...>`) is refused too: Office never writes
one (ECMA-376 Part 2 forbids them), and a DTD is what entity tricks need (entities that
expand a billion times, or read a file of the machine). The XML parsers underneath do not
follow them either; refusing the file says plainly what is wrong with it.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

MAX_PART_BYTES = 64 * 2**20
"""The largest part of a .docx or .xlsx once inflated. Word's document.xml for 300 pages of
minutes is about 5 MiB, a worksheet of 50,000 survey responses about 40 MiB, a phone photo
under 10 MiB; python-docx needs about 8 times a document.xml's size to hold its tree, so
this keeps one file's reading near 500 MiB."""

MAX_ARCHIVE_BYTES = 256 * 2**20
"""The most all parts of a .docx or .xlsx may inflate to together: minutes with a dozen
flipchart photos stay well under 100 MiB, and python-docx holds every part at once."""

MAX_PARTS = 10_000
"""The most parts (ZIP members) a .docx or .xlsx may have. Office files have a few dozen,
a document full of images a few hundred; every member costs memory as soon as the archive
is opened, so the count is read from the archive's last record before it is."""

DIRECTORY_BYTES_PER_PART = 512
"""Room per part in the archive's directory (46 bytes and the part's name): the directory
is what opening an archive reads, and its declared size, not its declared count, is what
Python's zipfile trusts."""

_DOCTYPE = b"<!DOCTYPE"
_CHUNK = 2**20
_END_OF_DIRECTORY = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_LONGEST_COMMENT = 0xFFFF


class ArchiveError(ValueError):
    """The archive must not be opened; the message is a reason safe to report."""


def _declared_directory(data: bytes) -> tuple[int, int] | None:
    """(parts, directory bytes) the archive's end record declares, or None if it has none.

    A ZIP64 end record (more than 65,535 members, or made to look so) is not read: any
    archive that needs one has more parts than MAX_PARTS.
    """
    end = data.rfind(_END_OF_DIRECTORY, max(0, len(data) - 22 - _LONGEST_COMMENT))
    if end < 0 or end + 22 > len(data):
        return None
    if end >= 20 and data[end - 20 : end - 16] == _ZIP64_LOCATOR:
        return MAX_PARTS + 1, 0
    parts, directory_bytes = struct.unpack_from("<HI", data, end + 10)
    return (MAX_PARTS + 1 if parts == 0xFFFF else parts), directory_bytes


def _part_kind(name: str) -> str:
    """What a part is, without quoting its name (a crafted archive can name it anything)."""
    return "an XML part" if name.endswith((".xml", ".rels")) else "an embedded file"


def _declares_dtd(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bool:
    """Whether an XML part holds `<!DOCTYPE`; in XML text `<` is always escaped, so only
    markup can. A part that cannot be inflated is left for the reader to report."""
    if not member.filename.endswith((".xml", ".rels")):
        return False
    tail = b""
    try:
        with archive.open(member) as part:
            while chunk := part.read(_CHUNK):
                if _DOCTYPE in tail + chunk:
                    return True
                tail = chunk[-len(_DOCTYPE) :]
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError, zlib.error):
        return False
    return False


def _mib(size: int) -> str:
    return f"{size / 2**20:,.0f} MiB"


def check_archive(data: bytes, what: str) -> None:
    """Raise ArchiveError if the archive's declared sizes break the limits above, or an XML
    part declares a DTD; `what` names the file in the reason ("the Word document").

    Data that is not a ZIP archive passes: the reader then says it cannot read it.
    """
    declared = _declared_directory(data)
    if declared is None:
        return
    parts, directory_bytes = declared
    if parts > MAX_PARTS or directory_bytes > MAX_PARTS * DIRECTORY_BYTES_PER_PART:
        raise ArchiveError(f"{what} has more than {MAX_PARTS:,} parts; not opened")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        return
    members = archive.infolist()
    if len(members) > MAX_PARTS:
        raise ArchiveError(f"{what} has more than {MAX_PARTS:,} parts; not opened")
    total = 0
    for member in members:
        if member.file_size > MAX_PART_BYTES:
            ratio = member.file_size / max(member.compress_size, 1)
            raise ArchiveError(
                f"{what}: {_part_kind(member.filename)} in it would inflate to "
                f"{_mib(member.file_size)} ({ratio:,.0f} times its stored size), more than "
                f"the {_mib(MAX_PART_BYTES)} a part may hold (a ZIP bomb or a huge embedded "
                "file?); not opened"
            )
        total += member.file_size
    if total > MAX_ARCHIVE_BYTES:
        raise ArchiveError(
            f"{what}: its parts would inflate to {_mib(total)}, more than the "
            f"{_mib(MAX_ARCHIVE_BYTES)} a file may hold (huge embedded images?); not opened"
        )
    if any(_declares_dtd(archive, member) for member in members):
        raise ArchiveError(
            f"{what}: an XML part in it declares a DTD (<!DOCTYPE>), which Office files never "
            "do (a crafted file?); not opened"
        )
