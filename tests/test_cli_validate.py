"""`ariadne validate PATH`: every problem listed with file and place; exit 1 when there is one."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipelines import cli

SAMPLE_RAW = Path(__file__).resolve().parents[1] / "raw"


def test_flawed_site_lists_each_problem_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    status = cli.main(["validate", str(SAMPLE_RAW / "2024-impact" / "coventry-warwickshire")])
    out = capsys.readouterr().out
    assert status == 1
    problems = [line for line in out.splitlines() if line.startswith("  ERROR")]
    assert len(problems) == 2
    assert all(
        "2024-impact/coventry-warwickshire/surveys/followup.xlsx [row " in p for p in problems
    )
    assert any("respect_experience" in p for p in problems)
    assert any("respondent_role" in p for p in problems)


def test_clean_site_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    status = cli.main(["validate", str(SAMPLE_RAW / "2022-baseline" / "east-london")])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "0 problems" in out


def test_a_whole_round_and_a_broken_manifest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(SAMPLE_RAW / "2022-baseline", tmp_path / "2022-baseline")
    (tmp_path / "2022-baseline" / "sheffield" / "manifest.yaml").write_text("site: [unclosed\n")
    status = cli.main(["validate", str(tmp_path / "2022-baseline")])
    out = capsys.readouterr().out
    assert status == 1
    assert "2022-baseline/sheffield/manifest.yaml" in out
    for site in ("coventry-warwickshire", "east-london", "greater-manchester"):
        assert f"2022-baseline / {site}:" in out
    assert (tmp_path / "2022-baseline" / "sheffield" / "manifest.yaml").read_text() == (
        "site: [unclosed\n"
    )


def test_nothing_to_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["validate", str(tmp_path)]) == 1
    assert "no submission found" in capsys.readouterr().out
