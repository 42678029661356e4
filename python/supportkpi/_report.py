"""The standalone report: the weekly support-conversion scorecard of seed 000 as one
self-contained HTML file (inline CSS and SVG charts, nothing fetched from the network).

Bands and diagnostics come from ``card.bands()`` and ``card.diagnose()``; catalogue lookups,
formatting, periods and band regions from :mod:`supportkpi._present`, the cells from
:mod:`supportkpi._grid`, the scorecard table from :mod:`supportkpi._notebook`.

The *report period* is the period the headline, the owners' list, the diagnostics and the
``--fail-on`` gate of the command line look at. By default it is the latest period, or the
one before it when less than half of the latest has been observed (``as_of`` early in a new
week would otherwise put a few hours of data in the headline). Pass ``period=`` to choose.

Example:
    >>> import pathlib, tempfile, supportkpi as sk
    >>> sample = sk.load_sample()
    >>> card = sk.scorecard(sample["contacts"], sample["orders"], sessions=sample["sessions"])
    >>> "<!DOCTYPE html>" in report_html(card, days=28)
    True
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ._grid import Grid, cell_title, diagnostics_in, grid_columns, plus_minus, support_text
from ._notebook import DEFAULT_PERIODS, escape, legend_html, scorecard_table_html
from ._present import (
    BAND_COLOURS,
    MISSING,
    PERIOD_ADJECTIVE,
    band_edges,
    currency_symbol,
    describe_band,
    diagnostics_frame,
    events_frame,
    featured_kpis,
    format_delta,
    format_instant,
    format_value,
    group_label,
    group_value,
    is_missing,
    kpi_name,
    kpi_sections,
    label_period,
    observed_share,
    period_phrase,
    period_starts,
    report_period,
    section_kpis,
    stamp_int,
)
from ._supportkpi import __version__

if TYPE_CHECKING:
    from ._card import Scorecard

__all__ = [
    "report_html",
    "write_html_report",
]


# --- the standalone report ------------------------------------------------------------

_REPORT_CSS = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       margin: 0; color: #111827; background: #f9fafb; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 8px; border-bottom: 1px solid #e5e7eb; padding-bottom: 4px; }
.sub { color: #4b5563; margin: 0 0 16px; }
.note { color: #6b7280; font-size: 13px; }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: 12px; }
.tile { background: #fff; border: 1px solid #e5e7eb; border-radius: 8px; padding: 12px 14px;
        border-top: 5px solid #d1d5db; }
.tile .name { font-size: 13px; color: #4b5563; }
.tile .value { font-size: 30px; font-weight: 650; margin: 4px 0;
               font-variant-numeric: tabular-nums; }
.tile .band { font-size: 12px; font-weight: 600; text-transform: uppercase; letter-spacing: .04em; }
.tile .meta { font-size: 12px; color: #4b5563; line-height: 1.5; }
table.grid { border-collapse: collapse; font-size: 13px; background: #fff; width: 100%; }
table.grid th, table.grid td { padding: 5px 8px; border-bottom: 1px solid #e5e7eb;
                               text-align: left; vertical-align: top; }
table.grid th { background: #f3f4f6; font-weight: 600; }
table.grid td:first-child { white-space: nowrap; }
.sk-attention td:nth-child(3) { white-space: nowrap; }
.scroll { overflow-x: auto; }
.sk-table { background: #fff; }
.chart { background: #fff; border: 1px solid #e5e7eb; border-radius: 8px; padding: 8px; }
.chart svg { display: block; width: 100%; height: auto; }
.pill { display: inline-block; padding: 1px 7px; border-radius: 10px; font-size: 12px;
        font-weight: 600; }
footer { margin-top: 40px; color: #6b7280; font-size: 12px; }
"""


def _pill(band: str | None) -> str:
    if band not in BAND_COLOURS:
        return ""
    background, text, _ = BAND_COLOURS[band]
    return f'<span class="pill" style="background:{background};color:{text}">{escape(band)}</span>'


def _previous(card: Scorecard, start: pd.Timestamp) -> pd.Timestamp | None:
    earlier = [s for s in period_starts(card) if s < start]
    return earlier[-1] if earlier else None


def _tiles_html(card: Scorecard, grid: Grid, current: pd.Timestamp) -> str:
    previous = _previous(card, current)
    tiles = []
    for kpi in [k for k in section_kpis("headline") if k in card.kpis]:
        cell = grid.cell(current, (), kpi)
        if cell is None:
            continue
        before = grid.cell(previous, (), kpi) if previous is not None else None
        accent = BAND_COLOURS[cell.band][2] if cell.band in BAND_COLOURS else "#d1d5db"
        meta = []
        if before is not None and cell.value is not None and before.value is not None:
            change = format_delta(cell.value - before.value, cell.unit)
            meta.append(f"vs previous {escape(card.by)}: {escape(change)}")
        if cell.baseline is not None:
            meta.append(f"30-day baseline: {escape(format_value(cell.baseline, cell.unit, kpi))}")
        if support_text(cell):
            meta.append(escape(support_text(cell)))
        if plus_minus(cell, kpi):
            meta.append(
                escape(f"{format_value(cell.value, cell.unit, kpi)} {plus_minus(cell, kpi)}")
            )
        if cell.owner:
            meta.append(f"owner: {escape(cell.owner)}")
        expected = " (expected: peak)" if cell.expected else ""
        band_text = f"{escape(cell.band)}{expected}" if cell.band else "no band"
        colour = BAND_COLOURS[cell.band][1] if cell.band in BAND_COLOURS else "#6b7280"
        tiles.append(
            f'<div class="tile" data-kpi="{escape(kpi)}" style="border-top-color:{accent}">'
            f'<div class="name">{escape(kpi_name(kpi))}</div>'
            f'<div class="value" title="{escape(cell_title(kpi, cell, grid.confidence))}">'
            f"{escape(format_value(cell.value, cell.unit, kpi))}</div>"
            f'<div class="band" style="color:{colour}">{band_text}</div>'
            f'<div class="meta">{"<br>".join(meta)}</div></div>'
        )
    return f'<div class="tiles">{"".join(tiles)}</div>' if tiles else ""


def _attention_html(card: Scorecard, grid: Grid, current: pd.Timestamp) -> str:
    """KPIs off healthy in the report period, grouped by owner, intervention first."""
    key = stamp_int(current)
    order = {k: i for i, k in enumerate(k for _, ks in kpi_sections(card) for k in ks)}
    rows = [
        (group, kpi, cell)
        for (period, group, kpi), cell in grid.cells.items()
        if period == key and cell.band in ("watch", "intervention")
    ]
    if not rows:
        return '<p class="note">Every banded KPI is healthy in this period.</p>'
    rows.sort(
        key=lambda r: (
            str(r[2].owner or ""),
            r[2].band != "intervention",
            order.get(r[1], 999),
            str(r[0]),
        )
    )
    body = []
    for group, kpi, cell in rows:
        name = kpi_name(kpi)
        if card.group_by:
            name += f" ({group_label(card, group)})"
        baseline = (
            MISSING
            if cell.baseline is None
            else f"{format_value(cell.baseline, cell.unit, kpi)} "
            f"({format_delta(cell.delta, cell.unit)})"
        )
        note = "expected: peak event, no intervention needed" if cell.expected else ""
        body.append(
            f"<tr><td>{escape(cell.owner or '')}</td><td>{escape(name)}</td>"
            f'<td title="{escape(cell_title(kpi, cell, grid.confidence))}">'
            f"{escape(format_value(cell.value, cell.unit, kpi))}"
            f'<br><span class="note">{escape(support_text(cell))}</span></td>'
            f"<td>{_pill(cell.band)}</td><td>{escape(baseline)}</td>"
            f"<td>{escape(describe_band(band_edges(card, kpi), cell.unit, kpi))}</td>"
            f"<td>{escape(note)}</td></tr>"
        )
    return (
        '<table class="grid sk-attention"><thead><tr><th>owner</th><th>KPI</th><th>value</th>'
        "<th>band</th><th>baseline (change)</th><th>bands</th><th>note</th></tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _diagnostics_table_html(card: Scorecard, diagnostics: pd.DataFrame, *, brief: bool) -> str:
    head = ["period"] + (["group"] if card.group_by else [])
    if brief:
        head += ["symptom", "action", "owner"]
    else:
        head += [
            "symptom",
            "likely cause",
            "first corrective action",
            "validation metric",
            "owner",
            "evidence",
        ]
    body = []
    for row in diagnostics.to_dict("records"):
        start = pd.Timestamp(row["period_start"]).tz_convert(card.tz)
        cells = [label_period(card, start)]
        if card.group_by:
            cells.append(group_label(card, tuple(group_value(row.get(g)) for g in card.group_by)))
        symptom = str(row.get("symptom") or row.get("rule"))
        if brief:
            cells += [symptom, str(row.get("action", "")), str(row.get("owner", ""))]
        else:
            cells += [
                symptom,
                str(row.get("likely_cause", "")),
                str(row.get("action", "")),
                str(row.get("validation_metric", "")),
                str(row.get("owner", "")),
                str(row.get("evidence_text") or ""),
            ]
        rule = escape(row.get("rule", ""))
        body.append(
            f'<tr data-rule="{rule}">' + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>"
        )
    header = "".join(f"<th>{escape(h)}</th>" for h in head)
    return (
        f'<table class="grid sk-diagnostics"><thead><tr>{header}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _svg_markup(figure: Any) -> str:
    """A matplotlib figure as inline SVG markup: no XML prolog, no namespaces, no metadata.

    In HTML the parser puts ``<svg>`` in the SVG namespace by itself, so the namespace URIs
    (and the RDF metadata block) can go: the report then holds no URL at all.
    """
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "supportkpi"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.DOTALL)
    svg = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg)
    svg = re.sub(r'(<svg\b[^>]*?)\s+width="[^"]*"\s+height="[^"]*"', r"\1", svg, count=1)
    return svg.replace("<svg", '<svg role="img"', 1)


def _charts_html(card: Scorecard, kpis: Sequence[str], days: int) -> str:
    from . import _plot

    try:
        _plot.require_matplotlib()
    except ImportError:
        return (
            '<p class="note sk-no-charts">Trend charts are not included: matplotlib is not '
            'installed (pip install "supportkpi[plot]").</p>'
        )
    figure = _plot.plot_trends(card, list(kpis), days=days)
    return (
        f'<figure class="chart"><figcaption class="note">The last {days} days up to the '
        "report period. Shading: healthy (green), watch (amber), intervention (red); grey "
        "points: insufficient sample; whiskers: the value's interval; dashed "
        "line: 30-day baseline; vertical bands: calendar events.</figcaption>"
        f"{_svg_markup(figure)}</figure>"
    )


def _events_html(card: Scorecard) -> str:
    events = events_frame(card)
    if events is None:
        return ""
    rows = []
    for row in events.to_dict("records"):
        start = _format_day(row.get("start"), card.tz)
        end = _format_day(row.get("end"), card.tz)
        rows.append(
            f"<tr><td>{escape(row.get('name', ''))}</td><td>{escape(row.get('kind', ''))}</td>"
            f"<td>{escape(start)}</td><td>{escape(end)}</td></tr>"
        )
    return (
        "<h2>Calendar</h2>"
        '<table class="grid sk-events"><thead><tr><th>event</th><th>kind</th><th>start</th>'
        f"<th>end</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _format_day(value: object, tz: str) -> str:
    if is_missing(value):
        return MISSING
    stamp = pd.Timestamp(value)  # type: ignore[arg-type]
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
    return stamp.tz_convert(tz).strftime("%Y-%m-%d %H:%M")


def report_html(
    card: Scorecard,
    *,
    days: int = 90,
    period: object = None,
    periods: int = DEFAULT_PERIODS,
    title: str | None = None,
    currency: str | None = None,
) -> str:
    """The standalone report as a string (see :func:`write_html_report`).

    Example:
        >>> import supportkpi as sk
        >>> sample = sk.load_sample()
        >>> card = sk.scorecard(sample["contacts"], sample["orders"], sessions=sample["sessions"])
        >>> page = report_html(card, days=28)
        >>> page.startswith("<!DOCTYPE html>") and "Weekly support-conversion scorecard" in page
        True
        >>> "http://" in page or "https://" in page
        False
    """
    with currency_symbol(currency):
        return _report_html(card, days=days, period=period, periods=periods, title=title)


def _report_html(
    card: Scorecard, *, days: int, period: object, periods: int, title: str | None
) -> str:
    adjective = PERIOD_ADJECTIVE.get(card.by, "")
    title = title or f"{adjective} support-conversion scorecard".strip().capitalize()
    current = report_period(card, period)
    grid = Grid(card)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_REPORT_CSS}</style></head><body><main>",
        f"<h1>{escape(title)}</h1>",
    ]
    if current is None:
        parts.append('<p class="sub">The scorecard is empty (no contacts or orders).</p>')
        parts.append("</main></body></html>")
        return "\n".join(parts)
    share = observed_share(card, current)
    partial = "" if share >= 1.0 else f" (in progress: {math.floor(100 * share)}% observed)"
    group_text = f" · by {', '.join(card.group_by)}" if card.group_by else ""
    parts.append(
        f'<p class="sub">{escape(period_phrase(card, current).capitalize())}{escape(partial)} · '
        f"time zone {escape(card.tz)}{escape(group_text)} · data as of "
        f"{escape(format_instant(card.as_of, card.tz))}</p>"
    )

    diagnostics = diagnostics_frame(card)
    if not card.group_by:
        parts.append("<h2>Headline</h2>")
        parts.append(
            '<p class="note">The four KPIs to review every week (CSAT, deflection, first '
            "contact resolution, tickets per order); everything below is diagnostic.</p>"
        )
        parts.append(_tiles_html(card, grid, current))
    parts.append("<h2>Needs attention, by owner</h2>")
    parts.append(_attention_html(card, grid, current))

    parts.append("<h2>Diagnostics</h2>")
    fired = diagnostics_in(card, diagnostics, [current])
    if fired.empty:
        parts.append('<p class="note">No diagnostic rule fired in this period.</p>')
    else:
        parts.append(_diagnostics_table_html(card, fired, brief=False))

    parts.append("<h2>Scorecard</h2>")
    columns, caption = grid_columns(card, grid, periods=periods, current=current)
    parts.append(f'<div class="scroll">{scorecard_table_html(card, grid, columns, caption)}</div>')
    parts.append(legend_html())

    trend_kpis = featured_kpis(card)
    if trend_kpis:
        parts.append("<h2>Trends</h2>")
        parts.append(_charts_html(card, trend_kpis, days))

    if not diagnostics.empty:
        starts = period_starts(card)
        window_start = current - pd.Timedelta(days=days)
        earlier = [s for s in starts if window_start <= s < current]
        history = diagnostics_in(card, diagnostics, earlier)
        if not history.empty:
            parts.append(f"<h2>Diagnostics of the previous {days} days</h2>")
            parts.append(_diagnostics_table_html(card, history, brief=True))

    parts.append(_events_html(card))
    footer = [
        f"supportkpi {escape(__version__)} · {len(card.kpis)} KPIs · definitions: "
        "sk.kpi_catalog() and docs/semantics.md."
    ]
    if card.skipped:
        skipped = "; ".join(f"{k}: {v}" for k, v in card.skipped.items())
        footer.append(f"Skipped KPIs: {escape(skipped)}.")
    parts.append(f"<footer>{'<br>'.join(footer)}</footer>")
    parts.append("</main></body></html>")
    return "\n".join(parts)


def write_html_report(
    card: Scorecard,
    path: str | Path,
    *,
    days: int = 90,
    period: object = None,
    title: str | None = None,
    currency: str | None = None,
) -> Path:
    """Writes the standalone HTML report of ``card`` to ``path``; returns the path.

    The weekly support-conversion scorecard (seed 000): the headline KPIs of the report
    period, the KPIs off healthy grouped by owner, the diagnostics that fired with their
    likely cause, first corrective action, validation metric and owner, the scorecard
    table of the last periods, and trend charts of the last ``days`` days. One file with
    inline CSS and SVG that reads offline; without matplotlib the report says so and leaves
    the charts out. ``period`` chooses the report period (default: see the module
    docstring); ``currency`` is the symbol money is shown with (default none: the inputs'
    currency is not known).

    Example:
        >>> import pathlib, tempfile, supportkpi as sk
        >>> sample = sk.load_sample()
        >>> card = sk.scorecard(sample["contacts"], sample["orders"], sessions=sample["sessions"])
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     out = write_html_report(card, pathlib.Path(tmp) / "report.html", days=28)
        ...     out.read_text(encoding="utf-8").count("<svg") <= 1
        True
    """
    target = Path(path)
    page = report_html(card, days=days, period=period, title=title, currency=currency)
    target.write_text(page, encoding="utf-8")
    return target
