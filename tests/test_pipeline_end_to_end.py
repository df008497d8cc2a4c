"""The whole platform on the sample rounds: `ariadne materialise`, then what analysts see.

Runs once per backend (SQLite file, PostgreSQL schema) through the real CLI, Dagster
instance and staging area, then checks the views, lineage, idempotence, that a new round
folder needs no code change, and that no name or identifier from raw/ reaches the
warehouse, DAGSTER_HOME or the Data Docs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import secrets
import shutil
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml
from sqlalchemy import create_engine, make_url, text

from pipelines import cli
from schemas.codebook import CODEBOOK_DIR, latest_version
from tests.sqlite_text import is_sqlite, stored_values

SAMPLE_RAW = Path(__file__).resolve().parents[1] / "raw"
VIEWS = (
    "segments",
    "segment_themes",
    "theme_prevalence",
    "survey_item_summary",
    "action_progress",
    "source_files",
    "quarantine",
    "survey_free_text",
)
VOLATILE = {"run_id", "loaded_at"}
# Data Docs ship images and fonts; their bytes can spell a three-letter name by chance.
NOT_TEXT = {".gif", ".png", ".ico", ".jpg", ".woff", ".woff2", ".ttf", ".eot"}


@dataclasses.dataclass
class Workspace:
    root: Path
    raw: Path
    url: str
    dagster_home: Path
    data_docs: Path
    staging: Path

    def query(self, sql: str) -> pd.DataFrame:
        engine = create_engine(self.url)
        try:
            with engine.connect() as connection:
                return pd.read_sql_query(text(sql), connection)
        finally:
            engine.dispose()


def _postgres_schema_url(postgres_url: str) -> str:
    schema = f"e2e_{secrets.token_hex(5)}"
    engine = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return (
        make_url(postgres_url)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ],
)
def workspace(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[Workspace]:
    """A copy of the sample rounds, materialised once through `ariadne materialise`."""
    root = tmp_path_factory.mktemp(f"e2e-{request.param}")
    raw = root / "raw"
    shutil.copytree(SAMPLE_RAW, raw)
    url = (
        f"sqlite:///{root / 'warehouse.db'}"
        if request.param == "sqlite"
        else _postgres_schema_url(request.getfixturevalue("postgres_url"))
    )
    space = Workspace(root, raw, url, root / "dagster_home", root / "data_docs", root / "staging")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ARIADNE_RAW_DIR", str(raw))
        env.setenv("ARIADNE_WAREHOUSE_URL", url)
        env.setenv("ARIADNE_STAGING_DIR", str(space.staging))
        env.setenv("ARIADNE_DATA_DOCS_DIR", str(space.data_docs))
        env.setenv("ARIADNE_PSEUDONYM_KEY", "end-to-end-test-key")
        env.setenv("DAGSTER_HOME", str(space.dagster_home))
        assert cli.main(["materialise"]) == 0
        yield space


# People the sample minutes and surveys name who are on no attendance list (read off the
# raw texts): the anonymiser must find them without a roster.
SAMPLE_PEOPLE_NOT_ON_ANY_ROSTER = (
    "Anil Sharma",
    "Samuel Ofori",
    "Helen Marsh",
    "Sahra",
    "Novak",
    "Jerome",
    "Joan Whitaker",
    "Elena Rusu",
    "Harjit",
    "Jaspreet",
    "Marcus Lindo",
)


def _roster(raw: Path) -> set[str]:
    names: set[str] = set(SAMPLE_PEOPLE_NOT_ON_ANY_ROSTER)
    for manifest in raw.glob("*/*/manifest.yaml"):
        data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
        for event in data.get("events") or []:
            names.update(person["name"] for person in event.get("attendees") or [])
        names.update(person["name"] for person in data.get("withdrawals") or [])
    return names


def _fold(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _identifiers(raw: Path) -> set[str]:
    """Phone numbers, e-mails and NHS numbers written anywhere in the text submissions."""
    patterns = (
        r"[\w.+-]+@example\.org",
        r"07700\s?900\d{3}",
        r"01632\s?960\d{3}",
        r"020\s?7946\s?0\d{3}",
        r"999\s?\d{3}\s?\d{4}",
    )
    found: set[str] = set()
    for path in raw.rglob("*"):
        if path.suffix in {".md", ".txt", ".csv"}:
            content = path.read_bytes().decode("utf-8", errors="ignore")
            for pattern in patterns:
                found.update(re.findall(pattern, content))
    return found


def _leak_patterns(raw: Path) -> list[re.Pattern[str]]:
    """Full names in any case, name parts as names are written, identifiers digit by digit."""
    patterns = []
    for name in _roster(raw):
        patterns.append(re.compile(re.escape(_fold(name)).replace(r"\ ", r"\s+")))
        for part in re.split(r"[\s-]+", name):
            if len(part) >= 3:
                patterns.append(re.compile(rf"(?<![\w\[-]){re.escape(_fold(part))}(?![\w\]])"))
    for identifier in _identifiers(raw):
        digits = re.sub(r"\s", "", identifier)
        patterns.append(re.compile(r"\s?".join(re.escape(c) for c in _fold(digits))))
    return patterns


def _scan(texts: dict[str, str], raw: Path) -> list[str]:
    """Where each leak pattern matches; the hit itself is not reported (it would be a leak)."""
    patterns = _leak_patterns(raw)
    hits = []
    for where, content in texts.items():
        folded = _fold(content)
        hits.extend(f"{where}: pattern #{n}" for n, p in enumerate(patterns) if p.search(folded))
    return hits


def test_every_view_holds_every_sample_round_and_site(workspace: Workspace) -> None:
    for view in VIEWS:
        rows = workspace.query(f"SELECT DISTINCT round_id, site_id FROM {view}")
        assert not rows.empty, f"{view} is empty"
    segments = workspace.query("SELECT DISTINCT round_id, site_id FROM segments")
    expected = {(p.parent.name, p.name) for p in workspace.raw.glob("*/*") if p.is_dir()}
    assert set(map(tuple, segments.to_numpy())) == expected


def test_segments_carry_lineage_and_pseudonyms(workspace: Workspace) -> None:
    segments = workspace.query("SELECT * FROM segments")
    for column in ("source_file", "source_sha256", "locator", "run_id"):
        assert segments[column].notna().all(), column
    for source_file, sha in segments[["source_file", "source_sha256"]].drop_duplicates().to_numpy():
        assert hashlib.sha256((workspace.raw / source_file).read_bytes()).hexdigest() == sha
    speakers = segments["speaker"].dropna()
    assert len(speakers) > 100
    assert speakers.str.fullmatch(r"\[[a-z_]+-[0-9a-f]{6}\]").all()
    assert set(segments["source_kind"]) == {"minutes", "survey", "action_plan"}
    themes = workspace.query("SELECT * FROM segment_themes")
    assert set(themes["codebook_version"]) == {latest_version(CODEBOOK_DIR)}
    assert themes["segment_id"].isin(segments["segment_id"]).all()


def test_the_same_person_has_the_same_pseudonym_in_both_rounds(workspace: Workspace) -> None:
    rows = workspace.query("SELECT round_id, speaker FROM segments WHERE speaker IS NOT NULL")
    by_round = rows.groupby("round_id")["speaker"].apply(set)
    assert by_round["2022-baseline"] & by_round["2024-impact"]


def test_deliberate_flaws_are_quarantined_and_the_rest_loads(workspace: Workspace) -> None:
    quarantine = workspace.query("SELECT * FROM quarantine")
    errors = quarantine[quarantine["severity"] == "error"]
    survey = "2024-impact/coventry-warwickshire/surveys/followup.xlsx"
    assert len(errors[errors["source_file"] == survey]) == 2
    warnings = quarantine[quarantine["severity"] == "warning"]
    assert warnings["source_file"].str.startswith("2022-baseline/sheffield/minutes/").any()
    files = workspace.query("SELECT * FROM source_files")
    assert (files["status"] == "loaded").sum() >= 20
    responses = workspace.query(
        "SELECT n_responses FROM survey_item_summary WHERE item_id = 'respondent_role' "
        "AND response_option IS NULL AND site_id = 'coventry-warwickshire'"
    )
    assert int(responses["n_responses"].iloc[0]) == 34


def test_withdrawn_person_is_gone_and_counted(workspace: Workspace) -> None:
    files = workspace.query(
        "SELECT n_withdrawn FROM source_files WHERE site_id = 'east-london' "
        "AND round_id = '2024-impact' AND source_kind = 'minutes'"
    )
    assert int(files["n_withdrawn"].sum()) == 4


def test_action_progress_compares_with_the_reviewed_round(workspace: Workspace) -> None:
    progress = workspace.query("SELECT * FROM action_progress WHERE round_id = '2024-impact'")
    reviewed = progress[progress["previous_status"].notna()]
    assert len(reviewed) >= 8
    assert (reviewed["status"] != reviewed["previous_status"]).any()


def test_no_name_or_identifier_reaches_warehouse_dagster_home_or_data_docs(
    workspace: Workspace,
) -> None:
    texts: dict[str, str] = {}
    tables = workspace.query(
        "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
        if workspace.url.startswith("sqlite")
        else "SELECT table_name AS name FROM information_schema.tables "
        "WHERE table_schema = current_schema()"
    )
    for table in tables["name"]:
        texts[f"warehouse:{table}"] = workspace.query(f'SELECT * FROM "{table}"').to_csv()
    for folder in (workspace.dagster_home, workspace.data_docs):
        for path in folder.rglob("*"):
            if not path.is_file() or path.suffix in NOT_TEXT:
                continue
            where = str(path.relative_to(workspace.root))
            if is_sqlite(path):
                texts[where] = "\n".join(stored_values(path))
            else:
                texts[where] = path.read_bytes().decode("utf-8", errors="ignore")
    assert len(texts) > 20
    assert _scan(texts, workspace.raw) == []


def test_the_leak_scan_itself_finds_a_planted_name(workspace: Workspace) -> None:
    name = sorted(_roster(workspace.raw))[0]
    planted = {"planted": f"notes mentioning {name.upper()} in passing"}
    assert _scan(planted, workspace.raw)
    assert _scan({"planted": "her GP, Dr Helen Marsh, said so"}, workspace.raw)


def _content_hash(workspace: Workspace) -> str:
    digest = hashlib.sha256()
    for view in VIEWS:
        frame = workspace.query(f"SELECT * FROM {view}")
        frame = frame.drop(columns=[c for c in frame.columns if c in VOLATILE])
        frame = frame.astype(str).sort_values(list(frame.columns), ignore_index=True)
        digest.update(view.encode() + frame.to_csv(index=False).encode())
    return digest.hexdigest()


def test_rerunning_a_round_leaves_identical_contents(workspace: Workspace) -> None:
    before = _content_hash(workspace)
    run_ids = set(workspace.query("SELECT DISTINCT run_id FROM segments")["run_id"])
    with pytest.MonkeyPatch.context():
        assert cli.main(["materialise", "--round", "2024-impact"]) == 0
    assert _content_hash(workspace) == before
    assert set(workspace.query("SELECT DISTINCT run_id FROM segments")["run_id"]) != run_ids


NEW_MINUTES = """# Workshop on the 2026 round

## Outreach

Kofi Mensah-Ofori: The Somali women's group at the mosque now meets our link worker monthly.

Carer (GN): Still waiting months for an interpreter; call me on 07700 900456 if needed.

Action: Ask the trust to fund interpreters for every first appointment.
"""

NEW_SURVEY = """ID,respondent_role,access_ease,what_would_help
1,Carer,Agree,More peer workers who speak Polish
2,Service user,5,
3,staff,strongly disagree,Training on institutional racism
4,Carer,9,
"""


def test_a_new_round_folder_materialises_without_code_change(workspace: Workspace) -> None:
    site = workspace.raw / "2026-impact" / "sheffield"
    (site / "minutes").mkdir(parents=True)
    (site / "surveys").mkdir()
    (workspace.raw / "2026-impact" / "round.yaml").write_text(
        "round: 2026-impact\ntitle: Impact 2026\nkind: impact\n"
        "period: {start: 2026-01-01, end: 2026-12-31}\nreviews: 2022-baseline\n"
    )
    (site / "manifest.yaml").write_text(
        "site: sheffield\nround: 2026-impact\nevents:\n"
        "  - id: sh26-ws1\n    type: local_workshop\n    date: 2026-03-02\n"
        "    minutes: minutes/ws.md\n    attendees:\n"
        "      - {name: Kofi Mensah-Ofori, role: voluntary_sector}\n"
        "      - {name: Grażyna Nowicka, role: carer, initials: GN}\n"
        "surveys:\n  - file: surveys/s.csv\n    instrument: impact-followup-v1\n"
    )
    (site / "minutes" / "ws.md").write_text(NEW_MINUTES)
    (site / "surveys" / "s.csv").write_text(NEW_SURVEY)
    (site / "action_plan.csv").write_text(
        "action_id,action,theme,status\nsh-a1,Fund interpreters,education-mediation-digital,"
        "in_progress\n"
    )
    assert cli.main(["materialise", "--round", "2026-impact"]) == 0
    for view in VIEWS:
        found = workspace.query(f"SELECT COUNT(*) AS n FROM {view} WHERE round_id = '2026-impact'")
        assert int(found["n"].iloc[0]) > 0, view
    texts = workspace.query("SELECT text FROM segments WHERE round_id = '2026-impact'")["text"]
    joined = " ".join(texts)
    assert "Somali" in joined and "mosque" in joined
    assert "Mensah-Ofori" not in joined and "900456" not in joined


GOOD_MINUTES = """# Review

Staff (YP): The peer support team now has two Urdu speakers and the waiting list is shorter.

Dr Lindqvist: Stigma in the community still stops families from asking for help.
"""

BAD_SURVEY = """ID,respondent_role,access_ease
1,Carer,Agree
1,staff,4
2,Service user,11
3,,2
4,staff,3
"""


def _site(raw: Path, round_id: str, site_id: str, manifest: str) -> Path:
    site = raw / round_id / site_id
    (site / "minutes").mkdir(parents=True)
    (site / "surveys").mkdir()
    (site / "manifest.yaml").write_text(manifest)
    return site


def test_bad_input_is_quarantined_and_everything_else_lands(workspace: Workspace) -> None:
    round_id = "2027-impact"
    (workspace.raw / round_id).mkdir()
    (workspace.raw / round_id / "round.yaml").write_text(
        f"round: {round_id}\ntitle: Faults\nkind: impact\n"
        "period: {start: 2027-01-01, end: 2027-12-31}\n"
    )
    broken = _site(
        workspace.raw,
        round_id,
        "broken-files",
        "site: broken-files\nround: 2027-impact\nevents:\n"
        "  - {id: bf-ws1, type: local_workshop, date: 2027-02-01, minutes: minutes/good.md,\n"
        "     attendees: [{name: Yasmin Parvez, role: staff, initials: YP}]}\n"
        "  - {id: bf-ws2, type: local_workshop, date: 2027-02-02, minutes: minutes/cut.docx,\n"
        "     attendees: []}\n"
        "  - {id: bf-ws3, type: local_workshop, date: 2027-02-03, minutes: minutes/gone.docx,\n"
        "     attendees: []}\n"
        "surveys:\n"
        "  - {file: surveys/answers.csv, instrument: impact-followup-v1}\n"
        "  - {file: surveys/garbled.csv, instrument: impact-followup-v1}\n",
    )
    (broken / "minutes" / "good.md").write_text(GOOD_MINUTES)
    (broken / "minutes" / "cut.docx").write_bytes(
        (
            SAMPLE_RAW / "2024-impact/east-london/minutes/2024-06-11-impact-workshop.docx"
        ).read_bytes()[:2000]
    )
    (broken / "surveys" / "answers.csv").write_text(BAD_SURVEY)
    (broken / "surveys" / "garbled.csv").write_bytes(b"ID,respondent_role\n1,\x81\x8d\x8f\x90\n")
    _site(workspace.raw, round_id, "bad-manifest", "site: bad-manifest\nevents: [unclosed\n")
    _site(workspace.raw, round_id, "wrong-id", "site: somewhere-else\nround: 2027-impact\n")
    good = _site(
        workspace.raw,
        round_id,
        "good-site",
        "site: good-site\nround: 2027-impact\nevents:\n"
        "  - {id: gs-ws1, type: local_workshop, date: 2027-03-01, minutes: minutes/ws.md,\n"
        "     attendees: [{name: Yasmin Parvez, role: staff, initials: YP}]}\n",
    )
    (good / "minutes" / "ws.md").write_text(GOOD_MINUTES)
    before = {p: p.read_bytes() for p in (workspace.raw / round_id).rglob("*") if p.is_file()}

    assert cli.main(["materialise", "--round", round_id]) == 0

    quarantine = workspace.query(
        f"SELECT site_id, source_file, locator, reason, severity FROM quarantine "
        f"WHERE round_id = '{round_id}'"
    )
    errors = quarantine[quarantine["severity"] == "error"]

    def reasons(source_file: str) -> list[str]:
        return list(errors.loc[errors["source_file"] == f"{round_id}/{source_file}", "reason"])

    assert reasons("broken-files/minutes/cut.docx"), "truncated docx"
    assert any("gone.docx" in r for r in errors["reason"]), "missing file named in the reason"
    assert reasons("broken-files/surveys/garbled.csv"), "unexpected encoding"
    survey = errors[errors["source_file"] == f"{round_id}/broken-files/surveys/answers.csv"]
    assert set(survey["locator"]) == {"row 3", "row 4", "row 5"}, "duplicate id, 11, no role"
    assert reasons("bad-manifest/manifest.yaml"), "manifest that is not YAML"
    assert reasons("wrong-id/manifest.yaml"), "site id that does not match its folder"
    warnings = quarantine[quarantine["severity"] == "warning"]
    assert (warnings["source_file"] == f"{round_id}/broken-files/minutes/good.md").any(), (
        "unresolved speaker label"
    )
    segments = workspace.query(
        f"SELECT site_id, source_kind, speaker FROM segments WHERE round_id = '{round_id}'"
    )
    assert set(segments["site_id"]) == {"broken-files", "good-site"}
    survey_rows = segments[segments["source_kind"] == "survey"]
    assert survey_rows.empty  # the kept responses had no free text
    summary = workspace.query(
        f"SELECT n_responses FROM survey_item_summary WHERE round_id = '{round_id}' "
        "AND item_id = 'access_ease' AND response_option IS NULL"
    )
    assert summary["n_responses"].isna().all()  # two valid responses: below the threshold
    assert {p: p.read_bytes() for p in (workspace.raw / round_id).rglob("*") if p.is_file()} == (
        before
    ), "raw files are never modified"


def test_rounds_lists_every_site_with_file_status_and_last_run(
    workspace: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARIADNE_RAW_DIR", str(workspace.raw))
    monkeypatch.setenv("ARIADNE_WAREHOUSE_URL", workspace.url)
    monkeypatch.setenv("DAGSTER_HOME", str(workspace.dagster_home))
    assert cli.main(["rounds"]) == 0
    lines = capsys.readouterr().out.splitlines()
    line = next(x for x in lines if x.startswith("2024-impact / east-london:"))
    assert "5 loaded" in line and "last run" in line and "success" in line
