"""Intervals (issue 20, SPEC §10.1): ci_low / ci_high of the long table against independent
implementations: statsmodels' Wilson interval for the proportions, scipy's Student-t
interval for the means, the NPS formula with scipy's normal quantile, and the
order-statistic ranks read from the sorted values in plain Python for the quantiles.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import supportkpi as sk
from datagen import make_tables

stats = pytest.importorskip("scipy.stats", reason="scipy is in the test extra")
proportion = pytest.importorskip(
    "statsmodels.stats.proportion", reason="statsmodels is in the test extra"
)


@pytest.fixture(scope="module", params=[0.95, 0.9])
def long_table(request):
    contacts, orders, sessions = make_tables(4_000, seed=81)
    config = {"statistics": {"confidence": request.param}}
    card = sk.scorecard(contacts, orders, sessions, by="week", config=config)
    return request.param, contacts, card.to_pandas()


def test_proportions_have_the_wilson_interval(long_table):
    confidence, _, long = long_table
    rates = [e["id"] for e in sk.kpi_catalog().to_dict("records") if e["unit"] == "rate"]
    rows = long[long["kpi"].isin(rates) & long["denominator"].gt(0)]
    whole = (rows["numerator"] % 1 == 0) & (rows["denominator"] % 1 == 0)
    counted = rows[whole & (rows["numerator"] <= rows["denominator"])]
    assert len(counted) > 100 and counted["kpi"].nunique() >= 10
    low, high = proportion.proportion_confint(
        counted["numerator"].to_numpy(),
        counted["denominator"].to_numpy(),
        alpha=1 - confidence,
        method="wilson",
    )
    np.testing.assert_allclose(counted["ci_low"], low, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(counted["ci_high"], high, rtol=1e-9, atol=1e-12)
    assert (counted["ci_low"] <= counted["value"] + 1e-12).all()
    assert (counted["value"] <= counted["ci_high"] + 1e-12).all()
    # a rate that is not counted within its denominator (a change against the baseline)
    other = rows[~(whole & (rows["numerator"] <= rows["denominator"]))]
    assert other["ci_low"].isna().all()
    empty = long[long["kpi"].isin(rates) & long["denominator"].eq(0)]
    assert empty["ci_low"].isna().all() and empty["ci_high"].isna().all()


def _weeks(contacts: pd.DataFrame) -> pd.Series:
    utc = contacts["created_at"].dt.tz_convert("UTC")
    return utc.dt.floor("D") - pd.to_timedelta(utc.dt.day_of_week, unit="D")


def test_means_have_the_student_t_interval(long_table):
    confidence, contacts, long = long_table
    week = _weeks(contacts)
    # the path (SPEC §3.6): an escalated ai / self-service contact is on the human path
    escalated = contacts["escalated"].fillna(False).astype(bool)
    handled = contacts["handled_by"]
    human = handled.eq("human") | (handled.isin(["ai", "self_service"]) & escalated)
    ai = handled.eq("ai") & ~escalated
    inputs = {
        "csat_mean": contacts["csat"],
        "ces_mean": contacts["ces"],
        "cost_per_contact": contacts["cost"].fillna(0.0),
    }
    checked = 0
    for kpi, values in inputs.items():
        for row in long[(long["kpi"] == kpi) & long["denominator"].ge(2)].itertuples():
            x = values[week == row.period_start].dropna().to_numpy()
            assert len(x) == row.denominator, kpi
            low, high = stats.t.interval(confidence, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
            assert row.ci_low == pytest.approx(low, rel=1e-9, abs=1e-9), kpi
            assert row.ci_high == pytest.approx(high, rel=1e-9, abs=1e-9), kpi
            checked += 1
    assert checked >= 24
    by_path = 0
    for kpi, mask in (("csat_ai", ai), ("csat_human", human)):
        for row in long[(long["kpi"] == kpi) & long["denominator"].ge(2)].itertuples():
            x = contacts.loc[(week == row.period_start) & mask, "csat"].dropna().to_numpy()
            assert len(x) == row.denominator, kpi
            low, high = stats.t.interval(confidence, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
            assert row.ci_low == pytest.approx(low, rel=1e-9, abs=1e-9), kpi
            assert row.ci_high == pytest.approx(high, rel=1e-9, abs=1e-9), kpi
            by_path += 1
    assert by_path >= 16
    one = long[(long["kpi"] == "csat_mean") & long["denominator"].eq(1)]
    assert one["ci_low"].isna().all()


def test_nps_interval(long_table):
    confidence, contacts, long = long_table
    z = stats.norm.ppf(1 - (1 - confidence) / 2)
    rows = long[(long["kpi"] == "nps") & long["denominator"].gt(0)]
    week = contacts["created_at"].dt.tz_convert("UTC").dt.floor("D") - pd.to_timedelta(
        contacts["created_at"].dt.tz_convert("UTC").dt.day_of_week, unit="D"
    )
    checked = 0
    for row in rows.itertuples():
        scores = contacts.loc[week == row.period_start, "nps"].dropna()
        n = len(scores)
        p, d = (scores >= 9).sum() / n, (scores <= 6).sum() / n
        half = 100 * z * math.sqrt((p + d - (p - d) ** 2) / n)
        assert row.denominator == n
        assert row.ci_low == pytest.approx(100 * (p - d) - half, rel=1e-9, abs=1e-9)
        assert row.ci_high == pytest.approx(100 * (p - d) + half, rel=1e-9, abs=1e-9)
        checked += 1
    assert checked >= 8


def _ranks(n: int, q: float, z: float) -> tuple[int, int]:
    spread = z * math.sqrt(n * q * (1 - q))
    low = min(max(math.floor(n * q - spread), 1), n)
    high = min(max(math.ceil(n * q + spread), 1), n)
    return low, high


def test_quantile_intervals_are_order_statistics(long_table):
    confidence, contacts, long = long_table
    z = stats.norm.ppf(1 - (1 - confidence) / 2)
    utc = contacts["created_at"].dt.tz_convert("UTC")
    week = utc.dt.floor("D") - pd.to_timedelta(utc.dt.day_of_week, unit="D")
    minutes = (contacts["first_response_at"] - contacts["created_at"]) / pd.Timedelta(minutes=1)
    checked = 0
    for kpi, q in (("frt_median", 0.5), ("frt_p90", 0.9)):
        for row in long[(long["kpi"] == kpi) & long["denominator"].gt(0)].itertuples():
            values = np.sort(minutes[(week == row.period_start) & minutes.notna()].to_numpy())
            assert len(values) == row.denominator
            assert np.quantile(values, q) == pytest.approx(row.value, rel=1e-12)
            low, high = _ranks(len(values), q, z)
            assert row.ci_low == pytest.approx(values[low - 1], rel=1e-12)
            assert row.ci_high == pytest.approx(values[high - 1], rel=1e-12)
            checked += 1
    assert checked >= 16


def test_kpis_without_an_interval(long_table):
    _, _, long = long_table
    for kpi in ("contacts", "orders", "tickets_per_order", "recovered_revenue"):
        rows = long[long["kpi"] == kpi]
        assert len(rows) and rows["ci_low"].isna().all() and rows["ci_high"].isna().all(), kpi


def test_confidence_is_checked():
    contacts, orders, _ = make_tables(200, seed=3)
    for bad in (1.0, 0.0, -0.5, 1.5):
        with pytest.raises(sk.ConfigError, match=r"statistics\.confidence"):
            sk.scorecard(contacts, orders, config={"statistics": {"confidence": bad}})
    narrow = sk.scorecard(contacts, orders, config={"statistics": {"confidence": 0.5}})
    wide = sk.scorecard(contacts, orders, config={"statistics": {"confidence": 0.99}})
    n, w = narrow.to_pandas(), wide.to_pandas()
    rate = (n["kpi"] == "deflection_rate") & n["ci_low"].notna()
    assert (
        (w.loc[rate, "ci_high"] - w.loc[rate, "ci_low"])
        > (n.loc[rate, "ci_high"] - n.loc[rate, "ci_low"])
    ).all()
