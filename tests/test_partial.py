"""Partial states (issue 7): sk.partial / sk.combine / sk.merge give the local scorecard.

Customers are split into disjoint slices by a hash of customer_id (anonymous rows by a
hash of their own id), each slice becomes a partial state, and the merged scorecard is
compared with ``sk.scorecard`` on all the rows: counts exactly, float sums and ratios to
1e-9 relative, the sketched quantile KPIs within the sketch's 0.5% (the documented promise
is 1%), and the intervals (ci_low, ci_high) by the same rules. Bands and diagnostics must
be the same rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import supportkpi as sk
from datagen import make_tables
from spec_tables import QUANTILE_KPIS
from supportkpi import _supportkpi as native

SKETCH_ACCURACY = 0.005


def _slices(frame: pd.DataFrame, id_column: str, k: int) -> np.ndarray:
    """Slice number of every row: by customer, anonymous rows by their own id."""
    by_customer = pd.util.hash_pandas_object(frame["customer_id"], index=False) % k
    by_row = pd.util.hash_pandas_object(frame[id_column], index=False) % k
    return np.where(frame["customer_id"].isna(), by_row, by_customer)


def _as_of(contacts: pd.DataFrame, orders: pd.DataFrame) -> pd.Timestamp:
    return max(contacts["created_at"].max(), orders["created_at"].max())


def _states(contacts, orders, k, **options):
    c_slice = _slices(contacts, "contact_id", k)
    o_slice = _slices(orders, "order_id", k)
    options.setdefault("as_of", _as_of(contacts, orders))
    return [sk.partial(contacts[c_slice == i], orders[o_slice == i], **options) for i in range(k)]


def assert_same_long_table(got: pd.DataFrame, want: pd.DataFrame, atol: float = 0.0) -> None:
    """The merged long table against the local one (see the module docstring); `atol` for
    values that are sums of the same terms added in another grouping."""
    assert list(got.columns) == list(want.columns)
    numbers = ("value", "numerator", "denominator", "ci_low", "ci_high")
    keys = [c for c in want.columns if c not in numbers]
    # Same rows in the same order (groups sort by value, so partitioning cannot reorder).
    pd.testing.assert_frame_equal(got[keys], want[keys])
    sketched = want["kpi"].isin(QUANTILE_KPIS).to_numpy()
    counts = (want["unit"] == "count").to_numpy()
    for column in numbers:
        g = got[column].to_numpy(dtype="float64")
        w = want[column].to_numpy(dtype="float64")
        np.testing.assert_array_equal(g[counts], w[counts], err_msg=column)
        np.testing.assert_allclose(
            g[~sketched], w[~sketched], rtol=1e-9, atol=atol, equal_nan=True, err_msg=column
        )
        np.testing.assert_array_equal(np.isnan(g), np.isnan(w), err_msg=column)
        both = sketched & ~np.isnan(w)
        np.testing.assert_allclose(
            g[both], w[both], rtol=SKETCH_ACCURACY, atol=1e-12, err_msg=column
        )


def assert_same_card(got: sk.Scorecard, want: sk.Scorecard, atol: float = 0.0) -> None:
    assert_same_long_table(got.to_pandas(), want.to_pandas(), atol)
    assert got.skipped == want.skipped
    assert got.as_of == want.as_of
    gb, wb = got.bands().reset_index(drop=True), want.bands().reset_index(drop=True)
    numbers = ("value", "baseline", "delta_vs_baseline", "ci_low", "ci_high", "p_value")
    sketched = wb["kpi"].isin(QUANTILE_KPIS).to_numpy()
    # band_certain of a sketched quantile rests on approximate interval ends
    keys = [c for c in wb.columns if c not in (*numbers, "band_certain")]
    pd.testing.assert_frame_equal(gb[keys], wb[keys])
    pd.testing.assert_series_equal(gb["band_certain"][~sketched], wb["band_certain"][~sketched])
    for column in ("ci_low", "ci_high", "p_value"):
        g = gb[column].to_numpy(dtype="float64")
        w = wb[column].to_numpy(dtype="float64")
        np.testing.assert_array_equal(np.isnan(g), np.isnan(w), err_msg=column)
        np.testing.assert_allclose(
            g[~sketched], w[~sketched], rtol=1e-9, atol=1e-15, equal_nan=True, err_msg=column
        )
        np.testing.assert_allclose(
            g[sketched], w[sketched], rtol=SKETCH_ACCURACY, atol=1e-12, equal_nan=True
        )
    # the evidence holds p-values (and their wording) computed from merged sums
    pd.testing.assert_frame_equal(
        got.diagnose().drop(columns=["evidence", "evidence_text"]).reset_index(drop=True),
        want.diagnose().drop(columns=["evidence", "evidence_text"]).reset_index(drop=True),
    )


@pytest.fixture(scope="module")
def sample():
    return sk.load_sample()


@pytest.mark.parametrize(
    ("k", "view"),
    [
        (1, {}),
        (3, {}),
        (4, {"group_by": "channel"}),
        (2, {"by": "month", "tz": "America/New_York", "group_by": ["channel", "handled_by"]}),
        (5, {"by": "day", "baseline_range": ("2024-09-01", "2024-10-01")}),
    ],
)
def test_merged_slices_give_the_local_scorecard_on_the_sample(sample, k, view):
    contacts, orders = sample["contacts"], sample["orders"]
    states = _states(contacts, orders, k, **view)
    extra = {"sessions": sample["sessions"], "events": sample["events"]}
    got = sk.merge(states, **extra)
    want = sk.scorecard(contacts, orders, **extra, **view)
    assert_same_card(got, want)
    assert got.by == want.by and got.tz == want.tz and got.group_by == want.group_by
    pd.testing.assert_frame_equal(got.row_audit, want.row_audit)


@pytest.mark.parametrize(
    "view",
    [
        {"by": "week"},
        {"by": "month", "tz": "America/New_York"},
        {"by": "day", "baseline_window": "14d"},
        {"by": "week", "baseline_range": ("2024-09-01", "2024-10-01")},
    ],
)
def test_many_groups_sum_whole_stretches_like_whole_days(sample, view):
    """Past the row-order fold's threshold of day x group cells, a local card keeps one
    cell per group and stretch of days between period and baseline boundaries, where a
    partial state keeps one per day: the merged single state must give the local card, with
    baselines, bands and peak_to_trough (which reads single days) included."""
    contacts, orders = sample["contacts"], sample["orders"]
    contacts = contacts.assign(team=contacts["contact_id"].str[1:].astype(int) % 300)
    days = (contacts["created_at"].max() - contacts["created_at"].min()).days + 1
    assert days * contacts["team"].nunique() > 8192
    view = {**view, "group_by": "team"}
    got = sk.merge(_states(contacts, orders, 1, **view))
    want = sk.scorecard(contacts, orders, as_of=_as_of(contacts, orders), **view)
    # A stretch's sums add the same terms as its days' sums, grouped otherwise: a value of 0
    # may come out as ±2e-16.
    assert_same_card(got, want, atol=1e-12)
    # The bands' baselines too: cost_per_resolved_vs_baseline's baseline is itself measured
    # against the window before its baseline window.
    gb, wb = got.bands(), want.bands()
    exact = ~wb["kpi"].isin(QUANTILE_KPIS).to_numpy()
    for column in ("value", "baseline", "delta_vs_baseline"):
        g, w = gb[column].to_numpy(dtype="float64"), wb[column].to_numpy(dtype="float64")
        np.testing.assert_allclose(g[exact], w[exact], rtol=1e-9, atol=1e-12, err_msg=column)
    against = wb["kpi"] == "cost_per_resolved_vs_baseline"
    assert wb.loc[against, "baseline"].notna().sum() > 100


@pytest.mark.parametrize("ids", ["int", "str"])
def test_generated_edge_cases_merge_exactly(ids):
    contacts, orders, sessions = make_tables(4_000, seed=11, ids=ids)
    states = _states(contacts, orders, 3, group_by="channel", tz="America/New_York")
    got = sk.merge(states, sessions=sessions)
    want = sk.scorecard(contacts, orders, sessions, group_by="channel", tz="America/New_York")
    assert_same_card(got, want)


def test_merge_is_commutative_and_associative(sample):
    contacts, orders = sample["contacts"], sample["orders"]
    a, b, c = _states(contacts, orders, 3, group_by="channel")
    flat = sk.merge([a, b, c]).to_pandas()
    for states in ([c, a, b], [sk.combine([a, b]), c], [a, sk.combine([c, b])]):
        assert_same_long_table(sk.merge(states).to_pandas(), flat)
    assert_same_long_table(sk.merge([sk.combine([a, b, c])]).to_pandas(), flat)


def test_slices_with_later_data_keep_the_spill_into_later_periods(sample):
    """With an as_of before the latest rows, a slice whose rows end early has a shorter
    grid than the merged one; it must still book the retention base of the next period and
    the baseline backlog of later periods (its grid runs a window past its data)."""
    contacts, orders = sample["contacts"], sample["orders"]
    cut = pd.Timestamp("2024-06-15", tz="UTC")
    as_of = pd.Timestamp("2024-06-30", tz="UTC")
    early_customers = set(contacts.loc[contacts.created_at < cut, "customer_id"].dropna())
    early_customers &= set(orders.loc[orders.created_at < cut, "customer_id"].dropna())
    early_customers -= set(contacts.loc[contacts.created_at >= cut, "customer_id"].dropna())
    early_customers -= set(orders.loc[orders.created_at >= cut, "customer_id"].dropna())
    assert len(early_customers) > 10
    c_early = contacts.customer_id.isin(early_customers)
    o_early = orders.customer_id.isin(early_customers)
    states = [
        sk.partial(contacts[c_early], orders[o_early], as_of=as_of, by="month"),
        sk.partial(contacts[~c_early], orders[~o_early], as_of=as_of, by="month"),
    ]
    want = sk.scorecard(contacts, orders, by="month", as_of=as_of)
    assert_same_card(sk.merge(states), want)
    assert_same_card(sk.merge([sk.combine(states[:1]), states[1]]), want)


def test_empty_slices_and_empty_inputs(sample):
    contacts, orders = sample["contacts"], sample["orders"]
    as_of = _as_of(contacts, orders)
    empty = sk.partial(contacts.iloc[:0], orders.iloc[:0], as_of=as_of, group_by="channel")
    full = sk.partial(contacts, orders, as_of=as_of, group_by="channel")
    want = sk.scorecard(contacts, orders, group_by="channel")
    assert_same_card(sk.merge([empty, full, empty]), want)
    nothing = sk.merge([empty])
    assert nothing.to_pandas().empty


def test_the_state_is_versioned_bytes_with_clear_errors(sample):
    contacts, orders = sample["contacts"], sample["orders"]
    state = sk.partial(contacts, orders)
    assert isinstance(state, bytes) and state[:7] == b"SKPARTL"
    assert int.from_bytes(state[8:12], "little") == native.PARTIAL_FORMAT_VERSION
    with pytest.raises(sk.ConfigError, match=r"states\[0\]: not a supportkpi partial state"):
        sk.merge([b"hello world, not a state"])
    newer = state[:8] + (native.PARTIAL_FORMAT_VERSION + 1).to_bytes(4, "little") + state[12:]
    with pytest.raises(
        sk.ConfigError,
        match=rf"states\[1\]: partial state format {native.PARTIAL_FORMAT_VERSION + 1}",
    ):
        sk.merge([state, newer])
    with pytest.raises(sk.ConfigError, match="corrupt partial state"):
        sk.merge([state[: len(state) // 2]])
    with pytest.raises(sk.ConfigError, match="no partial states"):
        sk.merge([])


def test_slices_must_agree_on_options_as_of_and_columns(sample):
    contacts, orders = sample["contacts"], sample["orders"]
    half = _slices(contacts, "contact_id", 2) == 0
    o_half = _slices(orders, "order_id", 2) == 0
    # Without an explicit as_of each slice matures against its own latest row.
    a = sk.partial(contacts[half], orders[o_half])
    b = sk.partial(contacts[~half], orders[~o_half])
    if sk.merge([a]).as_of != sk.merge([b]).as_of:
        with pytest.raises(sk.ConfigError, match="as_of: partial states were computed with 2"):
            sk.merge([a, b])
    weekly = sk.partial(contacts[half], orders[o_half], as_of="2024-12-09")
    monthly = sk.partial(contacts[~half], orders[~o_half], as_of="2024-12-09", by="month")
    with pytest.raises(sk.ConfigError, match=r"states\[1\] was computed with other options"):
        sk.merge([weekly, monthly])
    no_csat = sk.partial(contacts[~half].drop(columns="csat"), orders[~o_half], as_of="2024-12-09")
    with pytest.raises(sk.SchemaError, match="contacts.csat: .*different columns"):
        sk.merge([weekly, no_csat])


def test_dropped_rows_are_audited_across_slices(sample):
    contacts, orders = sample["contacts"].copy(), sample["orders"]
    contacts.loc[contacts.index[:5], "csat"] = 9.0  # outside the 1-5 scale
    states = _states(contacts, orders, 3, on_invalid="drop")
    got = sk.merge(states)
    want = sk.scorecard(contacts, orders, on_invalid="drop")
    pd.testing.assert_frame_equal(got.row_audit, want.row_audit)
    assert_same_long_table(got.to_pandas(), want.to_pandas())


def test_the_state_holds_daily_counts_not_rows(sample):
    contacts, orders = sample["contacts"], sample["orders"]
    state = sk.partial(contacts, orders)
    doubled = sk.partial(
        pd.concat([contacts, contacts.assign(contact_id=contacts.contact_id + "-2")]),
        pd.concat([orders, orders.assign(order_id=orders.order_id.astype(str) + "-2")]),
    )
    # Twice the rows over the same days: nearly the same size (sketch bins, not values).
    assert len(doubled) < 1.2 * len(state)
