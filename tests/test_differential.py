"""Differential tests: supportkpi against the independent pandas reference.

Large generated tables (tests/datagen.py, dense in ties and window edges) go through both
`supportkpi` and `tests/reference_pandas.py`; per-contact flags must be equal exactly,
numbers to 1e-9 (relative or absolute), NaN equal to NaN.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import supportkpi as sk
from datagen import make_tables
from reference_pandas import (
    ENRICH_COLUMNS,
    reference_enrich,
    reference_weekly_kpis,
    ts_us,
)

RTOL = 1e-9
ATOL = 1e-9
SHOW = 12  # mismatching rows shown in a failure message

BOOL_COLUMNS = [
    "resolved_without_human",
    "recovered_7d",
    "recovery_mature",
    "repeat_14d",
    "repeat_mature",
    "recontact_mature",
    "preventable",
]


@pytest.fixture(scope="module")
def int_tables():
    return make_tables(50_000, seed=20240601, ids="int", n_orders=100_000)


@pytest.fixture(scope="module")
def str_tables():
    return make_tables(20_000, seed=7, ids="str", preventable_column=True)


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
def _isnull(v) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and np.isnan(v))


def _nullable_bool(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(values with null as False, null mask)."""
    b = s.astype("boolean")
    return b.fillna(False).to_numpy(dtype=bool), b.isna().to_numpy()


def _label(v) -> str:
    return "<null>" if _isnull(v) else str(v)


def _close(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.isclose(a, b, rtol=RTOL, atol=ATOL, equal_nan=True)


def _context(contacts: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    cols = [
        c
        for c in ("contact_id", "customer_id", "created_at", "intent", "resolved_at")
        if c in contacts
    ]
    return contacts.iloc[rows][cols]


def _require(ok: bool, message: str) -> None:
    """Fail with just the message (the frames in the locals would drown it)."""
    if not ok:
        pytest.fail(message, pytrace=False)


def assert_enrich_matches(got: pd.DataFrame, ref: pd.DataFrame) -> None:
    _require(
        len(got) == len(ref),
        f"enrich_contacts returned {len(got)} rows, expected {len(ref)}",
    )
    missing = [c for c in ENRICH_COLUMNS if c not in got.columns]
    _require(
        not missing,
        f"enrich_contacts lacks columns {missing}; has {list(got.columns)}",
    )
    _require(
        got["contact_id"].tolist() == ref["contact_id"].tolist(),
        "enrich_contacts rows are not in input order",
    )
    problems: list[str] = []

    def report(col: str, bad: np.ndarray, g, r) -> None:
        idx = np.flatnonzero(bad)
        if len(idx) == 0:
            return
        show = _context(ref, idx[:SHOW]).copy()
        show[f"{col}_expected"] = np.asarray(r, dtype=object)[idx[:SHOW]]
        show[f"{col}_got"] = np.asarray(g, dtype=object)[idx[:SHOW]]
        problems.append(
            f"{col}: {len(idx)} of {len(bad)} rows differ; first ones:\n{show.to_string()}"
        )

    for col in BOOL_COLUMNS:
        gv, gna = _nullable_bool(got[col])
        rv, _ = _nullable_bool(ref[col])
        if gna.any():
            report(col + " (null where a bool is expected)", gna, got[col], ref[col])
        report(col, gv != rv, gv, rv)

    gp = np.array([_label(v) for v in got["path"]], dtype=object)
    rp = np.array([_label(v) for v in ref["path"]], dtype=object)
    report("path", gp != rp, gp, rp)

    gv, gna = _nullable_bool(got["recontact_48h"])
    rv, rna = _nullable_bool(ref["recontact_48h"])
    report("recontact_48h (null-ness)", gna != rna, gna, rna)
    report("recontact_48h", (gv != rv) & ~rna & ~gna, gv, rv)

    for col in ("hours_to_next_order", "attributed_revenue"):
        g = pd.to_numeric(got[col]).to_numpy(dtype="float64", na_value=np.nan)
        r = ref[col].to_numpy(dtype="float64")
        report(col, ~_close(g, r), g, r)
    g = pd.to_numeric(got["attributed_orders"]).to_numpy(dtype="float64", na_value=np.nan)
    r = ref["attributed_orders"].to_numpy(dtype="float64")
    report("attributed_orders", g != r, g, r)

    if problems:
        pytest.fail(
            "enrich_contacts differs from the reference:\n\n" + "\n\n".join(problems),
            pytrace=False,
        )


def _normalise_long(df: pd.DataFrame, group_by: list[str]) -> pd.DataFrame:
    out = pd.DataFrame({"period_us": ts_us(df["period_start"])})
    for g in group_by:
        out[g] = [_label(v) for v in df[g]]
    out["kpi"] = df["kpi"].astype(object).to_numpy()
    for col in ("value", "numerator", "denominator"):
        out[col] = pd.to_numeric(df[col]).to_numpy(dtype="float64", na_value=np.nan)
    out["period_start"] = df["period_start"].to_numpy()
    return out


def assert_long_matches(card, ref: pd.DataFrame, group_by: list[str] | None = None) -> None:
    group_by = list(group_by or [])
    got_raw = card.to_pandas()
    for col in (
        "period_start",
        *group_by,
        "kpi",
        "value",
        "numerator",
        "denominator",
        "unit",
    ):
        _require(col in got_raw.columns, f"scorecard long table lacks column {col!r}")
    got = _normalise_long(got_raw, group_by)
    exp = _normalise_long(ref, group_by)
    keys = ["period_us", *group_by, "kpi"]

    dup = got.duplicated(keys, keep=False)
    _require(
        not dup.any(),
        (f"duplicate (period, group, kpi) rows in the scorecard:\n{got[dup].head(SHOW)}"),
    )

    missing_kpis = sorted(set(exp["kpi"]) - set(got["kpi"]))
    _require(
        not missing_kpis,
        (
            f"KPIs computed by the reference but absent from the scorecard: {missing_kpis}; "
            f"card.skipped = {getattr(card, 'skipped', None)}"
        ),
    )

    # the output grid (SPEC §8.3): same period x group cells for every reference KPI
    sub = got[got["kpi"].isin(set(exp["kpi"]))]
    m = exp.merge(sub, on=keys, how="outer", suffixes=("_ref", "_lib"), indicator=True)
    only_ref = m[m["_merge"] == "left_only"]
    only_lib = m[m["_merge"] == "right_only"]
    _require(
        only_ref.empty and only_lib.empty,
        (
            "output grid differs from SPEC §8.3:\n"
            f"cells missing in the scorecard ({len(only_ref)}):\n"
            f"{only_ref[['period_start_ref', *group_by, 'kpi']].head(SHOW).to_string()}\n"
            f"extra cells in the scorecard ({len(only_lib)}):\n"
            f"{only_lib[['period_start_lib', *group_by, 'kpi']].head(SHOW).to_string()}"
        ),
    )

    bad = np.zeros(len(m), dtype=bool)
    for col in ("value", "numerator", "denominator"):
        bad |= ~_close(m[f"{col}_lib"].to_numpy(), m[f"{col}_ref"].to_numpy())
    if bad.any():
        rows = m[bad]
        per_kpi = rows.groupby("kpi").size().sort_values(ascending=False)
        # show a few rows per KPI so that one noisy KPI does not hide the others
        sample = rows.groupby("kpi", sort=False).head(3).head(3 * SHOW)
        cols = [
            "period_start_ref",
            *group_by,
            "kpi",
            "value_ref",
            "value_lib",
            "numerator_ref",
            "numerator_lib",
            "denominator_ref",
            "denominator_lib",
        ]
        with pd.option_context("display.width", 250, "display.max_columns", 20):
            text = sample[cols].to_string()
        pytest.fail(
            f"{int(bad.sum())} of {len(m)} (period, group, kpi) rows differ from the reference.\n"
            f"mismatching rows per KPI:\n{per_kpi.to_string()}\n\nfirst rows per KPI:\n{text}",
            pytrace=False,
        )


# --------------------------------------------------------------------------------------
# enrich_contacts
# --------------------------------------------------------------------------------------
def test_enrich_int_ids(int_tables):
    contacts, orders, _ = int_tables
    got = sk.enrich_contacts(contacts, orders)
    assert_enrich_matches(got, reference_enrich(contacts, orders))


def test_enrich_str_ids_with_preventable_column(str_tables):
    contacts, orders, _ = str_tables
    got = sk.enrich_contacts(contacts, orders)
    assert_enrich_matches(got, reference_enrich(contacts, orders))


def test_enrich_custom_windows_and_early_as_of(int_tables):
    contacts, orders, _ = int_tables
    as_of = pd.Timestamp("2024-04-02 12:00", tz="UTC")  # before the end of the data
    got = sk.enrich_contacts(
        contacts,
        orders,
        as_of=as_of,
        recovery_window=dt.timedelta(days=3),
        repeat_window=dt.timedelta(days=5),
        recontact_window=dt.timedelta(hours=24),
    )
    ref = reference_enrich(
        contacts,
        orders,
        as_of=as_of,
        recovery_window=pd.Timedelta(days=3),
        repeat_window=pd.Timedelta(days=5),
        recontact_window=pd.Timedelta(hours=24),
    )
    assert_enrich_matches(got, ref)


# --------------------------------------------------------------------------------------
# scorecard, by week
# --------------------------------------------------------------------------------------
def test_scorecard_weekly(int_tables):
    contacts, orders, sessions = int_tables
    card = sk.scorecard(contacts, orders, sessions=sessions, by="week")
    assert_long_matches(card, reference_weekly_kpis(contacts, orders, sessions))


def test_scorecard_weekly_by_channel(int_tables):
    contacts, orders, sessions = int_tables
    card = sk.scorecard(contacts, orders, sessions=sessions, by="week", group_by=["channel"])
    ref = reference_weekly_kpis(contacts, orders, sessions, group_by=["channel"])
    assert_long_matches(card, ref, ["channel"])


def test_scorecard_weekly_by_many_groups(int_tables):
    """700 groups: past the row-order fold's threshold of day x group cells, contacts are
    folded group by group and only the non-empty day x group cells are stored. Most cells
    are empty here (about one contact per group and day), so the sums over a period's days,
    the baseline windows, the backlog's running sums and peak_to_trough (a group's days
    without contacts count as 0) all read a sparse table."""
    contacts, orders, sessions = int_tables
    contacts = contacts.assign(team=contacts["contact_id"].to_numpy() % 700)
    n_days = (contacts["created_at"].max() - contacts["created_at"].min()).days + 1
    assert n_days * 700 > 8192
    card = sk.scorecard(contacts, orders, sessions=sessions, by="week", group_by=["team"])
    ref = reference_weekly_kpis(contacts, orders, sessions, group_by=["team"])
    assert_long_matches(card, ref, ["team"])
    peaks = card.to_pandas().query("kpi == 'peak_to_trough'")
    assert peaks["value"].isna().mean() > 0.5, "most groups have a day without contacts"


def test_scorecard_weekly_new_york(int_tables):
    contacts, orders, sessions = int_tables
    card = sk.scorecard(contacts, orders, sessions=sessions, by="week", tz="America/New_York")
    ref = reference_weekly_kpis(contacts, orders, sessions, tz="America/New_York")
    assert_long_matches(card, ref)


def test_scorecard_str_ids_by_intent_late_as_of(str_tables):
    """String ids, a preventable column, group_by a column with nulls and values outside
    the taxonomy, an as_of 9 days after the data (an empty trailing period), and a short
    repurchase window so that repurchase_rate_90d has mature customers."""
    contacts, orders, sessions = str_tables
    last = max(contacts["created_at"].max(), orders["created_at"].max())
    as_of = last + pd.Timedelta(days=9)
    card = sk.scorecard(
        contacts,
        orders,
        sessions=sessions,
        by="week",
        group_by=["intent"],
        as_of=as_of,
        repurchase_window=dt.timedelta(days=10),
    )
    ref = reference_weekly_kpis(
        contacts,
        orders,
        sessions,
        group_by=["intent"],
        as_of=as_of,
        repurchase_window=pd.Timedelta(days=10),
    )
    assert_long_matches(card, ref, ["intent"])


def test_scorecard_weekly_early_as_of(int_tables):
    """An as_of inside the data: maturity is judged against it, while the grid and the
    observed days of peak_to_trough still run to the latest row (no row is dropped)."""
    contacts, orders, sessions = int_tables
    first = min(contacts["created_at"].min(), orders["created_at"].min())
    as_of = first + pd.Timedelta(days=30, hours=3)
    card = sk.scorecard(contacts, orders, sessions=sessions, by="week", as_of=as_of)
    ref = reference_weekly_kpis(contacts, orders, sessions, as_of=as_of)
    assert_long_matches(card, ref)


def test_generated_data_is_edge_dense(int_tables):
    """Guard the generator: the planted boundary cases are really there."""
    contacts, orders, _ = int_tables
    c = contacts.dropna(subset=["customer_id"])
    o = orders.dropna(subset=["customer_id"])
    assert c.duplicated(["customer_id", "created_at"]).sum() >= 50  # attribution ties
    pairs = c[["customer_id", "created_at"]].merge(
        o[["customer_id", "created_at"]], on="customer_id", suffixes=("", "_o")
    )
    lag = pairs["created_at_o"] - pairs["created_at"]
    assert (lag == pd.Timedelta(0)).sum() >= 50  # order at the contact: excluded
    assert (lag == pd.Timedelta(days=7)).sum() >= 50  # order at +7 d: included
    assert (lag == pd.Timedelta(days=7, microseconds=1)).sum() >= 20
    keyed = c.dropna(subset=["intent"])
    rc = keyed[["customer_id", "intent", "resolved_at"]].merge(
        keyed[["customer_id", "intent", "created_at"]], on=["customer_id", "intent"]
    )
    gap = rc["created_at"] - rc["resolved_at"]
    assert (gap == pd.Timedelta(hours=48)).sum() >= 50  # recontact on the edge
    assert (gap == pd.Timedelta(0)).sum() >= 20
    assert 0.02 < contacts["customer_id"].isna().mean() < 0.04
    assert 0.02 < orders["customer_id"].isna().mean() < 0.04
    for col in contacts.columns.drop(["contact_id", "created_at"]):
        assert contacts[col].isna().any(), col
    for col in orders.columns.drop(["order_id", "created_at", "revenue"]):
        assert orders[col].isna().any(), col
