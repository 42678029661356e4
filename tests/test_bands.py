"""Bands through the public API: `card.bands()` (SPEC §6, docs/semantics.md "Band edges").

Each test builds weekly data whose KPI value lands exactly on a band edge or just beyond it,
and checks the band, the owner and the `expected` flag. A value equal to an edge (up to 1e-9
relative rounding) takes the better band.

Weeks are ISO weeks in UTC: W[0] = Monday 2024-01-01, W[1] = 2024-01-08, ...
"""

import math

import pandas as pd
import pytest
import supportkpi as sk
from frames import W, at, contacts, events, orders

# SPEC §6: owner of every banded KPI (frt_median is split by path).
SPEC_OWNERS = {
    "preventable_contact_rate": "CX + ecommerce ops",
    "self_service_resolution_rate": "support enablement",
    "recovery_rate_7d": "growth + lifecycle",
    "repeat_contact_rate_14d": "support operations",
    "cost_per_resolved_vs_baseline": "finance + support",
    "negative_csat_checkout_shipping_share": "product + checkout owner",
    "csat_mean": "support lead",
    "fcr_rate": "support operations",
    "deflection_rate": "support enablement",
    "recontact_rate_48h": "support operations",
    "escalation_rate": "support enablement",
    "resolution_accuracy": "support enablement",
    "csat_ai_human_gap": "support lead",
    "tickets_per_order": "CX + ecommerce ops",
    "frt_median_human": "support lead",
    "frt_median_ai": "support enablement",
    "aht_minutes": "support lead",
    "backlog_age_hours": "support operations",
}


# The hand-built weeks hold a few contacts each: they test the edges, not SPEC §10.2's
# min_sample (tested in tests/test_statistics.py), so every band reads any sample here.
ANY_SAMPLE = {"bands": {kpi: {"min_sample": 0} for kpi in sk.default_config()["bands"]}}


def scorecard(c, o, config=None, **kw):
    """sk.scorecard with ANY_SAMPLE under `config` (None, a dict or a Config)."""
    user = config.to_dict() if isinstance(config, sk.Config) else dict(config or {})
    bands = dict(user.get("bands") or {})
    for kpi, patch in ANY_SAMPLE["bands"].items():
        bands[kpi] = {**patch, **bands.get(kpi, {})}
        if isinstance(config, sk.Config):
            bands[kpi]["min_sample"] = 0
    return sk.scorecard(c, o, config={**user, "bands": bands}, **kw)


def one_order():
    return orders([{"created_at": at(0, days=1)}])


def weekly_contacts(per_week):
    """per_week: list (one entry per week from W[0]) of lists of contact dicts."""
    rows = []
    for week, week_rows in enumerate(per_week):
        for i, r in enumerate(week_rows):
            rows.append({"created_at": at(week, days=1, minutes=i), **r})
    return contacts(rows)


def bands_of(card, kpi):
    """{period_start: band} for one KPI (None for a null band)."""
    b = card.bands()
    b = b[b["kpi"] == kpi]
    return {p: (None if pd.isna(band) else band) for p, band in zip(b["period_start"], b["band"])}


def values_of(card, kpi):
    b = card.bands()
    b = b[b["kpi"] == kpi]
    return dict(zip(b["period_start"], b["value"]))


def ratings(**counts):
    """ratings(r5=3, r4=7) -> 3 contacts rated 5 and 7 rated 4."""
    out = []
    for key, n in counts.items():
        out += [{"csat": float(key[1:])}] * n
    return out


# --- higher is better: csat_mean (healthy >= 4.3, watch 4.0-4.3, intervention < 4.0) ------


def _csat_card(config=None, ev=None):
    per_week = [
        ratings(r5=3, r4=7),  # W0: 43 / 10 = 4.3 -> on the healthy edge
        ratings(r5=29, r4=71),  # W1: 429 / 100 = 4.29 -> watch
        ratings(r4=5),  # W2: 4.0 -> on the watch edge
        ratings(r4=99, r3=1),  # W3: 399 / 100 = 3.99 -> intervention
        ratings(r5=31, r4=69),  # W4: 431 / 100 = 4.31 -> healthy
        [{"csat": None}] * 3,  # W5: nobody rated -> value null, band null
        [{"csat": 4.3 - 1e-12}],  # W6: 4.3 up to rounding (2e-13 relative) -> healthy
        [{"csat": 4.3 - 1e-6}],  # W7: 2.3e-7 relative below 4.3 -> watch
    ]
    return scorecard(weekly_contacts(per_week), one_order(), by="week", config=config, events=ev)


def test_csat_mean_band_edges():
    card = _csat_card()
    assert values_of(card, "csat_mean")[W[0]] == pytest.approx(4.3, rel=1e-15)
    assert values_of(card, "csat_mean")[W[3]] == pytest.approx(3.99, rel=1e-15)
    assert bands_of(card, "csat_mean") == {
        W[0]: "healthy",
        W[1]: "watch",
        W[2]: "watch",
        W[3]: "intervention",
        W[4]: "healthy",
        W[5]: None,
        W[6]: "healthy",
        W[7]: "watch",
    }


def test_band_null_when_value_null():
    b = _csat_card().bands()
    row = b[(b["kpi"] == "csat_mean") & (b["period_start"] == W[5])].iloc[0]
    assert math.isnan(row["value"])
    assert pd.isna(row["band"])
    assert row["owner"] == "support lead"  # the owner is there also without a value


def test_bands_follow_a_config_override():
    # healthy from 4.5: W0's 4.3 and W4's 4.31 drop to watch; the watch edge stays 4.0
    card = _csat_card(config={"bands": {"csat_mean": {"healthy_min": 4.5}}})
    bands = bands_of(card, "csat_mean")
    assert bands[W[0]] == "watch"
    assert bands[W[4]] == "watch"
    assert bands[W[2]] == "watch"
    assert bands[W[3]] == "intervention"
    # raise the watch edge too, and rename the owner, from TOML text
    cfg = sk.Config.from_toml(
        '[bands.csat_mean]\nhealthy_min = 4.5\nwatch_min = 4.3\nowner = "CX director"\n'
    )
    card = _csat_card(config=cfg)
    bands = bands_of(card, "csat_mean")
    assert bands[W[0]] == "watch"  # 4.3 on the new watch edge
    assert bands[W[1]] == "intervention"  # 4.29
    b = card.bands()
    assert set(b.loc[b["kpi"] == "csat_mean", "owner"]) == {"CX director"}
    # the other KPIs keep their owners
    assert set(b.loc[b["kpi"] == "tickets_per_order", "owner"]) == {"CX + ecommerce ops"}


def test_bands_columns():
    b = _csat_card().bands()
    assert list(b.columns) == [
        "period_start",
        "kpi",
        "value",
        "band",
        "owner",
        "baseline",
        "delta_vs_baseline",
        "expected",
        "n",
        "ci_low",
        "ci_high",
        "band_certain",
        "p_value",
    ]


def test_baseline_and_delta_columns():
    # csat_mean baseline = the KPI recomputed over the 30 days before the period:
    # W1: W0's rows only: 4.3; delta = 4.29 - 4.3
    # W2: W0 + W1 pooled: (43 + 429) / 110 = 4.290909...
    b = _csat_card().bands()
    b = b[b["kpi"] == "csat_mean"].set_index("period_start")
    assert math.isnan(b.loc[W[0], "baseline"])
    assert math.isnan(b.loc[W[0], "delta_vs_baseline"])
    assert b.loc[W[1], "baseline"] == pytest.approx(4.3, rel=1e-12)
    assert b.loc[W[1], "delta_vs_baseline"] == pytest.approx(4.29 - 4.3, abs=1e-12)
    assert b.loc[W[2], "baseline"] == pytest.approx(472 / 110, rel=1e-12)
    assert b.loc[W[2], "delta_vs_baseline"] == pytest.approx(4.0 - 472 / 110, abs=1e-12)


# --- higher is better: recovery_rate_7d (>= 18%, 10-18%, < 10%) ----------------------------


def test_recovery_rate_band_edges():
    # 50 contacts a week (distinct customers); the first k order one day later.
    # k = 9 -> 9/50 = 0.18 (healthy edge); 8 -> 0.16 watch; 5 -> 0.10 (watch edge);
    # 4 -> 0.08 intervention. An anonymous order on W5 sets as_of past every maturity.
    ks = [9, 8, 5, 4]
    rows, order_rows = [], []
    for week, k in enumerate(ks):
        for i in range(50):
            customer = 100 * week + i + 1
            rows.append({"customer_id": customer, "created_at": at(week, days=1, minutes=i)})
            if i < k:
                order_rows.append({"customer_id": customer, "created_at": at(week, days=2)})
    order_rows.append({"created_at": at(5, days=1)})
    card = scorecard(contacts(rows), orders(order_rows), by="week")
    bands = bands_of(card, "recovery_rate_7d")
    assert [bands[W[k]] for k in range(4)] == ["healthy", "watch", "watch", "intervention"]
    assert values_of(card, "recovery_rate_7d")[W[0]] == pytest.approx(0.18, rel=1e-15)


# --- lower is better: tickets_per_order (<= 0.10, 0.10-0.15, > 0.15) ---------------------


def _tpo_card(contacts_per_week, orders_per_week):
    per_week = [[{}] * n for n in contacts_per_week]
    order_rows = [
        {"created_at": at(week, days=2, minutes=i)}
        for week, n in enumerate(orders_per_week)
        for i in range(n)
    ]
    return scorecard(weekly_contacts(per_week), orders(order_rows), by="week")


def test_tickets_per_order_band_edges():
    card = _tpo_card([1, 11, 15, 16, 2, 3, 0], [10, 100, 100, 100, 19, 19, 10])
    assert values_of(card, "tickets_per_order")[W[0]] == 0.1  # 1 / 10
    assert bands_of(card, "tickets_per_order") == {
        W[0]: "healthy",  # 1 / 10 = 0.10, on the edge
        W[1]: "watch",  # 11 / 100 = 0.11
        W[2]: "watch",  # 15 / 100 = 0.15, on the watch edge
        W[3]: "intervention",  # 16 / 100 = 0.16
        W[4]: "watch",  # 2 / 19 = 0.105
        W[5]: "intervention",  # 3 / 19 = 0.158
        W[6]: "healthy",  # 0 / 10 = 0
    }


def test_tickets_per_order_null_without_orders():
    # W1 has contacts but no orders: 3 / 0 -> null value, null band
    card = _tpo_card([1, 3], [10, 0])
    assert bands_of(card, "tickets_per_order") == {W[0]: "healthy", W[1]: None}


# --- lower is better: repeat_contact_rate_14d (<= 12%, 12-20%, > 20%) ---------------------


def test_repeat_contact_rate_band_edges():
    # 25 contacts a week: k customers contact twice (1 hour apart; the first contact is a
    # repeat), 25 - 2k customers once. No intent column: one issue key per customer.
    # k = 3 -> 3/25 = 0.12 (healthy edge); 4 -> 0.16 watch; 5 -> 0.20 (watch edge);
    # 6 -> 0.24 intervention. An anonymous order on W6 makes every week mature.
    ks = [3, 4, 5, 6]
    rows = []
    for week, k in enumerate(ks):
        customer = 1000 * (week + 1)
        minute = 0
        for i in range(25 - k):
            customer += 1
            for hour in (10, 11) if i < k else (10,):
                rows.append(
                    {
                        "customer_id": customer,
                        "created_at": at(week, days=1, hours=hour, minutes=minute),
                    }
                )
            minute += 1
    c = contacts(rows)
    assert list(c.groupby(c["created_at"].dt.isocalendar().week).size()) == [25] * 4
    card = scorecard(c, orders([{"created_at": at(6, days=1)}]), by="week")
    bands = bands_of(card, "repeat_contact_rate_14d")
    assert [bands[W[k]] for k in range(4)] == ["healthy", "watch", "watch", "intervention"]
    assert values_of(card, "repeat_contact_rate_14d")[W[0]] == pytest.approx(0.12, rel=1e-15)


# --- lower is better: aht_minutes (<= 15, 15-20, > 20) -----------------------------------


def test_aht_minutes_band_edges():
    # one resolved human contact a week; aht = handle_seconds / 60
    secs = [900, 901, 1200, 1201, 900 * (1 + 1e-12)]
    per_week = [
        [{"handled_by": "human", "handle_seconds": s, "resolved_at": at(w, days=2)}]
        for w, s in enumerate(secs)
    ]
    card = scorecard(weekly_contacts(per_week), one_order(), by="week")
    assert bands_of(card, "aht_minutes") == {
        W[0]: "healthy",  # 15.0
        W[1]: "watch",  # 15.0167
        W[2]: "watch",  # 20.0
        W[3]: "intervention",  # 20.0167
        W[4]: "healthy",  # 15 up to 1e-12 relative
    }


# --- range: escalation_rate (healthy 20-40%, watch < 20% or 40-50%, intervention > 50%) ----


def test_escalation_rate_band_edges():
    # 100 AI contacts a week, k of them escalated -> escalation_rate k / 100
    ks = [19, 20, 30, 40, 41, 50, 51, 0, 100]
    per_week = [[{"handled_by": "ai", "escalated": i < k} for i in range(100)] for k in ks]
    card = scorecard(weekly_contacts(per_week), one_order(), by="week")
    assert values_of(card, "escalation_rate")[W[1]] == 0.2
    assert bands_of(card, "escalation_rate") == {
        W[0]: "watch",  # 0.19: below the healthy range
        W[1]: "healthy",  # 0.20: lower edge of healthy
        W[2]: "healthy",  # 0.30
        W[3]: "healthy",  # 0.40: upper edge of healthy
        W[4]: "watch",  # 0.41
        W[5]: "watch",  # 0.50: watch edge
        W[6]: "intervention",  # 0.51
        W[7]: "watch",  # 0.00: below the range is watch, never intervention
        W[8]: "intervention",  # 1.00
    }


def test_range_band_follows_override():
    # healthy 10-30%, watch up to 35%
    per_week = [
        [{"handled_by": "ai", "escalated": i < k} for i in range(100)] for k in (10, 31, 36)
    ]
    config = {
        "bands": {"escalation_rate": {"healthy_min": 0.1, "healthy_max": 0.3, "watch_max": 0.35}}
    }
    card = scorecard(weekly_contacts(per_week), one_order(), by="week", config=config)
    assert bands_of(card, "escalation_rate") == {
        W[0]: "healthy",
        W[1]: "watch",
        W[2]: "intervention",
    }


def test_range_band_honours_a_watch_min():
    # healthy 20-40%, watch 10-20% or 40-50%, intervention below 10% or above 50%
    ks = [9, 10, 15, 20, 0]
    per_week = [[{"handled_by": "ai", "escalated": i < k} for i in range(100)] for k in ks]
    config = {"bands": {"escalation_rate": {"watch_min": 0.1}}}
    card = scorecard(weekly_contacts(per_week), one_order(), by="week", config=config)
    assert bands_of(card, "escalation_rate") == {
        W[0]: "intervention",  # 0.09
        W[1]: "watch",  # 0.10: the watch edge
        W[2]: "watch",
        W[3]: "healthy",
        W[4]: "intervention",  # 0.00
    }


@pytest.mark.parametrize(
    ("band", "option"),
    [
        ({"csat_mean": {"watch_max": 4.5}}, "watch_max"),
        ({"tickets_per_order": {"healthy_min": 0.05}}, "healthy_min"),
        ({"escalation_rate": {"watch_min": 0.3}}, "escalation_rate"),  # inside healthy
    ],
)
def test_a_band_option_the_engine_does_not_honour_is_a_config_error(band, option):
    with pytest.raises(sk.ConfigError, match=option):
        sk.Config({"bands": band})


def test_a_band_that_changes_shape_starts_from_its_owner():
    config = sk.Config(
        {
            "bands": {
                "escalation_rate": {
                    "shape": "lower_is_better",
                    "healthy_max": 0.3,
                    "watch_max": 0.4,
                }
            }
        }
    )
    band = config.to_dict()["bands"]["escalation_rate"]
    assert band == {
        "shape": "lower_is_better",
        "healthy_max": 0.3,
        "watch_max": 0.4,
        "owner": "support enablement",
        "min_sample": 30,
    }
    # a min_sample given with the new shape is kept
    patch = {"shape": "lower_is_better", "healthy_max": 0.3, "watch_max": 0.4, "min_sample": 50}
    config = sk.Config({"bands": {"escalation_rate": patch}})
    assert config.to_dict()["bands"]["escalation_rate"]["min_sample"] == 50


def _region_band(regions, value):
    """The band of ``value`` under exported regions, written here: an edge (up to 1e-9
    relative) belongs to the range that includes it, the better band first."""

    def near(a, b):
        return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))

    def inside(r):
        above = value > r.low or (r.includes_low and near(value, r.low))
        below = value < r.high or (r.includes_high and near(value, r.high))
        return above and below

    for name in ("healthy", "watch", "intervention"):
        if any(r.band == name and inside(r) for r in regions):
            return name
    return None


def test_exported_regions_give_every_band_the_engine_gives():
    # What the charts shade and the report describes must be what card.bands() says, also
    # for a config band (a range with a watch_min, moved edges).
    from supportkpi import _present

    sample = sk.load_sample()
    config = {
        "bands": {
            "escalation_rate": {"watch_min": 0.25, "healthy_min": 0.3},
            "csat_mean": {"healthy_min": 4.1, "watch_min": 3.9},
        }
    }
    card = scorecard(
        sample["contacts"], sample["orders"], sessions=sample["sessions"], config=config
    )
    bands = card.bands().dropna(subset=["value"])
    seen = set()
    for kpi, rows in bands.groupby("kpi"):
        regions = _present.band_regions(_present.band_edges(card, kpi))
        for value, band in zip(rows["value"], rows["band"], strict=True):
            assert _region_band(regions, value) == band, (kpi, value)
            seen.add(band)
    assert seen == {"healthy", "watch", "intervention"}


# --- owners and the set of banded KPIs ---------------------------------------------------


def test_owner_on_every_row_and_every_banded_kpi_present():
    sample = sk.load_sample()
    card = scorecard(
        sample["contacts"],
        sample["orders"],
        sessions=sample["sessions"],
        events=sample["events"],
        by="week",
    )
    b = card.bands()
    assert len(b) > 0
    assert set(b["kpi"]) == set(SPEC_OWNERS)
    for kpi, owner in zip(b["kpi"], b["owner"]):
        assert owner == SPEC_OWNERS[kpi], kpi
    # one row per period x banded KPI
    periods = card.to_pandas()["period_start"].unique()
    assert len(b) == len(periods) * len(SPEC_OWNERS)
    assert not b.duplicated(["period_start", "kpi"]).any()
    # band values come from the closed set
    assert set(b["band"].dropna()) <= {"healthy", "watch", "intervention"}


def test_bands_only_for_kpis_present():
    # no handled_by, csat, resolved_at, ...: only tickets_per_order and the KPIs the bare
    # columns allow are banded
    card = _tpo_card([1, 2], [10, 10])
    kpis = set(card.bands()["kpi"])
    assert "tickets_per_order" in kpis
    assert "csat_mean" not in kpis and "escalation_rate" not in kpis
    assert kpis <= set(SPEC_OWNERS)
    assert kpis <= set(card.kpis)


def test_bands_per_group():
    # group_by channel: email rated 5, 4 (4.5 healthy); chat rated 4, 3 (3.5 intervention)
    per_week = [
        [
            {"channel": "email", "csat": 5.0},
            {"channel": "email", "csat": 4.0},
            {"channel": "chat", "csat": 4.0},
            {"channel": "chat", "csat": 3.0},
        ]
    ]
    card = scorecard(weekly_contacts(per_week), one_order(), by="week", group_by="channel")
    b = card.bands()
    assert list(b.columns[:3]) == ["period_start", "channel", "kpi"]
    b = b[b["kpi"] == "csat_mean"].set_index("channel")
    assert b.loc["email", "band"] == "healthy"
    assert b.loc["chat", "band"] == "intervention"
    assert b.loc["email", "value"] == 4.5 and b.loc["chat", "value"] == 3.5
    assert set(b["owner"]) == {"support lead"}


# --- expected: a `peak` event overlapping the period -----------------------------------


def _expected_by_week(card):
    b = card.bands()
    out = {}
    for period, group in b.groupby("period_start"):
        flags = set(group["expected"].tolist())
        assert len(flags) == 1, (period, flags)  # the same for every KPI of the period
        out[period] = flags.pop()
    return out


def _four_weeks(ev):
    per_week = [ratings(r5=1, r4=1)] * 4
    return scorecard(weekly_contacts(per_week), one_order(), by="week", events=ev)


def test_expected_true_only_in_weeks_overlapping_a_peak():
    # BFCM peak from W1 Wednesday to W1 Thursday: only W1 is expected
    ev = events(("BFCM", "peak", at(1, days=2), at(1, days=3)))
    assert _expected_by_week(_four_weeks(ev)) == {W[0]: False, W[1]: True, W[2]: False, W[3]: False}


def test_expected_without_events_is_false():
    assert set(_expected_by_week(_four_weeks(None)).values()) == {False}


def test_expected_peak_spanning_weeks():
    # from W1 Sunday to W2 Monday noon: W1 and W2
    ev = events(("Peak", "peak", at(1, days=6), at(2, hours=12)))
    assert _expected_by_week(_four_weeks(ev)) == {W[0]: False, W[1]: True, W[2]: True, W[3]: False}


def test_expected_edges():
    # overlap = start < period end and end >= period start.
    # An instant peak at W2's start (start = end = 2024-01-15 00:00): W2 yes (end >= W2
    # start, start < W2 end); W1 no (start = W1's end, not before it).
    ev = events(("Flash", "peak", W[2], W[2]))
    assert _expected_by_week(_four_weeks(ev)) == {W[0]: False, W[1]: False, W[2]: True, W[3]: False}
    # A peak ending exactly at W1's start (W0 Friday -> 2024-01-08 00:00): W0 and W1.
    ev = events(("Peak", "peak", at(0, days=4), W[1]))
    assert _expected_by_week(_four_weeks(ev)) == {W[0]: True, W[1]: True, W[2]: False, W[3]: False}


def test_expected_ignores_promo_and_launch():
    ev = events(
        ("Sale", "promo", at(1, days=1), at(1, days=2)),
        ("Launch", "launch", at(2, days=1), at(2, days=2)),
    )
    assert set(_expected_by_week(_four_weeks(ev)).values()) == {False}


def test_expected_with_group_by():
    per_week = [[{"channel": "email", "csat": 4.0}, {"channel": "chat", "csat": 5.0}]] * 2
    ev = events(("Peak", "peak", at(1, days=1), at(1, days=2)))
    card = scorecard(
        weekly_contacts(per_week), one_order(), by="week", events=ev, group_by="channel"
    )
    b = card.bands()
    assert set(b.loc[b["period_start"] == W[0], "expected"]) == {False}
    assert set(b.loc[b["period_start"] == W[1], "expected"]) == {True}
    assert set(b["channel"]) == {"email", "chat"}


def test_naive_event_timestamps_read_as_utc():
    ev = pd.DataFrame(
        {
            "name": ["Peak"],
            "kind": ["peak"],
            "start": [pd.Timestamp("2024-01-09")],
            "end": [pd.Timestamp("2024-01-10")],
        }
    )
    assert _expected_by_week(_four_weeks(ev)) == {W[0]: False, W[1]: True, W[2]: False, W[3]: False}


def test_event_columns_can_be_renamed():
    ev = pd.DataFrame(
        {
            "title": ["Peak"],
            "type": ["peak"],
            "from": [pd.Timestamp("2024-01-09", tz="UTC")],
            "to": [pd.Timestamp("2024-01-10", tz="UTC")],
        }
    )
    per_week = [ratings(r5=1, r4=1)] * 2
    card = scorecard(
        weekly_contacts(per_week),
        one_order(),
        by="week",
        events=ev,
        columns={"name": "title", "kind": "type", "start": "from", "end": "to"},
    )
    assert _expected_by_week(card) == {W[0]: False, W[1]: True}


@pytest.mark.parametrize(
    ("ev", "error"),
    [
        (events(("Sale", "sale", at(1, 1), at(1, 2))), sk.DataError),  # unknown kind
        (events(("Peak", "PEAK", at(1, 1), at(1, 2))), sk.DataError),  # kinds are lower case
        (events(("Peak", "peak", at(1, 3), at(1, 2))), sk.DataError),  # end before start
        (events(("Peak", "peak", at(1, 3), None)), sk.DataError),  # null end
        (events(("Peak", "peak", at(1, 1), at(1, 2))).drop(columns=["end"]), sk.SchemaError),
    ],
)
def test_bad_events_are_rejected(ev, error):
    with pytest.raises(error, match="events"):
        _four_weeks(ev)


@pytest.mark.parametrize(
    ("value", "band"),
    [
        (4.3 * (1 - 5e-10), "healthy"),  # within 1e-9 relative of the edge: on it
        (4.3 * (1 - 5e-9), "watch"),  # beyond the rounding tolerance
        (4.0 * (1 - 5e-10), "watch"),
        (4.0 * (1 - 5e-9), "intervention"),
    ],
)
def test_edge_tolerance_is_1e9_relative(value, band):
    card = scorecard(weekly_contacts([[{"csat": value}]]), one_order(), by="week")
    assert bands_of(card, "csat_mean") == {W[0]: band}
