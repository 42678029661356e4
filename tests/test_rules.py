"""Diagnostic rules (SPEC §7, docs/semantics.md "Readings for bands, baselines and rules").

For each default rule: a hand-built weekly data set where the rule fires in one week with
the evidence worked out by hand (arithmetic in the comments), and near misses where it stays
silent. Then custom rules from TOML / JSON / dicts: a new rule, a disabled default rule and a
retuned threshold.

Weeks are ISO weeks in UTC: W[0] = Monday 2024-01-01, W[1] = 2024-01-08, W[2] = 2024-01-15,
W[3] = 2024-01-22. The period end of W[k] is W[k + 1].
"""

import json
import math
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
import supportkpi as sk
from frames import W, at, contacts, events, orders, sessions
from spec_tables import SPEC_RULE_TEXT

# --- tiny typed frame builders -------------------------------------------------------

# The hand-built weeks below hold a few contacts each: they test each rule's thresholds,
# windows and evidence, not SPEC §10's evidence layer. So every band reads its value from
# any sample (min_sample 0) and α is all but 1 (confidence 1e-9): a tested change of any
# size counts as significant. tests/test_statistics.py tests the layer itself, on samples
# large enough to decide.
MECHANICS = {
    "statistics": {"confidence": 1e-9},
    "bands": {kpi: {"min_sample": 0} for kpi in sk.default_config()["bands"]},
}


def _merged(base, patch):
    out = dict(base)
    for key, value in patch.items():
        out[key] = _merged(out[key], value) if isinstance(out.get(key), dict) else value
    return out


def mechanics(config=None):
    """`config` (None, a dict, a path or a Config) with MECHANICS under it."""
    if config is None:
        return MECHANICS
    if isinstance(config, dict):
        return _merged(MECHANICS, config)
    if not isinstance(config, sk.Config):
        path = str(config)
        config = sk.Config.from_toml(path) if path.endswith(".toml") else sk.Config.from_json(path)
    user = config.to_dict()
    return _merged(user, {"statistics": MECHANICS["statistics"], "bands": MECHANICS["bands"]})


def card_of(c, o, **kw):
    kw.setdefault("tz", "UTC")
    return sk.scorecard(c, o, by="week", config=mechanics(kw.pop("config", None)), **kw)


# SPEC §10's entries of the evidence (tested in tests/test_statistics.py).
STATISTICS_EVIDENCE = ("p_value", "adjusted_p_value")


def fired(card, rule):
    """{period_start: evidence} of the rows of `rule` in card.diagnose(), without the
    p-values of SPEC §10."""
    d = card.diagnose()
    if d.empty:
        return {}
    rows = d[d["rule"] == rule]
    out = {}
    for period, evidence in zip(rows["period_start"], rows["evidence"]):
        assert period not in out, f"{rule} fired twice in {period}"
        out[period] = {
            k: v
            for k, v in evidence.items()
            if not k.startswith("significant(") and k not in STATISTICS_EVIDENCE
        }
    return out


def same_evidence(got, expected):
    """Evidence dicts equal: same keys (SPEC §10's p-values aside), numbers within 1e-12,
    strings exactly."""
    got = {
        k: v
        for k, v in got.items()
        if not k.startswith("significant(") and k not in STATISTICS_EVIDENCE
    }
    assert set(got) == set(expected), (got, expected)
    for key, want in expected.items():
        if isinstance(want, str):
            assert got[key] == want, (key, got[key], want)
        else:
            assert got[key] == pytest.approx(want, rel=1e-12, abs=1e-12), (key, got[key], want)
    return True


def assert_fires_only(card, rule, week, evidence):
    got = fired(card, rule)
    assert list(got) == [W[week]], got
    assert same_evidence(got[W[week]], evidence)


def assert_silent(card, rule):
    assert fired(card, rule) == {}


# SPEC §7 texts (literals), checked once per rule on the row that fires.


def assert_rule_text(card, rule):
    d = card.diagnose()
    rows = d[d["rule"] == rule]
    assert len(rows) >= 1
    cause, action, metric = SPEC_RULE_TEXT[rule]
    assert set(rows["likely_cause"]) == {cause}
    assert set(rows["action"]) == {action}
    assert set(rows["validation_metric"]) == {metric}
    # Owners and symptoms are not in SPEC §7's table: every row carries a non-empty one.
    assert all(isinstance(v, str) and v for v in rows["owner"])
    assert all(isinstance(v, str) and v for v in rows["symptom"])


def test_diagnose_columns():
    c = contacts([{"created_at": at(0), "csat": 3.0}])
    o = orders([{"created_at": at(0)}])
    d = card_of(c, o).diagnose()
    assert list(d.columns) == [
        "period_start",
        "rule",
        "symptom",
        "likely_cause",
        "action",
        "validation_metric",
        "owner",
        "evidence",
        "evidence_text",
    ]


def test_diagnose_without_firing_rules_is_an_empty_table_with_the_columns():
    c = contacts([{"created_at": at(0), "csat": 5.0}])
    d = card_of(c, orders([{"created_at": at(0)}])).diagnose()
    assert len(d) == 0
    assert list(d.columns)[:2] == ["period_start", "rule"]


def test_rules_fire_per_group():
    # csat_below_floor per channel: W0 chat 3.0, W1 email 3.0
    rows = [
        {"created_at": at(week, days=1, minutes=i), "channel": channel, "csat": csat}
        for week, data in (
            (0, [("email", 5.0), ("chat", 3.0)]),
            (1, [("email", 3.0), ("chat", 5.0)]),
        )
        for i, (channel, csat) in enumerate(data)
    ]
    card = card_of(contacts(rows), orders([{"created_at": at(0)}]), group_by="channel")
    d = card.diagnose()
    assert list(d.columns[:3]) == ["period_start", "channel", "rule"]
    d = d[d["rule"] == "csat_below_floor"]
    assert list(zip(d["period_start"], d["channel"])) == [(W[0], "chat"), (W[1], "email")]
    assert [e["csat_mean < 4.0"] for e in d["evidence"]] == [3.0, 3.0]


def test_tickets_per_order_rising_per_group_uses_period_orders():
    # orders are not split by channel: 10 a week for every group row.
    # email: 2 -> 4 contacts: 0.2 -> 0.4, ratio 2.0; chat: 2 -> 2: ratio 1.0
    rows = [
        {"created_at": at(week, days=1, hours=hour, minutes=i), "channel": channel}
        for channel, hour, counts in (("email", 10, (2, 4)), ("chat", 12, (2, 2)))
        for week, n in enumerate(counts)
        for i in range(n)
    ]
    card = card_of(contacts(rows), _anonymous_orders({0: 10, 1: 10}), group_by="channel")
    d = card.diagnose()
    d = d[d["rule"] == "tickets_per_order_rising"]
    assert list(zip(d["period_start"], d["channel"])) == [(W[1], "email")]
    assert same_evidence(
        d["evidence"].iloc[0], {"ratio_to_baseline(tickets_per_order) >= 1.10": 2.0}
    )


def test_every_default_rule_is_covered_here():
    assert set(sk.default_config()["rules"]) == set(SPEC_RULE_TEXT)


# --- deflection_up_conversion_down ----------------------------------------------------


def _deflection_contacts(w0_deflected, w1_deflected, customers=False):
    """10 resolved contacts a week; the first k self-service (resolved without human), the
    rest human. With `customers`, W0 contacts belong to customers 1..10, W1 to 11..20."""
    rows = []
    for week, k in ((0, w0_deflected), (1, w1_deflected)):
        for i in range(10):
            created = at(week, days=1, minutes=i)
            rows.append(
                {
                    "customer_id": (10 * week + i + 1) if customers else None,
                    "created_at": created,
                    "handled_by": "self_service" if i < k else "human",
                    "escalated": False,
                    "resolved_at": created + pd.Timedelta(hours=1),
                }
            )
    return contacts(rows)


def _anonymous_orders(per_week):
    """`per_week` = {week: n}: n anonymous orders on that week's Tuesday."""
    return orders(
        [
            {"created_at": at(w, days=1, hours=12, minutes=i)}
            for w, n in per_week.items()
            for i in range(n)
        ]
    )


def test_deflection_up_conversion_down_fires_with_sessions():
    # deflection_rate: W0 5/10 = 0.5, W1 6/10 = 0.6 -> delta +0.10 (>= 0.02)
    # conversion_rate: W0 10 orders / 100 sessions = 0.10, W1 8 / 100 = 0.08 -> delta -0.02
    c = _deflection_contacts(5, 6)
    o = _anonymous_orders({0: 10, 1: 8})
    s = sessions((at(0, 2), 100), (at(1, 2), 100))
    card = card_of(c, o, sessions=s)
    assert_fires_only(
        card,
        "deflection_up_conversion_down",
        1,
        {
            "delta(deflection_rate) >= 0.02": 0.1,
            "delta(conversion_rate|recovery_rate_7d) <= -0.01": -0.02,
        },
    )
    assert_rule_text(card, "deflection_up_conversion_down")


@pytest.mark.parametrize(
    ("w1_deflected", "sessions_per_week", "orders_w0", "orders_w1"),
    [
        # conversion 20/200 = 0.10 -> 19/200 = 0.095: delta -0.005, above -0.01
        (6, 200, 20, 19),
        # deflection flat (0.5 -> 0.5) while conversion falls 0.10 -> 0.08
        (5, 100, 10, 8),
        # deflection up 0.1 but conversion up too: 0.10 -> 0.12
        (6, 100, 10, 12),
    ],
)
def test_deflection_up_conversion_down_near_misses(
    w1_deflected, sessions_per_week, orders_w0, orders_w1
):
    c = _deflection_contacts(5, w1_deflected)
    o = _anonymous_orders({0: orders_w0, 1: orders_w1})
    s = sessions((at(0, 2), sessions_per_week), (at(1, 2), sessions_per_week))
    assert_silent(card_of(c, o, sessions=s), "deflection_up_conversion_down")


def test_deflection_up_conversion_down_on_the_edges_fires():
    # deflection 0.5 -> 0.6 (+0.1); conversion 10/100 = 0.10 -> 9/100 = 0.09: delta -0.01
    # exactly (0.09 - 0.1 = -0.009999999999999995 in floats: on the edge, holds).
    c = _deflection_contacts(5, 6)
    o = _anonymous_orders({0: 10, 1: 9})
    s = sessions((at(0, 2), 100), (at(1, 2), 100))
    got = fired(card_of(c, o, sessions=s), "deflection_up_conversion_down")
    assert list(got) == [W[1]]
    assert same_evidence(
        got[W[1]],
        {
            "delta(deflection_rate) >= 0.02": 0.1,
            "delta(conversion_rate|recovery_rate_7d) <= -0.01": -0.01,
        },
    )


def _recovery_tables(orders_w0=5, orders_w1=3):
    """Contacts of customers 1..10 (W0) and 11..20 (W1); the first `orders_wk` customers of
    each week order one day after their contact. An anonymous order on W2's Sunday moves
    as_of (2024-01-21 10:00) past W1's maturity (W1 contacts 2024-01-09 + 7 d)."""
    c = _deflection_contacts(5, 6, customers=True)
    rows = []
    for week, n in ((0, orders_w0), (1, orders_w1)):
        for i in range(n):
            rows.append(
                {"customer_id": 10 * week + i + 1, "created_at": at(week, days=2, minutes=i)}
            )
    rows.append({"created_at": at(2, days=6)})
    return c, orders(rows)


def test_deflection_up_conversion_down_uses_recovery_without_sessions():
    # No sessions: conversion_rate is not computed, so the rule reads recovery_rate_7d.
    # recovery_rate_7d: W0 5/10 = 0.5, W1 3/10 = 0.3 -> delta -0.2 (<= -0.01)
    # deflection_rate: 0.5 -> 0.6, delta +0.1
    c, o = _recovery_tables()
    card = card_of(c, o)
    assert "conversion_rate" in card.skipped
    assert_fires_only(
        card,
        "deflection_up_conversion_down",
        1,
        {
            "delta(deflection_rate) >= 0.02": 0.1,
            "delta(conversion_rate|recovery_rate_7d) <= -0.01": -0.2,
        },
    )


def test_deflection_up_conversion_down_recovery_near_miss_without_sessions():
    # recovery_rate_7d 5/10 -> 5/10: delta 0 -> silent
    c, o = _recovery_tables(orders_w0=5, orders_w1=5)
    assert_silent(card_of(c, o), "deflection_up_conversion_down")


def test_deflection_up_conversion_down_prefers_conversion_when_sessions_exist():
    # Same contacts and orders as the recovery case (recovery falls 0.5 -> 0.3), but with
    # sessions the rule reads conversion_rate, which is flat:
    # W0 5 orders / 50 sessions = 0.1, W1 3 orders / 30 sessions = 0.1 -> delta 0.
    c, o = _recovery_tables()
    s = sessions((at(0, 2), 50), (at(1, 2), 30))
    assert_silent(card_of(c, o, sessions=s), "deflection_up_conversion_down")


def test_delta_rule_needs_the_immediately_previous_period():
    # W0 deflection 0.5 with conversion 0.10; W1 has no contacts (deflection null) and no
    # sessions (conversion null); W2 deflection 0.6 and conversion 0.08. W2's previous period
    # is W1, whose values are null: the rule must not fall back to W0.
    rows = []
    for week, k in ((0, 5), (2, 6)):
        for i in range(10):
            created = at(week, days=1, minutes=i)
            rows.append(
                {
                    "created_at": created,
                    "handled_by": "self_service" if i < k else "human",
                    "escalated": False,
                    "resolved_at": created + pd.Timedelta(hours=1),
                }
            )
    c = contacts(rows)
    o = _anonymous_orders({0: 10, 2: 8})
    s = sessions((at(0, 2), 100), (at(2, 2), 100))
    card = card_of(c, o, sessions=s)
    wide = card.wide()
    assert math.isnan(wide.loc[W[1], "deflection_rate"])
    assert_silent(card, "deflection_up_conversion_down")


def test_single_period_fires_no_comparison_rule():
    # One week only: huge deflection, repeat rate, tickets per order, but nothing to compare
    # with (no previous period, no baseline) -> none of the delta / baseline rules fires.
    c = _deflection_contacts(10, 10)
    c = c[c["created_at"] < W[1]]
    o = _anonymous_orders({0: 1})
    s = sessions((at(0, 2), 100))
    card = card_of(c, o, sessions=s)
    rules = set(card.diagnose().get("rule", pd.Series(dtype="str")))
    for rule in (
        "deflection_up_conversion_down",
        "repeats_up_volume_flat",
        "tickets_per_order_rising",
        "wismo_after_launch",
        "backlog_after_promo",
        "mobile_contacts_despite_web",
    ):
        assert rule not in rules


# --- repeats_up_volume_flat -------------------------------------------------------------


def _repeat_tables(w1_customers):
    """No intent column (one issue key per customer). W0: 20 contacts of customers 1..20,
    none repeating. W1: one contact for each of customers 101..100+n, plus a second contact
    of customer 101 an hour later (so 101's first contact is a repeat_14d). An anonymous
    order on 2024-01-27 sets as_of, past W1's maturity (2024-01-09 + 14 d = 2024-01-23)."""
    rows = [{"customer_id": i + 1, "created_at": at(0, days=1, minutes=i)} for i in range(20)]
    rows += [
        {"customer_id": 101 + i, "created_at": at(1, days=1, minutes=i)}
        for i in range(w1_customers)
    ]
    rows.append({"customer_id": 101, "created_at": at(1, days=1, hours=11)})
    return contacts(rows), orders([{"created_at": at(3, days=5)}])


def test_repeats_up_volume_flat_fires():
    # contacts: W0 20, W1 19 + 1 = 20 -> pct_change 0 -> abs 0.0 (<= 0.05)
    # repeat_contact_rate_14d: W0 0/20 = 0, W1 1/20 = 0.05 -> delta +0.05 (>= 0.02)
    card = card_of(*_repeat_tables(19))
    assert_fires_only(
        card,
        "repeats_up_volume_flat",
        1,
        {
            "abs(pct_change(contacts)) <= 0.05": 0.0,
            "delta(repeat_contact_rate_14d) >= 0.02": 0.05,
        },
    )
    assert_rule_text(card, "repeats_up_volume_flat")


def test_repeats_up_volume_flat_on_the_volume_edge_fires():
    # contacts 20 -> 21: pct_change = 21/20 - 1 = 0.05 (on the edge, holds)
    # repeat rate 0 -> 1/21 = 0.047619...
    card = card_of(*_repeat_tables(20))
    assert_fires_only(
        card,
        "repeats_up_volume_flat",
        1,
        {
            "abs(pct_change(contacts)) <= 0.05": 0.05,
            "delta(repeat_contact_rate_14d) >= 0.02": 1 / 21,
        },
    )


def test_repeats_up_volume_flat_silent_when_volume_moves():
    # contacts 20 -> 22: pct_change 0.10 > 0.05 (the repeat rate still rises by 1/22)
    assert_silent(card_of(*_repeat_tables(21)), "repeats_up_volume_flat")


def test_repeats_up_volume_flat_silent_when_repeats_immature():
    # as_of = 2024-01-20 10:00: W1's contacts (2024-01-09) are not mature (+14 d), so W1's
    # repeat_contact_rate_14d has an empty denominator (null) -> no delta -> silent.
    c, o = _repeat_tables(19)
    card = card_of(c, o, as_of=at(2, days=5))
    assert math.isnan(card.wide().loc[W[1], "repeat_contact_rate_14d"])
    assert_silent(card, "repeats_up_volume_flat")


# --- wismo_after_launch ------------------------------------------------------------------


def _wismo_tables(w2_tracking=5, w2_total=10):
    """W0 and W1: 10 contacts each, 2 order_tracking + 8 returns. W2: `w2_total` contacts,
    `w2_tracking` of them order_tracking."""
    rows = []
    for week, tracking, total in ((0, 2, 10), (1, 2, 10), (2, w2_tracking, w2_total)):
        for i in range(total):
            rows.append(
                {
                    "created_at": at(week, days=1, minutes=i),
                    "intent": "order_tracking" if i < tracking else "returns",
                }
            )
    return contacts(rows), orders([{"created_at": at(0, days=1)}])


def test_wismo_after_launch_fires():
    # W2 (2024-01-15 .. 01-22): wismo_share 5/10 = 0.5; baseline = days [12-16, 01-15)
    # = W0 + W1 pooled: (2 + 2) / 20 = 0.2 -> ratio 2.5 (>= 1.25).
    # The launch ended 2024-01-10 12:00, inside [01-22 - 14 d, 01-22] = [01-08, 01-22].
    # W1 (end 01-15) also has the launch in its window, but ratio 0.2 / 0.2 = 1 -> silent.
    c, o = _wismo_tables()
    ev = events(("Spring launch", "launch", at(0, days=3), at(1, days=2, hours=12)))
    card = card_of(c, o, events=ev)
    assert_fires_only(
        card,
        "wismo_after_launch",
        2,
        {"launch_event": "Spring launch", "ratio_to_baseline(wismo_share) >= 1.25": 2.5},
    )
    assert_rule_text(card, "wismo_after_launch")
    assert card.events is not None and list(card.events["name"]) == ["Spring launch"]


def test_wismo_after_launch_event_exactly_14_days_before_period_end_fires():
    # ended 2024-01-08 00:00 = W2 end (01-22) - 14 d: on the closed edge
    c, o = _wismo_tables()
    ev = events(("Launch", "launch", at(0, days=3), W[1]))
    got = fired(card_of(c, o, events=ev), "wismo_after_launch")
    assert list(got) == [W[2]]
    assert got[W[2]]["launch_event"] == "Launch"


@pytest.mark.parametrize(
    ("end", "why"),
    [
        (W[1] - pd.Timedelta(days=1), "ended 2024-01-07 = 15 days before W2's end"),
        (W[3] + pd.Timedelta(hours=1), "ends after W2's end: not ended yet"),
    ],
)
def test_wismo_after_launch_silent_outside_the_event_window(end, why):
    c, o = _wismo_tables()
    ev = events(("Launch", "launch", at(0, days=3), end))
    assert_silent(card_of(c, o, events=ev), "wismo_after_launch")


def test_wismo_after_launch_event_ending_at_the_period_end_fires():
    # ended 2024-01-22 00:00 = W2's end: inside [period end - 14 d, period end]
    c, o = _wismo_tables()
    ev = events(("Launch", "launch", at(1, days=3), W[3]))
    assert list(fired(card_of(c, o, events=ev), "wismo_after_launch")) == [W[2]]


@pytest.mark.parametrize(
    ("tz", "end", "fires"),
    [
        # W2's end in UTC is 2024-01-22 00:00: the window starts 01-08 00:00 UTC
        ("UTC", "2024-01-08 02:00", True),
        # in New York W2 ends 2024-01-22 00:00 local = 05:00 UTC: the window starts
        # 2024-01-08 05:00 UTC, after an end at 02:00 UTC (2024-01-07 21:00 local)
        ("America/New_York", "2024-01-08 02:00", False),
        ("America/New_York", "2024-01-08 06:00", True),
    ],
)
def test_wismo_after_launch_event_window_in_local_time(tz, end, fires):
    # contacts at 10:00 UTC (05:00 New York) fall into the same weeks in both zones
    c, o = _wismo_tables()
    ev = events(("Launch", "launch", at(0, days=3), pd.Timestamp(end, tz="UTC")))
    got = fired(card_of(c, o, events=ev, tz=tz), "wismo_after_launch")
    if fires:
        assert [p.tz_convert(tz) for p in got] == [pd.Timestamp("2024-01-15", tz=tz)]
    else:
        assert got == {}


def test_wismo_after_launch_silent_just_under_the_ratio():
    # W2: 6 / 25 = 0.24 against 0.2 -> ratio 1.2 < 1.25
    c, o = _wismo_tables(w2_tracking=6, w2_total=25)
    ev = events(("Launch", "launch", at(0, days=3), at(1, days=2)))
    assert_silent(card_of(c, o, events=ev), "wismo_after_launch")


def test_wismo_after_launch_ratio_on_the_edge_fires():
    # W2: 5 / 20 = 0.25 against 0.2 -> ratio 1.25 exactly
    c, o = _wismo_tables(w2_tracking=5, w2_total=20)
    ev = events(("Launch", "launch", at(0, days=3), at(1, days=2)))
    got = fired(card_of(c, o, events=ev), "wismo_after_launch")
    assert list(got) == [W[2]]
    assert same_evidence(
        got[W[2]], {"launch_event": "Launch", "ratio_to_baseline(wismo_share) >= 1.25": 1.25}
    )


def test_wismo_after_launch_needs_a_launch_not_a_promo():
    c, o = _wismo_tables()
    ev = events(("Sale", "promo", at(0, days=3), at(1, days=2)))
    assert_silent(card_of(c, o, events=ev), "wismo_after_launch")


def test_wismo_after_launch_silent_without_events():
    assert_silent(card_of(*_wismo_tables()), "wismo_after_launch")


# --- backlog_after_promo -----------------------------------------------------------------


def _backlog_tables(w2_open=3):
    """W0: two contacts never resolved (01-02, 01-03), one resolved the next day, one
    (01-04) resolved 2024-01-16 10:00. W1: none. W2: `w2_open` unresolved contacts and one
    resolved two days later."""
    rows = [
        {"created_at": at(0, days=1), "resolved_at": None},
        {"created_at": at(0, days=2), "resolved_at": None},
        {"created_at": at(0, days=2, hours=11), "resolved_at": at(0, days=3)},
        {"created_at": at(0, days=3), "resolved_at": at(2, days=1)},
    ]
    rows += [{"created_at": at(2, days=1, minutes=i), "resolved_at": None} for i in range(w2_open)]
    rows.append({"created_at": at(2, days=2), "resolved_at": at(2, days=4)})
    return contacts(rows), orders([{"created_at": at(0, days=1)}])


def test_backlog_after_promo_fires():
    # W2 end E = 2024-01-22: open = the two never-resolved W0 contacts + 3 W2 ones = 5
    #   (01-04's contact was resolved 01-16 < E; the other W2 one 01-19 < E).
    # baseline = contacts created in [2023-12-16, 01-15) still open at 01-15: the two
    #   never-resolved + the one resolved 01-16 (>= 01-15) = 3 -> ratio 5 / 3.
    # The promo ended 2024-01-10 12:00 inside [01-08, 01-22].
    # W1 (end 01-15): open 3 against baseline 3 (created in [12-09, 01-08), open at 01-08)
    #   -> ratio 1 -> silent although the promo is inside its window too.
    c, o = _backlog_tables()
    ev = events(("Winter sale", "promo", at(0, days=4), at(1, days=2, hours=12)))
    card = card_of(c, o, events=ev)
    wide = card.wide()
    assert wide.loc[W[2], "backlog_open"] == 5
    assert_fires_only(
        card,
        "backlog_after_promo",
        2,
        {"promo_event": "Winter sale", "ratio_to_baseline(backlog_open) >= 1.5": 5 / 3},
    )
    assert_rule_text(card, "backlog_after_promo")


def test_backlog_after_promo_silent_when_promo_ended_15_days_before():
    # ended 2024-01-07 00:00 = W2's end - 15 d
    c, o = _backlog_tables()
    ev = events(("Winter sale", "promo", at(0, days=4), W[1] - pd.Timedelta(days=1)))
    assert_silent(card_of(c, o, events=ev), "backlog_after_promo")


def test_backlog_after_promo_silent_just_under_the_ratio():
    # two open W2 contacts: backlog 2 + 2 = 4 against 3 -> ratio 1.33 < 1.5
    c, o = _backlog_tables(w2_open=2)
    ev = events(("Winter sale", "promo", at(0, days=4), at(1, days=2, hours=12)))
    assert_silent(card_of(c, o, events=ev), "backlog_after_promo")


def test_backlog_after_promo_needs_a_promo_not_a_launch():
    c, o = _backlog_tables()
    ev = events(("Launch", "launch", at(0, days=4), at(1, days=2, hours=12)))
    assert_silent(card_of(c, o, events=ev), "backlog_after_promo")


def test_ratio_to_baseline_over_a_zero_baseline_does_not_hold():
    # W0: two contacts resolved the next day; W1: three never resolved; the promo ended on
    # W1's Monday. backlog_open W1 = 3, its baseline (W0's rows open at 01-08) = 0: 3 / 0 is
    # read as null (like cost_per_resolved_vs_baseline over a zero baseline), so the rule
    # stays silent. The docs do not spell this case out.
    rows = [
        {"created_at": at(0, days=1, minutes=i), "resolved_at": at(0, days=2)} for i in range(2)
    ] + [{"created_at": at(1, days=1, minutes=i), "resolved_at": None} for i in range(3)]
    ev = events(("Sale", "promo", at(0, days=3), W[1]))
    card = card_of(contacts(rows), orders([{"created_at": at(0)}]), events=ev)
    assert list(card.wide()["backlog_open"]) == [0.0, 3.0]
    assert_silent(card, "backlog_after_promo")


# --- mobile_contacts_despite_web ---------------------------------------------------------


def _mobile_tables(w1_mobile, w1_desktop, w1_desktop_orders):
    """W0: 2 preventable (order_tracking) contacts on each device, 100 sessions and 2 orders
    per device. W1: `w1_mobile` preventable mobile contacts, `w1_desktop` preventable desktop
    contacts plus one non-preventable (account) desktop contact; 100 sessions per device;
    `w1_desktop_orders` desktop orders and 1 mobile order."""
    rows = []
    for week, mobile, desktop in ((0, 2, 2), (1, w1_mobile, w1_desktop)):
        for device, n in (("mobile", mobile), ("desktop", desktop)):
            rows += [
                {
                    "created_at": at(week, days=1, minutes=i),
                    "device": device,
                    "intent": "order_tracking",
                }
                for i in range(n)
            ]
    rows.append({"created_at": at(1, days=2), "device": "desktop", "intent": "account"})
    order_rows = []
    for week, desktop_orders, mobile_orders in ((0, 2, 2), (1, w1_desktop_orders, 1)):
        for device, n in (("desktop", desktop_orders), ("mobile", mobile_orders)):
            order_rows += [
                {"created_at": at(week, days=3, minutes=i), "device": device} for i in range(n)
            ]
    s = sessions(
        (at(0, 1), 100, "desktop"),
        (at(0, 1), 100, "mobile"),
        (at(1, 1), 100, "desktop"),
        (at(1, 1), 100, "mobile"),
    )
    return contacts(rows), orders(order_rows), s


RATIO_COND = (
    "ratio(by(device, mobile, preventable_contact_rate), "
    "by(device, desktop, preventable_contact_rate)) >= 1.3"
)
DESKTOP_COND = "delta(by(device, desktop, conversion_rate)) >= 0"


def test_mobile_contacts_despite_web_fires():
    # W1: preventable_contact_rate mobile 3/100 = 0.03, desktop 2/100 = 0.02 (the account
    # contact is not preventable) -> ratio 1.5 (>= 1.3).
    # desktop conversion_rate: W0 2/100 = 0.02, W1 3/100 = 0.03 -> delta +0.01 (>= 0).
    # W0 has no previous period -> silent there.
    c, o, s = _mobile_tables(3, 2, 3)
    card = card_of(c, o, sessions=s)
    assert_fires_only(card, "mobile_contacts_despite_web", 1, {RATIO_COND: 1.5, DESKTOP_COND: 0.01})
    assert_rule_text(card, "mobile_contacts_despite_web")


def test_mobile_contacts_despite_web_on_the_edges_fires():
    # ratio 13/100 / 10/100 = 1.3 (rounding: 1.2999999999999998 counts as 1.3);
    # desktop conversion 2/100 -> 2/100: delta 0 (>= 0 holds)
    c, o, s = _mobile_tables(13, 10, 2)
    got = fired(card_of(c, o, sessions=s), "mobile_contacts_despite_web")
    assert list(got) == [W[1]]
    assert same_evidence(got[W[1]], {RATIO_COND: 1.3, DESKTOP_COND: 0.0})


@pytest.mark.parametrize(
    ("mobile", "desktop", "desktop_orders"),
    [
        (3, 2, 1),  # desktop conversion fell 0.02 -> 0.01
        (5, 4, 3),  # ratio 0.05 / 0.04 = 1.25 < 1.3
    ],
)
def test_mobile_contacts_despite_web_near_misses(mobile, desktop, desktop_orders):
    c, o, s = _mobile_tables(mobile, desktop, desktop_orders)
    assert_silent(card_of(c, o, sessions=s), "mobile_contacts_despite_web")


def test_mobile_contacts_despite_web_silent_without_sessions():
    # preventable_contact_rate and conversion_rate need sessions
    c, o, _ = _mobile_tables(3, 2, 3)
    assert_silent(card_of(c, o), "mobile_contacts_despite_web")


# --- csat_below_floor --------------------------------------------------------------------


def _csat_tables(w0, w1):
    rows = [
        {"created_at": at(week, days=1, minutes=i), "csat": v}
        for week, values in ((0, w0), (1, w1))
        for i, v in enumerate(values)
    ]
    return contacts(rows), orders([{"created_at": at(0, days=1)}])


def test_csat_below_floor_fires():
    # W0 (5 + 4 + 4 + 5) / 4 = 4.5; W1 (4 + 4 + 3 + 4) / 4 = 3.75 < 4.0
    card = card_of(*_csat_tables([5, 4, 4, 5], [4, 4, 3, 4]))
    assert_fires_only(card, "csat_below_floor", 1, {"csat_mean < 4.0": 3.75})
    assert_rule_text(card, "csat_below_floor")


@pytest.mark.parametrize("w1", [[4, 4, 4, 4], [5, 3, 4, 4], [None, None]])
def test_csat_below_floor_silent_on_the_floor_or_unrated(w1):
    # mean exactly 4.0 is not below the floor; unrated -> null -> silent
    assert_silent(card_of(*_csat_tables([5, 4, 4, 5], w1)), "csat_below_floor")


# --- ai_quality_gap ----------------------------------------------------------------------


def _gap_tables(ai, human, ai_escalated=()):
    rows = (
        [{"handled_by": "ai", "escalated": False, "csat": v} for v in ai]
        + [{"handled_by": "human", "escalated": False, "csat": v} for v in human]
        + [{"handled_by": "ai", "escalated": True, "csat": v} for v in ai_escalated]
    )
    for i, row in enumerate(rows):
        row["created_at"] = at(0, days=1, minutes=i)
    return contacts(rows), orders([{"created_at": at(0, days=1)}])


def test_ai_quality_gap_fires():
    # csat_ai = (4 + 4) / 2 = 4.0; csat_human = (5 + 4 + 4.5) / 3 = 4.5 (the escalated AI
    # contact counts as human) -> gap 0.5 > 0.3
    card = card_of(*_gap_tables([4, 4], [5, 4], ai_escalated=[4.5]))
    assert_fires_only(card, "ai_quality_gap", 0, {"csat_ai_human_gap > 0.3": 0.5})
    assert_rule_text(card, "ai_quality_gap")


def test_ai_quality_gap_human_better_or_worse_both_count():
    # gap = abs(csat_ai - csat_human): AI better by 0.5 fires too
    card = card_of(*_gap_tables([5, 4.5], [4, 4.5]))  # 4.75 vs 4.25
    assert_fires_only(card, "ai_quality_gap", 0, {"csat_ai_human_gap > 0.3": 0.5})


@pytest.mark.parametrize(
    ("ai", "human"),
    [
        ([4.2], [4.5]),  # gap 0.3 (0.2999999999999998): on the edge, not above
        ([4.0, 4.5], [4.5]),  # 4.25 vs 4.5: gap 0.25
        ([4.0], []),  # no human rating: gap null
    ],
)
def test_ai_quality_gap_silent(ai, human):
    assert_silent(card_of(*_gap_tables(ai, human)), "ai_quality_gap")


# --- escalations_high --------------------------------------------------------------------


def _escalation_tables(ai_escalated, ai_kept):
    rows = (
        [{"handled_by": "ai", "escalated": True}] * ai_escalated
        + [{"handled_by": "ai", "escalated": False}] * ai_kept
        + [{"handled_by": "human", "escalated": False}] * 2
    )
    rows = [{**r, "created_at": at(0, days=1, minutes=i)} for i, r in enumerate(rows)]
    return contacts(rows), orders([{"created_at": at(0, days=1)}])


def test_escalations_high_fires():
    # escalation_rate = 3 escalated AI / 5 AI = 0.6 > 0.4 (the 2 human contacts are not in
    # the denominator)
    card = card_of(*_escalation_tables(3, 2))
    assert_fires_only(card, "escalations_high", 0, {"escalation_rate > 0.4": 0.6})
    assert_rule_text(card, "escalations_high")


def test_escalations_high_silent_on_the_edge():
    # 2 / 5 = 0.4 is not above 0.4
    assert_silent(card_of(*_escalation_tables(2, 3)), "escalations_high")


# --- tickets_per_order_rising ------------------------------------------------------------


def _tpo_tables(w0_contacts, w1_contacts, orders_per_week):
    rows = [
        {"created_at": at(week, days=1, minutes=i)}
        for week, n in ((0, w0_contacts), (1, w1_contacts))
        for i in range(n)
    ]
    return contacts(rows), _anonymous_orders({0: orders_per_week, 1: orders_per_week})


@pytest.mark.parametrize(
    ("w0", "w1", "n_orders", "ratio"),
    [
        (10, 12, 20, 1.2),  # 0.5 -> 0.6: 0.6 / 0.5 = 1.2
        (20, 22, 20, 1.1),  # 1.0 -> 1.1: on the edge
    ],
)
def test_tickets_per_order_rising_fires(w0, w1, n_orders, ratio):
    # baseline of W1 = days [2023-12-09, 01-08) = W0 only
    card = card_of(*_tpo_tables(w0, w1, n_orders))
    assert_fires_only(
        card, "tickets_per_order_rising", 1, {"ratio_to_baseline(tickets_per_order) >= 1.10": ratio}
    )
    assert_rule_text(card, "tickets_per_order_rising")


def test_tickets_per_order_rising_silent_just_under():
    # 20/20 = 1.0 -> 21/20 = 1.05: ratio 1.05 < 1.10
    assert_silent(card_of(*_tpo_tables(20, 21, 20)), "tickets_per_order_rising")


def test_tickets_per_order_rising_reads_the_pooled_baseline():
    # Three weeks, orders 10 / 30 / 10, contacts 10 / 3 / 10:
    # tpo W0 1.0, W1 0.1, W2 1.0. Baseline of W2 = W0 + W1 pooled = 13 / 40 = 0.325
    # (the mean of the weekly values would be 0.55) -> ratio 1.0 / 0.325 = 3.0769...
    # W1: 0.1 / 1.0 = 0.1 -> silent.
    rows = [
        {"created_at": at(week, days=1, minutes=i)}
        for week, n in ((0, 10), (1, 3), (2, 10))
        for i in range(n)
    ]
    card = card_of(contacts(rows), _anonymous_orders({0: 10, 1: 30, 2: 10}))
    assert_fires_only(
        card,
        "tickets_per_order_rising",
        2,
        {"ratio_to_baseline(tickets_per_order) >= 1.10": 1.0 / (13 / 40)},
    )


def test_tickets_per_order_rising_needs_a_baseline():
    # W0 0.5, W1 empty (no contacts, no orders), W2 12 / 20 = 0.6.
    # 30-day window: W2's baseline = W0 (W1 adds nothing) = 0.5 -> ratio 1.2, fires.
    # 7-day window: W2's baseline = W1 alone, which holds no rows -> null -> silent.
    rows = [
        {"created_at": at(week, days=1, minutes=i)}
        for week, n in ((0, 10), (2, 12))
        for i in range(n)
    ]
    tables = (contacts(rows), _anonymous_orders({0: 20, 2: 20}))
    assert_fires_only(
        card_of(*tables),
        "tickets_per_order_rising",
        2,
        {"ratio_to_baseline(tickets_per_order) >= 1.10": 1.2},
    )
    assert_silent(card_of(*tables, baseline_window=timedelta(days=7)), "tickets_per_order_rising")


# --- friction_hotspot --------------------------------------------------------------------


def _hotspot_tables(a_contacts, b_contacts, a_orders, b_orders, dim="template"):
    """W0 balanced: 10 contacts and 50 orders for each of A and B. W1: the given counts."""
    rows = []
    order_rows = []
    for week, ca, cb, oa, ob in (
        (0, 10, 10, 50, 50),
        (1, a_contacts, b_contacts, a_orders, b_orders),
    ):
        for value, n in (("A", ca), ("B", cb)):
            rows += [{"created_at": at(week, days=1, minutes=i), dim: value} for i in range(n)]
        for value, n in (("A", oa), ("B", ob)):
            order_rows += [
                {"created_at": at(week, days=2, minutes=i), dim: value} for i in range(n)
            ]
    return contacts(rows), orders(order_rows)


def test_friction_hotspot_fires():
    # W1: A has 40 of 80 contacts (share 0.5) and 10 of 100 orders (share 0.1):
    # 0.5 >= 2 x 0.1 and 40 >= 30 -> fires for A; contacts per order 40 / 10 = 4.
    # B: 0.5 against 0.9 -> no.
    card = card_of(*_hotspot_tables(40, 40, 10, 90))
    assert_fires_only(
        card,
        "friction_hotspot",
        1,
        {
            "dimension": "template",
            "value": "A",
            "contacts": 40,
            "orders": 10,
            "contact_share": 0.5,
            "order_share": 0.1,
            "contacts_per_order": 4.0,
        },
    )
    assert_rule_text(card, "friction_hotspot")


def test_friction_hotspot_on_both_edges_fires():
    # A: 30 contacts (= min_contacts), share 30/60 = 0.5 = 2 x (25/100 = 0.25)
    card = card_of(*_hotspot_tables(30, 30, 25, 75))
    assert_fires_only(
        card,
        "friction_hotspot",
        1,
        {
            "dimension": "template",
            "value": "A",
            "contacts": 30,
            "orders": 25,
            "contact_share": 0.5,
            "order_share": 0.25,
            "contacts_per_order": 1.2,
        },
    )


@pytest.mark.parametrize(
    ("a_contacts", "b_contacts", "a_orders", "b_orders"),
    [
        (29, 29, 10, 90),  # 29 contacts < 30
        (40, 40, 26, 74),  # 0.5 < 2 x 0.26
    ],
)
def test_friction_hotspot_near_misses(a_contacts, b_contacts, a_orders, b_orders):
    assert_silent(
        card_of(*_hotspot_tables(a_contacts, b_contacts, a_orders, b_orders)), "friction_hotspot"
    )


def test_friction_hotspot_over_device():
    card = card_of(*_hotspot_tables(40, 40, 10, 90, dim="device"))
    got = fired(card, "friction_hotspot")
    assert list(got) == [W[1]]
    assert got[W[1]]["dimension"] == "device" and got[W[1]]["value"] == "A"


def test_friction_hotspot_skips_a_dimension_missing_from_orders():
    c, o = _hotspot_tables(40, 40, 10, 90)
    assert_silent(card_of(c, o.drop(columns=["template"])), "friction_hotspot")


def test_friction_hotspot_one_row_per_firing_value():
    # W1 with template and campaign both hot: A (template) and X (campaign) each fire.
    c, o = _hotspot_tables(40, 40, 10, 90)
    c["campaign"] = pd.array(np.where(c["template"] == "A", "X", "Y"), dtype="str")
    o["campaign"] = pd.array(np.where(o["template"] == "A", "X", "Y"), dtype="str")
    d = card_of(c, o).diagnose()
    rows = d[(d["rule"] == "friction_hotspot") & (d["period_start"] == W[1])]
    assert sorted(
        zip(
            rows["evidence"].map(lambda e: e["dimension"]),
            rows["evidence"].map(lambda e: e["value"]),
        )
    ) == [
        ("campaign", "X"),
        ("template", "A"),
    ]


def test_friction_hotspot_value_without_orders():
    # A: 40 of 80 contacts, 0 of 100 orders: 0.5 >= 2 x 0 -> fires; contacts per order has no
    # value (40 / 0)
    card = card_of(*_hotspot_tables(40, 40, 0, 100))
    got = fired(card, "friction_hotspot")
    assert list(got) == [W[1]]
    evidence = got[W[1]]
    assert (evidence["value"], evidence["contacts"], evidence["orders"]) == ("A", 40, 0)
    assert (evidence["contact_share"], evidence["order_share"]) == (0.5, 0.0)
    assert evidence.get("contacts_per_order") is None


def test_friction_hotspot_skips_null_values():
    c, o = _hotspot_tables(40, 40, 10, 90)
    c["template"] = c["template"].where(c["template"] != "A", None)
    o["template"] = o["template"].where(o["template"] != "A", None)
    assert_silent(card_of(c, o), "friction_hotspot")


def test_friction_hotspot_share_within_the_group_cell():
    # group_by channel, A's contacts all on email: in the email cell A has 40 of 40 contacts
    # (share 1.0) against 10 of the period's 100 orders (0.1) -> fires for email only.
    c, o = _hotspot_tables(40, 40, 10, 90)
    c["channel"] = pd.array(np.where(c["template"] == "A", "email", "chat"), dtype="str")
    d = card_of(c, o, group_by="channel").diagnose()
    d = d[d["rule"] == "friction_hotspot"]
    assert list(zip(d["period_start"], d["channel"])) == [(W[1], "email")]
    assert same_evidence(
        d["evidence"].iloc[0],
        {
            "dimension": "template",
            "value": "A",
            "contacts": 40,
            "orders": 10,
            "contact_share": 1.0,
            "order_share": 0.1,
            "contacts_per_order": 4.0,
        },
    )


# --- custom rules ------------------------------------------------------------------------

SLOW_FRT_TOML = """
[rules.slow_first_response]
when = ["frt_median > 60"]
symptom = "first replies are slow"
likely_cause = "too few agents on the early shift"
action = "move two agents to the early shift"
validation_metric = "frt_median"
owner = "support lead"
"""


def _frt_tables():
    # W0 first responses after 90, 30, 120 minutes -> frt_median 90 (> 60)
    # W1 after 10, 20, 30 minutes -> 20 -> silent
    rows = []
    for week, minutes in ((0, (90, 30, 120)), (1, (10, 20, 30))):
        for i, m in enumerate(minutes):
            created = at(week, days=1, hours=10 + i)
            rows.append(
                {"created_at": created, "first_response_at": created + pd.Timedelta(minutes=m)}
            )
    return contacts(rows), orders([{"created_at": at(0, days=1)}])


def _assert_slow_frt_fires(card):
    got = fired(card, "slow_first_response")
    assert list(got) == [W[0]]
    assert same_evidence(got[W[0]], {"frt_median > 60": 90.0})
    d = card.diagnose()
    row = d[d["rule"] == "slow_first_response"].iloc[0]
    assert row["symptom"] == "first replies are slow"
    assert row["likely_cause"] == "too few agents on the early shift"
    assert row["action"] == "move two agents to the early shift"
    assert row["validation_metric"] == "frt_median"
    assert row["owner"] == "support lead"


def test_custom_rule_from_toml_text():
    cfg = sk.Config.from_toml(SLOW_FRT_TOML)
    assert cfg.to_dict()["rules"]["slow_first_response"]["when"] == ["frt_median > 60"]
    # the defaults stay
    assert "csat_below_floor" in cfg.to_dict()["rules"]
    _assert_slow_frt_fires(card_of(*_frt_tables(), config=cfg))


def test_custom_rule_from_toml_file(tmp_path):
    path = tmp_path / "scorecard.toml"
    path.write_text(SLOW_FRT_TOML, encoding="utf-8")
    _assert_slow_frt_fires(card_of(*_frt_tables(), config=str(path)))
    _assert_slow_frt_fires(card_of(*_frt_tables(), config=path))
    _assert_slow_frt_fires(card_of(*_frt_tables(), config=sk.Config.from_toml(path)))


def test_custom_rule_from_json_file_and_dict(tmp_path):
    rule = {
        "when": ["frt_median > 60"],
        "symptom": "first replies are slow",
        "likely_cause": "too few agents on the early shift",
        "action": "move two agents to the early shift",
        "validation_metric": "frt_median",
        "owner": "support lead",
    }
    path = tmp_path / "scorecard.json"
    path.write_text(json.dumps({"rules": {"slow_first_response": rule}}), encoding="utf-8")
    _assert_slow_frt_fires(card_of(*_frt_tables(), config=str(path)))
    _assert_slow_frt_fires(card_of(*_frt_tables(), config={"rules": {"slow_first_response": rule}}))


def test_custom_rule_with_several_conditions_and_functions():
    # contacts: W0 3, W1 6 -> pct_change +1.0; abs(delta(frt_median)) = |45 - 90| = 45
    rows = []
    for week, minutes in ((0, (90, 30, 120)), (1, (40, 45, 45, 50, 60, 10))):
        for i, m in enumerate(minutes):
            created = at(week, days=1, hours=10 + i)
            rows.append(
                {"created_at": created, "first_response_at": created + pd.Timedelta(minutes=m)}
            )
    # W1 frt: sorted 10 40 45 45 50 60 -> median (45 + 45) / 2 = 45
    config = {
        "rules": {
            "volume_doubles": {
                "when": ["pct_change(contacts) >= 1", "abs(delta(frt_median)) > 40"],
                "symptom": "s",
                "likely_cause": "c",
                "action": "a",
                "validation_metric": "contacts",
                "owner": "o",
            }
        }
    }
    card = card_of(contacts(rows), orders([{"created_at": at(0, days=1)}]), config=config)
    assert_fires_only(
        card,
        "volume_doubles",
        1,
        {"pct_change(contacts) >= 1": 1.0, "abs(delta(frt_median)) > 40": 45.0},
    )


def test_custom_rule_reads_the_baseline_of_an_unbanded_quantile_kpi():
    # Baselines are computed only for what reads them (bands and ratio_to_baseline);
    # resolution_time_p90 has no band, so only this rule asks for its baseline.
    # W0 resolves in 1..5 h: p90 = 4 + 0.6 * (5 - 4) = 4.6 (numpy's linear rule);
    # W1 resolves in 10 h each: p90 = 10. W1's 30-day baseline is W0: ratio 10 / 4.6.
    rows = []
    for week, hours in ((0, (1, 2, 3, 4, 5)), (1, (10, 10, 10, 10, 10))):
        for i, h in enumerate(hours):
            created = at(week, days=1, hours=1 + i)
            rows.append({"created_at": created, "resolved_at": created + pd.Timedelta(hours=h)})
    rule = "ratio_to_baseline(resolution_time_p90) >= 2"
    config = {
        "rules": {
            "slow_tail": {
                "when": [rule],
                "symptom": "s",
                "likely_cause": "c",
                "action": "a",
                "validation_metric": "resolution_time_p90",
                "owner": "o",
            }
        }
    }
    card = card_of(contacts(rows), orders([{"created_at": at(0, days=1)}]), config=config)
    assert_fires_only(card, "slow_tail", 1, {rule: 10 / 4.6})
    # The same threshold just above the ratio stays silent.
    config["rules"]["slow_tail"]["when"] = ["ratio_to_baseline(resolution_time_p90) >= 2.18"]
    assert_silent(
        card_of(contacts(rows), orders([{"created_at": at(0, days=1)}]), config=config),
        "slow_tail",
    )


def test_disable_a_default_rule():
    tables = _csat_tables([5, 4, 4, 5], [4, 4, 3, 4])
    assert fired(card_of(*tables), "csat_below_floor")  # fires by default
    off = {"rules": {"csat_below_floor": {"enabled": False}}}
    assert_silent(card_of(*tables, config=off), "csat_below_floor")
    toml_off = sk.Config.from_toml("[rules.csat_below_floor]\nenabled = false\n")
    assert_silent(card_of(*tables, config=toml_off), "csat_below_floor")
    # the other fields keep their defaults
    assert toml_off.to_dict()["rules"]["csat_below_floor"]["when"] == ["csat_mean < 4.0"]


def test_retune_a_threshold():
    # W1 mean 3.75: below 4.0 but not below 3.5
    tables = _csat_tables([5, 4, 4, 5], [4, 4, 3, 4])
    lower = sk.Config.from_toml('[rules.csat_below_floor]\nwhen = ["csat_mean < 3.5"]\n')
    assert_silent(card_of(*tables, config=lower), "csat_below_floor")
    # raise the floor to 4.6: W0 4.5 and W1 3.75 both fire, evidence keyed by the new text
    higher = {"rules": {"csat_below_floor": {"when": ["csat_mean < 4.6"]}}}
    got = fired(card_of(*tables, config=higher), "csat_below_floor")
    assert list(got) == [W[0], W[1]]
    assert same_evidence(got[W[0]], {"csat_mean < 4.6": 4.5})
    assert same_evidence(got[W[1]], {"csat_mean < 4.6": 3.75})


def test_retuned_when_replaces_the_list_whole():
    # repeats_up_volume_flat with only the repeat condition: fires although volume moved
    # +10% (20 -> 22), which the default's first condition would block.
    tables = _repeat_tables(21)
    config = {
        "rules": {"repeats_up_volume_flat": {"when": ["delta(repeat_contact_rate_14d) >= 0.02"]}}
    }
    # repeat rate 0 -> 1/22
    assert_fires_only(
        card_of(*tables, config=config),
        "repeats_up_volume_flat",
        1,
        {"delta(repeat_contact_rate_14d) >= 0.02": 1 / 22},
    )


def test_retune_hotspot_thresholds():
    # min_contacts 20: the 29-contact A now qualifies (0.5 >= 2 x 0.1)
    config = {"rules": {"friction_hotspot": {"min_contacts": 20}}}
    got = fired(card_of(*_hotspot_tables(29, 29, 10, 90), config=config), "friction_hotspot")
    assert list(got) == [W[1]]
    assert got[W[1]]["value"] == "A" and got[W[1]]["contacts"] == 29


@pytest.mark.parametrize(
    ("rule", "needle"),
    [
        ({"when": ["frt_median >> 60"]}, "slow"),
        ({"when": ["not_a_kpi > 1"]}, "not_a_kpi"),
    ],
)
def test_bad_custom_rule_is_a_config_error(rule, needle):
    config = {"rules": {"slow": rule}}
    with pytest.raises(sk.ConfigError, match=needle):
        card_of(*_frt_tables(), config=config)
    with pytest.raises(sk.ConfigError, match=needle):
        sk.Config(config)
