"""The cells of a scorecard as the views lay them out: one per period × group × KPI, with
its band, and the columns (periods, or the groups of the report period) a view shows."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from ._evidence import format_p
from ._present import (
    BAND_COLUMNS,
    INSUFFICIENT,
    PERIOD_NOUN,
    as_float,
    format_delta,
    format_number,
    format_value,
    group_label,
    group_value,
    is_missing,
    label_period,
    observed_share,
    period_ints,
    period_phrase,
    period_starts,
    scorecard_table,
    stamp_int,
)

if TYPE_CHECKING:
    from ._card import Scorecard

# With group_by, the views show the groups of the report period as columns, up to this many.
MAX_GROUP_COLUMNS = 12


@dataclass(frozen=True)
class Cell:
    """One KPI value of one period × group, with its band."""

    value: float | None
    numerator: float | None
    denominator: float | None
    unit: str
    band: str | None
    owner: str | None
    baseline: float | None
    delta: float | None
    expected: bool
    ci_low: float | None = None
    ci_high: float | None = None
    n: float | None = None
    band_certain: bool | None = None
    p_value: float | None = None


@dataclass(frozen=True)
class Column:
    """One column of a view: a period, or a group of the report period."""

    label: str
    period: pd.Timestamp
    group: tuple[Any, ...]
    current: bool
    note: str


class Grid:
    """Every cell of the card, keyed by (period, group, kpi), with its band."""

    def __init__(self, card: Scorecard) -> None:
        self.card = card
        #: statistics.confidence of the card's intervals.
        self.confidence = card.confidence
        table = scorecard_table(card)
        self.table = table
        self.cells: dict[tuple[int, tuple[Any, ...], str], Cell] = {}
        self.groups: list[tuple[Any, ...]] = []
        seen: set[tuple[Any, ...]] = set()
        periods = period_ints(table["period_start"]).tolist()
        group_columns = [table[g].tolist() for g in card.group_by]
        columns = {
            name: table[name].tolist()
            for name in (
                "kpi",
                "value",
                "numerator",
                "denominator",
                "unit",
                "ci_low",
                "ci_high",
                *BAND_COLUMNS,
            )
            if name in table.columns
        }
        for i, period in enumerate(periods):
            group = tuple(group_value(values[i]) for values in group_columns)
            if group not in seen:
                seen.add(group)
                self.groups.append(group)
            band = columns["band"][i]
            owner = columns["owner"][i]
            expected = columns["expected"][i]
            self.cells[(period, group, columns["kpi"][i])] = Cell(
                value=as_float(columns["value"][i]),
                numerator=as_float(columns["numerator"][i]),
                denominator=as_float(columns["denominator"][i]),
                unit=str(columns["unit"][i]),
                band=None if is_missing(band) else str(band),
                owner=None if is_missing(owner) else str(owner),
                baseline=as_float(columns["baseline"][i]),
                delta=as_float(columns["delta_vs_baseline"][i]),
                expected=bool(expected) if not is_missing(expected) else False,
                ci_low=as_float(columns["ci_low"][i]) if "ci_low" in columns else None,
                ci_high=as_float(columns["ci_high"][i]) if "ci_high" in columns else None,
                n=as_float(columns["n"][i]),
                band_certain=None
                if is_missing(certain := columns["band_certain"][i])
                else bool(certain),
                p_value=as_float(columns["p_value"][i]),
            )

    def cell(self, period: pd.Timestamp, group: tuple[Any, ...], kpi: str) -> Cell | None:
        return self.cells.get((stamp_int(period), group, kpi))


def grid_columns(
    card: Scorecard, grid: Grid, *, periods: int, current: pd.Timestamp | None
) -> tuple[list[Column], str]:
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
            columns.append(Column(label_period(card, start), start, (), start == current, note))
        return columns, f"{PERIOD_NOUN.get(card.by, card.by).capitalize()} starting"
    groups = grid.groups
    extra = len(groups) - MAX_GROUP_COLUMNS
    columns = [
        Column(group_label(card, g), current, g, False, "") for g in groups[:MAX_GROUP_COLUMNS]
    ]
    caption = f"{' · '.join(card.group_by)} in the {period_phrase(card, current)}"
    if extra > 0:
        caption += f" (first {MAX_GROUP_COLUMNS} groups; {extra} more in card.to_pandas())"
    return columns, caption


def support_text(cell: Cell) -> str:
    """What a value rests on, briefly: ``192 / 659`` for a ratio, ``n = 281`` for a mean."""
    if cell.denominator is None:
        return ""
    if cell.numerator is None or cell.unit in ("score", "minutes", "hours"):
        return f"n = {format_number(cell.denominator)}"
    return f"{format_number(cell.numerator)} / {format_number(cell.denominator)}"


def plus_minus(cell: Cell, kpi: str) -> str:
    """The value's interval as ``± x`` (half its width, in the KPI's unit), or "".

    Example:
        >>> c = Cell(0.409, 409, 1000, "rate", "watch", None, None, None, False, 0.379, 0.440)
        >>> plus_minus(c, "deflection_rate")
        '± 3.0 pp'
    """
    if cell.ci_low is None or cell.ci_high is None:
        return ""
    half = (cell.ci_high - cell.ci_low) / 2
    return "± " + format_delta(half, cell.unit).lstrip("+")


def cell_title(kpi: str, cell: Cell, confidence: float | None = None) -> str:
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
    if (pm := plus_minus(cell, kpi)) and cell.ci_low is not None and cell.ci_high is not None:
        level = f"{100 * confidence:g}% " if confidence else ""
        lines.append(
            f"{format_value(cell.value, cell.unit, kpi)} {pm} ({level}interval "
            f"{format_value(cell.ci_low, cell.unit, kpi)} to "
            f"{format_value(cell.ci_high, cell.unit, kpi)})"
        )
    if cell.band == INSUFFICIENT:
        lines.append(
            f"band: insufficient (n = {format_number(cell.n)} is below the band's min_sample)"
        )
    elif cell.band:
        owner = f" (owner: {cell.owner})" if cell.owner else ""
        certain = {True: ", certain", False: ", uncertain: the interval crosses an edge"}
        settled = "" if cell.band_certain is None else certain[cell.band_certain]
        lines.append(f"band: {cell.band}{settled}{owner}")
    if cell.baseline is not None:
        delta = "" if cell.delta is None else f", {format_delta(cell.delta, cell.unit)}"
        lines.append(f"baseline {format_value(cell.baseline, cell.unit, kpi)}{delta}")
    if cell.p_value is not None:
        lines.append(f"change vs baseline: {format_p(cell.p_value)}")
    if cell.expected:
        lines.append("expected: the period overlaps a peak event")
    return "\n".join(lines)


def diagnostics_in(
    card: Scorecard, diagnostics: pd.DataFrame, starts: Iterable[pd.Timestamp]
) -> pd.DataFrame:
    if diagnostics.empty:
        return diagnostics
    wanted = {stamp_int(s) for s in starts}
    keys = period_ints(diagnostics["period_start"])
    picked = diagnostics[keys.isin(wanted).to_numpy()]
    return picked.sort_values("period_start", ascending=False, kind="stable")


def band_counts(grid: Grid, period: pd.Timestamp) -> dict[str, int]:
    key = stamp_int(period)
    counts: dict[str, int] = {}
    for (p, _, _), cell in grid.cells.items():
        if p == key and cell.band:
            counts[cell.band] = counts.get(cell.band, 0) + 1
    return counts
