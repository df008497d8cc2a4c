"""The per-round impact report: what a round's warehouse views say, in one HTML file.

It reads only the analysts' views (`rounds`, `segments`, `segment_themes`,
`theme_prevalence`, `theme_change`, `survey_item_summary`, `action_progress`,
`coder_agreement`, `source_files`, and counts of `quarantine`), never a `core_*` table or
the staging area, so it runs with a role that may read the views only and shows nothing
an analyst could not see. What it shows is pseudonymised already; it adds a rule of its
own: a passage is quoted only when its cell (site x stakeholder group x theme x category)
is published, never from a cell suppressed for having too few people.

The page is one file with no script and nothing fetched: charts are inline SVG, the style
is inline, and a Content-Security-Policy forbids every request, so it opens the same from
an e-mail attachment, a shared drive or a browser with the network off.
"""

from __future__ import annotations

import dataclasses
import os
import re
import textwrap
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
import yaml
from markupsafe import Markup
from sqlalchemy import Engine, inspect, text

from assets.report import figures
from assets.review import MACHINE_CODERS, group_of, group_order, is_machine
from schemas.codebook import CODEBOOK_DIR, CONTRACT_THEME_CODES, CodebookError, codebook_path
from schemas.contract import ACTION_STATUSES, CATEGORIES, is_slug
from schemas.instruments import INSTRUMENTS_DIR, Item, load_instrument

REPORT_FILE = "impact-report.html"
TEMPLATES = Path(__file__).parent / "templates"
QUOTES_PER_THEME = 3
QUOTE_MAX_WORDS = 70
QUOTE_MIN_WORDS = 4
# Action-plan lines are the site's plan, not anyone's words: they are not quoted.
QUOTED_KINDS = ("minutes", "survey")
ALL_GROUPS = "all"
STATUS_LABELS = {
    "achieved": "Achieved",
    "in_progress": "In progress",
    "not_started": "Not started",
    "stalled": "Stalled",
    "dropped": "Dropped",
}
CATEGORY_LABELS = {"progress": "Progress", "barrier": "Barrier", "solution": "Solution"}


class ReportError(RuntimeError):
    """The warehouse holds nothing a report could be made of for this round."""


@dataclasses.dataclass(frozen=True)
class RoundViews:
    """What the report shows of one round, as read from the warehouse's views.

    `reviewed_prevalence` is the reviewed round's `theme_prevalence`: a change is shown
    only where neither round's cell is suppressed. `passages` are the quotable segments
    (minutes paragraphs and survey answers) with each published theme they carry.
    """

    round_id: str
    title: str
    kind: str | None
    period_start: str | None
    period_end: str | None
    reviewed_round_id: str | None
    segment_counts: pd.DataFrame
    prevalence: pd.DataFrame
    reviewed_prevalence: pd.DataFrame
    change: pd.DataFrame
    survey: pd.DataFrame
    actions: pd.DataFrame
    passages: pd.DataFrame
    codings: pd.DataFrame
    source_files: pd.DataFrame
    quarantine: pd.DataFrame
    agreement: pd.DataFrame

    @property
    def sites(self) -> list[str]:
        """The round's sites: those with segments or a loaded file."""
        found = set(self.segment_counts["site_id"]) | set(self.source_files["site_id"])
        return sorted(found)


@dataclasses.dataclass(frozen=True)
class Report:
    """A rendered report and the counts it may tell Dagster (never any of its text)."""

    html: str
    counts: dict[str, int]


_QUERIES = {
    "rounds": "SELECT round_id, title, kind, period_start, period_end, reviews "
    "FROM rounds WHERE round_id = :round_id",
    "segment_counts": "SELECT site_id, source_kind, COUNT(*) AS n_segments FROM segments "
    "WHERE round_id = :round_id GROUP BY site_id, source_kind",
    "prevalence": "SELECT site_id, stakeholder_group, theme_code, category, n_segments, "
    "n_participants, suppressed FROM theme_prevalence WHERE round_id = :round_id",
    "change": "SELECT site_id, theme_code, n_segments_then, share_then, n_segments_now, "
    "share_now, share_change FROM theme_change WHERE round_id = :round_id",
    "survey": "SELECT site_id, item_id, response_option, n_responses, mean, share_agree, "
    "suppressed FROM survey_item_summary WHERE round_id = :round_id",
    "actions": "SELECT site_id, action_id, theme_code, status, previous_status "
    "FROM action_progress WHERE round_id = :round_id",
    "passages": "SELECT s.segment_id, s.site_id, s.source_kind, s.stakeholder_group, s.text, "
    "t.theme_code, t.category, t.confidence FROM segments s JOIN segment_themes t "
    "ON t.round_id = s.round_id AND t.site_id = s.site_id AND t.segment_id = s.segment_id "
    "WHERE s.round_id = :round_id AND s.source_kind IN ('minutes', 'survey')",
    "codings": "SELECT codebook_version, coder, COUNT(DISTINCT segment_id) AS n_segments "
    "FROM segment_themes WHERE round_id = :round_id GROUP BY codebook_version, coder",
    "source_files": "SELECT site_id, source_file, source_kind, source_sha256, status, run_id, "
    "loaded_at, n_records, n_rejected, n_withdrawn FROM source_files WHERE round_id = :round_id",
    "quarantine": "SELECT site_id, severity, COUNT(*) AS n_items FROM quarantine "
    "WHERE round_id = :round_id GROUP BY site_id, severity",
    "agreement": "SELECT site_id, coder_a, coder_b, theme_code, n_segments, cohen_kappa, "
    "krippendorff_alpha, percent_agreement, warning FROM coder_agreement "
    "WHERE round_id = :round_id",
}


def read_round_views(engine: Engine, round_id: str) -> RoundViews:
    """Everything the report shows of `round_id`, from the views alone."""
    with engine.connect() as connection:
        if "theme_change" not in inspect(connection).get_view_names():
            raise ReportError("the warehouse has no views yet: materialise a round first")

        def frame(name: str, for_round: str = round_id) -> pd.DataFrame:
            result = connection.execute(text(_QUERIES[name]), {"round_id": for_round})
            return pd.DataFrame(result.all(), columns=list(result.keys()))

        rounds = frame("rounds")
        frames = {name: frame(name) for name in _QUERIES if name != "rounds"}
        if rounds.empty and frames["segment_counts"].empty:
            raise ReportError(f"the warehouse holds nothing for round {round_id}")
        info = rounds.iloc[0].to_dict() if not rounds.empty else {}
        reviewed = info.get("reviews") or None
        reviewed_prevalence = (
            frame("prevalence", reviewed) if reviewed else frames["prevalence"].iloc[0:0]
        )
    for table in (frames["prevalence"], reviewed_prevalence, frames["survey"]):
        table["suppressed"] = table["suppressed"].astype(bool)
    return RoundViews(
        round_id=round_id,
        title=str(info.get("title") or round_id),
        kind=info.get("kind"),
        period_start=_day(info.get("period_start")),
        period_end=_day(info.get("period_end")),
        reviewed_round_id=reviewed,
        reviewed_prevalence=reviewed_prevalence,
        **frames,
    )


def _day(value: object) -> str | None:
    return None if value is None else str(value)[:10]


def theme_names(versions: Sequence[str], codebook_dir: Path = CODEBOOK_DIR) -> dict[str, str]:
    """Theme code to its name, from the codebooks the round was coded with (newest wins).

    Only the names are read: loading a codebook whole compiles its matchers and checks its
    training sets, seconds a report has no use for. A version not on disk (or not a
    version this codebook folder could hold) leaves its themes named by their codes.
    """
    names: dict[str, str] = {}
    for version in sorted(versions, key=lambda v: [int(n) for n in re.findall(r"\d+", v)]):
        try:
            path = codebook_path(version, codebook_dir)
        except CodebookError:
            continue
        if not path.is_file():
            continue
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        names.update({theme["code"]: theme["name"] for theme in content.get("themes") or []})
    return names


def likert_items(instruments_dir: Path = INSTRUMENTS_DIR) -> dict[str, Item]:
    """Every likert item of every instrument by item id (the first instrument's, by file name)."""
    items: dict[str, Item] = {}
    for path in sorted(Path(instruments_dir).glob("*.yaml")):
        for item in load_instrument(path.stem, instruments_dir).items:
            if item.type == "likert5":
                items.setdefault(item.id, item)
    return items


def theme_order(views: RoundViews) -> list[str]:
    """The contract's themes in its order, then any other code the round has, sorted."""
    seen = set(views.prevalence["theme_code"]) | set(views.change["theme_code"])
    return [*CONTRACT_THEME_CODES, *sorted(seen - set(CONTRACT_THEME_CODES))]


def _all_groups(prevalence: pd.DataFrame) -> pd.DataFrame:
    return prevalence[prevalence["stakeholder_group"] == ALL_GROUPS]


def cell_suppression(prevalence: pd.DataFrame) -> pd.Series:
    """Per site x theme: suppressed when no category's cell reached the threshold.

    Over all groups, a theme's people are at least those of its largest published
    category; when every category is suppressed that floor is unknown, so is the cell.
    """
    rows = _all_groups(prevalence)
    return rows.groupby(["site_id", "theme_code"])["suppressed"].all()


def prevalence_cells(views: RoundViews) -> dict[tuple[str, str], figures.HeatCell]:
    """Share of each site's segments that carry each theme; suppressed cells hold no value."""
    totals = views.segment_counts.groupby("site_id")["n_segments"].sum()
    rows = _all_groups(views.prevalence)
    counts = rows.groupby(["site_id", "theme_code"])["n_segments"].sum()
    suppressed = cell_suppression(views.prevalence)
    cells: dict[tuple[str, str], figures.HeatCell] = {}
    for site in views.sites:
        for code in theme_order(views):
            key = (site, code)
            if bool(suppressed.get(key, False)):
                cells[key] = figures.HeatCell(state="suppressed", label="suppressed")
                continue
            n = int(counts.get(key, 0))
            total = int(totals.get(site, 0))
            if not total:
                cells[key] = figures.HeatCell(state="missing", label="no segments")
                continue
            cells[key] = figures.HeatCell(value=n / total, label=f"{n / total:.0%} ({n})")
    return cells


def change_cells(views: RoundViews) -> dict[tuple[str, str], figures.HeatCell]:
    """Change in each theme's share of a site's segments since the reviewed round.

    A site the reviewed round did not have shows `new site`; otherwise a cell is
    suppressed when the theme's cell is suppressed in either round.
    """
    now = cell_suppression(views.prevalence)
    then = cell_suppression(views.reviewed_prevalence)
    cells: dict[tuple[str, str], figures.HeatCell] = {}
    for row in views.change.itertuples(index=False):
        key = (row.site_id, row.theme_code)
        if pd.isna(row.share_then):
            cells[key] = figures.HeatCell(state="missing", label="new site")
        elif bool(now.get(key, False)) or bool(then.get(key, False)):
            cells[key] = figures.HeatCell(state="suppressed", label="suppressed")
        elif pd.isna(row.share_now):
            cells[key] = figures.HeatCell(state="missing", label="no segments now")
        else:
            change = float(row.share_change)
            cells[key] = figures.HeatCell(value=change, label=f"{change * 100:+.0f} pp")
    return cells


def category_split(prevalence: pd.DataFrame) -> pd.DataFrame:
    """Per stakeholder group: coded segments by category over the round, and suppressed.

    A group x category is shown when at least one of its site x theme cells reached the
    threshold (so it holds at least that many people); otherwise it is suppressed, and a
    group's suppressed categories are pooled into one `suppressed` count, which says
    nothing of how they split. A segment counts once per theme it carries.
    """
    rows = prevalence[prevalence["stakeholder_group"] != ALL_GROUPS].assign(
        n_segments=lambda frame: pd.to_numeric(frame["n_segments"]).fillna(0)
    )
    keys = ["stakeholder_group", "category"]
    cells = rows.groupby(keys).agg(
        n_segments=("n_segments", "sum"), suppressed=("suppressed", "all")
    )
    shown = (
        cells[~cells["suppressed"]]["n_segments"]
        .unstack("category")
        .reindex(columns=list(CATEGORIES))
    )
    hidden = cells[cells["suppressed"]].groupby("stakeholder_group")["n_segments"].sum()
    split = shown.join(hidden.rename("suppressed"), how="outer")
    split["suppressed"] = split["suppressed"].fillna(0).astype(int)
    order = sorted(split.index, key=lambda group: (group_order(group), group))
    return split.loc[order].astype("Int64")


def action_counts(actions: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Actions per site by status, and how statuses moved since the reviewed round."""
    by_site = (
        actions.groupby(["site_id", "status"]).size().unstack(fill_value=0)
        if not actions.empty
        else pd.DataFrame()
    ).reindex(columns=list(ACTION_STATUSES), fill_value=0)
    previous = actions["previous_status"].fillna("new")
    moves = (
        pd.crosstab(previous, actions["status"]) if not actions.empty else pd.DataFrame(dtype=int)
    )
    moves = moves.reindex(
        index=[s for s in (*ACTION_STATUSES, "new") if s in moves.index],
        columns=list(ACTION_STATUSES),
        fill_value=0,
    )
    return by_site, moves


def likert_figure_items(
    survey: pd.DataFrame, items: dict[str, Item], sites: Sequence[str]
) -> list[figures.LikertItem]:
    """The round's likert items in instrument order, one row per site that answered."""
    shown: list[figures.LikertItem] = []
    for item_id, item in items.items():
        answers = survey[survey["item_id"] == item_id]
        if answers.empty:
            continue
        options = tuple(
            (option.value, option.label or option.value)
            for option in sorted(item.options, key=lambda option: option.score or 0.0)
        )
        rows = []
        for site in sites:
            at_site = answers[answers["site_id"] == site]
            if at_site.empty:
                continue
            rows.append(_likert_row(site, at_site, item))
        shown.append(figures.LikertItem(item.question, options, tuple(rows)))
    return shown


def _likert_row(site: str, answers: pd.DataFrame, item: Item) -> figures.LikertRow:
    total_row = answers[answers["response_option"].isna()]
    if total_row.empty or bool(total_row["suppressed"].iloc[0]):
        return figures.LikertRow(f"{site} (n suppressed)", None)
    total = int(total_row["n_responses"].iloc[0])
    shares: dict[str, float] = {}
    for row in answers[answers["response_option"].notna()].itertuples(index=False):
        answer = item.normalise(row.response_option)
        if answer is None or answer.value is None or row.suppressed:
            continue
        shares[answer.value] = shares.get(answer.value, 0.0) + int(row.n_responses) / total
    hidden = 1.0 - sum(shares.values())
    return figures.LikertRow(f"{site} (n={total})", shares, hidden if hidden > 1e-9 else 0.0)


def select_quotes(
    passages: pd.DataFrame,
    prevalence: pd.DataFrame,
    per_theme: int = QUOTES_PER_THEME,
) -> tuple[pd.DataFrame, pd.Series]:
    """A few passages per theme, spread over sites and stakeholder groups; the same every time.

    Only passages whose cell (site x group x theme x category) is published qualify: a
    quote from a suppressed cell would point at one of very few people. Then, theme by
    theme, each pick is the passage adding most of what the picks so far lack (a new
    site, a new group), the most confident coding first, ties by segment id. Returns the
    quotes and, per theme, how many passages were withheld for their cell's suppression.
    """
    columns = [*passages.columns, "group"]
    if passages.empty:
        return pd.DataFrame(columns=columns), pd.Series(dtype=int)
    frame = passages.assign(group=passages["stakeholder_group"].map(group_of))
    cells = prevalence[prevalence["stakeholder_group"] != ALL_GROUPS]
    published = {
        (r.site_id, r.stakeholder_group, r.theme_code, r.category)
        for r in cells.itertuples(index=False)
        if not r.suppressed
    }
    cell_of = frame[["site_id", "group", "theme_code", "category"]].itertuples(index=False)
    allowed = pd.Series([tuple(cell) in published for cell in cell_of], index=frame.index)
    withheld = frame[~allowed].groupby("theme_code")["segment_id"].nunique()
    words = frame["text"].str.split().str.len()
    candidates = frame[allowed & (words >= QUOTE_MIN_WORDS)].sort_values(
        ["theme_code", "confidence", "segment_id"], ascending=[True, False, True]
    )
    picked: list[pd.Series] = []
    for _, pool in candidates.groupby("theme_code", sort=True):
        sites: set[str] = set()
        groups: set[str] = set()
        remaining = pool
        for _ in range(per_theme):
            if remaining.empty:
                break
            gain = (~remaining["site_id"].isin(sites)).astype(int) + (
                ~remaining["group"].isin(groups)
            ).astype(int)
            choice = remaining.loc[gain.idxmax()]
            picked.append(choice)
            sites.add(choice["site_id"])
            groups.add(choice["group"])
            remaining = remaining[remaining["segment_id"] != choice["segment_id"]]
    quotes = pd.DataFrame(picked, columns=columns).reset_index(drop=True)
    return quotes, withheld.astype(int)


def shorten(passage: str, max_words: int = QUOTE_MAX_WORDS) -> str:
    """At most `max_words` words, cut at a word and marked with an ellipsis."""
    words = passage.split()
    return passage.strip() if len(words) <= max_words else " ".join(words[:max_words]) + " …"


def _label(value: str) -> str:
    return value.replace("_", " ").replace("-", " ").capitalize()


def build_context(
    views: RoundViews,
    *,
    threshold: int,
    run_id: str | None,
    generated_at: datetime,
    instruments_dir: Path = INSTRUMENTS_DIR,
    codebook_dir: Path = CODEBOOK_DIR,
) -> dict[str, Any]:
    """Everything the template shows, charts drawn; counts for Dagster under `counts`."""
    versions = sorted(set(views.codings["codebook_version"]))
    names = theme_names(versions, codebook_dir)
    codes = theme_order(views)
    themes = [(code, names.get(code, code)) for code in codes]
    sites = views.sites
    prevalence = prevalence_cells(views)
    change = change_cells(views) if views.reviewed_round_id else {}
    split = category_split(views.prevalence)
    by_site, moves = action_counts(views.actions)
    likert = likert_figure_items(views.survey, likert_items(instruments_dir), sites)
    quotes, withheld = select_quotes(views.passages, views.prevalence)
    fewer = f"fewer than {threshold} people"
    charts = {
        "prevalence": figures.heatmap(
            prevalence,
            sites,
            themes,
            name="prevalence",
            colour_label="share of the site's segments",
            diverging=False,
        ),
        "change": figures.heatmap(
            change,
            sites,
            themes,
            name="change",
            colour_label=f"change since {views.reviewed_round_id}",
            diverging=True,
            percent_points=True,
        )
        if change
        else None,
        "categories": figures.stacked_bars(
            [
                (
                    f"{_label(group)} (n={int(row.sum())})",
                    {c: float(row[c]) for c in CATEGORIES if not pd.isna(row[c])},
                )
                for group, row in split.iterrows()
            ],
            CATEGORIES,
            figures.CATEGORY_COLOURS,
            CATEGORY_LABELS,
            name="categories",
            axis_label="share of the group's coded segments (a segment counts once per theme)",
            as_share=True,
            suppressed=[float(n) for n in split["suppressed"]],
        )
        if not split.empty
        else None,
        "actions": figures.stacked_bars(
            [(site, row.to_dict()) for site, row in by_site.iterrows()],
            ACTION_STATUSES,
            figures.STATUS_COLOURS,
            STATUS_LABELS,
            name="actions",
            axis_label="actions in the site's plan",
            as_share=False,
        )
        if not by_site.empty
        else None,
        "likert": figures.likert_bars(
            likert, name="likert", suppressed_note=f"suppressed: {fewer} answered"
        )
        if likert
        else None,
    }
    quote_groups = [
        {
            "code": code,
            "name": name,
            "quotes": [
                {
                    "text": shorten(row.text),
                    "site": row.site_id,
                    "group": _label(row.group),
                    "category": CATEGORY_LABELS.get(row.category, row.category),
                    "kind": "workshop minutes" if row.source_kind == "minutes" else "survey",
                }
                for row in quotes[quotes["theme_code"] == code].itertuples(index=False)
            ],
            "withheld": int(withheld.get(code, 0)),
        }
        for code, name in themes
        if code in set(views.passages["theme_code"])
    ]
    files = [
        {**row, "loaded_at": str(row["loaded_at"])[:16], "run_id": str(row["run_id"])[:8]}
        for row in views.source_files.sort_values(["site_id", "status", "source_file"])
        .astype(object)
        .where(views.source_files.notna(), None)
        .to_dict("records")
    ]
    quarantine = (
        views.quarantine.pivot_table(
            index="site_id", columns="severity", values="n_items", aggfunc="sum"
        )
        .reindex(columns=["error", "warning"])
        .fillna(0)
        .astype(int)
        if not views.quarantine.empty
        else pd.DataFrame(columns=["error", "warning"])
    )
    machine = views.codings["coder"].map(lambda coder: is_machine(coder, MACHINE_CODERS))
    coded_by = {
        "machine": int(views.codings.loc[machine.astype(bool), "n_segments"].sum()),
        "people": int(views.codings.loc[~machine.astype(bool), "n_segments"].sum()),
        "machine_coders": sorted(set(views.codings.loc[machine.astype(bool), "coder"])),
    }
    n_suppressed_cells = sum(1 for cell in prevalence.values() if cell.state == "suppressed")
    counts = {
        "n_sites": len(sites),
        "n_segments": int(views.segment_counts["n_segments"].sum()),
        "n_themes_shown": len(themes),
        "n_suppressed_theme_cells": n_suppressed_cells,
        "n_quotes": len(quotes),
        "n_quotes_withheld": int(withheld.sum()),
        "n_likert_items": len(likert),
        "n_actions": len(views.actions),
        "n_source_files": len(views.source_files),
        "n_quarantined": int(quarantine["error"].sum()) if not quarantine.empty else 0,
    }
    return {
        "views": views,
        "sites": sites,
        "themes": themes,
        "threshold": threshold,
        "fewer": fewer,
        "charts": {key: Markup(svg) if svg else None for key, svg in charts.items()},
        "prevalence_table": _prevalence_table(prevalence, sites, themes),
        "split_table": [
            (
                _label(group),
                ["suppressed" if pd.isna(row[c]) else str(row[c]) for c in CATEGORIES],
                int(row["suppressed"]),
            )
            for group, row in split.iterrows()
        ],
        "category_labels": CATEGORY_LABELS,
        "by_site": by_site,
        "moves": moves,
        "status_labels": {**STATUS_LABELS, "new": "New this round"},
        "likert": likert,
        "quote_groups": quote_groups,
        "files": files,
        "quarantine": quarantine,
        "codebook_versions": versions,
        "coded_by": coded_by,
        "agreement": views.agreement.sort_values(["site_id", "coder_a", "coder_b", "theme_code"]),
        "run_id": run_id,
        "generated_at": generated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "counts": counts,
        "label": _label,
    }


def _prevalence_table(
    cells: dict[tuple[str, str], figures.HeatCell],
    sites: Sequence[str],
    themes: Sequence[tuple[str, str]],
) -> list[tuple[str, list[str]]]:
    """The heatmap's figures as rows of text, for screen readers and for copying."""
    return [
        (
            name,
            [cells.get((site, code), figures.HeatCell(label="not coded")).label for site in sites],
        )
        for code, name in themes
    ]


def render_html(context: dict[str, Any], templates: Path = TEMPLATES) -> str:
    """The report page; every value is HTML-escaped except the charts' own SVG."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["sha"] = lambda value: (value or "")[:12]
    environment.filters["wrap"] = lambda value, width=60: textwrap.fill(str(value), width)
    return environment.get_template("impact-report.html.j2").render(**context)


def build_report(
    engine: Engine,
    round_id: str,
    *,
    threshold: int,
    run_id: str | None = None,
    generated_at: datetime | None = None,
    instruments_dir: Path = INSTRUMENTS_DIR,
) -> Report:
    """Read the round's views and render its report."""
    views = read_round_views(engine, round_id)
    context = build_context(
        views,
        threshold=threshold,
        run_id=run_id,
        generated_at=generated_at or datetime.now(UTC),
        instruments_dir=instruments_dir,
    )
    return Report(html=render_html(context), counts=context["counts"])


def report_path(reports_dir: Path, round_id: str) -> Path:
    """Where a round's report goes; a round id that is not a slug could leave the folder."""
    if not is_slug(round_id):
        raise ValueError(f"not a round id (a lower-case slug): {round_id!r}")
    return Path(reports_dir) / round_id / REPORT_FILE


def write_report(report: Report, reports_dir: Path, round_id: str) -> Path:
    """Write the page beside nothing half-written: a reader sees the old one or the new one."""
    path = report_path(reports_dir, round_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".html.partial")
    partial.write_text(report.html, encoding="utf-8")
    os.replace(partial, path)
    return path
