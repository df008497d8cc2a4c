"""People in charge, end to end through the CLI: export, review, `ariadne import-review`, rerun.

One sample site is materialised on SQLite; a reviewer fills the review workbook (reject a
theme, add one, override a category, accept), and a REFI-QDA project gets a person's coding.
What they decided must be what segment_themes and theme_prevalence publish, must survive a
rerun of the round, and the reviewers' real names must reach no file the platform writes.
"""

from __future__ import annotations

import dataclasses
import shutil
import unicodedata
import uuid
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from sqlalchemy import create_engine, text

from assets.anonymise.pseudonyms import Pseudonymiser
from assets.review.refi_qda import PROJECT_NS, code_guid
from assets.review.spreadsheet import REVIEW_COLUMNS, REVIEW_SHEET, SEGMENT_COLUMNS
from pipelines import cli
from schemas.codebook import CODEBOOK_DIR, codebook_path, latest_version, load_codebook

SAMPLE_RAW = Path(__file__).resolve().parents[1] / "raw"
ROUND, SITE = "2024-impact", "east-london"
KEY = "review-end-to-end-test-key"
REVIEWER = "Siobhán Ní Bhriain"
QDA_CODER = "Oluwaseun Adeyemi-Kowalczyk"
NS = {"q": PROJECT_NS}


@dataclasses.dataclass
class Space:
    root: Path
    url: str
    reviews: Path
    dagster_home: Path
    exports: Path

    def query(self, sql: str) -> pd.DataFrame:
        engine = create_engine(self.url)
        try:
            with engine.connect() as connection:
                return pd.read_sql_query(text(sql), connection)
        finally:
            engine.dispose()

    def themes(self) -> pd.DataFrame:
        return self.query(
            "SELECT segment_id, theme_code, category, coder FROM segment_themes "
            f"WHERE round_id = '{ROUND}' AND site_id = '{SITE}'"
        )

    def prevalence(self) -> dict[tuple[str, str], int]:
        """n_segments per (theme, category) over every stakeholder group of the site."""
        rows = self.query(
            "SELECT theme_code, category, n_segments FROM theme_prevalence "
            f"WHERE round_id = '{ROUND}' AND site_id = '{SITE}' AND stakeholder_group = 'all'"
        )
        return {
            (theme, category): int(n)
            for theme, category, n in rows.itertuples(index=False, name=None)
        }

    def categories(self) -> dict[str, str]:
        rows = self.query(
            f"SELECT segment_id, category FROM segments WHERE round_id = '{ROUND}' "
            f"AND site_id = '{SITE}'"
        )
        return dict(zip(rows["segment_id"], rows["category"], strict=True))


@pytest.fixture(scope="module")
def space(tmp_path_factory) -> Iterator[Space]:
    """The sample rounds' raw files, one site of 2024-impact materialised into SQLite."""
    root = tmp_path_factory.mktemp("reviews-e2e")
    shutil.copytree(SAMPLE_RAW, root / "raw")
    space = Space(
        root=root,
        url=f"sqlite:///{root / 'warehouse.db'}",
        reviews=root / "reviews",
        dagster_home=root / "dagster_home",
        exports=root / "exports",
    )
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ARIADNE_RAW_DIR", str(root / "raw"))
        env.setenv("ARIADNE_WAREHOUSE_URL", space.url)
        env.setenv("ARIADNE_STAGING_DIR", str(root / "staging"))
        env.setenv("ARIADNE_DATA_DOCS_DIR", str(root / "data_docs"))
        env.setenv("ARIADNE_REVIEWS_DIR", str(space.reviews))
        env.setenv("ARIADNE_PSEUDONYM_KEY", KEY)
        env.setenv("DAGSTER_HOME", str(space.dagster_home))
        assert cli.main(["materialise", "--round", ROUND, "--site", SITE]) == 0
        yield space


def pseudonym(name: str) -> str:
    return Pseudonymiser(KEY.encode()).pseudonym(name, "researcher")


def by_segment(themes: pd.DataFrame) -> dict[str, set[tuple[str, str, str]]]:
    found: dict[str, set[tuple[str, str, str]]] = {}
    for segment_id, theme, category, coder in themes.itertuples(index=False, name=None):
        found.setdefault(segment_id, set()).add((theme, category, coder))
    return found


def folded(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def files_naming(folders: list[Path], name: str) -> list[str]:
    """Files under the folders holding the name or a part of it, in any case, accents or not."""
    parts = [folded(part) for part in name.replace("-", " ").split() if len(part) > 3]
    hits = []
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                content = folded(path.read_bytes().decode("utf-8", errors="ignore"))
                hits += [f"{path}: part {n}" for n, part in enumerate(parts) if part in content]
    return hits


def with_project(exported: Path, root: ET.Element, target: Path) -> Path:
    """A copy of an exported .qdpx whose project.qde is `root`, as a QDA tool saves it."""
    with zipfile.ZipFile(exported) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["project.qde"] = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return target


def warehouse_text(space: Space) -> str:
    tables = space.query("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
    return "\n".join(space.query(f'SELECT * FROM "{table}"').to_csv() for table in tables["name"])


def test_a_reviewed_spreadsheet_changes_what_is_published_and_survives_a_rerun(
    space: Space, capsys: pytest.CaptureFixture[str]
) -> None:
    out = space.exports / "spreadsheet"
    assert cli.main(["export-review", "--round", ROUND, "--out", str(out)]) == 0
    exported = out / f"{ROUND}-review.xlsx"
    workbook = load_workbook(exported)
    sheet = workbook[REVIEW_SHEET]
    header = [cell.value for cell in sheet[1]]
    assert header == [*SEGMENT_COLUMNS, *REVIEW_COLUMNS]
    column = {name: header.index(name) + 1 for name in header}
    rows = {
        sheet.cell(number, column["segment_id"]).value: number
        for number in range(2, sheet.max_row + 1)
    }

    before = space.themes()
    machine = by_segment(before)
    categories = space.categories()
    prevalence_before = space.prevalence()
    codes = load_codebook(codebook_path(latest_version(CODEBOOK_DIR), CODEBOOK_DIR)).theme_codes
    coded = sorted(machine)
    assert len(coded) >= 4, "the sample site should give the machine enough coded segments"
    rejected, added, overridden, accepted = coded[0], coded[1], coded[2], coded[3]
    reject_theme = sorted(theme for theme, _, _ in machine[rejected])[0]
    add_theme = next(code for code in codes if code not in {t for t, _, _ in machine[added]})
    override = next(c for c in ("solution", "progress", "barrier") if c != categories[overridden])

    def fill(segment_id: str, **values: str) -> None:
        for name, value in {**values, "reviewer": REVIEWER}.items():
            sheet.cell(rows[segment_id], column[name]).value = value

    fill(rejected, accept="n", reject_themes=reject_theme)
    fill(added, accept="n", add_themes=add_theme)
    fill(overridden, category_override=override)
    fill(accepted, accept="y")
    reviewed = space.root / "reviewed.xlsx"
    workbook.save(reviewed)
    reviewed_bytes = reviewed.read_bytes()
    capsys.readouterr()

    assert cli.main(["import-review", str(reviewed), "--round", ROUND]) == 0

    printed = capsys.readouterr().out
    assert f"{ROUND} / {SITE}: 4 segments reviewed by 1 reviewer" in printed
    assert "Bhriain" not in printed
    assert reviewed.read_bytes() == reviewed_bytes, "the reviewed workbook is only read"
    person = pseudonym(REVIEWER)
    expected = {
        rejected: {
            (t, categories[rejected], person) for t, _, _ in machine[rejected] if t != reject_theme
        },
        added: {(t, categories[added], person) for t, _, _ in machine[added]}
        | {(add_theme, categories[added], person)},
        overridden: {(t, override, person) for t, _, _ in machine[overridden]},
        accepted: {(t, categories[accepted], person) for t, _, _ in machine[accepted]},
    }
    after = by_segment(space.themes())
    assert {segment: after.get(segment, set()) for segment in expected} == expected
    untouched = set(machine) - set(expected)
    assert {segment: after[segment] for segment in untouched} == {
        segment: machine[segment] for segment in untouched
    }
    assert space.categories()[overridden] == override
    codings = space.query(
        f"SELECT coder, theme_code FROM segment_codings WHERE segment_id = '{rejected}'"
    )
    assert (reject_theme, False) in {
        (theme, coder.startswith("[")) for coder, theme in codings.itertuples(index=False)
    }, "the machine's rejected theme stays in segment_codings"
    reviews = space.query(f"SELECT segment_id, coder FROM segment_reviews WHERE site_id = '{SITE}'")
    assert set(reviews.itertuples(index=False, name=None)) == {(s, person) for s in expected}
    agreement = space.query(
        f"SELECT coder_a, coder_b FROM coder_agreement WHERE site_id = '{SITE}'"
    )
    assert set(agreement.itertuples(index=False, name=None)) == {(person, "machine")}

    change: dict[tuple[str, str], int] = {}
    for key, delta in [
        ((reject_theme, categories[rejected]), -1),
        ((add_theme, categories[added]), +1),
        *[((t, categories[overridden]), -1) for t, _, _ in machine[overridden]],
        *[((t, override), +1) for t, _, _ in machine[overridden]],
    ]:
        change[key] = change.get(key, 0) + delta
    prevalence_after = space.prevalence()
    keys = set(prevalence_before) | set(prevalence_after)
    assert {key: prevalence_after.get(key, 0) - prevalence_before.get(key, 0) for key in keys} == {
        key: change.get(key, 0) for key in keys
    }

    published = space.themes()
    assert cli.main(["materialise", "--round", ROUND]) == 0
    rerun = space.themes()
    assert by_segment(rerun) == by_segment(published), "a rerun still publishes the review"
    assert space.prevalence() == prevalence_after

    assert [path.name for path in (space.reviews / ROUND / SITE).iterdir()] == [
        f"{person.strip('[]')}.csv"
    ]
    assert files_naming([space.reviews, space.dagster_home], REVIEWER) == []
    assert "bhriain" not in folded(warehouse_text(space))
    assert "bhriain" not in folded((space.root / "warehouse.db").read_bytes().decode("latin-1"))


def test_a_rejected_row_is_printed_and_the_good_rows_still_import(
    space: Space,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("ARIADNE_REVIEWS_DIR", str(tmp_path / "reviews"))
    out = space.exports / "faulty"
    assert cli.main(["export-review", "--round", ROUND, "--site", SITE, "--out", str(out)]) == 0
    workbook = load_workbook(out / f"{ROUND}-review.xlsx")
    sheet = workbook[REVIEW_SHEET]
    header = [cell.value for cell in sheet[1]]
    column = {name: header.index(name) + 1 for name in header}
    segment_id = sheet.cell(3, column["segment_id"]).value
    sheet.cell(2, column["accept"]).value = "perhaps"
    sheet.cell(2, column["reviewer"]).value = "Tendai Moyo"
    sheet.cell(3, column["accept"]).value = "n"
    sheet.cell(3, column["category_override"]).value = "barrier"
    sheet.cell(3, column["reviewer"]).value = "Tendai Moyo"
    faulty = space.root / "faulty.xlsx"
    workbook.save(faulty)
    capsys.readouterr()

    assert cli.main(["import-review", str(faulty), "--round", ROUND, "--no-materialise"]) == 1

    printed = capsys.readouterr().out
    assert f"REJECTED {faulty.name}: sheet 'review', row 2: accept must be y or n" in printed
    assert f"{ROUND} / {SITE}: 1 segment reviewed by 1 reviewer" in printed
    stored = pd.read_csv(
        tmp_path / "reviews" / ROUND / SITE / f"{pseudonym('Tendai Moyo').strip('[]')}.csv",
        dtype=str,
        keep_default_na=False,
    )
    assert list(stored["segment_id"]) == [segment_id]
    assert list(stored["category"]) == ["barrier"]
    assert "Moyo" not in printed


def test_a_qdpx_coded_by_a_person_arrives_as_their_coding(
    space: Space, capsys: pytest.CaptureFixture[str]
) -> None:
    out = space.exports / "qdpx"
    assert cli.main(["export-review", "--round", ROUND, "--out", str(out)]) == 0
    before = by_segment(space.themes())
    categories = space.categories()
    codebook = load_codebook(codebook_path(latest_version(CODEBOOK_DIR), CODEBOOK_DIR))
    exported = out / f"{ROUND}.qdpx"
    root = _project(exported)
    # A segment nobody has reviewed yet: every one of its rows is the machine's.
    selection = next(
        s
        for s in root.iter(f"{{{PROJECT_NS}}}PlainTextSelection")
        if s.get("name") in categories
        and all(not coder.startswith("[") for _, _, coder in before.get(s.get("name"), ()))
    )
    segment_id = selection.get("name")
    machine_themes = {theme for theme, _, _ in before.get(segment_id, ())}
    theme = next(code for code in codebook.theme_codes if code not in machine_themes)
    user = str(uuid.uuid4())
    ET.SubElement(root.find("q:Users", NS), f"{{{PROJECT_NS}}}User", guid=user, name=QDA_CODER)
    source = next(
        element
        for element in root.iterfind("q:Sources/q:TextSource", NS)
        if selection in list(element)
    )
    mine = ET.Element(
        f"{{{PROJECT_NS}}}PlainTextSelection",
        guid=str(uuid.uuid4()),
        startPosition=selection.get("startPosition"),
        endPosition=selection.get("endPosition"),
        creatingUser=user,
    )
    coding = ET.SubElement(
        mine, f"{{{PROJECT_NS}}}Coding", guid=str(uuid.uuid4()), creatingUser=user
    )
    ET.SubElement(coding, f"{{{PROJECT_NS}}}CodeRef", targetGUID=code_guid(codebook, theme))
    source.insert(0, mine)
    coded = with_project(exported, root, space.root / "coded.qdpx")
    capsys.readouterr()

    assert cli.main(["import-review", str(coded), "--round", ROUND]) == 0

    assert f"{ROUND} / {SITE}: " in capsys.readouterr().out
    after = by_segment(space.themes())
    assert after[segment_id] == {(theme, categories[segment_id], pseudonym(QDA_CODER))}
    others = set(before) | set(after)
    others.discard(segment_id)
    assert {s: after.get(s) for s in others} == {s: before.get(s) for s in others}, (
        "earlier reviews the project carried back are unchanged"
    )
    assert files_naming([space.reviews, space.dagster_home], QDA_CODER) == []
    assert "kowalczyk" not in folded(warehouse_text(space))


def _project(path: Path) -> ET.Element:
    with zipfile.ZipFile(path) as archive:
        return ET.fromstring(archive.read("project.qde"))


def _codings_by_user(root: ET.Element) -> dict[str, dict[str, tuple[str, str, frozenset]]]:
    """Per user name, per segment: the selection's offsets and the codes that user gave it."""
    users = {user.get("guid"): user.get("name") for user in root.iterfind("q:Users/q:User", NS)}
    found: dict[str, dict[str, tuple[str, str, frozenset]]] = {}
    for selection in root.iter(f"{{{PROJECT_NS}}}PlainTextSelection"):
        codes: dict[str, set[str]] = {}
        for coding in selection.iterfind("q:Coding", NS):
            target = coding.find("q:CodeRef", NS).get("targetGUID")
            codes.setdefault(users[coding.get("creatingUser")], set()).add(target)
        for user, targets in codes.items():
            found.setdefault(user, {})[selection.get("name")] = (
                selection.get("startPosition"),
                selection.get("endPosition"),
                frozenset(targets),
            )
    return found


def test_the_sample_rounds_qdpx_validates_and_comes_back_with_every_coding_in_place(
    space: Space, shared_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Export the sample site, let a person take over every machine coding in their tool,
    import it: after the rerun, the next export shows the person's codings on the same
    selections, at the same offsets, with the same codes."""
    import xmlschema

    first = space.exports / "round-trip-1"
    assert cli.main(["export-review", "--round", ROUND, "--site", SITE, "--out", str(first)]) == 0
    exported = first / f"{ROUND}.qdpx"
    schema = xmlschema.XMLSchema(shared_dir / "refi-qda" / "Project.xsd")
    with zipfile.ZipFile(exported) as archive:
        schema.validate(archive.read("project.qde").decode("utf-8"))
    root = _project(exported)
    machine = _codings_by_user(root)["machine"]
    assert len(machine) == len(space.categories())  # every segment has at least its category

    person = "Thandiwe Mokoena-Lindqvist"
    next(u for u in root.iterfind("q:Users/q:User", NS) if u.get("name") == "machine").set(
        "name", person
    )
    taken_over = with_project(exported, root, space.root / "taken-over.qdpx")
    capsys.readouterr()
    assert cli.main(["import-review", str(taken_over), "--round", ROUND]) == 0
    # Earlier tests' reviewers travel in the project too: they come back unchanged.
    assert f"{ROUND} / {SITE}: {len(machine)} segments reviewed by" in capsys.readouterr().out

    second = space.exports / "round-trip-2"
    assert cli.main(["export-review", "--round", ROUND, "--site", SITE, "--out", str(second)]) == 0
    assert _codings_by_user(_project(second / f"{ROUND}.qdpx"))[pseudonym(person)] == machine
    assert files_naming([space.reviews, space.dagster_home, second], person) == []
