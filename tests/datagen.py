"""Synthetic contacts / orders / sessions tables, dense in the edge cases of SPEC.md.

`make_tables(n_contacts, seed)` returns three pandas DataFrames with every SPEC §1 column.
The data are valid (they pass the library's validation) but busy:

* few customers relative to contacts (skewed), so the per-customer joins have many pairs;
* created_at rounded to whole hours / minutes / seconds in part, so ties happen, plus
  some microsecond-precision values;
* planted boundaries: two contacts of one customer at the same instant (attribution ties),
  orders exactly at a contact's created_at (excluded) and exactly at +7 days (included),
  one microsecond after +7 days (excluded), repeats at exactly +14 days, recontacts at exactly
  resolved_at and resolved_at + 48 h, contacts at local Monday midnights (UTC and
  America/New_York), resolved_at exactly at a week end, contacts exactly 7 d / 14 d and a
  resolution exactly 48 h before as_of;
* ~3% anonymous contacts and orders, null intents, intents outside the taxonomy, null
  handled_by (some of them escalated), nulls in every optional column;
* integer ids (`ids="int"`) or string ids whose lexicographic order differs from their
  numeric order (`ids="str"`);
* about 8 weeks of data spanning the US and EU daylight-saving changes of March 2024;
* rows shuffled (input order is not time order).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

SECOND = 1_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
WEEK = 7 * DAY

# Wednesday 2024-02-28 05:13 UTC: the first period is partial, the US DST change
# (2024-03-10) and the EU one (2024-03-31) both fall inside the data.
START_US = int(pd.Timestamp("2024-02-28 05:13:00", tz="UTC").value // 1000)
SPAN_US = 8 * WEEK + 3 * DAY

INTENTS = [
    "order_tracking",
    "shipping_info",
    "payment_issue",
    "promo_confusion",
    "returns",
    "product_question",
    "cancellation",
    "damaged_item",
    "account",
    "other",
    "unknown",
    "gift_wrap",  # outside the taxonomy: its own issue key, not preventable
    "Order_Tracking",  # case matters: not order_tracking
]
INTENT_P = [0.22, 0.08, 0.06, 0.06, 0.14, 0.1, 0.05, 0.05, 0.05, 0.05, 0.02, 0.06, 0.06]
CHANNELS = ["email", "chat", "phone", "social", "sms", "self_service"]
CHANNEL_P = [0.3, 0.25, 0.15, 0.08, 0.07, 0.15]


def _round_times(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """Round part of the timestamps to whole hours / minutes / seconds (ties happen)."""
    u = rng.random(len(t))
    t = t.copy()
    t[u < 0.3] = t[u < 0.3] // HOUR * HOUR
    m = (u >= 0.3) & (u < 0.65)
    t[m] = t[m] // MINUTE * MINUTE
    m = (u >= 0.65) & (u < 0.9)
    t[m] = t[m] // SECOND * SECOND
    return t  # the rest keeps microseconds


def _utc(us: np.ndarray, null: np.ndarray | None = None) -> pd.Series:
    s = pd.Series(pd.to_datetime(us.astype("int64"), unit="us", utc=True))
    if null is not None:
        s[null] = pd.NaT
    return s


def _with_nulls(rng, values, p: float, dtype=None) -> pd.Series:
    s = pd.Series(values, dtype=dtype)
    s[rng.random(len(s)) < p] = None
    return s


def _monday_midnights(tz: str) -> list[int]:
    out = []
    for k in range(10):
        day = pd.Timestamp("2024-02-26") + pd.Timedelta(days=7 * k)
        out.append(int(day.tz_localize(tz).tz_convert("UTC").value // 1000))
    return out


def make_tables(
    n_contacts: int,
    seed: int,
    *,
    ids: str = "int",
    n_orders: int | None = None,
    preventable_column: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(contacts, orders, sessions) with every SPEC §1 column; see the module docstring."""
    if ids not in ("int", "str"):
        raise ValueError(ids)
    rng = np.random.default_rng(seed)
    n = int(n_contacts)
    n_ord = int(n_orders if n_orders is not None else 2 * n)
    n_cust = max(10, n // 4)

    # customers, skewed: weight ~ rank^-0.5
    w = 1.0 / np.sqrt(np.arange(1, n_cust + 1))
    w /= w.sum()
    cust_perm = rng.permutation(n_cust) + 1

    # ------------------------------------------------------------------ contacts -------
    cust = cust_perm[rng.choice(n_cust, size=n, p=w)].astype("int64")
    anon = rng.random(n) < 0.03
    t = START_US + rng.integers(0, SPAN_US, size=n)
    t = _round_times(rng, t)
    intent = rng.choice(np.array(INTENTS, dtype=object), size=n, p=INTENT_P)
    intent[rng.random(n) < 0.05] = None
    channel = rng.choice(np.array(CHANNELS, dtype=object), size=n, p=CHANNEL_P)
    channel[rng.random(n) < 0.02] = None
    hb = np.where(
        channel == "self_service",
        "self_service",
        rng.choice(np.array(["ai", "human"], dtype=object), size=n, p=[0.45, 0.55]),
    ).astype(object)
    hb[rng.random(n) < 0.05] = None
    u = rng.random(n)
    escalated = np.where(hb == "human", u < 0.03, u < 0.25).astype(object)
    escalated[rng.random(n) < 0.05] = None

    frt_d = np.where(
        hb == "ai",
        rng.exponential(3 * MINUTE, n),
        rng.exponential(4 * HOUR, n),
    ).astype("int64")
    frt_d = _round_times(rng, frt_d)
    frt_d[rng.random(n) < 0.02] = 0
    frt_null = rng.random(n) < 0.1
    res_d = rng.lognormal(np.log(6 * HOUR), 1.2, n).astype("int64")
    res_d = _round_times(rng, res_d)
    res_d[rng.random(n) < 0.02] = 0
    res_null = rng.random(n) < np.where(t > START_US + SPAN_US - 5 * DAY, 0.3, 0.04)

    # -------------------------------------------------------------- planted edges -------
    # Each planted case rewrites a few rows; the index pools are disjoint.
    pool = iter(rng.permutation(n))

    def take(k: int) -> np.ndarray:
        return np.array([next(pool) for _ in range(k)], dtype="int64")

    k_edge = max(3, n // 200)
    early = START_US + 5 * WEEK  # planted sources lie before this so targets stay inside

    def early_sources(k: int) -> np.ndarray:
        idx = take(k)
        t[idx] = START_US + rng.integers(0, 5 * WEEK, size=k) // HOUR * HOUR
        anon[idx] = False
        return idx

    # (a) twins: same customer, same created_at (attribution ties by contact_id)
    src = early_sources(k_edge)
    dst = take(k_edge)
    cust[dst], anon[dst], t[dst] = cust[src], False, t[src]
    intent[dst] = np.where(rng.random(k_edge) < 0.5, intent[src], intent[dst])
    twins = src

    # (b) repeats at exactly +14 days (included) and +14 days + 1 us (excluded)
    src = early_sources(k_edge)
    dst = take(k_edge)
    cust[dst], anon[dst], intent[dst] = cust[src], False, intent[src]
    t[dst] = t[src] + 2 * WEEK + np.where(rng.random(k_edge) < 0.7, 0, 1)

    # (c) recontacts at exactly resolved_at (excluded) and resolved_at + 48 h (included)
    src = early_sources(k_edge)
    res_null[src] = False
    res_d[src] = rng.integers(0, 3 * DAY, size=k_edge) // MINUTE * MINUTE
    dst = take(k_edge)
    cust[dst], anon[dst], intent[dst] = cust[src], False, intent[src]
    t[dst] = t[src] + res_d[src] + np.where(rng.random(k_edge) < 0.6, 2 * DAY, 0)

    # (d) contacts at local Monday midnights (UTC and New York) and a resolution exactly
    #     at a week end in UTC (backlog counts it as still open at E)
    mids = _monday_midnights("UTC") + _monday_midnights("America/New_York")
    mids = [m for m in mids if START_US <= m < START_US + SPAN_US]
    idx = take(len(mids))
    t[idx] = mids
    idx = take(len(mids))
    t[idx] = np.array(mids) - rng.integers(1, 3 * DAY, size=len(mids)) // HOUR * HOUR
    res_null[idx] = False
    res_d[idx] = np.array(mids) - t[idx]

    # (e) null handled_by but escalated (the path of such a contact is null)
    idx = take(max(2, n // 1000))
    hb[idx] = None
    escalated[idx] = True

    # validation: durations must be >= 0
    frt_d = np.maximum(frt_d, 0)
    res_d = np.maximum(res_d, 0)

    # ---------------------------------------------------------------------- orders -------
    o_cust = cust_perm[rng.choice(n_cust, size=n_ord, p=w)].astype("int64")
    o_t = START_US + rng.integers(0, SPAN_US, size=n_ord)
    # 20% follow a contact of the same customer by up to ~10 days
    follow = rng.random(n_ord) < 0.2
    named = np.flatnonzero(~anon)
    src = named[rng.integers(0, len(named), size=int(follow.sum()))]
    o_cust[follow] = cust[src]
    o_t[follow] = t[src] + rng.exponential(2.5 * DAY, size=int(follow.sum())).astype("int64")
    o_t = _round_times(rng, o_t)

    opool = iter(rng.permutation(n_ord))

    def otake(k: int) -> np.ndarray:
        return np.array([next(opool) for _ in range(k)], dtype="int64")

    def plant_orders(srcs: np.ndarray, offset) -> None:
        idx = otake(len(srcs))
        o_cust[idx] = cust[srcs]
        o_t[idx] = t[srcs] + offset

    k_o = max(3, n_ord // 300)
    named_early = named[t[named] < early]
    pick = named_early[rng.integers(0, len(named_early), size=k_o)]
    plant_orders(pick, 0)  # exactly at the contact: excluded
    pick = named_early[rng.integers(0, len(named_early), size=k_o)]
    plant_orders(pick, WEEK)  # exactly at +7 days: included
    pick = named_early[rng.integers(0, len(named_early), size=k_o)]
    plant_orders(pick, WEEK + 1)  # +7 days + 1 us: excluded
    plant_orders(twins, HOUR)  # attributed to the twin with the greater contact_id
    plant_orders(twins, WEEK)
    o_anon = rng.random(n_ord) < 0.03
    # keep orders inside the observed span (their max defines as_of with the contacts)
    o_t = np.minimum(o_t, START_US + SPAN_US)

    # ------------------------------------------------- the as_of boundary (§2, §8.1) -----
    as_of = int(max(t.max(), o_t.max()))
    idx = take(3)
    anon[idx] = False
    t[idx[0]] = as_of - WEEK  # recovery_mature exactly on the edge
    t[idx[1]] = as_of - 2 * WEEK  # repeat_mature exactly on the edge
    t[idx[2]] = as_of - 3 * DAY
    res_null[idx[2]] = False
    res_d[idx[2]] = DAY  # resolved_at + 48 h == as_of: recontact_mature on the edge
    # and one contact at exactly as_of, a tie with the latest order
    idx = take(1)
    t[idx] = as_of

    # ------------------------------------------------------------ assemble contacts ------
    created = _utc(t)
    first_resp = _utc(t + frt_d, frt_null)
    resolved = _utc(t + res_d, res_null)

    has_hb = np.array([h is not None for h in hb], dtype=bool)
    esc_true = np.array([e is True for e in escalated], dtype=bool)
    human_path = (hb == "human") | (has_hb & esc_true)
    handle = np.where(human_path, rng.gamma(2.0, 360.0, n), rng.gamma(1.0, 30.0, n))
    handle = np.round(handle, 1)
    handle[rng.random(n) < 0.03] = 0.0
    handle[rng.random(n) < 0.1] = np.nan
    touches = pd.array(rng.integers(0, 5, size=n), dtype="Int64")
    touches[rng.random(n) < 0.1] = pd.NA
    csat = rng.choice([1.0, 2.0, 3.0, 4.0, 5.0], size=n, p=[0.1, 0.07, 0.1, 0.25, 0.48])
    csat[rng.random(n) < 0.55] = np.nan
    nps = rng.integers(0, 11, size=n).astype(float)
    nps[rng.random(n) < 0.7] = np.nan
    ces = rng.integers(1, 8, size=n).astype(float)
    ces[rng.random(n) < 0.7] = np.nan
    cost = np.round(np.where(human_path, rng.gamma(3.0, 2.5, n), rng.gamma(1.0, 0.4, n)), 2)
    cost[rng.random(n) < 0.05] = np.nan
    ai_resolved = (hb == "ai") & ~esc_true & ~res_null
    rc = np.where(rng.random(n) < 0.92, True, False).astype(object)
    rc[~ai_resolved & (rng.random(n) < 0.97)] = None  # a few QA verdicts on non-AI rows
    rc[ai_resolved & (rng.random(n) < 0.4)] = None

    if ids == "int":
        contact_id = pd.Series(rng.permutation(n) * 3 + 1000, dtype="int64")
        customer_id = pd.Series(cust, dtype="Int64")
    else:
        contact_id = pd.Series([f"C{k}" for k in rng.permutation(n) * 3 + 7], dtype=object)
        customer_id = pd.Series([f"cust-{k}" for k in cust], dtype=object)
    customer_id[anon] = None

    contacts = pd.DataFrame(
        {
            "contact_id": contact_id,
            "customer_id": customer_id,
            "created_at": created,
            "channel": pd.Series(channel, dtype=object),
            "intent": pd.Series(intent, dtype=object),
            "handled_by": pd.Series(hb, dtype=object),
            "escalated": pd.Series(escalated, dtype="boolean"),
            "first_response_at": first_resp,
            "resolved_at": resolved,
            "handle_seconds": handle,
            "touches": touches,
            "csat": csat,
            "nps": nps,
            "ces": ces,
            "cost": cost,
            "agent_id": _with_nulls(
                rng, [f"agent_{k:02d}" for k in rng.integers(0, 25, size=n)], 0.3
            ),
            "device": _with_nulls(rng, rng.choice(["mobile", "desktop", "tablet"], size=n), 0.1),
            "journey_step": _with_nulls(
                rng,
                rng.choice(["checkout", "cart", "post_purchase", "product_discovery"], size=n),
                0.2,
            ),
            "campaign": _with_nulls(
                rng, rng.choice(["spring_sale", "easter", "none"], size=n), 0.5
            ),
            "template": _with_nulls(rng, rng.choice(["tpl_a", "tpl_b", "tpl_c"], size=n), 0.5),
            "segment": _with_nulls(rng, rng.choice(["vip", "new", "returning"], size=n), 0.2),
            "resolution_correct": pd.Series(rc, dtype="boolean"),
        }
    )
    if preventable_column:
        pv = np.where(rng.random(n) < 0.5, True, False).astype(object)
        pv[rng.random(n) < 0.7] = None
        contacts["preventable"] = pd.Series(pv, dtype="boolean")
    # string-ish columns as pandas' default string dtype (nulls stay nulls)
    for col in ("channel", "intent", "handled_by"):
        contacts[col] = contacts[col].astype("str").where(contacts[col].notna(), None)
    contacts = contacts.iloc[rng.permutation(n)].reset_index(drop=True)

    # -------------------------------------------------------------- assemble orders -----
    revenue = np.round(rng.lognormal(np.log(60), 0.8, n_ord), 2)
    revenue[rng.random(n_ord) < 0.01] = 0.0

    def opt(p_null: float, scale: float) -> np.ndarray:
        v = np.round(revenue * rng.random(n_ord) * scale, 2)
        v[rng.random(n_ord) < p_null] = np.nan
        return v

    if ids == "int":
        order_id = pd.Series(rng.permutation(n_ord) + 500_000, dtype="int64")
        o_customer = pd.Series(o_cust, dtype="Int64")
    else:
        order_id = pd.Series([f"O{k}" for k in rng.permutation(n_ord) + 1], dtype=object)
        o_customer = pd.Series([f"cust-{k}" for k in o_cust], dtype=object)
    o_customer[o_anon] = None
    orders = pd.DataFrame(
        {
            "order_id": order_id,
            "customer_id": o_customer,
            "created_at": _utc(o_t),
            "revenue": revenue,
            "refund": opt(0.9, 1.0),
            "discount": opt(0.6, 0.2),
            "appeasement": opt(0.97, 0.1),
            "cogs": opt(0.1, 0.5),
            "device": _with_nulls(rng, rng.choice(["mobile", "desktop", "tablet"], n_ord), 0.05),
            "channel": _with_nulls(rng, rng.choice(["web", "app", "marketplace"], n_ord), 0.05),
            "segment": _with_nulls(rng, rng.choice(["vip", "new", "returning"], n_ord), 0.2),
        }
    )
    orders = orders.iloc[rng.permutation(n_ord)].reset_index(drop=True)

    # ------------------------------------------------------------ sessions (counted) -----
    first_day = pd.Timestamp(START_US * 1000, tz="UTC").date()
    n_days = SPAN_US // DAY + 2
    days = [first_day + dt.timedelta(days=k) for k in range(n_days)]
    rows = []
    for d in days:
        for device in ("mobile", "desktop"):
            rows.append((d, int(rng.integers(300, 900) * n_ord // 1000), device))
    sessions = pd.DataFrame(rows, columns=["date", "sessions", "device"])
    sessions["sessions"] = sessions["sessions"].astype("int64")
    return contacts, orders, sessions


if __name__ == "__main__":
    c, o, s = make_tables(50_000, 1)
    print(c.dtypes, o.dtypes, s.dtypes, sep="\n\n")
    print(c.head().T)
    print(
        len(c),
        len(o),
        c["customer_id"].nunique(),
        c["created_at"].min(),
        o["created_at"].max(),
    )
