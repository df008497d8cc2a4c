"""The review store: one CSV per reviewer and round x site, merged on write, checked on read."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from assets.anonymise.pseudonyms import Pseudonymiser
from assets.code.coder import CodingResult
from assets.review.refi_qda import category_guid, export_project_qdpx
from assets.review.spreadsheet import REVIEW_SHEET, export_review_xlsx
from assets.review.store import (
    STORE_COLUMNS,
    ReviewStoreError,
    import_review_file,
    read_reviews,
    review_file,
    review_rows,
    reviewer_pseudonym,
    write_reviews,
)
from tests.test_review_refi_qda import (
    MINUTES,
    add_selection,
    add_user,
    coded_round,
    load_codebook_v1,
    rewrite,
)

ROUND, SITE = "2024-impact", "east-london"
ANA, BEN = "[researcher-0a1b2c]", "[researcher-3d4e5f]"
FIRST = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
SHA = "d4" * 32


def rows(coder: str, decisions: dict[str, tuple[str, str]], at: datetime = FIRST) -> pd.DataFrame:
    """Store rows for one coder: segment_id -> (category, ';'-joined themes)."""
    return pd.DataFrame(
        [
            {
                "segment_id": segment_id,
                "coder": coder,
                "category": category,
                "themes": themes,
                "reviewed_at": at.isoformat(timespec="seconds"),
                "source": "spreadsheet",
                "source_sha256": SHA,
                "codebook_version": "v2",
            }
            for segment_id, (category, themes) in decisions.items()
        ],
        columns=list(STORE_COLUMNS),
    )


def decisions(frame: pd.DataFrame) -> dict[tuple[str, str], tuple[str, str]]:
    return {
        (row.coder, row.segment_id): (row.category, row.themes)
        for row in frame.itertuples(index=False)
    }


def test_a_review_file_is_named_by_the_pseudonym_without_brackets(tmp_path: Path) -> None:
    path = review_file(tmp_path, ROUND, SITE, "[researcher-3fa91c]")
    assert path == tmp_path / ROUND / SITE / "researcher-3fa91c.csv"
    with pytest.raises(ValueError, match="pseudonym"):
        review_file(tmp_path, ROUND, SITE, "Chiamaka Obi")


def test_written_rows_read_back_with_every_column(tmp_path: Path) -> None:
    written = rows(ANA, {"s1": ("barrier", "stigma;racism"), "s2": ("progress", "")})
    [path] = write_reviews(tmp_path, ROUND, SITE, written)
    assert path.name == "researcher-0a1b2c.csv"
    read = read_reviews(tmp_path, ROUND, SITE)
    assert list(read.columns) == list(STORE_COLUMNS)
    pd.testing.assert_frame_equal(read, written.astype("object"), check_dtype=False)


def test_a_new_import_replaces_that_coders_rows_for_its_segments_only(tmp_path: Path) -> None:
    write_reviews(tmp_path, ROUND, SITE, rows(ANA, {"s1": ("barrier", "stigma")}))
    write_reviews(tmp_path, ROUND, SITE, rows(ANA, {"s2": ("progress", "racism")}))
    write_reviews(tmp_path, ROUND, SITE, rows(BEN, {"s1": ("solution", "")}))
    later = FIRST + timedelta(days=1)
    write_reviews(tmp_path, ROUND, SITE, rows(ANA, {"s1": ("solution", "racism")}, later))

    read = read_reviews(tmp_path, ROUND, SITE)
    assert decisions(read) == {
        (ANA, "s1"): ("solution", "racism"),
        (ANA, "s2"): ("progress", "racism"),
        (BEN, "s1"): ("solution", ""),
    }
    pairs = zip(read["coder"], read["segment_id"], strict=True)
    stamp = dict(zip(pairs, read["reviewed_at"], strict=True))
    assert stamp[(ANA, "s1")] == later.isoformat(timespec="seconds")
    assert stamp[(ANA, "s2")] == FIRST.isoformat(timespec="seconds")


def test_a_decision_imported_again_unchanged_keeps_when_it_was_first_made(tmp_path: Path) -> None:
    write_reviews(tmp_path, ROUND, SITE, rows(ANA, {"s1": ("barrier", "stigma")}))
    write_reviews(
        tmp_path, ROUND, SITE, rows(ANA, {"s1": ("barrier", "stigma")}, FIRST + timedelta(days=3))
    )
    [stamp] = read_reviews(tmp_path, ROUND, SITE)["reviewed_at"]
    assert stamp == FIRST.isoformat(timespec="seconds")


def test_reading_a_round_site_without_reviews_gives_an_empty_frame(tmp_path: Path) -> None:
    read = read_reviews(tmp_path, ROUND, "nowhere")
    assert read.empty and list(read.columns) == list(STORE_COLUMNS)


def test_the_write_is_atomic_a_failed_write_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    [path] = write_reviews(tmp_path, ROUND, SITE, rows(ANA, {"s1": ("barrier", "stigma")}))
    before = path.read_bytes()

    def refuse(source, target) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        write_reviews(tmp_path, ROUND, SITE, rows(ANA, {"s2": ("progress", "racism")}))
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name], "no temporary file left"


def test_rows_that_could_not_be_read_back_are_never_written(tmp_path: Path) -> None:
    bad = rows(ANA, {"s1": ("barrier", "stigma")}).assign(category="maybe")
    with pytest.raises(ReviewStoreError, match="row 1: category"):
        write_reviews(tmp_path, ROUND, SITE, bad)
    assert not (tmp_path / ROUND).exists()


GOOD_LINE = f"s1,{ANA},barrier,stigma,2026-03-02T09:30:00+00:00,spreadsheet,{SHA},v2"


@pytest.mark.parametrize(
    ("content", "row", "reason"),
    [
        ("segment_id,coder\n", 1, "the header must be"),
        (f"{','.join(STORE_COLUMNS)}\n{GOOD_LINE}\ns2,{ANA},barrier\n", 3, "3 fields, not 8"),
        (f"{','.join(STORE_COLUMNS)}\n{GOOD_LINE.replace('barrier', 'sad')}\n", 2, "category"),
        (
            f"{','.join(STORE_COLUMNS)}\n{GOOD_LINE.replace(ANA, 'Deepika Raman')}\n",
            2,
            "coder is not a pseudonym",
        ),
        (f"{','.join(STORE_COLUMNS)}\n{GOOD_LINE.replace(ANA, BEN)}\n", 2, "named after"),
        (
            f"{','.join(STORE_COLUMNS)}\n{GOOD_LINE.replace('+00:00', '+01:00')}\n",
            2,
            "not in UTC",
        ),
        (
            f"{','.join(STORE_COLUMNS)}\n{GOOD_LINE.replace('2026-03-02T09:30:00', 'yesterday')}\n",
            2,
            "not an ISO 8601",
        ),
        (f"{','.join(STORE_COLUMNS)}\n{GOOD_LINE.replace('stigma', 'Stigma!')}\n", 2, "themes"),
        (f"{','.join(STORE_COLUMNS)}\n{GOOD_LINE.replace(SHA, 'abc')}\n", 2, "source_sha256"),
        (f"{','.join(STORE_COLUMNS)}\n{GOOD_LINE}\n{GOOD_LINE}\n", 3, "reviewed twice"),
    ],
)
def test_a_malformed_file_is_refused_naming_file_row_and_reason(
    tmp_path: Path, content: str, row: int, reason: str
) -> None:
    path = tmp_path / ROUND / SITE / "researcher-0a1b2c.csv"
    path.parent.mkdir(parents=True)
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ReviewStoreError) as raised:
        read_reviews(tmp_path, ROUND, SITE)
    message = str(raised.value)
    assert message.startswith(f"{path}: row {row}: ")
    assert reason in message
    assert "Deepika" not in message


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / ROUND / SITE / "researcher-0a1b2c.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"segment_id,coder\n\xff\xfe\n")
    with pytest.raises(ReviewStoreError, match="not UTF-8"):
        read_reviews(tmp_path, ROUND, SITE)


def test_review_rows_carry_each_reviewed_pair_with_its_category_and_themes_or_none() -> None:
    reviewed = pd.DataFrame(
        {"segment_id": ["s1", "s2"], "coder": [ANA, ANA], "category": ["solution", "progress"]}
    )
    codings = pd.DataFrame(
        {
            "segment_id": ["s1", "s1"],
            "theme_code": ["stigma", "racism"],
            "category": ["solution", "solution"],
            "coder": [ANA, ANA],
        }
    )
    made = review_rows(
        reviewed,
        codings,
        reviewed_at=datetime(2026, 3, 2, 10, 30, tzinfo=UTC),
        source="qdpx",
        source_sha256=SHA,
        codebook_version="v2",
    )
    assert decisions(made) == {
        (ANA, "s1"): ("solution", "racism;stigma"),
        (ANA, "s2"): ("progress", ""),
    }
    assert set(made["reviewed_at"]) == {"2026-03-02T10:30:00+00:00"}
    assert set(made["source"]) == {"qdpx"}


def test_reviewer_names_become_researcher_pseudonyms_and_pseudonyms_stay() -> None:
    pseudonymiser = Pseudonymiser(b"a review store test key")
    pseudonym = reviewer_pseudonym("  Kwame Asante ", pseudonymiser)
    assert pseudonym == pseudonymiser.pseudonym("Kwame Asante", "researcher")
    assert pseudonym.startswith("[researcher-") and "Kwame" not in pseudonym
    assert reviewer_pseudonym(pseudonym, pseudonymiser) == pseudonym
    assert reviewer_pseudonym("Mei Ling Chen", pseudonymiser) != pseudonym


# --- a reviewed file read as store rows -------------------------------------------------

PSEUDONYMISER = Pseudonymiser(b"a review store test key")


@pytest.fixture(scope="module")
def coded() -> CodingResult:
    return coded_round(("east-london",))


def m1_of(coded: CodingResult) -> str:
    return next(s for s in coded.segments["segment_id"] if "-m1-" in s)


def imported_rows(path: Path, coded: CodingResult) -> pd.DataFrame:
    imported = import_review_file(
        path,
        coded.segments,
        coded.segment_themes,
        load_codebook_v1(),
        PSEUDONYMISER,
        reviewed_at=FIRST,
    )
    assert imported.problems == [] and list(imported.by_site) == [SITE]
    return imported.by_site[SITE]


def test_a_spreadsheet_category_override_on_a_segment_left_without_themes_is_stored(
    coded: CodingResult, tmp_path: Path
) -> None:
    m1 = m1_of(coded)
    path = tmp_path / "review.xlsx"
    export_review_xlsx(coded.segments, coded.segment_themes, load_codebook_v1(), path)
    workbook = load_workbook(path)
    sheet = workbook[REVIEW_SHEET]
    column = {cell.value: cell.column for cell in sheet[1]}
    row = next(r for r in range(2, sheet.max_row + 1) if sheet.cell(r, 1).value == m1)
    rules = coded.segment_themes
    values = {
        "accept": "n",
        "reject_themes": ", ".join(rules.loc[rules["segment_id"] == m1, "theme_code"]),
        "category_override": "solution",
        "reviewer": "Kwame Asante",
    }
    for name, value in values.items():
        sheet.cell(row, column[name]).value = value
    workbook.save(path)

    stored = imported_rows(path, coded)

    assert decisions(stored) == {
        (reviewer_pseudonym("Kwame Asante", PSEUDONYMISER), m1): ("solution", "")
    }
    assert set(stored["source"]) == {"spreadsheet"}


def test_a_qdpx_category_coding_alone_is_stored_as_a_review_without_themes(
    coded: CodingResult, tmp_path: Path
) -> None:
    codebook = load_codebook_v1()
    path = tmp_path / "round.qdpx"
    export_project_qdpx(coded.segments, coded.segment_themes, codebook, path, round_id=ROUND)

    def code_by_hand(root: ET.Element) -> None:
        person = add_user(root, "Mei Ling Chen")
        add_selection(root, MINUTES, 0, 10, person, category_guid(codebook, "solution"))

    stored = imported_rows(rewrite(path, tmp_path / "back.qdpx", code_by_hand), coded)

    assert decisions(stored) == {
        (reviewer_pseudonym("Mei Ling Chen", PSEUDONYMISER), m1_of(coded)): ("solution", "")
    }
    assert set(stored["source"]) == {"qdpx"}
