"""The public functions: ``scorecard``, ``enrich_contacts``, ``kpi_catalog``."""

from __future__ import annotations

import contextvars
import json
import threading
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

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
from ._card import Scorecard, scorecard_of
from ._config import Config, config_document
from ._options import (
    ConfigLike,
    TimeLike,
    WindowLike,
    group_list,
    to_micros,
    view_options,
    window_micros,
)
from ._present import catalog
from ._supportkpi import ConfigError


def kpi_catalog() -> pd.DataFrame:
    """Every KPI the library computes, from the one catalogue the engine reads.

    Columns: id, name, definition, unit, direction, requires, headline, band, owner, source.

    Example:
        >>> import supportkpi as sk
        >>> cat = sk.kpi_catalog()
        >>> list(cat[cat.headline].id)
        ['csat_mean', 'deflection_rate', 'fcr_rate', 'tickets_per_order']
    """
    return pd.DataFrame([dict(e) for e in catalog().values()])


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
        >>> total, by_intent = data.scorecards(groupings=[None, "intent"], by="month")
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
        groups = group_list(group_by)
        view = view_options(
            by,
            tz,
            groups,
            repurchase_window,
            baseline_window,
            baseline_range,
            clv_lifespan_days,
            kpis,
        )
        return scorecard_of(self._native.scorecard(json.dumps(view)), self._tables.get("events"))

    def scorecards(
        self,
        *,
        groupings: Sequence[str | Sequence[str] | None],
        by: str = "week",
        tz: str = "UTC",
        repurchase_window: WindowLike | None = None,
        baseline_window: WindowLike | None = None,
        baseline_range: tuple[TimeLike, TimeLike] | None = None,
        clv_lifespan_days: float = 3 * 365,
        kpis: str | Sequence[str] | None = None,
    ) -> list[Scorecard]:
        """One scorecard view per grouping, in order, all with the same other options.

        Each item of ``groupings`` is what :meth:`scorecard` takes as ``group_by``: ``None``
        (the total), a column, or a list of columns grouped together. So
        ``groupings=[None, "channel"]`` gives the total and the by-channel card, and
        ``groupings=[["channel", "intent"]]`` one card grouped by both.

        The cards equal those of separate :meth:`scorecard` calls, but the total beside a
        grouped card costs little: it is read from the grouped card's daily cells and
        backlog, and the customer cohorts are counted for both in one pass. Sums in the
        total may then differ from a separate call's in the last bits (the same terms added
        in another order); counts and quantiles are identical.

        Example:
            >>> import supportkpi as sk
            >>> s = sk.load_sample()
            >>> data = sk.prepare(s["contacts"], s["orders"])
            >>> total, by_channel = data.scorecards(groupings=[None, "channel"], by="month")
            >>> total.group_by, by_channel.group_by
            ([], ['channel'])
        """
        if isinstance(groupings, str) or not isinstance(groupings, Sequence):
            raise ConfigError(
                "groupings: a list of groupings, e.g. [None, 'channel'] "
                f"(got {type(groupings).__name__})"
            )
        views = [
            view_options(
                by,
                tz,
                group_list(grouping),
                repurchase_window,
                baseline_window,
                baseline_range,
                clv_lifespan_days,
                kpis,
            )
            for grouping in groupings
        ]
        events = self._tables.get("events")
        return [
            scorecard_of(result, events) for result in self._native.scorecards(json.dumps(views))
        ]

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
        view = view_options(
            by,
            tz,
            group_list(group_by),
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


class _PreparedReuse:
    """The prepared joins of the last one-call function (``sk.scorecard``,
    ``sk.enrich_contacts``) whose inputs were pyarrow Tables, taken again by the next one
    on the same Tables and options: a pipeline writing the per-contact table, a scorecard
    and a grouped one pays for reading, validating and joining once.

    Only pyarrow Tables qualify, because they cannot change: a pandas or polars frame can
    be edited in place between two calls and a file rewritten, and reusing their joins would
    give a stale card. One entry is held, keyed by the identity of the input objects and
    the options' text. It is dropped when any of its Tables is garbage-collected, when a
    call on other inputs replaces it, or by :func:`release_prepared`. Identities are safe
    keys: an entry is dropped when its Tables die, before their ids can be reused.
    """

    def __init__(self) -> None:
        # Re-entrant: a collection inside put() can run _forget on the same thread.
        self._lock = threading.RLock()
        self._key: tuple[Any, ...] | None = None
        self._native: _native.PreparedInputs | None = None
        self._finalizers: list[weakref.finalize[Any, Any]] = []

    @staticmethod
    def key(
        inputs: Mapping[str, Any], tables: Mapping[str, Any], options_text: str
    ) -> tuple[Any, ...] | None:
        """The entry's key, or None when an input is not a pyarrow Table read as is."""
        ids: list[int | None] = []
        for name, given in inputs.items():
            if given is None:
                ids.append(None)
            elif isinstance(given, pa.Table) and tables.get(name) is given:
                ids.append(id(given))
            else:
                return None
        return (*ids, options_text)

    def get(self, key: tuple[Any, ...]) -> _native.PreparedInputs | None:
        with self._lock:
            return self._native if key == self._key else None

    def put(
        self, key: tuple[Any, ...], native: _native.PreparedInputs, inputs: Mapping[str, Any]
    ) -> None:
        with self._lock:
            self.release()
            self._key, self._native = key, native
            self._finalizers = [
                weakref.finalize(given, self._forget, key)
                for given in inputs.values()
                if given is not None
            ]

    def _forget(self, key: tuple[Any, ...]) -> None:
        with self._lock:
            if key == self._key:
                self.release()

    def release(self) -> None:
        with self._lock:
            for finalizer in self._finalizers:
                finalizer.detach()
            self._key, self._native, self._finalizers = None, None, []


_REUSE = _PreparedReuse()
#: Set while a one-call function prepares its inputs: only then are the joins reused.
_ONE_CALL: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "supportkpi_one_call", default=False
)


def _one_call_prepare(*args: Any, **kwargs: Any) -> Prepared:
    """:func:`prepare` for a one-call function: the joins of the last one-call function on
    the same pyarrow Tables and join options are taken again (see :class:`_PreparedReuse`);
    ``sk.prepare`` itself always reads and joins."""
    token = _ONE_CALL.set(True)
    try:
        return prepare(*args, **kwargs)
    finally:
        _ONE_CALL.reset(token)


def release_prepared() -> None:
    """Releases the joins ``sk.scorecard`` and ``sk.enrich_contacts`` keep for the next
    call on the same pyarrow Tables (they also go when the Tables do).

    Example:
        >>> import pyarrow as pa, supportkpi as sk
        >>> s = sk.load_sample()
        >>> contacts, orders = pa.table(s["contacts"]), pa.table(s["orders"])
        >>> weekly = sk.scorecard(contacts, orders)
        >>> monthly = sk.scorecard(contacts, orders, by="month")  # the joins are reused
        >>> sk.release_prepared()
    """
    _REUSE.release()


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
        "as_of": None if as_of is None else to_micros(as_of, "as_of"),
        "config": document,
        "on_invalid": on_invalid,
    }
    for key, value in (
        ("recovery_window", recovery_window),
        ("repeat_window", repeat_window),
        ("recontact_window", recontact_window),
    ):
        if value is not None:
            options[key] = window_micros(value, key)
    options_text = json.dumps(options)
    inputs = {"contacts": contacts, "orders": orders, "sessions": sessions, "events": events}
    reuse_key = _REUSE.key(inputs, tables, options_text) if _ONE_CALL.get() else None
    native = None if reuse_key is None else _REUSE.get(reuse_key)
    if native is None:
        native = _native.prepare_inputs(
            tables["contacts"],
            tables["orders"],
            tables.get("sessions"),
            tables.get("events"),
            options_text,
        )
        if reuse_key is not None:
            _REUSE.put(reuse_key, native, inputs)
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
    data = _one_call_prepare(
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
    output: str = "pandas",
) -> Any:
    """One row per contact, in input order: the contact's columns plus the join results.

    Added columns: path, resolved_without_human, recovered_7d, recovery_mature,
    hours_to_next_order, attributed_orders, attributed_revenue, repeat_14d, repeat_mature,
    recontact_48h (nullable: null when unresolved), recontact_mature, preventable. With
    ``on_invalid="drop"``, invalid rows stay in place with null results and a
    ``dropped_reason``. ``contact_columns`` limits the contacts' own columns returned
    (default: all). ``output="arrow"`` returns a pyarrow Table instead of a DataFrame (see
    :meth:`Prepared.enrich`).

    ``sk.scorecard`` and ``sk.enrich_contacts`` called again on the same pyarrow Tables
    with the same join options take the joins of the last such call instead of redoing
    them (Tables cannot change); other inputs are read and joined on every call. Those
    joins are released with the Tables, on the next call with other inputs, or by
    :func:`supportkpi.release_prepared`.

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
    return _one_call_prepare(
        contacts,
        orders,
        as_of=as_of,
        columns=columns,
        config=config,
        recovery_window=recovery_window,
        repeat_window=repeat_window,
        recontact_window=recontact_window,
        on_invalid=on_invalid,
    ).enrich(output=output, contact_columns=contact_columns)
