"""The presentation model: what the HTML, terminal and plot views of a scorecard share.

Catalogue lookups (names, sections, short names), value formatting, periods (the report
period and its neighbours), bands (the regions the engine exports, in words) and the
scorecard's tables with their bands. The views (:mod:`supportkpi._report`,
:mod:`supportkpi._plot`, :mod:`supportkpi.cli`) depend on this module, never on each other's
internals.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

import pandas as pd

from ._supportkpi import ConfigError, band_regions_json, kpi_catalog_json

if TYPE_CHECKING:
    from ._card import Scorecard

BANDS = ("healthy", "watch", "intervention")
#: The band of a value on fewer observations than its band's min_sample (SPEC §10.2).
INSUFFICIENT = "insufficient"
# band -> (cell background, cell text, accent for borders, chart points and shading)
BAND_COLOURS = {
    "healthy": ("#dcfce7", "#14532d", "#16a34a"),
    "watch": ("#fef3c7", "#713f12", "#d97706"),
    "intervention": ("#fee2e2", "#7f1d1d", "#dc2626"),
    INSUFFICIENT: ("#f3f4f6", "#6b7280", "#9ca3af"),
}
BAND_MARK = {"healthy": "ok", "watch": "!", "intervention": "!!", INSUFFICIENT: "?"}
# Money is in the currency of the inputs (docs/metrics.md), which the data do not name: no
# symbol unless the caller gives one (``currency="€"``), set for one rendering at a time.
CURRENCY: ContextVar[str] = ContextVar("supportkpi_currency", default="")
MISSING = "n/a"
NULL_GROUP = "(null)"

# Columns of card.bands() (docs/semantics.md), after the period and group columns.
BANDS_TABLE_COLUMNS = (
    "kpi",
    "value",
    "band",
    "owner",
    "baseline",
    "delta_vs_baseline",
    "expected",
    "n",
    "ci_low",
    "ci_high",
    "band_certain",
    "p_value",
)
# What the bands add to the long table's rows (which have kpi, value and the interval).
BAND_COLUMNS = tuple(
    c for c in BANDS_TABLE_COLUMNS if c not in ("kpi", "value", "ci_low", "ci_high")
)

PERIOD_NOUN = {"day": "day", "week": "week", "month": "month"}
PERIOD_ADJECTIVE = {"day": "Daily", "week": "Weekly", "month": "Monthly"}
PERIOD_FORMAT = {"day": "%Y-%m-%d", "week": "%Y-%m-%d", "month": "%Y-%m"}
PERIOD_STEP = {
    "day": pd.DateOffset(days=1),
    "week": pd.DateOffset(days=7),
    "month": pd.DateOffset(months=1),
}
SECTION_TITLES = (
    "Headline KPIs",
    "Diagnostic: support-conversion scorecard",
    "Service levels: business hours and SLAs",
    "Diagnostic: all other KPIs",
)
#: How many service-level KPIs (the SLA rates and the business medians) are featured.
FEATURED_SERVICE_LEVELS = 4


# --- the catalogue --------------------------------------------------------------------


@cache
def catalog() -> dict[str, dict[str, Any]]:
    """The engine's KPI catalogue by id (what :func:`supportkpi.kpi_catalog` shows)."""
    return {entry["id"]: entry for entry in json.loads(kpi_catalog_json())}


def catalog_entry(kpi: str) -> dict[str, Any]:
    """The catalogue entry of ``kpi`` (a bare one for an unknown id)."""
    return catalog().get(kpi, {"id": kpi, "name": kpi, "unit": "", "definition": ""})


def kpi_name(kpi: str) -> str:
    """The name of ``kpi`` for people."""
    return str(catalog_entry(kpi).get("name") or kpi)


def short_name(kpi: str) -> str:
    """The catalogue's name of ``kpi`` for narrow tables."""
    return str(catalog_entry(kpi).get("short_name") or kpi_name(kpi))


def section_kpis(section: str) -> list[str]:
    """The catalogue's KPIs of one report section, in the section's order.

    Example:
        >>> section_kpis("headline")
        ['csat_mean', 'deflection_rate', 'fcr_rate', 'tickets_per_order']
    """
    entries = [e for e in catalog().values() if e.get("section") == section]
    return [e["id"] for e in sorted(entries, key=lambda e: e.get("section_rank", 0))]


def demo_kpis() -> list[str]:
    """The KPIs the command line demo shows, in catalogue order."""
    return [kpi for kpi, entry in catalog().items() if entry.get("demo")]


def kpi_sections(card: Scorecard) -> list[tuple[str, list[str]]]:
    """The KPIs of ``card`` in display order: headline, seed 000's scorecard, the service
    levels (with business calendars, SPEC §9), the rest.

    Example:
        >>> import supportkpi as sk
        >>> sample = sk.load_sample()
        >>> card = sk.scorecard(sample["contacts"], sample["orders"])
        >>> [(title, kpis[:2]) for title, kpis in kpi_sections(card)][:2]
        [('Headline KPIs', ['csat_mean', 'deflection_rate']), \
('Diagnostic: support-conversion scorecard', ['self_service_resolution_rate', 'recovery_rate_7d'])]
    """
    present = list(card.kpis)
    headline = [k for k in section_kpis("headline") if k in present]
    scorecard = [k for k in section_kpis("support_conversion") if k in present]
    service = [k for k in section_kpis("service_levels") if k in present]
    shown = {*headline, *scorecard, *service}
    rest = [k for k in present if k not in shown]
    sections = (headline, scorecard, service, rest)
    return [(title, kpis) for title, kpis in zip(SECTION_TITLES, sections) if kpis]


def featured_kpis(card: Scorecard) -> list[str]:
    """The KPIs the terminal view shows and the report and ``plot_trends`` chart: the
    headline, seed 000's scorecard and, with business calendars, the SLA rates and the
    business-time medians; every KPI when the card has none of those.

    Example:
        >>> import supportkpi as sk
        >>> sample = sk.load_sample()
        >>> featured_kpis(sk.scorecard(sample["contacts"], sample["orders"]))[:3]
        ['csat_mean', 'deflection_rate', 'fcr_rate']
    """
    present = set(card.kpis)
    service = [k for k in section_kpis("service_levels") if k in present]
    featured = [
        *(k for k in section_kpis("headline") if k in present),
        *(k for k in section_kpis("support_conversion") if k in present),
        *service[:FEATURED_SERVICE_LEVELS],
    ]
    return featured or list(card.kpis)


# --- values ---------------------------------------------------------------------------


def is_missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return math.isnan(value)  # type: ignore[arg-type]
    except TypeError:
        return False


def as_float(value: object) -> float | None:
    return None if is_missing(value) else float(value)  # type: ignore[arg-type]


@contextmanager
def currency_symbol(symbol: str | None) -> Iterator[None]:
    """Money is shown with ``symbol`` (e.g. ``"€"``) inside this block; None keeps the current.

    Example:
        >>> with currency_symbol("€"):
        ...     format_value(9.5, "currency")
        '€9.50'
        >>> format_value(9.5, "currency")
        '9.50'
    """
    if symbol is None:
        yield
        return
    token = CURRENCY.set(symbol)
    try:
        yield
    finally:
        CURRENCY.reset(token)


def format_value(value: object, unit: str, kpi: str | None = None) -> str:
    """A KPI value for people: rates as percent, durations with their unit, money with cents.

    ``kpi`` ids ending in ``_vs_baseline`` are signed changes (``+12.0%``). A null value is
    ``n/a``. Money carries no symbol (the inputs' currency is not known) unless one is set
    with :func:`currency_symbol`.

    Example:
        >>> format_value(0.0158, "rate"), format_value(4.5231, "score"), format_value(26.7, "score")
        ('1.6%', '4.52', '26.7')
        >>> format_value(17.55, "hours"), format_value(1469, "count"), format_value(0.4486, "ratio")
        ('17.6 h', '1,469', '0.449')
        >>> format_value(0.12, "rate", "cost_per_resolved_vs_baseline"), format_value(None, "rate")
        ('+12.0%', 'n/a')
        >>> format_value(-1103.99, "currency")
        '-1,103.99'
    """
    number = as_float(value)
    if number is None:
        return MISSING
    if (text := non_finite(number)) is not None:
        return text
    if unit == "rate":
        if kpi is not None and kpi.endswith("_vs_baseline"):
            return f"{100 * number:+.1f}%"
        return f"{100 * number:.1f}%"
    if unit == "currency":
        sign = "-" if number < 0 else ""
        return f"{sign}{CURRENCY.get()}{abs(number):,.2f}"
    if unit == "minutes":
        return f"{number:,.1f} min"
    if unit == "hours":
        return f"{number:,.1f} h"
    if unit == "count":
        return f"{number:,.0f}"
    if unit == "ratio":
        return f"{number:,.3f}"
    if unit == "score":
        return f"{number:.2f}" if abs(number) < 10 else f"{number:.1f}"
    return f"{number:,.4g}"


def format_delta(delta: object, unit: str) -> str:
    """A change of a KPI value: percentage points for rates, the unit's own otherwise.

    Example:
        >>> format_delta(0.021, "rate"), format_delta(-0.3, "score"), format_delta(2.5, "hours")
        ('+2.1 pp', '-0.30', '+2.5 h')
    """
    number = as_float(delta)
    if number is None:
        return MISSING
    if (text := non_finite(number)) is not None:
        return text
    if unit == "rate":
        return f"{100 * number:+.1f} pp"
    if unit == "currency":
        sign = "-" if number < 0 else "+"
        return f"{sign}{CURRENCY.get()}{abs(number):,.2f}"
    if unit == "minutes":
        return f"{number:+,.1f} min"
    if unit == "hours":
        return f"{number:+,.1f} h"
    if unit == "count":
        return f"{number:+,.0f}"
    if unit == "ratio":
        return f"{number:+,.3f}"
    return f"{number:+.2f}"


def non_finite(number: float) -> str | None:
    """How an infinite value reads (a sum of revenue can overflow to inf); None if finite."""
    if math.isfinite(number):
        return None
    return "∞" if number > 0 else "-∞"


def format_number(value: object) -> str:
    number = as_float(value)
    if number is None:
        return MISSING
    if (text := non_finite(number)) is not None:
        return text
    if number == int(number) and abs(number) < 1e15:
        return f"{int(number):,}"
    return f"{number:,.2f}"


# --- bands ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Region:
    """One value range of a band, as the engine exports it (``low``/``high`` ±inf when
    unbounded; an edge belongs to the range that includes it)."""

    band: str
    low: float
    high: float
    includes_low: bool
    includes_high: bool


@lru_cache(maxsize=256)
def _regions_of(band_json: str) -> tuple[Region, ...]:
    regions = json.loads(band_regions_json(band_json))
    return tuple(
        Region(
            band=r["band"],
            low=-math.inf if r["low"] is None else float(r["low"]),
            high=math.inf if r["high"] is None else float(r["high"]),
            includes_low=bool(r["includes_low"]),
            includes_high=bool(r["includes_high"]),
        )
        for r in regions
    )


def band_regions(band: Mapping[str, Any] | None) -> tuple[Region, ...]:
    """The value ranges of a band (a catalogue entry's ``band`` or a config's), ascending,
    from the engine's band model: what the report colours, the plots shade and the docs
    describe.

    Example:
        >>> [(r.band, r.low, r.high) for r in band_regions(
        ...     {"shape": "higher_is_better", "healthy_min": 4.3, "watch_min": 4.0})]
        [('intervention', -inf, 4.0), ('watch', 4.0, 4.3), ('healthy', 4.3, inf)]
    """
    if not band:
        return ()
    return _regions_of(json.dumps(dict(band), sort_keys=True))


def describe_band(
    band: Mapping[str, Any] | None,
    unit: str,
    kpi: str | None = None,
    *,
    number: Callable[[float], str] | None = None,
    separator: str = " · ",
) -> str:
    """The band in words, from its regions; ``number`` formats an edge (by default as a
    value of ``unit``).

    Example:
        >>> import supportkpi as sk
        >>> cat = sk.kpi_catalog().set_index("id")
        >>> describe_band(cat.band["csat_mean"], "score")
        'healthy ≥ 4.30 · watch 4.00–4.30 · intervention < 4.00'
        >>> describe_band(cat.band["escalation_rate"], "rate")
        'healthy 20.0%–40.0% · watch < 20.0% or 40.0%–50.0% · intervention > 50.0%'
    """
    regions = band_regions(band)
    if not regions:
        return ""

    def fmt(value: float) -> str:
        return number(value) if number is not None else format_value(value, unit, kpi)

    def span(r: Region) -> str:
        if math.isinf(r.low):
            return f"{'≤' if r.includes_high else '<'} {fmt(r.high)}"
        if math.isinf(r.high):
            return f"{'≥' if r.includes_low else '>'} {fmt(r.low)}"
        return f"{fmt(r.low)}–{fmt(r.high)}"

    words = []
    for name in BANDS:
        spans = [span(r) for r in regions if r.band == name]
        if spans:
            words.append(f"{name} {' or '.join(spans)}")
    return separator.join(words)


def band_edges(card: Scorecard, kpi: str) -> dict[str, Any] | None:
    """The band edges of ``kpi`` in effect for ``card``: its configuration's, else the catalogue's.

    Example:
        >>> import supportkpi as sk
        >>> sample = sk.load_sample()
        >>> card = sk.scorecard(sample["contacts"], sample["orders"])
        >>> band_edges(card, "tickets_per_order")
        {'shape': 'lower_is_better', 'healthy_max': 0.1, 'watch_max': 0.15, 'min_sample': 30}
    """
    bands = card.config.to_dict().get("bands", {})
    if isinstance(bands.get(kpi), Mapping):
        # The config's band also names its owner; the edges alone are returned here.
        return {k: v for k, v in bands[kpi].items() if k != "owner"}
    band = catalog_entry(kpi).get("band")
    return dict(band) if isinstance(band, Mapping) else None


def bands_frame(card: Scorecard) -> pd.DataFrame:
    """``card.bands()``.

    Columns: period_start, the group columns, kpi, value, band, owner, baseline,
    delta_vs_baseline, expected.

    Example:
        >>> import supportkpi as sk
        >>> sample = sk.load_sample()
        >>> card = sk.scorecard(sample["contacts"], sample["orders"])
        >>> b = bands_frame(card)
        >>> sorted(set(b.band.dropna())) == ["healthy", "insufficient", "intervention", "watch"]
        True
    """
    return card.bands()


def diagnostics_frame(card: Scorecard) -> pd.DataFrame:
    """``card.diagnose()``.

    Example:
        >>> import supportkpi as sk
        >>> sample = sk.load_sample()
        >>> card = sk.scorecard(sample["contacts"], sample["orders"])
        >>> d = diagnostics_frame(card)
        >>> {"rule", "action", "owner", "evidence"} <= set(d.columns)
        True
    """
    return card.diagnose()


def events_frame(card: Scorecard) -> pd.DataFrame | None:
    """``card.events`` (name, kind, start, end) or None."""
    events = getattr(card, "events", None)
    if events is None:
        return None
    events = events if isinstance(events, pd.DataFrame) else pd.DataFrame(events)
    return events if len(events) else None


def period_ints(series: pd.Series) -> pd.Series:
    """Period starts as UTC microseconds: a join key whatever the time zone or unit."""
    stamps = pd.to_datetime(series, utc=True)
    return stamps.dt.as_unit("us").astype("int64")


def stamp_int(stamp: pd.Timestamp) -> int:
    return int(pd.Timestamp(stamp).as_unit("us").value // 1000)


def scorecard_table(card: Scorecard) -> pd.DataFrame:
    """The long table with each row's band: what the command line writes.

    Columns: period_start, the group columns, kpi, value, numerator, denominator, unit,
    ci_low, ci_high, then band, owner, baseline, delta_vs_baseline, expected, n,
    band_certain, p_value (null for KPIs without a band).

    Example:
        >>> import supportkpi as sk
        >>> sample = sk.load_sample()
        >>> card = sk.scorecard(sample["contacts"], sample["orders"])
        >>> t = scorecard_table(card)
        >>> list(t.columns)  # doctest: +NORMALIZE_WHITESPACE
        ['period_start', 'kpi', 'value', 'numerator', 'denominator', 'unit', 'ci_low', 'ci_high',
         'band', 'owner', 'baseline', 'delta_vs_baseline', 'expected', 'n', 'band_certain',
         'p_value']
        >>> t.loc[t.kpi == "tickets_per_order", "band"].iloc[-1]
        'intervention'
    """
    long = card.to_pandas()
    keys = list(card.group_by)
    bands = bands_frame(card)
    if "kpi" not in bands.columns:  # no banded KPI at all
        bands = pd.DataFrame(columns=["period_start", *keys, "kpi", *BAND_COLUMNS])
        bands["period_start"] = pd.to_datetime(bands["period_start"], utc=True)
    wanted = [*keys, "kpi", *[c for c in BAND_COLUMNS if c in bands.columns]]
    right = bands[wanted].copy()
    right["_period"] = period_ints(bands["period_start"])
    left = long.copy()
    left["_period"] = period_ints(long["period_start"])
    merged = left.merge(right, on=["_period", *keys, "kpi"], how="left", validate="one_to_one")
    for column in BAND_COLUMNS:
        if column not in merged.columns:
            merged[column] = None
    merged["expected"] = merged["expected"].astype("boolean")
    merged["band_certain"] = merged["band_certain"].astype("boolean")
    return merged.drop(columns="_period")


# --- periods --------------------------------------------------------------------------


def period_starts(card: Scorecard) -> list[pd.Timestamp]:
    """The period starts of ``card``, oldest first, in the card's time zone."""
    column = card.to_arrow().column("period_start")
    if len(column) == 0:
        return []
    starts = pd.Series(column.unique().to_pandas()).drop_duplicates().sort_values()
    return [pd.Timestamp(s).tz_convert(card.tz) for s in starts]


def period_end(card: Scorecard, start: pd.Timestamp) -> pd.Timestamp:
    """The start of the period after ``start`` (local calendar arithmetic in ``card.tz``)."""
    later = [s for s in period_starts(card) if s > start]
    if later:
        return later[0]
    try:
        return pd.Timestamp(start) + PERIOD_STEP[card.by]
    except (ValueError, OverflowError):  # a DST gap at midnight
        days = {"day": 1, "week": 7, "month": 31}[card.by]
        return pd.Timestamp(start) + pd.Timedelta(days=days)


def observed_share(card: Scorecard, start: pd.Timestamp) -> float:
    """How much of the period starting at ``start`` lies before ``card.as_of`` (0 to 1)."""
    if card.as_of is None:
        return 1.0
    end = period_end(card, start)
    total = (end - start).total_seconds()
    seen = (pd.Timestamp(card.as_of) - start).total_seconds()
    return 1.0 if total <= 0 else min(max(seen / total, 0.0), 1.0)


def report_period(card: Scorecard, period: object = None) -> pd.Timestamp | None:
    """The period the report leads with (see the module docstring), as its start.

    ``period`` picks one: a date or timestamp inside it (read in ``card.tz``), or None for
    the default rule. An unknown period is a :class:`~supportkpi.ConfigError`.

    Example:
        >>> import supportkpi as sk
        >>> sample = sk.load_sample()
        >>> card = sk.scorecard(sample["contacts"], sample["orders"], tz="Europe/Berlin")
        >>> latest = period_starts(card)[-1]
        >>> str(latest.date()), round(observed_share(card, latest), 3)
        ('2024-12-09', 0.004)
        >>> str(report_period(card).date()), str(report_period(card, "2024-11-27").date())
        ('2024-12-02', '2024-11-25')
    """
    starts = period_starts(card)
    if not starts:
        return None
    if period is None:
        latest = starts[-1]
        if len(starts) > 1 and observed_share(card, latest) < 0.5:
            return starts[-2]
        return latest
    try:
        stamp = pd.Timestamp(period)  # type: ignore[arg-type]
    except (TypeError, ValueError) as error:
        raise ConfigError(f"period: not a date: {period!r}") from error
    stamp = stamp.tz_localize(card.tz) if stamp.tzinfo is None else stamp.tz_convert(card.tz)
    for start in reversed(starts):
        if start <= stamp < period_end(card, start):
            return start
    first, last = label_period(card, starts[0]), label_period(card, starts[-1])
    raise ConfigError(f"period: {period!s} is outside the scorecard ({first} to {last})")


def label_period(card: Scorecard, start: pd.Timestamp) -> str:
    return pd.Timestamp(start).strftime(PERIOD_FORMAT.get(card.by, "%Y-%m-%d"))


def period_phrase(card: Scorecard, start: pd.Timestamp) -> str:
    noun = {"week": "week of", "day": "day", "month": "month"}.get(card.by, card.by)
    return f"{noun} {label_period(card, start)}"


def format_instant(instant: object, tz: str) -> str:
    if instant is None:
        return MISSING
    return pd.Timestamp(instant).tz_convert(tz).strftime("%Y-%m-%d %H:%M %Z")


def group_value(value: object) -> object:
    return None if is_missing(value) else value


def group_label(card: Scorecard, group: tuple[Any, ...]) -> str:
    parts = [NULL_GROUP if value is None else str(value) for value in group]
    return " · ".join(parts)
