"""What the Dask and Spark scale-out wrappers share (``supportkpi.dask``, ``supportkpi.spark``).

Both follow the same plan: find the key columns (after the user's ``columns=`` renaming),
fix one global ``as_of``, put every row of a customer into one bucket (anonymous rows spread
by their own id), compute ``sk.partial`` per bucket on the workers and ``sk.merge`` the
states on the client. This module holds the engine-independent pieces of that plan.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from ._config import config_document
from ._supportkpi import ConfigError, SchemaError, SupportKpiError

#: The bucket column the wrappers add while shuffling (and drop before ``sk.partial``).
BUCKET = "__supportkpi_bucket__"

#: Per table: the row id, the customer key and the time column the wrappers read.
KEYS = {
    "contacts": ("contact_id", "customer_id", "created_at"),
    "orders": ("order_id", "customer_id", "created_at"),
}


def core() -> Any:
    """The ``supportkpi`` package, looked up at call time (``sk.partial``, ``sk.combine``,
    ``sk.merge``): imported where the function runs, on a worker or an executor."""
    import supportkpi

    return supportkpi


def key_columns(columns: Mapping[str, Any] | None, table: str, names: Iterable[str]) -> dict:
    """``{ours: theirs}`` for the KEYS of ``table``, read through ``columns=`` renaming.

    Both forms of ``columns=`` are read as the core reads them: per table
    (``{"contacts": {"customer_id": "cust"}}``) or flat (``{"customer_id": "cust"}``, which
    applies to every table holding ``cust``). A key column the table lacks is a SchemaError
    here, before any work is sent to the workers.
    """
    names = list(names)
    renaming: dict[str, Any] = {}
    if columns:
        if not isinstance(columns, Mapping):
            raise ConfigError(f"columns: expected a dict, got {type(columns).__name__}")
        if all(isinstance(v, Mapping) for v in columns.values()):
            renaming = dict(columns.get(table) or {})
        else:
            renaming = {ours: theirs for ours, theirs in columns.items() if theirs in names}
    found = {ours: str(renaming.get(ours, ours)) for ours in KEYS[table]}
    for ours, theirs in found.items():
        if theirs not in names:
            via = f" (mapped from {theirs!r})" if theirs != ours else ""
            raise SchemaError(
                f"{table}: missing required column {ours!r}{via}; columns present: {names}"
            )
        if theirs == BUCKET:
            raise SchemaError(f"{table}: the column name {BUCKET!r} is reserved")
    if BUCKET in names:
        raise SchemaError(f"{table}: the column name {BUCKET!r} is reserved")
    return found


def partial_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments for ``sk.partial``, checked on the client.

    Unknown names fail here (a TypeError, as the local ``sk.scorecard`` would) instead of
    once per worker; a configuration given as a path or ``sk.Config`` becomes a plain
    document, so the workers need neither the file nor the class.
    """
    sk = core()
    options = dict(options)
    for name in ("sessions", "events"):
        if name in options:
            raise TypeError(f"{name} is given to the scale-out scorecard itself, not as an option")
    signature = inspect.signature(sk.partial)
    try:
        signature.bind(None, None, **options)
    except TypeError as error:
        raise TypeError(f"scorecard(): {error}") from None
    if options.get("config") is not None:
        options["config"] = config_document(options["config"])
    return options


def utc_max(values: Iterable[Any]) -> pd.Timestamp | None:
    """The latest of some points in time as a UTC Timestamp; naive values are UTC; None,
    NaT and non-time values are skipped (a created_at of the wrong type is the core's
    SchemaError to raise, on the workers)."""
    latest = None
    for value in values:
        if value is None or value is pd.NaT:
            continue
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            stamp = pd.Timestamp(int(value), unit="us", tz="UTC")
        elif isinstance(value, (pd.Timestamp, np.datetime64)) or hasattr(value, "tzinfo"):
            stamp = pd.Timestamp(value)
            if stamp is pd.NaT:
                continue
            stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        else:
            continue
        latest = stamp if latest is None or stamp > latest else latest
    return latest


def valid_as_of(contacts: Any, orders: Any, options: Mapping[str, Any]) -> pd.Timestamp | None:
    """as_of of the valid rows of one slice (``on_invalid="drop"``): the core's own reading,
    since a dropped row does not count towards as_of."""
    import supportkpi

    keep = ("columns", "config", "on_invalid")
    data = supportkpi.prepare(contacts, orders, **{k: options[k] for k in keep if k in options})
    return data.as_of


def _hash_ids(series: pd.Series) -> np.ndarray:
    """A uint64 hash per id that depends on the id's value only, not on its storage: int64,
    Int64, int32 or int64[pyarrow] ids hash alike, and so do str, object and string ids."""
    if pd.api.types.is_integer_dtype(series.dtype):
        values = series.to_numpy(dtype="int64", na_value=0)
        return pd.util.hash_array(values)
    values = series.astype(object).to_numpy()
    nulls = pd.isna(values)
    if nulls.any():
        values = values.copy()
        values[nulls] = ""
    return pd.util.hash_array(values)


def bucket_column(frame: pd.DataFrame, customer_id: str, row_id: str, n: int) -> np.ndarray:
    """hash(customer_id) % n per row; anonymous rows by hash(row id) % n, so they spread."""
    customer = frame[customer_id]
    hashes = _hash_ids(customer)
    anonymous = customer.isna().to_numpy()
    if anonymous.any():
        hashes[anonymous] = _hash_ids(frame[row_id][anonymous])
    return (hashes % np.uint64(n)).astype(np.int64)


def error_record(error: SupportKpiError) -> tuple[str, str]:
    """A SupportKpiError as (class name, message), to cross an engine that loses its type."""
    return type(error).__name__, str(error)


def raise_error_record(name: str, message: str) -> None:
    """Re-raises what :func:`error_record` carried, as the same supportkpi exception."""
    import supportkpi

    cls = getattr(supportkpi, name, None)
    if not (isinstance(cls, type) and issubclass(cls, SupportKpiError)):
        cls = SupportKpiError
    raise cls(message)
