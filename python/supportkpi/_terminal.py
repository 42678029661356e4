"""The terminal view of a scorecard (``Scorecard.__repr__``): the headline and seed 000's
KPIs at a glance, text made safe for a terminal.

Example:
    >>> import supportkpi as sk
    >>> sample = sk.load_sample()
    >>> card = sk.scorecard(sample["contacts"], sample["orders"], sessions=sample["sessions"])
    >>> print(terminal_repr(card).splitlines()[0])
    <Scorecard by=week tz=UTC group_by=[] periods=26 kpis=53 skipped=12 as_of=2024-12-08 23:41 UTC>
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from ._evidence import format_p
from ._grid import Grid, band_counts, diagnostics_in, grid_columns, plus_minus
from ._present import (
    BAND_MARK,
    BANDS,
    INSUFFICIENT,
    MISSING,
    NULL_GROUP,
    PERIOD_FORMAT,
    catalog_entry,
    demo_kpis,
    diagnostics_frame,
    featured_kpis,
    format_instant,
    format_number,
    format_value,
    is_missing,
    observed_share,
    period_phrase,
    period_starts,
    report_period,
    short_name,
)
from ._text import terminal_safe

if TYPE_CHECKING:
    from ._card import Scorecard

__all__ = ["terminal_repr"]

# --- terminal -------------------------------------------------------------------------


def summary_line(card: Scorecard) -> str:
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
    lines = [summary_line(card)]
    grid = Grid(card)
    current = report_period(card)
    columns, caption = grid_columns(card, grid, periods=periods, current=current)
    if not columns or current is None:
        return "\n".join(terminal_safe(line) for line in lines)
    kpis = featured_kpis(card)
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
        lines.append(
            "band of each value: ok healthy, ! watch, !! intervention, ? insufficient sample"
        )
    notes = [c for c in columns if c.note]
    if notes:
        lines.append(f"* {notes[-1].note}")
    counts = band_counts(grid, current)
    if counts:
        summary = ", ".join(f"{counts[b]} {b}" for b in (*BANDS, INSUFFICIENT) if counts.get(b))
        lines.append(f"bands in the {period_phrase(card, current)}: {summary}")
    fired = diagnostics_in(card, diagnostics_frame(card), [current])
    if fired.empty:
        lines.append("diagnostics: none fired")
    else:
        rules = ", ".join(dict.fromkeys(str(r) for r in fired["rule"]))
        lines.append(f"diagnostics fired: {rules} (card.diagnose())")
    return "\n".join(terminal_safe(line) for line in lines)


def interval_lines(card: Scorecard, kpis: list[str]) -> list[str]:
    """The report period's ``kpis`` with their intervals, bands, samples and p-values
    (``supportkpi demo``), one line each; ~ marks a band the interval does not settle.

    Example:
        >>> import supportkpi as sk
        >>> sample = sk.load_sample()
        >>> card = sk.scorecard(sample["contacts"], sample["orders"])
        >>> print("\\n".join(interval_lines(card, ["csat_mean"])))  # doctest: +NORMALIZE_WHITESPACE
        the week of 2024-12-02 (to date), with 95% intervals:
          CSAT  4.07 ± 0.12  watch~  n = 628  vs baseline: p = 0.179
          ~ the interval crosses a band edge: the band is not settled
    """
    grid = Grid(card)
    current = report_period(card)
    if current is None or card.group_by:
        return []
    level = f"{100 * grid.confidence:g}% " if grid.confidence else ""
    rows = []
    for kpi in kpis:
        cell = grid.cell(current, (), kpi)
        if cell is None or cell.value is None:
            continue
        value = format_value(cell.value, cell.unit, kpi)
        band = (cell.band or "") + ("~" if cell.band_certain is False else "")
        n = f"n = {format_number(cell.n)}" if cell.n is not None else ""
        p = f"vs baseline: {format_p(cell.p_value)}" if cell.p_value is not None else ""
        rows.append([short_name(kpi), f"{value} {plus_minus(cell, kpi)}".strip(), band, n, p])
    if not rows:
        return []
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    observed = "" if observed_share(card, current) >= 1.0 else " (to date)"
    lines = [f"the {period_phrase(card, current)}{observed}, with {level}intervals:"]
    for r in rows:
        lines.append("  " + "  ".join(r[i].ljust(widths[i]) for i in range(5)).rstrip())
    if any(r[2].endswith("~") for r in rows):
        lines.append("  ~ the interval crosses a band edge: the band is not settled")
    return [terminal_safe(line) for line in lines]


def evidence_lines(card: Scorecard) -> list[str]:
    """The rules that fired in the report period, with their evidence in words
    (``supportkpi demo``).

    Example:
        >>> import supportkpi as sk
        >>> sample = sk.load_sample()
        >>> card = sk.scorecard(sample["contacts"], sample["orders"])
        >>> print(evidence_lines(card)[0])
        fired in the week of 2024-12-02 (to date):
    """
    current = report_period(card)
    if current is None:
        return []
    fired = diagnostics_in(card, diagnostics_frame(card), [current])
    if fired.empty:
        return []
    observed = "" if observed_share(card, current) >= 1.0 else " (to date)"
    lines = [f"fired in the {period_phrase(card, current)}{observed}:"]
    for row in fired.to_dict("records"):
        group = [str(row.get(g)) for g in card.group_by]
        where = f" [{', '.join(group)}]" if group else ""
        lines.append(f"  {row['rule']}{where}: {row.get('evidence_text', '')}")
    return [terminal_safe(line) for line in lines]


def format_wide(
    wide: pd.DataFrame,
    by: str = "week",
    periods: int = 8,
    group_by: Sequence[str] | None = None,
    kpis: Sequence[str] | None = None,
) -> str:
    """The last ``periods`` periods of ``card.wide()`` as a text table, values formatted.

    ``wide`` has ``period_start`` and the ``group_by`` keys as its index (or columns).
    KPIs of ``kpis`` (default: the catalogue's demo KPIs) missing from ``wide`` (skipped)
    are left out; columns are headed by the catalogue's short names.

    Example:
        >>> import supportkpi as sk
        >>> sample = sk.load_sample()
        >>> card = sk.scorecard(sample["contacts"], sample["orders"])
        >>> print(format_wide(card.wide(), periods=2, kpis=["csat_mean"]))
           week of CSAT
        2024-11-25 3.46
        2024-12-02 4.07
    """
    kpis = demo_kpis() if kpis is None else kpis
    group_keys = list(group_by or [])
    shown = [kpi for kpi in kpis if kpi in wide.columns]
    keyed = wide if "period_start" in wide.columns else wide.reset_index()
    table = keyed[["period_start", *group_keys, *shown]]
    period_starts = table["period_start"].drop_duplicates().sort_values()
    table = table[table["period_start"].isin(period_starts.iloc[-periods:])]

    period_label = {"day": "day", "week": "week of", "month": "month"}[by]
    text = pd.DataFrame({period_label: table["period_start"].dt.strftime(PERIOD_FORMAT[by])})
    for column in group_keys:
        text[column] = table[column].map(
            lambda value: NULL_GROUP if is_missing(value) else str(value)
        )
    for kpi in shown:
        unit = str(catalog_entry(kpi).get("unit", ""))
        text[short_name(kpi)] = table[kpi].map(lambda value, u=unit: format_value(value, u))
    return text.to_string(index=False)
