"""The per-round impact report: its choices on small frames, its reading of the views on both
backends (and as a role that may read the views only), its Dagster asset and automation,
its CLI, and the report of the materialised sample round."""

from __future__ import annotations

import dataclasses
import hashlib
import html
import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.exc import ProgrammingError

from assets.aggregate.summaries import theme_prevalence
from assets.load.loader import replace_partition
from assets.report import cli_command
from assets.report.assets import impact_report
from assets.report.report import (
    ReportError,
    build_context,
    build_report,
    category_split,
    cell_suppression,
    likert_figure_items,
    likert_items,
    read_round_views,
    render_html,
    report_path,
    select_quotes,
    write_report,
)
from pipelines.partitions import partition_key, round_site
from pipelines.resources import Disclosure, Instruments, Reports, StagingArea, Warehouse
from schemas.tables import SiteSubmission
from tests.conftest import coded_submission
from tests.report_sample import ROUND_ID, roster_names, sample_warehouse
from warehouse.engine import create_warehouse_engine
from warehouse.migrations_runner import migrate

LOADED_AT = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
SURVEY_COLUMNS = [
    "site_id",
    "item_id",
    "response_option",
    "n_responses",
    "mean",
    "share_agree",
    "suppressed",
]
HOSTILE = "<script>alert('x')</script> & <b>the link worker post is funded</b>"


def _passages(rows: list[tuple]) -> pd.DataFrame:
    columns = "segment_id site_id source_kind stakeholder_group text theme_code category confidence"
    return pd.DataFrame(rows, columns=columns.split())


def _cells(rows: list[tuple]) -> pd.DataFrame:
    columns = "site_id stakeholder_group theme_code category n_segments n_participants suppressed"
    return pd.DataFrame(rows, columns=columns.split())


def _aggregated(submission: SiteSubmission, threshold: int) -> SiteSubmission:
    """The submission with theme prevalence as the aggregate stage computes it at `threshold`."""
    return dataclasses.replace(
        submission,
        theme_prevalence=theme_prevalence(
            submission.segments, submission.segment_themes, threshold
        ),
    )


def _load(engine: Engine, *submissions: SiteSubmission) -> None:
    for number, submission in enumerate(submissions):
        replace_partition(engine, submission, run_id=f"{number:02d}c0ffee-run", loaded_at=LOADED_AT)


def _without_theme(submission: SiteSubmission, theme_code: str) -> SiteSubmission:
    return dataclasses.replace(
        submission,
        segment_themes=submission.segment_themes[
            submission.segment_themes["theme_code"] != theme_code
        ],
        segment_codings=submission.segment_codings[
            submission.segment_codings["theme_code"] != theme_code
        ],
    )


def _round_pair(threshold: int) -> tuple[SiteSubmission, SiteSubmission]:
    """2022-baseline without stigma and 2024-impact reviewing it, one hostile passage in it."""
    baseline = _without_theme(
        coded_submission("2022-baseline", actions={"a1": "not_started"}), "stigma"
    )
    impact = coded_submission("2024-impact", reviews="2022-baseline")
    segments = impact.segments.copy()
    segments.loc[segments["segment_id"].str.contains("-m2-"), "text"] = HOSTILE
    impact = dataclasses.replace(impact, segments=segments)
    return _aggregated(baseline, threshold), _aggregated(impact, threshold)


# --- choices on small frames -------------------------------------------------------------


def test_quotes_never_come_from_a_suppressed_cell_and_are_counted() -> None:
    passages = _passages(
        [
            ("p1", "east-london", "minutes", "carer", "Waiting lists are still long here.",
             "stigma", "barrier", 0.9),
            ("p2", "east-london", "minutes", "staff", "Nobody asks about faith or culture yet.",
             "stigma", "barrier", 0.99),
            ("p3", "east-london", "survey", "staff", "Staff still say they see no colour.",
             "stigma", "barrier", 0.8),
        ]
    )  # fmt: skip
    cells = _cells(
        [
            ("east-london", "carer", "stigma", "barrier", 6, 5, False),
            ("east-london", "staff", "stigma", "barrier", 2, None, True),
        ]
    )
    quotes, withheld = select_quotes(passages, cells)
    suppressed_ids = set(passages.loc[passages["stakeholder_group"] == "staff", "segment_id"])
    assert set(quotes["segment_id"]) == set(passages["segment_id"]) - suppressed_ids
    assert withheld["stigma"] == len(suppressed_ids)


def test_a_passage_with_no_published_cell_is_not_quoted() -> None:
    passages = _passages(
        [("p1", "national", "minutes", None, "Action: invite the youth group to the next one.",
          "coproduction-impact", "solution", 0.9)]
    )  # fmt: skip
    quotes, withheld = select_quotes(passages, _cells([]))
    assert quotes.empty
    assert withheld["coproduction-impact"] == 1


def test_quotes_spread_over_sites_and_groups_and_never_change_with_row_order() -> None:
    rows = []
    for number, (site, group) in enumerate(
        [("east-london", "carer")] * 4
        + [("coventry-warwickshire", "carer"), ("coventry-warwickshire", "staff")]
        + [("national", "service_user"), ("national", "carer")]
    ):
        rows.append(
            (f"s{number}", site, "minutes", group, f"Passage number {number} about stigma here.",
             "stigma", "barrier", 0.99 - number / 100)
        )  # fmt: skip
    passages = _passages(rows)
    cells = _cells(
        [
            (site, group, "stigma", "barrier", 9, 6, False)
            for site, group in set(
                zip(passages["site_id"], passages["stakeholder_group"], strict=True)
            )
        ]
    )
    quotes, _ = select_quotes(passages, cells, per_theme=3)
    assert len(quotes) == 3
    assert quotes["site_id"].nunique() == 3
    assert quotes["stakeholder_group"].nunique() >= 2
    assert (
        quotes["segment_id"].iloc[0] == passages.loc[passages["confidence"].idxmax(), "segment_id"]
    )
    shuffled, _ = select_quotes(passages.sample(frac=1, random_state=7), cells, per_theme=3)
    assert list(shuffled["segment_id"]) == list(quotes["segment_id"])


def test_a_site_theme_cell_is_suppressed_only_when_every_category_is() -> None:
    cells = _cells(
        [
            ("east-london", "all", "stigma", "barrier", 7, 6, False),
            ("east-london", "all", "stigma", "progress", 2, None, True),
            ("east-london", "all", "pandemic-impact", "barrier", 3, None, True),
            ("east-london", "all", "pandemic-impact", "solution", 1, None, True),
            ("east-london", "carer", "racism-experience", "barrier", 9, 7, False),
        ]
    )
    suppressed = cell_suppression(cells)
    assert not suppressed[("east-london", "stigma")]
    assert suppressed[("east-london", "pandemic-impact")]
    assert ("east-london", "racism-experience") not in suppressed  # groups are not sites' totals


def test_category_split_shows_a_category_published_somewhere_and_pools_the_rest() -> None:
    cells = _cells(
        [
            ("east-london", "carer", "stigma", "barrier", 8, 6, False),
            ("coventry-warwickshire", "carer", "stigma", "barrier", 3, None, True),
            ("east-london", "carer", "stigma", "progress", 2, None, True),
            ("east-london", "carer", "racism-experience", "solution", 4, None, True),
            ("east-london", "commissioner", "stigma", "barrier", 1, None, True),
            ("east-london", "all", "stigma", "barrier", 9, 7, False),
        ]
    )
    split = category_split(cells)
    assert list(split.index) == ["carer", "commissioner"]  # the contract's order; no "all"
    assert split.loc["carer", "barrier"] == 8 + 3
    assert pd.isna(split.loc["carer", "progress"]) and pd.isna(split.loc["carer", "solution"])
    assert split.loc["carer", "suppressed"] == 2 + 4
    assert split.loc["commissioner", "suppressed"] == 1
    assert pd.isna(split.loc["commissioner", "barrier"])


def test_likert_rows_follow_the_instrument_and_set_suppressed_answers_aside() -> None:
    items = likert_items()
    survey = pd.DataFrame(
        [
            ("east-london", "access_ease", None, 12, 3.25, 0.5, False),
            ("east-london", "access_ease", "Agree", 6, None, None, False),
            ("east-london", "access_ease", "3", 4, None, None, False),
            ("east-london", "access_ease", "Strongly disagree", None, None, None, True),
            ("east-london", "access_ease", "5", None, None, None, True),
            ("national", "access_ease", None, None, None, None, True),
        ],
        columns=SURVEY_COLUMNS,
    )
    [item] = likert_figure_items(survey, items, ["east-london", "national"])
    instrument_item = items["access_ease"]
    by_score = sorted(instrument_item.options, key=lambda option: option.score)
    assert [label for _, label in item.options] == [option.label for option in by_score]
    assert item.question == instrument_item.question
    east, national = item.rows
    agree = instrument_item.normalise("Agree").value
    assert east.shares == {agree: 6 / 12, "3": 4 / 12}
    assert east.suppressed_share == pytest.approx(1 - 10 / 12)
    assert national.shares is None


def test_report_path_refuses_what_is_not_a_round_id(tmp_path: Path) -> None:
    assert report_path(tmp_path, "2024-impact") == tmp_path / "2024-impact" / "impact-report.html"
    for bad in ("../outside", "2024/impact", "Round 1", ""):
        with pytest.raises(ValueError):
            report_path(tmp_path, bad)


# --- the views, on SQLite and PostgreSQL -------------------------------------------------


def test_report_of_a_round_the_warehouse_does_not_hold_is_refused(
    warehouse_engine: Engine,
) -> None:
    _load(warehouse_engine, *_round_pair(threshold=1))
    with pytest.raises(ReportError, match="2031-impact"):
        read_round_views(warehouse_engine, "2031-impact")


def test_report_from_a_warehouse_never_loaded_says_to_materialise(tmp_path: Path) -> None:
    empty = create_warehouse_engine(f"sqlite:///{tmp_path / 'never-loaded.db'}")
    try:
        with pytest.raises(ReportError, match="materialise"):
            read_round_views(empty, "2024-impact")
    finally:
        empty.dispose()


def test_report_shows_change_since_the_reviewed_round(warehouse_engine: Engine) -> None:
    baseline, impact = _round_pair(threshold=1)
    _load(warehouse_engine, baseline, impact)
    views = read_round_views(warehouse_engine, "2024-impact")
    assert views.reviewed_round_id == "2022-baseline"
    published = impact.segment_themes
    share_now = published.loc[published["theme_code"] == "stigma", "segment_id"].nunique() / len(
        impact.segments
    )
    context = build_context(views, threshold=1, run_id=None, generated_at=LOADED_AT)
    page = html.unescape(render_html(context))
    assert f"{share_now * 100:+.0f} pp" in page
    assert context["charts"]["change"] is not None
    moves = context["moves"]
    assert moves.loc["not_started", "in_progress"] == 1  # a1 moved on
    assert moves.loc["new", "not_started"] == 1  # a2 is new in this round


def test_suppressed_cells_show_as_suppressed_and_hold_no_number(warehouse_engine: Engine) -> None:
    baseline, impact = _round_pair(threshold=3)
    _load(warehouse_engine, baseline, impact)
    views = read_round_views(warehouse_engine, "2024-impact")
    context = build_context(views, threshold=3, run_id=None, generated_at=LOADED_AT)
    [(_, stigma)] = [
        (name, values) for name, values in context["prevalence_table"] if "tigma" in name
    ]
    assert stigma == ["suppressed"]
    assert context["counts"]["n_suppressed_theme_cells"] >= 1
    assert context["counts"]["n_quotes"] == 0  # every group cell holds fewer than 3 people
    page = html.unescape(render_html(context))
    for passage in impact.segments["text"]:
        assert passage not in page
    assert "fewer than 3 people" in page


def test_quoted_text_is_escaped_and_suppressed_cells_are_never_quoted(
    warehouse_engine: Engine,
) -> None:
    baseline, impact = _round_pair(threshold=1)
    _load(warehouse_engine, baseline, impact)
    report = build_report(warehouse_engine, "2024-impact", threshold=1, generated_at=LOADED_AT)
    assert "<script" not in report.html
    assert "&lt;script&gt;" in report.html
    assert HOSTILE in html.unescape(report.html)
    # The action paragraph has no speaker: its cell counts no one, so it is never quoted.
    action = impact.segments.loc[impact.segments["is_action"], "text"].iloc[0]
    assert action not in html.unescape(report.html)
    assert report.counts["n_quotes_withheld"] >= 1


def test_report_is_one_file_that_fetches_nothing(warehouse_engine: Engine) -> None:
    _load(warehouse_engine, *_round_pair(threshold=1))
    page = build_report(warehouse_engine, "2024-impact", threshold=1).html
    assert "default-src 'none'" in page
    assert re.findall(r"<(?:script|link|img|iframe|object)\b", page) == []
    references = re.findall(r'(?:src|href)="([^"]*)"', page)
    # In-page anchors, and the colour bars matplotlib embeds as data: images.
    assert references and all(ref.startswith(("#", "data:image/png;")) for ref in references)
    assert page.count("<svg") == 5


def test_lineage_lists_files_hashes_runs_and_codebook(warehouse_engine: Engine) -> None:
    baseline, impact = _round_pair(threshold=1)
    _load(warehouse_engine, baseline, impact)
    page = build_report(warehouse_engine, "2024-impact", threshold=1).html
    for row in impact.source_files.itertuples(index=False):
        assert row.source_file in page
        if row.source_sha256:
            assert row.source_sha256[:12] in page
    assert "01c0ffee" in page  # the run that loaded 2024-impact (the second load)
    assert set(impact.segment_themes["codebook_version"]) <= set(
        re.findall(r"<code>([^<]+)</code>", page)
    )


@pytest.mark.parametrize(
    "warehouse_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_report_runs_as_a_role_that_may_read_the_views_only(
    warehouse_url: str, warehouse_engine: Engine
) -> None:
    _load(warehouse_engine, *_round_pair(threshold=1))
    role = f"analyst_{secrets.token_hex(4)}"
    admin = create_engine(warehouse_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        views = (
            connection.execute(
                text(
                    "SELECT table_name FROM information_schema.views "
                    "WHERE table_schema = current_schema()"
                )
            )
            .scalars()
            .all()
        )
        connection.execute(text(f'CREATE ROLE "{role}" NOLOGIN'))
        connection.execute(text(f'GRANT USAGE ON SCHEMA "{_schema(warehouse_url)}" TO "{role}"'))
        for view in views:
            connection.execute(text(f'GRANT SELECT ON "{view}" TO "{role}"'))
    analyst = create_engine(warehouse_url)
    event.listen(analyst, "connect", lambda dbapi, _: _set_role(dbapi, role))
    try:
        with analyst.connect() as connection, pytest.raises(ProgrammingError):
            connection.execute(text("SELECT COUNT(*) FROM core_segment"))
        report = build_report(analyst, "2024-impact", threshold=1)
        assert report.counts["n_segments"] == 5
    finally:
        analyst.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP OWNED BY "{role}"'))
            connection.execute(text(f'DROP ROLE "{role}"'))
        admin.dispose()


def _schema(url: str) -> str:
    return make_url(url).query["options"].removeprefix("-csearch_path=")


def _set_role(dbapi_connection, role: str) -> None:
    with dbapi_connection.cursor() as cursor:
        cursor.execute(f'SET ROLE "{role}"')
    dbapi_connection.commit()


# --- the asset, its automation and the CLI -------------------------------------------------


@pytest.fixture
def sqlite_warehouse(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    engine = create_warehouse_engine(url)
    migrate(engine)
    _load(engine, *_round_pair(threshold=1))
    engine.dispose()
    yield url


def test_asset_writes_the_page_and_records_path_and_counts_only(
    sqlite_warehouse: str, tmp_path: Path
) -> None:
    reports = tmp_path / "reports"
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("round", ["2024-impact"])
        result = dg.materialize(
            [impact_report],
            partition_key="2024-impact",
            instance=instance,
            resources={
                "warehouse": Warehouse(url=sqlite_warehouse),
                "reports": Reports(reports_dir=str(reports)),
                "disclosure": Disclosure(threshold=1),
                "instruments": Instruments(),
                "staging": StagingArea(staging_dir=str(tmp_path / "staging")),
            },
        )
    assert result.success
    [materialisation] = result.asset_materializations_for_node("impact_report")
    metadata = {key: entry.value for key, entry in materialisation.metadata.items()}
    path = reports / "2024-impact" / "impact-report.html"
    assert metadata["path"] == str(path) and path.is_file()
    assert all(isinstance(value, int) for key, value in metadata.items() if key != "path")
    assert metadata["n_quotes"] >= 1 and metadata["n_sites"] == 1
    assert str(result.run_id)[:8] in path.read_text(encoding="utf-8")


def test_automation_remakes_the_report_after_each_site_load_of_its_round() -> None:
    upstream = dg.AssetSpec("warehouse_partition", partitions_def=round_site)
    defs = dg.Definitions(
        assets=[impact_report, upstream],
        resources={
            "warehouse": Warehouse(),
            "reports": Reports(),
            "disclosure": Disclosure(),
            "instruments": Instruments(),
            "staging": StagingArea(),
        },
    )
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("round", ["2022-baseline", "2024-impact"])
        # sheffield is a site of 2022-baseline only: 2024-impact never loads it.
        instance.add_dynamic_partitions("site", ["east-london", "national", "sheffield"])

        def tick(cursor=None):
            result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
            return result.get_requested_partitions(impact_report.key), result.cursor

        def load(site: str) -> None:
            instance.report_runless_asset_event(
                dg.AssetMaterialization(
                    "warehouse_partition", partition=str(partition_key("2024-impact", site))
                )
            )

        requested, cursor = tick()
        assert requested == set()  # nothing loaded: no report of an empty round
        load("east-london")
        requested, cursor = tick(cursor)
        assert requested == {"2024-impact"}
        requested, cursor = tick(cursor)
        assert requested == set()
        load("national")
        requested, cursor = tick(cursor)
        assert requested == {"2024-impact"}  # without waiting for sheffield, which never comes


def test_cli_command_prints_the_path_and_refuses_bad_rounds(
    sqlite_warehouse: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ARIADNE_WAREHOUSE_URL", sqlite_warehouse)
    monkeypatch.setenv("ARIADNE_DISCLOSURE_THRESHOLD", "1")
    monkeypatch.setattr(cli_command.shutil, "which", lambda _: None)
    out = tmp_path / "out"
    assert cli_command.report("2024-impact", out) == 0
    written = Path(capsys.readouterr().out.strip())
    assert written == out / "2024-impact" / "impact-report.html" and written.is_file()
    monkeypatch.setenv("ARIADNE_REPORTS_DIR", str(tmp_path / "configured"))
    assert cli_command.report("2024-impact", None) == 0
    assert (tmp_path / "configured" / "2024-impact" / "impact-report.html").is_file()
    capsys.readouterr()
    assert cli_command.report("2031-impact", out) == 1
    assert "2031-impact" in capsys.readouterr().out
    assert cli_command.report("../escape", out) == 1
    assert not (tmp_path / "escape").exists()


def test_write_replaces_the_page_whole(tmp_path: Path, sqlite_warehouse: str) -> None:
    engine = create_warehouse_engine(sqlite_warehouse)
    try:
        first = build_report(engine, "2024-impact", threshold=1, run_id="aaaaaaaa-first")
        second = build_report(engine, "2024-impact", threshold=1, run_id="bbbbbbbb-second")
    finally:
        engine.dispose()
    path = write_report(first, tmp_path, "2024-impact")
    assert write_report(second, tmp_path, "2024-impact") == path
    assert "bbbbbbbb" in path.read_text(encoding="utf-8")
    assert [p.name for p in path.parent.iterdir()] == [path.name]


# --- the sample round, materialised --------------------------------------------------------


@pytest.fixture(scope="module")
def sample_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, Engine]:
    sample = sample_warehouse(tmp_path_factory)
    engine = create_warehouse_engine(sample.url)
    report = build_report(engine, ROUND_ID, threshold=5)
    yield sample.raw, report.html, engine
    engine.dispose()


def test_sample_report_names_nobody_and_its_hashes_are_the_raw_files(
    sample_report: tuple[Path, str, Engine],
) -> None:
    raw, page, _ = sample_report
    folded = html.unescape(page).casefold()
    names = roster_names(raw)
    assert len(names) > 20
    assert [name for name in names if name.casefold() in folded] == []
    files = [p for p in (raw / ROUND_ID).rglob("*") if p.is_file()]
    assert len(files) >= 10
    for path in files:
        assert hashlib.sha256(path.read_bytes()).hexdigest()[:12] in page, path.name


def test_sample_report_quotes_only_published_cells_of_five_or_more_people(
    sample_report: tuple[Path, str, Engine],
) -> None:
    _, page, engine = sample_report
    views = read_round_views(engine, ROUND_ID)
    quotes, withheld = select_quotes(views.passages, views.prevalence)
    assert not quotes.empty and withheld.sum() > 0
    with engine.connect() as connection:
        for quote in quotes.itertuples(index=False):
            cell = connection.execute(
                text(
                    "SELECT n_participants, suppressed FROM theme_prevalence WHERE round_id = :r "
                    "AND site_id = :s AND stakeholder_group = :g AND theme_code = :t "
                    "AND category = :c"
                ),
                {"r": ROUND_ID, "s": quote.site_id, "g": quote.group, "t": quote.theme_code,
                 "c": quote.category},
            ).one()  # fmt: skip
            assert not cell.suppressed and cell.n_participants >= 5
    assert page.count("<blockquote>") == len(quotes)
