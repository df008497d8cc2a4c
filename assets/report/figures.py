"""The impact report's charts, drawn with matplotlib and returned as inline SVG markup.

SVG keeps the page one self-contained file that prints sharply, and with `svg.fonttype`
`none` the labels stay text a screen reader and a search can find. Colours are chosen for
colour-blind readers: Okabe-Ito for categories and statuses, ColorBrewer's PuOr for
anything diverging, a single-hue blue for prevalence. A suppressed cell is always light
grey, hatched and labelled, never coloured like a value.
"""

from __future__ import annotations

import dataclasses
import io
import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import matplotlib
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize, to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import FuncFormatter, PercentFormatter

SUPPRESSED_FACE = "#e6e6e6"
SUPPRESSED_HATCH = "#8c8c8c"
MISSING_FACE = "#fafafa"
TEXT = "#1a1a1a"
# Okabe & Ito (2008), safe for the common colour-vision deficiencies.
CATEGORY_COLOURS = {"progress": "#0072B2", "barrier": "#D55E00", "solution": "#009E73"}
STATUS_COLOURS = {
    "achieved": "#009E73",
    "in_progress": "#56B4E9",
    "not_started": "#F0E442",
    "stalled": "#E69F00",
    "dropped": "#CC79A7",
}
# ColorBrewer PuOr, 5 classes (colour-blind safe): disagree orange, agree purple.
LIKERT_COLOURS = ("#e66101", "#fdb863", "#f7f7f7", "#b2abd2", "#5e3c99")
STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "text.parse_math": False,
    "svg.fonttype": "none",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#666666",
    "hatch.linewidth": 0.8,
}


@dataclasses.dataclass(frozen=True)
class HeatCell:
    """One cell of a site x theme grid: a value, or the reason there is none to show."""

    value: float | None = None
    label: str = ""
    state: str = "shown"  # shown | suppressed | missing


@dataclasses.dataclass(frozen=True)
class LikertRow:
    """One site's answers to a likert item, as shares of its responses to the item.

    `shares` is None when the item's total is suppressed at the site; otherwise it holds
    each published option's share, and `suppressed_share` what the suppressed options
    hold together (known by subtraction from the published total, never per option).
    """

    label: str
    shares: dict[str, float] | None
    suppressed_share: float = 0.0


@dataclasses.dataclass(frozen=True)
class LikertItem:
    question: str
    options: tuple[tuple[str, str], ...]  # (value, label), from disagree to agree
    rows: tuple[LikertRow, ...]


@contextmanager
def _style(name: str) -> Iterator[None]:
    """Shared style; the salt gives every figure's SVG ids of its own within the page."""
    with matplotlib.rc_context({**STYLE, "svg.hashsalt": name}):
        yield


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    markup = buffer.getvalue()
    return markup[markup.index("<svg") :]


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text


def _text_colour(face: str) -> str:
    red, green, blue = to_rgb(face)
    return "white" if 0.299 * red + 0.587 * green + 0.114 * blue < 0.5 else TEXT


def _suppressed_patch(label: str = "suppressed") -> Patch:
    return Patch(
        facecolor=SUPPRESSED_FACE,
        hatch="///",
        hatchcolor=SUPPRESSED_HATCH,
        edgecolor=SUPPRESSED_HATCH,
        label=label,
    )


def heatmap(
    cells: dict[tuple[str, str], HeatCell],
    sites: Sequence[str],
    themes: Sequence[tuple[str, str]],
    *,
    name: str,
    colour_label: str,
    diverging: bool,
    percent_points: bool = False,
) -> str:
    """A theme (rows) x site (columns) grid; suppressed and missing cells say so in words."""
    with _style(name):
        figure = Figure(figsize=(3.6 + 1.45 * len(sites), 0.9 + 0.48 * len(themes)))
        figure.set_layout_engine("constrained")
        axes = figure.add_subplot()
        values = [c.value for c in cells.values() if c.state == "shown" and c.value is not None]
        reach = max((abs(v) for v in values), default=0.0) or 0.05
        if diverging:
            cmap, norm = matplotlib.colormaps["PuOr"], Normalize(-reach, reach)
        else:
            cmap, norm = matplotlib.colormaps["Blues"], Normalize(0.0, reach)
        for row, (code, _) in enumerate(themes):
            for column, site in enumerate(sites):
                cell = cells.get((site, code), HeatCell(state="missing", label="not coded"))
                _draw_cell(axes, column, row, cell, cmap, norm)
        axes.set_xlim(0, len(sites))
        axes.set_ylim(len(themes), 0)
        axes.set_xticks([i + 0.5 for i in range(len(sites))], [_wrap(s, 16) for s in sites])
        axes.xaxis.tick_top()
        axes.set_yticks([i + 0.5 for i in range(len(themes))], [_wrap(n, 42) for _, n in themes])
        axes.tick_params(length=0)
        for spine in axes.spines.values():
            spine.set_visible(False)
        scale = 100 if percent_points else 1
        formatter = (
            FuncFormatter(lambda x, _: f"{x * scale:+.0f} pp")
            if percent_points
            else PercentFormatter(1.0, decimals=0)
        )
        figure.colorbar(
            ScalarMappable(norm, cmap),
            ax=axes,
            shrink=0.7,
            label=colour_label,
            format=formatter,
        )
        figure.legend(
            handles=[_suppressed_patch()],
            loc="outside lower left",
            frameon=False,
        )
        return _svg(figure)


def _draw_cell(axes: Axes, column: int, row: int, cell: HeatCell, cmap, norm) -> None:
    if cell.state == "suppressed":
        face, hatch = SUPPRESSED_FACE, "///"
    elif cell.state == "missing" or cell.value is None:
        face, hatch = MISSING_FACE, None
    else:
        face, hatch = to_hex(cmap(norm(cell.value))), None
    axes.add_patch(
        Rectangle(
            (column, row),
            1,
            1,
            facecolor=face,
            edgecolor="white",
            linewidth=2,
            hatch=hatch,
            hatchcolor=SUPPRESSED_HATCH,
        )
    )
    colour = "#4d4d4d" if cell.state != "shown" else _text_colour(face)
    axes.text(
        column + 0.5,
        row + 0.5,
        cell.label,
        ha="center",
        va="center",
        color=colour,
        fontsize=8,
        style="italic" if cell.state != "shown" else "normal",
        bbox=(
            {"facecolor": SUPPRESSED_FACE, "edgecolor": "none", "pad": 1.5}
            if cell.state == "suppressed"
            else None
        ),
    )


def stacked_bars(
    rows: Sequence[tuple[str, dict[str, float]]],
    order: Sequence[str],
    colours: dict[str, str],
    labels: dict[str, str],
    *,
    name: str,
    axis_label: str,
    as_share: bool,
    suppressed: Sequence[float] | None = None,
) -> str:
    """Horizontal bars of parts, one bar per row; a hatched `suppressed` part closes a bar.

    With `as_share` every bar is split to 100% of its own total (suppressed part included),
    so splits compare across rows of different sizes; otherwise bars show counts.
    """
    with _style(name):
        figure = Figure(figsize=(9.0, 1.1 + 0.42 * len(rows)))
        figure.set_layout_engine("constrained")
        axes = figure.add_subplot()
        for y, (_, parts) in enumerate(rows):
            hidden = suppressed[y] if suppressed is not None else 0.0
            total = sum(parts.values()) + hidden
            scale = 1 / total if as_share and total else 1.0
            left = 0.0
            for key in order:
                width = parts.get(key, 0.0) * scale
                if width <= 0:
                    continue
                axes.barh(y, width, left=left, color=colours[key], edgecolor="white", height=0.7)
                text = f"{width:.0%}" if as_share else f"{parts[key]:.0f}"
                if (width >= 0.06) if as_share else True:
                    axes.text(
                        left + width / 2,
                        y,
                        text,
                        ha="center",
                        va="center",
                        fontsize=8,
                        color=_text_colour(colours[key]),
                    )
                left += width
            if hidden > 0:
                axes.barh(
                    y,
                    hidden * scale,
                    left=left,
                    color=SUPPRESSED_FACE,
                    hatch="///",
                    hatchcolor=SUPPRESSED_HATCH,
                    edgecolor="white",
                    height=0.7,
                )
                if hidden * scale >= (0.15 if as_share else 0):
                    axes.text(
                        left + hidden * scale / 2,
                        y,
                        "suppressed",
                        ha="center",
                        va="center",
                        fontsize=8,
                        style="italic",
                        color="#333333",
                        bbox={"facecolor": SUPPRESSED_FACE, "edgecolor": "none", "pad": 1.5},
                    )
        axes.set_yticks(range(len(rows)), [label for label, _ in rows])
        axes.set_ylim(len(rows) - 0.5, -0.5)
        axes.set_xlabel(axis_label)
        if as_share:
            axes.set_xlim(0, 1)
            axes.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        else:
            axes.xaxis.get_major_locator().set_params(integer=True)
        handles = [Patch(facecolor=colours[k], label=labels[k]) for k in order]
        if suppressed is not None:
            handles.append(_suppressed_patch())
        figure.legend(
            handles=handles, loc="outside lower center", ncols=len(handles), frameon=False
        )
        return _svg(figure)


def likert_bars(items: Sequence[LikertItem], *, name: str, suppressed_note: str) -> str:
    """Diverging bars per item: disagreement left of zero, agreement right, neutral split.

    Suppressed answers sit in a panel of their own on the right, so they neither push the
    bars off centre nor pass for an answer.
    """
    with _style(name):
        heights = [len(item.rows) + 1.8 for item in items]
        figure = Figure(figsize=(9.0, 0.9 + 0.42 * sum(heights)))
        figure.set_layout_engine("constrained")
        panels = figure.subfigures(len(items), 1, height_ratios=heights, squeeze=False)
        for panel, item in zip(panels[:, 0], items, strict=True):
            panel.suptitle(
                _wrap(item.question, 100), x=0.02, ha="left", fontsize=9.5, fontweight="bold"
            )
            main, side = panel.subplots(1, 2, width_ratios=(5, 1), sharey=True)
            _likert_item(main, side, item, suppressed_note)
        options = items[0].options if items else ()
        handles = [
            Patch(facecolor=colour, edgecolor="#9e9e9e", label=label)
            for colour, (_, label) in zip(LIKERT_COLOURS, options, strict=False)
        ]
        handles.append(_suppressed_patch())
        figure.legend(handles=handles, loc="outside lower center", ncols=3, frameon=False)
        return _svg(figure)


def _likert_item(main: Axes, side: Axes, item: LikertItem, suppressed_note: str) -> None:
    values = [value for value, _ in item.options]
    colours = dict(zip(values, LIKERT_COLOURS, strict=False))
    middle = values[len(values) // 2] if len(values) % 2 else None
    below = values[: len(values) // 2]
    for y, row in enumerate(item.rows):
        if row.shares is None:
            main.text(0, y, suppressed_note, ha="center", va="center", style="italic")
            side.barh(
                y, 1.0, color=SUPPRESSED_FACE, hatch="///", hatchcolor=SUPPRESSED_HATCH, height=0.7
            )
            continue
        left = -sum(row.shares.get(v, 0.0) for v in below)
        if middle is not None:
            left -= row.shares.get(middle, 0.0) / 2
        for value in values:
            width = row.shares.get(value, 0.0)
            if width <= 0:
                continue
            main.barh(
                y,
                width,
                left=left,
                color=colours[value],
                edgecolor="#9e9e9e",
                linewidth=0.4,
                height=0.7,
            )
            if width >= 0.07:
                main.text(
                    left + width / 2,
                    y,
                    f"{width:.0%}",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color=_text_colour(colours[value]),
                )
            left += width
        if row.suppressed_share > 0:
            side.barh(
                y,
                row.suppressed_share,
                color=SUPPRESSED_FACE,
                hatch="///",
                hatchcolor=SUPPRESSED_HATCH,
                edgecolor=SUPPRESSED_HATCH,
                linewidth=0.4,
                height=0.7,
            )
            side.text(
                row.suppressed_share + 0.04,
                y,
                f"{row.suppressed_share:.0%}",
                va="center",
                fontsize=8,
            )
    main.axvline(0, color="#4d4d4d", linewidth=0.8)
    main.set_xlim(-1, 1)
    main.set_xticks([-1, -0.5, 0, 0.5, 1], ["100%", "50%", "0", "50%", "100%"])
    main.set_yticks(range(len(item.rows)), [row.label for row in item.rows])
    main.set_ylim(len(item.rows) - 0.5, -0.5)
    side.set_xlim(0, 1.3)
    side.set_xticks([0, 0.5, 1], ["0", "50%", "100%"])
    side.tick_params(axis="y", left=False, labelleft=False)
    side.set_xlabel("suppressed", color="#4d4d4d")
