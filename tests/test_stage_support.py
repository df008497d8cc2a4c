"""A failing stage tells Dagster which stage and which error, and nothing of the data."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from assets.stage_support import StageFailed, contained_errors


def test_a_stage_error_goes_to_the_restricted_log_and_not_to_dagster(tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    with pytest.raises(StageFailed) as raised, contained_errors("ingest", staging):
        raise ValueError("cell holds 'Amara Okafor, 07700 900123'")
    message = str(raised.value)
    assert "ingest failed with ValueError" in message
    assert "Amara" not in message and "07700" not in message
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    [log] = (staging / "errors").iterdir()
    assert str(log) in message
    assert "Amara Okafor" in log.read_text()
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    for folder in (staging, staging / "errors"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_no_error_no_log(tmp_path: Path) -> None:
    with contained_errors("code", tmp_path / "staging"):
        pass
    assert not (tmp_path / "staging").exists()
