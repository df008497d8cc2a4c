"""Great Expectations suites: pass and fail honestly, keep every run in the Data Docs, no text."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from assets.validate.expectations import partition_docs_dir, run_suite, write_docs_index

SHA = "c" * 64


def _segments(texts: list[str], ids: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "segment_id": ids,
            "source_kind": ["minutes"] * len(ids),
            "stakeholder_group": ["carer"] * len(ids),
            "speaker": ["[carer-7f3a9c]"] * len(ids),
            "source_sha256": [SHA] * len(ids),
            "text": texts,
        }
    )


def test_suite_passes_clean_segments_and_fails_a_surviving_phone(tmp_path: Path) -> None:
    clean = run_suite("segments", _segments(["fine", "also fine"], ["a", "b"]), tmp_path, "r1")
    assert clean.success and clean.failed == [] and clean.evaluated >= 8
    leaking = run_suite(
        "segments",
        _segments(["ring 07700 900321", "fine"], ["a", "a"]),
        tmp_path,
        "r2",
    )
    assert not leaking.success
    assert "expect_column_values_to_be_unique(segment_id)" in leaking.failed
    assert any("not_match_regex(text)" in label for label in leaking.failed)


def test_data_docs_list_every_run_and_never_show_text(tmp_path: Path) -> None:
    run_suite("segments", _segments(["ring 07700 900321"], ["a"]), tmp_path, "2024-impact.site-a")
    run_suite("segments", _segments(["fine"], ["b"]), tmp_path, "2024-impact.site-b")
    index = (tmp_path / "index.html").read_text()
    assert "2024-impact.site-a" in index and "2024-impact.site-b" in index
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.suffix in {".html", ".json"}:
            assert "900321" not in path.read_text(errors="ignore"), path


def test_each_round_and_site_has_its_docs_and_the_top_index_links_them(tmp_path: Path) -> None:
    for site in ("site-a", "site-b"):
        docs = partition_docs_dir(tmp_path, "2024-impact", site)
        run_suite("segments", _segments(["fine"], ["a"]), docs, f"2024-impact.{site}.run")
    write_docs_index(tmp_path)
    index = (tmp_path / "index.html").read_text()
    assert 'href="2024-impact/site-a/index.html"' in index
    assert 'href="2024-impact/site-b/index.html"' in index
    site_a = (tmp_path / "2024-impact" / "site-a" / "index.html").read_text()
    assert "2024-impact.site-a.run" in site_a and "site-b" not in site_a
