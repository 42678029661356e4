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

from typing import TYPE_CHECKING

from ._evidence import format_p
from ._grid import Grid, band_counts, diagnostics_in, grid_columns, plus_minus
from ._present import (
    BAND_MARK,
    BANDS,
    INSUFFICIENT,
    MISSING,
    diagnostics_frame,
    featured_kpis,
    format_instant,
    format_number,
    format_value,
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
