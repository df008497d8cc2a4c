"""Rotating the pseudonym key (README, 'Rotating the key'): new key, rerun every round.

Every pseudonym changes, one person still has one pseudonym in every round, and nothing
of the old pseudonyms is left in the warehouse.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine

from pipelines import cli

SAMPLE_RAW = Path(__file__).resolve().parents[1] / "raw"
SITE = "coventry-warwickshire"


@pytest.fixture
def two_rounds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    raw = tmp_path / "raw"
    for round_id in ("2022-baseline", "2024-impact"):
        shutil.copytree(SAMPLE_RAW / round_id / SITE, raw / round_id / SITE)
        shutil.copy(SAMPLE_RAW / round_id / "round.yaml", raw / round_id / "round.yaml")
    for name, value in {
        "ARIADNE_RAW_DIR": raw,
        "ARIADNE_WAREHOUSE_URL": f"sqlite:///{tmp_path / 'warehouse.db'}",
        "ARIADNE_STAGING_DIR": tmp_path / "staging",
        "ARIADNE_DATA_DOCS_DIR": tmp_path / "data_docs",
        "DAGSTER_HOME": tmp_path / "dagster_home",
    }.items():
        monkeypatch.setenv(name, str(value))
    return tmp_path


def speakers(root: Path) -> pd.DataFrame:
    engine = create_engine(f"sqlite:///{root / 'warehouse.db'}")
    try:
        return pd.read_sql_query(
            "SELECT segment_id, round_id, speaker, text FROM segments ORDER BY segment_id",
            engine,
        )
    finally:
        engine.dispose()


def test_a_new_key_and_a_rerun_change_every_pseudonym_consistently(
    two_rounds: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARIADNE_PSEUDONYM_KEY", "the-old-key-0123456789abcdef")
    assert cli.main(["materialise"]) == 0
    before = speakers(two_rounds)
    monkeypatch.setenv("ARIADNE_PSEUDONYM_KEY", "the-new-key-fedcba9876543210")
    assert cli.main(["materialise"]) == 0
    after = speakers(two_rounds)

    assert list(after["segment_id"]) == list(before["segment_id"])
    paired = pd.DataFrame({"old": before["speaker"], "new": after["speaker"]}).dropna()
    assert len(paired) > 20
    assert not set(paired["old"]) & set(paired["new"])
    # One person, one pseudonym, before and after: the mapping is one to one.
    assert (paired.groupby("old")["new"].nunique() == 1).all()
    assert (paired.groupby("new")["old"].nunique() == 1).all()
    in_both_rounds = after.dropna().groupby("speaker")["round_id"].nunique()
    assert (in_both_rounds == 2).any()
    old_pseudonyms = set(paired["old"])
    assert not any(old in text for text in after["text"] for old in old_pseudonyms)
