"""The same tables in every accepted input form give the same scorecard.

SPEC §1: tables arrive as anything that speaks Arrow; timestamps of any unit, tz-aware
(converted to UTC) or naive (read as UTC); a `columns={"ours": "theirs"}` mapping renames
user columns. docs/semantics.md: nanoseconds are floored to microseconds; ids may be
dictionary-encoded strings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import supportkpi as sk
from datagen import make_tables
from reference_pandas import ENRICH_COLUMNS

TS_COLS = {
    "contacts": ["created_at", "first_response_at", "resolved_at"],
    "orders": ["created_at"],
}


@pytest.fixture(scope="module")
def tables():
    return make_tables(3_000, seed=11, ids="int")


@pytest.fixture(scope="module")
def str_tables():
    return make_tables(3_000, seed=12, ids="str")


@pytest.fixture(scope="module")
def baseline(tables):
    c, o, s = tables
    return sk.scorecard(c, o, sessions=s, by="week").to_pandas()


def _arrow(df: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(df, preserve_index=False)


def _card(contacts, orders, sessions, **kw) -> pd.DataFrame:
    return sk.scorecard(contacts, orders, sessions=sessions, by="week", **kw).to_pandas()


def _normalise(df: pd.DataFrame, group_cols=()) -> pd.DataFrame:
    """Group columns as plain strings (their dtype follows the input's type)."""
    out = df.copy()
    for g in group_cols:
        out[g] = pd.Series(
            [None if pd.isna(v) else str(v) for v in out[g]],
            dtype=object,
            index=out.index,
        )
    return out


def assert_same(got: pd.DataFrame, expected: pd.DataFrame, group_cols=()) -> None:
    pd.testing.assert_frame_equal(
        _normalise(got, group_cols).reset_index(drop=True),
        _normalise(expected, group_cols).reset_index(drop=True),
        check_exact=False,
        rtol=1e-12,
        atol=1e-12,
    )


# --------------------------------------------------------------------------------------
# containers
# --------------------------------------------------------------------------------------
def test_pyarrow_table(tables, baseline):
    c, o, s = tables
    assert_same(_card(_arrow(c), _arrow(o), _arrow(s)), baseline)


def test_record_batch_reader(tables, baseline):
    def reader(df):
        t = _arrow(df)
        return pa.RecordBatchReader.from_batches(t.schema, t.to_batches(max_chunksize=500))

    c, o, s = tables
    assert_same(_card(reader(c), reader(o), reader(s)), baseline)


def test_many_small_chunks(tables, baseline):
    def chunked(df):
        t = _arrow(df)
        return pa.Table.from_batches(t.to_batches(max_chunksize=7), schema=t.schema)

    c, o, s = tables
    cc = chunked(c)
    assert cc.column("created_at").num_chunks > 100
    assert_same(_card(cc, chunked(o), chunked(s)), baseline)


def test_arrow_c_stream_object(tables, baseline):
    class StreamOnly:
        """Exposes nothing but the Arrow PyCapsule stream interface."""

        def __init__(self, table: pa.Table) -> None:
            self._table = table

        def __arrow_c_stream__(self, requested_schema=None):
            return self._table.__arrow_c_stream__(requested_schema)

    c, o, s = tables
    got = _card(StreamOnly(_arrow(c)), StreamOnly(_arrow(o)), StreamOnly(_arrow(s)))
    assert_same(got, baseline)


def test_polars(tables, baseline):
    pl = pytest.importorskip("polars")
    c, o, s = tables
    assert_same(_card(pl.from_pandas(c), pl.from_pandas(o), pl.from_pandas(s)), baseline)


def test_polars_categorical_group(tables):
    pl = pytest.importorskip("polars")
    c, o, s = tables
    expected = _card(c, o, s, group_by=["channel"])
    pc_ = pl.from_pandas(c).with_columns(pl.col("channel").cast(pl.Categorical))
    got = _card(pc_, pl.from_pandas(o), pl.from_pandas(s), group_by=["channel"])
    assert_same(got, expected, ["channel"])


def test_duckdb_relation(tables, baseline):
    duckdb = pytest.importorskip("duckdb")
    c, o, s = tables
    con = duckdb.connect()
    try:
        con.register("orders_tbl", _arrow(o))
        rel_c = con.from_arrow(_arrow(c))
        rel_o = con.sql("select * from orders_tbl")  # a query over a registered Arrow table
        rel_s = con.from_arrow(_arrow(s))
        assert_same(_card(rel_c, rel_o, rel_s), baseline)
    finally:
        con.close()


# --------------------------------------------------------------------------------------
# column types
# --------------------------------------------------------------------------------------
def _map_columns(table: pa.Table, names, fn) -> pa.Table:
    for name in names:
        i = table.schema.get_field_index(name)
        table = table.set_column(i, name, fn(table.column(name)))
    return table


def test_dictionary_encoded_strings(str_tables):
    c, o, s = str_tables
    expected = _card(c, o, s, group_by=["channel"])
    ct = _map_columns(_arrow(c), ["channel", "intent", "customer_id"], pc.dictionary_encode)
    ot = _map_columns(_arrow(o), ["customer_id"], pc.dictionary_encode)
    assert pa.types.is_dictionary(ct.schema.field("customer_id").type)
    got = _card(ct, ot, _arrow(s), group_by=["channel"])
    assert_same(got, expected, ["channel"])


# string_view came with pyarrow 16; the floor (14) has no such type to pass in.
STRING_TYPES = [pa.large_string(), pa.string()] + (
    [pa.string_view()] if hasattr(pa, "string_view") else []
)


@pytest.mark.parametrize("string_type", STRING_TYPES)
def test_string_flavours(str_tables, string_type):
    c, o, s = str_tables
    expected = _card(c, o, s)

    def cast(table: pa.Table) -> pa.Table:
        names = [f.name for f in table.schema if pa.types.is_string(f.type)]
        names += [f.name for f in table.schema if pa.types.is_large_string(f.type)]
        return _map_columns(table, names, lambda col: col.cast(string_type))

    assert_same(_card(cast(_arrow(c)), cast(_arrow(o)), cast(_arrow(s))), expected)


def _whole_seconds(tables):
    c, o, s = tables
    c, o = c.copy(), o.copy()
    for col in TS_COLS["contacts"]:
        c[col] = c[col].dt.floor("s")
    o["created_at"] = o["created_at"].dt.floor("s")
    return c, o, s


def _cast_ts(table: pa.Table, names, unit: str, tz: str | None) -> pa.Table:
    return _map_columns(table, names, lambda col: col.cast(pa.timestamp(unit, tz=tz)))


@pytest.mark.parametrize("tz", ["UTC", None], ids=["aware", "naive"])
@pytest.mark.parametrize("unit", ["ns", "us", "ms", "s"])
def test_timestamp_units_and_naive(tables, unit, tz):
    c, o, s = _whole_seconds(tables)
    expected = _card(c, o, s)
    ct = _cast_ts(_arrow(c), TS_COLS["contacts"], unit, tz)
    ot = _cast_ts(_arrow(o), TS_COLS["orders"], unit, tz)
    assert ct.schema.field("created_at").type == pa.timestamp(unit, tz=tz)
    assert_same(_card(ct, ot, _arrow(s)), expected)


def test_nanoseconds_are_floored(tables, baseline):
    c, o, s = tables
    c, o = c.copy(), o.copy()
    extra = pd.Timedelta(999, unit="ns")
    for col in TS_COLS["contacts"]:
        c[col] = c[col].astype("datetime64[ns, UTC]") + extra
    o["created_at"] = o["created_at"].astype("datetime64[ns, UTC]") + extra
    ct = _arrow(c)
    assert ct.schema.field("created_at").type == pa.timestamp("ns", tz="UTC")
    assert_same(_card(ct, _arrow(o), _arrow(s)), baseline)


def test_naive_pandas_is_utc(tables, baseline):
    c, o, s = tables
    c, o = c.copy(), o.copy()
    for col in TS_COLS["contacts"]:
        c[col] = c[col].dt.tz_localize(None)
    o["created_at"] = o["created_at"].dt.tz_localize(None)
    assert_same(_card(c, o, s), baseline)


@pytest.mark.parametrize("card_tz", ["UTC", "Europe/Berlin"])
def test_non_utc_zone_input(tables, card_tz):
    """Europe/Berlin instants are the same instants: same result as the UTC input."""
    c, o, s = tables
    expected = _card(c, o, s, tz=card_tz)
    cb, ob = c.copy(), o.copy()
    for col in TS_COLS["contacts"]:
        cb[col] = cb[col].dt.tz_convert("Europe/Berlin")
    ob["created_at"] = ob["created_at"].dt.tz_convert("Europe/Berlin")
    assert_same(_card(cb, ob, s, tz=card_tz), expected)
    # and through Arrow with a non-UTC zone in the type
    ct = _cast_ts(_arrow(c), TS_COLS["contacts"], "us", "Asia/Kolkata")
    ot = _cast_ts(_arrow(o), TS_COLS["orders"], "us", "Asia/Kolkata")
    assert_same(_card(ct, ot, _arrow(s), tz=card_tz), expected)


# --------------------------------------------------------------------------------------
# column renaming
# --------------------------------------------------------------------------------------
ZENDESK = {
    "contact_id": "ticket_id",
    "customer_id": "requester_id",
    "created_at": "created",
    "channel": "via",
    "intent": "ticket_type",
    "handled_by": "first_line",
    "escalated": "was_escalated",
    "first_response_at": "first_reply_at",
    "resolved_at": "solved_at",
    "handle_seconds": "agent_work_time",
    "touches": "replies",
    "csat": "satisfaction_score",
    "order_id": "order_number",
    "revenue": "total_price",
}


def test_columns_renaming(tables, baseline):
    """A Zendesk/Shopify-like export: the mapping applies to every table, so the shared
    names (requester_id, created) are renamed in contacts and orders alike."""
    c, o, s = tables
    theirs_c = c.rename(columns={k: v for k, v in ZENDESK.items() if k in c.columns})
    theirs_o = o.rename(columns={k: v for k, v in ZENDESK.items() if k in o.columns})
    assert "ticket_id" in theirs_c and "requester_id" in theirs_o and "created" in theirs_o
    got = sk.scorecard(theirs_c, theirs_o, sessions=s, by="week", columns=ZENDESK).to_pandas()
    assert_same(got, baseline)


def test_columns_renaming_enrich(tables):
    c, o, _ = tables
    theirs_c = c.rename(columns={k: v for k, v in ZENDESK.items() if k in c.columns})
    theirs_o = o.rename(columns={k: v for k, v in ZENDESK.items() if k in o.columns})
    expected = sk.enrich_contacts(c, o)
    got = sk.enrich_contacts(theirs_c, theirs_o, columns=ZENDESK)
    added = ENRICH_COLUMNS
    pd.testing.assert_frame_equal(
        got[added].reset_index(drop=True), expected[added].reset_index(drop=True)
    )
    # the contact's own columns come back under our names (docs: "after renaming")
    assert "contact_id" in got.columns and "ticket_id" not in got.columns
    assert np.array_equal(got["contact_id"].to_numpy(), c["contact_id"].to_numpy())
