"""Baselines (SPEC §6, docs/semantics.md "Baseline"): the KPI recomputed over the rows of
the baseline window [t - baseline_window, t) of the same group, or of the whole days of a
fixed `baseline_range`; backlog KPIs from the rows created in the window and still open at
its end; cost_per_resolved_vs_baseline against the same baseline.

Baselines are read from `card.bands()`. KPIs without a default band get one from the config
(tables merge key by key), which makes their baseline visible too.
"""

import math
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
import supportkpi as sk
from datagen import make_tables

W = [pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(weeks=k) for k in range(6)]

# a band that only serves to expose a KPI's baseline in card.bands()
PROBE = {"shape": "lower_is_better", "healthy_max": 1e9, "watch_max": 2e9, "owner": "test"}
PROBED = ("frt_median", "cost_per_resolved_contact", "backlog_open", "contacts", "orders")
PROBE_CONFIG = {"bands": {k: PROBE for k in PROBED}}

STOCKS = {"backlog_open", "backlog_age_hours"}


def at(week, days=0, hours=10, minutes=0):
    return W[week] + pd.Timedelta(days=days, hours=hours, minutes=minutes)


def _ts(values):
    return pd.array(
        [None if v is None else pd.Timestamp(v) for v in values], dtype="datetime64[us, UTC]"
    )


@pytest.fixture(scope="module")
def tables():
    return make_tables(3000, 11)


def _by_cell(bands, keys):
    """{(group..., kpi): frame indexed by period_start, sorted}."""
    out = {}
    for key, g in bands.groupby([*keys, "kpi"], dropna=False, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        out[key] = g.set_index("period_start").sort_index()
    return out


def _same(a, b, rel=1e-9):
    if (a is None or math.isnan(a)) and (b is None or math.isnan(b)):
        return True
    if a is None or b is None or math.isnan(a) or math.isnan(b):
        return False
    return a == pytest.approx(b, rel=rel, abs=1e-12)


# --- (a) a 7-day window on weeks: the baseline is the previous week's value ----------------


def _assert_baseline_is_previous_value(card, keys, skip=()):
    b = card.bands()
    assert len(b) > 0
    checked = 0
    for key, g in _by_cell(b, keys).items():
        kpi = key[-1]
        if kpi in STOCKS or kpi in skip:
            continue
        assert math.isnan(g["baseline"].iloc[0]), (key, "first period has no baseline")
        previous = g["value"].shift(1)
        for period in g.index[1:]:
            assert _same(g.loc[period, "baseline"], previous.loc[period]), (
                key,
                period,
                g.loc[period, "baseline"],
                previous.loc[period],
            )
            # delta_vs_baseline = value - baseline
            assert _same(
                g.loc[period, "delta_vs_baseline"],
                g.loc[period, "value"] - g.loc[period, "baseline"],
            )
            checked += 1
    assert checked > 0


@pytest.mark.parametrize("tz", ["UTC", "America/New_York", "Europe/Paris"])
def test_seven_day_baseline_is_previous_week(tables, tz):
    c, o, s = tables
    card = sk.scorecard(
        c,
        o,
        sessions=s,
        by="week",
        tz=tz,
        baseline_window=timedelta(days=7),
        config=PROBE_CONFIG,
    )
    kpis = set(card.bands()["kpi"])
    # every default banded KPI the data can compute is present, plus the probes (the SLA
    # rates and reopen_rate need SLA policies and a reopens column, which this data lacks)
    computable = set(sk.default_config()["bands"]) - set(card.skipped)
    assert computable | set(PROBED) == kpis
    assert set(card.skipped) >= {"sla_first_response_rate", "sla_resolution_rate", "reopen_rate"}
    _assert_baseline_is_previous_value(card, [], skip={"cost_per_resolved_vs_baseline"})


@pytest.mark.parametrize("group_by", [["channel"], ["channel", "handled_by"]])
def test_seven_day_baseline_is_previous_week_per_group(tables, group_by):
    c, o, s = tables
    card = sk.scorecard(
        c,
        o,
        sessions=s,
        by="week",
        group_by=group_by,
        baseline_window=timedelta(days=7),
        config=PROBE_CONFIG,
    )
    _assert_baseline_is_previous_value(card, group_by, skip={"cost_per_resolved_vs_baseline"})


def test_one_day_baseline_is_previous_day(tables):
    c, o, s = tables
    c = c[c["created_at"] < pd.Timestamp("2024-03-20", tz="UTC")]
    card = sk.scorecard(c, o, sessions=s, by="day", baseline_window=timedelta(days=1))
    _assert_baseline_is_previous_value(card, [], skip={"cost_per_resolved_vs_baseline"})


def test_seven_day_baseline_of_cost_vs_baseline_is_previous_week(tables):
    # value(t - 1) = cpr(week t-1) / cpr(week t-2) - 1; recomputing the KPI over the window
    # [t - 7 d, t) gives cpr(week t-1) / cpr(the 7 days before it) - 1: the same number.
    c, o, s = tables
    card = sk.scorecard(c, o, sessions=s, by="week", baseline_window=timedelta(days=7))
    b = card.bands()
    g = b[b["kpi"] == "cost_per_resolved_vs_baseline"].set_index("period_start").sort_index()
    previous = g["value"].shift(1)
    checked = 0
    for period in g.index[1:]:
        if not math.isnan(previous.loc[period]):
            assert _same(g.loc[period, "baseline"], previous.loc[period]), period
            checked += 1
    assert checked > 0


# --- (b) the default 30-day window against plain pandas ------------------------------------


def _path(c):
    """SPEC §3.6: null handled_by -> null path (even when escalated); escalated -> human."""
    hb = c["handled_by"].astype(object)
    esc = c["escalated"].fillna(False).astype(bool)
    path = hb.where(~esc, "human")
    return path.where(hb.notna(), None)


def _minutes(later, earlier):
    us = (later - earlier).dt.total_seconds() * 1e6  # exact for microsecond timestamps
    return np.round(us) / 6e7


RECOVERY = pd.Timedelta(days=7)


def _direct_kpis(c, o, as_of, all_orders, recovery=RECOVERY):
    """The KPIs computed directly with pandas on the contacts `c` and orders `o` of the
    window; the recovery join looks at every order (`all_orders`): a contact's outcome is
    its own, whatever window it is counted in."""
    path = _path(c)
    resolved = c["resolved_at"].notna()
    n = len(c)
    out = {}
    out["contacts"] = float(n)
    out["orders"] = float(len(o))
    out["csat_mean"] = c["csat"].mean() if c["csat"].notna().any() else np.nan
    out["deflection_rate"] = (
        (resolved & path.isin(["self_service", "ai"])).sum() / n if n else np.nan
    )
    out["tickets_per_order"] = n / len(o) if len(o) else np.nan
    frt = _minutes(c["first_response_at"], c["created_at"])
    for name, mask in (
        ("frt_median", frt.notna()),
        ("frt_median_human", frt.notna() & (path == "human")),
        ("frt_median_ai", frt.notna() & (path == "ai")),
    ):
        out[name] = float(np.median(frt[mask])) if mask.any() else np.nan
    cost = c["cost"].fillna(0.0).sum()
    out["cost_per_resolved_contact"] = cost / resolved.sum() if resolved.sum() else np.nan
    # recovery_rate_7d: mature contacts with a customer; an order of the same customer in
    # (created_at, created_at + 7 d]
    known = c[c["customer_id"].notna() & (c["created_at"] + recovery <= as_of)]
    known = known[["contact_id", "customer_id", "created_at"]]
    pairs = known.merge(
        all_orders[["customer_id", "created_at"]].dropna(subset=["customer_id"]),
        on="customer_id",
        suffixes=("", "_o"),
    )
    hit = pairs[
        (pairs["created_at_o"] > pairs["created_at"])
        & (pairs["created_at_o"] <= pairs["created_at"] + recovery)
    ]
    out["recovery_rate_7d"] = hit["contact_id"].nunique() / len(known) if len(known) else np.nan
    return out


DIRECT = (
    "contacts",
    "orders",
    "csat_mean",
    "deflection_rate",
    "tickets_per_order",
    "frt_median",
    "frt_median_human",
    "frt_median_ai",
    "cost_per_resolved_contact",
    "recovery_rate_7d",
)


def _window(frame, start, end):
    return frame[(frame["created_at"] >= start) & (frame["created_at"] < end)]


def test_thirty_day_baseline_equals_direct_computation(tables):
    c, o, s = tables
    card = sk.scorecard(c, o, sessions=s, by="week", config=PROBE_CONFIG)
    as_of = max(c["created_at"].max(), o["created_at"].max())
    assert card.as_of == as_of
    b = card.bands()
    periods = sorted(b["period_start"].unique())
    assert len(periods) >= 8
    checked = 0
    for t in periods[1:]:
        start = t - pd.Timedelta(days=30)
        direct = _direct_kpis(_window(c, start, t), _window(o, start, t), as_of, o)
        rows = b[b["period_start"] == t].set_index("kpi")
        for kpi in DIRECT:
            assert _same(rows.loc[kpi, "baseline"], direct[kpi]), (
                t,
                kpi,
                rows.loc[kpi, "baseline"],
                direct[kpi],
            )
            checked += 1
    assert checked >= 7 * len(DIRECT)


def test_thirty_day_baseline_is_pooled_not_averaged(tables):
    # Week 5's baseline of tickets_per_order is Σ contacts / Σ orders over the 30 days,
    # which differs from the mean of the weekly values on this data.
    c, o, s = tables
    card = sk.scorecard(c, o, by="week")
    b = card.bands()
    g = b[b["kpi"] == "tickets_per_order"].set_index("period_start").sort_index()
    t = g.index[5]
    start = t - pd.Timedelta(days=30)
    pooled = len(_window(c, start, t)) / len(_window(o, start, t))
    assert g.loc[t, "baseline"] == pytest.approx(pooled, rel=1e-12)


def test_thirty_day_baseline_per_group(tables):
    c, o, s = tables
    card = sk.scorecard(c, o, sessions=s, by="week", group_by="channel", config=PROBE_CONFIG)
    as_of = card.as_of
    b = card.bands()
    for t in sorted(b["period_start"].unique())[3:6]:
        start = t - pd.Timedelta(days=30)
        win_o = _window(o, start, t)
        for channel in ("email", "chat", None):
            cc = c[c["channel"].isna()] if channel is None else c[c["channel"] == channel]
            direct = _direct_kpis(_window(cc, start, t), win_o, as_of, o)
            sel = b["channel"].isna() if channel is None else b["channel"] == channel
            rows = b[sel & (b["period_start"] == t)].set_index("kpi")
            for kpi in ("csat_mean", "deflection_rate", "tickets_per_order", "frt_median"):
                assert _same(rows.loc[kpi, "baseline"], direct[kpi]), (t, channel, kpi)


def test_baseline_window_from_config(tables):
    # [windows] baseline = "14d" gives the same baselines as baseline_window=timedelta(days=14)
    c, o, s = tables
    a = sk.scorecard(c, o, by="week", baseline_window=timedelta(days=14)).bands()
    b = sk.scorecard(c, o, by="week", config={"windows": {"baseline": "14d"}}).bands()
    pd.testing.assert_frame_equal(a, b)
    # and the keyword wins over the config
    k = sk.scorecard(
        c, o, by="week", baseline_window=timedelta(days=14), config={"windows": {"baseline": "3d"}}
    ).bands()
    pd.testing.assert_frame_equal(a, k)
    t = sorted(a["period_start"].unique())[4]
    start = t - pd.Timedelta(days=14)
    rows = a[a["period_start"] == t].set_index("kpi")
    as_of = max(c["created_at"].max(), o["created_at"].max())
    direct = _direct_kpis(_window(c, start, t), _window(o, start, t), as_of, o)
    assert _same(rows.loc["csat_mean", "baseline"], direct["csat_mean"])


# --- (c) a fixed baseline range -------------------------------------------------------------


@pytest.mark.parametrize(
    ("bounds", "days"),
    [
        # midnights: the rows of [03-04, 03-18)
        (("2024-03-04", "2024-03-18"), ("2024-03-04", "2024-03-18")),
        # not on midnights: only the whole days inside, [03-05, 03-18)
        (("2024-03-04 12:00", "2024-03-18 06:00"), ("2024-03-05", "2024-03-18")),
    ],
)
def test_fixed_baseline_range(tables, bounds, days):
    c, o, s = tables
    card = sk.scorecard(
        c,
        o,
        sessions=s,
        by="week",
        baseline_range=(pd.Timestamp(bounds[0], tz="UTC"), pd.Timestamp(bounds[1], tz="UTC")),
        config=PROBE_CONFIG,
    )
    start, end = pd.Timestamp(days[0], tz="UTC"), pd.Timestamp(days[1], tz="UTC")
    direct = _direct_kpis(_window(c, start, end), _window(o, start, end), card.as_of, o)
    b = card.bands()
    periods = sorted(b["period_start"].unique())
    for t in periods:  # also the first period, and periods inside / before the range
        rows = b[b["period_start"] == t].set_index("kpi")
        for kpi in DIRECT:
            assert _same(rows.loc[kpi, "baseline"], direct[kpi]), (t, kpi)


def test_fixed_baseline_range_from_config(tables):
    c, o, s = tables
    a = sk.scorecard(
        c,
        o,
        by="week",
        baseline_range=(pd.Timestamp("2024-03-04", tz="UTC"), pd.Timestamp("2024-03-18", tz="UTC")),
    ).bands()
    b = sk.scorecard(
        c,
        o,
        by="week",
        config={"baseline_range": {"start": "2024-03-04T00:00:00Z", "end": "2024-03-18T00:00:00Z"}},
    ).bands()
    pd.testing.assert_frame_equal(a, b)


def test_fixed_baseline_range_must_be_ordered(tables):
    c, o, s = tables
    with pytest.raises(sk.ConfigError, match="baseline_range"):
        sk.scorecard(
            c,
            o,
            baseline_range=(
                pd.Timestamp("2024-03-18", tz="UTC"),
                pd.Timestamp("2024-03-04", tz="UTC"),
            ),
        )


# --- (d) cost_per_resolved_vs_baseline ------------------------------------------------------


def _cost_contacts():
    """W0: 2 contacts, cost 10 each, both resolved -> cpr 20 / 2 = 10.
    W1: 3 contacts, cost 12 each, 2 resolved -> cpr 36 / 2 = 18.
    W2: 1 contact, cost 5 (+ 1 with null cost), 1 resolved -> cpr 5 / 1 = 5."""
    rows = [(0, 10.0, True), (0, 10.0, True), (1, 12.0, True), (1, 12.0, True), (1, 12.0, False)]
    rows += [(2, 5.0, True), (2, None, False)]
    created = [at(w, days=1, minutes=i) for i, (w, _, _) in enumerate(rows)]
    return pd.DataFrame(
        {
            "contact_id": pd.array(range(1, len(rows) + 1), dtype="Int64"),
            "customer_id": pd.array([None] * len(rows), dtype="Int64"),
            "created_at": _ts(created),
            "resolved_at": _ts(
                [t + pd.Timedelta(hours=1) if r else None for t, (_, _, r) in zip(created, rows)]
            ),
            "cost": np.array([np.nan if v is None else v for _, v, _ in rows], dtype="float64"),
        }
    )


def _one_order():
    return pd.DataFrame(
        {
            "order_id": pd.array([1], dtype="Int64"),
            "customer_id": pd.array([None], dtype="Int64"),
            "created_at": _ts([at(0, days=1)]),
            "revenue": np.array([10.0]),
        }
    )


def test_cost_per_resolved_vs_baseline_hand_computed():
    # two resolved contacts a week: banded here below the default min_sample of 30
    config = {"bands": {"cost_per_resolved_vs_baseline": {"min_sample": 0}}}
    card = sk.scorecard(_cost_contacts(), _one_order(), by="week", config=config)
    long = card.to_pandas()
    vs = long[long["kpi"] == "cost_per_resolved_vs_baseline"].set_index("period_start")
    cpr = long[long["kpi"] == "cost_per_resolved_contact"].set_index("period_start")
    assert list(cpr["value"]) == [10.0, 18.0, 5.0]
    # W0: no baseline -> null
    assert math.isnan(vs.loc[W[0], "value"]) and math.isnan(vs.loc[W[0], "denominator"])
    # W1: 18 / 10 - 1 = 0.8 (numerator = cpr 18, denominator = baseline 10)
    assert vs.loc[W[1], "numerator"] == 18.0
    assert vs.loc[W[1], "denominator"] == 10.0
    assert vs.loc[W[1], "value"] == pytest.approx(0.8, rel=1e-15)
    # W2: baseline over W0 + W1 = (20 + 36) / 4 = 14 -> 5 / 14 - 1
    assert vs.loc[W[2], "numerator"] == 5.0
    assert vs.loc[W[2], "denominator"] == 14.0
    assert vs.loc[W[2], "value"] == pytest.approx(5 / 14 - 1, rel=1e-15)
    # its band: 0.8 > +20% -> intervention; -64% -> healthy
    b = card.bands()
    b = b[b["kpi"] == "cost_per_resolved_vs_baseline"].set_index("period_start")
    assert b.loc[W[1], "band"] == "intervention"
    assert b.loc[W[2], "band"] == "healthy"
    assert pd.isna(b.loc[W[0], "band"])


def test_cost_per_resolved_vs_baseline_null_on_zero_baseline():
    # W0 contacts cost 0: baseline cpr 0 -> W1's ratio is null
    c = _cost_contacts()
    c.loc[c["created_at"] < W[1], "cost"] = 0.0
    long = sk.scorecard(c, _one_order(), by="week").to_pandas()
    vs = long[long["kpi"] == "cost_per_resolved_vs_baseline"].set_index("period_start")
    assert math.isnan(vs.loc[W[1], "value"])
    # W2's baseline (0 + 36) / 4 = 9 is not 0: 5 / 9 - 1
    assert vs.loc[W[2], "value"] == pytest.approx(5 / 9 - 1, rel=1e-15)


def test_cost_per_resolved_vs_baseline_null_without_resolved_baseline():
    # nothing resolved in W0: the baseline cpr has an empty denominator -> W1 null
    c = _cost_contacts()
    c.loc[c["created_at"] < W[1], "resolved_at"] = pd.NaT
    long = sk.scorecard(c, _one_order(), by="week").to_pandas()
    vs = long[long["kpi"] == "cost_per_resolved_vs_baseline"].set_index("period_start")
    assert math.isnan(vs.loc[W[1], "value"])


def test_cost_per_resolved_vs_baseline_on_generated_data(tables):
    # value = numerator / denominator - 1; numerator = the cell's cost_per_resolved_contact;
    # denominator = Σ cost / resolved over the 30 days before the period (plain pandas).
    c, o, s = tables
    card = sk.scorecard(c, o, by="week", group_by="channel")
    long = card.to_pandas()
    vs = long[long["kpi"] == "cost_per_resolved_vs_baseline"]
    cpr = long[long["kpi"] == "cost_per_resolved_contact"]
    merged = vs.merge(cpr, on=["period_start", "channel"], suffixes=("", "_cpr"), how="left")
    assert len(merged) == len(vs)
    checked = 0
    for row in merged.itertuples():
        assert _same(row.numerator, row.value_cpr)
        if math.isnan(row.denominator) or math.isnan(row.numerator):
            assert math.isnan(row.value)
            continue
        assert row.value == pytest.approx(row.numerator / row.denominator - 1, rel=1e-9)
        start = row.period_start - pd.Timedelta(days=30)
        cc = c[c["channel"].isna()] if pd.isna(row.channel) else c[c["channel"] == row.channel]
        win = _window(cc, start, row.period_start)
        baseline = win["cost"].fillna(0).sum() / win["resolved_at"].notna().sum()
        assert row.denominator == pytest.approx(baseline, rel=1e-9)
        checked += 1
    assert checked > 20


# --- (e) backlog baselines: created in the window, still open at its end --------------------


def _backlog_contacts():
    """a 01-02 never resolved; b 01-03 resolved 01-09; c 01-04 resolved 01-05;
    d 01-10 never resolved; e 01-11 resolved 01-16; f 01-16 never resolved (all 10:00)."""
    rows = [
        (at(0, 1), None),
        (at(0, 2), at(1, 1)),
        (at(0, 3), at(0, 4)),
        (at(1, 2), None),
        (at(1, 3), at(2, 1)),
        (at(2, 1), None),
    ]
    return pd.DataFrame(
        {
            "contact_id": pd.array(range(1, 7), dtype="Int64"),
            "customer_id": pd.array([None] * 6, dtype="Int64"),
            "created_at": _ts([r[0] for r in rows]),
            "resolved_at": _ts([r[1] for r in rows]),
        }
    )


def _backlog_bands(**kw):
    card = sk.scorecard(
        _backlog_contacts(),
        _one_order(),
        by="week",
        config={"bands": {"backlog_open": PROBE}},
        **kw,
    )
    b = card.bands()
    b = b[b["kpi"].isin(["backlog_open", "backlog_age_hours"])]
    return b.set_index(["period_start", "kpi"])


def test_backlog_values_hand_computed():
    b = _backlog_bands()
    # W0 end 01-08: a, b (resolved 01-09) -> 2; ages 5 d 14 h = 134 h, 110 h -> mean 122
    # W1 end 01-15: a, d, e (resolved 01-16) -> 3; ages 302, 110, 86 -> mean 166
    # W2 end 01-22: a, d, f -> 3; ages 470, 278, 134 -> mean 294
    assert list(b.xs("backlog_open", level="kpi")["value"]) == [2.0, 3.0, 3.0]
    assert list(b.xs("backlog_age_hours", level="kpi")["value"]) == [122.0, 166.0, 294.0]


def test_backlog_baseline_thirty_days():
    b = _backlog_bands()
    base_open = b.xs("backlog_open", level="kpi")["baseline"]
    base_age = b.xs("backlog_age_hours", level="kpi")["baseline"]
    # W0: window [12-02, 01-01) holds no rows -> null
    assert math.isnan(base_open[W[0]]) and math.isnan(base_age[W[0]])
    # W1: created in [12-09, 01-08): a, b, c; open at 01-08: a, b -> 2; ages 134, 110 -> 122
    assert (base_open[W[1]], base_age[W[1]]) == (2.0, 122.0)
    # W2: created in [12-16, 01-15): a..e; open at 01-15: a, d, e -> 3; mean 166
    assert (base_open[W[2]], base_age[W[2]]) == (3.0, 166.0)


def test_backlog_baseline_seven_days_only_counts_rows_created_in_the_window():
    b = _backlog_bands(baseline_window=timedelta(days=7))
    base_open = b.xs("backlog_open", level="kpi")["baseline"]
    base_age = b.xs("backlog_age_hours", level="kpi")["baseline"]
    # W1: created in [01-01, 01-08): a, b, c; open at 01-08: a, b -> 2, mean 122
    assert (base_open[W[1]], base_age[W[1]]) == (2.0, 122.0)
    # W2: created in [01-08, 01-15): d, e; open at 01-15: both -> 2; ages 110, 86 -> 98.
    # (a is still open but was created before the window; W1's own value is 3.)
    assert (base_open[W[2]], base_age[W[2]]) == (2.0, 98.0)
    assert b.loc[(W[2], "backlog_age_hours"), "delta_vs_baseline"] == 294.0 - 98.0


def test_backlog_baseline_fixed_range():
    # range [01-03, 01-11): created b, c, d; open at 01-11: b? resolved 01-09 -> no;
    # c no; d yes -> 1; age of d at 01-11 00:00: 14 h
    b = _backlog_bands(
        baseline_range=(pd.Timestamp("2024-01-03", tz="UTC"), pd.Timestamp("2024-01-11", tz="UTC"))
    )
    base_open = b.xs("backlog_open", level="kpi")["baseline"]
    base_age = b.xs("backlog_age_hours", level="kpi")["baseline"]
    for t in W[:3]:
        assert (base_open[t], base_age[t]) == (1.0, 14.0)


def test_cohort_kpis_have_no_baseline(tables):
    c, o, s = tables
    band = {"bands": {k: PROBE for k in ("retention_rate", "clv_simple", "repurchase_rate_90d")}}
    b = sk.scorecard(c, o, by="week", config=band).bands()
    for kpi in ("retention_rate", "clv_simple", "repurchase_rate_90d"):
        rows = b[b["kpi"] == kpi]
        assert len(rows) > 0
        assert rows["baseline"].isna().all(), kpi
