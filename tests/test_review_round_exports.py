"""`ariadne export-review`: a loaded round's coding, read from the views, in every review format."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, create_engine, text

from assets.load.loader import LoadError, read_round_coding, replace_partition
from assets.review.framework_matrix import MATRIX_SHEET
from assets.review.refi_qda import MACHINE_USER, PROJECT_NS
from assets.review.round_exports import export_round
from assets.review.spreadsheet import REVIEW_SHEET
from schemas.codebook import CODEBOOK_DIR, codebook_path, load_codebook
from schemas.tables import SegmentCodings, SegmentThemes

LOADED_AT = datetime(2024, 11, 1, tzinfo=UTC)
ROUND, SITE = "2024-impact", "east-london"
PERSON = "[researcher-0a1b2c]"
COMBINED, SEMANTIC, RULES = "combined-v1:minilm", "semantic-v2:minilm", "rules-v1"
NS = {"q": PROJECT_NS}


@pytest.fixture(scope="module")
def codebook():
    return load_codebook(codebook_path("v1", CODEBOOK_DIR))


def published_themes(engine: Engine) -> pd.DataFrame:
    """The segment_themes view of the round, as analysts read it."""
    with engine.connect() as connection:
        result = connection.execute(
            text(
                "SELECT segment_id, theme_code, category, coder, confidence, codebook_version "
                "FROM segment_themes WHERE round_id = :round_id"
            ),
            {"round_id": ROUND},
        )
        return pd.DataFrame(result.all(), columns=list(result.keys()))


def machine_themes_shown(path: Path) -> dict[str, str | None]:
    rows = list(load_workbook(path)[REVIEW_SHEET].iter_rows(values_only=True))
    header = rows[0]
    return {
        row[header.index("segment_id")]: row[header.index("machine_themes")] for row in rows[1:]
    }


def project_codings(path: Path) -> dict[str, set[tuple[str, str]]]:
    """Per REFI user name, the (selection name, code name) pairs they coded."""
    with zipfile.ZipFile(path) as archive:
        root = ET.fromstring(archive.read("project.qde"))
    users = {user.get("guid"): user.get("name") for user in root.iterfind("q:Users/q:User", NS)}
    codes = {code.get("guid"): code.get("name") for code in root.iter(f"{{{PROJECT_NS}}}Code")}
    found: dict[str, set[tuple[str, str]]] = {name: set() for name in users.values()}
    for selection in root.iter(f"{{{PROJECT_NS}}}PlainTextSelection"):
        for coding in selection.iterfind("q:Coding", NS):
            code = codes[coding.find("q:CodeRef", NS).get("targetGUID")]
            found[users[coding.get("creatingUser")]].add((selection.get("name"), code))
    return found


def matrix_cells(path: Path) -> dict[tuple[str, ...], dict[str, str | None]]:
    rows = list(load_workbook(path)[MATRIX_SHEET].iter_rows(values_only=True))
    header = rows[0]
    return {tuple(row[:3]): dict(zip(header[3:], row[3:], strict=True)) for row in rows[1:]}


def test_a_loaded_round_exports_every_review_file_from_the_views(
    warehouse_engine, make_coded_submission, codebook, tmp_path: Path
) -> None:
    replace_partition(warehouse_engine, make_coded_submission(), "run-1", LOADED_AT)
    coding = read_round_coding(warehouse_engine, ROUND)
    segments, themes = coding.segments, coding.codings
    assert len(segments) == 5 and set(themes["segment_id"]) <= set(segments["segment_id"])

    paths = export_round(
        tmp_path / "out",
        segments,
        themes,
        codebook,
        ROUND,
        published=published_themes(warehouse_engine),
    )

    assert [path.name for path in paths] == [
        "2024-impact-review.xlsx",
        "2024-impact.qdpx",
        "codebook-v1.qdc",
        "2024-impact-framework-matrix.xlsx",
    ]
    shown = machine_themes_shown(paths[0])
    assert len(shown) == len(segments)
    rules = themes[themes["coder"] == RULES]
    assert {segment: set((value or "").split(", ")) - {""} for segment, value in shown.items()} == {
        segment: set(rules.loc[rules["segment_id"] == segment, "theme_code"])
        for segment in segments["segment_id"]
    }, "a warehouse of the rule coder alone shows its rows as the machine's"
    with zipfile.ZipFile(paths[1]) as project:
        assert "project.qde" in project.namelist()
    assert read_round_coding(warehouse_engine, ROUND, "nowhere").segments.empty


def test_only_the_published_machine_coding_is_shown_as_the_machines(
    warehouse_engine, make_coded_submission, codebook, tmp_path: Path
) -> None:
    """The embedding coders ran: segment_themes publishes the combined coder's rows, and a
    person's review of s2. m3 was coded by the semantic coder only, m2 by the rules only."""
    submission = make_coded_submission()
    ids = {sid.split("-")[2]: sid for sid in submission.segments["segment_id"]}

    def rows(*coded: tuple[str, str, str, str]) -> pd.DataFrame:
        return pd.DataFrame(
            [(ids[key], *coding, 0.8, "v1") for key, *coding in coded],
            columns=list(SegmentThemes.to_schema().columns),
        )

    machine = rows(("m1", "stigma", "barrier", COMBINED), ("s1", "stigma", "barrier", COMBINED))
    person = rows(("s2", "racism-experience", "solution", PERSON))
    rules = rows(
        ("m1", "stigma", "barrier", RULES),
        ("m2", "education-mediation-digital", "progress", RULES),
        ("s2", "education-mediation-digital", "solution", RULES),
    )
    semantic = rows(
        ("m1", "pandemic-impact", "barrier", SEMANTIC),
        ("m3", "diversified-care-offer", "solution", SEMANTIC),
    )
    replace_partition(
        warehouse_engine,
        dataclasses.replace(
            submission,
            segment_themes=SegmentThemes.validate(pd.concat([machine, person], ignore_index=True)),
            segment_codings=SegmentCodings.validate(
                pd.concat([rules, semantic, machine, person], ignore_index=True)
            ),
        ),
        "run-1",
        LOADED_AT,
    )
    coding = read_round_coding(warehouse_engine, ROUND)
    segments, codings = coding.segments, coding.codings
    published = published_themes(warehouse_engine)

    paths = export_round(tmp_path / "out", segments, codings, codebook, ROUND, published=published)

    assert machine_themes_shown(paths[0]) == {
        ids["m1"]: "stigma",
        ids["m2"]: None,
        ids["m3"]: None,
        ids["s1"]: "stigma",
        ids["s2"]: None,
    }
    by_user = project_codings(paths[1])
    assert set(by_user) == {MACHINE_USER, PERSON}
    assert {pair for pair in by_user[MACHINE_USER] if pair[1] in codebook.theme_codes} == {
        (ids["m1"], "stigma"),
        (ids["s1"], "stigma"),
    }
    assert by_user[PERSON] == {(ids["s2"], "racism-experience"), (ids["s2"], "solution")}

    text = dict(zip(segments["segment_id"], segments["text"], strict=True))
    cells = matrix_cells(paths[3])
    carers = cells[(ROUND, SITE, "carer")]
    assert carers["stigma"] == f"[barrier] {text[ids['m1']]}"
    assert carers["racism-experience"] == f"[solution] {text[ids['s2']]}"
    assert carers["pandemic-impact"] is None and carers["education-mediation-digital"] is None
    assert all(cell is None for cell in cells[(ROUND, SITE, "staff")].values())
    assert all(cell is None for cell in cells[(ROUND, SITE, "unknown")].values())

    derived = export_round(tmp_path / "derived", segments, codings, codebook, ROUND)
    assert matrix_cells(derived[3]) == cells, "one reviewer who gave a theme: codings tell"


def test_a_warehouse_nothing_was_loaded_into_says_so(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(LoadError, match="materialise a round first"):
        read_round_coding(engine, ROUND)
    engine.dispose()
