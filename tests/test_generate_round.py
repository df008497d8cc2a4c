"""`ariadne generate`: a synthetic round that follows the contract, with an exact ground truth.

Generated through the CLI, as a data manager or the benchmark runs it: the same arguments
give the same bytes, `ariadne validate` finds nothing wrong, the ground truth places every
planted name and identifier exactly (and the anonymiser's own patterns find none it left
out), and a materialised round leaves no planted identifier or roster name in the warehouse.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml
from sqlalchemy import create_engine, inspect, text

from assets.anonymise import identifiers
from assets.ingest.minutes import text_paragraphs, word_paragraphs
from benchmarks.anonymiser import NAMES
from benchmarks.generate_round import GROUND_TRUTH, IDENTIFIER_KINDS
from pipelines import cli

SMALL = ["--sites", "2", "--workshops-per-site", "2", "--responses-per-site", "20"]
FREE_TEXT_ITEMS = ("what_changed", "still_in_way", "what_would_help")
PLANTED_COLUMNS = ("Name", "Email", "action", "evidence")
# The anonymiser's patterns for each identifier, to find any the ground truth left out.
PATTERNS = {
    "phone": re.compile(identifiers.PHONE, re.IGNORECASE),
    "email": re.compile(r"[\w.+-]+@example\.org"),
    "postcode": re.compile(identifiers.POSTCODE, re.IGNORECASE),
    "nhs_number": re.compile(identifiers.NHS_NUMBER),
    "ni_number": re.compile(identifiers.NI_NUMBER, re.IGNORECASE),
    "address": re.compile(identifiers.STREET_ADDRESS),
    "date_of_birth": re.compile(identifiers.DATE_OF_BIRTH),
}
NAME_PARTS = sorted(
    {
        part
        for firsts, lasts in NAMES.values()
        for name in (*firsts, *lasts)
        for part in name.split()
    },
    key=len,
    reverse=True,
)
ANY_NAME = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, NAME_PARTS)) + r")(?!\w)")


def _generate(out: Path, *arguments: str) -> Path:
    assert cli.main(["generate", *arguments, "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def small_round(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 sites x 2 workshops x 20 responses, seed 7, under raw/generated/."""
    return _generate(tmp_path_factory.mktemp("small") / "raw", *SMALL, "--seed", "7")


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _truth(raw: Path) -> list[dict]:
    lines = (raw / "generated" / GROUND_TRUTH).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_the_same_arguments_give_byte_identical_files(small_round: Path, tmp_path: Path) -> None:
    again = _generate(tmp_path / "again", *SMALL, "--seed", "7")
    first, second = _files(small_round), _files(again)
    assert sorted(first) == sorted(second)
    assert [name for name in first if first[name] != second[name]] == []
    assert any(name.endswith(".docx") for name in first)
    assert any(name.endswith(".xlsx") for name in first)
    other = _files(_generate(tmp_path / "other-seed", *SMALL, "--seed", "8"))
    assert (
        other["generated/east-london/manifest.yaml"] != first["generated/east-london/manifest.yaml"]
    )


def test_a_site_does_not_depend_on_how_many_sites_there_are(
    small_round: Path, tmp_path: Path
) -> None:
    one = _generate(tmp_path / "one", "--sites", "1", *SMALL[2:], "--seed", "7")
    site = "generated/east-london/"
    alone = {name: data for name, data in _files(one).items() if name.startswith(site)}
    among_two = {name: data for name, data in _files(small_round).items() if name.startswith(site)}
    assert alone and alone == among_two


def test_validate_accepts_the_generated_round_with_no_problem(
    small_round: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["validate", str(small_round / "generated")]) == 0
    report = capsys.readouterr().out.splitlines()
    assert len(report) == 2, report
    for line in report:
        assert line.endswith("; 0 problems"), line
        segments, responses = re.search(r": (\d+) segments, (\d+) survey responses", line).groups()
        assert int(segments) > 100 and int(responses) == 20


def test_the_round_follows_the_contract_layout(small_round: Path) -> None:
    round_dir = small_round / "generated"
    assert yaml.safe_load((round_dir / "round.yaml").read_text())["round"] == "generated"
    sites = sorted(p.name for p in round_dir.iterdir() if p.is_dir())
    assert sites == ["coventry-warwickshire", "east-london"]
    for site in sites:
        manifest = yaml.safe_load((round_dir / site / "manifest.yaml").read_text())
        assert (manifest["site"], manifest["round"]) == (site, "generated")
        assert len(manifest["events"]) == 2
        minutes = {Path(event["minutes"]).suffix for event in manifest["events"]}
        assert minutes == {".docx", ".md"}
        assert {Path(s["file"]).suffix for s in manifest["surveys"]} == {".xlsx", ".csv"}
        forms = openpyxl.load_workbook(round_dir / site / "surveys" / "followup-forms.xlsx")
        header = [cell.value for cell in next(forms.worksheets[0].iter_rows(max_row=1))]
        assert {"Name", "Email", "Start time"} <= set(header)
        assert (round_dir / site / "action_plan.csv").is_file()


def _texts(raw: Path, path: Path) -> Iterator[tuple[str, str]]:
    """(locator, text) of every paragraph, and of every cell that can hold a planted item."""
    if path.suffix in (".docx", ".md"):
        data = path.read_bytes()
        paragraphs = word_paragraphs(data) if path.suffix == ".docx" else text_paragraphs(data)
        for paragraph in paragraphs:
            yield f"paragraph {paragraph.number}", paragraph.text
        return
    if path.suffix == ".xlsx":
        sheet = openpyxl.load_workbook(path).worksheets[0]
        rows = [
            ["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)
        ]
    else:
        rows = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))
    site_dir = next(parent for parent in path.parents if (parent / "manifest.yaml").exists())
    manifest = yaml.safe_load((site_dir / "manifest.yaml").read_text(encoding="utf-8"))
    name = path.relative_to(site_dir).as_posix()
    columns = next(
        (s.get("columns", {}) for s in manifest.get("surveys", []) if s["file"] == name), {}
    )
    for number, row in enumerate(rows[1:], start=2):
        for header, value in zip(rows[0], row, strict=True):
            if columns.get(header, header) in FREE_TEXT_ITEMS:
                yield f"row {number}, item {columns.get(header, header)}", value
            elif header in PLANTED_COLUMNS:
                yield f"row {number}, column {header}", value


def test_the_ground_truth_places_every_planted_item_and_leaves_none_out(
    small_round: Path,
) -> None:
    truth = _truth(small_round)
    by_place: dict[tuple[str, str], list[dict]] = {}
    for item in truth:
        by_place.setdefault((item["file"], item["locator"]), []).append(item)
    placed, unlisted = 0, []
    for path in sorted((small_round / "generated").rglob("*")):
        if path.suffix not in (".docx", ".md", ".xlsx", ".csv"):
            continue
        file = path.relative_to(small_round).as_posix()
        for locator, content in _texts(small_round, path):
            here = by_place.pop((file, locator), [])
            for item in here:
                assert content[item["start"] : item["end"]] == item["text"], (file, locator, item)
                placed += 1

            def listed(start: int, end: int, here: list[dict] = here) -> bool:
                return any(item["start"] <= start and end <= item["end"] for item in here)

            for kind, pattern in PATTERNS.items():
                for match in pattern.finditer(content):
                    span = match.span("date") if kind == "date_of_birth" else match.span()
                    digits = re.sub(r"\D", "", match.group())
                    if kind == "nhs_number" and not identifiers.nhs_check_digit_ok(digits):
                        continue
                    if not listed(*span):
                        unlisted.append((kind, file, locator, match.group()))
            unlisted += [
                ("name", file, locator, match.group())
                for match in ANY_NAME.finditer(content)
                if not listed(*match.span())
            ]
    assert by_place == {}, "ground-truth lines whose locator names no paragraph or cell"
    assert placed == len(truth)
    assert unlisted == []


def test_every_kind_of_identifier_and_name_is_planted_at_every_site(small_round: Path) -> None:
    truth = pd.DataFrame(_truth(small_round))
    for site, planted in truth.groupby("site"):
        kinds = set(planted["kind"])
        assert set(IDENTIFIER_KINDS) | {"name", "initials"} <= kinds, site
        names = planted[planted["kind"] == "name"]
        assert {"attendee", "other"} <= set(names["person"]), site
        assert {"full", "given", "title", "label", "column"} <= set(names["form"]), site
        assert set(planted["file"].str.rsplit(".", n=1).str[1]) == {"docx", "md", "xlsx", "csv"}
    nhs = truth.loc[truth["kind"] == "nhs_number", "text"].str.replace(r"\D", "", regex=True)
    assert nhs.map(identifiers.nhs_check_digit_ok).all()
    assert nhs.str.startswith("999").all()
    phones = truth.loc[truth["kind"] == "phone", "text"]
    assert phones.str.contains(r"7700 ?900|1632\)? ?960|20 7946 0").all()
    assert truth.loc[truth["kind"] == "email", "text"].str.endswith("@example.org").all()


def test_names_come_from_at_least_eight_origins(small_round: Path) -> None:
    truth = pd.DataFrame(_truth(small_round))
    names = truth[truth["kind"] == "name"]
    assert names["origin"].nunique() >= 8
    assert names.loc[names["person"] == "other", "origin"].nunique() >= 8


def _fold(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _leak_patterns(raw: Path, truth: list[dict]) -> dict[str, re.Pattern[str]]:
    """Roster names and their parts as names are written; planted identifiers in any spacing."""
    patterns: dict[str, re.Pattern[str]] = {}
    for manifest in raw.glob("*/*/manifest.yaml"):
        data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
        people = [a["name"] for event in data["events"] for a in event["attendees"]]
        for name in people + [w["name"] for w in data.get("withdrawals") or []]:
            patterns[name] = re.compile(re.escape(_fold(name)).replace(r"\ ", r"\s+"))
            # Each part, hyphenated parts whole and split: 'Al-Hassan' and 'Hassan'.
            for part in {*name.split(), *re.split(r"[\s-]+", name)}:
                if len(part) >= 3:
                    patterns[part] = re.compile(rf"(?<![\w\[]){re.escape(_fold(part))}(?![\w\]])")
    for item in truth:
        if item["kind"] in IDENTIFIER_KINDS:
            spaced = r"\s*".join(re.escape(c) for c in _fold(item["text"]) if not c.isspace())
            patterns[item["text"]] = re.compile(rf"(?<!\w){spaced}(?!\w)")
    return patterns


def test_a_materialised_generated_round_leaks_no_identifier_or_roster_name(
    tmp_path: Path,
) -> None:
    raw = _generate(
        tmp_path / "raw",
        *("--sites", "1", "--workshops-per-site", "1", "--responses-per-site", "10"),
        "--seed",
        "5",
    )
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ARIADNE_RAW_DIR", str(raw))
        env.setenv("ARIADNE_WAREHOUSE_URL", url)
        env.setenv("ARIADNE_STAGING_DIR", str(tmp_path / "staging"))
        env.setenv("ARIADNE_DATA_DOCS_DIR", str(tmp_path / "data_docs"))
        env.setenv("ARIADNE_REVIEWS_DIR", str(tmp_path / "reviews"))
        env.setenv("ARIADNE_PSEUDONYM_KEY", "generated-round-test-key")
        env.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
        assert cli.main(["materialise"]) == 0
    engine = create_engine(url)
    try:
        tables = inspect(engine).get_table_names() + inspect(engine).get_view_names()
        with engine.connect() as connection:
            contents = {
                table: _fold(
                    pd.read_sql_query(text(f'SELECT * FROM "{table}"'), connection).to_csv()
                )
                for table in tables
            }
            responses = connection.execute(
                text("SELECT SUM(n_records) FROM source_files WHERE source_kind = 'survey'")
            ).scalar()
    finally:
        engine.dispose()
    assert responses == 10
    assert "[person]" in contents["segments"] and "[phone]" in contents["segments"]
    truth = _truth(raw)
    assert {item["kind"] for item in truth} >= set(IDENTIFIER_KINDS)
    patterns = _leak_patterns(raw, truth)
    assert len(patterns) > 40
    # The scan is not vacuous: every pattern finds its name or identifier in the raw files.
    written = _fold(
        " ".join(
            content
            for path in sorted(raw.rglob("*"))
            if path.suffix in (".docx", ".md", ".xlsx", ".csv")
            for _, content in _texts(raw, path)
        )
    )
    assert [kind for kind, pattern in patterns.items() if not pattern.search(written)] == []
    leaks = [
        f"{table}: {kind}"
        for table, content in contents.items()
        for kind, pattern in patterns.items()
        if pattern.search(content)
    ]
    assert leaks == []
