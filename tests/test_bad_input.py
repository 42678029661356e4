"""Bad input never crashes or lies (issue 6): the catalogue of bad inputs, one test each.

docs/semantics.md, "Inputs and validation" and "Invalid rows": a schema problem raises
sk.SchemaError, a bad value sk.DataError naming table, column and the first offending row's
id. With on_invalid="drop" the offending rows are left out, card.row_audit accounts for
every row (rows_read = rows_used + rows_dropped, per reason "column: rule"), and the KPIs
equal those of the input with the rows removed by hand.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest
import supportkpi as sk

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
    c, o = contacts(), orders()
    if table == "contacts":
        c = setcol(c, column, pa.array([float(i) for i in range(c.num_rows)]))
    else:
        o = setcol(o, column, pa.array([float(i) for i in range(o.num_rows)]))
    for kw in ({}, {"on_invalid": "drop"}):
        with pytest.raises(sk.SchemaError) as err:
            sk.scorecard(c, o, **kw)
        assert f"{table}.{column}" in str(err.value)
        assert "Float64" in str(err.value)


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
