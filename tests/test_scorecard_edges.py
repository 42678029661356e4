"""Edge cases of ``sk.scorecard`` read through the long table (docs/semantics.md).

Every expected value is worked out by hand from SPEC §5 / §8 and written as a literal; the
comments show the arithmetic. Timestamps are tz-aware UTC unless a test says otherwise.
"""

import re
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
import supportkpi as sk

# --- tiny typed frame builders -------------------------------------------------------


def _ids(*vals):
    if all(v is None or isinstance(v, str) for v in vals):
        return pd.array(list(vals), dtype="str")
    return pd.array(list(vals), dtype="Int64")


def _ts(*vals):
    return pd.array(
        [None if v is None else pd.Timestamp(v, tz="UTC") for v in vals],
        dtype="datetime64[us, UTC]",
    )


def _strs(*vals):
    return pd.array(list(vals), dtype="str")


def _bools(*vals):
    return pd.array(list(vals), dtype="boolean")


def _floats(*vals):
    return np.array(vals, dtype="float64")


def _ints(*vals):
    return pd.array(list(vals), dtype="Int64")


_TYPES = {
    "contact_id": _ids,
    "order_id": _ids,
    "customer_id": _ids,
    "created_at": _ts,
    "resolved_at": _ts,
    "first_response_at": _ts,
    "channel": _strs,
    "intent": _strs,
    "handled_by": _strs,
    "escalated": _bools,
    "revenue": _floats,
    "csat": _floats,
    "nps": _floats,
    "handle_seconds": _floats,
    "touches": _ints,
}


def frame(columns, *rows):
    names = columns.split()
    cols = list(zip(*rows)) if rows else [()] * len(names)
    return pd.DataFrame({n: _TYPES[n](*vals) for n, vals in zip(names, cols)})


def orders(*rows):
    return frame("order_id customer_id created_at revenue", *rows)


def T(s, tz="UTC"):
    return pd.Timestamp(s, tz=tz)


LONG_COLUMNS = [
    "period_start",
    "kpi",
    "value",
    "numerator",
    "denominator",
    "unit",
    "ci_low",
    "ci_high",
]


def cell(df, kpi, period, tz="UTC", **groups):
    """The single long-table row of one KPI in one period (× group)."""
    mask = (df["kpi"] == kpi) & (df["period_start"] == T(period, tz))
    for key, val in groups.items():
        mask &= df[key].isna() if val is None else (df[key] == val)
    rows = df[mask]
    assert len(rows) == 1, f"{kpi} @ {period} {groups}: {len(rows)} rows"
    return rows.iloc[0]


_ANY = object()


def check(row, value, numerator=_ANY, denominator=_ANY):
    """None = expect null (NaN); _ANY = do not check."""
    for name, want in (
        ("value", value),
        ("numerator", numerator),
        ("denominator", denominator),
    ):
        if want is _ANY:
            continue
        got = row[name]
        if want is None:
            assert pd.isna(got), f"{row['kpi']}.{name}: want null, got {got!r}"
        else:
            assert got == pytest.approx(want), f"{row['kpi']}.{name}: want {want}, got {got!r}"


def periods(df):
    return sorted(set(df["period_start"]))


# --- §2: maturity in recovery_rate_7d ---------------------------------------------------

_RECOVERY_CONTACTS = frame(
    "contact_id customer_id created_at",
    ("a1", "A", "2024-01-01 10:00"),  # recovered (o1, +24 h)
    ("a2", "B", "2024-01-01 11:00"),  # no order
    (
        "a3",
        "C",
        "2024-01-04 10:00",
    ),  # recovered (o2, +48 h), mature only from 01-11 10:00
    ("a4", None, "2024-01-01 12:00"),  # anonymous: not in the denominator
    ("a5", "E", "2024-01-09 10:00"),  # the latest row: default as_of
)
_RECOVERY_ORDERS = orders(
    ("o1", "A", "2024-01-02 10:00", 40.0),
    ("o2", "C", "2024-01-06 10:00", 60.0),
)


def test_immature_contacts_leave_recovery_numerator_and_denominator():
    card = sk.scorecard(_RECOVERY_CONTACTS, _RECOVERY_ORDERS, by="week")
    assert card.as_of == T("2024-01-09 10:00")
    df = card.to_pandas()
    assert periods(df) == [T("2024-01-01"), T("2024-01-08")]
    check(cell(df, "contacts", "2024-01-01"), 4, 4, None)  # a1..a4
    # mature (created_at + 7 d <= 01-09 10:00): a1 (01-08 10:00), a2 (01-08 11:00);
    # a3 (01-11 10:00) is left out of both sides, not counted as a failure: 1 / 2
    check(cell(df, "recovery_rate_7d", "2024-01-01"), 0.5, 1, 2)
    # median over the numerator's contacts: a1 only, 24 h
    check(cell(df, "recovery_hours_median", "2024-01-01"), 24.0, None, 1)
    # attributed revenue of mature contacts only: o1 (a3's o2 is immature)
    check(cell(df, "recovered_revenue", "2024-01-01"), 40.0, 40.0, None)
    # week 01-08: a5 is immature -> empty denominator
    check(cell(df, "contacts", "2024-01-08"), 1, 1, None)
    check(cell(df, "recovery_rate_7d", "2024-01-08"), None, 0, 0)
    check(cell(df, "recovered_revenue", "2024-01-08"), 0.0, 0.0, None)


def test_a_later_as_of_matures_the_contact():
    card = sk.scorecard(
        _RECOVERY_CONTACTS, _RECOVERY_ORDERS, by="week", as_of=T("2024-01-11 10:00")
    )
    df = card.to_pandas()
    # a3 + 7 d == as_of: mature. 2 recovered / 3 mature (a1, a2, a3)
    check(cell(df, "recovery_rate_7d", "2024-01-01"), 2 / 3, 2, 3)
    check(cell(df, "recovery_hours_median", "2024-01-01"), 36.0, None, 2)  # (24 + 48) / 2
    check(cell(df, "recovered_revenue", "2024-01-01"), 100.0, 100.0, None)  # 40 + 60


def test_default_as_of_ignores_resolved_at_and_first_response_at():
    contacts = frame(
        "contact_id customer_id created_at resolved_at first_response_at",
        ("c1", "A", "2024-01-02 10:00", "2024-03-01 10:00", "2024-03-01 09:00"),
    )
    card = sk.scorecard(contacts, orders(("o1", "A", "2024-01-05 10:00", 1.0)))
    assert card.as_of == T("2024-01-05 10:00")  # the order, not resolved_at
    assert periods(card.to_pandas()) == [T("2024-01-01")]  # grid ends at as_of's week

    card = sk.scorecard(contacts, orders(("o1", "A", "2024-01-01 10:00", 1.0)))
    assert card.as_of == T("2024-01-02 10:00")  # the contact


# --- §2 / §8.2: time zones and period boundaries ---------------------------------------


def _ny(*vals):
    return pd.array(
        [pd.Timestamp(v, tz="America/New_York") for v in vals],
        dtype="datetime64[us, America/New_York]",
    )


def test_week_boundary_follows_tz_with_non_utc_input():
    # 2024-03-10 23:30 EDT (DST began 02:00 that day, UTC-4) = Monday 2024-03-11 03:30 UTC
    contacts = pd.DataFrame(
        {
            "contact_id": _ids("x1", "x2"),
            "customer_id": _ids("A", "B"),
            "created_at": _ny("2024-03-10 23:30", "2024-03-05 12:00"),
        }
    )
    ords = pd.DataFrame(
        {
            "order_id": _ids("o1"),
            "customer_id": _ids("Z"),
            "created_at": _ny("2024-03-06 12:00"),
            "revenue": _floats(10.0),
        }
    )
    ny = sk.scorecard(contacts, ords, by="week", tz="America/New_York")
    assert ny.as_of == T("2024-03-11 03:30")
    df = ny.to_pandas()
    assert str(df["period_start"].dt.tz) == "America/New_York"
    assert periods(df) == [T("2024-03-04", "America/New_York")]
    check(cell(df, "contacts", "2024-03-04", "America/New_York"), 2, 2, None)
    check(cell(df, "orders", "2024-03-04", "America/New_York"), 1, 1, None)
    check(cell(df, "tickets_per_order", "2024-03-04", "America/New_York"), 2.0, 2, 1)

    utc = sk.scorecard(contacts, ords, by="week", tz="UTC")
    df = utc.to_pandas()
    assert str(df["period_start"].dt.tz) == "UTC"
    assert periods(df) == [T("2024-03-04"), T("2024-03-11")]
    check(cell(df, "contacts", "2024-03-04"), 1, 1, None)  # x2
    check(cell(df, "contacts", "2024-03-11"), 1, 1, None)  # x1
    check(cell(df, "orders", "2024-03-11"), 0, 0, None)
    check(cell(df, "tickets_per_order", "2024-03-04"), 1.0, 1, 1)
    check(cell(df, "tickets_per_order", "2024-03-11"), None, 1, 0)


def test_day_boundaries_in_tz_across_the_dst_change():
    # 2024-03-10 in New York runs 05:00 UTC -> 03-11 04:00 UTC (23 h)
    contacts = pd.DataFrame(
        {
            "contact_id": _ids("d1", "d2"),
            "customer_id": _ids("A", "B"),
            "created_at": _ny("2024-03-10 00:30", "2024-03-10 23:30"),  # 05:30 / 03:30+1d UTC
            "resolved_at": _ts(None, None),
        }
    )
    ords = orders(("o1", "Z", "2024-03-10 16:00", 5.0))  # 12:00 EDT
    df = sk.scorecard(contacts, ords, by="day", tz="America/New_York").to_pandas()
    assert periods(df) == [T("2024-03-10", "America/New_York")]
    check(cell(df, "contacts", "2024-03-10", "America/New_York"), 2, 2, None)
    # both open at E = 03-11 00:00 EDT = 04:00 UTC: ages 22.5 h (from 05:30 UTC) and 0.5 h
    check(cell(df, "backlog_open", "2024-03-10", "America/New_York"), 2, 2, None)
    check(cell(df, "backlog_age_hours", "2024-03-10", "America/New_York"), 11.5, 23.0, 2)

    df = sk.scorecard(contacts, ords, by="day", tz="UTC").to_pandas()
    assert periods(df) == [T("2024-03-10"), T("2024-03-11")]
    check(cell(df, "contacts", "2024-03-10"), 1, 1, None)
    check(cell(df, "contacts", "2024-03-11"), 1, 1, None)


def test_month_boundary_follows_tz():
    contacts = pd.DataFrame(
        {
            "contact_id": _ids("m1", "m2"),
            "customer_id": _ids("A", "B"),
            # 03-31 22:00 EDT = 04-01 02:00 UTC
            "created_at": _ny("2024-03-15 12:00", "2024-03-31 22:00"),
        }
    )
    ords = orders(("o1", "Z", "2024-03-15 16:00", 5.0))
    df = sk.scorecard(contacts, ords, by="month", tz="America/New_York").to_pandas()
    assert periods(df) == [T("2024-03-01", "America/New_York")]
    check(cell(df, "contacts", "2024-03-01", "America/New_York"), 2, 2, None)

    df = sk.scorecard(contacts, ords, by="month", tz="UTC").to_pandas()
    assert periods(df) == [T("2024-03-01"), T("2024-04-01")]
    check(cell(df, "contacts", "2024-03-01"), 1, 1, None)
    check(cell(df, "contacts", "2024-04-01"), 1, 1, None)


# --- §8.3: the output grid -------------------------------------------------------------


def test_empty_period_in_the_middle_has_zero_counts_and_null_ratios():
    contacts = frame(
        "contact_id customer_id created_at handled_by resolved_at csat",
        ("e1", "A", "2024-01-02 10:00", "human", "2024-01-02 11:00", 4.0),
        ("e2", "B", "2024-01-16 10:00", "ai", "2024-01-16 10:10", 5.0),
    )
    ords = orders(("o1", "A", "2024-01-03 10:00", 10.0))
    df = sk.scorecard(contacts, ords, by="week").to_pandas()
    assert periods(df) == [T("2024-01-01"), T("2024-01-08"), T("2024-01-15")]
    kpis = [list(df[df["period_start"] == p]["kpi"]) for p in periods(df)]
    assert kpis[0] == kpis[1] == kpis[2]  # every period carries every KPI
    mid = "2024-01-08"
    check(cell(df, "contacts", mid), 0, 0, None)
    check(cell(df, "orders", mid), 0, 0, None)
    check(cell(df, "tickets_per_order", mid), None, 0, 0)
    check(cell(df, "deflection_rate", mid), None, 0, 0)
    check(cell(df, "csat_mean", mid), None, 0, 0)
    check(cell(df, "recovered_revenue", mid), 0.0, 0.0, None)
    check(cell(df, "backlog_open", mid), 0, 0, None)
    check(cell(df, "backlog_age_hours", mid), None, 0, 0)
    # the neighbours are not empty
    check(cell(df, "tickets_per_order", "2024-01-01"), 1.0, 1, 1)
    check(cell(df, "deflection_rate", "2024-01-15"), 1.0, 1, 1)  # e2: ai, resolved


def test_backlog_counts_contacts_still_open_from_earlier_periods():
    # SPEC §8.16: open at E = created_at < E and (resolved_at null or >= E); nothing limits it
    # to contacts created in the period, so an open contact stays in later periods' backlog.
    contacts = frame(
        "contact_id customer_id created_at resolved_at",
        ("b1", "A", "2024-01-03 12:00", None),
        ("b2", "B", "2024-01-16 10:00", "2024-01-16 10:10"),
    )
    ords = orders(("o1", "A", "2024-01-03 13:00", 10.0))
    df = sk.scorecard(contacts, ords, by="week").to_pandas()
    # E = 01-08 00:00: b1 age 4.5 d = 108 h
    check(cell(df, "backlog_open", "2024-01-01"), 1, 1, None)
    check(cell(df, "backlog_age_hours", "2024-01-01"), 108.0, 108.0, 1)
    # E = 01-15 00:00: b1 age 11.5 d = 276 h (a period with no contact of its own)
    check(cell(df, "backlog_open", "2024-01-08"), 1, 1, None)
    check(cell(df, "backlog_age_hours", "2024-01-08"), 276.0, 276.0, 1)
    # E = 01-22 00:00 (current partial period, calendar end): b1 18.5 d = 444 h; b2 resolved
    check(cell(df, "backlog_open", "2024-01-15"), 1, 1, None)
    check(cell(df, "backlog_age_hours", "2024-01-15"), 444.0, 444.0, 1)


def test_group_by_grid_has_every_period_times_every_group_including_null():
    contacts = frame(
        "contact_id customer_id created_at channel",
        ("g1", "A", "2024-01-02 10:00", "email"),
        ("g2", "B", "2024-01-03 10:00", None),
        ("g3", "C", "2024-01-16 10:00", "chat"),
    )
    ords = orders(("o1", "A", "2024-01-04 10:00", 10.0))
    df = sk.scorecard(contacts, ords, by="week", group_by=["channel"]).to_pandas()
    assert list(df.columns) == [LONG_COLUMNS[0], "channel", *LONG_COLUMNS[1:]]
    counts = df[df["kpi"] == "contacts"]
    got = [
        (p, None if pd.isna(g) else g, v)
        for p, g, v in zip(counts["period_start"], counts["channel"], counts["value"])
    ]
    # sorted by period, then group value ascending with null last (chat, email, null)
    assert got == [
        (T("2024-01-01"), "chat", 0),
        (T("2024-01-01"), "email", 1),
        (T("2024-01-01"), None, 1),
        (T("2024-01-08"), "chat", 0),
        (T("2024-01-08"), "email", 0),
        (T("2024-01-08"), None, 0),
        (T("2024-01-15"), "chat", 1),
        (T("2024-01-15"), "email", 0),
        (T("2024-01-15"), None, 0),
    ]
    # every cell carries the same KPIs, in catalogue order
    catalogue = list(sk.kpi_catalog()["id"])
    cells = {}
    for p, g, k in zip(df["period_start"], df["channel"], df["kpi"]):
        cells.setdefault((p, None if pd.isna(g) else g), []).append(k)
    assert len(cells) == 9
    first = next(iter(cells.values()))
    assert all(ks == first for ks in cells.values())
    assert first == [k for k in catalogue if k in set(first)]
    # orders are period totals in every group row (§8.4)
    for ch in ["email", None, "chat"]:
        check(cell(df, "orders", "2024-01-01", channel=ch), 1, 1, None)
        check(cell(df, "orders", "2024-01-08", channel=ch), 0, 0, None)
    check(cell(df, "tickets_per_order", "2024-01-01", channel="chat"), 0.0, 0, 1)
    check(cell(df, "tickets_per_order", "2024-01-01", channel=None), 1.0, 1, 1)
    check(cell(df, "tickets_per_order", "2024-01-15", channel="chat"), None, 1, 0)


# --- empty inputs ----------------------------------------------------------------------

_EMPTY_CONTACTS = frame("contact_id customer_id created_at channel")
_EMPTY_ORDERS = orders()


def test_empty_tables_give_an_empty_long_table():
    card = sk.scorecard(_EMPTY_CONTACTS, _EMPTY_ORDERS)
    df = card.to_pandas()
    assert len(df) == 0
    assert list(df.columns) == LONG_COLUMNS
    df = sk.scorecard(_EMPTY_CONTACTS, _EMPTY_ORDERS, group_by="channel").to_pandas()
    assert len(df) == 0
    assert list(df.columns) == [LONG_COLUMNS[0], "channel", *LONG_COLUMNS[1:]]


def test_empty_contacts_with_orders():
    ords = orders(("o1", "A", "2024-01-02 10:00", 10.0))
    df = sk.scorecard(_EMPTY_CONTACTS, ords).to_pandas()
    assert periods(df) == [T("2024-01-01")]
    check(cell(df, "contacts", "2024-01-01"), 0, 0, None)
    check(cell(df, "orders", "2024-01-01"), 1, 1, None)
    check(cell(df, "tickets_per_order", "2024-01-01"), 0.0, 0, 1)  # 0 / 1
    check(cell(df, "recovery_rate_7d", "2024-01-01"), None, 0, 0)


def test_contacts_with_empty_orders():
    contacts = frame("contact_id customer_id created_at", ("c1", "A", "2024-01-02 10:00"))
    df = sk.scorecard(contacts, _EMPTY_ORDERS).to_pandas()
    assert periods(df) == [T("2024-01-01")]
    check(cell(df, "contacts", "2024-01-01"), 1, 1, None)
    check(cell(df, "orders", "2024-01-01"), 0, 0, None)
    check(cell(df, "tickets_per_order", "2024-01-01"), None, 1, 0)  # 1 / 0
    # as_of = c1's own created_at: immature
    check(cell(df, "recovery_rate_7d", "2024-01-01"), None, 0, 0)


# --- required columns only: what is computed and what is skipped -----------------------


def test_required_columns_only():
    contacts = frame(
        "contact_id customer_id created_at",
        ("c1", "A", "2024-01-01 10:00"),
        ("c2", "B", "2024-01-02 10:00"),
        ("c3", None, "2024-01-09 10:00"),
    )
    ords = orders(
        ("o1", "A", "2024-01-02 10:00", 10.0),
        ("o2", "B", "2024-01-03 10:00", 20.0),
        ("o3", "A", "2024-01-10 10:00", 30.0),  # c1 + 9 d: outside c1's window
        ("o4", "C", "2024-01-11 10:00", 40.0),
        ("o5", None, "2024-01-12 10:00", 5.0),  # as_of
    )
    card = sk.scorecard(contacts, ords, by="week")
    df = card.to_pandas()
    present = set(df["kpi"])
    for kpi in [
        "contacts",
        "orders",
        "tickets_per_order",
        "recovery_rate_7d",
        "recovery_hours_median",
        "recovered_revenue",
        "repeat_contact_rate_14d",
        "retention_rate",
    ]:
        assert kpi in present, kpi
        assert kpi not in card.skipped, kpi
    assert not present & set(card.skipped)
    # KPI -> the absent columns any of which its reason must name
    needs = {
        "csat_mean": ["csat"],
        "nps": ["nps"],
        "ces_mean": ["ces"],
        "frt_median": ["first_response_at"],
        "resolution_time_median": ["resolved_at"],
        "backlog_open": ["resolved_at"],
        "recontact_rate_48h": ["resolved_at"],
        "fcr_rate": ["resolved_at"],
        "deflection_rate": ["handled_by", "resolved_at"],
        "escalation_rate": ["handled_by", "escalated"],
        "aht_minutes": ["handle_seconds", "handled_by", "resolved_at"],
        "cost_per_contact": ["cost"],
        "wismo_share": ["intent"],
        "conversion_rate": ["sessions"],
    }
    for kpi, columns in needs.items():
        assert kpi not in present, kpi
        assert kpi in card.skipped, kpi
        reason = card.skipped[kpi]
        assert isinstance(reason, str)
        assert any(re.search(rf"\b{c}\b", reason) for c in columns), (kpi, reason)

    w1, w2 = "2024-01-01", "2024-01-08"
    check(cell(df, "contacts", w1), 2, 2, None)
    check(cell(df, "orders", w1), 2, 2, None)
    check(cell(df, "tickets_per_order", w1), 1.0, 2, 2)
    # as_of 01-12 10:00: c1, c2 mature, both recovered after 24 h
    check(cell(df, "recovery_rate_7d", w1), 1.0, 2, 2)
    check(cell(df, "recovery_hours_median", w1), 24.0, None, 2)
    check(cell(df, "recovered_revenue", w1), 30.0, 30.0, None)  # 10 + 20
    # + 14 d is after as_of for c1 and c2
    check(cell(df, "repeat_contact_rate_14d", w1), None, 0, 0)
    check(cell(df, "retention_rate", w1), None)  # first period
    check(cell(df, "contacts", w2), 1, 1, None)
    check(cell(df, "orders", w2), 3, 3, None)
    check(cell(df, "tickets_per_order", w2), 1 / 3, 1, 3)
    # previous week's customers {A, B}; this week {A, C} (null not a customer): 1 / 2
    check(cell(df, "retention_rate", w2), 0.5, 1, 2)


# --- §8.8 / §8.14: null intent ---------------------------------------------------------


def test_null_intent_counts_in_wismo_denominator_and_never_repeats():
    contacts = frame(
        "contact_id customer_id created_at intent",
        ("n1", "A", "2024-01-01 10:00", None),
        ("n2", "A", "2024-01-02 10:00", None),  # would repeat n1 if null matched null
        ("n3", "B", "2024-01-01 11:00", "order_tracking"),
        ("n4", "B", "2024-01-03 10:00", "returns"),  # other intent: no repeat for n3
        ("n5", "C", "2024-01-02 12:00", "returns"),  # n6 within 14 d: repeat
        ("n6", "C", "2024-01-04 12:00", "returns"),
    )
    ords = orders(("o1", "Z", "2024-01-05 10:00", 1.0))
    # as_of 01-20: every contact + 14 d (latest 01-18 12:00) is mature
    df = sk.scorecard(contacts, ords, by="week", as_of=T("2024-01-20 00:00")).to_pandas()
    w = "2024-01-01"
    check(cell(df, "wismo_share", w), 1 / 6, 1, 6)  # n3 / all six, nulls included
    check(cell(df, "policy_contact_share", w), 3 / 6, 3, 6)  # returns: n4, n5, n6
    check(cell(df, "repeat_contact_rate_14d", w), 1 / 6, 1, 6)  # n5 only


# --- a tiny week, worked by hand -------------------------------------------------------

_WEEK_CONTACTS = frame(
    "contact_id customer_id created_at channel intent handled_by escalated "
    "first_response_at resolved_at touches csat nps handle_seconds",
    # k1: human, frt 10 min, resolved after 3 h
    (
        "k1", "A", "2024-01-01 09:00", "email", "order_tracking", "human", False,
        "2024-01-01 09:10", "2024-01-01 12:00", 1, 5.0, 10.0, 600.0,
    ),
    # k2: ai, frt 1 min, resolved after 5 min; recontacted by k3 within 48 h
    (
        "k2", "B", "2024-01-01 10:00", "chat", "returns", "ai", False,
        "2024-01-01 10:01", "2024-01-01 10:05", 1, 4.0, 9.0, None,
    ),
    # k3: ai escalated -> human path, frt 30 min, resolved after 5 h, 3 touches
    (
        "k3", "B", "2024-01-02 10:00", "chat", "returns", "ai", True,
        "2024-01-02 10:30", "2024-01-02 15:00", 3, 2.0, 3.0, 1200.0,
    ),
    # k4: self-service, escalated null (= false), resolved after 2 min, touches null
    (
        "k4", "C", "2024-01-03 08:00", "self_service", "product_question", "self_service",
        None, None, "2024-01-03 08:02", None, None, 7.0, None,
    ),
    # k5: anonymous, human, frt 120 min, still open
    (
        "k5", None, "2024-01-04 12:00", "email", "order_tracking", "human", False,
        "2024-01-04 14:00", None, None, 3.0, None, None,
    ),
    # k6: human, null intent, resolved exactly at the week end (still open at E)
    (
        "k6", "D", "2024-01-07 20:00", "phone", None, "human", False,
        None, "2024-01-08 00:00", 0, None, None, 300.0,
    ),
)  # fmt: skip
_WEEK_ORDERS = orders(
    ("o1", "A", "2024-01-02 09:00", 100.0),
    ("o2", "B", "2024-01-03 10:00", 50.0),
    ("o3", None, "2024-01-05 10:00", 30.0),
    ("o4", "E", "2024-01-06 10:00", 20.0),
)
_WEEK_AS_OF = T("2024-01-07 23:00")
W = "2024-01-01"


@pytest.fixture(scope="module")
def week():
    card = sk.scorecard(_WEEK_CONTACTS, _WEEK_ORDERS, by="week", as_of=_WEEK_AS_OF)
    df = card.to_pandas()
    assert list(df.columns) == LONG_COLUMNS
    assert periods(df) == [T(W)]  # resolved_at 01-08 does not extend the grid
    return df


def test_week_counts_and_tickets_per_order(week):
    check(cell(week, "contacts", W), 6, 6, None)
    check(cell(week, "orders", W), 4, 4, None)  # the anonymous order counts
    check(cell(week, "tickets_per_order", W), 1.5, 6, 4)  # 6 / 4
    assert cell(week, "contacts", W)["unit"] == "count"


def test_week_deflection_and_resolution_rates(week):
    # paths: k1 human, k2 ai, k3 human (escalated), k4 self_service, k5 human, k6 human
    # resolved without human: k2, k4 -> 2 / 6, every contact (no maturity, §8.12)
    check(cell(week, "deflection_rate", W), 2 / 6, 2, 6)
    assert cell(week, "deflection_rate", W)["unit"] == "rate"
    check(cell(week, "ai_resolution_rate", W), 0.5, 1, 2)  # k2 / {k2, k3}
    check(cell(week, "escalation_rate", W), 0.5, 1, 2)  # k3 / {k2, k3}
    check(cell(week, "self_service_resolution_rate", W), 1.0, 1, 1)  # k4 / {k4}


def test_week_fcr_and_recontact(week):
    # mature resolved with a customer (resolved_at + 48 h <= 01-07 23:00):
    # k1 (01-03 12:00), k2 (01-03 10:05), k3 (01-04 15:00), k4 (01-05 08:02);
    # k6 (01-10 00:00) is immature; k5 is open and anonymous. Denominator 4.
    # recontact: k2 (k3 at 01-02 10:00, same customer and intent) -> 1 / 4
    check(cell(week, "recontact_rate_48h", W), 0.25, 1, 4)
    # fcr: k1 (touches 1) and k4 (touches null); k2 recontacted, k3 3 touches -> 2 / 4
    check(cell(week, "fcr_rate", W), 0.5, 2, 4)


def test_week_csat_and_nps(week):
    # ratings k1 5, k2 4, k3 2, k5 3: sum 14, count 4 -> 3.5
    check(cell(week, "csat_mean", W), 3.5, 14.0, 4)
    check(cell(week, "csat_satisfied_rate", W), 0.5, 2, 4)  # 5 and 4
    # csat by path: ai = k2 (4); human = k1, k3, k5 (10 / 3); gap = |4 - 10/3| = 2/3
    check(cell(week, "csat_ai", W), 4.0, 4.0, 1)
    check(cell(week, "csat_human", W), 10 / 3, 10.0, 3)
    check(cell(week, "csat_ai_human_gap", W), 2 / 3, None, None)
    # negative (<= 2): k3 (returns, not checkout_shipping) -> 0 / 1
    check(cell(week, "negative_csat_checkout_shipping_share", W), 0.0, 0, 1)
    # nps 10, 9, 3, 7: promoters 2, detractors 1, rated 4 -> 100 * (2 - 1) / 4 = 25
    check(cell(week, "nps", W), 25.0, 1, 4)


def test_week_first_response_and_resolution_times(week):
    # frt minutes: k1 10, k2 1, k3 30, k5 120 -> [1, 10, 30, 120]
    # median = (10 + 30) / 2 = 20; p90 at rank 0.9 * 3 = 2.7: 30 + 0.7 * 90 = 93
    check(cell(week, "frt_median", W), 20.0, None, 4)
    check(cell(week, "frt_p90", W), 93.0, None, 4)
    assert cell(week, "frt_median", W)["unit"] == "minutes"
    check(cell(week, "frt_median_ai", W), 1.0, None, 1)  # k2
    check(cell(week, "frt_median_human", W), 30.0, None, 3)  # k1, k3, k5: 10, 30, 120
    # resolution hours: k1 3, k2 1/12, k3 5, k4 1/30, k6 4 -> [1/30, 1/12, 3, 4, 5]
    # median 3; p90 at rank 0.9 * 4 = 3.6: 4 + 0.6 * 1 = 4.6
    check(cell(week, "resolution_time_median", W), 3.0, None, 5)
    check(cell(week, "resolution_time_p90", W), 4.6, None, 5)


def test_week_aht(week):
    # resolved human path with handle_seconds: k1 600 s, k3 1200 s, k6 300 s
    # = 10 + 20 + 5 = 35 min over 3 -> 11.67
    check(cell(week, "aht_minutes", W), 35 / 3, 35.0, 3)


def test_week_backlog_at_period_end(week):
    # E = 2024-01-08 00:00 (calendar end, although as_of is 01-07 23:00)
    # open at E: k5 (unresolved, anonymous counts) and k6 (resolved_at == E)
    # ages: k5 01-04 12:00 -> 84 h; k6 01-07 20:00 -> 4 h; mean 44
    check(cell(week, "backlog_open", W), 2, 2, None)
    check(cell(week, "backlog_age_hours", W), 44.0, 88.0, 2)
    assert cell(week, "backlog_age_hours", W)["unit"] == "hours"


def test_week_shares_and_peak_to_trough(week):
    check(cell(week, "wismo_share", W), 2 / 6, 2, 6)  # k1, k5
    check(cell(week, "policy_contact_share", W), 2 / 6, 2, 6)  # k2, k3 (returns)
    # daily contacts Mon..Sun: 2, 1, 1, 1, 0, 0, 1 -> min 0 -> null
    check(cell(week, "peak_to_trough", W), None, 2, 0)


def test_week_recovery_all_immature(week):
    # every contact + 7 d is after as_of 01-07 23:00
    check(cell(week, "recovery_rate_7d", W), None, 0, 0)
    check(cell(week, "recovered_revenue", W), 0.0, 0.0, None)
    assert cell(week, "recovered_revenue", W)["unit"] == "currency"


def test_peak_to_trough_over_the_observed_days():
    contacts = frame(
        "contact_id customer_id created_at",
        ("p1", "A", "2024-01-01 09:00"),
        ("p2", "B", "2024-01-01 10:00"),
        ("p3", "C", "2024-01-01 11:00"),
        ("p4", "D", "2024-01-02 10:00"),
        ("p5", "E", "2024-01-03 09:00"),
        ("p6", "F", "2024-01-03 10:00"),  # as_of: observed days are Mon..Wed
    )
    ords = orders(("o1", "A", "2024-01-02 12:00", 1.0))
    df = sk.scorecard(contacts, ords, by="week").to_pandas()
    check(cell(df, "peak_to_trough", "2024-01-01"), 3.0, 3, 1)  # days 3, 1, 2 -> 3 / 1


def test_group_by_channel_keeps_period_totals_as_denominators():
    card = sk.scorecard(
        _WEEK_CONTACTS, _WEEK_ORDERS, by="week", as_of=_WEEK_AS_OF, group_by=["channel"]
    )
    df = card.to_pandas()
    groups = list(dict.fromkeys(df["channel"]))
    assert groups == ["chat", "email", "phone", "self_service"]  # sorted by value
    # channel contacts: email k1, k5; chat k2, k3; self_service k4; phone k6
    for ch, n in [("email", 2), ("chat", 2), ("self_service", 1), ("phone", 1)]:
        check(cell(df, "contacts", W, channel=ch), n, n, None)
        check(cell(df, "orders", W, channel=ch), 4, 4, None)  # period total
        check(cell(df, "tickets_per_order", W, channel=ch), n / 4, n, 4)
        check(cell(df, "volume_share", W, channel=ch), n / 6, n, 6)
    # deflection inside each cell: chat k2 of {k2, k3}; self_service k4 of {k4}
    check(cell(df, "deflection_rate", W, channel="chat"), 0.5, 1, 2)
    check(cell(df, "deflection_rate", W, channel="self_service"), 1.0, 1, 1)
    check(cell(df, "deflection_rate", W, channel="email"), 0.0, 0, 2)
    # backlog per group: email k5 (84 h), phone k6 (4 h)
    check(cell(df, "backlog_open", W, channel="email"), 1, 1, None)
    check(cell(df, "backlog_age_hours", W, channel="phone"), 4.0, 4.0, 1)
    check(cell(df, "backlog_open", W, channel="chat"), 0, 0, None)


def test_window_parameters_reach_the_scorecard():
    contacts = frame(
        "contact_id customer_id created_at",
        ("w1", "A", "2024-01-01 10:00"),
        ("w2", "B", "2024-01-01 10:00"),
    )
    ords = orders(
        ("o1", "A", "2024-01-02 10:00", 10.0),  # +1 d exactly
        ("o2", "B", "2024-01-03 10:00", 20.0),  # +2 d: as_of
    )
    df = sk.scorecard(contacts, ords, recovery_window=timedelta(days=1)).to_pandas()
    # both mature (+1 d <= 01-03 10:00); only w1 recovered within 1 d
    check(cell(df, "recovery_rate_7d", "2024-01-01"), 0.5, 1, 2)
    check(cell(df, "recovered_revenue", "2024-01-01"), 10.0, 10.0, None)
