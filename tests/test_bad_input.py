"""Bad input never crashes or lies (issue 6): the catalogue of bad inputs, one test each.

docs/semantics.md, "Inputs and validation" and "Invalid rows": a schema problem raises
sk.SchemaError, a bad value sk.DataError naming table, column and the first offending row's
id. With on_invalid="drop" the offending rows are left out, card.row_audit accounts for
every row (rows_read = rows_used + rows_dropped, per reason "column: rule"), and the KPIs
equal those of the input with the rows removed by hand.

The second half (issue 16, docs/semantics.md "Hostile and careless input") is what an
adversarial user tried: rule nesting that overflowed the stack, grids that asked for
gigabytes, crafted and mutated partial states, quadratic group and dimension counts,
silent losses (sessions, sentinel timestamps, duplicate columns, CSV ids, consumed
readers, duplicate slices), and output text that reached terminals, CSV and HTML raw.
"""

from __future__ import annotations

import json
import re
import struct
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import supportkpi as sk
from supportkpi import cli

TS = pa.timestamp("us", tz="UTC")


def T(s: str) -> int:
    return int(pd.Timestamp(s, tz="UTC").value // 1000)


def contacts() -> pa.Table:
    return pa.table(
        {
            "contact_id": pa.array([101, 102, 103, 104, 105, 106], pa.int64()),
            "customer_id": pa.array([1, 1, 2, 2, None, 3], pa.int64()),
            "created_at": pa.array(
                [
                    T("2024-03-04 10:00"),
                    T("2024-03-05 10:00"),
                    T("2024-03-06"),
                    T("2024-03-12"),
                    T("2024-03-13"),
                    T("2024-03-20"),
                ],
                TS,
            ),
            "intent": pa.array(
                ["returns", "returns", "order_tracking", None, "returns", "account"]
            ),
            "handled_by": pa.array(["ai", "human", "self_service", None, "ai", "human"]),
            "first_response_at": pa.array(
                [
                    T("2024-03-04 10:05"),
                    None,
                    T("2024-03-06 01:00"),
                    None,
                    None,
                    T("2024-03-20 02:00"),
                ],
                TS,
            ),
            "resolved_at": pa.array(
                [
                    T("2024-03-04 12:00"),
                    T("2024-03-05 20:00"),
                    None,
                    T("2024-03-13"),
                    None,
                    T("2024-03-21"),
                ],
                TS,
            ),
            "handle_seconds": pa.array([10.0, 300.0, None, 50.0, 0.0, 600.0]),
            "csat": pa.array([5.0, 4.0, None, 2.0, 1.0, 3.0]),
            "nps": pa.array([10.0, None, 0.0, 6.0, 9.0, None]),
            "ces": pa.array([7.0, 1.0, None, 4.0, None, 2.0]),
            "cost": pa.array([1.0, 5.0, 0.5, None, 1.5, 7.25]),
        }
    )


def orders() -> pa.Table:
    return pa.table(
        {
            "order_id": pa.array([901, 902, 903, 904, 905], pa.int64()),
            "customer_id": pa.array([1, 2, 2, None, 3], pa.int64()),
            "created_at": pa.array(
                [
                    T("2024-03-06"),
                    T("2024-03-07"),
                    T("2024-03-13 01:00"),
                    T("2024-03-15"),
                    T("2024-03-22"),
                ],
                TS,
            ),
            "revenue": pa.array([10.0, 20.5, 30.0, 40.0, 55.5]),
            "cogs": pa.array([1.0, 2.0, None, 4.0, 5.0]),
        }
    )


def setcol(table: pa.Table, name: str, values, typ=None) -> pa.Table:
    arr = values if isinstance(values, pa.Array) else pa.array(values, typ)
    if name in table.column_names:
        return table.set_column(table.column_names.index(name), name, arr)
    return table.append_column(name, arr)


def card_frame(c, o, **kw) -> pd.DataFrame:
    return sk.scorecard(c, o, **kw).to_pandas()


def assert_frames_equal(got: pd.DataFrame, want: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12, atol=0)


def without(table: pa.Table, rows: list[int]) -> pa.Table:
    keep = [i for i in range(table.num_rows) if i not in set(rows)]
    return table.take(pa.array(keep, pa.int64()))


def check_data_error(c, o, *, table, column, row, row_id, reason, drop=True):
    """DataError naming table.column and the row, from both entry points; then the drop mode."""
    for run in (sk.scorecard, sk.enrich_contacts):
        with pytest.raises(sk.DataError) as err:
            run(c, o)
        msg = str(err.value)
        assert f"{table}.{column}" in msg, msg
        assert f"row {row} (id {row_id})" in msg, msg
    if not drop:
        return
    bad = c if table == "contacts" else o
    card = sk.scorecard(c, o, on_invalid="drop")
    audit = card.row_audit.set_index("table")
    for t in ("contacts", "orders"):
        r = audit.loc[t]
        assert r["rows_read"] == r["rows_used"] + r["rows_dropped"]
    assert audit.loc[table, "rows_read"] == bad.num_rows
    assert audit.loc[table, "rows_dropped"] == 1
    assert audit.loc[table, "dropped_by_reason"] == {reason: 1}
    other = "orders" if table == "contacts" else "contacts"
    assert audit.loc[other, "rows_dropped"] == 0
    assert audit.loc[other, "dropped_by_reason"] == {}
    # the KPIs are those of the input with the offending row removed by hand
    if table == "contacts":
        want = card_frame(without(c, [row]), o)
    else:
        want = card_frame(c, without(o, [row]))
    assert_frames_equal(card.to_pandas(), want)
    # enrich keeps one row per contact; the dropped one carries null results and its reason
    enr = sk.enrich_contacts(c, o, on_invalid="drop")
    assert len(enr) == c.num_rows
    reasons = enr["dropped_reason"].tolist()
    if table == "contacts":
        assert reasons[row] == reason
        assert pd.isna(enr["recovered_7d"].iloc[row])
        assert all(pd.isna(x) for i, x in enumerate(reasons) if i != row)
    else:
        assert all(pd.isna(x) for x in reasons)


def test_the_fixture_is_valid():
    assert len(card_frame(contacts(), orders())) > 0
    assert len(sk.enrich_contacts(contacts(), orders())) == 6


# ------------------------------------------------------------------ schema errors -------
@pytest.mark.parametrize(
    "table,column",
    [
        ("contacts", "contact_id"),
        ("contacts", "customer_id"),
        ("contacts", "created_at"),
        ("orders", "order_id"),
        ("orders", "customer_id"),
        ("orders", "created_at"),
        ("orders", "revenue"),
    ],
)
def test_missing_required_column(table, column):
    c, o = contacts(), orders()
    if table == "contacts":
        c = c.drop_columns([column])
    else:
        o = o.drop_columns([column])
    for kw in ({}, {"on_invalid": "drop"}):  # schema problems always raise
        with pytest.raises(sk.SchemaError) as err:
            sk.scorecard(c, o, **kw)
        assert f"{table}.{column}" in str(err.value)
        assert "missing" in str(err.value)


@pytest.mark.parametrize("table", ["contacts", "orders"])
def test_string_timestamps(table):
    c, o = contacts(), orders()
    if table == "contacts":
        c = setcol(c, "created_at", ["2024-03-04 10:00:00"] * c.num_rows, pa.string())
    else:
        o = setcol(o, "created_at", ["2024-03-06T00:00:00Z"] * o.num_rows, pa.string())
    for run in (sk.scorecard, sk.enrich_contacts):
        for kw in ({}, {"on_invalid": "drop"}):
            with pytest.raises(sk.SchemaError) as err:
                run(c, o, **kw)
            assert f"{table}.created_at" in str(err.value)
            assert "timestamp" in str(err.value)


@pytest.mark.parametrize(
    "table,column",
    [("contacts", "contact_id"), ("orders", "order_id"), ("contacts", "customer_id")],
)
def test_float_ids(table, column):
    """Issue 16 item 15: whole float ids (pd.read_parquet of a nullable integer column)
    read as the integers they hold; a fractional or inexact one is a DataError at its row."""
    c, o = contacts(), orders()
    t = c if table == "contacts" else o
    ints = t.column(column).to_pylist()
    floats = pa.array([None if v is None else float(v) for v in ints], pa.float64())
    as_floats = setcol(t, column, floats)
    if column == "customer_id":  # the kinds must match: floats in both tables
        o = setcol(
            o,
            column,
            pa.array([None if v is None else float(v) for v in o.column(column).to_pylist()]),
        )
    got = card_frame(as_floats, o) if table == "contacts" else card_frame(c, as_floats)
    assert_frames_equal(
        got, card_frame(c, orders()) if column == "customer_id" else card_frame(c, o)
    )
    for bad, shown in ((1.5, "1.5"), (2.0**53 + 2, "9007199254740994")):
        values = [None if v is None else float(v) for v in ints]
        values[2] = bad
        broken = setcol(t, column, pa.array(values, pa.float64()))
        args = (broken, o) if table == "contacts" else (c, broken)
        with pytest.raises(sk.DataError) as err:
            sk.scorecard(*args)
        message = str(err.value)
        assert f"{table}.{column}" in message and "row 2" in message and shown in message


# -------------------------------------------------------------------- data errors -------
def test_duplicate_contact_id():
    c = setcol(contacts(), "contact_id", [101, 102, 103, 102, 105, 106], pa.int64())
    check_data_error(
        c, orders(), table="contacts", column="contact_id", row=3, row_id=102,
        reason="contact_id: duplicate id: ids must be unique per row",
    )  # fmt: skip


def test_duplicate_order_id():
    o = setcol(orders(), "order_id", [901, 902, 903, 904, 901], pa.int64())
    check_data_error(
        contacts(), o, table="orders", column="order_id", row=4, row_id=901,
        reason="order_id: duplicate id: ids must be unique per row",
    )  # fmt: skip


def test_duplicate_string_ids_differ_by_a_nul_only_are_distinct():
    # "a" and "a\x00" are different ids; the third "a" is the duplicate
    c = setcol(contacts(), "contact_id", ["a", "a\x00", "b", "c", "d", "a"], pa.string())
    c = setcol(c, "customer_id", ["1", "1", "2", "2", None, "3"], pa.string())
    o = setcol(orders(), "customer_id", ["1", "2", "2", None, "3"], pa.string())
    check_data_error(
        c, o, table="contacts", column="contact_id", row=5, row_id='"a"',
        reason="contact_id: duplicate id: ids must be unique per row",
    )  # fmt: skip


@pytest.mark.parametrize("table", ["contacts", "orders"])
def test_null_created_at(table):
    c, o = contacts(), orders()
    if table == "contacts":
        v = c.column("created_at").to_pylist()
        c = setcol(c, "created_at", pa.array([v[0], None, *v[2:]], TS))
        row, row_id = 1, 102
    else:
        v = o.column("created_at").to_pylist()
        o = setcol(o, "created_at", pa.array([v[0], None, *v[2:]], TS))
        row, row_id = 1, 902
    check_data_error(
        c, o, table=table, column="created_at", row=row, row_id=row_id,
        reason="created_at: must not be null",
    )  # fmt: skip


PLAUSIBLE = (
    "outside the plausible range 2000-01-01T00:00:00Z to 2100-01-01T00:00:00Z "
    "(config timestamps.earliest / latest)"
)


@pytest.mark.parametrize("table", ["contacts", "orders"])
@pytest.mark.parametrize("when", ["1970-01-01 00:00", "2200-01-01 00:00", "2100-01-01 00:00"])
def test_implausible_created_at(table, when):
    """A zero epoch or a far-future sentinel would stretch the day grid over centuries."""
    c, o = contacts(), orders()
    if table == "contacts":
        v = c.column("created_at").to_pylist()
        c = setcol(c, "created_at", pa.array([v[0], T(when), *v[2:]], TS))
        row, row_id = 1, 102
    else:
        v = o.column("created_at").to_pylist()
        o = setcol(o, "created_at", pa.array([v[0], T(when), *v[2:]], TS))
        row, row_id = 1, 902
    check_data_error(
        c, o, table=table, column="created_at", row=row, row_id=row_id,
        reason=f"created_at: {PLAUSIBLE}",
    )  # fmt: skip


@pytest.mark.parametrize("column", ["resolved_at", "first_response_at"])
def test_implausible_resolution_times(column):
    v = contacts().column(column).to_pylist()
    v[1] = T("2200-01-01 00:00")
    c = setcol(contacts(), column, pa.array(v, TS))
    check_data_error(
        c, orders(), table="contacts", column=column, row=1, row_id=102,
        reason=f"{column}: {PLAUSIBLE}",
    )  # fmt: skip


def test_the_plausible_range_is_configurable():
    c, o = contacts(), orders()
    v = c.column("created_at").to_pylist()
    c = setcol(c, "created_at", pa.array([v[0], T("1999-12-31 23:00"), *v[2:]], TS))
    with pytest.raises(sk.DataError, match="outside the plausible range"):
        sk.scorecard(c, o)
    card = sk.scorecard(c, o, config={"timestamps": {"earliest": "1990-01-01"}})
    assert card.to_pandas()["period_start"].min() == pd.Timestamp("1999-12-27", tz="UTC")
    with pytest.raises(sk.ConfigError, match="timestamps.latest: must be after"):
        sk.scorecard(c, o, config={"timestamps": {"latest": "1980-01-01"}})


def test_resolved_at_before_created_at():
    v = contacts().column("resolved_at").to_pylist()
    c = setcol(contacts(), "resolved_at", pa.array([T("2024-03-04 09:59"), *v[1:]], TS))
    check_data_error(
        c, orders(), table="contacts", column="resolved_at", row=0, row_id=101,
        reason="resolved_at: resolved_at is before created_at",
    )  # fmt: skip


def test_first_response_at_before_created_at_by_one_microsecond():
    v = contacts().column("first_response_at").to_pylist()
    v[1] = T("2024-03-05 10:00") - 1
    c = setcol(contacts(), "first_response_at", pa.array(v, TS))
    check_data_error(
        c, orders(), table="contacts", column="first_response_at", row=1, row_id=102,
        reason="first_response_at: first_response_at is before created_at",
    )  # fmt: skip


def test_equal_timestamps_are_valid():
    # resolved_at == created_at and first_response_at == created_at are not errors
    c = contacts()
    c = setcol(c, "resolved_at", c.column("created_at").combine_chunks())
    c = setcol(c, "first_response_at", c.column("created_at").combine_chunks())
    sk.scorecard(c, orders())


@pytest.mark.parametrize(
    "column,value,scale",
    [
        ("csat", 6.0, "[1, 5]"),
        ("csat", 0.0, "[1, 5]"),
        ("csat", float("nan"), "[1, 5]"),
        ("nps", 11.0, "[0, 10]"),
        ("nps", -1.0, "[0, 10]"),
        ("ces", 8.0, "[1, 7]"),
        ("ces", 0.5, "[1, 7]"),
    ],
)
def test_score_outside_the_scale(column, value, scale):
    v = contacts().column(column).to_pylist()
    v[3] = value
    c = setcol(contacts(), column, pa.array(v, pa.float64(), from_pandas=False))
    check_data_error(
        c, orders(), table="contacts", column=column, row=3, row_id=104,
        reason=f"{column}: value outside the scale {scale}",
    )  # fmt: skip


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_revenue(value):
    v = orders().column("revenue").to_pylist()
    v[2] = value
    o = setcol(orders(), "revenue", pa.array(v, pa.float64(), from_pandas=False))
    check_data_error(
        contacts(), o, table="orders", column="revenue", row=2, row_id=903,
        reason="revenue: value must be finite (NaN or infinity found)",
    )  # fmt: skip


def test_null_revenue():
    v = orders().column("revenue").to_pylist()
    v[2] = None
    o = setcol(orders(), "revenue", pa.array(v, pa.float64()))
    check_data_error(
        contacts(), o, table="orders", column="revenue", row=2, row_id=903,
        reason="revenue: must not be null",
    )  # fmt: skip


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_cost(value):
    v = contacts().column("cost").to_pylist()
    v[4] = value
    c = setcol(contacts(), "cost", pa.array(v, pa.float64(), from_pandas=False))
    check_data_error(
        c, orders(), table="contacts", column="cost", row=4, row_id=105,
        reason="cost: value must be finite (NaN or infinity found)",
    )  # fmt: skip


def test_non_finite_cogs():
    v = orders().column("cogs").to_pylist()
    v[3] = float("inf")
    o = setcol(orders(), "cogs", pa.array(v, pa.float64()))
    check_data_error(
        contacts(), o, table="orders", column="cogs", row=3, row_id=904,
        reason="cogs: value must be finite (NaN or infinity found)",
    )  # fmt: skip


def test_negative_handle_seconds():
    v = contacts().column("handle_seconds").to_pylist()
    v[1] = -1.0
    c = setcol(contacts(), "handle_seconds", pa.array(v, pa.float64()))
    check_data_error(
        c, orders(), table="contacts", column="handle_seconds", row=1, row_id=102,
        reason="handle_seconds: handle_seconds must not be negative",
    )  # fmt: skip


@pytest.mark.parametrize("value", ["bot", "Human", ""])
def test_unknown_handled_by(value):
    v = contacts().column("handled_by").to_pylist()
    v[3] = value
    c = setcol(contacts(), "handled_by", pa.array(v, pa.string()))
    check_data_error(
        c, orders(), table="contacts", column="handled_by", row=3, row_id=104,
        reason="handled_by: handled_by must be one of self_service, ai, human or null",
    )  # fmt: skip


# ----------------------------------------------------------- 64-bit id edge values -------
MIN64, MAX64 = -(2**63), 2**63 - 1


def test_int64_min_max_ids_behave_like_any_other_ids():
    c = setcol(contacts(), "contact_id", [MIN64, MAX64, 0, -1, MIN64 + 1, MAX64 - 1], pa.int64())
    c = setcol(c, "customer_id", [MIN64, MIN64, MAX64, MAX64, None, 0], pa.int64())
    o = setcol(orders(), "order_id", [MAX64, MIN64, 0, 1, -1], pa.int64())
    o = setcol(o, "customer_id", [MIN64, MAX64, MAX64, None, 0], pa.int64())
    # a relabelling of the customers and ids: the same scorecard and the same joins
    assert_frames_equal(card_frame(c, o), card_frame(contacts(), orders()))
    got = sk.enrich_contacts(c, o)
    want = sk.enrich_contacts(contacts(), orders())
    assert got["contact_id"].tolist() == [MIN64, MAX64, 0, -1, MIN64 + 1, MAX64 - 1]
    for col in ("recovered_7d", "attributed_orders", "attributed_revenue", "repeat_14d"):
        assert got[col].tolist() == want[col].tolist(), col


def test_int64_extreme_ids_tie_goes_to_the_greatest_contact_id():
    same = T("2024-03-04 10:00")
    c = setcol(contacts(), "contact_id", [MIN64, MAX64, 0, -1, MIN64 + 1, MAX64 - 1], pa.int64())
    c = setcol(c, "customer_id", [7, 7, 7, 2, None, 3], pa.int64())
    c = setcol(c, "created_at", pa.array([same, same, same, *c.column("created_at")[3:]], TS))
    o = setcol(orders(), "customer_id", [7, 2, 2, None, 3], pa.int64())
    got = sk.enrich_contacts(c, o)
    assert got["attributed_orders"].tolist()[:3] == [0, 1, 0]  # MAX64 wins the tie


def test_int64_max_customer_id_with_nulls_round_trips_in_enrich():
    c = setcol(contacts(), "customer_id", [MAX64, MAX64, 1, 1, None, 2], pa.int64())
    o = setcol(orders(), "customer_id", [MAX64, 1, 1, None, 2], pa.int64())
    got = sk.enrich_contacts(c, o)["customer_id"].tolist()
    assert got[0] == MAX64 and isinstance(got[0], int)


def test_int64_max_customer_id_with_nulls_round_trips_in_enrich_arrow_output():
    c = setcol(contacts(), "customer_id", [MAX64, MAX64, 1, 1, None, 2], pa.int64())
    o = setcol(orders(), "customer_id", [MAX64, 1, 1, None, 2], pa.int64())
    got = sk.prepare(c, o).enrich(output="arrow")
    assert got.column("customer_id").to_pylist() == [MAX64, MAX64, 1, 1, None, 2]


def test_uint64_ids_up_to_int64_max_are_accepted():
    c = setcol(contacts(), "contact_id", [0, MAX64, 3, 4, 5, 6], pa.uint64())
    c = setcol(c, "customer_id", [1, 1, 2, 2, None, 3], pa.uint64())
    o = setcol(orders(), "customer_id", [1, 2, 2, None, 3], pa.uint64())
    assert_frames_equal(card_frame(c, o), card_frame(contacts(), orders()))


def _uint64_tables(column: str):
    c = setcol(contacts(), "customer_id", [1, 1, 2, 2, None, 3], pa.uint64())
    o = setcol(orders(), "customer_id", [1, 2, 2, None, 3], pa.uint64())
    if column == "contact_id":
        c = setcol(c, "contact_id", [101, 102, 103, 2**63, 105, 106], pa.uint64())
        return c, o, "contacts", 3
    if column == "customer_id":
        c = setcol(c, "customer_id", [1, 1, 2, 2**64 - 1, None, 3], pa.uint64())
        return c, o, "contacts", 3
    o = setcol(o, "order_id", [901, 2**63 + 5, 903, 904, 905], pa.uint64())
    return c, o, "orders", 1


@pytest.mark.parametrize("column", ["contact_id", "customer_id", "order_id"])
def test_uint64_above_int64_max_is_a_data_error_or_dropped(column):
    c, o, table, row = _uint64_tables(column)
    for run in (sk.scorecard, sk.enrich_contacts):
        with pytest.raises(sk.DataError) as err:
            run(c, o)
        assert f"{table}.{column}" in str(err.value)
        assert f"row {row} " in str(err.value)
    card = sk.scorecard(c, o, on_invalid="drop")
    audit = card.row_audit.set_index("table")
    assert audit.loc[table, "rows_dropped"] == 1
    assert audit.loc[table, "rows_read"] == audit.loc[table, "rows_used"] + 1
    assert audit.loc[table, "dropped_by_reason"] == {
        f"{column}: id does not fit a signed 64-bit integer": 1
    }
    if table == "contacts":
        want = card_frame(without(c, [row]), o)
    else:
        want = card_frame(c, without(o, [row]))
    assert_frames_equal(card.to_pandas(), want)


@pytest.mark.parametrize("column", ["contact_id", "order_id"])
def test_uint64_above_int64_max_message_names_the_id(column):
    c, o, table, row = _uint64_tables(column)
    value = 2**63 if column == "contact_id" else 2**63 + 5
    with pytest.raises(sk.DataError) as err:
        sk.scorecard(c, o)
    assert f"row {row} (id {value})" in str(err.value), str(err.value)


def test_uint64_customer_id_above_int64_max_message_names_the_contact():
    c, o, _, _ = _uint64_tables("customer_id")
    with pytest.raises(sk.DataError) as err:
        sk.scorecard(c, o)
    assert "contacts.customer_id" in str(err.value)
    assert "row 3 (id 104)" in str(err.value)


# ------------------------------------------------------- inputs that must just work -------
def _to_zone(table: pa.Table, tz: str, unit: str = "us") -> pa.Table:
    fields = [
        f.with_type(pa.timestamp(unit, tz=tz)) if pa.types.is_timestamp(f.type) else f
        for f in table.schema
    ]
    return table.cast(pa.schema(fields))


def test_mixed_time_zones_across_tables():
    berlin = _to_zone(contacts(), "Europe/Berlin")
    assert berlin.schema.field("created_at").type.tz == "Europe/Berlin"
    assert_frames_equal(card_frame(berlin, orders()), card_frame(contacts(), orders()))
    # and by day in a zone, where the boundaries matter
    assert_frames_equal(
        card_frame(berlin, _to_zone(orders(), "America/New_York", "ns"), by="day", tz="Asia/Tokyo"),
        card_frame(contacts(), orders(), by="day", tz="Asia/Tokyo"),
    )
    derived = [
        c
        for c in sk.enrich_contacts(contacts(), orders()).columns
        if c not in contacts().column_names
    ]
    pd.testing.assert_frame_equal(
        sk.enrich_contacts(berlin, orders())[derived],
        sk.enrich_contacts(contacts(), orders())[derived],
    )


def test_empty_tables():
    c0, o0 = contacts().slice(0, 0), orders().slice(0, 0)
    assert len(card_frame(c0, o0)) == 0
    assert len(sk.enrich_contacts(c0, o0)) == 0
    assert len(sk.enrich_contacts(c0, orders())) == 0
    enr = sk.enrich_contacts(contacts(), o0)
    assert len(enr) == 6 and not enr["recovered_7d"].any()
    # only contacts / only orders: counts as in the full input
    df = card_frame(contacts(), o0)
    assert df.loc[df["kpi"] == "contacts", "value"].sum() == 6
    assert df.loc[df["kpi"] == "orders", "value"].sum() == 0
    df = card_frame(c0, orders())
    assert df.loc[df["kpi"] == "orders", "value"].sum() == 5
    assert df.loc[df["kpi"] == "contacts", "value"].sum() == 0
    card = sk.scorecard(c0, o0, on_invalid="drop")
    assert card.row_audit["rows_read"].tolist() == [0, 0]


def test_zero_length_chunks():
    c, o = contacts(), orders()
    ce = pa.RecordBatch.from_pylist([], schema=c.schema)
    oe = pa.RecordBatch.from_pylist([], schema=o.schema)
    cz = pa.Table.from_batches(
        [ce, *c.slice(0, 2).to_batches(), ce, ce, *c.slice(2).to_batches(), ce], schema=c.schema
    )
    oz = pa.Table.from_batches([oe, oe, oe, *o.to_batches(), oe], schema=o.schema)
    assert cz.num_rows == c.num_rows and cz.column(0).num_chunks == 6
    assert_frames_equal(card_frame(cz, oz), card_frame(c, o))
    pd.testing.assert_frame_equal(sk.enrich_contacts(cz, oz), sk.enrich_contacts(c, o))
    # a table made only of empty batches is an empty table
    only_empty = pa.Table.from_batches([ce, ce], schema=c.schema)
    assert len(sk.enrich_contacts(only_empty, oz)) == 0
    # and as a stream
    reader = pa.RecordBatchReader.from_batches(c.schema, cz.to_batches())
    assert_frames_equal(card_frame(reader, oz), card_frame(c, o))


BIG = "x" * 100_000
WEIRD = [BIG, BIG, "ü🙂\x00nul", "Ã¿\udcff".encode("utf-8", "surrogatepass").decode("latin-1"),
         "\x00", "🙂" * 5000]  # fmt: skip


def test_all_null_categorical_columns_read_as_null():
    """An all-null pandas categorical reaches the engine as a dictionary with no values (a
    crash the fuzz smoke found); it reads as nulls, also in a zero-length chunk."""
    c, o = contacts(), orders()
    empty_dictionary = pa.DictionaryArray.from_arrays(
        pa.array([None] * c.num_rows, pa.int32()), pa.array([], pa.string())
    )
    c = setcol(c, "intent", empty_dictionary)
    c = setcol(c, "channel", empty_dictionary)
    got = card_frame(c, o, group_by="channel")
    want = card_frame(
        setcol(
            setcol(contacts(), "intent", pa.nulls(c.num_rows, pa.string())),
            "channel",
            pa.nulls(c.num_rows, pa.string()),
        ),
        o,
        group_by="channel",
    )
    assert_frames_equal(got, want)


def test_long_and_odd_strings_do_not_crash():
    c = setcol(contacts(), "intent", pa.array(WEIRD, pa.string()))
    c = setcol(c, "channel", pa.array(["\x00", "🙂", BIG, "a\x00b", None, ""], pa.string()))
    df = card_frame(c, orders(), group_by="channel")
    # every distinct value (the NUL-only, emoji, 100 kB, embedded-NUL, null and empty ones)
    # is a group of its own, returned intact
    groups = df["channel"].drop_duplicates().tolist()
    assert len(groups) == 6
    assert BIG in groups and "a\x00b" in groups and "\x00" in groups and "" in groups
    enr = sk.enrich_contacts(c, orders())
    assert enr["intent"].tolist() == WEIRD
    # two contacts of customer 1 share the 100 kB intent: the second is a repeat of the first
    assert enr["repeat_14d"].tolist() == [True, False, False, False, False, False]


def test_odd_string_ids_join_exactly():
    c = setcol(contacts(), "contact_id", ["a\x00", "a", "🙂", BIG, "é", "e"], pa.string())
    c = setcol(c, "customer_id", ["k\x00", "k\x00", "k", "k", None, "🙂"], pa.string())
    o = setcol(orders(), "order_id", ["\x00", "\x00\x00", "🙂", BIG, "z"], pa.string())
    o = setcol(o, "customer_id", ["k\x00", "k", "k", None, "🙂"], pa.string())
    enr = sk.enrich_contacts(c, o)
    # "k\x00" and "k" are different customers
    assert enr["attributed_orders"].tolist() == [0, 1, 1, 1, 0, 1]
    assert enr["recovered_7d"].tolist() == [True, True, True, True, False, True]
    assert enr["contact_id"].tolist() == ["a\x00", "a", "🙂", BIG, "é", "e"]


def test_binary_strings_are_a_schema_error():
    c = setcol(contacts(), "intent", pa.array([b"\xff\xfe"] * 6, pa.binary()))
    with pytest.raises(sk.SchemaError) as err:
        sk.scorecard(c, orders())
    assert "contacts.intent" in str(err.value)


# ------------------------------------------- hostile and careless input (issue 16) -------
# docs/semantics.md, "Hostile and careless input". Each test below failed before the fix
# (a crash, a hang, a silent wrong answer or an unhelpful error).


def frame_contacts(n: int, **extra) -> pd.DataFrame:
    start = pd.Timestamp("2024-01-01", tz="UTC")
    data = {
        "contact_id": np.arange(1, n + 1),
        "customer_id": np.arange(1, n + 1),
        "created_at": [start + pd.Timedelta(hours=i) for i in range(n)],
    }
    data.update(extra)
    return pd.DataFrame(data)


ONE_ORDER = pd.DataFrame(
    {
        "order_id": [1],
        "customer_id": [1],
        "created_at": [pd.Timestamp("2024-01-02", tz="UTC")],
        "revenue": [10.0],
    }
)


def nested_rule(depth: int) -> str:
    return "abs(" * depth + "csat_mean" + ")" * depth + " > 1"


def test_deeply_nested_rule_is_a_config_error_not_a_stack_overflow(tmp_path):
    for depth in (3000, 15000):
        config = {"rules": {"deep": {"when": [nested_rule(depth)]}}}
        with pytest.raises(sk.ConfigError, match=r"rules\.deep\.when\[0\].*nest more than 32"):
            sk.scorecard(frame_contacts(5), ONE_ORDER, config=config)
        with pytest.raises(sk.ConfigError, match="nest more than 32"):
            sk.Config(config)
    # 32 levels is the documented limit and still works.
    sk.Config({"rules": {"ok": {"when": [nested_rule(32)]}}})
    # Through a --config file the CLI exits 2 with one line (before: SIGSEGV, exit 139).
    path = tmp_path / "deep.toml"
    path.write_text(f'[rules.deep]\nwhen = ["{nested_rule(3000)}"]\n')
    contacts_path = tmp_path / "c.parquet"
    frame_contacts(5).to_parquet(contacts_path)
    orders_path = tmp_path / "o.parquet"
    ONE_ORDER.to_parquet(orders_path)
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from supportkpi import cli; sys.exit(cli.main())",
         "scorecard", "--contacts", str(contacts_path), "--orders", str(orders_path),
         "--config", str(path), "--format", "json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "nest more than 32" in done.stderr and "Traceback" not in done.stderr


def replace_state_options(state: bytes, options: str) -> bytes:
    """The state with its options JSON replaced (postcard: a varint length, then bytes)."""
    start = state.index(b'{"by"')
    # The varint before the JSON is its length; find where it starts.
    at = start - 1
    while at > 12 and state[at - 1] & 0x80:
        at -= 1
    n, shift, pos = 0, 0, at
    while True:
        byte = state[pos]
        n |= (byte & 0x7F) << shift
        pos += 1
        if not byte & 0x80:
            break
        shift += 7
    assert pos == start, "the options JSON follows its varint length"
    encoded = options.encode()
    length, varint = len(encoded), bytearray()
    while True:
        byte = length & 0x7F
        length >>= 7
        varint.append(byte | (0x80 if length else 0))
        if not length:
            break
    return state[:at] + bytes(varint) + encoded + state[start + n :]


def test_crafted_state_options_with_a_deep_rule_are_a_config_error():
    state = sk.partial(frame_contacts(5), ONE_ORDER)
    start = state.index(b'{"by"')
    options = json.loads(state[start : state.index(b"}", state.rindex(b'"kpis"')) + 1])
    options["config"] = {"rules": {"deep": {"when": [nested_rule(20000)]}}}
    crafted = replace_state_options(state, json.dumps(options))
    with pytest.raises(sk.ConfigError, match="nest more than 32"):
        sk.merge([crafted])


def test_huge_grids_are_refused_before_allocating_with_what_to_change():
    # 100 contacts over a century, 100 channels (measured at 4.7 GB before).
    century = pd.date_range("2000-01-01", "2099-01-01", periods=100, tz="UTC")
    spread = pd.DataFrame(
        {
            "contact_id": range(100),
            "customer_id": range(100),
            "created_at": century,
            "channel": [f"ch{i}" for i in range(100)],
        }
    )
    started = time.perf_counter()
    with pytest.raises(sk.ConfigError) as err:
        sk.scorecard(spread, ONE_ORDER, group_by="channel")
    message = str(err.value)
    assert message.startswith("limits.max_grid_mb:")
    assert "x 100 groups" in message and "as_of" in message and "group by fewer" in message
    # 6 rows to 2099, 6 groups, by day (1.9 GB before).
    six = frame_contacts(6, channel=[f"c{i}" for i in range(6)])
    with pytest.raises(sk.ConfigError, match="limits.max_grid_mb"):
        sk.scorecard(six, ONE_ORDER, as_of="2099-12-31", by="day", group_by="channel")
    # 4,000 templates over a century by week (the grid alone fits; 1.5 GB with 2,000 by day
    # before): the slice counts are sized too.
    templates = pd.DataFrame(
        {
            "contact_id": range(4000),
            "customer_id": range(4000),
            "created_at": pd.date_range("2000-01-01", "2099-01-01", periods=4000, tz="UTC"),
            "template": [f"t{i}" for i in range(4000)],
        }
    )
    with pytest.raises(sk.ConfigError, match="4000 dimension values"):
        sk.scorecard(templates, ONE_ORDER, by="week")
    assert time.perf_counter() - started < 30
    # The limit is configurable both ways.
    tight = {"limits": {"max_grid_mb": 0.01}}
    with pytest.raises(sk.ConfigError, match=r"over the limit of .* \(limits\.max_grid_mb\)"):
        sk.scorecard(frame_contacts(50), ONE_ORDER, by="day", config=tight)
    with pytest.raises(sk.ConfigError, match="limits.max_grid_mb"):
        sk.Config({"limits": {"max_grid_mb": -1}})


def test_windows_are_bounded():
    for kw in (
        {"baseline_window": "2000000d"},
        {"baseline_window": "100000000d"},
        {"baseline_window": "999999999999d"},
        {"repurchase_window": pd.Timedelta(days=40000)},
    ):
        key = next(iter(kw))
        with pytest.raises(sk.ConfigError, match=rf"{key}: windows may span at most 36525d"):
            sk.scorecard(frame_contacts(5), ONE_ORDER, **kw)
    with pytest.raises(sk.ConfigError, match="baseline_window: windows may span at most"):
        sk.partial(frame_contacts(5), ONE_ORDER, baseline_window="2000000d")
    with pytest.raises(sk.ConfigError, match=r"windows\.recovery: windows may span"):
        sk.Config({"windows": {"recovery": "40000d"}})
    with pytest.raises(sk.ConfigError, match="clv_lifespan_days: must be a finite number"):
        sk.scorecard(frame_contacts(5), ONE_ORDER, clv_lifespan_days=float("inf"))
    with pytest.raises(sk.ConfigError, match="clv_lifespan_days: must be a positive number"):
        sk.scorecard(frame_contacts(5), ONE_ORDER, clv_lifespan_days=1e9)


def test_sessions_and_events_dates_are_checked_like_contacts():
    far = pa.table({"date": pa.array([100_000_000], pa.date32()), "sessions": [5]})
    with pytest.raises(sk.DataError, match=r"sessions\.date: outside the plausible range"):
        sk.scorecard(frame_contacts(5), ONE_ORDER, sessions=far)
    events = pd.DataFrame(
        {
            "name": ["sale"],
            "kind": ["promo"],
            "start": [pd.Timestamp("1900-01-01", tz="UTC")],
            "end": [pd.Timestamp("2024-01-02", tz="UTC")],
        }
    )
    with pytest.raises(sk.DataError, match=r"events\.start: outside the plausible range"):
        sk.scorecard(frame_contacts(5), ONE_ORDER, events=events)
    card = sk.scorecard(frame_contacts(5), ONE_ORDER, events=events, on_invalid="drop")
    audit = card.row_audit.set_index("table")
    assert int(audit.loc["events", "rows_dropped"]) == 1


def test_sessions_outside_the_cards_days_are_audited_not_reported_as_used():
    sessions = pd.DataFrame(
        {
            "date": pd.to_datetime(["2001-01-01", "2024-01-01", "2030-01-01"]).date,
            "sessions": [1, 2, 4],
        }
    )
    card = sk.scorecard(frame_contacts(5), ONE_ORDER, sessions=sessions)
    audit = card.row_audit.set_index("table").loc["sessions"]
    assert (int(audit.rows_read), int(audit.rows_used), int(audit.rows_dropped)) == (3, 1, 2)
    (reason,) = audit.dropped_by_reason
    assert reason.startswith("date: outside the days of the card")
    counted = card.to_pandas().query("kpi == 'conversion_rate'").denominator.sum()
    assert counted == 2


def test_a_timestamp_on_the_null_sentinel_is_not_read_as_null():
    c = pa.Table.from_pandas(frame_contacts(5), preserve_index=False)
    for unit, value in (("s", -(2**62)), ("us", -(2**63))):
        if unit == "us":
            # i64::MIN itself cannot be built as a non-null pandas value; Arrow can.
            column = pa.array([value + 1] * 5, pa.timestamp(unit, tz="UTC"))
            column = pa.array([value] * 5, pa.int64()).cast(pa.timestamp(unit, tz="UTC"))
        else:
            column = pa.array([value] * 5, pa.timestamp(unit, tz="UTC"))
        broken = c.append_column("resolved_at", column)
        with pytest.raises(sk.DataError, match=r"contacts\.resolved_at: outside the plausible"):
            sk.scorecard(broken, ONE_ORDER)


def test_duplicate_column_names_are_a_schema_error(tmp_path):
    c = pa.Table.from_pandas(frame_contacts(3), preserve_index=False)
    doubled = c.append_column("created_at", c.column("created_at"))
    with pytest.raises(sk.SchemaError, match=r"contacts\.created_at: the table has two columns"):
        sk.scorecard(doubled, ONE_ORDER)
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,customer_id,created_at,revenue,revenue\n1,1,2024-01-02T00:00:00Z,5,6\n"
    )
    with pytest.raises(sk.SchemaError, match=r"orders\.revenue: the table has two columns"):
        sk.scorecard(frame_contacts(3), path)
    frame = frame_contacts(3)
    frame = pd.concat([frame, frame[["customer_id"]]], axis=1)
    with pytest.raises(
        sk.SchemaError, match="contacts: the frame has more than one column named customer_id"
    ):
        sk.scorecard(frame, ONE_ORDER)


def test_csv_ids_are_read_as_text_unless_every_one_is_a_plain_integer(tmp_path):
    contacts_csv = tmp_path / "contacts.csv"
    contacts_csv.write_text(
        "contact_id,customer_id,created_at\n"
        "1,007,2024-01-01T00:00:00Z\n2,7,2024-01-01T01:00:00Z\n3,0007,2024-01-01T02:00:00Z\n"
    )
    orders_csv = tmp_path / "orders.csv"
    orders_csv.write_text("order_id,customer_id,created_at,revenue\n1,007,2024-01-02T00:00:00Z,5\n")
    enriched = sk.enrich_contacts(contacts_csv, orders_csv)
    assert enriched.customer_id.tolist() == ["007", "7", "0007"]
    # Only customer 007 ordered: the three ids are three customers.
    assert enriched.recovered_7d.tolist() == [True, False, False]
    plain = tmp_path / "plain.csv"
    plain.write_text("contact_id,customer_id,created_at\n1,7,2024-01-01T00:00:00Z\n")
    # All canonical integers: an integer column, which joins with integer orders.
    assert sk.enrich_contacts(plain, ONE_ORDER.assign(customer_id=7)).recovered_7d.tolist() == [
        True
    ]


def test_a_consumed_record_batch_reader_is_refused():
    table = pa.Table.from_pandas(frame_contacts(5), preserve_index=False)
    reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches())
    reader.read_all()
    with pytest.raises(sk.ConfigError, match="contacts: the RecordBatchReader gave no rows"):
        sk.scorecard(reader, ONE_ORDER)


def test_empty_text_ids_are_null():
    c = frame_contacts(4)
    c["customer_id"] = ["", "", "a", "b"]
    enriched = sk.enrich_contacts(c, ONE_ORDER.assign(customer_id="a"))
    # Two blank ids are two anonymous contacts, not one customer with two contacts.
    assert enriched.repeat_14d.tolist()[:2] == [False, False]
    c["contact_id"] = ["x", "", "y", "z"]
    with pytest.raises(sk.DataError, match=r"contacts\.contact_id"):
        sk.scorecard(c, ONE_ORDER.assign(customer_id="a"))


def test_categorical_integer_ids_read_as_their_integers():
    c = frame_contacts(5)
    plain = card_frame(c, ONE_ORDER)
    c["customer_id"] = c["customer_id"].astype("category")
    c["contact_id"] = c["contact_id"].astype("category")
    assert_frames_equal(card_frame(c, ONE_ORDER), plain)


def test_float_ids_from_a_parquet_round_trip(tmp_path):
    c = frame_contacts(6)
    c["customer_id"] = pd.array([1, 2, None, 4, None, 1], dtype="Int64")
    path = tmp_path / "c.parquet"
    # Written without pandas' metadata (as Spark, DuckDB or any other writer would), the
    # nullable integer column comes back float64.
    pq.write_table(pa.Table.from_pandas(c, preserve_index=False).replace_schema_metadata(), path)
    floats = pd.read_parquet(path)
    assert floats.customer_id.dtype == np.float64
    assert_frames_equal(card_frame(floats, ONE_ORDER), card_frame(c, ONE_ORDER))


def test_infinite_rule_thresholds_are_a_config_error():
    for bad in ("inf", "-inf", "nan"):
        with pytest.raises(sk.ConfigError, match="threshold must be a finite number"):
            sk.Config({"rules": {"x": {"when": [f"csat_mean >= {bad}"]}}})


@pytest.mark.parametrize("column", ["unit", "value", "kpi", "period_start", "band", "evidence"])
def test_group_by_an_output_column_name_is_a_config_error(column):
    c = frame_contacts(5, **{column: ["a"] * 5})
    with pytest.raises(sk.ConfigError, match=f'group_by: "{column}" is also a column'):
        sk.scorecard(c, ONE_ORDER, group_by=column)
    # The message's advice works.
    card = sk.scorecard(
        c, ONE_ORDER, group_by=f"{column}_group", columns={"contacts": {f"{column}_group": column}}
    )
    assert card.wide().shape[0] >= 1
    with pytest.raises(sk.ConfigError, match='"channel" is listed twice'):
        sk.scorecard(frame_contacts(5, channel=["a"] * 5), ONE_ORDER, group_by=["channel"] * 2)


def test_messages_people_can_act_on():
    with pytest.raises(sk.ConfigError, match="config: no such file: nope/scorecard.toml"):
        sk.scorecard(frame_contacts(5), ONE_ORDER, config="nope/scorecard.toml")
    with pytest.raises(sk.ConfigError, match=r"states\[0\]: expected the bytes sk.partial"):
        sk.merge(["str"])
    with pytest.raises(sk.ConfigError, match="states: expected a list"):
        sk.merge(b"bytes")
    nested: dict = {}
    inner = nested
    for _ in range(200):
        inner["a"] = {}
        inner = inner["a"]
    with pytest.raises(sk.ConfigError, match="nested more than 32 levels"):
        sk.Config(nested)


# --- partial states are untrusted bytes ---------------------------------------------


def test_merge_refuses_the_same_slice_twice_and_trailing_bytes():
    s = sk.load_sample()
    half = pd.util.hash_pandas_object(s["contacts"].customer_id, index=False) % 2 == 0
    ohalf = pd.util.hash_pandas_object(s["orders"].customer_id, index=False) % 2 == 0
    as_of = max(s["contacts"].created_at.max(), s["orders"].created_at.max())
    a = sk.partial(s["contacts"][half], s["orders"][ohalf], as_of=as_of)
    b = sk.partial(s["contacts"][~half], s["orders"][~ohalf], as_of=as_of)
    with pytest.raises(sk.ConfigError, match=r"states\[0\] and states\[1\] hold the same slice"):
        sk.merge([a, a])
    with pytest.raises(sk.ConfigError, match="hold the same slice"):
        sk.merge([sk.combine([a, b]), b])
    with pytest.raises(sk.ConfigError, match="2 bytes after its end"):
        sk.merge([a + b"xx"])
    # Empty slices hold no rows, so any number of them merge.
    empty = sk.partial(s["contacts"].iloc[:0], s["orders"].iloc[:0], as_of=as_of)
    whole = sk.merge([a, empty, b, empty]).to_pandas()
    pd.testing.assert_frame_equal(whole, sk.merge([a, b]).to_pandas())


def test_merge_of_group_columns_of_different_types_is_a_schema_error_either_way():
    text = frame_contacts(2, channel=["A12", "B"])
    numbers = frame_contacts(2, channel=[1.5, 2.0])
    numbers[["contact_id", "customer_id"]] += 10
    integers = numbers.assign(channel=[1, 2], contact_id=[21, 22], customer_id=[21, 22])
    as_of = "2024-02-01"
    t = sk.partial(text, ONE_ORDER, as_of=as_of, group_by="channel")
    f = sk.partial(numbers, ONE_ORDER.iloc[:0], as_of=as_of, group_by="channel")
    i = sk.partial(integers, ONE_ORDER.iloc[:0], as_of=as_of, group_by="channel")
    for pair, types in (((t, i), ("Utf8", "Int64")), ((i, f), ("Int64", "Float64"))):
        for states in (pair, pair[::-1]):
            with pytest.raises(
                sk.SchemaError, match=r"contacts\.channel: the group_by column is"
            ) as err:
                sk.merge(list(states))
            assert all(name in str(err.value) for name in types)
    # Integers of two widths merge to Int64 without loss.
    other = integers.assign(
        contact_id=[31, 32], customer_id=[31, 32], channel=np.array([3, 2], np.int32)
    )
    merged = sk.merge([i, sk.partial(other, ONE_ORDER.iloc[:0], as_of=as_of, group_by="channel")])
    assert sorted(merged.to_pandas().channel.unique().tolist()) == [1, 2, 3]


def test_mutated_states_never_crash_the_process():
    """3,000 mutations of a valid state through merge and combine, in a child process (a
    crash there is a failure here, not the end of the test run): each is merged or refused
    with a typed error, never a caught panic ("internal error")."""
    script = r"""
import json, random, supportkpi as sk
s = sk.load_sample()
c, o = s["contacts"].iloc[:3000], s["orders"].iloc[:6000]
as_of = max(c.created_at.max(), o.created_at.max())
state = sk.partial(c, o, group_by="channel", by="month", as_of=as_of)
other = sk.partial(s["contacts"].iloc[3000:3100], s["orders"].iloc[6000:6100],
                   group_by="channel", by="month", as_of=as_of)
rng = random.Random(16)
outcomes = {"ok": 0, "error": 0, "internal": 0}
for i in range(3000):
    data = bytearray(state)
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(data))
        op = rng.randrange(4)
        if op == 0: data[at] = rng.randrange(256)
        elif op == 1: data.insert(at, rng.randrange(256))
        elif op == 2: del data[at]
        else: data[at:at + 8] = b"\xff" * 8
    for run in (lambda: sk.merge([bytes(data)]), lambda: sk.combine([bytes(data), other])):
        try:
            run()
            outcomes["ok"] += 1
        except sk.SupportKpiError as error:
            outcomes["internal" if "internal error" in str(error) else "error"] += 1
print(json.dumps(outcomes))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-2000:]
    outcomes = eval(done.stdout)  # the child's own dict literal
    assert outcomes["internal"] == 0 and outcomes["error"] > 0, outcomes


GAMMA = struct.pack("<d", 1.005 / 0.995)  # the sketches' gamma (0.5% relative accuracy)


def _varint(data: bytes, at: int) -> tuple[int, int]:
    n = shift = 0
    while True:
        byte = data[at]
        at += 1
        n |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return n, at
        shift += 7


def _encode_varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _zigzag(n: int) -> int:
    return (n << 1) ^ (n >> 63)


def crafted_sketch_state(state: bytes) -> bytes:
    """The state with its first sketch's store claiming keys ±2^30 and a bin limit of
    2^62 (postcard: varints, signed ones zigzagged), bins unchanged."""
    at = state.index(GAMMA) + 24  # gamma, gamma_ln, min_value
    _, at = _varint(state, at)  # config.offset
    n_bins, at = _varint(state, at)
    for _ in range(n_bins):
        _, at = _varint(state, at)
    _, at = _varint(state, at)  # count
    start = at
    for _ in range(4):  # min_key, max_key, offset, bin_limit
        _, at = _varint(state, at)
    keys = [_zigzag(-(2**30)), _zigzag(2**30), _zigzag(-(2**30)), 2**62]
    return state[:start] + b"".join(_encode_varint(k) for k in keys) + state[at:]


def test_a_crafted_sketch_is_refused_before_the_sketch_code_sees_it():
    s = sk.load_sample()
    c, o = s["contacts"], s["orders"]
    half = pd.util.hash_pandas_object(c.customer_id, index=False) % 2 == 0
    ohalf = pd.util.hash_pandas_object(o.customer_id, index=False) % 2 == 0
    as_of = max(c.created_at.max(), o.created_at.max())
    a = sk.partial(c[half], o[ohalf], as_of=as_of, by="month")
    b = sk.partial(c[~half], o[~ohalf], as_of=as_of, by="month")
    crafted = crafted_sketch_state(b)
    assert len(crafted) != len(b)
    # Before: the sketch crate indexed out of its bins while merging (a caught panic,
    # "internal error"); with a larger key range it asked for gigabytes and aborted.
    with pytest.raises(sk.ConfigError, match=r"states\[1\]: corrupt partial state"):
        sk.merge([a, crafted])


# --- linear in groups and dimension values -----------------------------------------


def test_many_groups_are_linear_not_quadratic():
    """20,000 groups over a month took 215 s (every cell summed every group of its days);
    linear, it is under a second. The bound only catches the quadratic path."""
    n = 40_000
    start = pd.Timestamp("2024-01-01", tz="UTC")
    c = pd.DataFrame(
        {
            "contact_id": np.arange(n),
            "customer_id": np.arange(n),
            "created_at": start + pd.to_timedelta(np.arange(n) % (30 * 24), unit="h"),
            "agent": np.arange(n) % 20_000,
        }
    )
    started = time.perf_counter()
    card = sk.scorecard(c, ONE_ORDER, group_by="agent", kpis=["contacts", "volume_share"])
    # About 0.6 s here (over 180 s before).
    assert time.perf_counter() - started < 20
    totals = card.to_pandas().query("kpi == 'contacts'").groupby("agent").value.sum()
    assert len(totals) == 20_000 and (totals == 2).all()


def test_many_dimension_values_are_linear_not_quadratic():
    """160,000 distinct templates (one linear search per value) took 16.8 s."""
    n = 160_000
    start = pd.Timestamp("2024-01-01", tz="UTC")
    c = pd.DataFrame(
        {
            "contact_id": np.arange(n),
            "customer_id": np.arange(n),
            "created_at": start + pd.to_timedelta(np.arange(n) % (14 * 24), unit="h"),
            "template": [f"t{i}" for i in range(n)],
        }
    )
    started = time.perf_counter()
    sk.scorecard(c, ONE_ORDER)
    # About 0.25 s here (16.8 s before): the bound only catches the quadratic path.
    assert time.perf_counter() - started < 8


# --- output text -------------------------------------------------------------------


def test_cli_never_prints_a_traceback(tmp_path, capsys):
    c = frame_contacts(
        6,
        channel=[
            "a$\\foo$b",
            "a_$b_$",
            '=HYPERLINK("http://x")',
            "+cmd|' /C calc'!A0",
            "@SUM(A1)",
            "x\x1b[2Jy",
        ],
    )
    c_path, o_path = tmp_path / "c.parquet", tmp_path / "o.parquet"
    c.to_parquet(c_path)
    ONE_ORDER.to_parquet(o_path)
    base = [
        "scorecard",
        "--contacts",
        str(c_path),
        "--orders",
        str(o_path),
        "--group-by",
        "channel",
    ]
    pytest.importorskip("matplotlib")
    # Mathtext-like labels: the HTML report with its charts renders (it raised before).
    out = tmp_path / "r.html"
    assert cli.main([*base, "--format", "html", "--out", str(out)]) == 0
    capsys.readouterr()
    assert "a$\\foo$b" in out.read_text()
    # Formula injection: the CSV shows the values as text.
    out = tmp_path / "r.csv"
    assert cli.main([*base, "--format", "csv", "--out", str(out)]) == 0
    capsys.readouterr()
    written = pd.read_csv(out)
    channels = set(written.channel.dropna())
    assert '\'=HYPERLINK("http://x")' in channels and "'@SUM(A1)" in channels
    assert "'+cmd|' /C calc'!A0" in channels and "a$\\foo$b" in channels
    # Any failure: exit 2 and one escaped line, no traceback.
    code = cli.main([*base, "--format", "json", "--config", str(tmp_path / "missing.toml")])
    _, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    code = cli.main([*base, "--group-by", "value", "--format", "json"])
    _, err = capsys.readouterr()
    assert code == 2 and "is also a column" in err and "Traceback" not in err


def test_control_characters_from_data_are_escaped_on_terminals(capsys):
    c = frame_contacts(4, channel=["x\x1b[2Jy"] * 4)
    card = sk.scorecard(c, ONE_ORDER, group_by="channel")
    text = repr(card)
    assert "\x1b" not in text and "\\x1b[2J" in text
    assert cli._fail("scorecard", sk.DataError("row 3: x\x1b[31mred\nnext")) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and err.count("\n") == 1


def test_infinite_sums_render(tmp_path):
    """Revenue that sums past the largest float: the recovered-revenue KPIs are inf, and
    the HTML views raised OverflowError formatting them."""
    s = sk.load_sample()
    orders = s["orders"].assign(revenue=1.7e308)
    card = sk.scorecard(s["contacts"], orders, sessions=s["sessions"])
    infinite = card.to_pandas().query("value == inf")
    assert "recovered_revenue" in set(infinite.kpi)
    assert "∞" in card._repr_html_()
    repr(card)
    pytest.importorskip("matplotlib")
    card.to_html(tmp_path / "r.html")
    assert "∞" in (tmp_path / "r.html").read_text()


HTML_PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "</td></tr></table><iframe srcdoc=x>",
    "javascript:alert(1)",
    "<svg onload=alert(1)>",
]


def test_html_outputs_escape_injected_text(tmp_path):
    """Kept from the adversarial run (the HTML escaped every payload): group values, event
    names and rule text from the config, in _repr_html_ and the standalone report."""
    s = sk.load_sample()
    contacts = s["contacts"].copy()
    contacts["channel"] = [HTML_PAYLOADS[i % len(HTML_PAYLOADS)] for i in range(len(contacts))]
    events = s["events"].assign(name=HTML_PAYLOADS[0])
    config = {
        "rules": {
            "xss": {
                "when": ["contacts > 0"],
                "symptom": HTML_PAYLOADS[1],
                "action": HTML_PAYLOADS[2],
                "owner": HTML_PAYLOADS[4],
            }
        }
    }
    card = sk.scorecard(
        contacts, s["orders"], sessions=s["sessions"], events=events,
        group_by="channel", config=config,
    )  # fmt: skip
    assert len(card.diagnose().query("rule == 'xss'")) > 0
    pages = [card._repr_html_()]
    pytest.importorskip("matplotlib")
    card.to_html(tmp_path / "r.html")
    pages.append((tmp_path / "r.html").read_text())
    for page in pages:
        lowered = page.lower()
        for raw in ("<script", "<img", "<iframe", "<svg onload"):
            assert raw not in lowered, raw
        # The handlers appear only as escaped text, never inside a real tag.
        assert not re.search(r"<[a-z][^<>]*\son(error|load)\s*=", lowered)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
