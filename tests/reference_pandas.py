"""An independent plain-pandas/numpy reference implementation of the supportkpi contract.

Written from SPEC.md (§1-§5, §8) and docs/semantics.md only; it does not import supportkpi.
It is deliberately simple (merges on customer_id followed by window filters, one Python
loop over output cells) so that it can be read against the SPEC line by line. It is used by
tests/test_differential.py to check the library on large generated tables.

Conventions used throughout:

* every timestamp is turned into float64 microseconds since the epoch (UTC). All values are
  integers below 2**53, so sums/differences of them are exact, matching the SPEC's "integer
  microseconds, then divided" rule (hours = us / 3.6e9, minutes = us / 6e7);
* nanosecond inputs are floored to microseconds (docs/semantics.md, "Timestamps");
* null numbers are NaN; null strings are None.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

US_PER_HOUR = 3.6e9
US_PER_MINUTE = 6e7

# SPEC §4: intent -> (journey_step, preventable, policy, checkout_shipping)
TAXONOMY: dict[str, tuple[str, bool, bool, bool]] = {
    "order_tracking": ("post_purchase", True, False, True),
    "shipping_info": ("checkout", True, False, True),
    "payment_issue": ("checkout", False, False, True),
    "promo_confusion": ("cart", True, True, True),
    "returns": ("post_purchase", True, True, False),
    "product_question": ("product_discovery", True, False, False),
    "cancellation": ("post_purchase", False, False, False),
    "damaged_item": ("post_purchase", False, False, False),
    "account": ("account", False, False, False),
    "other": ("unknown", False, False, False),
    "unknown": ("unknown", False, False, False),
}
PREVENTABLE_INTENTS = frozenset(k for k, v in TAXONOMY.items() if v[1])
POLICY_INTENTS = frozenset(k for k, v in TAXONOMY.items() if v[2])
CHECKOUT_SHIPPING_INTENTS = frozenset(k for k, v in TAXONOMY.items() if v[3])

# default windows (SPEC §3, docs/semantics.md "Public API")
RECOVERY_WINDOW = pd.Timedelta(days=7)
REPEAT_WINDOW = pd.Timedelta(days=14)
RECONTACT_WINDOW = pd.Timedelta(hours=48)
REPURCHASE_WINDOW = pd.Timedelta(days=90)
BASELINE_WINDOW = pd.Timedelta(days=30)

ENRICH_COLUMNS = [
    "path",
    "resolved_without_human",
    "recovered_7d",
    "recovery_mature",
    "hours_to_next_order",
    "attributed_orders",
    "attributed_revenue",
    "repeat_14d",
    "repeat_mature",
    "recontact_48h",
    "recontact_mature",
    "preventable",
]


# --------------------------------------------------------------------------------------
# small conversions
# --------------------------------------------------------------------------------------
def ts_us(values) -> np.ndarray:
    """Timestamps -> float64 microseconds since the epoch, UTC; NaN for null.

    tz-aware values are instants; naive values are read as UTC; ns are floored to us.
    """
    s = pd.Series(values)
    if not isinstance(s.dtype, pd.DatetimeTZDtype) and not pd.api.types.is_datetime64_dtype(
        s.dtype
    ):
        s = pd.to_datetime(s, utc=True)
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    null = s.isna().to_numpy()
    ns = s.astype("datetime64[ns]").to_numpy().view("int64")
    out = np.floor_divide(ns, 1000).astype("float64")
    out[null] = np.nan
    return out


def td_us(window) -> float:
    """A timedelta-like window -> microseconds (float, exact for sane windows)."""
    return float(pd.Timedelta(window) // pd.Timedelta(microseconds=1))


def us_to_utc(us) -> pd.DatetimeIndex:
    return pd.to_datetime(np.asarray(us, dtype="int64"), unit="us", utc=True)


def default_as_of(contact_t: np.ndarray, order_t: np.ndarray) -> float:
    """SPEC §8.1: the largest created_at over contacts and orders."""
    return float(np.nanmax(np.concatenate([contact_t, order_t])))


def as_of_us(as_of, contact_t, order_t) -> float:
    if as_of is None:
        return default_as_of(contact_t, order_t)
    ts = pd.Timestamp(as_of)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return float(ts.tz_convert("UTC").value // 1000)


def _nullable_str(col: pd.Series) -> np.ndarray:
    """A string-ish column -> object array with None for nulls."""
    arr = col.astype(object).to_numpy()
    return np.array([None if _isnull(v) else v for v in arr], dtype=object)


def _isnull(v) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT


def _bool_or_false(col: pd.Series) -> np.ndarray:
    """Nullable boolean column -> bool array, null read as False."""
    return col.astype("boolean").fillna(False).to_numpy(dtype=bool)


def _float(col: pd.Series) -> np.ndarray:
    return pd.to_numeric(col).astype("Float64").to_numpy(dtype="float64", na_value=np.nan)


# --------------------------------------------------------------------------------------
# per-contact joins (SPEC §3)
# --------------------------------------------------------------------------------------
def _enrich_arrays(
    contacts: pd.DataFrame,
    orders: pd.DataFrame,
    as_of,
    recovery_window,
    repeat_window,
    recontact_window,
) -> dict:
    """All per-contact derived values as numpy arrays (row order = input order)."""
    c = contacts.reset_index(drop=True)
    o = orders.reset_index(drop=True)
    n = len(c)
    t = ts_us(c["created_at"])
    ot = ts_us(o["created_at"])
    asof = as_of_us(as_of, t, ot)
    w_rec = td_us(recovery_window)
    w_rep = td_us(repeat_window)
    w_rc = td_us(recontact_window)

    known = c["customer_id"].notna().to_numpy()
    res = ts_us(c["resolved_at"]) if "resolved_at" in c else np.full(n, np.nan)
    resolved = ~np.isnan(res)

    # ---- §3.1 / §3.2 / §3.3: contacts x orders of the same (non-null) customer --------
    left = pd.DataFrame(
        {
            "row": np.arange(n),
            "customer_id": c["customer_id"],
            "t": t,
            "contact_id": c["contact_id"],
        }
    )[known]
    okeep = o["customer_id"].notna().to_numpy()
    net = _float(o["revenue"]).copy()
    for col in ("refund", "discount", "appeasement", "cogs"):
        if col in o:
            net -= np.nan_to_num(_float(o[col]), nan=0.0)
    right = pd.DataFrame(
        {
            "order_row": np.arange(len(o)),
            "customer_id": o["customer_id"],
            "ot": ot,
            "revenue": _float(o["revenue"]),
            "net": net,
        }
    )[okeep]
    pairs = left.merge(right, on="customer_id", how="inner")
    # window (t, t + W]
    pairs = pairs[(pairs["ot"] > pairs["t"]) & (pairs["ot"] <= pairs["t"] + w_rec)]

    recovered = np.zeros(n, dtype=bool)
    hours_next = np.full(n, np.nan)
    first_order = pairs.groupby("row")["ot"].min()
    recovered[first_order.index.to_numpy()] = True
    hours_next[first_order.index.to_numpy()] = (
        first_order.to_numpy() - t[first_order.index.to_numpy()]
    ) / US_PER_HOUR

    # attribution: per order, the latest contact in the window; ties -> greatest contact_id
    # (natural order of the id: numeric for ints, lexicographic for strings).
    winners = pairs.sort_values(["order_row", "t", "contact_id"], kind="mergesort")
    winners = winners.drop_duplicates("order_row", keep="last")
    att_orders = np.zeros(n, dtype="int64")
    att_revenue = np.zeros(n, dtype="float64")
    att_net = np.zeros(n, dtype="float64")
    if len(winners):
        g = winners.groupby("row")
        cnt = g.size()
        att_orders[cnt.index.to_numpy()] = cnt.to_numpy()
        rev = g["revenue"].sum()
        att_revenue[rev.index.to_numpy()] = rev.to_numpy()
        nets = g["net"].sum()
        att_net[nets.index.to_numpy()] = nets.to_numpy()

    # ---- §3.4 / §3.5: contacts x contacts of the same customer and issue key -----------
    if "intent" in c:
        key = _nullable_str(c["intent"])
        keyed = known & np.array([k is not None for k in key], dtype=bool)
    else:
        key = np.full(n, "__all__", dtype=object)
        keyed = known.copy()
    kc = pd.DataFrame(
        {
            "row": np.arange(n),
            "customer_id": c["customer_id"],
            "key": key,
            "t": t,
            "res": res,
        }
    )[keyed]
    later = kc[["customer_id", "key", "t"]].rename(columns={"t": "t2"})

    rp = kc[["row", "customer_id", "key", "t"]].merge(later, on=["customer_id", "key"])
    rp = rp[(rp["t2"] > rp["t"]) & (rp["t2"] <= rp["t"] + w_rep)]
    repeat = np.zeros(n, dtype=bool)
    repeat[rp["row"].unique()] = True

    rc_src = kc[~np.isnan(kc["res"].to_numpy())][["row", "customer_id", "key", "res"]]
    rc = rc_src.merge(later, on=["customer_id", "key"])
    rc = rc[(rc["t2"] > rc["res"]) & (rc["t2"] <= rc["res"] + w_rc)]
    recontact = np.zeros(n, dtype=bool)
    recontact[rc["row"].unique()] = True

    # ---- §3.6 / §3.7 path ---------------------------------------------------------------
    if "handled_by" in c:
        hb = _nullable_str(c["handled_by"])
    else:
        hb = np.full(n, None, dtype=object)
    esc = _bool_or_false(c["escalated"]) if "escalated" in c else np.zeros(n, dtype=bool)
    path = np.full(n, None, dtype=object)
    for i in range(n):
        h = hb[i]
        if h is None:
            path[i] = None  # reading: null handled_by -> null path, even when escalated
        elif h == "human" or esc[i]:
            path[i] = "human"
        else:
            path[i] = h
    is_ss_ai = np.array([p in ("self_service", "ai") for p in path], dtype=bool)
    rwh = resolved & is_ss_ai

    # ---- §4 preventable ---------------------------------------------------------------
    intents = _nullable_str(c["intent"]) if "intent" in c else np.full(n, None, dtype=object)
    prev_tax = np.array([k in PREVENTABLE_INTENTS for k in intents], dtype=bool)
    if "preventable" in c:
        pcol = c["preventable"].astype("boolean")
        preventable = np.where(
            pcol.isna().to_numpy(), prev_tax, pcol.fillna(False).to_numpy(dtype=bool)
        )
    else:
        preventable = prev_tax

    return {
        "n": n,
        "t": t,
        "res": res,
        "resolved": resolved,
        "known": known,
        "as_of": asof,
        "order_t": ot,
        "path": path,
        "handled_by": hb,
        "escalated": esc,
        "intent": intents,
        "resolved_without_human": rwh,
        "recovered_7d": recovered & known,
        "recovery_mature": t + w_rec <= asof,
        "hours_to_next_order": hours_next,
        "attributed_orders": att_orders,
        "attributed_revenue": att_revenue,
        "attributed_net": att_net,
        "repeat_14d": repeat,
        "repeat_mature": t + w_rep <= asof,
        "recontact_48h": recontact,
        "recontact_mature": resolved & (res + w_rc <= asof),
        "preventable": preventable.astype(bool),
    }


def reference_enrich(
    contacts: pd.DataFrame,
    orders: pd.DataFrame,
    as_of=None,
    recovery_window=RECOVERY_WINDOW,
    repeat_window=REPEAT_WINDOW,
    recontact_window=RECONTACT_WINDOW,
) -> pd.DataFrame:
    """Per-contact columns of docs/semantics.md, one row per contact in input order."""
    a = _enrich_arrays(contacts, orders, as_of, recovery_window, repeat_window, recontact_window)
    out = contacts.reset_index(drop=True).copy()
    out["path"] = pd.Series(a["path"], dtype=object)
    out["resolved_without_human"] = a["resolved_without_human"]
    out["recovered_7d"] = a["recovered_7d"]
    out["recovery_mature"] = a["recovery_mature"]
    out["hours_to_next_order"] = a["hours_to_next_order"]
    out["attributed_orders"] = a["attributed_orders"]
    out["attributed_revenue"] = a["attributed_revenue"]
    out["repeat_14d"] = a["repeat_14d"]
    out["repeat_mature"] = a["repeat_mature"]
    rc = pd.array(a["recontact_48h"], dtype="boolean")
    rc[~a["resolved"]] = pd.NA  # SPEC §8.10
    out["recontact_48h"] = rc
    out["recontact_mature"] = a["recontact_mature"]
    out["preventable"] = a["preventable"]
    return out


# --------------------------------------------------------------------------------------
# periods (SPEC §2, §8.2, §8.3)
# --------------------------------------------------------------------------------------
def local_dates(us: np.ndarray, tz: str) -> np.ndarray:
    """UTC microseconds -> local calendar date (datetime64[D]) in tz; NaT for NaN."""
    ok = ~np.isnan(us)
    out = np.full(len(us), np.datetime64("NaT", "D"), dtype="datetime64[D]")
    if ok.any():
        loc = us_to_utc(us[ok].astype("int64")).tz_convert(tz).tz_localize(None)
        out[ok] = loc.to_numpy().astype("datetime64[D]")
    return out


def monday_of(days: np.ndarray) -> np.ndarray:
    """datetime64[D] -> the Monday of its ISO week (datetime64[D])."""
    # 1970-01-01 was a Thursday: weekday (Mon=0) = (days + 3) % 7
    d = days.astype("int64")
    return (d - (d + 3) % 7).astype("datetime64[D]")


def local_midnight_us(day: np.datetime64, tz: str) -> float:
    """Local 00:00 of a calendar date in tz as UTC microseconds.

    A nonexistent midnight (DST gap) moves to the first valid time after it; an ambiguous
    one takes the first occurrence.
    """
    ts = pd.Timestamp(day).tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
    return float(ts.tz_convert("UTC").value // 1000)


def _group_codes(c: pd.DataFrame, group_by: list[str] | None):
    """Group code per contact and the list of group value tuples (null is a group)."""
    n = len(c)
    if not group_by:
        return np.zeros(n, dtype="int64"), [()]
    cols = [_nullable_str(c[g]) if c[g].dtype != bool else c[g].to_numpy() for g in group_by]
    keys = list(zip(*cols, strict=True)) if n else []
    index: dict[tuple, int] = {}
    codes = np.empty(n, dtype="int64")
    for i, k in enumerate(keys):
        codes[i] = index.setdefault(k, len(index))
    return codes, list(index)


# --------------------------------------------------------------------------------------
# KPI helpers: each returns (value, numerator, denominator) per SPEC §8.17
# --------------------------------------------------------------------------------------
NAN = float("nan")


def _count(x) -> tuple[float, float, float]:
    x = float(x)
    return x, x, NAN


def _ratio(num, den) -> tuple[float, float, float]:
    num, den = float(num), float(den)
    return (num / den if den != 0 else NAN), num, den


def _mean(vals: np.ndarray) -> tuple[float, float, float]:
    vals = vals[~np.isnan(vals)]
    s, k = float(vals.sum()), float(len(vals))
    return (s / k if k else NAN), s, k


def _quantile(vals: np.ndarray, q: float) -> tuple[float, float, float]:
    vals = vals[~np.isnan(vals)]
    if len(vals) == 0:
        return NAN, NAN, 0.0
    return float(np.quantile(vals, q)), NAN, float(len(vals))


def reference_weekly_kpis(
    contacts: pd.DataFrame,
    orders: pd.DataFrame,
    sessions: pd.DataFrame | None = None,
    tz: str = "UTC",
    group_by=None,
    as_of=None,
    recovery_window=RECOVERY_WINDOW,
    repeat_window=REPEAT_WINDOW,
    recontact_window=RECONTACT_WINDOW,
    repurchase_window=REPURCHASE_WINDOW,
    baseline_window=BASELINE_WINDOW,
    clv_lifespan_days: float = 3 * 365,
) -> pd.DataFrame:
    """Weekly scorecard in the long format of docs/semantics.md (no unit column).

    Columns: period_start (datetime64[us, tz]), one column per group_by key, kpi, value,
    numerator, denominator.
    """
    if isinstance(group_by, str):
        group_by = [group_by]
    c = contacts.reset_index(drop=True)
    o = orders.reset_index(drop=True)
    a = _enrich_arrays(c, o, as_of, recovery_window, repeat_window, recontact_window)
    n = a["n"]
    t, res, asof = a["t"], a["res"], a["as_of"]
    ot = a["order_t"]
    resolved, known, path = a["resolved"], a["known"], a["path"]
    hb, esc, intent = a["handled_by"], a["escalated"], a["intent"]

    # ---- periods ------------------------------------------------------------------------
    c_day = local_dates(t, tz)
    o_day = local_dates(ot, tz)
    c_mon = monday_of(c_day)
    o_mon = monday_of(o_day)
    all_days = np.concatenate([c_day, o_day])
    first_day = all_days.min()
    asof_day = local_dates(np.array([asof]), tz)[0]
    last_mon = max(monday_of(np.array([asof_day]))[0], monday_of(np.array([all_days.max()]))[0])
    week = np.timedelta64(7, "D")
    mondays = np.arange(monday_of(np.array([first_day]))[0], last_mon + week, week)
    n_periods = len(mondays)
    starts = np.array([local_midnight_us(m, tz) for m in mondays] + [0.0])
    starts[-1] = local_midnight_us(mondays[-1] + week, tz)  # end of the last period
    c_per = ((c_mon - mondays[0]).astype("int64") // 7).astype("int64")
    o_per = ((o_mon - mondays[0]).astype("int64") // 7).astype("int64")

    # ---- period totals (not split by contact group, SPEC §8.4) -------------------------
    revenue = _float(o["revenue"])
    orders_per = np.bincount(o_per, minlength=n_periods).astype(float)
    revenue_per = np.bincount(o_per, weights=revenue, minlength=n_periods)
    sessions_per = None
    if sessions is not None:
        s = sessions.reset_index(drop=True)
        if "date" in s:
            sd = pd.to_datetime(pd.Series(s["date"])).to_numpy().astype("datetime64[D]")
        else:
            sd = local_dates(ts_us(s["started_at"]), tz)
        counts = _float(s["sessions"]) if "sessions" in s else np.ones(len(s))
        sp = ((monday_of(sd) - mondays[0]).astype("int64") // 7).astype("int64")
        inside = (sp >= 0) & (sp < n_periods)
        sessions_per = np.bincount(
            sp[inside], weights=np.nan_to_num(counts[inside]), minlength=n_periods
        )
    contacts_per_all = np.bincount(c_per, minlength=n_periods).astype(float)

    # retention (period totals)
    o_cust = o["customer_id"].astype(object).to_numpy()
    o_known = o["customer_id"].notna().to_numpy()
    buyers = [set() for _ in range(n_periods)]
    for p, cu, k in zip(o_per, o_cust, o_known, strict=True):
        if k:
            buyers[p].add(cu)
    retention = []
    for p in range(n_periods):
        prev = buyers[p - 1] if p > 0 else set()
        retention.append(_ratio(len(prev & buyers[p]), len(prev)))

    # clv_simple (period totals)
    days_in_period = 7.0
    clv = []
    for p in range(n_periods):
        with_cust = o_known & (o_per == p)
        aov = revenue_per[p] / orders_per[p] if orders_per[p] else NAN
        opc = with_cust.sum() / len(buyers[p]) if buyers[p] else NAN
        clv.append((aov * opc * (clv_lifespan_days / days_in_period), NAN, NAN))

    # repurchase (no contact) — period totals
    w_rp = td_us(repurchase_window)
    orders_df = pd.DataFrame({"customer_id": o["customer_id"], "ot": ot, "per": o_per})[o_known]
    c_cust_obj = c["customer_id"].astype(object).to_numpy()
    contacted = [set() for _ in range(n_periods)]
    for p, cu, k in zip(c_per, c_cust_obj, known, strict=True):
        if k:
            contacted[p].add(cu)
    rp_nc = []
    for p in range(n_periods):
        op = orders_df[orders_df["per"] == p]
        op = op[~op["customer_id"].astype(object).isin(contacted[p])]
        first = op.groupby("customer_id", sort=False)["ot"].min().rename("t0").reset_index()
        rp_nc.append(_repurchase(first, orders_df, w_rp, asof))

    # ---- groups -------------------------------------------------------------------------
    codes, group_values = _group_codes(c, group_by)

    # per-contact values
    frt = (
        (ts_us(c["first_response_at"]) - t) / US_PER_MINUTE
        if "first_response_at" in c
        else np.full(n, np.nan)
    )
    res_h = (res - t) / US_PER_HOUR
    csat = _float(c["csat"]) if "csat" in c else np.full(n, np.nan)
    nps = _float(c["nps"]) if "nps" in c else np.full(n, np.nan)
    ces = _float(c["ces"]) if "ces" in c else np.full(n, np.nan)
    cost = np.nan_to_num(_float(c["cost"]), nan=0.0) if "cost" in c else np.zeros(n)
    handle_min = _float(c["handle_seconds"]) / 60.0 if "handle_seconds" in c else np.full(n, np.nan)
    touches = _float(c["touches"]) if "touches" in c else np.full(n, np.nan)
    rc_correct = c["resolution_correct"].astype("boolean") if "resolution_correct" in c else None
    reviewed = rc_correct.notna().to_numpy() if rc_correct is not None else np.zeros(n, dtype=bool)
    correct = (
        rc_correct.fillna(False).to_numpy(dtype=bool)
        if rc_correct is not None
        else np.zeros(n, dtype=bool)
    )
    is_ai_path = path == "ai"
    is_human_path = path == "human"
    is_ss_path = path == "self_service"
    hb_ss = hb == "self_service"
    hb_ai = hb == "ai"
    wismo = intent == "order_tracking"
    policy = np.array([k in POLICY_INTENTS for k in intent], dtype=bool)
    cs_intent = np.array([k in CHECKOUT_SHIPPING_INTENTS for k in intent], dtype=bool)
    rec_m = a["recovery_mature"]
    rep_m = a["repeat_mature"]
    rc_m = a["recontact_mature"]
    rec_num_mask = rec_m & known & a["recovered_7d"]
    touches_ok = np.isnan(touches) | (touches <= 1)

    # days for peak_to_trough: observed range [first_day, the later of asof_day and the
    # last data day] (docs/semantics.md: an early as_of drops no row)
    obs_days = np.arange(first_day, max(asof_day, all_days.max()) + np.timedelta64(1, "D"))
    day_index = {d: i for i, d in enumerate(obs_days)}
    obs_day_per = ((monday_of(obs_days) - mondays[0]).astype("int64") // 7).astype("int64")
    c_day_idx = np.array([day_index.get(d, -1) for d in c_day], dtype="int64")

    # baseline days for cost_per_resolved_vs_baseline: [monday - baseline, monday)
    bw_days = int(pd.Timedelta(baseline_window) / pd.Timedelta(days=1))

    rows = []
    for g, gvals in enumerate(group_values):
        in_g = codes == g
        g_day_counts = np.bincount(
            c_day_idx[in_g & (c_day_idx >= 0)], minlength=len(obs_days)
        ).astype(float)
        for p in range(n_periods):
            m = in_g & (c_per == p)
            k: dict[str, tuple[float, float, float]] = {}
            n_c = float(m.sum())
            k["contacts"] = _count(n_c)
            k["orders"] = _count(orders_per[p])
            k["tickets_per_order"] = _ratio(n_c, orders_per[p])
            if sessions_per is not None:
                k["conversion_rate"] = _ratio(orders_per[p], sessions_per[p])
                k["preventable_contact_rate"] = _ratio(
                    (m & a["preventable"]).sum(), sessions_per[p]
                )
            k["deflection_rate"] = _ratio((m & a["resolved_without_human"]).sum(), n_c)
            k["self_service_resolution_rate"] = _ratio(
                (m & hb_ss & resolved & ~esc).sum(), (m & hb_ss).sum()
            )
            k["ai_resolution_rate"] = _ratio((m & hb_ai & resolved & ~esc).sum(), (m & hb_ai).sum())
            k["escalation_rate"] = _ratio((m & hb_ai & esc).sum(), (m & hb_ai).sum())
            ai_res_rev = m & is_ai_path & resolved & reviewed
            k["resolution_accuracy"] = _ratio((ai_res_rev & correct).sum(), ai_res_rev.sum())
            k["recovery_rate_7d"] = _ratio((m & rec_num_mask).sum(), (m & rec_m & known).sum())
            k["recovery_hours_median"] = _quantile(a["hours_to_next_order"][m & rec_num_mask], 0.5)
            mm = m & rec_m
            k["recovered_revenue"] = _count(a["attributed_revenue"][mm].sum())
            k["recovered_revenue_assisted"] = _count(
                a["attributed_revenue"][mm & (is_ai_path | is_human_path)].sum()
            )
            k["recovered_revenue_self_service"] = _count(
                a["attributed_revenue"][mm & is_ss_path].sum()
            )
            k["recovered_margin"] = _count(a["attributed_net"][mm].sum() - cost[mm].sum())
            k["repeat_contact_rate_14d"] = _ratio(
                (m & rep_m & known & a["repeat_14d"]).sum(), (m & rep_m & known).sum()
            )
            rc_den = m & rc_m & known
            k["recontact_rate_48h"] = _ratio((rc_den & a["recontact_48h"]).sum(), rc_den.sum())
            k["fcr_rate"] = _ratio((rc_den & touches_ok & ~a["recontact_48h"]).sum(), rc_den.sum())
            k["frt_median"] = _quantile(frt[m], 0.5)
            k["frt_p90"] = _quantile(frt[m], 0.9)
            k["frt_median_ai"] = _quantile(frt[m & is_ai_path], 0.5)
            k["frt_median_human"] = _quantile(frt[m & is_human_path], 0.5)
            k["resolution_time_median"] = _quantile(res_h[m], 0.5)
            k["resolution_time_p90"] = _quantile(res_h[m], 0.9)
            k["aht_minutes"] = _mean(handle_min[m & resolved & is_human_path])
            # backlog at the period end E (next start), over all contacts of the group
            e = starts[p + 1]
            open_at_e = in_g & (t < e) & (np.isnan(res) | (res >= e))
            ages = (e - t[open_at_e]) / US_PER_HOUR
            k["backlog_open"] = _count(open_at_e.sum())
            k["backlog_age_hours"] = (
                (ages.sum() / len(ages)) if len(ages) else NAN,
                float(ages.sum()),
                float(len(ages)),
            )
            k["csat_mean"] = _mean(csat[m])
            rated = m & ~np.isnan(csat)
            k["csat_satisfied_rate"] = _ratio((rated & (csat >= 4)).sum(), rated.sum())
            k["csat_ai"] = _mean(csat[m & is_ai_path])
            k["csat_human"] = _mean(csat[m & is_human_path])
            gap = abs(k["csat_ai"][0] - k["csat_human"][0])
            k["csat_ai_human_gap"] = (gap, NAN, NAN)
            neg = rated & (csat <= 2)
            k["negative_csat_checkout_shipping_share"] = _ratio((neg & cs_intent).sum(), neg.sum())
            nrated = m & ~np.isnan(nps)
            promo = (nrated & (nps >= 9)).sum()
            detr = (nrated & (nps <= 6)).sum()
            nden = float(nrated.sum())
            k["nps"] = (
                100.0 * (promo - detr) / nden if nden else NAN,
                float(promo - detr),
                nden,
            )
            k["ces_mean"] = _mean(ces[m])
            tot_cost = float(cost[m].sum())
            k["cost_per_contact"] = _ratio(tot_cost, n_c)
            cur = _ratio(tot_cost, (m & resolved).sum())
            k["cost_per_resolved_contact"] = cur
            lo, hi = mondays[p] - np.timedelta64(bw_days, "D"), mondays[p]
            bm = in_g & (c_day >= lo) & (c_day < hi)
            base = _ratio(cost[bm].sum(), (bm & resolved).sum())[0]
            ok = not math.isnan(cur[0]) and not math.isnan(base) and base != 0
            k["cost_per_resolved_vs_baseline"] = (
                cur[0] / base - 1 if ok else NAN,
                cur[0],
                base,
            )
            k["support_cost_to_revenue"] = _ratio(tot_cost, revenue_per[p])
            k["wismo_share"] = _ratio((m & wismo).sum(), n_c)
            k["policy_contact_share"] = _ratio((m & policy).sum(), n_c)
            if group_by:
                k["volume_share"] = _ratio(n_c, contacts_per_all[p])
            dmask = obs_day_per == p
            if dmask.any():
                dc = g_day_counts[dmask]
                k["peak_to_trough"] = _ratio(dc.max(), dc.min())
            else:
                k["peak_to_trough"] = (NAN, NAN, NAN)
            # repurchase_rate_90d: customers with a contact in the cell, from their first one
            cm = m & known
            # first contact of each customer in the cell, contacts ordered by (created_at,
            # contact_id): on equal created_at the smallest contact_id is the first one (a
            # reading; docs/semantics.md does not say - the mirror of attribution's rule)
            first = (
                pd.DataFrame(
                    {
                        "customer_id": c["customer_id"][cm],
                        "t0": t[cm],
                        "contact_id": c["contact_id"][cm],
                        "csat": csat[cm],
                    }
                )
                .sort_values(["t0", "contact_id"], kind="mergesort")
                .drop_duplicates("customer_id", keep="first")
            )
            k["repurchase_rate_90d"] = _repurchase(first, orders_df, w_rp, asof)
            fc = first["csat"].to_numpy()
            k["repurchase_rate_90d_satisfied"] = _repurchase(first[fc >= 4], orders_df, w_rp, asof)
            k["repurchase_rate_90d_unsatisfied"] = _repurchase(first[fc < 4], orders_df, w_rp, asof)
            k["repurchase_rate_90d_unrated"] = _repurchase(
                first[np.isnan(fc)], orders_df, w_rp, asof
            )
            k["repurchase_rate_90d_no_contact"] = rp_nc[p]
            k["retention_rate"] = retention[p]
            k["clv_simple"] = clv[p]
            for kpi, (v, num, den) in k.items():
                rows.append((p, *gvals, kpi, v, num, den))

    gcols = list(group_by or [])
    out = pd.DataFrame(
        rows, columns=["_p", *gcols, "kpi", "value", "numerator", "denominator"]
    ).astype({"value": "float64", "numerator": "float64", "denominator": "float64"})
    ps = us_to_utc(starts[:-1].astype("int64")).tz_convert(tz)
    out.insert(0, "period_start", ps[out["_p"].to_numpy()])
    return out.drop(columns="_p")


def _repurchase(first: pd.DataFrame, orders_df: pd.DataFrame, window: float, asof: float):
    """first: customer_id, t0. Mature: t0 + window <= as_of; repurchased: an order of the
    customer in (t0, t0 + window]."""
    mature = first[first["t0"] + window <= asof]
    if len(mature) == 0:
        return _ratio(0, 0)
    j = mature.merge(orders_df[["customer_id", "ot"]], on="customer_id")
    j = j[(j["ot"] > j["t0"]) & (j["ot"] <= j["t0"] + window)]
    return _ratio(j["customer_id"].nunique(), len(mature))


if __name__ == "__main__":  # small hand-checkable sanity run
    utc = dt.UTC
    T = dt.datetime(2024, 3, 4, 10, 0, tzinfo=utc)  # a Monday
    H = dt.timedelta(hours=1)
    D = dt.timedelta(days=1)
    contacts = pd.DataFrame(
        {
            "contact_id": [1, 2, 3, 4, 5],
            "customer_id": pd.array([10, 10, 10, None, 11], dtype="Int64"),
            "created_at": pd.to_datetime([T, T, T + 14 * D, T + H, T + 2 * D], utc=True),
            "intent": ["returns", "returns", "returns", "returns", None],
            "handled_by": ["ai", "human", "ai", None, "self_service"],
            "escalated": pd.array([False, None, True, True, None], dtype="boolean"),
            "resolved_at": pd.to_datetime([T + H, None, T + 15 * D, None, T + 2 * D], utc=True),
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": [100, 101, 102, 103],
            "customer_id": pd.array([10, 10, 10, 11], dtype="Int64"),
            "created_at": pd.to_datetime([T, T + 7 * D, T + 20 * D, T + 9 * D], utc=True),
            "revenue": [5.0, 7.0, 11.0, 13.0],
        }
    )
    e = reference_enrich(contacts, orders)
    print(e[["contact_id", *ENRICH_COLUMNS]].to_string())
    # order 100 at exactly T: not in (T, T+7d]; order 101 at T+7d: in window of 1 and 2;
    # tie on created_at -> contact 2 (greater id) gets it.
    assert e["attributed_revenue"].tolist() == [0.0, 7.0, 11.0, 0.0, 13.0]
    assert e["recovered_7d"].tolist() == [True, True, True, False, True]
    assert e["hours_to_next_order"].iloc[0] == 168.0
    # contact 3 at exactly T+14d repeats 1 and 2
    assert e["repeat_14d"].tolist() == [True, True, False, False, False]
    assert e["path"].tolist() == ["ai", "human", "human", None, "self_service"]
    k = reference_weekly_kpis(contacts, orders)
    print(k[k["kpi"].isin(["contacts", "orders", "recovered_revenue", "backlog_open"])])
