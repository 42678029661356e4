"""Typed pandas frames from lists of dicts, for the small hand-built test data sets.

Columns get the dtypes a real export would have (tz-aware UTC timestamps, nullable Int64
ids, nullable booleans, float scores, string dimensions), so the tests exercise the same
conversions as users' data.
"""

import numpy as np
import pandas as pd

#: Mondays of twelve consecutive ISO weeks from 2024-01-01 (UTC).
W = [pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(weeks=k) for k in range(12)]

_IDS = {"contact_id", "order_id", "customer_id"}
_TIMES = {"created_at", "resolved_at", "first_response_at", "start", "end", "date"}
_BOOLS = {"escalated", "resolution_correct", "preventable"}
_FLOATS = {"csat", "nps", "ces", "cost", "handle_seconds", "revenue"}
_INTS = {"touches", "sessions"}


def at(week, days=0, hours=10, minutes=0):
    """A point in week `week`: its Monday + days, at hours:minutes UTC."""
    return W[week] + pd.Timedelta(days=days, hours=hours, minutes=minutes)


def column(name, values):
    """One column with the dtype its name calls for (None = null)."""
    values = [None if v is None or (not isinstance(v, str) and pd.isna(v)) else v for v in values]
    if name in _TIMES:
        return pd.array(
            [None if v is None else pd.Timestamp(v) for v in values], dtype="datetime64[us, UTC]"
        )
    if name in _IDS or name in _INTS:
        return pd.array(values, dtype="Int64")
    if name in _BOOLS:
        return pd.array(values, dtype="boolean")
    if name in _FLOATS:
        return np.array([np.nan if v is None else v for v in values], dtype="float64")
    return pd.array(values, dtype="str")


def table(rows, id_column=None):
    """A typed frame from a list of dicts; `id_column` gets 1..n."""
    names = []
    for row in rows:
        names.extend(k for k in row if k not in names)
    data = {}
    if id_column is not None:
        data[id_column] = column(id_column, list(range(1, len(rows) + 1)))
    for name in names:
        data[name] = column(name, [row.get(name) for row in rows])
    return pd.DataFrame(data)


def contacts(rows):
    """Contacts with ids 1..n; customer_id defaults to null (anonymous)."""
    return table([{"customer_id": None, **r} for r in rows], "contact_id")


def orders(rows):
    """Orders with ids 1..n; customer_id defaults to null, revenue to 10."""
    return table([{"customer_id": None, "revenue": 10.0, **r} for r in rows], "order_id")


def events(*rows):
    """(name, kind, start, end) tuples."""
    return table([{"name": n, "kind": k, "start": s, "end": e} for n, k, s, e in rows])


def sessions(*rows):
    """(day, sessions[, device]) tuples: pre-counted rows."""
    out = []
    for row in rows:
        r = {"date": row[0], "sessions": row[1]}
        if len(row) > 2:
            r["device"] = row[2]
        out.append(r)
    return table(out)
