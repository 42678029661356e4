"""The notebook table (``Scorecard._repr_html_``): the headline KPIs first, then the
diagnostic KPIs; values formatted by unit, each cell coloured by its band, numerator and
denominator on hover, and the diagnostics that fired listed under the table. Inline
styles only, so it renders the same in Jupyter, VS Code and GitHub; every value escaped.

Example:
    >>> import supportkpi as sk
    >>> sample = sk.load_sample()
    >>> card = sk.scorecard(sample["contacts"], sample["orders"], sessions=sample["sessions"])
    >>> html_table = scorecard_html(card)
    >>> html_table.index("CSAT (mean)") < html_table.index("Escalation rate")
    True
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from ._grid import Column, Grid, cell_title, diagnostics_in, grid_columns
from ._present import (
    BAND_COLOURS,
    BANDS,
    INSUFFICIENT,
    SECTION_TITLES,
    band_edges,
    catalog_entry,
    describe_band,
    diagnostics_frame,
    format_instant,
    format_value,
    group_label,
    group_value,
    is_missing,
    kpi_name,
    kpi_sections,
    period_phrase,
    report_period,
)

if TYPE_CHECKING:
    from ._card import Scorecard

__all__ = ["scorecard_html"]

DEFAULT_PERIODS = 6

# --- HTML -----------------------------------------------------------------------------


def escape(text: object) -> str:
    return html.escape(str(text), quote=True)


TABLE_STYLE = "border-collapse:collapse;font-size:13px;font-variant-numeric:tabular-nums"
TH_STYLE = "padding:4px 8px;text-align:right;border-bottom:1px solid #9ca3af;white-space:nowrap"
TD_STYLE = "padding:3px 8px;text-align:right;white-space:nowrap"
NAME_STYLE = "padding:3px 8px;text-align:left;white-space:nowrap"
SECTION_STYLE = (
    "padding:8px 8px 3px;text-align:left;font-weight:600;border-bottom:1px solid #d1d5db"
)


def band_style(band: str | None) -> str:
    if band not in BAND_COLOURS:
        return ""
    background, text, accent = BAND_COLOURS[band]
    weight = ";font-weight:600" if band == "intervention" else ""
    return f";background:{background};color:{text};box-shadow:inset 3px 0 0 {accent}{weight}"


def scorecard_table_html(
    card: Scorecard, grid: Grid, columns: Sequence[Column], caption: str
) -> str:
    parts = [f'<table class="sk-table" style="{TABLE_STYLE}">']
    if caption:
        parts.append(
            f'<caption style="caption-side:top;text-align:left;padding:4px 0;color:#6b7280">'
            f"{escape(caption)}</caption>"
        )
    parts.append("<thead><tr>")
    parts.append(f'<th style="{TH_STYLE};text-align:left">KPI</th>')
    for column in columns:
        weight = "font-weight:700" if column.current else "font-weight:500"
        label = column.label + (" *" if column.note else "")
        title = f' title="{escape(column.note)}"' if column.note else ""
        current = " sk-current" if column.current else ""
        style = f"{TH_STYLE};{weight}"
        parts.append(f'<th class="sk-period{current}" style="{style}"{title}>{escape(label)}</th>')
    parts.append(f'<th style="{TH_STYLE};text-align:left">owner</th></tr></thead>')
    width = len(columns) + 2
    for title, kpis in kpi_sections(card):
        section = "headline" if title == SECTION_TITLES[0] else "diagnostic"
        parts.append(f'<tbody class="sk-{section}">')
        parts.append(f'<tr><th colspan="{width}" style="{SECTION_STYLE}">{escape(title)}</th></tr>')
        for kpi in kpis:
            entry = catalog_entry(kpi)
            edges = band_edges(card, kpi)
            hint = str(entry.get("definition") or "")
            words = describe_band(edges, str(entry.get("unit", "")), kpi)
            if words:
                hint = f"{hint}\n{words}" if hint else words
            parts.append(f'<tr data-kpi="{escape(kpi)}">')
            name = escape(kpi_name(kpi))
            parts.append(
                f'<td class="sk-kpi" style="{NAME_STYLE}" title="{escape(hint)}">{name}</td>'
            )
            owner = entry.get("owner") if edges else None
            for column in columns:
                cell = grid.cell(column.period, column.group, kpi)
                if cell is None:
                    parts.append(f'<td style="{TD_STYLE}">–</td>')
                    continue
                owner = cell.owner or owner
                text = format_value(cell.value, cell.unit, kpi)
                if cell.value is None:
                    text = "–"
                mark = " †" if cell.expected and cell.band in ("watch", "intervention") else ""
                band_class = f" sk-{cell.band}" if cell.band else ""
                title = escape(cell_title(kpi, cell, grid.confidence))
                parts.append(
                    f'<td class="sk-value{band_class}" style="{TD_STYLE}{band_style(cell.band)}"'
                    f' title="{title}">{escape(text)}{mark}</td>'
                )
            owner_text = "" if is_missing(owner) else str(owner)
            parts.append(
                f'<td style="padding:3px 8px;text-align:left;color:#6b7280;min-width:9em">'
                f"{escape(owner_text)}</td></tr>"
            )
        parts.append("</tbody>")
    parts.append("</table>")
    return "".join(parts)


def legend_html() -> str:
    swatches = []
    for band in (*BANDS, INSUFFICIENT):
        swatches.append(
            f'<span style="display:inline-block;padding:1px 6px;margin-right:6px'
            f'{band_style(band)}">{band}</span>'
        )
    return (
        '<div class="sk-legend" style="font-size:12px;margin:6px 0;color:#6b7280">'
        f"{''.join(swatches)} (n below the band's min_sample); hover a value for its "
        "numerator, denominator, interval (± x) and baseline; "
        "* period still in progress; † band change expected (peak event)</div>"
    )


def diagnostic_list_html(card: Scorecard, diagnostics: pd.DataFrame) -> str:
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
        evidence = str(row.get("evidence_text") or "")
        symptom = escape(row.get("symptom") or row["rule"])
        items.append(
            f'<li title="evidence: {escape(evidence)}"><b>{symptom}</b>'
            f' <span style="color:#6b7280">({escape(row["rule"])}, {escape(where)})</span> — '
            f"likely cause: {escape(row.get('likely_cause', ''))}; "
            f"<b>action:</b> {escape(row.get('action', ''))} "
            f'<span style="color:#6b7280">— owner: {escape(row.get("owner", ""))}; '
            f"validate with {escape(row.get('validation_metric', ''))}</span></li>"
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
    grid = Grid(card)
    current = report_period(card)
    columns, caption = grid_columns(card, grid, periods=periods, current=current)
    head = (
        f"<b>supportkpi scorecard</b> — by {escape(card.by)} in {escape(card.tz)}, "
        f"as of {escape(format_instant(card.as_of, card.tz))}"
    )
    parts = [
        '<div class="supportkpi-scorecard" style="font-family:system-ui,sans-serif">',
        f'<div style="margin-bottom:4px">{head}</div>',
    ]
    if not columns:
        parts.append("<p>The scorecard is empty (no contacts or orders).</p></div>")
        return "".join(parts)
    parts.append(scorecard_table_html(card, grid, columns, caption))
    parts.append(legend_html())
    shown = sorted({c.period for c in columns})
    parts.append(diagnostic_list_html(card, diagnostics_in(card, diagnostics_frame(card), shown)))
    if card.skipped:
        skipped = ", ".join(f"{k} ({v})" for k, v in card.skipped.items())
        parts.append(
            f'<div style="font-size:12px;color:#6b7280">Skipped KPIs: {escape(skipped)}</div>'
        )
    parts.append("</div>")
    return "".join(parts)
