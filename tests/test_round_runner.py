"""The round runner: which stages a partial run selects."""

from __future__ import annotations

from pipelines.round_runner import SiteRunner, _stage_keys


def test_a_run_from_a_stage_selects_it_and_every_stage_after_it() -> None:
    every = [key.to_user_string() for key in _stage_keys(None)]
    assert every[0] == "ingested_submission" and every[-1] == "warehouse_partition"
    partial = [key.to_user_string() for key in _stage_keys("anonymised_submission")]
    assert partial == every[every.index("anonymised_submission") :]
    assert "validated_submission" not in partial


def test_a_pool_makes_way_for_a_fresh_one_after_its_share_of_sites() -> None:
    with SiteRunner(workers=2, sites_per_worker=2) as runner:
        first = runner._pool_for(3, per_pool=4)
        assert runner._pool_for(1, per_pool=4) is first
        fresh = runner._pool_for(1, per_pool=4)
        assert fresh is not first
        assert runner._pool_for(3, per_pool=4) is fresh
