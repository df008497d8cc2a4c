"""Hostile and malformed input: files made to break ingest, each in a submission otherwise valid.

Every case must give a clear error naming the file, its row or paragraph, and the reason;
keep within bounded time (an alarm fails the test) and memory (a subprocess under a 1 GiB
address-space limit reads the heaviest files); be quarantined; and leave every other file
of the submission, and every other site, as it was. Most cases call the ingest functions
directly on the standard site of `tests.ingest_fixtures` with one file made hostile; a small
round with a good site and hostile ones goes through `ariadne materialise` and
`ariadne export-review`, to show the same end to end, that names in every script leave no
trace in the warehouse, and that formulas in survey answers reach the review workbook as text.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml
from openpyxl import load_workbook
from sqlalchemy import create_engine, text

from assets.ingest.submission import read_roster, read_site_submission
from assets.text_folding import fold
from pipelines import cli
from schemas import tables
from schemas.submission import SubmissionFileError, parse_manifest
from schemas.tables import SiteSubmission
from tests import hostile_files as hostile
from tests.ingest_fixtures import (
    FILES,
    PREFIX,
    ROUND_ID,
    SITE_ID,
    WORKSHOP_MINUTES,
    Site,
    csv_bytes,
    docx_bytes,
    standard_manifest,
    write_standard_site,
    xlsx_bytes,
)

MODELS = {
    "source_files": tables.SourceFiles,
    "quarantine": tables.Quarantine,
    "attendees": tables.Attendees,
    "segments": tables.RawSegments,
    "survey_answers": tables.SurveyAnswers,
}
TIME_LIMIT_SECONDS = 60
"""Far above what any case takes (most take well under a second): only a case that does
not end in bounded time reaches it."""
MEMORY_LIMIT_BYTES = 2**30


class TookTooLong(BaseException):
    """Raised by the alarm; not an Exception, so no reader's `except Exception` hides it."""


@contextlib.contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail whatever runs inside if it takes longer than `seconds`."""

    def expire(signum: int, frame: object) -> None:
        raise TookTooLong(f"still running after {seconds} s: not bounded in time")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(autouse=True)
def bounded_time() -> Iterator[None]:
    with deadline(TIME_LIMIT_SECONDS):
        yield


def path_of(source_file: str) -> str:
    """The path under the site folder of a `FILES` entry."""
    return source_file.removeprefix(PREFIX)


def read(raw_dir: Path) -> SiteSubmission:
    return read_site_submission(raw_dir, ROUND_ID, SITE_ID)


def status(bundle: SiteSubmission) -> dict[str, str]:
    files = bundle.source_files
    return dict(zip(files["source_file"], files["status"], strict=True))


def errors(bundle: SiteSubmission, source_file: str) -> list[tuple[str, str]]:
    """(locator, reason) of the errors about one file."""
    quarantine = bundle.quarantine
    rows = quarantine[
        (quarantine["source_file"] == source_file) & (quarantine["severity"] == "error")
    ]
    return list(zip(rows["locator"], rows["reason"], strict=True))


def everything_as_text(bundle: SiteSubmission) -> str:
    return " ".join(
        getattr(bundle, name).astype(str).to_csv() for name in MODELS if name != "quarantine"
    )


def assert_contained(
    bundle: SiteSubmission,
    source_file: str,
    locator: str,
    words: tuple[str, ...],
    file_status: str = "quarantined",
    also_affected: tuple[str, ...] = (),
) -> None:
    """The file has an error at `locator` whose reason has every word, the file has the
    status given, every other file of the standard site still loads, every table is valid."""
    found = errors(bundle, source_file)
    assert any(
        where == locator and all(word in reason for word in words) for where, reason in found
    ), found
    files = status(bundle)
    assert files[source_file] == file_status, files
    for other in FILES.values():
        if other != source_file and other not in also_affected:
            assert files[other] == "loaded", (other, files)
    for name, model in MODELS.items():
        model.validate(getattr(bundle, name))
    if file_status == "quarantined":
        assert source_file not in set(bundle.segments["source_file"])
        assert source_file not in set(bundle.survey_answers["source_file"])
    assert len(bundle.segments) > 10


# ---------------------------------------------------------------------------------------
# One hostile file in an otherwise valid site


@dataclasses.dataclass(frozen=True)
class Case:
    """A file of the standard site replaced by a hostile one, and what must be reported."""

    file: str
    content: Callable[[], bytes]
    locator: str
    words: tuple[str, ...]


def _docx_long_paragraph() -> bytes:
    blocks = [*WORKSHOP_MINUTES[:3], ("p", "x" * 200_000), *WORKSHOP_MINUTES[3:]]
    return docx_bytes(blocks)


def _xlsx_renamed() -> bytes:
    return xlsx_bytes([["respondent_role"], ["carer"]])


FILE_CASES = {
    "zero-byte docx": Case(FILES["workshop"], lambda: b"", "file", ("empty", "0 bytes")),
    "truncated docx": Case(
        FILES["workshop"],
        lambda: hostile.truncated(docx_bytes(WORKSHOP_MINUTES)),
        "file",
        ("could not be read as a Word",),
    ),
    "zero-byte xlsx": Case(FILES["followup"], lambda: b"", "file", ("empty", "0 bytes")),
    "truncated xlsx": Case(
        FILES["followup"],
        lambda: hostile.truncated(hostile.small_xlsx()),
        "file",
        ("could not be read as an Excel",),
    ),
    "docx ZIP bomb": Case(
        FILES["workshop"], hostile.docx_zip_bomb, "file", ("1,024 MiB", "ZIP bomb", "64 MiB")
    ),
    "docx with a huge embedded image": Case(
        FILES["workshop"], hostile.docx_huge_image, "file", ("embedded file", "300 MiB")
    ),
    "docx whose images together are too big": Case(
        FILES["workshop"], hostile.docx_many_images, "file", ("its parts", "256 MiB")
    ),
    "docx with entities that expand a billion times": Case(
        FILES["workshop"],
        lambda: hostile.docx_with_dtd(hostile.billion_laughs_entities(), "&lol9;"),
        "file",
        ("DTD",),
    ),
    "xlsx ZIP bomb": Case(FILES["followup"], hostile.xlsx_zip_bomb, "file", ("ZIP bomb",)),
    "xlsx of 20,000 parts": Case(
        FILES["followup"], hostile.xlsx_many_parts, "file", ("10,000 parts",)
    ),
    "xlsx with entities that expand a billion times": Case(
        FILES["followup"],
        lambda: hostile.xlsx_with_dtd(hostile.billion_laughs_entities(), "&lol9;"),
        "file",
        ("DTD",),
    ),
    "binary file named .csv": Case(
        FILES["paper"], hostile.png_bytes, "file", ("NUL byte", "binary")
    ),
    "workbook named .csv": Case(FILES["paper"], _xlsx_renamed, "file", ("ZIP archive",)),
    "CSV in mixed encodings": Case(
        FILES["paper"],
        hostile.csv_mixed_encodings,
        "file",
        ("mixes UTF-8 text (line 2) with Windows-1252 text (line 3)",),
    ),
    "CSV with a NUL byte in a cell": Case(
        FILES["paper"], hostile.csv_with_nul, "file", ("NUL byte on line 3",)
    ),
    "CSV with a million columns": Case(
        FILES["paper"], hostile.csv_million_columns, "row 1", ("1,000,000 columns", "16,384")
    ),
    "CSV with a row of a million columns": Case(
        FILES["paper"], hostile.csv_row_of_million_columns, "row 3", ("1,000,001 columns",)
    ),
    "CSV with a 10 MB cell": Case(
        FILES["paper"],
        lambda: hostile.csv_with_cell(10_000_000),
        "row 3",
        ("not a readable CSV file past this row",),
    ),
    "CSV with a quote never closed": Case(
        FILES["paper"], hostile.csv_unclosed_quote, "row 2", ("never closed",)
    ),
    "action plan with a 10 MB cell": Case(
        FILES["action_plan"],
        lambda: csv_bytes([["action_id", "action", "theme", "status"], ["A1", "y" * 10**7]]),
        "row 2",
        ("not a readable CSV file",),
    ),
    "Markdown minutes in mixed encodings": Case(
        FILES["steering"],
        lambda: "MY: Zoë agreed.\n".encode() + "\nLi: Renée agreed.\n".encode("cp1252"),
        "file",
        ("mixes UTF-8 text (line 1) with Windows-1252 text (line 3)",),
    ),
}


@pytest.mark.parametrize("case", list(FILE_CASES), ids=list(FILE_CASES))
def test_hostile_file_is_quarantined_and_the_rest_loads(tmp_path: Path, case: str) -> None:
    spec = FILE_CASES[case]
    site = write_standard_site(tmp_path)
    site.write(path_of(spec.file), spec.content())
    bundle = read(tmp_path)
    assert_contained(bundle, spec.file, spec.locator, spec.words)


def test_a_cell_longer_than_excel_allows_leaves_out_its_row_only(tmp_path: Path) -> None:
    site = write_standard_site(tmp_path)
    site.write(path_of(FILES["paper"]), hostile.csv_with_cell(40_000))
    bundle = read(tmp_path)
    assert_contained(bundle, FILES["paper"], "row 3, column D", ("32,767",), "loaded")
    loaded = bundle.survey_responses
    assert set(loaded.loc[loaded["source_file"] == FILES["paper"], "locator"]) == {
        "row 2",
        "row 4",
    }
    assert bundle.segments["text"].str.len().max() < 40_000
    files = bundle.source_files.set_index("source_file")
    assert files.loc[FILES["paper"], ["n_records", "n_rejected"]].tolist() == [2, 1]


@pytest.mark.parametrize("name", ["steering", "workshop"])
def test_a_paragraph_of_200000_characters_is_refused_and_its_neighbours_load(
    tmp_path: Path, name: str
) -> None:
    site = write_standard_site(tmp_path)
    if name == "steering":
        site.write(path_of(FILES[name]), hostile.long_paragraph_minutes(200_000))
        kept = {"paragraph 1", "paragraph 3"}
    else:
        site.write(path_of(FILES[name]), _docx_long_paragraph())
        kept = {f"paragraph {n}" for n in (1, 3, 4, 5, 6, 7, 8)}
    bundle = read(tmp_path)
    assert_contained(
        bundle, FILES[name], "paragraph 2", ("200,000 characters", "100,000"), "loaded"
    )
    segments = bundle.segments[bundle.segments["source_file"] == FILES[name]]
    assert kept <= set(segments["locator"]) and "paragraph 2" not in set(segments["locator"])
    assert segments["text"].str.len().max() < 1_000


@pytest.mark.parametrize("name", ["workshop", "paper"])
def test_a_file_too_large_is_refused_unread(tmp_path: Path, name: str) -> None:
    """Sparse files: 300 MiB (Word) and 100 MiB (CSV) that take no room on disk."""
    site = write_standard_site(tmp_path)
    size, limit = (300, 256) if name == "workshop" else (100, 64)
    target = site.site_dir / path_of(FILES[name])
    hostile.sparse_file(target, size * hostile.MiB)
    bundle = read(tmp_path)
    assert_contained(bundle, FILES[name], "file", (f"{size} MiB", f"{limit} MiB", "not read"))
    files = bundle.source_files.set_index("source_file")
    assert pd.isna(files.loc[FILES[name], "source_sha256"]), "not even hashed"


@pytest.mark.parametrize("workbook", [False, True], ids=["docx", "xlsx"])
def test_an_office_file_that_would_read_a_file_of_the_machine_is_refused(
    tmp_path: Path, workbook: bool
) -> None:
    """An external entity (XXE) pointing at a file outside the site: refused, never read."""
    secret = tmp_path / "elsewhere" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text(hostile.SECRET_MARKER)
    site = write_standard_site(tmp_path / "raw")
    entity = hostile.external_entity(secret)
    if workbook:
        name, content = "followup", hostile.xlsx_with_dtd(entity, "&secret;")
    else:
        name, content = "workshop", hostile.docx_with_dtd(entity, "&secret;")
    site.write(path_of(FILES[name]), content)
    bundle = read(tmp_path / "raw")
    assert_contained(bundle, FILES[name], "file", ("DTD",))
    assert hostile.SECRET_MARKER not in everything_as_text(bundle)


# ---------------------------------------------------------------------------------------
# Text that must load, in bounded time


PATHOLOGICAL_PARAGRAPHS = {
    "an action label with 90,000 spaces before its colon": "Action" + " " * 90_000 + "x",
    "a label with 90,000 tabs before its colon": "Amara" + "\t" * 90_000 + "x",
    "a bold label never closed": "**" + "a(" * 45_000,
    "a label whose initials never close": "Carer (" + "T" * 90_000,
}


@pytest.mark.parametrize("paragraph", list(PATHOLOGICAL_PARAGRAPHS))
def test_paragraphs_made_to_backtrack_load_in_bounded_time(tmp_path: Path, paragraph: str) -> None:
    site = write_standard_site(tmp_path)
    text = PATHOLOGICAL_PARAGRAPHS[paragraph]
    site.write(path_of(FILES["steering"]), f"MY: Before.\n\n{text}\n\nLi: After.\n")
    bundle = read(tmp_path)
    segments = bundle.segments[bundle.segments["source_file"] == FILES["steering"]]
    assert list(segments["locator"]) == ["paragraph 1", "paragraph 2", "paragraph 3"]
    assert status(bundle)[FILES["steering"]] == "loaded"


@pytest.mark.parametrize("size", [90_000, 200_000])
def test_a_heading_line_made_to_backtrack_is_read_in_bounded_time(
    tmp_path: Path, size: int
) -> None:
    """`# # # ...x` is a heading; one longer than any paragraph may be is refused as one."""
    site = write_standard_site(tmp_path)
    heading = ("#" + " #" * size)[:size] + "x"
    site.write(path_of(FILES["steering"]), f"{heading}\n\nLi: After.\n")
    bundle = read(tmp_path)
    segments = bundle.segments[bundle.segments["source_file"] == FILES["steering"]]
    if size < 100_000:
        assert list(segments["locator"]) == ["paragraph 1"]
        assert len(segments["agenda_item"].iloc[0]) > 80_000
    else:
        words = ("characters, more than the 100,000",)
        assert_contained(bundle, FILES["steering"], "paragraph 1", words, "loaded")
        assert list(segments["locator"]) == ["paragraph 2"]
        assert segments["agenda_item"].isna().all()


def test_formulas_in_survey_answers_are_read_as_text_exactly(tmp_path: Path) -> None:
    site = write_standard_site(tmp_path)
    site.write(path_of(FILES["paper"]), hostile.csv_formulas())
    bundle = read(tmp_path)
    assert errors(bundle, FILES["paper"]) == []
    texts = bundle.segments.loc[bundle.segments["source_file"] == FILES["paper"], "text"]
    assert list(texts) == list(hostile.FORMULAS)


def test_formulas_in_a_workbook_are_never_read_as_their_formula(tmp_path: Path) -> None:
    """A formula cell is read as the value Excel showed (none, when no program computed it)."""
    site = write_standard_site(tmp_path)
    site.write(path_of(FILES["followup"]), hostile.xlsx_with_formulas())
    bundle = read(tmp_path)
    assert status(bundle)[FILES["followup"]] == "loaded"
    answers = bundle.survey_answers[bundle.survey_answers["source_file"] == FILES["followup"]]
    assert len(answers) >= 2
    assert not answers["value"].str.contains("HYPERLINK|cmd\\|", regex=True).any()
    assert "cmd|" not in everything_as_text(bundle)


# ---------------------------------------------------------------------------------------
# Manifests


def _manifest_text(site_id: str = SITE_ID) -> str:
    manifest = standard_manifest()
    manifest["site"] = site_id
    return yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True)


def _command_marker(tmp_path: Path) -> Path:
    return tmp_path / "the-command-ran"


MANIFEST_CASES: dict[str, tuple[Callable[[Path], str], tuple[str, ...]]] = {
    "billion laughs": (
        lambda tmp: hostile.billion_laughs(after=_manifest_text()),
        ("billion laughs", "1,000,000"),
    ),
    "billion laughs before an impossible date": (
        lambda tmp: (
            "events:\n  - {id: e1, type: other, date: 2024-13-45}\n"
            + hostile.billion_laughs(after="site: east-london\nround: 2024-impact\n")
        ),
        ("billion laughs",),
    ),
    "a tag that runs a command": (
        lambda tmp: (
            _manifest_text()
            + f"notes: !!python/object/apply:os.system ['touch {_command_marker(tmp)}']\n"
        ),
        ("tag",),
    ),
    "a tag that names a function": (
        lambda tmp: _manifest_text() + "notes: !!python/name:os.system\n",
        ("tag",),
    ),
    "a tag of its own": (lambda tmp: _manifest_text() + "notes: !Person Amara\n", ("tag",)),
    "an alias inside itself": (
        lambda tmp: _manifest_text() + "notes: &loop [*loop]\n",
        ("inside the value it names",),
    ),
    "nesting 100,000 deep": (
        lambda tmp: _manifest_text() + hostile.deeply_nested(),
        ("nested too deeply",),
    ),
    "two MiB of manifest": (
        lambda tmp: _manifest_text() + "# padding\n" * (2 * hostile.MiB // 10),
        ("2 MiB", "more than the 1 MiB"),
    ),
    "UTF-16": (lambda tmp: "utf-16", ("NUL byte",)),
}


@pytest.mark.parametrize("case", list(MANIFEST_CASES), ids=list(MANIFEST_CASES))
def test_hostile_manifest_quarantines_its_site_only(tmp_path: Path, case: str) -> None:
    make, words = MANIFEST_CASES[case]
    raw = tmp_path / "raw"
    site = write_standard_site(raw)
    other = write_standard_site(raw, site_id="sheffield")
    manifest = make(tmp_path)
    if manifest == "utf-16":
        site.write("manifest.yaml", _manifest_text().encode("utf-16"))
    else:
        site.write_manifest(manifest)
    bundle = read(raw)
    ((source_file, locator, severity, reason),) = bundle.quarantine[
        ["source_file", "locator", "severity", "reason"]
    ].itertuples(index=False)
    assert (source_file, severity) == (FILES["manifest"], "error")
    assert all(word in reason for word in words), reason
    assert "site not read" in reason and "Amara" not in reason + locator
    assert status(bundle) == {FILES["round"]: "loaded", FILES["manifest"]: "quarantined"}
    assert bundle.segments.empty and bundle.attendees.empty
    assert not _command_marker(tmp_path).exists()

    neighbour = read_site_submission(raw, ROUND_ID, other.site_id)
    assert neighbour.quarantine.empty and len(neighbour.segments) > 10
    roster = read_roster(raw)
    assert set(roster["site_id"]) == {"sheffield"}


def test_the_roster_reads_no_more_of_a_huge_manifest_than_a_manifest_may_hold(
    tmp_path: Path,
) -> None:
    """read_roster reads every manifest of raw/: a 300 MiB one is refused, not read whole."""
    write_standard_site(tmp_path, site_id="sheffield")
    huge = Site(tmp_path)
    hostile.sparse_file(huge.site_dir / "manifest.yaml", 300 * hostile.MiB)
    assert set(read_roster(tmp_path)["site_id"]) == {"sheffield"}
    bundle = read(tmp_path)
    ((locator, reason),) = errors(bundle, FILES["manifest"])
    assert locator == "file" and "300 MiB" in reason


def test_parse_manifest_refuses_a_billion_laughs_in_bounded_time() -> None:
    with pytest.raises(SubmissionFileError, match="billion laughs"):
        parse_manifest(hostile.billion_laughs(after=_manifest_text()).encode())


# ---------------------------------------------------------------------------------------
# Paths that leave the site folder


def _steering_named(path: str) -> Callable[[Site, Path], None]:
    def change(site: Site, tmp_path: Path) -> None:
        manifest = standard_manifest()
        manifest["events"][1]["minutes"] = path
        site.write_manifest(manifest)

    return change


PATH_CASES = {
    "../../etc/passwd": (_steering_named("../../etc/passwd"), "not inside the site folder"),
    "/etc/passwd": (_steering_named("/etc/passwd"), "not inside the site folder"),
    "..\\..\\round.yaml": (_steering_named("..\\..\\round.yaml"), "not inside the site folder"),
    "a 10,000-character name": (
        _steering_named("minutes/" + "x" * 10_000 + ".md"),
        "which does not exist",
    ),
    "a NUL character": (_steering_named("minutes/steering\x00.md"), "which does not exist"),
}


@pytest.mark.parametrize("case", list(PATH_CASES), ids=list(PATH_CASES))
def test_a_manifest_path_outside_the_site_is_refused(tmp_path: Path, case: str) -> None:
    change, words = PATH_CASES[case]
    site = write_standard_site(tmp_path)
    change(site, tmp_path)
    bundle = read(tmp_path)
    found = errors(bundle, FILES["manifest"])
    assert any(where == "events[1].minutes" and words in reason for where, reason in found)
    assert all(len(reason) < 500 for _, reason in found)
    files = status(bundle)
    assert files[FILES["steering"]] == "quarantined", "the file it should have named"
    for key in ("workshop", "followup", "paper", "action_plan"):
        assert files[FILES[key]] == "loaded"
    assert "root:" not in everything_as_text(bundle)


def _outside(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / "outside" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def _link(link: Path, target: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.exists() or link.is_symlink():
        link.unlink()
    link.symlink_to(target)


SECRET_MINUTES = f"MY: {hostile.SECRET_MARKER} was here.\n".encode()
SECRET_CSV = f"respondent_role,what_would_help\ncarer,{hostile.SECRET_MARKER}\n".encode()


def _link_steering_outside(site: Site, tmp_path: Path) -> tuple[str, ...]:
    target = _outside(tmp_path, "steering.md", SECRET_MINUTES)
    _link(site.site_dir / "minutes/2024-06-10-steering.md", target)
    return (FILES["steering"],)


def _link_to_another_site(site: Site, tmp_path: Path) -> tuple[str, ...]:
    other = write_standard_site(site.raw_dir, site_id="sheffield")
    (other.site_dir / "minutes/2024-06-10-steering.md").write_bytes(SECRET_MINUTES)
    _link(
        site.site_dir / "minutes/2024-06-10-steering.md",
        Path("../../sheffield/minutes/2024-06-10-steering.md"),
    )
    return (FILES["steering"],)


def _link_minutes_folder(site: Site, tmp_path: Path) -> tuple[str, ...]:
    folder = tmp_path / "outside" / "minutes"
    folder.mkdir(parents=True)
    for child in (site.site_dir / "minutes").iterdir():
        (folder / child.name).write_bytes(child.read_bytes())
    (folder / "2024-06-10-steering.md").write_bytes(SECRET_MINUTES)
    for child in (site.site_dir / "minutes").iterdir():
        child.unlink()
    (site.site_dir / "minutes").rmdir()
    (site.site_dir / "minutes").symlink_to(folder, target_is_directory=True)
    return (FILES["steering"], FILES["workshop"])


def _link_unnamed_survey(site: Site, tmp_path: Path) -> tuple[str, ...]:
    target = _outside(tmp_path, "answers.csv", SECRET_CSV)
    _link(site.site_dir / "surveys/extra.csv", target)
    return (PREFIX + "surveys/extra.csv",)


def _link_action_plan(site: Site, tmp_path: Path) -> tuple[str, ...]:
    target = _outside(tmp_path, "plan.csv", b"action_id,action,theme,status\nA9,x,stigma,stalled\n")
    _link(site.site_dir / "action_plan.csv", target)
    return (FILES["action_plan"],)


LINK_CASES = {
    "named minutes linked outside raw/": _link_steering_outside,
    "minutes linked to another site's": _link_to_another_site,
    "minutes folder linked outside": _link_minutes_folder,
    "unnamed survey linked outside": _link_unnamed_survey,
    "action plan linked outside": _link_action_plan,
}


@pytest.mark.parametrize("case", list(LINK_CASES), ids=list(LINK_CASES))
def test_a_symbolic_link_out_of_the_site_is_never_followed(tmp_path: Path, case: str) -> None:
    site = write_standard_site(tmp_path / "raw")
    linked = LINK_CASES[case](site, tmp_path)
    bundle = read(tmp_path / "raw")
    for source_file in linked:
        assert_contained(bundle, source_file, "file", ("link", "outside"), also_affected=linked)
        files = bundle.source_files.set_index("source_file")
        assert pd.isna(files.loc[source_file, "source_sha256"]), "not even read to hash it"
    assert hostile.SECRET_MARKER not in everything_as_text(bundle)


def test_a_linked_manifest_leading_outside_stops_only_its_site(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    site = write_standard_site(raw)
    target = _outside(tmp_path, "manifest.yaml", _manifest_text().encode())
    _link(site.site_dir / "manifest.yaml", target)
    write_standard_site(raw, site_id="sheffield")
    bundle = read(raw)
    ((locator, reason),) = errors(bundle, FILES["manifest"])
    assert locator == "file" and "outside" in reason
    assert bundle.segments.empty
    assert set(read_roster(raw)["site_id"]) == {"sheffield"}


def test_a_link_loop_is_reported_not_followed(tmp_path: Path) -> None:
    site = write_standard_site(tmp_path)
    loop = site.site_dir / "minutes/2024-06-10-steering.md"
    loop.unlink()
    loop.symlink_to(loop.name)
    bundle = read(tmp_path)
    found = errors(bundle, FILES["manifest"])
    assert any(where == "events[1].minutes" for where, _ in found), found
    assert status(bundle)[FILES["workshop"]] == "loaded"


def test_a_link_that_stays_inside_the_site_is_read(tmp_path: Path) -> None:
    """The rule is where a link leads, not that it is one: a link inside the site works."""
    site = write_standard_site(tmp_path)
    steering = site.site_dir / "minutes/2024-06-10-steering.md"
    archived = site.site_dir / "archive/steering.md"
    archived.parent.mkdir()
    steering.rename(archived)
    steering.symlink_to(Path("../archive/steering.md"))
    bundle = read(tmp_path)
    assert status(bundle)[FILES["steering"]] == "loaded"
    assert bundle.quarantine.empty


# ---------------------------------------------------------------------------------------
# Names in every script


def _names_manifest() -> dict:
    manifest = standard_manifest()
    manifest["events"][1]["attendees"] = [
        {"name": hostile.RTL_NAME, "role": "carer"},
        {"name": hostile.MIXED_NAME, "role": "staff", "initials": "ZÆŁ"},
        {"name": hostile.EMOJI_NAME, "role": "service_user"},
        {"name": hostile.COMBINING_NAME, "role": "researcher"},
        {"name": hostile.MARKED_NAME, "role": "commissioner"},
    ]
    return manifest


NAMES_MINUTES = (
    f"{hostile.RTL_NAME}: The Arabic-speaking peer group now meets weekly.\n\n"
    "ZÆŁ: Stigma still stops families from asking for help.\n\n"
    f"{hostile.EMOJI_NAME}: The waiting list is shorter.\n\n"
    # Precomposed here, decomposed in the manifest.
    f"{unicodedata.normalize('NFC', hostile.COMBINING_NAME)}: Interpreters help.\n\n"
    # Without the direction mark that the manifest's spelling carries.
    "Yusuf Demirtaş: The budget is confirmed.\n\n"
    # An invisible character inside a name in the text, where the manifest has none.
    "Zoë Æ\u200bgir-Łukasz: Thank you all.\n\n"
    # Names inside the text, two with invisible characters pasted into them.
    f"We thank {hostile.MARKED_NAME}, {hostile.EMOJI_NAME}, Boa\u00adteng's carer Zoë "
    f"Æ\u200bgir-Łukasz and {hostile.RTL_NAME.replace(' ', chr(0x200F) + ' ')} for coming.\n"
)


def test_names_in_any_script_resolve_as_speakers(tmp_path: Path) -> None:
    site = write_standard_site(tmp_path)
    site.write_manifest(_names_manifest())
    site.write(path_of(FILES["steering"]), NAMES_MINUTES)
    bundle = read(tmp_path)
    segments = bundle.segments[bundle.segments["source_file"] == FILES["steering"]]
    assert list(segments["stakeholder_group"].iloc[:6]) == [
        "carer",
        "staff",
        "service_user",
        "researcher",
        "commissioner",
        "staff",
    ]
    assert segments["speaker_name"].iloc[:6].notna().all()
    assert pd.isna(segments["speaker_name"].iloc[6])
    assert not segments["text"].str.contains("\u200b|\u200f", regex=True).any()
    assert errors(bundle, FILES["steering"]) == []
    attendees = set(bundle.attendees["name"])
    assert "Yusuf Demirtaş" in attendees, "the manifest's direction mark is dropped too"


# ---------------------------------------------------------------------------------------
# Memory: the heaviest files, read in a process that may not use more than 1 GiB


HEAVY_FILES = {
    "minutes/bomb.docx": hostile.docx_zip_bomb,
    "minutes/image.docx": hostile.docx_huge_image,
    "minutes/long.md": lambda: hostile.long_paragraph_minutes(200_000).encode(),
    "surveys/bomb.xlsx": hostile.xlsx_zip_bomb,
    "surveys/columns.csv": hostile.csv_million_columns,
    "surveys/cell.csv": lambda: hostile.csv_with_cell(10_000_000),
}
CHILD = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
from assets.ingest.submission import read_roster, read_site_submission
from assets.text_folding import fold


def peak_rss():
    # VmHWM, not ru_maxrss: the latter keeps the forking pytest process's peak across exec.
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


bundle = read_site_submission(sys.argv[1], "{round_id}", "heavy-files")
roster = read_roster(sys.argv[1])
print(json.dumps({{
    "problems": bundle.quarantine[["source_file", "locator", "reason"]].values.tolist(),
    "status": dict(zip(bundle.source_files["source_file"], bundle.source_files["status"])),
    "roster_sites": sorted(set(roster["site_id"])),
    "peak_rss": peak_rss(),
}}))
"""


def test_the_heaviest_files_are_read_within_1_gib(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    site = Site(raw, ROUND_ID, "heavy-files")
    site.write_round({"round": ROUND_ID, "title": "Heavy", "kind": "impact"})
    minutes = [name for name in HEAVY_FILES if name.startswith("minutes/")]
    surveys = [name for name in HEAVY_FILES if name.startswith("surveys/")]
    site.write_manifest(
        {
            "site": "heavy-files",
            "round": ROUND_ID,
            "events": [
                {
                    "id": f"hf-{n}",
                    "type": "other",
                    "date": "2024-05-01",
                    "minutes": name,
                    "attendees": [{"name": hostile.MIXED_NAME, "role": "staff"}],
                }
                for n, name in enumerate(minutes)
            ],
            "surveys": [{"file": name, "instrument": "impact-followup-v1"} for name in surveys],
        }
    )
    for name, make in HEAVY_FILES.items():
        site.write(name, make())
    laughs = Site(raw, ROUND_ID, "laughs")
    laughs.write_manifest(hostile.billion_laughs(after=_manifest_text("laughs")))
    child = CHILD.format(limit=MEMORY_LIMIT_BYTES, round_id=ROUND_ID)
    environment = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", child, str(raw)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[1],
        env=environment,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["peak_rss"] < MEMORY_LIMIT_BYTES
    reasons = {(source, locator): reason for source, locator, reason in report["problems"]}
    prefix = f"{ROUND_ID}/heavy-files/"
    expected = {
        "minutes/bomb.docx": ("file", "ZIP bomb"),
        "minutes/image.docx": ("file", "300 MiB"),
        "minutes/long.md": ("paragraph 2", "200,000 characters"),
        "surveys/bomb.xlsx": ("file", "ZIP bomb"),
        "surveys/columns.csv": ("row 1", "1,000,000 columns"),
        "surveys/cell.csv": ("row 3", "not a readable CSV file"),
    }
    for name, (locator, word) in expected.items():
        assert word in reasons.get((prefix + name, locator), ""), (name, reasons)
    assert report["status"][prefix + "minutes/long.md"] == "loaded"
    assert report["roster_sites"] == ["heavy-files"], "the billion laughs site is left out"


# ---------------------------------------------------------------------------------------
# End to end: `ariadne materialise` and `ariadne export-review` on a round with a good
# site, a site whose every file is hostile, and a site whose manifest is.

E2E_ROUND = "2031-hostile"
GOOD_SITE_MANIFEST = {
    "site": "good-site",
    "round": E2E_ROUND,
    "events": [
        {
            "id": "gs-ws1",
            "type": "local_workshop",
            "date": "2031-03-01",
            "minutes": "minutes/ws.md",
            "attendees": _names_manifest()["events"][1]["attendees"],
        }
    ],
    "surveys": [{"file": "surveys/answers.csv", "instrument": "impact-followup-v1"}],
}
GOOD_SURVEY = [
    ["ID", "respondent_role", "access_ease", "what_would_help"],
    *[[n, "Carer", "Agree", formula] for n, formula in enumerate(hostile.FORMULAS, start=1)],
    [9, "Service user", "4", f"{hostile.RTL_NAME} helped me find a peer group"],
]
HOSTILE_SITE_FILES: dict[str, Callable[[], bytes]] = {
    "minutes/bomb.docx": hostile.docx_zip_bomb,
    "minutes/long.md": lambda: ("Staff: " + "x" * 200_000 + "\n").encode(),
    "surveys/photo.csv": hostile.png_bytes,
    "surveys/mixed.csv": hostile.csv_mixed_encodings,
}
HOSTILE_SITE_EXPECTED = {
    "minutes/bomb.docx": ("file", "ZIP bomb"),
    "minutes/long.md": ("paragraph 1", "characters, more than the 100,000"),
    "surveys/photo.csv": ("file", "NUL byte"),
    "surveys/mixed.csv": ("file", "mixes UTF-8"),
    "minutes/linked.md": ("file", "outside"),
    "manifest.yaml": ("events[3].minutes", "not inside the site folder"),
}


@dataclasses.dataclass
class Materialised:
    root: Path
    raw: Path
    url: str
    exports: list[Path]

    @property
    def workbooks(self) -> list[Path]:
        return [path for path in self.exports if path.suffix == ".xlsx"]

    status: int

    def query(self, sql: str) -> pd.DataFrame:
        engine = create_engine(self.url)
        try:
            with engine.connect() as connection:
                return pd.read_sql_query(text(sql), connection)
        finally:
            engine.dispose()


def _write_round(raw: Path, secret: Path) -> None:
    round_dir = raw / E2E_ROUND
    round_dir.mkdir(parents=True)
    (round_dir / "round.yaml").write_text(
        f"round: {E2E_ROUND}\ntitle: Hostile input\nkind: impact\n"
        "period: {start: 2031-01-01, end: 2031-12-31}\n"
    )
    good = Site(raw, E2E_ROUND, "good-site")
    good.write_manifest(GOOD_SITE_MANIFEST)
    good.write("minutes/ws.md", "# Review\n\n" + NAMES_MINUTES)
    good.write("surveys/answers.csv", csv_bytes(GOOD_SURVEY))

    bad = Site(raw, E2E_ROUND, "hostile-site")
    minutes = [*(name for name in HOSTILE_SITE_FILES if name.startswith("minutes/"))]
    minutes += ["minutes/linked.md", "../../../etc/passwd"]
    bad.write_manifest(
        {
            "site": "hostile-site",
            "round": E2E_ROUND,
            "events": [
                {
                    "id": f"hs-{n}",
                    "type": "other",
                    "date": "2031-03-02",
                    "minutes": name,
                    "attendees": [{"name": hostile.MIXED_NAME, "role": "staff"}],
                }
                for n, name in enumerate(minutes, start=1)
            ],
            "surveys": [
                {"file": name, "instrument": "impact-followup-v1"}
                for name in HOSTILE_SITE_FILES
                if name.startswith("surveys/")
            ],
        }
    )
    for name, make in HOSTILE_SITE_FILES.items():
        bad.write(name, make())
    _link(bad.site_dir / "minutes/linked.md", secret)

    laughs = Site(raw, E2E_ROUND, "laughs-site")
    laughs.write_manifest(hostile.billion_laughs(after=_manifest_text("laughs-site")))


@pytest.fixture(scope="module")
def materialised(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Materialised]:
    root = tmp_path_factory.mktemp("hostile-e2e")
    secret = root / "outside" / "secret.md"
    secret.parent.mkdir()
    secret.write_text(f"MY: {hostile.SECRET_MARKER}\n")
    raw = root / "raw"
    _write_round(raw, secret)
    url = f"sqlite:///{root / 'warehouse.db'}"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ARIADNE_RAW_DIR", str(raw))
        env.setenv("ARIADNE_WAREHOUSE_URL", url)
        env.setenv("ARIADNE_STAGING_DIR", str(root / "staging"))
        env.setenv("ARIADNE_DATA_DOCS_DIR", str(root / "data_docs"))
        env.setenv("ARIADNE_REVIEWS_DIR", str(root / "reviews"))
        env.setenv("ARIADNE_PSEUDONYM_KEY", "hostile-input-test-key")
        env.setenv("DAGSTER_HOME", str(root / "dagster_home"))
        with deadline(600):
            code = cli.main(["materialise", "--round", E2E_ROUND])
            assert cli.main(["export-review", "--round", E2E_ROUND, "--out", str(root)]) == 0
        exports = sorted([*root.glob("*.xlsx"), *root.glob("*.qdpx")])
        yield Materialised(root, raw, url, exports, code)


def test_e2e_the_good_site_lands_beside_the_hostile_ones(materialised: Materialised) -> None:
    assert materialised.status == 0
    files = materialised.query(
        f"SELECT site_id, source_file, status FROM source_files WHERE round_id = '{E2E_ROUND}'"
    )
    good = files[files["site_id"] == "good-site"]
    assert set(good["status"]) == {"loaded"} and len(good) == 4, "round, manifest, two files"
    segments = materialised.query(
        f"SELECT site_id, source_kind FROM segments WHERE round_id = '{E2E_ROUND}'"
    )
    assert set(segments["site_id"]) == {"good-site"}
    assert set(segments["source_kind"]) == {"minutes", "survey"}
    assert len(segments) == 7 + len(hostile.FORMULAS) + 1


def test_e2e_every_hostile_file_is_in_the_quarantine_view(materialised: Materialised) -> None:
    quarantine = materialised.query(
        "SELECT site_id, source_file, locator, reason, severity FROM quarantine "
        f"WHERE round_id = '{E2E_ROUND}' AND severity = 'error'"
    )
    prefix = f"{E2E_ROUND}/hostile-site/"
    for name, (locator, word) in HOSTILE_SITE_EXPECTED.items():
        rows = quarantine[
            (quarantine["source_file"] == prefix + name) & (quarantine["locator"] == locator)
        ]
        assert rows["reason"].str.contains(word, regex=False).any(), (name, quarantine)
    laughs = quarantine[quarantine["site_id"] == "laughs-site"]
    assert list(laughs["source_file"]) == [f"{E2E_ROUND}/laughs-site/manifest.yaml"]
    assert "billion laughs" in laughs["reason"].iloc[0]
    files = materialised.query(
        "SELECT source_file, status FROM source_files "
        f"WHERE round_id = '{E2E_ROUND}' AND site_id = 'hostile-site'"
    )
    statuses = dict(zip(files["source_file"], files["status"], strict=True))
    for name in ("minutes/bomb.docx", "surveys/photo.csv", "surveys/mixed.csv"):
        assert statuses[prefix + name] == "quarantined", statuses
    assert not materialised.query(
        f"SELECT * FROM segments WHERE round_id = '{E2E_ROUND}' AND site_id <> 'good-site'"
    ).shape[0]


def _fold(value: str) -> str:
    """Without case or diacritics, `Ł` and `Æ` too: how anyone would search for a name."""
    return fold(value).text


def _name_parts() -> set[str]:
    parts: set[str] = set()
    for name in hostile.HOSTILE_NAMES:
        for part in re.split(r"[\s-]+", _fold(re.sub(r"[\u200b-\u200f]", "", name))):
            if sum(c.isalpha() for c in part) >= 3:
                parts.add(part)
    return parts


def test_e2e_names_in_any_script_leave_no_trace(materialised: Materialised) -> None:
    engine = create_engine(materialised.url)
    try:
        with engine.connect() as connection:
            names = connection.execute(
                text("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
            ).scalars()
            texts = {
                f"warehouse:{name}": pd.read_sql_query(
                    text(f'SELECT * FROM "{name}"'), connection
                ).to_csv()
                for name in list(names)
            }
    finally:
        engine.dispose()
    assert len(materialised.exports) == 3, "review and matrix workbooks, REFI-QDA project"
    for path in materialised.exports:
        with zipfile.ZipFile(path) as archive:
            texts[path.name] = " ".join(
                archive.read(member).decode("utf-8", errors="ignore")
                for member in archive.namelist()
            )
    parts = sorted(_name_parts())
    assert {"محمد", "lukasz", "boateng", "renee", "demirtas"} <= set(parts)
    patterns = [re.compile(rf"(?<![\w\[-]){re.escape(part)}(?![\w\]])") for part in parts]
    planted = [_fold(f"said {part.upper()}.") for part in parts]
    assert all(p.search(t) for p, t in zip(patterns, planted, strict=True)), "the scan works"
    hits = [
        f"{where}: pattern #{n}"
        for where, content in texts.items()
        for n, pattern in enumerate(patterns)
        if pattern.search(_fold(content))
    ]
    assert hits == []
    assert hostile.SECRET_MARKER not in " ".join(texts.values())
    segments = materialised.query(f"SELECT text FROM segments WHERE round_id = '{E2E_ROUND}'")
    assert segments["text"].str.contains("peer group").any(), "the text itself is kept"


def test_e2e_formulas_reach_the_review_workbook_as_text(materialised: Materialised) -> None:
    review = next(path for path in materialised.workbooks if path.name.endswith("-review.xlsx"))
    assert {path.name for path in materialised.workbooks} == {
        f"{E2E_ROUND}-review.xlsx",
        f"{E2E_ROUND}-framework-matrix.xlsx",
    }
    for path in materialised.workbooks:
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                if member.startswith("xl/worksheets/"):
                    assert not re.search(rb"<f[ >]", archive.read(member)), (path, member)
    formula_like = []
    for path in materialised.workbooks:
        for sheet in load_workbook(path).worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    if isinstance(cell.value, str) and cell.value.startswith(("=", "+", "-", "@")):
                        assert cell.data_type == "s", (path.name, cell.coordinate)
                        assert cell.quotePrefix, (path.name, cell.coordinate)
                        formula_like.append(cell.value)
    texts = [cell.value for row in load_workbook(review)["review"].iter_rows() for cell in row]
    assert any(str(value).startswith("=HYPERLINK(") for value in texts)
    assert any(str(value).startswith("=cmd|") for value in texts)
    assert len(formula_like) >= 4
