"""Names found at a round's sites: kept in restricted staging, and sites left stale rerun."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from assets.anonymise import round_names
from assets.anonymise.round_names import (
    names_for_gate,
    read_round_names,
    stale_sites,
    write_round_names,
)
from pipelines.io_managers import staged_path


def test_a_site_anonymised_before_another_sites_names_is_stale_until_rerun(
    tmp_path: Path,
) -> None:
    write_round_names(tmp_path, "2024-impact", "east", ["Dawit Tesfaye"], used=[])
    assert stale_sites(tmp_path, "2024-impact", ["east"]) == []
    write_round_names(tmp_path, "2024-impact", "west", ["Yetunde Bello"], used=["Dawit Tesfaye"])
    assert stale_sites(tmp_path, "2024-impact", ["east", "west"]) == ["east"]
    used = read_round_names(tmp_path, "2024-impact", except_site="east")
    assert used == {"Yetunde Bello"}
    write_round_names(tmp_path, "2024-impact", "east", ["Dawit Tesfaye"], used=used)
    assert stale_sites(tmp_path, "2024-impact", ["east", "west"]) == []
    assert read_round_names(tmp_path, "2024-impact") == {"Dawit Tesfaye", "Yetunde Bello"}


def test_other_rounds_are_not_read_and_files_are_for_the_owner_only(tmp_path: Path) -> None:
    write_round_names(tmp_path, "2024-impact", "east", ["Dawit Tesfaye"], used=[])
    assert read_round_names(tmp_path, "2026-impact") == set()
    folder = tmp_path / "detected_names" / "2024-impact"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_site_behind_is_stale_only_if_a_name_found_since_is_in_its_text(
    tmp_path: Path,
) -> None:
    write_round_names(tmp_path, "2024-impact", "east", ["Dawit Tesfaye"], used=[])
    write_round_names(tmp_path, "2024-impact", "west", ["Yetunde Bello"], used=["Dawit Tesfaye"])
    published = {
        "east": ["[person] asked about interpreters.", None],
        "west": ["Carers wanted evening sessions."],
    }
    assert stale_sites(tmp_path, "2024-impact", ["east", "west"], published.get) == []
    published["east"].append("Ms Bello chaired the session.")
    assert stale_sites(tmp_path, "2024-impact", ["east", "west"], published.get) == ["east"]


def test_a_site_behind_with_nothing_staged_is_stale(tmp_path: Path) -> None:
    write_round_names(tmp_path, "2024-impact", "east", ["Dawit Tesfaye"], used=[])
    write_round_names(tmp_path, "2024-impact", "west", ["Yetunde Bello"], used=["Dawit Tesfaye"])
    assert stale_sites(tmp_path, "2024-impact", ["east"]) == ["east"]


def test_the_gate_checks_the_names_the_sites_anonymisation_knew(tmp_path: Path) -> None:
    write_round_names(tmp_path, "2024-impact", "east", ["Dawit Tesfaye"], used=[])
    write_round_names(tmp_path, "2024-impact", "west", ["Yetunde Bello"], used=["Dawit Tesfaye"])
    assert names_for_gate(tmp_path, "2024-impact", "east") == {"Dawit Tesfaye"}
    assert names_for_gate(tmp_path, "2024-impact", "west") == {"Dawit Tesfaye", "Yetunde Bello"}


def test_a_site_found_clean_is_not_scanned_again_until_its_text_or_the_names_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_round_names(tmp_path, "2024-impact", "east", ["Dawit Tesfaye"], used=[])
    write_round_names(tmp_path, "2024-impact", "west", ["Yetunde Bello"], used=["Dawit Tesfaye"])
    staged = staged_path(tmp_path, "anonymised_submission", "2024-impact", "east")
    staged.parent.mkdir(parents=True)
    staged.write_bytes(b"first run")
    texts = ["Carers wanted evening sessions."]
    scanned: list[str] = []

    def staged_texts(staging: Path, round_id: str, site_id: str) -> list[str]:
        scanned.append(site_id)
        return texts

    monkeypatch.setattr(round_names, "_staged_texts", staged_texts)
    assert stale_sites(tmp_path, "2024-impact", ["east", "west"]) == []
    assert stale_sites(tmp_path, "2024-impact", ["east", "west"]) == []
    assert scanned == ["east"]
    texts = ["Ms Bello chaired the session."]
    staged.write_bytes(b"a later run")
    assert stale_sites(tmp_path, "2024-impact", ["east", "west"]) == ["east"]
    texts = ["Carers wanted evening sessions."]
    staged.write_bytes(b"the run after")
    assert stale_sites(tmp_path, "2024-impact", ["east"]) == []
    write_round_names(
        tmp_path, "2024-impact", "west", ["Yetunde Bello", "Wanjiru Kamau"], used=["Dawit Tesfaye"]
    )
    assert stale_sites(tmp_path, "2024-impact", ["east"]) == []
    assert scanned == ["east", "east", "east", "east"]
