"""A whole site submission: the bundle, lineage, quarantine of bad input, layout and roster."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from assets.ingest.submission import (
    discover_partitions,
    read_roster,
    read_site_submission,
    scan_layout,
)
from schemas import tables
from schemas.tables import SiteSubmission
from tests.ingest_fixtures import (
    FILES,
    PREFIX,
    ROUND,
    ROUND_ID,
    SITE_ID,
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
    "survey_responses": tables.SurveyResponses,
    "survey_answers": tables.SurveyAnswers,
    "action_plan": tables.ActionPlan,
}
PEOPLE = ["Amara", "Okafor", "Whitfield", "Priya", "Nowak", "Siobh", "Mehmet", "Benali"]


def read(raw_dir: Path) -> SiteSubmission:
    return read_site_submission(raw_dir, ROUND_ID, SITE_ID)


def frames(bundle: SiteSubmission) -> dict[str, pd.DataFrame]:
    return {name: getattr(bundle, name) for name in MODELS}


def status(bundle: SiteSubmission) -> dict[str, str]:
    return dict(zip(bundle.source_files["source_file"], bundle.source_files["status"], strict=True))


def problems(bundle: SiteSubmission) -> list[tuple[str, str, str, str]]:
    quarantine = bundle.quarantine
    return list(
        zip(
            quarantine["source_file"],
            quarantine["locator"],
            quarantine["severity"],
            quarantine["reason"],
            strict=True,
        )
    )


def assert_no_names_in_reasons(bundle: SiteSubmission) -> None:
    reasons = " ".join(bundle.quarantine["reason"]) + " ".join(bundle.quarantine["locator"])
    for name in PEOPLE:
        assert name not in reasons


def test_standard_site_loads_every_table_valid(tmp_path):
    write_standard_site(tmp_path)
    bundle = read(tmp_path)
    for name, model in MODELS.items():
        model.validate(getattr(bundle, name), lazy=True)
    assert (bundle.round_id, bundle.site_id) == (ROUND_ID, SITE_ID)
    assert bundle.round.title == ROUND["title"]
    assert (bundle.round.period_start, bundle.round.period_end) == ("2024-01-01", "2024-12-31")
    assert bundle.round.reviews == "2022-baseline"
    assert status(bundle) == dict.fromkeys(FILES.values(), "loaded")
    assert bundle.quarantine.empty
    assert len(bundle.attendees) == 8
    assert set(bundle.attendees["event_type"]) == {"local_workshop", "steering_group"}
    assert set(bundle.segments["source_kind"]) == {"minutes", "survey", "action_plan"}
    assert len(bundle.survey_responses) == 5
    assert len(bundle.action_plan) == 2


def test_source_files_carry_hashes_and_counts(tmp_path):
    site = write_standard_site(tmp_path)
    bundle = read(tmp_path)
    files = bundle.source_files.set_index("source_file")
    workshop = site.site_dir / "minutes/2024-05-21-workshop.docx"
    assert (
        files.loc[FILES["workshop"], "source_sha256"]
        == hashlib.sha256(workshop.read_bytes()).hexdigest()
    )
    assert files.loc[FILES["workshop"], "source_kind"] == "minutes"
    assert files.loc[FILES["workshop"], "n_withdrawn"] == 1
    assert files.loc[FILES["followup"], ["n_records", "n_withdrawn"]].tolist() == [3, 1]
    assert files.loc[FILES["action_plan"], "source_kind"] == "action_plan"
    segments = bundle.segments
    assert set(segments["source_sha256"]) <= set(files["source_sha256"])


def test_export_names_and_emails_appear_nowhere_in_the_bundle(tmp_path):
    write_standard_site(tmp_path)
    bundle = read(tmp_path)
    cells = " ".join(
        str(value)
        for frame in frames(bundle).values()
        for value in [*frame.columns, *frame.astype(str).to_numpy().ravel()]
    )
    for value in ["Grace Mensah", "Nadia Hussain", "@example.org", "Start time", "Email"]:
        assert value not in cells


def test_segment_ids_are_stable_across_reads_and_unique(tmp_path):
    site = write_standard_site(tmp_path)
    first, second = read(tmp_path), read(tmp_path)
    assert list(first.segments["segment_id"]) == list(second.segments["segment_id"])
    assert first.segments["segment_id"].is_unique
    for name in PEOPLE:
        assert not first.segments["segment_id"].str.contains(name).any()
    site.write("minutes/2024-06-10-steering.md", "Li: A different note.\n")
    third = read(tmp_path)
    old = set(first.segments["segment_id"])
    new = third.segments.set_index("segment_id")["source_file"]
    changed = {sid for sid, source in new.items() if source == FILES["steering"]}
    assert changed and changed.isdisjoint(old)
    assert set(new.index) - changed <= old


def test_withdrawn_contributions_are_marked_everywhere(tmp_path):
    write_standard_site(tmp_path)
    bundle = read(tmp_path)
    withdrawn = bundle.segments[bundle.segments["withdrawn"]]
    assert set(withdrawn["locator"]) == {
        "paragraph 2",
        "row 3, item what_changed",
        "row 3, item still_in_way",
    }
    assert bundle.survey_responses["withdrawn"].sum() == 1


def _snapshot(raw_dir: Path) -> dict[str, tuple[str, int, int]]:
    return {
        str(path): (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns, 0)
        for path in sorted(raw_dir.rglob("*"))
        if path.is_file()
    }


def test_raw_files_are_never_modified(tmp_path):
    site = write_standard_site(tmp_path)
    site.write("minutes/stray.docx", b"garbage")
    site.write("surveys/broken.csv", b"\x81\x8d")
    before = _snapshot(tmp_path)
    read(tmp_path)
    assert _snapshot(tmp_path) == before


def _manifest_with(**changes) -> Callable[[Site], None]:
    def change(site: Site) -> None:
        manifest = standard_manifest()
        for key, value in changes.items():
            manifest[key] = value(manifest) if callable(value) else value
        site.write_manifest(manifest)

    return change


def _event_minutes(path: str) -> Callable[[dict], list]:
    def events(manifest: dict) -> list:
        manifest["events"][1]["minutes"] = path
        return manifest["events"]

    return events


def _survey(**spec) -> Callable[[dict], list]:
    def surveys(manifest: dict) -> list:
        manifest["surveys"][1].update(spec)
        return manifest["surveys"]

    return surveys


def _duplicate_event(manifest: dict) -> list:
    manifest["events"][1]["id"] = manifest["events"][0]["id"]
    return manifest["events"]


BAD_INPUTS = {
    "missing minutes": (
        _manifest_with(events=_event_minutes("minutes/2024-06-11-steering.md")),
        FILES["manifest"],
        "events[1].minutes",
        "error",
        f"{PREFIX}minutes/2024-06-11-steering.md, which does not exist",
        ["steering"],
    ),
    "path outside the site": (
        _manifest_with(events=_event_minutes("../../2024-impact/round.yaml")),
        FILES["manifest"],
        "events[1].minutes",
        "error",
        "not inside the site folder",
        ["steering"],
    ),
    "wrong minutes format": (
        lambda site: (
            site.write("minutes/notes.pdf", b"%PDF-1.4"),
            _manifest_with(events=_event_minutes("minutes/notes.pdf"))(site),
        ),
        PREFIX + "minutes/notes.pdf",
        "file",
        "error",
        ".docx, .md, .txt",
        ["steering"],
    ),
    "duplicate event id": (
        _manifest_with(events=_duplicate_event),
        FILES["manifest"],
        "events[1].id",
        "error",
        "used twice",
        ["steering"],
    ),
    "file named twice": (
        _manifest_with(events=_event_minutes("minutes/2024-05-21-workshop.docx")),
        FILES["manifest"],
        "events[1].minutes",
        "error",
        "second time",
        ["steering"],
    ),
    "missing survey": (
        _manifest_with(surveys=_survey(file="surveys/paper.csv")),
        FILES["manifest"],
        "surveys[1].file",
        "error",
        f"{PREFIX}surveys/paper.csv, which does not exist",
        ["paper"],
    ),
    "unknown instrument": (
        _manifest_with(surveys=_survey(instrument="impact-followup-v9")),
        FILES["manifest"],
        "surveys[1].instrument",
        "error",
        "impact-followup-v9 is not defined",
        ["paper"],
    ),
    "mapping to unknown item": (
        _manifest_with(surveys=_survey(columns={"Postcode": "postcode"})),
        FILES["manifest"],
        "surveys[1].columns",
        "error",
        "item postcode",
        [],
    ),
    "manifest site differs from folder": (
        _manifest_with(site="sheffield"),
        FILES["manifest"],
        "site",
        "error",
        "east-london",
        [],
    ),
    "manifest round differs from folder": (
        _manifest_with(round="2022-baseline"),
        FILES["manifest"],
        "round",
        "error",
        "2024-impact",
        [],
    ),
    "round.yaml round differs from folder": (
        lambda site: site.write_round({**ROUND, "round": "2025-impact"}),
        FILES["round"],
        "round",
        "error",
        "2024-impact",
        [],
    ),
    "unreadable docx": (
        lambda site: site.write("minutes/2024-05-21-workshop.docx", b"not a word file"),
        FILES["workshop"],
        "file",
        "error",
        "Word",
        ["workshop"],
    ),
    "truncated docx": (
        lambda site: site.write(
            "minutes/2024-05-21-workshop.docx", docx_bytes([("p", "AO: Hello.")])[:500]
        ),
        FILES["workshop"],
        "file",
        "error",
        "Word",
        ["workshop"],
    ),
    "truncated xlsx": (
        lambda site: site.write(
            "surveys/followup.xlsx", xlsx_bytes([["respondent_role"], ["carer"]])[:400]
        ),
        FILES["followup"],
        "file",
        "error",
        "Excel",
        ["followup"],
    ),
    "csv in utf-16": (
        lambda site: site.write(
            "surveys/paper-forms.csv", "respondent_role\ncarer\n".encode("utf-16")
        ),
        FILES["paper"],
        "file",
        "error",
        "UTF-8 or Windows-1252",
        ["paper"],
    ),
    "action plan without its columns": (
        lambda site: site.write("action_plan.csv", csv_bytes([["id", "what"], ["1", "x"]])),
        FILES["action_plan"],
        "row 1",
        "error",
        "missing column(s)",
        ["action_plan"],
    ),
    "second action plan": (
        lambda site: site.write("action_plan.xlsx", xlsx_bytes([["action_id"]])),
        PREFIX + "action_plan.xlsx",
        "file",
        "error",
        "second action plan",
        [],
    ),
    "unnamed minutes": (
        lambda site: site.write("minutes/2024-07-01-extra.md", "Extra notes.\n"),
        PREFIX + "minutes/2024-07-01-extra.md",
        "file",
        "warning",
        "not named in manifest.yaml",
        [],
    ),
    "unnamed survey": (
        lambda site: site.write("surveys/old-export.csv", "respondent_role\ncarer\n"),
        PREFIX + "surveys/old-export.csv",
        "file",
        "warning",
        "not named in manifest.yaml",
        [],
    ),
    "misnamed action plan": (
        lambda site: site.write("Action Plan 2024.xlsx", xlsx_bytes([["action_id"]])),
        PREFIX + "Action Plan 2024.xlsx",
        "file",
        "warning",
        "not named in manifest.yaml",
        [],
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS), ids=list(BAD_INPUTS))
def test_bad_input_is_quarantined_and_the_rest_loads(tmp_path, case):
    breaking, source_file, locator, severity, reason, broken = BAD_INPUTS[case]
    site = write_standard_site(tmp_path)
    breaking(site)
    bundle = read(tmp_path)
    matching = [
        row
        for row in problems(bundle)
        if row[:3] == (source_file, locator, severity) and reason in row[3]
    ]
    assert matching, problems(bundle)
    for name, model in MODELS.items():
        if name not in ("survey_responses", "action_plan"):
            model.validate(getattr(bundle, name))
    files = status(bundle)
    for key, path in FILES.items():
        if key not in broken:
            assert files[path] == "loaded", (key, files)
    assert len(bundle.segments) > 0
    assert_no_names_in_reasons(bundle)


def test_unreadable_file_is_listed_as_quarantined(tmp_path):
    site = write_standard_site(tmp_path)
    site.write("surveys/followup.xlsx", b"PK\x03\x04 truncated")
    site.write("minutes/stray.md", "Stray.\n")
    files = status(read(tmp_path))
    assert files[FILES["followup"]] == "quarantined"
    assert files[PREFIX + "minutes/stray.md"] == "quarantined"


def test_case_mismatched_path_loads_with_a_warning(tmp_path):
    site = write_standard_site(tmp_path)
    _manifest_with(events=_event_minutes("Minutes/2024-06-10-STEERING.md"))(site)
    bundle = read(tmp_path)
    assert status(bundle)[FILES["steering"]] == "loaded"
    assert [row[2] for row in problems(bundle)] == ["warning"]


@pytest.mark.parametrize(
    "manifest",
    [
        "site: east-london\nround: 2024-impact\nwithdrawals:\n  - name: Tom Whitfield: [\n",
        "site: east-london\n\tround: 2024-impact\n",
        "- just\n- a list\n",
        "",
        "site: east-london\nround: 2024-impact\nevents:\n  - id: el-ws1\n    type: meeting\n",
    ],
)
def test_unreadable_manifest_quarantines_the_whole_site(tmp_path, manifest):
    site = write_standard_site(tmp_path)
    site.write_manifest(manifest)
    bundle = read(tmp_path)
    ((source_file, locator, severity, reason),) = problems(bundle)
    assert (source_file, severity) == (FILES["manifest"], "error")
    assert "Whitfield" not in reason and "Whitfield" not in locator
    for name in ("attendees", "segments", "survey_responses", "survey_answers", "action_plan"):
        assert getattr(bundle, name).empty, name
    assert status(bundle) == {FILES["round"]: "loaded", FILES["manifest"]: "quarantined"}
    for name, model in MODELS.items():
        model.validate(getattr(bundle, name))


def test_yaml_syntax_error_in_manifest_is_located_by_line_and_column(tmp_path):
    site = write_standard_site(tmp_path)
    site.write_manifest("site: east-london\nround: 2024-impact\nevents: [\n  - Amara Okafor: x\n")
    ((_, locator, _, reason),) = problems(read(tmp_path))
    assert locator.startswith("line ") and ", column " in locator
    assert "Amara" not in reason


def test_missing_manifest_and_round(tmp_path):
    site = write_standard_site(tmp_path)
    (site.site_dir / "manifest.yaml").unlink()
    (site.round_dir / "round.yaml").unlink()
    bundle = read(tmp_path)
    assert bundle.round is None
    assert {row[0] for row in problems(bundle)} == {FILES["manifest"], FILES["round"]}
    assert bundle.segments.empty


def test_missing_site_folder_is_reported_not_raised(tmp_path):
    write_standard_site(tmp_path)
    bundle = read_site_submission(tmp_path, ROUND_ID, "sheffield")
    assert problems(bundle)[0][0] == f"{ROUND_ID}/sheffield/manifest.yaml"


def test_garbage_in_every_file_never_raises(tmp_path):
    site = write_standard_site(tmp_path)
    for path in site.site_dir.rglob("*"):
        if path.is_file() and path.name != "manifest.yaml":
            path.write_bytes(b"\x00\xff\xfe garbage \x81")
    bundle = read(tmp_path)
    assert bundle.segments.empty
    quarantined = {path for path, state in status(bundle).items() if state == "quarantined"}
    assert quarantined == {FILES[k] for k in FILES if k not in ("round", "manifest")}


def test_discover_partitions_reports_non_slug_folders(tmp_path, caplog):
    write_standard_site(tmp_path)
    write_standard_site(tmp_path, site_id="coventry-warwickshire")
    write_standard_site(tmp_path, round_id="2022-baseline", site_id="national")
    (tmp_path / "2024-impact" / "East London (old)").mkdir()
    (tmp_path / "Archive 2023").mkdir()
    (tmp_path / ".git").mkdir()
    (tmp_path / "README.txt").write_text("not a round")
    with caplog.at_level(logging.WARNING):
        partitions = discover_partitions(tmp_path)
    assert partitions == [
        ("2022-baseline", "national"),
        ("2024-impact", "coventry-warwickshire"),
        ("2024-impact", "east-london"),
    ]
    assert "Archive 2023" in caplog.text and "East London (old)" in caplog.text
    assert ".git" not in caplog.text
    assert scan_layout(tmp_path).rejected == ("2024-impact/East London (old)", "Archive 2023")
    assert discover_partitions(tmp_path / "no-such-folder") == []


def test_read_roster_lists_attendees_and_withdrawals_of_every_site(tmp_path):
    write_standard_site(tmp_path)
    other = write_standard_site(tmp_path, round_id="2022-baseline", site_id="sheffield")
    broken = Site(tmp_path, "2022-baseline", "greater-manchester")
    broken.write_manifest("site: [unclosed\n")
    roster = read_roster(tmp_path)
    assert set(roster.columns) >= {"round_id", "site_id", "name", "role", "kind"}
    assert set(zip(roster["round_id"], roster["site_id"], strict=True)) == {
        (ROUND_ID, SITE_ID),
        (other.round_id, other.site_id),
    }
    assert len(roster) == 2 * 9
    withdrawals = roster[roster["kind"] == "withdrawal"]
    assert set(withdrawals["name"]) == {"Tom Whitfield"}
    assert withdrawals["role"].isna().all()
    assert "Siobhán Ní Bhriain" in set(roster["name"])
    assert read_roster(tmp_path / "nothing").empty


def test_partition_ids_must_be_slugs(tmp_path):
    with pytest.raises(ValueError, match="slug"):
        read_site_submission(tmp_path, "2024 impact", SITE_ID)


def test_os_error_mid_read_is_reported_and_the_rest_kept(tmp_path, monkeypatch):
    write_standard_site(tmp_path)

    def unreadable(*args, **kwargs):
        raise PermissionError("simulated")

    monkeypatch.setattr("assets.ingest.submission.read_action_plan", unreadable)
    bundle = read(tmp_path)
    assert (f"{ROUND_ID}/{SITE_ID}", "folder", "error") in [row[:3] for row in problems(bundle)]
    assert len(bundle.survey_responses) == 5 and bundle.action_plan.empty


def test_an_event_id_used_by_another_site_of_the_round_is_a_warning(tmp_path) -> None:
    from assets.ingest.submission import read_site_submission

    round_dir = tmp_path / "2024-impact"
    round_dir.mkdir()
    (round_dir / "round.yaml").write_text(
        "round: 2024-impact\ntitle: T\nkind: impact\nperiod: {start: 2024-01-01, end: 2024-12-31}\n"
    )
    for site in ("east-london", "sheffield"):
        (round_dir / site).mkdir()
        (round_dir / site / "manifest.yaml").write_text(
            f"site: {site}\nround: 2024-impact\nevents:\n"
            "  - {id: ws1, type: local_workshop, date: 2024-05-01, attendees: []}\n"
        )
    submission = read_site_submission(tmp_path, "2024-impact", "east-london")
    warnings = submission.quarantine[submission.quarantine["severity"] == "warning"]
    assert len(warnings) == 1
    row = warnings.iloc[0]
    assert row["source_file"] == "2024-impact/east-london/manifest.yaml"
    assert row["locator"] == "events[0].id"
    assert "sheffield" in row["reason"]
