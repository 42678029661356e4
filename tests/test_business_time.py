"""Business time and SLAs (SPEC §9.1-9.3): the engine against an independent brute-force
oracle (tests/business_oracle.py), per contact, to the microsecond.

Generated contacts span both DST changes of 2024 in America/New_York and Europe/London and
the half-hour change of Australia/Lord_Howe, with overnight shifts, intervals that start
or end inside a DST gap or overlap, a schedule version and holidays.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest
import supportkpi as sk
from business_oracle import US, business_time, due, intervals
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

HOUR = 3_600 * US
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]

CALENDARS = {
    "default": {
        "tz": "America/New_York",
        "week": {
            **{d: ["09:00-17:00"] for d in WEEKDAYS},
            "sat": ["22:00-06:00"],  # overnight into Sunday, also across the DST nights
            "sun": ["01:30-03:30"],  # inside the spring gap and the autumn overlap
        },
        "holidays": ["2024-07-04", "2024-12-25", "2024-11-03"],
        "versions": [
            {"from": "2024-06-01", "week": {"mon": ["08:00-18:00"], "sun": ["00:00-24:00"]}},
            {"from": "2024-09-01", "week": {**{d: ["09:00-17:00"] for d in WEEKDAYS}}},
            {"from": "2024-10-28", "week": {"sun": ["01:00-02:30"], "tue": ["13:00-24:00"]}},
        ],
    },
    "london": {
        "tz": "Europe/London",
        "week": {
            **{d: ["09:00-17:30"] for d in WEEKDAYS},
            "fri": ["09:00-17:30", "22:00-06:00"],
            "sun": ["00:30-02:30", "01:00-01:45"],  # overlapping intervals are a union
        },
    },
    "lordhowe": {
        "tz": "Australia/Lord_Howe",
        "week": {
            **{d: ["10:00-14:00", "01:30-03:00"] for d in WEEKDAYS},
            "sun": ["01:30-03:00"],  # the 02:00-02:30 gap (Oct 6) and 01:30-02:00 overlap (Apr 7)
        },
    },
}

SLA = [
    {
        "name": "urgent",
        "match": {"priority": "urgent"},
        "first_response": "1h",
        "resolution": "8h",
        "business_hours": True,
    },
    {"name": "chat", "match": {"channel": "chat"}, "first_response": "5m"},
    {"name": "rest", "first_response": "4h", "resolution": "3d", "business_hours": True},
    {"name": "zero", "match": {"priority": "low"}, "first_response": "0m", "business_hours": True},
]

# Days around the 2024 changes: NY Mar 10 / Nov 3, London Mar 31 / Oct 27, Lord Howe Apr 7 / Oct 6.
DST_DAYS = ["2024-03-10", "2024-11-03", "2024-03-31", "2024-10-27", "2024-04-07", "2024-10-06"]


def _contacts(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = int(pd.Timestamp("2024-01-02", tz="UTC").value // 1000)
    span = int(pd.Timedelta(days=360).value // 1000)
    created = start + rng.integers(0, span, n)
    # A third of the contacts within a day of a DST change, so every seam is crossed.
    near = rng.random(n) < 0.35
    anchors = np.array([int(pd.Timestamp(d, tz="UTC").value // 1000) for d in DST_DAYS])
    created[near] = rng.choice(anchors, near.sum()) + rng.integers(
        -36 * HOUR, 36 * HOUR, near.sum()
    )
    first = created + rng.integers(0, 72 * HOUR, n)
    resolved = created + rng.integers(0, 240 * HOUR, n)
    frt_null = rng.random(n) < 0.1
    res_null = rng.random(n) < 0.15

    def ts(values, null):
        return pd.to_datetime(
            np.where(null, np.datetime64("NaT"), values.astype("datetime64[us]")), utc=True
        )

    calendar = rng.choice(np.array(["default", "london", "lordhowe", None], dtype=object), n)
    return pd.DataFrame(
        {
            "contact_id": np.arange(n),
            "customer_id": rng.integers(0, n // 3, n),
            "created_at": ts(created, np.zeros(n, bool)),
            "first_response_at": ts(first, frt_null),
            "resolved_at": ts(resolved, res_null),
            "calendar": calendar,
            "priority": rng.choice(np.array(["urgent", "normal", "low", None], dtype=object), n),
            "channel": rng.choice(np.array(["chat", "email"], dtype=object), n),
        }
    )


def _orders() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "order_id": [1],
            "customer_id": [0],
            "created_at": pd.to_datetime(["2024-01-03"], utc=True),
            "revenue": [10.0],
        }
    )


def _calendar(value) -> str:
    return "default" if pd.isna(value) else str(value)


def _us(series: pd.Series) -> list[int | None]:
    return [None if pd.isna(v) else int(pd.Timestamp(v).value // 1000) for v in series]


@pytest.fixture(scope="module")
def enriched():
    contacts = _contacts(3_000, seed=7)
    config = {"calendars": CALENDARS, "sla": SLA}
    out = sk.enrich_contacts(contacts, _orders(), config=config)
    return contacts, out


def test_business_durations_match_the_brute_force_oracle(enriched):
    contacts, out = enriched
    spans = {
        name: intervals(spec, dt.date(2023, 12, 28), dt.date(2025, 1, 20))
        for name, spec in CALENDARS.items()
    }
    created, first, resolved = (
        _us(contacts[c]) for c in ("created_at", "first_response_at", "resolved_at")
    )
    mismatches = []
    compared = 0
    for i, name in enumerate(contacts["calendar"]):
        cal = spans[_calendar(name)]
        for end, column, per in (
            (first, "first_response_business_minutes", 60 * US),
            (resolved, "resolution_business_hours", HOUR),
        ):
            got = out[column].iloc[i]
            if end[i] is None:
                assert pd.isna(got), (i, column)
                continue
            want = business_time(cal, created[i], end[i])
            compared += 1
            if not got == pytest.approx(want / per, rel=1e-12, abs=1e-12):
                mismatches.append((i, column, got, want / per))
    assert compared > 4_000
    assert mismatches == []


def test_sla_due_instants_and_verdicts_match_the_oracle(enriched):
    contacts, out = enriched
    spans = {
        name: intervals(spec, dt.date(2023, 12, 28), dt.date(2025, 3, 1))
        for name, spec in CALENDARS.items()
    }
    as_of = max(_us(contacts["created_at"]))
    created, first, resolved = (
        _us(contacts[c]) for c in ("created_at", "first_response_at", "resolved_at")
    )
    targets = {
        "1h": HOUR,
        "8h": 8 * HOUR,
        "5m": 5 * 60 * US,
        "4h": 4 * HOUR,
        "3d": 72 * HOUR,
        "0m": 0,
    }
    seen = {"met": 0, "breached": 0, "pending": 0}
    for i in range(len(contacts)):
        policy = next(
            (
                p
                for p in SLA
                if all(contacts[c].iloc[i] == v for c, v in p.get("match", {}).items())
            ),
            None,
        )
        assert out["sla_policy"].iloc[i] == (None if policy is None else policy["name"]) or (
            policy is None and pd.isna(out["sla_policy"].iloc[i])
        )
        for key, event, due_col, met_col in (
            ("first_response", first, "sla_first_response_due_at", "sla_first_response_met"),
            ("resolution", resolved, "sla_resolution_due_at", "sla_resolution_met"),
        ):
            got_due, got_met = _us(out[due_col].iloc[[i]])[0], out[met_col].iloc[i]
            if policy is None or key not in policy:
                assert got_due is None and pd.isna(got_met), (i, key)
                continue
            target = targets[policy[key]]
            cal = spans[_calendar(contacts["calendar"].iloc[i])]
            want_due = (
                due(cal, created[i], target)
                if policy.get("business_hours")
                else created[i] + target
            )
            assert got_due == want_due, (i, key)
            if event[i] is not None:
                want = event[i] <= want_due
            elif want_due <= as_of:
                want = False
            else:
                want = None
            if want is None:
                assert pd.isna(got_met), (i, key)
                seen["pending"] += 1
            else:
                assert bool(got_met) == want, (i, key)
                seen["met" if want else "breached"] += 1
    assert min(seen.values()) >= 10, seen


def test_a_24_7_calendar_is_calendar_time_in_every_zone():
    contacts = _contacts(600, seed=11).drop(columns="calendar")
    for tz in ("America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kathmandu"):
        config = {
            "calendars": {
                "default": {
                    "tz": tz,
                    "week": {d: ["00:00-24:00"] for d in [*WEEKDAYS, "sat", "sun"]},
                }
            }
        }
        out = sk.enrich_contacts(contacts, _orders(), config=config)
        elapsed = (contacts["resolved_at"] - contacts["created_at"]).dt.total_seconds() / 3600
        pd.testing.assert_series_equal(
            out["resolution_business_hours"], elapsed, check_names=False, rtol=1e-12, atol=1e-12
        )


def test_at_most_64_sla_policies():
    policies = [{"name": f"p{k}", "first_response": "1h"} for k in range(65)]
    with pytest.raises(sk.ConfigError, match=r"sla: at most 64 policies \(65 given\)"):
        sk.enrich_contacts(_contacts(10, seed=1), _orders(), config={"sla": policies})
    out = sk.enrich_contacts(_contacts(10, seed=1), _orders(), config={"sla": policies[:64]})
    assert (out["sla_policy"] == "p0").all()


def test_bad_calendar_inputs_are_typed_errors():
    contacts = _contacts(50, seed=3)
    with pytest.raises(sk.DataError, match=r"calendar.*'mars'|calendar.*\"mars\""):
        bad = contacts.assign(calendar=["mars"] + [None] * 49)
        sk.enrich_contacts(bad, _orders(), config={"calendars": CALENDARS})
    for calendars, key in (
        ({"default": {"tz": "Mars/Olympus"}}, "calendars.default.tz"),
        ({"default": {"tz": "UTC", "week": {"mon": ["9-17"]}}}, r"calendars.default.week.mon\[0\]"),
        (
            {"default": {"tz": "UTC", "holidays": ["2024-02-30"]}},
            r"calendars.default.holidays\[0\]",
        ),
        (
            {
                "default": {
                    "tz": "UTC",
                    "versions": [
                        {"from": "2024-06-01", "week": {}},
                        {"from": "2024-01-01", "week": {}},
                    ],
                }
            },
            r"calendars.default.versions\[1\].from",
        ),
    ):
        with pytest.raises(sk.ConfigError, match=key):
            sk.Config({"calendars": calendars})
    dropped = sk.enrich_contacts(
        contacts.assign(calendar=["mars"] + [None] * 49),
        _orders(),
        config={"calendars": CALENDARS},
        on_invalid="drop",
    )
    assert dropped["dropped_reason"].iloc[0].startswith("calendar")


def test_holidays_by_country_are_resolved_through_the_holidays_package(monkeypatch):
    # 2024-07-04 (a Thursday) is a US public holiday: a contact answered that day took no
    # business time; the Friday after counts as usual.
    contacts = pd.DataFrame(
        {
            "contact_id": [1, 2],
            "customer_id": [1, 2],
            "created_at": pd.to_datetime(["2024-07-04 14:00", "2024-07-05 14:00"], utc=True),
            "first_response_at": pd.to_datetime(["2024-07-04 16:00", "2024-07-05 16:00"], utc=True),
        }
    )
    week = {d: ["09:00-17:00"] for d in WEEKDAYS}
    config = {
        "calendars": {
            "default": {"tz": "America/New_York", "week": week, "holidays": {"country": "US"}}
        }
    }
    out = sk.enrich_contacts(contacts, _orders(), config=config)
    assert list(out["first_response_business_minutes"]) == [0.0, 120.0]
    monkeypatch.setitem(__import__("sys").modules, "holidays", None)
    from supportkpi import _config

    _config._country_holidays.cache_clear()
    with pytest.raises(sk.ConfigError, match=r"calendars.default.holidays.*supportkpi\[holidays\]"):
        sk.enrich_contacts(contacts, _orders(), config=config)
    _config._country_holidays.cache_clear()


def test_business_and_sla_kpis_aggregate_the_per_contact_columns(enriched):
    # The weekly KPIs are the per-contact columns aggregated (pandas here): medians of the
    # business durations, met / (met + breached), breach and pending counts.
    contacts, per_contact = enriched
    config = {"calendars": CALENDARS, "sla": SLA}
    card = sk.scorecard(contacts, _orders(), by="week", config=config)
    long = card.to_pandas().set_index(["period_start", "kpi"])
    frame = per_contact.assign(
        week=contacts["created_at"].dt.tz_convert("UTC").dt.floor("D")
        - pd.to_timedelta(contacts["created_at"].dt.tz_convert("UTC").dt.day_of_week, unit="D")
    )
    checked = 0
    for week, rows in frame.groupby("week"):
        fr = rows["sla_first_response_met"].dropna().astype(bool)
        res = rows["sla_resolution_met"].dropna().astype(bool)
        has_policy = rows["sla_policy"].notna()
        pending = has_policy & (
            (rows["sla_first_response_met"].isna())
            | (rows["sla_resolution_met"].isna() & rows["sla_policy"].isin(["urgent", "rest"]))
        )
        want = {
            "sla_first_response_rate": fr.mean() if len(fr) else np.nan,
            "sla_resolution_rate": res.mean() if len(res) else np.nan,
            "sla_first_response_breaches": float((~fr).sum()),
            "sla_resolution_breaches": float((~res).sum()),
            "sla_pending": float(pending.sum()),
            "frt_business_median": rows["first_response_business_minutes"].median(),
            "resolution_time_business_p90": rows["resolution_business_hours"].quantile(0.9),
        }
        for kpi, value in want.items():
            got = long.loc[(week, kpi), "value"]
            assert got == pytest.approx(value, rel=1e-9, nan_ok=True), (week, kpi)
            checked += 1
    assert checked > 300


def test_service_levels_are_shown_in_the_table_the_report_and_the_charts(enriched):
    # The SLA and business-time KPIs have their own section after seed 000's scorecard; the
    # SLA rates and the business medians are charted with the featured KPIs and shown in the
    # terminal view; each cell carries its band and its numerator / denominator.
    pytest.importorskip("matplotlib")
    from supportkpi import _present
    from supportkpi._plot import plot_kpi, plot_trends
    from supportkpi._report import report_html

    contacts, per_contact = enriched
    card = sk.scorecard(contacts, _orders(), by="week", config={"calendars": CALENDARS, "sla": SLA})
    html = card._repr_html_()
    title = "Service levels: business hours and SLAs"
    assert html.index("Diagnostic: support-conversion") < html.index(title)
    assert html.index(title) < html.index('data-kpi="sla_first_response_rate"')
    assert html.index('data-kpi="sla_pending"') < html.index("Diagnostic: all other KPIs")

    period = _present.report_period(card)
    in_period = per_contact[
        (contacts["created_at"] >= period)
        & (contacts["created_at"] < period + pd.Timedelta(days=7))
    ]
    verdicts = in_period["sla_first_response_met"].dropna().astype(bool)
    band = (
        card.bands()
        .set_index(["period_start", "kpi"])
        .loc[(period, "sla_first_response_rate"), "band"]
    )
    row = re.search(r'<tr data-kpi="sla_first_response_rate">(.*?)</tr>', html, re.DOTALL)
    assert row is not None
    tooltip = f"numerator {verdicts.sum():,} / denominator {len(verdicts):,}"
    assert tooltip in row.group(1) and f"band: {band}" in row.group(1)
    assert f"{verdicts.mean() * 100:.1f}%" in row.group(1)

    report = report_html(card)
    assert 'data-kpi="sla_resolution_rate"' in report and title in report
    titles = [ax.get_title(loc="left") for ax in plot_trends(card, days=120).axes]
    assert titles[-4:] == [
        "SLA first response attainment",
        "SLA resolution attainment",
        "First response time, business hours (median)",
        "Resolution time, business hours (median)",
    ]
    (ax,) = plot_kpi(card, "sla_first_response_rate").axes
    assert len(ax.patches) >= 3  # the healthy / watch / intervention ranges
    assert "SLA first response" in repr(card)


def test_reopen_and_one_touch_rates_by_hand():
    t = pd.Timestamp("2024-01-01 09:00", tz="UTC")
    hour = pd.Timedelta(hours=1)
    contacts = pd.DataFrame(
        {
            "contact_id": [1, 2, 3, 4, 5],
            "customer_id": [1, 2, 3, 4, 5],
            "created_at": [t] * 5,
            "resolved_at": [t + 2 * hour, t + 4 * hour, t + 6 * hour, pd.NaT, t + 8 * hour],
            "first_resolved_at": [t + 1 * hour, pd.NaT, t + 3 * hour, t + 5 * hour, pd.NaT],
            "reopens": pd.array([1, 0, 2, 1, None], dtype="Int64"),
            "touches": pd.array([1, 3, 0, 1, 2], dtype="Int64"),
        }
    )
    long = sk.scorecard(contacts, _orders(), by="week").to_pandas().set_index("kpi")
    # Resolved: 1, 2, 3, 5. Reopens known for 1, 2, 3: two reopened -> 2/3.
    assert (long.loc["reopen_rate", "numerator"], long.loc["reopen_rate", "denominator"]) == (2, 3)
    # Touches of the resolved: 1, 3, 0, 2 -> one-touch 1 and 3: 2/4.
    assert long.loc["one_touch_rate", "value"] == 0.5
    # First resolution: 1 h, 4 h (resolved_at), 3 h, 5 h (reopened, open), 8 h -> median 4 h.
    assert long.loc["first_resolution_time_median", "value"] == 4.0
    with pytest.raises(sk.DataError, match="first_resolved_at is after resolved_at"):
        bad = contacts.assign(first_resolved_at=[t + 3 * hour, pd.NaT, pd.NaT, pd.NaT, pd.NaT])
        sk.scorecard(bad, _orders(), by="week")
    with pytest.raises(sk.DataError, match="reopens must be a whole number"):
        sk.scorecard(contacts.assign(reopens=[1, -1, 0, 0, 0]), _orders(), by="week")


def test_sla_breaches_rule_fires_when_breaches_rise_on_flat_volume():
    # Two weeks of 40 urgent contacts each (1 h business target, Mon-Fri 09-17 New York):
    # week 1 five of them answered after 2 h, week 2 ten (breaches double, volume flat).
    week = {d: ["09:00-17:00"] for d in WEEKDAYS}
    rows = []
    for w, late in ((0, 5), (1, 10)):
        for k in range(40):
            created = pd.Timestamp("2024-06-03 14:00", tz="UTC") + pd.Timedelta(days=7 * w + k % 5)
            delay = pd.Timedelta(hours=2) if k < late else pd.Timedelta(minutes=30)
            rows.append((w * 100 + k, w * 100 + k, created, created + delay))
    contacts = pd.DataFrame(
        rows, columns=["contact_id", "customer_id", "created_at", "first_response_at"]
    )
    contacts["priority"] = "urgent"
    config = {
        "calendars": {"default": {"tz": "America/New_York", "week": week}},
        "sla": [SLA[0]],
    }
    card = sk.scorecard(contacts, _orders(), by="week", config=config)
    fired = card.diagnose()
    fired = fired[fired["rule"] == "sla_breaches_volume_flat"]
    assert list(fired["period_start"]) == [pd.Timestamp("2024-06-10", tz="UTC")]


def test_partial_states_carry_business_time_and_slas(enriched):
    # Customer-disjoint slices merged equal the local card: counts exactly, the business
    # quantiles within the sketches' accuracy (1%).
    contacts, _ = enriched
    config = {"calendars": CALENDARS, "sla": SLA}
    as_of = contacts["created_at"].max()
    local = sk.scorecard(contacts, _orders(), by="week", config=config, as_of=as_of).to_pandas()
    odd = contacts["customer_id"] % 2 == 1
    # The one order (customer 0) goes with the even customers' slice.
    states = [
        sk.partial(part, orders, by="week", config=config, as_of=as_of)
        for part, orders in ((contacts[odd], _orders().iloc[:0]), (contacts[~odd], _orders()))
    ]
    merged = sk.merge(states).to_pandas()
    keys = ["period_start", "kpi"]
    both = local.merge(merged, on=keys, suffixes=("", "_merged"))
    assert len(both) == len(local)
    assert both["value_merged"].to_numpy() == pytest.approx(
        both["value"].to_numpy(), rel=0.01, nan_ok=True
    )
    business = both[
        both["kpi"].str.startswith(("sla_", "frt_business", "resolution_time_business"))
    ]
    assert business["kpi"].nunique() == 9
    for row in business.itertuples():
        rel = 0.01 if ("median" in row.kpi or "p90" in row.kpi) else 1e-12
        assert row.value_merged == pytest.approx(row.value, rel=rel, nan_ok=True), row


# --- properties (hypothesis) ------------------------------------------------------------

ZONES = ["America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]
CLOCKS = ["00:00", "01:30", "02:00", "02:30", "06:00", "09:00", "13:15", "17:00", "22:00", "24:00"]


@st.composite
def calendars(draw):
    week = {}
    for day in [*WEEKDAYS, "sat", "sun"]:
        spans = draw(
            st.lists(st.tuples(st.sampled_from(CLOCKS), st.sampled_from(CLOCKS)), max_size=2)
        )
        week[day] = [f"{a}-{b}" for a, b in spans if a != "24:00"]
    return {"tz": draw(st.sampled_from(ZONES)), "week": week}


INSTANTS = st.integers(
    int(pd.Timestamp("2024-01-01", tz="UTC").value // 1000),
    int(pd.Timestamp("2024-12-20", tz="UTC").value // 1000),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calendar=calendars(), times=st.lists(INSTANTS, min_size=3, max_size=3))
def test_business_time_is_bounded_and_additive(calendar, times):
    a, b, c = sorted(times)
    stamp = lambda us: pd.Timestamp(us * 1000, tz="UTC")  # noqa: E731
    # B(a, b), B(b, c), B(a, c) as three contacts' resolution times.
    contacts = pd.DataFrame(
        {
            "contact_id": [1, 2, 3],
            "customer_id": [1, 2, 3],
            "created_at": [stamp(a), stamp(b), stamp(a)],
            "resolved_at": [stamp(b), stamp(c), stamp(c)],
        }
    )
    out = sk.enrich_contacts(contacts, _orders(), config={"calendars": {"default": calendar}})
    ab, bc, ac = (round(h * HOUR) for h in out["resolution_business_hours"])
    assert 0 <= ab <= b - a and 0 <= bc <= c - b and 0 <= ac <= c - a
    assert ac == ab + bc
    spans = intervals(calendar, dt.date(2023, 12, 30), dt.date(2024, 12, 22))
    assert ab == business_time(spans, a, b)


def test_the_readme_example():
    contacts = pd.DataFrame(
        {
            "contact_id": [1, 2, 3],
            "customer_id": [10, 11, 12],
            "created_at": pd.to_datetime(
                ["2024-07-03 20:00", "2024-07-05 13:30", "2024-07-06 15:00"], utc=True
            ),
            "first_response_at": pd.to_datetime(
                ["2024-07-05 14:00", "2024-07-05 13:40", "2024-07-08 13:45"], utc=True
            ),
            "priority": ["urgent", "normal", "urgent"],
            "channel": ["email", "chat", "email"],
        }
    )
    cfg = {
        "calendars": {
            "default": {
                "tz": "America/New_York",
                "week": {d: ["09:00-17:00"] for d in WEEKDAYS},
                "holidays": ["2024-07-04"],
            }
        },
        "sla": [
            {
                "name": "urgent",
                "match": {"priority": "urgent"},
                "first_response": "1h",
                "business_hours": True,
            },
            {"name": "chat", "match": {"channel": "chat"}, "first_response": "5m"},
        ],
    }
    out = sk.enrich_contacts(contacts, _orders(), config=cfg, as_of="2024-07-09")
    assert list(out["first_response_business_minutes"]) == [120.0, 10.0, 45.0]
    assert list(out["sla_policy"]) == ["urgent", "chat", "urgent"]
    assert list(out["sla_first_response_due_at"]) == list(
        pd.to_datetime(["2024-07-03 21:00", "2024-07-05 13:35", "2024-07-08 14:00"], utc=True)
    )
    assert list(out["sla_first_response_met"]) == [False, False, True]


def test_backlog_age_in_business_hours_matches_the_oracle(enriched):
    # At each week's end E: the contacts open at E (created before E, resolved at or after E
    # or not at all), their mean business age B(created_at, E) in hours.
    contacts, _ = enriched
    card = sk.scorecard(contacts, _orders(), by="week", config={"calendars": CALENDARS})
    long = card.to_pandas()
    rows = long[long["kpi"] == "backlog_age_business_hours"].set_index("period_start")
    spans = {
        name: intervals(spec, dt.date(2023, 12, 28), dt.date(2025, 1, 20))
        for name, spec in CALENDARS.items()
    }
    created, resolved = _us(contacts["created_at"]), _us(contacts["resolved_at"])
    names = [_calendar(v) for v in contacts["calendar"]]
    checked = 0
    for start, row in rows.iterrows():
        end = int((start + pd.Timedelta(days=7)).value // 1000)
        ages = [
            business_time(spans[names[i]], created[i], end)
            for i in range(len(contacts))
            if created[i] < end and (resolved[i] is None or resolved[i] >= end)
        ]
        assert row["denominator"] == len(ages), start
        if ages:
            assert row["value"] == pytest.approx(sum(ages) / len(ages) / HOUR, rel=1e-12), start
            checked += 1
    assert checked > 40


SECONDS = st.integers(
    int(pd.Timestamp("2024-01-01", tz="UTC").timestamp()),
    int(pd.Timestamp("2024-12-20", tz="UTC").timestamp()),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calendar=calendars(), times=st.lists(SECONDS, min_size=2, max_size=2, unique=True))
def test_due_of_the_business_time_to_b_is_at_most_b(calendar, times):
    # due(a, B(a, b)) <= b, and = b when b lies inside business time (B > 0 here: a target
    # of 0 is due at the first business instant, which may come after b).
    a, b = (s * US for s in sorted(times))
    stamp = lambda us: pd.Timestamp(us * 1000, tz="UTC")  # noqa: E731
    contacts = pd.DataFrame(
        {
            "contact_id": [1],
            "customer_id": [1],
            "created_at": [stamp(a)],
            "resolved_at": [stamp(b)],
        }
    )
    calendars_cfg = {"default": calendar}
    spent = sk.enrich_contacts(contacts, _orders(), config={"calendars": calendars_cfg})
    seconds = round(spent["resolution_business_hours"].iloc[0] * 3600)
    if seconds == 0:
        return
    sla = [{"name": "p", "resolution": f"{seconds}s", "business_hours": True}]
    out = sk.enrich_contacts(contacts, _orders(), config={"calendars": calendars_cfg, "sla": sla})
    due_at = _us(out["sla_resolution_due_at"])[0]
    assert due_at is not None and due_at <= b
    spans = intervals(calendar, dt.date(2023, 12, 30), dt.date(2024, 12, 22))
    if any(s < b <= e for s, e in spans):
        assert due_at == b
    # Resolved at b: met exactly when b is not after due (b inside business time).
    assert bool(out["sla_resolution_met"].iloc[0]) == (b <= due_at)


# --- the readings behind dbt_zendesk's business-time bugs, each shown on a case ------------


def _business_hours(created, resolved, calendar, **extra):
    contacts = pd.DataFrame(
        {
            "contact_id": range(len(created)),
            "customer_id": range(len(created)),
            "created_at": pd.to_datetime(created, utc=True),
            "resolved_at": pd.to_datetime(resolved, utc=True),
            **extra,
        }
    )
    out = sk.enrich_contacts(contacts, _orders(), config={"calendars": {"default": calendar}})
    return list(out["resolution_business_hours"])


NINE_TO_FIVE = {d: ["09:00-17:00"] for d in WEEKDAYS}


def test_dbt_zendesk_25_62_154_each_date_uses_its_own_offset():
    # Friday 2024-03-08 16:00 EST to Monday 2024-03-11 10:00 EDT: one hour each side of the
    # spring-forward weekend; the current offset applied to both would give 0 or 2 h off.
    ny = {"tz": "America/New_York", "week": NINE_TO_FIVE}
    assert _business_hours(["2024-03-08 21:00"], ["2024-03-11 14:00"], ny) == [2.0]
    # The same across the fall-back weekend (EDT Friday, EST Monday).
    assert _business_hours(["2024-11-01 20:00"], ["2024-11-04 15:00"], ny) == [2.0]


def test_dbt_zendesk_92_94_117_holidays_are_local_days():
    # 2024-01-08 is a Tokyo holiday: the whole local day, not the UTC day
    # (2024-01-07 15:00 to 2024-01-08 15:00 UTC), has no business time.
    tokyo = {"tz": "Asia/Tokyo", "week": NINE_TO_FIVE, "holidays": ["2024-01-08"]}
    # Created Monday 10:00 JST (01:00 UTC), resolved Tuesday 10:00 JST: only Tuesday 09-10.
    assert _business_hours(["2024-01-08 01:00"], ["2024-01-09 01:00"], tokyo) == [1.0]


def test_dbt_zendesk_107_215_week_and_holiday_seams_count_once():
    # Sunday 22:00-02:00 runs over the week's seam into Monday; Monday's own 00:00-03:00
    # overlaps it: the union is 22:00-03:00, five hours, never six.
    seam = {"tz": "UTC", "week": {"sun": ["22:00-02:00"], "mon": ["00:00-03:00"]}}
    assert _business_hours(["2024-06-09 20:00"], ["2024-06-10 06:00"], seam) == [5.0]
    # An overnight shift into a holiday keeps only its hours before the holiday's midnight.
    night = {"tz": "UTC", "week": {"tue": ["22:00-06:00"]}, "holidays": ["2024-12-25"]}
    assert _business_hours(["2024-12-24 20:00"], ["2024-12-25 08:00"], night) == [2.0]


def test_dbt_zendesk_108_109_144_189_one_policy_and_one_verdict_per_contact():
    # A contact that matches two policies takes the first; each target has one verdict, and
    # the KPIs count the contact once.
    contacts = pd.DataFrame(
        {
            "contact_id": [1],
            "customer_id": [1],
            "created_at": pd.to_datetime(["2024-06-03 13:00"], utc=True),
            "first_response_at": pd.to_datetime(["2024-06-03 13:30"], utc=True),
            "priority": ["urgent"],
            "channel": ["chat"],
        }
    )
    sla = [
        {"name": "urgent", "match": {"priority": "urgent"}, "first_response": "1h"},
        {"name": "chat", "match": {"channel": "chat"}, "first_response": "5m"},
    ]
    out = sk.enrich_contacts(contacts, _orders(), config={"sla": sla})
    assert list(out["sla_policy"]) == ["urgent"] and list(out["sla_first_response_met"]) == [True]
    long = sk.scorecard(contacts, _orders(), config={"sla": sla}).to_pandas()
    week = long[long["period_start"] == pd.Timestamp("2024-06-03", tz="UTC")].set_index("kpi")
    rate = week.loc["sla_first_response_rate"]
    assert (rate["numerator"], rate["denominator"]) == (1, 1)


def test_differential_against_businesstimedelta():
    # The cases businesstimedelta can express (one weekly schedule without overnight
    # intervals, no versions): Monday to Friday 09:00-17:00 with US holidays, in three zones.
    btd = pytest.importorskip("businesstimedelta")
    holidays = pytest.importorskip("holidays")
    pytz = pytest.importorskip("pytz")
    rng = np.random.default_rng(23)
    start = int(pd.Timestamp("2024-01-02", tz="UTC").timestamp())
    created = start + rng.integers(0, 350 * 86_400, 400)
    resolved = created + rng.integers(0, 20 * 86_400, 400)
    contacts = pd.DataFrame(
        {
            "contact_id": range(400),
            "customer_id": range(400),
            "created_at": pd.to_datetime(created, unit="s", utc=True),
            "resolved_at": pd.to_datetime(resolved, unit="s", utc=True),
        }
    )
    for tz in ("America/New_York", "Europe/London", "Asia/Kolkata"):
        calendar = {"tz": tz, "week": NINE_TO_FIVE, "holidays": {"country": "US"}}
        ours = sk.enrich_contacts(contacts, _orders(), config={"calendars": {"default": calendar}})
        zone = pytz.timezone(tz)
        rules = btd.Rules(
            [
                btd.WorkDayRule(
                    start_time=dt.time(9),
                    end_time=dt.time(17),
                    working_days=[0, 1, 2, 3, 4],
                    tz=zone,
                ),
                btd.HolidayRule(holidays.country_holidays("US", years=range(2023, 2026)), tz=zone),
            ]
        )
        for i in range(len(contacts)):
            a = contacts["created_at"].iloc[i].to_pydatetime()
            b = contacts["resolved_at"].iloc[i].to_pydatetime()
            theirs = rules.difference(a, b).timedelta.total_seconds() / 3600
            assert ours["resolution_business_hours"].iloc[i] == pytest.approx(theirs, abs=1e-9), (
                tz,
                i,
            )
