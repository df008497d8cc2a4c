"""The round runner: which stages a partial run selects."""

from __future__ import annotations

from pipelines.round_runner import _stage_keys


def test_a_run_from_a_stage_selects_it_and_every_stage_after_it() -> None:
    every = [key.to_user_string() for key in _stage_keys(None)]
    assert every[0] == "ingested_submission" and every[-1] == "warehouse_partition"
    partial = [key.to_user_string() for key in _stage_keys("anonymised_submission")]
    assert partial == every[every.index("anonymised_submission") :]
    assert "validated_submission" not in partial
