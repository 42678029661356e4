"""The scorecard on Dask: the same :class:`~supportkpi.Scorecard` as ``sk.scorecard``, for
contacts and orders that do not fit one machine.

``pip install "supportkpi[dask]"``, then::

    import dask.dataframe as dd
    from dask.distributed import Client
    import supportkpi.dask as skd

    client = Client("scheduler:8786")  # or LocalCluster(); without a client: local threads
    # pyarrow dtypes keep nullable integer ids integers (numpy ones turn them float)
    contacts = dd.read_parquet("s3://shop/contacts/", dtype_backend="pyarrow")
    orders = dd.read_parquet("s3://shop/orders/", dtype_backend="pyarrow")
    card = skd.scorecard(contacts, orders, sessions=sessions, by="week", group_by="channel")

How it works: rows are bucketed by a hash of customer_id (anonymous rows by a hash of
their own id) and both tables are shuffled on that bucket with the same explicit
divisions, so partition *i* of contacts and partition *i* of orders hold the same
customers. Each pair of partitions becomes one ``sk.partial`` state on a worker; the
workers pre-merge the states (``sk.combine``, a tree reduction) and the client merges the
last few with ``sk.merge``. The README
section "When one machine is not enough" explains why that is exact.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from . import _scale

if TYPE_CHECKING:
    from ._card import Scorecard

__all__ = ["scorecard"]

#: States pre-merged per task on the workers (and left at most for the client).
SPLIT_EVERY = 8


def _import_dask() -> tuple[Any, Any]:
    try:
        import dask
        import dask.dataframe as dd
    except ImportError as error:
        raise ImportError(
            'supportkpi.dask needs Dask: pip install "supportkpi[dask]" '
            f"(dask[dataframe,distributed]); import failed with: {error}"
        ) from error
    return dask, dd


def _as_dask_frame(
    dask: Any, dd: Any, frame: Any, name: str, npartitions: int | None
) -> tuple[Any, pa.Schema | None]:
    """A Dask frame, and for a pandas input the Arrow schema the core would read it with.

    A pandas frame is split as it is (Dask would otherwise turn its object columns, e.g.
    Python bools or dates with nulls, into strings); each slice is then read with the whole
    frame's schema, so a slice whose object column holds only nulls keeps its type.
    """
    if isinstance(frame, dd.DataFrame):
        return frame, None
    if isinstance(frame, pd.DataFrame):
        try:
            schema = pa.Schema.from_pandas(frame, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            schema = None  # the core raises its SchemaError on the slices
        with dask.config.set({"dataframe.convert-string": False}):
            parts = npartitions or os.cpu_count() or 1
            return dd.from_pandas(frame, npartitions=parts, sort=False), schema
    raise TypeError(
        f"{name}: expected a Dask or pandas DataFrame, got {type(frame).__name__} "
        "(for other tables, use supportkpi.scorecard)"
    )


def _slice(frame: pd.DataFrame, schema: pa.Schema | None) -> Any:
    """One shuffled partition as the core's input: the bucket index dropped."""
    frame = frame.reset_index(drop=True)
    if schema is None:
        return frame
    return pa.Table.from_pandas(frame, schema=schema, preserve_index=False)


def _with_bucket(frame: pd.DataFrame, customer_id: str, row_id: str, n: int) -> pd.DataFrame:
    return frame.assign(**{_scale.BUCKET: _scale.bucket_column(frame, customer_id, row_id, n)})


def _by_bucket(frame: Any, keys: dict[str, str], row_id: str, n: int) -> list[Any]:
    """The frame cut into n partitions, partition i holding exactly bucket i (as its index);
    returns the partitions as delayed pandas frames."""
    meta = frame._meta.assign(**{_scale.BUCKET: np.array([], dtype=np.int64)})
    bucketed = frame.map_partitions(
        _with_bucket, keys["customer_id"], keys[row_id], n, meta=meta, enforce_metadata=False
    )
    # Explicit divisions 0, 1, ..., n: partition i is the bucket range [i, i + 1), so the two
    # tables line up by construction (a hash shuffle on the bucket would line them up too,
    # but re-hashes the bucket: uneven partitions, some empty).
    shuffled = bucketed.set_index(_scale.BUCKET, divisions=list(range(n + 1)))
    parts = shuffled.to_delayed()
    if len(parts) != n:  # pragma: no cover - a Dask that ignored the divisions
        raise RuntimeError(f"expected {n} partitions after the shuffle, got {len(parts)}")
    return parts


def _slice_as_of(
    contacts: pd.DataFrame, orders: pd.DataFrame, schemas: tuple, options: dict
) -> Any:
    return _scale.valid_as_of(_slice(contacts, schemas[0]), _slice(orders, schemas[1]), options)


def _global_as_of(*latest: Any) -> Any:
    return _scale.utc_max(latest)


def _state(
    contacts: pd.DataFrame, orders: pd.DataFrame, schemas: tuple, as_of: Any, options: dict
) -> tuple[bytes, np.ndarray, np.ndarray]:
    """One bucket's partial state, with the buckets seen on each side (alignment check)."""
    sk = _scale.core()
    seen = (np.unique(contacts.index.to_numpy()), np.unique(orders.index.to_numpy()))
    state = sk.partial(
        _slice(contacts, schemas[0]), _slice(orders, schemas[1]), **{**options, "as_of": as_of}
    )
    return state, *seen


def _combine(states: list[bytes]) -> bytes:
    return _scale.core().combine(states)


def _tree(dask: Any, states: list[Any]) -> list[Any]:
    """Pre-merges the states on the workers (``sk.combine``), SPLIT_EVERY at a time, until
    at most SPLIT_EVERY are left for the client."""
    while len(states) > SPLIT_EVERY:
        states = [
            dask.delayed(_combine)(states[i : i + SPLIT_EVERY])
            for i in range(0, len(states), SPLIT_EVERY)
        ]
    return states


def _check_alignment(seen: Sequence[tuple[np.ndarray, np.ndarray]]) -> None:
    """Every bucket must sit in one partition pair: else a customer's rows were split."""
    home: dict[int, int] = {}
    for index, (contacts_seen, orders_seen) in enumerate(seen):
        for bucket in np.concatenate([contacts_seen, orders_seen]).tolist():
            if home.setdefault(bucket, index) != index:
                raise RuntimeError(
                    f"supportkpi.dask: bucket {bucket} landed in partitions {home[bucket]} and "
                    f"{index}; contacts and orders are not aligned after the shuffle"
                )


def scorecard(
    contacts: Any,
    orders: Any,
    *,
    sessions: Any | None = None,
    events: Any | None = None,
    npartitions: int | None = None,
    **options: Any,
) -> Scorecard:
    """The scorecard of Dask DataFrames: the same :class:`~supportkpi.Scorecard` as
    ``sk.scorecard(contacts.compute(), orders.compute(), ...)``.

    Args:
        contacts, orders: Dask DataFrames (pandas frames are split with
            ``dd.from_pandas`` and read with their own Arrow types).
        sessions, events: the small tables, in any form ``sk.scorecard`` takes (a Dask
            DataFrame is computed first); they go to ``sk.merge`` on the client.
        npartitions: the number of customer buckets, one partition pair each (default:
            the larger input partition count). Each bucket must fit in a worker's memory.
        **options: the keyword arguments of ``sk.scorecard`` (``by``, ``tz``, ``group_by``,
            ``as_of``, ``columns``, windows, ``config``, ``on_invalid``, ...).

    Runs on the current Dask scheduler (a ``distributed.Client`` if one is active). The
    ``as_of`` (default: the latest ``created_at`` of contacts and orders) is fixed once for
    all buckets; with ``on_invalid="drop"`` it is the latest *valid* row's, which costs the
    core one extra reading of each bucket.

    Quantile KPIs (medians, p90) are merged from sketches: within 1% of the exact value
    (relative). Duplicate ids are found within a customer's bucket only: an id reused by
    two customers is not detected, where ``sk.scorecard`` raises a DataError.

    Example:
        >>> import dask.dataframe as dd
        >>> import supportkpi as sk
        >>> import supportkpi.dask as skd
        >>> s = sk.load_sample()
        >>> contacts = dd.from_pandas(s["contacts"], npartitions=4)
        >>> orders = dd.from_pandas(s["orders"], npartitions=4)
        >>> card = skd.scorecard(contacts, orders, sessions=s["sessions"], by="month")
        >>> local = sk.scorecard(s["contacts"], s["orders"], s["sessions"], by="month")
        >>> card.as_of == local.as_of
        True
        >>> long, expected = card.to_pandas(), local.to_pandas()
        >>> bool((long.kpi == expected.kpi).all())
        True
        >>> counts = long.unit == "count"
        >>> bool((long.value[counts] == expected.value[counts]).all())
        True
    """
    dask, dd = _import_dask()
    sk = _scale.core()
    options = _scale.partial_options(options)
    contacts, c_schema = _as_dask_frame(dask, dd, contacts, "contacts", npartitions)
    orders, o_schema = _as_dask_frame(dask, dd, orders, "orders", npartitions)
    schemas = (c_schema, o_schema)
    c_keys = _scale.key_columns(options.get("columns"), "contacts", contacts.columns)
    o_keys = _scale.key_columns(options.get("columns"), "orders", orders.columns)
    n = int(npartitions or max(contacts.npartitions, orders.npartitions))
    if n < 1:
        raise ValueError(f"npartitions must be at least 1, got {n}")

    contact_parts = _by_bucket(contacts, c_keys, "contact_id", n)
    order_parts = _by_bucket(orders, o_keys, "order_id", n)
    pairs = list(zip(contact_parts, order_parts))

    as_of = options.pop("as_of", None)
    if as_of is None:
        if options.get("on_invalid", "raise") == "drop":
            latest = [dask.delayed(_slice_as_of)(c, o, schemas, options) for c, o in pairs]
        else:
            # A reduction over the inputs, in the same graph as the states: each bucket is
            # then turned into its state as soon as as_of is known, not held for a max.
            latest = [contacts[c_keys["created_at"]].max(), orders[o_keys["created_at"]].max()]
        as_of = dask.delayed(_global_as_of)(*latest)
    results = [dask.delayed(_state, nout=3)(c, o, schemas, as_of, options) for c, o in pairs]
    states, seen = dask.compute(
        _tree(dask, [state for state, _, _ in results]),
        [(contacts_seen, orders_seen) for _, contacts_seen, orders_seen in results],
    )
    _check_alignment(seen)

    small = {}
    for name, table in (("sessions", sessions), ("events", events)):
        if table is not None and isinstance(table, dd.DataFrame):
            table = table.compute()
        small[name] = table
    return sk.merge(states, **small)
