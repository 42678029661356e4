"""Readable scorecards: the notebook table, the terminal summary and the standalone report.

Three views of one :class:`~supportkpi.Scorecard`, all plain string building (no template
engine), every value escaped with :func:`html.escape`:

* :func:`scorecard_html` — the notebook table (``Scorecard._repr_html_``): the headline KPIs
  first (seed 001: CSAT, deflection, FCR, tickets per order), then the diagnostic KPIs;
  values formatted by unit, each cell coloured by its band, numerator and denominator on
  hover, and the diagnostics that fired listed under the table.
* :func:`terminal_repr` — the same at a glance for a terminal (``Scorecard.__repr__``).
* :func:`write_html_report` — the weekly support-conversion scorecard of seed 000 as one
  self-contained HTML file (inline CSS and SVG charts, nothing fetched from the network).

Bands and diagnostics come from ``card.bands()`` and ``card.diagnose()``; catalogue lookups,
formatting, periods and band regions from :mod:`supportkpi._present`.

The *report period* is the period the headline, the owners' list, the diagnostics and the
``--fail-on`` gate of the command line look at. By default it is the latest period, or the
one before it when less than half of the latest has been observed (``as_of`` early in a new
week would otherwise put a few hours of data in the headline). Pass ``period=`` to choose.

Example:
    >>> import supportkpi as sk
    >>> from supportkpi._report import format_value, scorecard_html, terminal_repr
    >>> format_value(0.2914, "rate"), format_value(6.48, "minutes")
    ('29.1%', '6.5 min')
    >>> sample = sk.load_sample()
    >>> card = sk.scorecard(sample["contacts"], sample["orders"], sessions=sample["sessions"])
    >>> html_table = scorecard_html(card)
    >>> html_table.index("CSAT (mean)") < html_table.index("Escalation rate")
    True
    >>> print(terminal_repr(card).splitlines()[0])
    <Scorecard by=week tz=UTC group_by=[] periods=26 kpis=51 skipped=1 as_of=2024-12-08 23:41 UTC>
"""

from __future__ import annotations

import html
import io
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ._present import (
    BAND_COLOURS,
    BAND_COLUMNS,
    BAND_MARK,
    BANDS,
    MISSING,
    PERIOD_ADJECTIVE,
    PERIOD_NOUN,
    SECTION_TITLES,
    as_float,
    band_edges,
    catalog_entry,
    currency_symbol,
    describe_band,
    diagnostics_frame,
    events_frame,
    format_delta,
    format_evidence,
    format_instant,
    format_number,
    format_value,
    group_label,
    group_value,
    is_missing,
    kpi_name,
    kpi_sections,
    label_period,
    observed_share,
    period_ints,
    period_phrase,
    period_starts,
    report_period,
    scorecard_table,
    section_kpis,
    short_name,
    stamp_int,
)
from ._supportkpi import __version__
from ._text import terminal_safe

if TYPE_CHECKING:
    from ._api import Scorecard

__all__ = [
    "report_html",
    "scorecard_html",
    "terminal_repr",
    "write_html_report",
]

DEFAULT_PERIODS = 6
MAX_GROUP_COLUMNS = 12


# --- the grid of cells ----------------------------------------------------------------


@dataclass(frozen=True)
class _Cell:
    value: float | None
    numerator: float | None
    denominator: float | None
    unit: str
    band: str | None
    owner: str | None
    baseline: float | None
    delta: float | None
    expected: bool


@dataclass(frozen=True)
class _Column:
    label: str
    period: pd.Timestamp
    group: tuple[Any, ...]
    current: bool
    note: str


class _Grid:
    """Every cell of the card, keyed by (period, group, kpi), with its band."""

    def __init__(self, card: Scorecard) -> None:
        self.card = card
        table = scorecard_table(card)
        self.table = table
        self.cells: dict[tuple[int, tuple[Any, ...], str], _Cell] = {}
        self.groups: list[tuple[Any, ...]] = []
        seen: set[tuple[Any, ...]] = set()
        periods = period_ints(table["period_start"]).tolist()
        group_columns = [table[g].tolist() for g in card.group_by]
        columns = {
            name: table[name].tolist()
            for name in ("kpi", "value", "numerator", "denominator", "unit", *BAND_COLUMNS)
        }
        for i, period in enumerate(periods):
            group = tuple(group_value(values[i]) for values in group_columns)
            if group not in seen:
                seen.add(group)
                self.groups.append(group)
            band = columns["band"][i]
            owner = columns["owner"][i]
            expected = columns["expected"][i]
            self.cells[(period, group, columns["kpi"][i])] = _Cell(
                value=as_float(columns["value"][i]),
                numerator=as_float(columns["numerator"][i]),
                denominator=as_float(columns["denominator"][i]),
                unit=str(columns["unit"][i]),
                band=None if is_missing(band) else str(band),
                owner=None if is_missing(owner) else str(owner),
                baseline=as_float(columns["baseline"][i]),
                delta=as_float(columns["delta_vs_baseline"][i]),
                expected=bool(expected) if not is_missing(expected) else False,
            )

    def cell(self, period: pd.Timestamp, group: tuple[Any, ...], kpi: str) -> _Cell | None:
        return self.cells.get((stamp_int(period), group, kpi))


def _columns(
    card: Scorecard, grid: _Grid, *, periods: int, current: pd.Timestamp | None
) -> tuple[list[_Column], str]:
    """Table columns: the last periods (no groups), or the groups of the current period."""
    starts = period_starts(card)
    if not starts or current is None:
        return [], ""
    if not card.group_by:
        upto = [s for s in starts if s <= current]
        after = [s for s in starts if s > current]
        shown = upto[-periods:] + after
        columns = []
        for start in shown:
            share = observed_share(card, start)
            observed = math.floor(100 * share)
            note = "" if share >= 1.0 else f"to date: {observed}% of the {card.by} observed"
            columns.append(_Column(label_period(card, start), start, (), start == current, note))
        return columns, f"{PERIOD_NOUN.get(card.by, card.by).capitalize()} starting"
    groups = grid.groups
    extra = len(groups) - MAX_GROUP_COLUMNS
    columns = [
        _Column(group_label(card, g), current, g, False, "") for g in groups[:MAX_GROUP_COLUMNS]
    ]
    caption = f"{' · '.join(card.group_by)} in the {period_phrase(card, current)}"
    if extra > 0:
        caption += f" (first {MAX_GROUP_COLUMNS} groups; {extra} more in card.to_pandas())"
    return columns, caption


def _support(cell: _Cell) -> str:
    """What a value rests on, briefly: ``192 / 659`` for a ratio, ``n = 281`` for a mean."""
    if cell.denominator is None:
        return ""
    if cell.numerator is None or cell.unit in ("score", "minutes", "hours"):
        return f"n = {format_number(cell.denominator)}"
    return f"{format_number(cell.numerator)} / {format_number(cell.denominator)}"


def _cell_title(kpi: str, cell: _Cell) -> str:
    lines = []
    if cell.numerator is not None and cell.denominator is not None:
        lines.append(
            f"numerator {format_number(cell.numerator)} / "
            f"denominator {format_number(cell.denominator)}"
        )
    elif cell.denominator is not None:
        lines.append(f"n = {format_number(cell.denominator)}")
    elif cell.numerator is not None and cell.unit not in ("count", "currency"):
        lines.append(f"numerator {format_number(cell.numerator)}")
    if cell.value is not None:
        lines.append(f"value {cell.value:.6g}")
    if cell.band:
        owner = f" (owner: {cell.owner})" if cell.owner else ""
        lines.append(f"band: {cell.band}{owner}")
    if cell.baseline is not None:
        delta = "" if cell.delta is None else f", {format_delta(cell.delta, cell.unit)}"
        lines.append(f"baseline {format_value(cell.baseline, cell.unit, kpi)}{delta}")
    if cell.expected:
        lines.append("expected: the period overlaps a peak event")
    return "\n".join(lines)


# --- HTML -----------------------------------------------------------------------------


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


_TABLE_STYLE = "border-collapse:collapse;font-size:13px;font-variant-numeric:tabular-nums"
_TH_STYLE = "padding:4px 8px;text-align:right;border-bottom:1px solid #9ca3af;white-space:nowrap"
_TD_STYLE = "padding:3px 8px;text-align:right;white-space:nowrap"
_NAME_STYLE = "padding:3px 8px;text-align:left;white-space:nowrap"
_SECTION_STYLE = (
    "padding:8px 8px 3px;text-align:left;font-weight:600;border-bottom:1px solid #d1d5db"
)


def _band_style(band: str | None) -> str:
    if band not in BAND_COLOURS:
        return ""
    background, text, accent = BAND_COLOURS[band]
    weight = ";font-weight:600" if band == "intervention" else ""
    return f";background:{background};color:{text};box-shadow:inset 3px 0 0 {accent}{weight}"


def _scorecard_table_html(
    card: Scorecard, grid: _Grid, columns: Sequence[_Column], caption: str
) -> str:
    parts = [f'<table class="sk-table" style="{_TABLE_STYLE}">']
    if caption:
        parts.append(
            f'<caption style="caption-side:top;text-align:left;padding:4px 0;color:#6b7280">'
            f"{_e(caption)}</caption>"
        )
    parts.append("<thead><tr>")
    parts.append(f'<th style="{_TH_STYLE};text-align:left">KPI</th>')
    for column in columns:
        weight = "font-weight:700" if column.current else "font-weight:500"
        label = column.label + (" *" if column.note else "")
        title = f' title="{_e(column.note)}"' if column.note else ""
        current = " sk-current" if column.current else ""
        parts.append(
            f'<th class="sk-period{current}" style="{_TH_STYLE};{weight}"{title}>{_e(label)}</th>'
        )
    parts.append(f'<th style="{_TH_STYLE};text-align:left">owner</th></tr></thead>')
    width = len(columns) + 2
    for title, kpis in kpi_sections(card):
        section = "headline" if title == SECTION_TITLES[0] else "diagnostic"
        parts.append(f'<tbody class="sk-{section}">')
        parts.append(f'<tr><th colspan="{width}" style="{_SECTION_STYLE}">{_e(title)}</th></tr>')
        for kpi in kpis:
            entry = catalog_entry(kpi)
            edges = band_edges(card, kpi)
            hint = str(entry.get("definition") or "")
            words = describe_band(edges, str(entry.get("unit", "")), kpi)
            if words:
                hint = f"{hint}\n{words}" if hint else words
            parts.append(f'<tr data-kpi="{_e(kpi)}">')
            name = _e(kpi_name(kpi))
            parts.append(f'<td class="sk-kpi" style="{_NAME_STYLE}" title="{_e(hint)}">{name}</td>')
            owner = entry.get("owner") if edges else None
            for column in columns:
                cell = grid.cell(column.period, column.group, kpi)
                if cell is None:
                    parts.append(f'<td style="{_TD_STYLE}">–</td>')
                    continue
                owner = cell.owner or owner
                text = format_value(cell.value, cell.unit, kpi)
                if cell.value is None:
                    text = "–"
                mark = " †" if cell.expected and cell.band in ("watch", "intervention") else ""
                band_class = f" sk-{cell.band}" if cell.band else ""
                parts.append(
                    f'<td class="sk-value{band_class}" style="{_TD_STYLE}{_band_style(cell.band)}"'
                    f' title="{_e(_cell_title(kpi, cell))}">{_e(text)}{mark}</td>'
                )
            owner_text = "" if is_missing(owner) else str(owner)
            parts.append(
                f'<td style="padding:3px 8px;text-align:left;color:#6b7280;min-width:9em">'
                f"{_e(owner_text)}</td></tr>"
            )
        parts.append("</tbody>")
    parts.append("</table>")
    return "".join(parts)


def _legend_html() -> str:
    swatches = []
    for band in BANDS:
        swatches.append(
            f'<span style="display:inline-block;padding:1px 6px;margin-right:6px'
            f'{_band_style(band)}">{band}</span>'
        )
    return (
        '<div class="sk-legend" style="font-size:12px;margin:6px 0;color:#6b7280">'
        f"{''.join(swatches)} hover a value for its numerator, denominator and baseline; "
        "* period still in progress; † band change expected (peak event)</div>"
    )


def _diagnostics_in(
    card: Scorecard, diagnostics: pd.DataFrame, starts: Iterable[pd.Timestamp]
) -> pd.DataFrame:
    if diagnostics.empty:
        return diagnostics
    wanted = {stamp_int(s) for s in starts}
    keys = period_ints(diagnostics["period_start"])
    picked = diagnostics[keys.isin(wanted).to_numpy()]
    return picked.sort_values("period_start", ascending=False, kind="stable")


def _diagnostic_list_html(card: Scorecard, diagnostics: pd.DataFrame) -> str:
    if diagnostics.empty:
        return (
            '<p class="sk-diagnostics" style="font-size:13px">'
            "No diagnostic rule fired in these periods.</p>"
        )
    items = []
    for row in diagnostics.to_dict("records"):
        where = period_phrase(card, pd.Timestamp(row["period_start"]).tz_convert(card.tz))
        group = tuple(group_value(row.get(g)) for g in card.group_by)
        if card.group_by:
            where += f", {group_label(card, group)}"
        evidence = format_evidence(row.get("evidence") or {})
        items.append(
            f'<li title="evidence: {_e(evidence)}"><b>{_e(row.get("symptom") or row["rule"])}</b>'
            f' <span style="color:#6b7280">({_e(row["rule"])}, {_e(where)})</span> — '
            f"likely cause: {_e(row.get('likely_cause', ''))}; "
            f"<b>action:</b> {_e(row.get('action', ''))} "
            f'<span style="color:#6b7280">— owner: {_e(row.get("owner", ""))}; '
            f"validate with {_e(row.get('validation_metric', ''))}</span></li>"
        )
    return (
        '<div class="sk-diagnostics" style="font-size:13px"><b>Diagnostics fired</b>'
        f'<ul style="margin:4px 0">{"".join(items)}</ul></div>'
    )


def scorecard_html(card: Scorecard, *, periods: int = DEFAULT_PERIODS) -> str:
    """The notebook view of ``card`` (``Scorecard._repr_html_``).

    One table: headline KPIs first, then the diagnostic KPIs; the last ``periods`` periods
    as columns (with ``group_by``: the groups of the report period); each value formatted
    by its unit and coloured by its band; numerator, denominator, band, owner and baseline
    in the cell's tooltip. The diagnostics that fired in the periods shown are listed under
    the table. Inline styles only, so it renders the same in Jupyter, VS Code and GitHub.

    Example:
        >>> import supportkpi as sk
        >>> sample = sk.load_sample()
        >>> card = sk.scorecard(sample["contacts"], sample["orders"], sessions=sample["sessions"])
        >>> out = scorecard_html(card, periods=3)
        >>> out.startswith('<div class="supportkpi-scorecard"')
        True
        >>> 'title="numerator ' in out and "%</td>" in out
        True
    """
    grid = _Grid(card)
    current = report_period(card)
    columns, caption = _columns(card, grid, periods=periods, current=current)
    head = (
        f"<b>supportkpi scorecard</b> — by {_e(card.by)} in {_e(card.tz)}, "
        f"as of {_e(format_instant(card.as_of, card.tz))}"
    )
    parts = [
        '<div class="supportkpi-scorecard" style="font-family:system-ui,sans-serif">',
        f'<div style="margin-bottom:4px">{head}</div>',
    ]
    if not columns:
        parts.append("<p>The scorecard is empty (no contacts or orders).</p></div>")
        return "".join(parts)
    parts.append(_scorecard_table_html(card, grid, columns, caption))
    parts.append(_legend_html())
    shown = sorted({c.period for c in columns})
    parts.append(_diagnostic_list_html(card, _diagnostics_in(card, diagnostics_frame(card), shown)))
    if card.skipped:
        skipped = ", ".join(f"{k} ({v})" for k, v in card.skipped.items())
        parts.append(f'<div style="font-size:12px;color:#6b7280">Skipped KPIs: {_e(skipped)}</div>')
    parts.append("</div>")
    return "".join(parts)


# --- terminal -------------------------------------------------------------------------


def _summary_line(card: Scorecard) -> str:
    starts = period_starts(card)
    return (
        f"<Scorecard by={card.by} tz={card.tz} group_by={card.group_by} "
        f"periods={len(starts)} kpis={len(card.kpis)} skipped={len(card.skipped)} "
        f"as_of={format_instant(card.as_of, 'UTC') if card.as_of is not None else None}>"
    )


def terminal_repr(card: Scorecard, *, periods: int = 3) -> str:
    """A terminal view of ``card`` (``Scorecard.__repr__``): the headline and seed 000's KPIs.

    The first line is the one-line summary; then the last ``periods`` periods (with
    ``group_by``: the groups of the report period) of the headline and support-conversion
    KPIs with the band of the report period, the count of KPIs per band, and the
    diagnostics that fired.

    Example:
        >>> import supportkpi as sk
        >>> sample = sk.load_sample()
        >>> card = sk.scorecard(sample["contacts"], sample["orders"], sessions=sample["sessions"])
        >>> text = terminal_repr(card)
        >>> print(text.splitlines()[2])  # doctest: +NORMALIZE_WHITESPACE
        KPI  2024-11-18  2024-11-25  2024-12-02*  band  owner
    """
    lines = [_summary_line(card)]
    grid = _Grid(card)
    current = report_period(card)
    columns, caption = _columns(card, grid, periods=periods, current=current)
    if not columns or current is None:
        return "\n".join(terminal_safe(line) for line in lines)
    sections = kpi_sections(card)
    kpis = [k for _, ks in sections[:2] for k in ks] if len(sections) > 1 else sections[0][1]
    lines.append(f"{caption}; report period: {period_phrase(card, current)}")
    grouped = bool(card.group_by)
    header = ["KPI", *[c.label + ("*" if c.note else "") for c in columns]]
    header += ["owner"] if grouped else ["band", "owner"]
    rows = []
    for kpi in kpis:
        cells = [grid.cell(column.period, column.group, kpi) for column in columns]
        texts = []
        for cell in cells:
            text = MISSING if cell is None else format_value(cell.value, cell.unit, kpi)
            if grouped and cell is not None and cell.band:
                text += f" {BAND_MARK[cell.band]}"
            texts.append(text)
        owner = next((cell.owner for cell in cells if cell is not None and cell.owner), "")
        tail = [owner]
        if not grouped:
            now = next((c for col, c in zip(columns, cells) if col.current), None)
            band = "" if now is None or not now.band else now.band
            tail = [band + (" (expected)" if band and now and now.expected else ""), owner]
        rows.append([short_name(kpi), *texts, *tail])
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    numbers = range(1, len(columns) + 1)
    for r in [header, *rows]:
        cells_text = [
            r[i].rjust(widths[i]) if i in numbers else r[i].ljust(widths[i]) for i in range(len(r))
        ]
        lines.append("  ".join(cells_text).rstrip())
    if grouped:
        lines.append("band of each value: ok healthy, ! watch, !! intervention")
    notes = [c for c in columns if c.note]
    if notes:
        lines.append(f"* {notes[-1].note}")
    counts = _band_counts(grid, current)
    if counts:
        summary = ", ".join(f"{counts[b]} {b}" for b in BANDS if counts.get(b))
        lines.append(f"bands in the {period_phrase(card, current)}: {summary}")
    fired = _diagnostics_in(card, diagnostics_frame(card), [current])
    if fired.empty:
        lines.append("diagnostics: none fired")
    else:
        rules = ", ".join(dict.fromkeys(str(r) for r in fired["rule"]))
        lines.append(f"diagnostics fired: {rules} (card.diagnose())")
    return "\n".join(terminal_safe(line) for line in lines)


def _band_counts(grid: _Grid, period: pd.Timestamp) -> dict[str, int]:
    key = stamp_int(period)
    counts: dict[str, int] = {}
    for (p, _, _), cell in grid.cells.items():
        if p == key and cell.band:
            counts[cell.band] = counts.get(cell.band, 0) + 1
    return counts


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
    return f'<span class="pill" style="background:{background};color:{text}">{_e(band)}</span>'


def _previous(card: Scorecard, start: pd.Timestamp) -> pd.Timestamp | None:
    earlier = [s for s in period_starts(card) if s < start]
    return earlier[-1] if earlier else None


def _tiles_html(card: Scorecard, grid: _Grid, current: pd.Timestamp) -> str:
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
            meta.append(f"vs previous {_e(card.by)}: {_e(change)}")
        if cell.baseline is not None:
            meta.append(f"30-day baseline: {_e(format_value(cell.baseline, cell.unit, kpi))}")
        if _support(cell):
            meta.append(_e(_support(cell)))
        if cell.owner:
            meta.append(f"owner: {_e(cell.owner)}")
        expected = " (expected: peak)" if cell.expected else ""
        band_text = f"{_e(cell.band)}{expected}" if cell.band else "no band"
        colour = BAND_COLOURS[cell.band][1] if cell.band in BAND_COLOURS else "#6b7280"
        tiles.append(
            f'<div class="tile" data-kpi="{_e(kpi)}" style="border-top-color:{accent}">'
            f'<div class="name">{_e(kpi_name(kpi))}</div>'
            f'<div class="value" title="{_e(_cell_title(kpi, cell))}">'
            f"{_e(format_value(cell.value, cell.unit, kpi))}</div>"
            f'<div class="band" style="color:{colour}">{band_text}</div>'
            f'<div class="meta">{"<br>".join(meta)}</div></div>'
        )
    return f'<div class="tiles">{"".join(tiles)}</div>' if tiles else ""


def _attention_html(card: Scorecard, grid: _Grid, current: pd.Timestamp) -> str:
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
            f"<tr><td>{_e(cell.owner or '')}</td><td>{_e(name)}</td>"
            f'<td title="{_e(_cell_title(kpi, cell))}">'
            f"{_e(format_value(cell.value, cell.unit, kpi))}"
            f'<br><span class="note">{_e(_support(cell))}</span></td>'
            f"<td>{_pill(cell.band)}</td><td>{_e(baseline)}</td>"
            f"<td>{_e(describe_band(band_edges(card, kpi), cell.unit, kpi))}</td>"
            f"<td>{_e(note)}</td></tr>"
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
                format_evidence(row.get("evidence") or {}),
            ]
        rule = _e(row.get("rule", ""))
        body.append(
            f'<tr data-rule="{rule}">' + "".join(f"<td>{_e(c)}</td>" for c in cells) + "</tr>"
        )
    header = "".join(f"<th>{_e(h)}</th>" for h in head)
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
        "report period. Shading: healthy (green), watch (amber), intervention (red); dashed "
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
            f"<tr><td>{_e(row.get('name', ''))}</td><td>{_e(row.get('kind', ''))}</td>"
            f"<td>{_e(start)}</td><td>{_e(end)}</td></tr>"
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
    grid = _Grid(card)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_REPORT_CSS}</style></head><body><main>",
        f"<h1>{_e(title)}</h1>",
    ]
    if current is None:
        parts.append('<p class="sub">The scorecard is empty (no contacts or orders).</p>')
        parts.append("</main></body></html>")
        return "\n".join(parts)
    share = observed_share(card, current)
    partial = "" if share >= 1.0 else f" (in progress: {math.floor(100 * share)}% observed)"
    group_text = f" · by {', '.join(card.group_by)}" if card.group_by else ""
    parts.append(
        f'<p class="sub">{_e(period_phrase(card, current).capitalize())}{_e(partial)} · '
        f"time zone {_e(card.tz)}{_e(group_text)} · data as of "
        f"{_e(format_instant(card.as_of, card.tz))}</p>"
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
    fired = _diagnostics_in(card, diagnostics, [current])
    if fired.empty:
        parts.append('<p class="note">No diagnostic rule fired in this period.</p>')
    else:
        parts.append(_diagnostics_table_html(card, fired, brief=False))

    parts.append("<h2>Scorecard</h2>")
    columns, caption = _columns(card, grid, periods=periods, current=current)
    parts.append(f'<div class="scroll">{_scorecard_table_html(card, grid, columns, caption)}</div>')
    parts.append(_legend_html())

    trend_kpis = [k for _, ks in kpi_sections(card)[:2] for k in ks]
    if trend_kpis:
        parts.append("<h2>Trends</h2>")
        parts.append(_charts_html(card, trend_kpis, days))

    if not diagnostics.empty:
        starts = period_starts(card)
        window_start = current - pd.Timedelta(days=days)
        earlier = [s for s in starts if window_start <= s < current]
        history = _diagnostics_in(card, diagnostics, earlier)
        if not history.empty:
            parts.append(f"<h2>Diagnostics of the previous {days} days</h2>")
            parts.append(_diagnostics_table_html(card, history, brief=True))

    parts.append(_events_html(card))
    footer = [
        f"supportkpi {_e(__version__)} · {len(card.kpis)} KPIs · definitions: "
        "sk.kpi_catalog() and docs/semantics.md."
    ]
    if card.skipped:
        skipped = "; ".join(f"{k}: {v}" for k, v in card.skipped.items())
        footer.append(f"Skipped KPIs: {_e(skipped)}.")
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
