"""recovered_refund_rate: the worked example of docs/architecture.md ("how to add a KPI").

Share of recovered mature contacts whose attributed order was later refunded (refund > 0):
checked on a hand-computed case and against a pandas implementation written here.
"""

import numpy as np
import pandas as pd
import pytest
import supportkpi as sk
from datagen import make_tables
from test_scorecard_edges import cell, check, frame


def _orders(*rows):
    return pd.DataFrame(
        {
            "order_id": pd.Series([r[0] for r in rows], dtype=object),
            "customer_id": pd.Series([r[1] for r in rows], dtype=object),
            "created_at": pd.to_datetime([r[2] for r in rows], utc=True),
            "revenue": [r[3] for r in rows],
            "refund": pd.Series([r[4] for r in rows], dtype="float64"),
        }
    )


_CONTACTS = frame(
    "contact_id customer_id created_at",
    ("a1", "A", "2024-01-01 10:00"),  # recovered by o1, which is refunded
    ("b1", "B", "2024-01-01 10:00"),  # recovered by o2, refund 0
    ("c1", "C", "2024-01-01 10:00"),  # recovered by o3, refund null
    ("d1", "D", "2024-01-01 10:00"),  # recovered by o4; o5 (refunded) goes to d2
    ("d2", "D", "2024-01-02 12:00"),  #   ... d2 is recovered by o5 itself: refunded
    ("g1", "G", "2024-01-01 10:00"),  # recovered by o6 (refund 0); o7, refunded, also its
    ("e1", "E", "2024-01-01 10:00"),  # no order: not recovered, not in the denominator
    ("f1", None, "2024-01-01 10:00"),  # anonymous: never recovered
    ("z1", "Z", "2024-01-20 10:00"),  # sets as_of; its week is immature
)
_ORDERS = _orders(
    ("o1", "A", "2024-01-03 10:00", 50.0, 12.5),
    ("o2", "B", "2024-01-02 10:00", 20.0, 0.0),
    ("o3", "C", "2024-01-05 10:00", 30.0, None),
    ("o4", "D", "2024-01-02 11:00", 10.0, 0.0),
    ("o5", "D", "2024-01-03 09:00", 10.0, 4.0),
    ("o6", "G", "2024-01-02 10:00", 10.0, 0.0),
    ("o7", "G", "2024-01-04 10:00", 10.0, 5.0),
)


def test_hand_computed_share_of_refunded_recoveries():
    df = sk.scorecard(_CONTACTS, _ORDERS, by="week").to_pandas()
    # Recovered and mature: a1, b1, c1, d1, d2, g1. With a refunded attributed order: a1
    # (o1), d2 (o5; d1's only attributed order is o4) and g1 (o7, attributed though o6
    # recovered it). 3 / 6.
    check(cell(df, "recovery_rate_7d", "2024-01-01"), 6 / 7, 6, 7)
    check(cell(df, "recovered_refund_rate", "2024-01-01"), 0.5, 3, 6)
    check(cell(df, "recovered_refund_rate", "2024-01-15"), None, 0, 0)


def test_needs_the_refund_column_of_the_orders():
    card = sk.scorecard(_CONTACTS, _ORDERS.drop(columns="refund"), by="week")
    assert "recovered_refund_rate" not in set(card.to_pandas()["kpi"])
    assert card.skipped["recovered_refund_rate"] == "needs orders.refund"
    catalog = sk.kpi_catalog().set_index("id")
    assert list(catalog.loc["recovered_refund_rate", "requires"]) == ["orders.refund"]


def _reference(contacts: pd.DataFrame, orders: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """(numerator, denominator) per week, by SPEC §3.1 and §3.3 written in pandas."""
    week = pd.Timedelta(days=7)
    c = contacts[contacts["customer_id"].notna()].copy()
    c = c[c["created_at"] + week <= as_of]
    o = orders[orders["customer_id"].notna()]
    pairs = c.merge(o, on="customer_id", suffixes=("", "_order"))
    within = (pairs["created_at_order"] > pairs["created_at"]) & (
        pairs["created_at_order"] <= pairs["created_at"] + week
    )
    recovered = set(pairs.loc[within, "contact_id"])
    # Each order to the latest earlier contact of its customer (ties: greatest id), among
    # all of the customer's contacts, mature or not.
    allc = contacts[contacts["customer_id"].notna()]
    every = allc.merge(o, on="customer_id", suffixes=("", "_order"))
    every = every[
        (every["created_at_order"] > every["created_at"])
        & (every["created_at_order"] <= every["created_at"] + week)
    ]
    every = every.sort_values(["order_id", "created_at", "contact_id"], kind="mergesort")
    winners = every.drop_duplicates("order_id", keep="last")
    refunded = set(winners.loc[winners["refund"].fillna(0) > 0, "contact_id"])
    rec = c[c["contact_id"].isin(recovered)].copy()
    rec["hit"] = rec["contact_id"].isin(refunded)
    monday = rec["created_at"].dt.tz_convert("UTC").dt.floor("D") - pd.to_timedelta(
        rec["created_at"].dt.tz_convert("UTC").dt.day_of_week, unit="D"
    )
    return rec.groupby(monday)["hit"].agg(["sum", "count"])


@pytest.mark.parametrize("seed", [3, 11])
def test_matches_a_pandas_implementation(seed):
    contacts, orders, _ = make_tables(3000, seed)
    card = sk.scorecard(contacts, orders, by="week", tz="UTC")
    got = card.to_pandas()
    got = got[got["kpi"] == "recovered_refund_rate"].set_index("period_start")
    want = _reference(contacts, orders, card.as_of)
    assert want["count"].sum() > 100 and want["sum"].sum() > 10
    for period, row in got.iterrows():
        num, den = want.loc[period] if period in want.index else (0, 0)
        assert (row["numerator"], row["denominator"]) == (num, den), period
        expected = num / den if den else np.nan
        assert row["value"] == pytest.approx(expected, nan_ok=True), period
    assert set(want.index) <= set(got.index)
