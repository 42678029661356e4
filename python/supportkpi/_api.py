"""The public functions: ``scorecard``, ``enrich_contacts``, ``kpi_catalog``."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any, TypeAlias

import pandas as pd
import pyarrow as pa

from . import _supportkpi as _native
from ._arrow import (
    ID_COLUMNS,
    ParquetColumns,
    as_arrow_table,
    as_table_source,
    id_source_names,
    split_renaming,
)
from ._config import Config, config_document
from ._supportkpi import ConfigError

TimeLike: TypeAlias = dt.datetime | pd.Timestamp | str
WindowLike: TypeAlias = dt.timedelta | pd.Timedelta | str


def _micros(value: TimeLike, name: str) -> int:
    """A point in time as UTC microseconds; naive values are read as UTC."""
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as error:
        raise ConfigError(f"{name}: not a point in time: {value!r}") from error
    if stamp is pd.NaT:
        raise ConfigError(f"{name}: must not be NaT")
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return int(stamp.value // 1000)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([dhms])\s*$")
_UNIT_MICROS = {"d": 86_400_000_000, "h": 3_600_000_000, "m": 60_000_000, "s": 1_000_000}


def _window(value: WindowLike, name: str) -> int:
    """A duration in microseconds: a timedelta, or text such as "7d", "48h" (the config's
    own format), or anything pandas reads as a Timedelta."""
    if isinstance(value, str) and (match := _DURATION.match(value)):
        micros = round(float(match.group(1)) * _UNIT_MICROS[match.group(2)])
    else:
        try:
            delta = pd.Timedelta(value)
        except (ValueError, TypeError, OverflowError) as error:
            raise ConfigError(f"{name}: not a duration: {value!r}") from error
        if delta is pd.NaT:
            raise ConfigError(f"{name}: must not be NaT")
        micros = int(delta.value // 1000)
    # The core reads a 64-bit count and bounds windows itself (at most 100 years, with its
    # message); a longer one must reach it as too long, not as an unreadable number.
    return max(-_I64_MAX, min(micros, _I64_MAX))


_I64_MAX = 2**63 - 1


def _lifespan_days(value: float) -> float:
    """clv_lifespan_days as a finite float (JSON has no inf or NaN; the core bounds it)."""
    try:
        days = float(value)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"clv_lifespan_days: not a number: {value!r}") from error
    if not math.isfinite(days):
        raise ConfigError(f"clv_lifespan_days: must be a finite number of days, not {value!r}")
    return days


def _group_list(group_by: str | Sequence[str] | None) -> list[str]:
    if group_by is None:
        return []
    if isinstance(group_by, str):
        return [group_by]
    return [str(g) for g in group_by]


@cache
def _catalog_entries() -> tuple[dict[str, Any], ...]:
    return tuple(json.loads(_native.kpi_catalog_json()))


def kpi_catalog() -> pd.DataFrame:
    """Every KPI the library computes, from the one catalogue the engine reads.

    Columns: id, name, definition, unit, direction, requires, headline, band, owner, source.

    Example:
        >>> import supportkpi as sk
        >>> cat = sk.kpi_catalog()
        >>> list(cat[cat.headline].id)
        ['csat_mean', 'deflection_rate', 'fcr_rate', 'tickets_per_order']
    """
    return pd.DataFrame([dict(e) for e in _catalog_entries()])


_BAND_COLUMNS = [
    "kpi",
    "value",
    "band",
    "owner",
    "baseline",
    "delta_vs_baseline",
    "expected",
]
_DIAGNOSE_COLUMNS = [
    "rule",
    "symptom",
    "likely_cause",
    "action",
    "validation_metric",
    "owner",
    "evidence",
]


class Scorecard:
    """The scorecard: one row per period × group × KPI, with numerator and denominator.

    Build it with :func:`supportkpi.scorecard`. ``to_pandas()`` gives the long table,
    ``wide()`` one column per KPI, ``skipped`` the KPIs left out for missing inputs.

    Example:
        >>> import supportkpi as sk
        >>> s = sk.load_sample()
        >>> card = sk.scorecard(s["contacts"], s["orders"], sessions=s["sessions"])
        >>> card.by, card.tz, len(card.kpis) > 40, card.skipped
        ('week', 'UTC', True, {'volume_share': 'needs group_by'})
    """

    def __init__(
        self,
        table: pa.Table,
        skipped: Mapping[str, str],
        as_of: pd.Timestamp | None,
        by: str,
        tz: str,
        group_by: Sequence[str],
        bands: pa.Table | None = None,
        diagnostics: pa.Table | None = None,
        events: pd.DataFrame | None = None,
        row_audit: Sequence[Mapping[str, Any]] = (),
        config: Config | None = None,
    ) -> None:
        self._table = table
        self._bands = bands
        self._diagnostics = diagnostics
        self.skipped: dict[str, str] = dict(skipped)
        self.as_of = as_of
        self.by = by
        self.tz = tz
        self.group_by = list(group_by)
        self.events = events
        self._row_audit = [dict(a) for a in row_audit]
        #: The configuration the card was computed with (defaults merged in).
        self.config = config if config is not None else Config()

    @property
    def row_audit(self) -> pd.DataFrame:
        """Rows read, used and dropped per input table.

        Columns: table, rows_read, rows_used, rows_dropped, dropped_by_reason (a dict
        ``{"column: rule": rows}``; each dropped row counts once, under the first rule it
        broke). Rows are dropped only with ``on_invalid="drop"``; otherwise a bad row raises.

        Example:
            >>> import supportkpi as sk
            >>> s = sk.load_sample()
            >>> contacts = s["contacts"].copy()
            >>> contacts.loc[0, "csat"] = 9.0  # off the 1-5 scale
            >>> card = sk.scorecard(contacts, s["orders"], on_invalid="drop")
            >>> audit = card.row_audit.set_index("table")
            >>> int(audit.loc["contacts", "rows_dropped"])
            1
            >>> audit.loc["contacts", "dropped_by_reason"]
            {'csat: value outside the scale [1, 5]': 1}
        """
        return pd.DataFrame(
            [
                {
                    "table": a["table"],
                    "rows_read": a["rows_read"],
                    "rows_used": a["rows_used"],
                    "rows_dropped": a["rows_read"] - a["rows_used"],
                    "dropped_by_reason": dict(a["dropped"]),
                }
                for a in self._row_audit
            ],
            columns=["table", "rows_read", "rows_used", "rows_dropped", "dropped_by_reason"],
        )

    def bands(self) -> pd.DataFrame:
        """Band of every banded KPI per period (× group), with owner and baseline.

        Columns: period_start, group columns, kpi, value, band (healthy / watch /
        intervention, null when the value is null), owner, baseline (the KPI over the
        baseline window before the period), delta_vs_baseline, expected (the period overlaps
        a ``peak`` event, so a band change there needs no intervention).

        Example:
            >>> import supportkpi as sk
            >>> s = sk.load_sample()
            >>> card = sk.scorecard(s["contacts"], s["orders"], events=s["events"])
            >>> b = card.bands()
            >>> row = b[(b.kpi == "csat_mean") & (b.period_start == "2024-11-25")].iloc[0]
            >>> row.band, row.owner, bool(row.expected)
            ('intervention', 'support lead', True)
        """
        if self._bands is None:
            return pd.DataFrame(columns=["period_start", *self.group_by, *_BAND_COLUMNS])
        return self._bands.to_pandas()

    def diagnose(self) -> pd.DataFrame:
        """The diagnostic rules that fired, per period (× group), with their evidence.

        Columns: period_start, group columns, rule, symptom, likely_cause, action,
        validation_metric, owner, evidence (a dict of the values that fired the rule).

        Example:
            >>> import supportkpi as sk
            >>> s = sk.load_sample()
            >>> card = sk.scorecard(s["contacts"], s["orders"], events=s["events"])
            >>> d = card.diagnose()
            >>> fired = d[d.rule == "wismo_after_launch"].iloc[0]
            >>> fired.evidence["launch_event"], fired.validation_metric
            ('Autumn collection launch', 'wismo_share')
        """
        if self._diagnostics is None:
            return pd.DataFrame(columns=["period_start", *self.group_by, *_DIAGNOSE_COLUMNS])
        frame = self._diagnostics.to_pandas()
        frame["evidence"] = [json.loads(e) for e in frame["evidence"]]
        return frame

    def to_arrow(self) -> pa.Table:
        """The long table as a pyarrow Table.

        Example:
            >>> import supportkpi as sk
            >>> s = sk.load_sample()
            >>> sk.scorecard(s["contacts"], s["orders"]).to_arrow().column_names
            ['period_start', 'kpi', 'value', 'numerator', 'denominator', 'unit']
        """
        return self._table

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        """Exports the long table through the Arrow PyCapsule interface."""
        return self._table.__arrow_c_stream__(requested_schema)

    def to_pandas(self) -> pd.DataFrame:
        """The long table: period_start, group columns, kpi, value, numerator, denominator, unit.

        Example:
            >>> import supportkpi as sk
            >>> s = sk.load_sample()
            >>> long = sk.scorecard(s["contacts"], s["orders"], group_by="channel").to_pandas()
            >>> list(long.columns)
            ['period_start', 'channel', 'kpi', 'value', 'numerator', 'denominator', 'unit']
        """
        return self._table.to_pandas()

    @property
    def kpis(self) -> list[str]:
        """The KPI ids present, in catalogue order.

        Example:
            >>> import supportkpi as sk
            >>> s = sk.load_sample()
            >>> sk.scorecard(s["contacts"], s["orders"]).kpis[:4]
            ['csat_mean', 'deflection_rate', 'fcr_rate', 'tickets_per_order']
        """
        present = set(self._table.column("kpi").to_pylist())
        return [e["id"] for e in _catalog_entries() if e["id"] in present]

    def wide(self) -> pd.DataFrame:
        """One row per period (× group), one column per KPI value, in catalogue order.

        Example:
            >>> import supportkpi as sk
            >>> s = sk.load_sample()
            >>> wide = sk.scorecard(s["contacts"], s["orders"], by="month").wide()
            >>> wide.shape[0], round(float(wide["tickets_per_order"].iloc[0]), 3)
            (7, 0.452)
        """
        long = self.to_pandas()
        keys = ["period_start", *self.group_by]
        if long.empty:
            return pd.DataFrame(columns=[*keys, *self.kpis]).set_index(keys)
        # unstack keeps null group keys, which pivot would drop.
        wide = long.set_index([*keys, "kpi"])["value"].unstack("kpi")
        wide = wide[self.kpis]
        wide.columns.name = None
        # unstack sorts the index; restore the engine's order (periods, then groups in
        # order of first appearance).
        order = long.drop_duplicates(keys).set_index(keys).index
        return wide.reindex(order)

    # The views import on first use: `import supportkpi` loads no report or plotting code.

    def _repr_html_(self, *, periods: int = 6) -> str:
        """The notebook table (see :func:`supportkpi._report.scorecard_html`)."""
        from ._report import scorecard_html

        return scorecard_html(self, periods=periods)

    def __repr__(self) -> str:
        """The terminal view (see :func:`supportkpi._report.terminal_repr`)."""
        from ._report import terminal_repr

        return terminal_repr(self)

    def plot(
        self,
        kpi: str,
        *,
        group: object = None,
        ax: Any = None,
        days: int | None = None,
        partial: bool = False,
    ) -> Any:
        """One KPI over time with its bands (see :func:`supportkpi._plot.plot_kpi`).

        Example:
            >>> import supportkpi as sk
            >>> sample = sk.load_sample()
            >>> card = sk.scorecard(sample["contacts"], sample["orders"])
            >>> card.plot("fcr_rate", days=60).axes[0].get_title(loc="left")
            'First contact resolution'
        """
        from ._plot import plot_kpi

        return plot_kpi(self, kpi, group=group, ax=ax, days=days, partial=partial)

    def plot_trends(
        self,
        kpis: Sequence[str] | None = None,
        *,
        days: int = 90,
        group: object = None,
        ncols: int | None = None,
        partial: bool = False,
    ) -> Any:
        """Small multiples of KPIs over time (see :func:`supportkpi._plot.plot_trends`).

        Example:
            >>> import supportkpi as sk
            >>> sample = sk.load_sample()
            >>> card = sk.scorecard(sample["contacts"], sample["orders"])
            >>> len(card.plot_trends(["csat_mean", "fcr_rate"], days=60).axes)
            2
        """
        from ._plot import plot_trends

        return plot_trends(self, kpis, days=days, group=group, ncols=ncols, partial=partial)

    def to_html(
        self,
        path: str | os.PathLike[str],
        *,
        days: int = 90,
        period: object = None,
        title: str | None = None,
        currency: str | None = None,
    ) -> Path:
        """The standalone HTML report (see :func:`supportkpi._report.write_html_report`).

        Example:
            >>> import pathlib, tempfile, supportkpi as sk
            >>> sample = sk.load_sample()
            >>> card = sk.scorecard(sample["contacts"], sample["orders"])
            >>> with tempfile.TemporaryDirectory() as tmp:
            ...     card.to_html(pathlib.Path(tmp) / "report.html", days=28).stat().st_size > 10_000
            True
        """
        from ._report import write_html_report

        return write_html_report(
            self, Path(path), days=days, period=period, title=title, currency=currency
        )


ConfigLike = Config | Mapping[str, Any] | str | os.PathLike[str] | None

_NULLABLE_INTEGERS = {
    pa.int8(): pd.Int8Dtype(),
    pa.int16(): pd.Int16Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.uint8(): pd.UInt8Dtype(),
    pa.uint16(): pd.UInt16Dtype(),
    pa.uint32(): pd.UInt32Dtype(),
    pa.uint64(): pd.UInt64Dtype(),
}

_NON_NULL_BOOL = (
    "resolved_without_human",
    "recovered_7d",
    "recovery_mature",
    "repeat_14d",
    "repeat_mature",
    "recontact_mature",
    "preventable",
)


def _timestamp(micros: int | None) -> pd.Timestamp | None:
    return None if micros is None else pd.Timestamp(micros, unit="us", tz="UTC")


def _view_options(
    by: str,
    tz: str,
    groups: list[str],
    repurchase_window: WindowLike | None,
    baseline_window: WindowLike | None,
    baseline_range: tuple[TimeLike, TimeLike] | None,
    clv_lifespan_days: float,
    kpis: str | Sequence[str] | None = None,
) -> dict[str, Any]:
    """The options of a view (period, zone, grouping, cohort, baseline and the KPIs shown),
    as the core reads them."""
    view: dict[str, Any] = {
        "by": by,
        "tz": tz,
        "group_by": groups,
        "clv_lifespan_days": _lifespan_days(clv_lifespan_days),
    }
    if kpis is not None:
        view["kpis"] = _group_list(kpis)
    for key, value in (
        ("repurchase_window", repurchase_window),
        ("baseline_window", baseline_window),
    ):
        if value is not None:
            view[key] = _window(value, key)
    if baseline_range is not None:
        view["baseline_range"] = [
            _micros(baseline_range[0], "baseline_range"),
            _micros(baseline_range[1], "baseline_range"),
        ]
    return view


class Prepared:
    """Inputs read, validated and joined once, for many views of the same data.

    Build it with :func:`supportkpi.prepare`. Each ``scorecard(...)`` call (any period,
    zone, grouping or baseline) and ``enrich()`` reuse the validated tables and the
    per-customer joins instead of redoing them, which is what a notebook slicing one data
    set several ways, or a pipeline writing several scorecards, wants.

    Example:
        >>> import supportkpi as sk
        >>> s = sk.load_sample()
        >>> data = sk.prepare(s["contacts"], s["orders"], sessions=s["sessions"])
        >>> weekly = data.scorecard(by="week")
        >>> by_channel = data.scorecard(by="month", group_by="channel", tz="Europe/Berlin")
        >>> len(data.enrich()) == len(s["contacts"])
        True
    """

    def __init__(
        self,
        native: _native.PreparedInputs,
        tables: Mapping[str, pa.Table],
        contacts_frame: pd.DataFrame | None,
        renaming: Mapping[str, Mapping[str, str]],
        config: Config,
    ) -> None:
        self._native = native
        self._tables = dict(tables)
        self._contacts_frame = contacts_frame
        self._renaming = {k: dict(v) for k, v in renaming.items()}
        self.config = config

    @property
    def as_of(self) -> pd.Timestamp | None:
        """The as_of the joins were matured against (UTC)."""
        micros = self._native.as_of
        return None if micros is None else pd.Timestamp(micros, unit="us", tz="UTC")

    def scorecard(
        self,
        *,
        by: str = "week",
        tz: str = "UTC",
        group_by: str | Sequence[str] | None = None,
        repurchase_window: WindowLike | None = None,
        baseline_window: WindowLike | None = None,
        baseline_range: tuple[TimeLike, TimeLike] | None = None,
        clv_lifespan_days: float = 3 * 365,
        kpis: str | Sequence[str] | None = None,
    ) -> Scorecard:
        """A scorecard view; the arguments are those of :func:`supportkpi.scorecard`.

        Example:
            >>> import supportkpi as sk
            >>> s = sk.load_sample()
            >>> data = sk.prepare(s["contacts"], s["orders"])
            >>> data.scorecard(by="month").by
            'month'
            >>> data.scorecard(kpis=["contacts", "csat_mean"]).kpis
            ['csat_mean', 'contacts']
        """
        groups = _group_list(group_by)
        view = _view_options(
            by,
            tz,
            groups,
            repurchase_window,
            baseline_window,
            baseline_range,
            clv_lifespan_days,
            kpis,
        )
        table, bands, diagnostics, skipped, as_of_micros, audit = self._native.scorecard(
            json.dumps(view)
        )
        events = self._tables.get("events")
        return Scorecard(
            table,
            dict(skipped),
            _timestamp(as_of_micros),
            by,
            tz,
            groups,
            bands,
            diagnostics,
            None if events is None else events.to_pandas(),
            json.loads(audit),
            self.config,
        )

    def partial(
        self,
        *,
        by: str = "week",
        tz: str = "UTC",
        group_by: str | Sequence[str] | None = None,
        repurchase_window: WindowLike | None = None,
        baseline_window: WindowLike | None = None,
        baseline_range: tuple[TimeLike, TimeLike] | None = None,
        clv_lifespan_days: float = 3 * 365,
    ) -> bytes:
        """The partial state of a view (see :func:`supportkpi.partial`).

        Example:
            >>> import supportkpi as sk
            >>> s = sk.load_sample()
            >>> data = sk.prepare(s["contacts"], s["orders"])
            >>> state = data.partial(by="month")
            >>> sk.merge([state]).by
            'month'
        """
        view = _view_options(
            by,
            tz,
            _group_list(group_by),
            repurchase_window,
            baseline_window,
            baseline_range,
            clv_lifespan_days,
        )
        state: bytes = self._native.partial(json.dumps(view))
        return state

    def enrich(self, output: str = "pandas", contact_columns: Sequence[str] | None = None) -> Any:
        """The per-contact view (see :func:`supportkpi.enrich_contacts`).

        ``output="pandas"`` (default) gives a DataFrame (for a pandas input, with the input's
        index); ``output="arrow"`` a pyarrow Table sharing the input's columns without a
        copy, which is much cheaper on large data. ``contact_columns`` names the contacts'
        own columns to return beside the results (default: all of them); for contacts read
        from a Parquet path, only those are read from the file.

        Example:
            >>> import supportkpi as sk
            >>> s = sk.load_sample()
            >>> data = sk.prepare(s["contacts"], s["orders"])
            >>> int(data.enrich()["attributed_orders"].sum()) > 0
            True
            >>> data.enrich(output="arrow").num_rows == len(s["contacts"])
            True
        """
        if output not in ("pandas", "arrow"):
            raise ConfigError(f'output: expected "pandas" or "arrow", got {output!r}')
        renaming = self._renaming.get("contacts", {})
        theirs_to_ours = {theirs: ours for ours, theirs in renaming.items()}
        source = self._tables["contacts"]
        wanted = None
        if contact_columns is not None:
            wanted = [str(c) for c in contact_columns]
            present = [theirs_to_ours.get(n, n) for n in source.schema.names]
            missing = [c for c in wanted if c not in present]
            if missing:
                raise ConfigError(
                    f"contact_columns: {missing} not among the contacts' columns {present}"
                )
        joined: pa.Table = self._native.enrich()
        own: pd.DataFrame
        if output == "arrow" or self._contacts_frame is None:
            theirs = None if wanted is None else [renaming.get(c, c) for c in wanted]
            if isinstance(source, ParquetColumns):
                table = source.read(theirs)
            else:
                table = source if theirs is None else source.select(theirs)
            table = table.rename_columns([theirs_to_ours.get(n, n) for n in table.column_names])
            if output == "arrow":
                table = table.drop_columns(
                    [n for n in joined.column_names if n in table.column_names]
                )
                columns = {name: table.column(name) for name in table.column_names}
                columns.update({name: joined.column(name) for name in joined.column_names})
                return pa.table(columns)
            # Integer columns keep exact values (a nullable int64 id would turn float).
            own = table.to_pandas(types_mapper=_NULLABLE_INTEGERS.get)
        else:
            own = self._contacts_frame.rename(columns=theirs_to_ours)
            if wanted is not None:
                own = own[wanted]
        result = joined.to_pandas()
        dropping = "dropped_reason" in result.columns
        for name in _NON_NULL_BOOL:
            # Dropped rows carry nulls, so their flags need the nullable dtype.
            result[name] = result[name].astype("boolean" if dropping else bool)
        result["recontact_48h"] = result["recontact_48h"].astype("boolean")
        result.index = own.index
        clashes = [c for c in result.columns if c in own.columns]
        own = own.drop(columns=clashes)
        return pd.concat([own, result], axis=1)


def prepare(
    contacts: Any,
    orders: Any,
    sessions: Any | None = None,
    *,
    events: Any | None = None,
    config: ConfigLike = None,
    as_of: TimeLike | None = None,
    columns: Mapping[str, Any] | None = None,
    recovery_window: WindowLike | None = None,
    repeat_window: WindowLike | None = None,
    recontact_window: WindowLike | None = None,
    on_invalid: str = "raise",
) -> Prepared:
    """Reads, validates and joins the inputs once; returns a :class:`Prepared`.

    The arguments are those of :func:`supportkpi.scorecard` that shape the joins; the
    period, zone, grouping and baseline are chosen per view with ``Prepared.scorecard``.

    Example:
        >>> import supportkpi as sk
        >>> s = sk.load_sample()
        >>> data = sk.prepare(s["contacts"], s["orders"], events=s["events"])
        >>> str(data.as_of)
        '2024-12-08 23:41:55.251999+00:00'
    """
    id_names = id_source_names(columns)
    tables: dict[str, pa.Table | ParquetColumns] = {
        "contacts": as_table_source(contacts, "contacts", id_names),
        "orders": as_table_source(orders, "orders", id_names),
    }
    if sessions is not None:
        tables["sessions"] = as_arrow_table(sessions, "sessions")
    if events is not None:
        tables["events"] = as_arrow_table(events, "events")
    document = config_document(config)
    renaming = split_renaming(columns, {k: t.schema for k, t in tables.items()})
    for name, source in tables.items():
        if isinstance(source, ParquetColumns):
            mapped = renaming.get(name, {})
            source.keep_plain([mapped.get(ours, ours) for ours in ID_COLUMNS])
    options: dict[str, Any] = {
        "columns": renaming,
        "as_of": None if as_of is None else _micros(as_of, "as_of"),
        "config": document,
        "on_invalid": on_invalid,
    }
    for key, value in (
        ("recovery_window", recovery_window),
        ("repeat_window", repeat_window),
        ("recontact_window", recontact_window),
    ):
        if value is not None:
            options[key] = _window(value, key)
    native = _native.prepare_inputs(
        tables["contacts"],
        tables["orders"],
        tables.get("sessions"),
        tables.get("events"),
        json.dumps(options),
    )
    contacts_frame = contacts if isinstance(contacts, pd.DataFrame) else None
    return Prepared(
        native,
        tables,
        contacts_frame,
        renaming,
        Config(document) if document else Config(),
    )


def scorecard(
    contacts: Any,
    orders: Any,
    sessions: Any | None = None,
    *,
    events: Any | None = None,
    config: ConfigLike = None,
    by: str = "week",
    tz: str = "UTC",
    group_by: str | Sequence[str] | None = None,
    as_of: TimeLike | None = None,
    columns: Mapping[str, Any] | None = None,
    recovery_window: WindowLike | None = None,
    repeat_window: WindowLike | None = None,
    recontact_window: WindowLike | None = None,
    repurchase_window: WindowLike | None = None,
    baseline_window: WindowLike | None = None,
    baseline_range: tuple[TimeLike, TimeLike] | None = None,
    clv_lifespan_days: float = 3 * 365,
    on_invalid: str = "raise",
    kpis: str | Sequence[str] | None = None,
) -> Scorecard:
    """Computes the support-conversion scorecard (SPEC §5) per period and group.

    Args:
        contacts: support contacts (pandas/polars DataFrame, pyarrow Table or
            RecordBatchReader, any object with ``__arrow_c_stream__``, or the path of a
            Parquet or CSV file). A Parquet path is read one column at a time, only the
            columns the work uses, which keeps peak memory low on large data.
        orders: orders, in any of the same forms.
        sessions: optional site sessions (one row per session, or pre-counted rows).
        events: optional calendar (name, kind = promo / launch / peak, start, end).
        config: a (partial) configuration: a dict, a ``Config``, or a TOML/JSON file path;
            what it does not name keeps its default (``sk.default_config()``).
        by: ``"day"``, ``"week"`` (ISO, Monday start) or ``"month"``.
        tz: IANA time zone of day and period boundaries.
        group_by: contact column(s) to split by (e.g. ``"channel"``).
        as_of: end of observed data; default the latest ``created_at``.
        columns: renaming ``{"ours": "theirs"}``, flat or per table.
        recovery_window, repeat_window, recontact_window, repurchase_window,
        baseline_window: the join and cohort windows (default: the config's, 7 d, 14 d,
            48 h, 90 d, 30 d).
        baseline_range: a fixed (start, end) baseline instead of the rolling window, e.g.
            the 30 days before an AI launch.
        on_invalid: ``"raise"`` (a ``DataError`` naming the first bad row) or ``"drop"``
            (bad rows are left out and counted per reason in ``card.row_audit``).
        clv_lifespan_days: customer lifespan for ``clv_simple``.
        kpis: the catalogue ids of the KPIs to show (default: all of them). The card's
            table, bands and ``skipped`` cover only these, and the work no shown KPI
            needs is skipped (e.g. the customer cohort pass behind ``repurchase_rate_90d``,
            ``retention_rate`` and ``clv_simple``). Diagnostics are unchanged: the KPIs the
            rules read are computed whether shown or not. An unknown id is a
            ``ConfigError``.

    Example:
        >>> import pandas as pd, supportkpi as sk
        >>> t = pd.Timestamp("2024-01-01 10:00", tz="UTC")
        >>> contacts = pd.DataFrame({"contact_id": [1, 2], "customer_id": [7, 8],
        ...                          "created_at": [t, t]})
        >>> orders = pd.DataFrame({"order_id": [1], "customer_id": [7],
        ...                        "created_at": [t + pd.Timedelta(days=1)], "revenue": [50.0]})
        >>> card = sk.scorecard(contacts, orders, as_of=t + pd.Timedelta(days=7))
        >>> long = card.to_pandas()
        >>> row = long[long.kpi == "recovery_rate_7d"].iloc[0]
        >>> float(row.value), float(row.numerator), float(row.denominator)
        (0.5, 1.0, 2.0)
    """
    data = prepare(
        contacts,
        orders,
        sessions,
        events=events,
        config=config,
        as_of=as_of,
        columns=columns,
        recovery_window=recovery_window,
        repeat_window=repeat_window,
        recontact_window=recontact_window,
        on_invalid=on_invalid,
    )
    return data.scorecard(
        by=by,
        tz=tz,
        group_by=group_by,
        repurchase_window=repurchase_window,
        baseline_window=baseline_window,
        baseline_range=baseline_range,
        clv_lifespan_days=clv_lifespan_days,
        kpis=kpis,
    )


def partial(
    contacts: Any,
    orders: Any,
    *,
    config: ConfigLike = None,
    by: str = "week",
    tz: str = "UTC",
    group_by: str | Sequence[str] | None = None,
    as_of: TimeLike | None = None,
    columns: Mapping[str, Any] | None = None,
    recovery_window: WindowLike | None = None,
    repeat_window: WindowLike | None = None,
    recontact_window: WindowLike | None = None,
    repurchase_window: WindowLike | None = None,
    baseline_window: WindowLike | None = None,
    baseline_range: tuple[TimeLike, TimeLike] | None = None,
    clv_lifespan_days: float = 3 * 365,
    on_invalid: str = "raise",
) -> bytes:
    """The scorecard's partial state for one slice of the customers, as bytes.

    The arguments are those of :func:`supportkpi.scorecard` without sessions and events
    (give those to :func:`supportkpi.merge`). Every row of a customer must be in the same
    slice (anonymous rows may be in any); then merging the slices' states gives the
    scorecard of all the data: counts and sums exactly, quantile KPIs within 1% (they
    travel as DDSketches). Every slice of one merge needs the same options and the same
    explicit ``as_of`` (the default, the slice's latest ``created_at``, differs between
    slices). The bytes are versioned (``supportkpi._supportkpi.PARTIAL_FORMAT_VERSION``)
    and small: per-day counts, not rows.

    Example:
        >>> import pandas as pd, supportkpi as sk
        >>> s = sk.load_sample()
        >>> contacts, orders = s["contacts"], s["orders"]
        >>> as_of = max(contacts.created_at.max(), orders.created_at.max())
        >>> half = lambda t: pd.util.hash_pandas_object(t.customer_id, index=False) % 2
        >>> states = [sk.partial(contacts[half(contacts) == i], orders[half(orders) == i],
        ...                      as_of=as_of) for i in (0, 1)]
        >>> merged = sk.merge(states).to_pandas()
        >>> local = sk.scorecard(contacts, orders).to_pandas()
        >>> merged.loc[merged.kpi == "contacts", "value"].equals(
        ...     local.loc[local.kpi == "contacts", "value"])
        True
    """
    return prepare(
        contacts,
        orders,
        config=config,
        as_of=as_of,
        columns=columns,
        recovery_window=recovery_window,
        repeat_window=repeat_window,
        recontact_window=recontact_window,
        on_invalid=on_invalid,
    ).partial(
        by=by,
        tz=tz,
        group_by=group_by,
        repurchase_window=repurchase_window,
        baseline_window=baseline_window,
        baseline_range=baseline_range,
        clv_lifespan_days=clv_lifespan_days,
    )


def _state_bytes(states: Iterable[bytes]) -> list[bytes]:
    """The states as bytes; anything else is a ConfigError naming its position (a str or a
    path is a common slip: states are the bytes sk.partial returns)."""
    if isinstance(states, (bytes, bytearray, memoryview, str)):
        raise ConfigError("states: expected a list of partial states, not a single value")
    out = []
    for i, state in enumerate(states):
        if not isinstance(state, (bytes, bytearray, memoryview)):
            raise ConfigError(
                f"states[{i}]: expected the bytes sk.partial returns, got {type(state).__name__}"
            )
        out.append(bytes(state))
    return out


def combine(states: Iterable[bytes]) -> bytes:
    """Merges partial states into one partial state, for tree reductions.

    ``merge([combine([a, b]), c])`` is ``merge([a, b, c])``: merging is associative and
    commutative, so workers can pre-merge their slices before the driver sees them.

    Example:
        >>> import pandas as pd, supportkpi as sk
        >>> s = sk.load_sample()
        >>> contacts, orders = s["contacts"], s["orders"]
        >>> as_of = max(contacts.created_at.max(), orders.created_at.max())
        >>> third = lambda t: pd.util.hash_pandas_object(t.customer_id, index=False) % 3
        >>> a, b, c = (sk.partial(contacts[third(contacts) == i], orders[third(orders) == i],
        ...                       as_of=as_of) for i in range(3))
        >>> one = sk.merge([sk.combine([a, b]), c]).to_pandas()
        >>> other = sk.merge([c, sk.combine([b, a])]).to_pandas()
        >>> one.equals(other)
        True
    """
    state: bytes = _native.combine_states(_state_bytes(states))
    return state


def merge(
    states: Iterable[bytes],
    *,
    sessions: Any | None = None,
    events: Any | None = None,
) -> Scorecard:
    """Merges partial states (:func:`supportkpi.partial`) into the scorecard.

    Merging is associative and commutative; the result is the scorecard of all the slices'
    rows: counts, sums and ratios exactly as :func:`supportkpi.scorecard` computes them,
    quantile KPIs (medians, p90) within 1% relative error. Sessions and events, small
    tables not split by customer, are given here. Options come from the states.

    Example:
        >>> import supportkpi as sk
        >>> s = sk.load_sample()
        >>> state = sk.partial(s["contacts"], s["orders"], by="month", group_by="channel")
        >>> card = sk.merge([state], sessions=s["sessions"], events=s["events"])
        >>> card.by, card.group_by
        ('month', ['channel'])
    """
    tables = {}
    if sessions is not None:
        tables["sessions"] = as_arrow_table(sessions, "sessions")
    if events is not None:
        tables["events"] = as_arrow_table(events, "events")
    parts, options_json = _native.merge_states(
        _state_bytes(states),
        tables.get("sessions"),
        tables.get("events"),
    )
    table, bands, diagnostics, skipped, as_of_micros, audit = parts
    options = json.loads(options_json)
    document = options.get("config")
    event_table = tables.get("events")
    return Scorecard(
        table,
        dict(skipped),
        _timestamp(as_of_micros),
        options.get("by", "week"),
        options.get("tz", "UTC"),
        options.get("group_by", []),
        bands,
        diagnostics,
        None if event_table is None else event_table.to_pandas(),
        json.loads(audit),
        Config(document) if document else Config(),
    )


def enrich_contacts(
    contacts: Any,
    orders: Any,
    *,
    as_of: TimeLike | None = None,
    columns: Mapping[str, Any] | None = None,
    config: ConfigLike = None,
    recovery_window: WindowLike | None = None,
    repeat_window: WindowLike | None = None,
    recontact_window: WindowLike | None = None,
    on_invalid: str = "raise",
    contact_columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row per contact, in input order: the contact's columns plus the join results.

    Added columns: path, resolved_without_human, recovered_7d, recovery_mature,
    hours_to_next_order, attributed_orders, attributed_revenue, repeat_14d, repeat_mature,
    recontact_48h (nullable: null when unresolved), recontact_mature, preventable. With
    ``on_invalid="drop"``, invalid rows stay in place with null results and a
    ``dropped_reason``. ``contact_columns`` limits the contacts' own columns returned
    (default: all).

    Example:
        >>> import pandas as pd, supportkpi as sk
        >>> t = pd.Timestamp("2024-01-01 10:00", tz="UTC")
        >>> contacts = pd.DataFrame({"contact_id": ["a", "b"], "customer_id": ["u1", "u1"],
        ...                          "created_at": [t, t]})
        >>> orders = pd.DataFrame({"order_id": [1], "customer_id": ["u1"],
        ...                        "created_at": [t + pd.Timedelta(hours=3)], "revenue": [80.0]})
        >>> out = sk.enrich_contacts(contacts, orders)
        >>> out[["contact_id", "recovered_7d", "hours_to_next_order", "attributed_revenue"]]
          contact_id  recovered_7d  hours_to_next_order  attributed_revenue
        0          a          True                  3.0                 0.0
        1          b          True                  3.0                80.0
    """
    return prepare(
        contacts,
        orders,
        as_of=as_of,
        columns=columns,
        config=config,
        recovery_window=recovery_window,
        repeat_window=repeat_window,
        recontact_window=recontact_window,
        on_invalid=on_invalid,
    ).enrich(contact_columns=contact_columns)
