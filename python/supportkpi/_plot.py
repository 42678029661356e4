"""Trend charts of a scorecard (matplotlib, the optional ``plot`` extra).

* :func:`plot_kpi` — one KPI over the periods: the value line with each point coloured by
  its band, the healthy / watch / intervention ranges shaded behind it, the 30-day baseline
  dashed, and the calendar events (promo, launch, peak) marked.
* :func:`plot_trends` — small multiples of several KPIs (default: the headline KPIs,
  seed 000's support-conversion scorecard and, with business calendars, the SLA rates and
  business-time medians) over the last ``days`` days.

Both return a :class:`matplotlib.figure.Figure`. Figures are built without pyplot, so no
GUI backend is touched and nothing accumulates in pyplot's figure registry; Jupyter shows
a returned figure inline. matplotlib is imported only when a chart is drawn.

Example:
    >>> import supportkpi as sk
    >>> from supportkpi._plot import plot_kpi, plot_trends
    >>> sample = sk.load_sample()
    >>> card = sk.scorecard(sample["contacts"], sample["orders"], sessions=sample["sessions"])
    >>> fig = plot_kpi(card, "csat_mean")
    >>> fig.axes[0].get_title(loc="left")
    'CSAT (mean)'
    >>> len(plot_trends(card, ["csat_mean", "fcr_rate", "tickets_per_order"], days=60).axes)
    3
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from . import _present
from ._supportkpi import ConfigError
from ._text import terminal_safe

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ._card import Scorecard

__all__ = ["plot_kpi", "plot_trends", "require_matplotlib"]

INSTALL_HINT = 'pip install "supportkpi[plot]"'
EVENT_COLOURS = {"promo": "#7c3aed", "launch": "#2563eb", "peak": "#db2777"}
LINE_COLOUR = "#1f2937"
BASELINE_COLOUR = "#6b7280"
SHADE_ALPHA = 0.13


def require_matplotlib() -> Any:
    """Imports matplotlib, or raises an ImportError that names the extra to install."""
    try:
        import matplotlib
        import matplotlib.figure  # noqa: F401
    except ImportError as error:
        raise ImportError(
            f"supportkpi charts need matplotlib, an optional extra: {INSTALL_HINT}"
        ) from error
    return matplotlib


def _frame(card: Scorecard) -> pd.DataFrame:
    """The long table with bands, and x = period start as local wall-clock time."""
    table = _present.scorecard_table(card)
    local = pd.to_datetime(table["period_start"], utc=True).dt.tz_convert(card.tz)
    table["x"] = local.dt.tz_localize(None)
    return table


def _pick_group(card: Scorecard, table: pd.DataFrame, group: object) -> pd.DataFrame:
    if group is None or not card.group_by:
        if group is not None:
            raise ConfigError("group: this scorecard has no group_by")
        return table
    wanted = group if isinstance(group, tuple) else (group,)
    if len(wanted) != len(card.group_by):
        raise ConfigError(f"group: expected {len(card.group_by)} value(s) for {card.group_by}")
    mask = np.ones(len(table), dtype=bool)
    for column, value in zip(card.group_by, wanted, strict=True):
        values = table[column]
        mask &= (values.isna() if value is None else (values == value).fillna(False)).to_numpy()
    if not mask.any():
        raise ConfigError(f"group: no rows for {dict(zip(card.group_by, wanted, strict=True))}")
    return table[mask]


def _window(card: Scorecard, table: pd.DataFrame, days: int | None, partial: bool) -> pd.DataFrame:
    """The rows to draw: up to the report period (unless ``partial``), the last ``days``."""
    if table.empty:
        return table
    if not partial:
        current = _present.report_period(card)
        if current is not None:
            table = table[table["x"] <= current.tz_localize(None)]
    if days is None or table.empty:
        return table
    last = table["x"].max()
    return table[table["x"] >= last - pd.Timedelta(days=days)]


def _events_within(card: Scorecard, table: pd.DataFrame) -> pd.DataFrame | None:
    """The calendar events that overlap the periods drawn."""
    events = _present.events_frame(card)
    if events is None or table.empty:
        return None
    first = pd.Timestamp(table["x"].min())
    end = pd.Timestamp(table["x"].max()) + _period_step(card)
    keep = []
    for event in events.to_dict("records"):
        start, stop = _local(event.get("start"), card.tz), _local(event.get("end"), card.tz)
        stop = stop if stop is not None else start
        keep.append(start is not None and start < end and stop >= first)
    inside = events[np.array(keep, dtype=bool)]
    return inside if len(inside) else None


def _period_step(card: Scorecard) -> pd.DateOffset:
    return _present.PERIOD_STEP.get(card.by, pd.DateOffset(days=7))


def _y_formatter(unit: str, kpi: str) -> Any:
    from matplotlib.ticker import FuncFormatter, PercentFormatter

    if unit == "rate":
        return PercentFormatter(xmax=1.0, decimals=None)
    suffix = {"minutes": " min", "hours": " h"}.get(unit, "")
    if unit == "currency":
        return FuncFormatter(lambda v, _: _present.format_value(v, "currency").split(".")[0])
    return FuncFormatter(lambda v, _: f"{v:,.4g}{suffix}")


def _draw(
    ax: Axes,
    card: Scorecard,
    table: pd.DataFrame,
    kpi: str,
    *,
    events: pd.DataFrame | None,
    compact: bool,
) -> None:
    import matplotlib.dates as mdates

    rows = table[table["kpi"] == kpi].sort_values("x", kind="stable")
    title = _present.kpi_name(kpi)
    ax.set_title(title, fontsize=10 if compact else 12, loc="left")
    if rows.empty:
        ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", color="#6b7280")
        return
    unit = str(rows["unit"].iloc[0])
    values = rows["value"].to_numpy(dtype=float)
    baseline = pd.to_numeric(rows["baseline"], errors="coerce").to_numpy(dtype=float)
    intervals = (
        pd.to_numeric(rows["ci_low"], errors="coerce").to_numpy(dtype=float),
        pd.to_numeric(rows["ci_high"], errors="coerce").to_numpy(dtype=float),
    )
    x = mdates.date2num(rows["x"].to_numpy())
    grouped = bool(card.group_by) and rows[card.group_by].drop_duplicates().shape[0] > 1

    if grouped:
        keys = rows[card.group_by].astype(object).where(rows[card.group_by].notna(), None)
        labels = keys.apply(lambda r: _plain(_present.group_label(card, tuple(r))), axis=1)
        for label in dict.fromkeys(labels):
            mask = (labels == label).to_numpy()
            (line,) = ax.plot(
                x[mask], values[mask], lw=1.4, marker="o", ms=2.5, label=label, zorder=3
            )
            _whiskers(ax, x[mask], values[mask], intervals, mask, line.get_color())
    else:
        ax.plot(x, values, color=LINE_COLOUR, lw=1.6, zorder=3, label="value")
        _whiskers(ax, x, values, intervals, np.ones(len(rows), dtype=bool), LINE_COLOUR)
        colours = [
            _present.BAND_COLOURS[b][2] if b in _present.BAND_COLOURS else LINE_COLOUR
            for b in rows["band"].tolist()
        ]
        ax.scatter(
            x,
            values,
            c=colours,
            s=16 if compact else 24,
            zorder=4,
            edgecolors="white",
            linewidths=0.6,
        )
        if np.isfinite(baseline).any():
            ax.plot(
                x,
                baseline,
                color=BASELINE_COLOUR,
                lw=1.0,
                ls="--",
                zorder=2,
                label="30-day baseline",
            )

    # The y range: the data, and the band edge nearest to it so the bands can be read.
    finite = values[np.isfinite(values)]
    # The whiskers stay in view (rates' intervals are within [0, 1] by construction).
    finite = np.concatenate([finite, *(i[np.isfinite(i)] for i in intervals)])
    if not grouped:
        finite = np.concatenate([finite, baseline[np.isfinite(baseline)]])
    if finite.size == 0:
        ax.text(0.5, 0.5, "no values", transform=ax.transAxes, ha="center", color="#6b7280")
        low, high = 0.0, 1.0
    else:
        low, high = float(finite.min()), float(finite.max())
    edges = _present.band_edges(card, kpi)
    regions = [(r.low, r.high, r.band) for r in _present.band_regions(edges)]
    cuts = sorted({v for lo, hi, _ in regions for v in (lo, hi) if math.isfinite(v)})
    if cuts and finite.size:
        nearest = min(
            cuts, key=lambda c: 0.0 if low <= c <= high else min(abs(c - low), abs(c - high))
        )
        low, high = min(low, nearest), max(high, nearest)
    span = high - low
    pad = 0.08 * span if span > 0 else (abs(high) * 0.1 or 1.0)
    low, high = low - pad, high + pad
    for lo, hi, band in regions:
        a, b = max(lo, low), min(hi, high)
        if a < b:
            colour = _present.BAND_COLOURS[band][2]
            ax.axhspan(a, b, color=colour, alpha=SHADE_ALPHA, lw=0, zorder=0)
    ax.set_ylim(low, high)

    # The x range: the first period's start to the last period's end.
    first = pd.Timestamp(rows["x"].min())
    last_end = pd.Timestamp(rows["x"].max()) + _period_step(card)
    x0, x1 = mdates.date2num(first.to_numpy()), mdates.date2num(last_end.to_numpy())
    if events is not None:
        for event in events.to_dict("records"):
            start, end = _local(event.get("start"), card.tz), _local(event.get("end"), card.tz)
            if start is None:
                continue
            end = end if end is not None and end > start else start + pd.Timedelta(days=1)
            e0, e1 = mdates.date2num(start.to_numpy()), mdates.date2num(end.to_numpy())
            if e1 < x0 or e0 > x1:
                continue
            colour = EVENT_COLOURS.get(str(event.get("kind")), "#6b7280")
            ax.axvspan(max(e0, x0), min(e1, x1), color=colour, alpha=0.12, lw=0, zorder=1)
            ax.text(
                max(e0, x0),
                0.98,
                f" {event.get('kind', '')}",
                transform=ax.get_xaxis_transform(),
                va="top",
                ha="left",
                fontsize=7 if compact else 8,
                color=colour,
                zorder=5,
                clip_on=True,
            )
    ax.set_xlim(x0, x1)
    ax.xaxis_date()
    locator = mdates.AutoDateLocator(minticks=3, maxticks=6 if compact else 9)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.yaxis.set_major_formatter(_y_formatter(unit, kpi))
    ax.tick_params(labelsize=8 if compact else 9)
    ax.grid(axis="y", color="#e5e7eb", lw=0.6, zorder=0)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if grouped and not compact:
        ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))


def _whiskers(
    ax: Axes,
    x: np.ndarray,
    values: np.ndarray,
    intervals: tuple[np.ndarray, np.ndarray],
    mask: np.ndarray,
    colour: Any,
) -> None:
    """Each value's interval (ci_low to ci_high) as a whisker behind its point."""
    low, high = intervals[0][mask], intervals[1][mask]
    shown = np.isfinite(low) & np.isfinite(high) & np.isfinite(values)
    if not shown.any():
        return
    below = np.clip(values[shown] - low[shown], 0, None)
    above = np.clip(high[shown] - values[shown], 0, None)
    ax.errorbar(
        x[shown],
        values[shown],
        yerr=np.vstack([below, above]),
        fmt="none",
        ecolor=colour,
        elinewidth=0.9,
        capsize=2,
        alpha=0.55,
        zorder=2.5,
    )


def _local(value: object, tz: str) -> pd.Timestamp | None:
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    stamp = pd.Timestamp(value)  # type: ignore[arg-type]
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
    return stamp.tz_convert(tz).tz_localize(None)


def _legend_handles(card: Scorecard, events: pd.DataFrame | None, kpis: Sequence[str]) -> list:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list = []
    if not card.group_by:
        handles.append(Line2D([], [], color=LINE_COLOUR, lw=1.6, label="value"))
        handles.append(
            Line2D([], [], color=BASELINE_COLOUR, lw=1.0, ls="--", label="30-day baseline")
        )
    if any(_present.band_edges(card, k) for k in kpis):
        for band in _present.BANDS:
            colour = _present.BAND_COLOURS[band][2]
            handles.append(Patch(color=colour, alpha=0.35, lw=0, label=band))
        grey = _present.BAND_COLOURS[_present.INSUFFICIENT][2]
        handles.append(Line2D([], [], color=grey, marker="o", lw=0, label="insufficient sample"))
    handles.append(Line2D([], [], color=LINE_COLOUR, lw=0.9, alpha=0.55, label="interval"))
    if events is not None:
        for kind in dict.fromkeys(str(k) for k in events["kind"]):
            handles.append(
                Patch(color=EVENT_COLOURS.get(kind, "#6b7280"), alpha=0.3, lw=0, label=kind)
            )
    return handles


def plot_kpi(
    card: Scorecard,
    kpi: str,
    *,
    group: object = None,
    ax: Axes | None = None,
    days: int | None = None,
    partial: bool = False,
) -> Figure:
    """One KPI over the periods of ``card``, with its bands, baseline and events.

    Args:
        card: the scorecard.
        kpi: a KPI id of ``card.kpis``.
        group: with ``group_by``, the group to draw (a value, or a tuple for several
            keys); None draws every group as its own line (without bands per point).
        ax: a matplotlib Axes to draw on; by default a new figure.
        days: only the periods of the last ``days`` days (default: all).
        partial: also draw the latest period while less than half of it is observed
            (by default the chart ends at the report period, as the report does).

    Returns:
        The matplotlib Figure (``ax.figure`` when ``ax`` is given).

    Example:
        >>> import supportkpi as sk
        >>> sample = sk.load_sample()
        >>> card = sk.scorecard(sample["contacts"], sample["orders"], group_by="channel")
        >>> fig = plot_kpi(card, "deflection_rate", group="chat", days=60)
        >>> fig.axes[0].get_title(loc="left")
        'Deflection rate — chat'
        >>> try:
        ...     plot_kpi(card, "no_such_kpi")
        ... except sk.ConfigError as error:
        ...     print(error)
        kpi: 'no_such_kpi' is not in this scorecard; known KPIs: csat_mean, ...
    """
    require_matplotlib()
    _check_kpi(card, kpi)
    table = _window(card, _pick_group(card, _frame(card), group), days, partial)
    if ax is None:
        from matplotlib.figure import Figure

        figure = Figure(figsize=(8, 3.6), layout="constrained")
        ax = figure.add_subplot()
    else:
        figure = cast("Figure", ax.figure)  # the axes' (sub)figure
    events = _events_within(card, table[table["kpi"] == kpi])
    _draw(ax, card, table, kpi, events=events, compact=False)
    if group is not None:
        ax.set_title(f"{_present.kpi_name(kpi)} — {_group_text(group)}", loc="left")
    elif not card.group_by:
        ax.legend(
            handles=_legend_handles(card, events, [kpi]),
            fontsize=8,
            frameon=False,
            loc="upper left",
            bbox_to_anchor=(1.0, 1.0),
        )
    return figure


def _group_text(group: object) -> str:
    parts = group if isinstance(group, tuple) else (group,)
    return _plain(" · ".join(_present.NULL_GROUP if p is None else str(p) for p in parts))


def _plain(text: str) -> str:
    """Text from the data as matplotlib shows it literally: a ``$`` would start mathtext
    (``a$\\foo$b`` fails to render), so every one is escaped, and so are control
    characters (fonts have no glyph for them).

    Example:
        >>> print(_plain("a$b$c"))
        a\\$b\\$c
    """
    return terminal_safe(text).replace("$", r"\$")


def _check_kpi(card: Scorecard, kpi: str) -> None:
    if kpi in card.kpis:
        return
    reason = card.skipped.get(kpi)
    why = f"it was skipped: {reason}" if reason else f"known KPIs: {', '.join(card.kpis)}"
    raise ConfigError(f"kpi: {kpi!r} is not in this scorecard; {why}")


def plot_trends(
    card: Scorecard,
    kpis: Sequence[str] | None = None,
    *,
    days: int = 90,
    group: object = None,
    ncols: int | None = None,
    partial: bool = False,
) -> Figure:
    """Small multiples: several KPIs of ``card`` over the last ``days`` days.

    Args:
        card: the scorecard.
        kpis: KPI ids; default the headline KPIs, seed 000's support-conversion KPIs, then
            the SLA rates and business-time medians (those present in ``card``).
        days: the window, counted back from the latest period.
        group: with ``group_by``, one group (as for :func:`plot_kpi`); None draws every group.
        ncols: panels per row (default 2, or 1 for a single KPI).
        partial: also draw a latest period less than half observed (see :func:`plot_kpi`).

    Returns:
        The matplotlib Figure, one panel per KPI and a shared legend below.

    Example:
        >>> import supportkpi as sk
        >>> sample = sk.load_sample()
        >>> card = sk.scorecard(sample["contacts"], sample["orders"], sessions=sample["sessions"])
        >>> fig = plot_trends(card, days=90)
        >>> [ax.get_title(loc="left") for ax in fig.axes][:4]
        ['CSAT (mean)', 'Deflection rate', 'First contact resolution', 'Tickets per order']
    """
    require_matplotlib()
    from matplotlib.figure import Figure

    if kpis is None:
        kpis = _present.featured_kpis(card)
    kpis = list(kpis)
    if not kpis:
        raise ConfigError("kpis: no KPI to plot")
    for kpi in kpis:
        _check_kpi(card, kpi)
    table = _window(card, _pick_group(card, _frame(card), group), days, partial)
    columns = ncols or (1 if len(kpis) == 1 else 2)
    rows = math.ceil(len(kpis) / columns)
    figure = Figure(figsize=(5.6 * columns, 2.3 * rows + 0.7), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False, sharex=True)
    events = _events_within(card, table)
    for i, kpi in enumerate(kpis):
        _draw(axes.flat[i], card, table, kpi, events=events, compact=True)
    for ax in list(axes.flat)[len(kpis) :]:
        ax.remove()
    # sharex hides the tick labels of all but the bottom row; a hidden bottom panel would
    # take its labels with it, so show them on the last visible panel of each column.
    for column in range(columns):
        visible = [r for r in range(rows) if r * columns + column < len(kpis)]
        if visible:
            axes[visible[-1], column].xaxis.set_tick_params(labelbottom=True)
    handles = _legend_handles(card, events, kpis)
    if card.group_by:
        handles = list(axes.flat[0].get_legend_handles_labels()[0]) + handles
    if handles:
        figure.legend(
            handles=handles,
            loc="outside lower center",
            ncols=min(len(handles), 8),
            fontsize=8,
            frameon=False,
        )
    return figure
