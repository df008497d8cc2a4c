"""`ariadne status` and `ariadne quarantine` on materialised sample sites (SQLite).

A copy of raw/ holds three partitions: the sample national workshop of 2024-impact with a
garbled survey added to its manifest and a file nobody named (both quarantined, the rest
loads), the same workshop as 2025-impact run with the anonymiser broken so the blocking
gate fails, and as 2026-impact with the warehouse refusing the load, and
2022-baseline/sheffield, never run. After the runs a late file lands in
the 2024 site. The commands must show each file's state, each last run and its outcome,
the failed check, the quarantined items with their reasons, and no name of a person.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml
from dagster import DagsterInstance, RunsFilter
from sqlalchemy import create_engine, text

from assets.anonymise.engine import AnonymisedText, Anonymiser
from assets.load import assets as load_assets
from pipelines import cli
from pipelines.partitions import partition_key
from pipelines.status import CHANGED, NEW, REMOVED, file_states
from tests.test_pipeline_end_to_end import SAMPLE_PEOPLE_NOT_ON_ANY_ROSTER

SAMPLE_RAW = Path(__file__).resolve().parents[1] / "raw"
LOADED, FAILED, NEVER = "2024-impact", "2025-impact", "2022-baseline"
LOAD_FAILED = "2026-impact"
SITE, UNRUN_SITE = "national", "sheffield"
GARBLED = "surveys/garbled.csv"
UNNAMED = "minutes/notes-nobody-named.md"
LATE = "minutes/late-notes.md"


@dataclasses.dataclass
class Space:
    root: Path
    raw: Path
    url: str

    def query(self, sql: str) -> pd.DataFrame:
        engine = create_engine(self.url)
        try:
            with engine.connect() as connection:
                return pd.read_sql_query(text(sql), connection)
        finally:
            engine.dispose()


def _national(raw: Path, round_id: str) -> Path:
    """The sample national workshop as a site of `round_id`."""
    site = raw / round_id / SITE
    shutil.copytree(SAMPLE_RAW / LOADED / SITE, site)
    manifest = site / "manifest.yaml"
    manifest.write_text(
        manifest.read_text(encoding="utf-8").replace(f"round: {LOADED}", f"round: {round_id}"),
        encoding="utf-8",
    )
    return site


@pytest.fixture(scope="module")
def space(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Space]:
    root = tmp_path_factory.mktemp("status")
    raw = root / "raw"
    loaded = _national(raw, LOADED)
    shutil.copy(SAMPLE_RAW / LOADED / "round.yaml", raw / LOADED / "round.yaml")
    with (loaded / "manifest.yaml").open("a", encoding="utf-8") as manifest:
        manifest.write(f"surveys:\n  - file: {GARBLED}\n    instrument: impact-followup-v1\n")
    (loaded / "surveys").mkdir()
    (loaded / GARBLED).write_bytes(b"ID,respondent_role\n1,\x81\x8d\x8f\x90\n")
    (loaded / UNNAMED).write_text("Notes from the corridor.\n", encoding="utf-8")
    for round_id in (FAILED, LOAD_FAILED):
        _national(raw, round_id)
        (raw / round_id / "round.yaml").write_text(
            f"round: {round_id}\ntitle: Failing\nkind: impact\n"
            "period: {start: 2025-01-01, end: 2025-12-31}\n"
        )
    shutil.copytree(SAMPLE_RAW / NEVER / UNRUN_SITE, raw / NEVER / UNRUN_SITE)
    shutil.copy(SAMPLE_RAW / NEVER / "round.yaml", raw / NEVER / "round.yaml")
    space = Space(root, raw, f"sqlite:///{root / 'warehouse.db'}")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ARIADNE_RAW_DIR", str(raw))
        env.setenv("ARIADNE_WAREHOUSE_URL", space.url)
        env.setenv("ARIADNE_STAGING_DIR", str(root / "staging"))
        env.setenv("ARIADNE_DATA_DOCS_DIR", str(root / "data_docs"))
        env.setenv("ARIADNE_PSEUDONYM_KEY", "status-test-key-4e7b21c9")
        env.setenv("DAGSTER_HOME", str(root / "dagster_home"))
        assert cli.main(["materialise", "--round", LOADED]) == 0
        with pytest.MonkeyPatch.context() as broken:
            # An anonymiser that lets every name through: the gate must stop the site.
            broken.setattr(
                Anonymiser, "replace", lambda self, text, spans: AnonymisedText(text, {})
            )
            assert cli.main(["materialise", "--round", FAILED]) == 1
        with pytest.MonkeyPatch.context() as broken:
            broken.setattr(load_assets, "replace_partition", _refuse)
            assert cli.main(["materialise", "--round", LOAD_FAILED]) == 1
        (loaded / LATE).write_text("Written after the run.\n", encoding="utf-8")
        yield space


def _refuse(*args: object, **kwargs: object) -> None:
    raise RuntimeError("the warehouse refused the partition")


def _run(space: Space, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ARIADNE_RAW_DIR", str(space.raw))
        env.setenv("ARIADNE_WAREHOUSE_URL", space.url)
        env.setenv("DAGSTER_HOME", str(space.root / "dagster_home"))
        capsys.readouterr()
        code = cli.main(list(argv))
    return code, capsys.readouterr().out


def _blocks(output: str) -> dict[str, str]:
    """Each `round / site` block of the status output, by its heading."""
    return {block.splitlines()[0]: block for block in output.strip().split("\n\n")}


def _file_states(block: str) -> dict[str, str]:
    """The file lines under `files:` as {file as shown: state}."""
    lines = block.splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith("  files: "))
    states = {}
    for line in lines[start + 1 :]:
        if not line.startswith("    "):
            break
        state, name, *_ = line.split()
        states[name] = state
    return states


def _last_run_id(space: Space, round_id: str) -> str:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DAGSTER_HOME", str(space.root / "dagster_home"))
        with DagsterInstance.get() as instance:
            [record] = instance.get_run_records(
                RunsFilter(tags={"dagster/partition": str(partition_key(round_id, SITE))}),
                limit=1,
            )
    return record.dagster_run.run_id


def test_status_shows_each_file_state_the_last_run_and_the_quarantine(
    space: Space, capsys: pytest.CaptureFixture[str]
) -> None:
    code, output = _run(space, capsys, "status")
    assert code == 0
    blocks = _blocks(output)
    assert set(blocks) == {
        f"{LOADED} / {SITE}",
        f"{FAILED} / {SITE}",
        f"{LOAD_FAILED} / {SITE}",
        f"{NEVER} / {UNRUN_SITE}",
    }

    loaded = blocks[f"{LOADED} / {SITE}"]
    assert f"last run {_last_run_id(space, LOADED)[:8]}: success" in loaded
    assert "checks failed: none" in loaded
    files = space.query(f"SELECT source_file, status FROM source_files WHERE round_id = '{LOADED}'")
    assert len(files) >= 4
    states = _file_states(loaded)
    assert states == {
        **{
            source_file.removeprefix(f"{LOADED}/{SITE}/"): status
            for source_file, status in files.itertuples(index=False)
        },
        LATE: NEW,
    }
    assert states[GARBLED] == states[UNNAMED] == "quarantined"
    assert re.search(rf"{re.escape(LATE)}\s+\(not loaded yet\)", loaded)
    items = space.query(f"SELECT severity FROM quarantine WHERE round_id = '{LOADED}'")
    errors, warnings = (int((items["severity"] == s).sum()) for s in ("error", "warning"))
    assert errors >= 1 and warnings >= 1
    assert (
        f"quarantine: {errors} error{'s' * (errors != 1)}, "
        f"{warnings} warning{'s' * (warnings != 1)}" in loaded
    )
    assert re.search(rf"ERROR\s+{re.escape(GARBLED)} \[", loaded)


def test_status_shows_the_failed_gate_the_failed_load_and_a_site_never_run(
    space: Space, capsys: pytest.CaptureFixture[str]
) -> None:
    _, output = _run(space, capsys, "status")
    blocks = _blocks(output)
    failed = blocks[f"{FAILED} / {SITE}"]
    assert f"last run {_last_run_id(space, FAILED)[:8]}: failure" in failed
    assert "checks failed: anonymisation_gate on anonymised_submission (error)" in failed
    assert "steps failed" not in failed  # the gate's own step is the check, listed above
    load_failed = blocks[f"{LOAD_FAILED} / {SITE}"]
    assert f"last run {_last_run_id(space, LOAD_FAILED)[:8]}: failure" in load_failed
    assert "checks failed: none" in load_failed
    assert "steps failed: warehouse_partition (StageFailed)" in load_failed
    assert "refused the partition" not in load_failed  # an error's text stays in its log
    assert set(_file_states(failed).values()) == {NEW}  # nothing of it was loaded
    assert len(_file_states(failed)) == 3  # round.yaml, manifest and minutes
    never = blocks[f"{NEVER} / {UNRUN_SITE}"]
    assert "never run" in never
    raw_files = [p for p in (space.raw / NEVER / UNRUN_SITE).rglob("*") if p.is_file()]
    assert f"files: {len(raw_files) + 1} new" in never  # and the round's round.yaml
    assert set(_file_states(never).values()) == {NEW}


def test_status_of_one_round(space: Space, capsys: pytest.CaptureFixture[str]) -> None:
    code, output = _run(space, capsys, "status", "--round", FAILED)
    assert code == 0
    assert set(_blocks(output)) == {f"{FAILED} / {SITE}"}
    code, output = _run(space, capsys, "status", "--round", "2099-impact")
    assert code == 1


def test_quarantine_lists_every_item_with_its_reason(
    space: Space, capsys: pytest.CaptureFixture[str]
) -> None:
    code, output = _run(space, capsys, "quarantine", "--round", LOADED)
    assert code == 0
    items = space.query(
        "SELECT source_file, locator, severity, reason, run_id FROM quarantine "
        f"WHERE round_id = '{LOADED}'"
    )
    assert not items.empty
    lines = output.splitlines()
    assert lines[0].startswith(f"{LOADED} / {SITE}: ")
    for item in items.itertuples(index=False):
        expected = (
            f"{item.severity.upper():7} {item.source_file} [{item.locator}]: {item.reason} "
            f"(run {item.run_id[:8]})"
        )
        assert f"  {expected}" in lines, expected
    assert len(lines) == 1 + len(items)
    code, output = _run(space, capsys, "quarantine", "--round", LOADED, "--site", "elsewhere")
    assert code == 0
    assert output.startswith("nothing quarantined")


def _roster(raw: Path) -> set[str]:
    names = set(SAMPLE_PEOPLE_NOT_ON_ANY_ROSTER)
    for manifest in raw.glob("*/*/manifest.yaml"):
        data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
        for event in data.get("events") or []:
            names.update(person["name"] for person in event.get("attendees") or [])
        names.update(person["name"] for person in data.get("withdrawals") or [])
    return names


def test_no_name_of_a_person_in_the_output(
    space: Space, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = [
        _run(space, capsys, "status")[1],
        *(_run(space, capsys, "quarantine", "--round", r)[1] for r in (LOADED, FAILED, NEVER)),
    ]
    joined = "\n".join(outputs).casefold()
    names = _roster(space.raw)
    assert len(names) > 20
    parts = {part for name in names for part in re.split(r"[\s-]+", name) if len(part) >= 3}
    found = [p for p in parts if re.search(rf"(?<!\w){re.escape(p.casefold())}(?!\w)", joined)]
    assert found == []


def test_status_without_a_reachable_warehouse_still_shows_raw_and_runs(
    space: Space, capsys: pytest.CaptureFixture[str]
) -> None:
    unreachable = "postgresql+psycopg://postgres:not-shown-2f9a@127.0.0.1:1/test"
    space_elsewhere = dataclasses.replace(space, url=unreachable)
    code, output = _run(space_elsewhere, capsys, "status", "--round", FAILED)
    assert code == 0
    assert output.startswith("the warehouse could not be read (OperationalError)")
    assert "not-shown-2f9a" not in output
    assert "checks failed: anonymisation_gate" in output


def test_file_states_compare_bytes_not_names() -> None:
    warehouse = pd.DataFrame(
        [
            ("r/s/kept.md", "a" * 64, "loaded"),
            ("r/s/edited.md", "b" * 64, "loaded"),
            ("r/s/dropped.md", "c" * 64, "quarantined"),
            ("r/s/too-large.docx", None, "quarantined"),
            ("r/s/kept.md", "0" * 64, "superseded"),
        ],
        columns=["source_file", "source_sha256", "status"],
    )
    raw = {
        "r/s/kept.md": "a" * 64,
        "r/s/edited.md": "d" * 64,
        "r/s/too-large.docx": None,
        "r/s/arrived.md": "e" * 64,
    }
    assert {line.source_file: line.state for line in file_states(raw, warehouse)} == {
        "r/s/kept.md": "loaded",
        "r/s/edited.md": CHANGED,
        "r/s/too-large.docx": "quarantined",
        "r/s/arrived.md": NEW,
        "r/s/dropped.md": REMOVED,
    }
