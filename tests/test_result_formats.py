"""Results in the formats people use (issue 22): pandas, Arrow, polars, Parquet, DuckDB.

Each format must hold the long table exactly: the same rows, columns and values as
``card.to_pandas()``, the UTC period start kept.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import supportkpi as sk
from datagen import make_tables


@pytest.fixture(scope="module")
def card():
    contacts, orders, sessions = make_tables(600, seed=22)
    return sk.scorecard(contacts, orders, sessions, by="week", group_by="channel")


def _same(frame: pd.DataFrame, card: sk.Scorecard) -> None:
    want = card.to_pandas()
    assert list(frame.columns) == list(want.columns)
    pd.testing.assert_frame_equal(
        frame.reset_index(drop=True), want, check_dtype=False, check_exact=True
    )


def test_to_arrow_and_the_capsule(card):
    table = card.to_arrow()
    assert isinstance(table, pa.Table)
    capsule = card.__arrow_c_stream__()
    assert type(capsule).__name__ == "PyCapsule"
    # any consumer of the Arrow PyCapsule stream interface gets the same table (pyarrow
    # reads one from version 15)
    if hasattr(pa.RecordBatchReader, "from_stream"):
        assert pa.RecordBatchReader.from_stream(card).read_all().equals(table)


def test_to_parquet_keeps_types_and_time_zone(card, tmp_path):
    written = card.to_parquet(tmp_path / "card.parquet")
    assert written == tmp_path / "card.parquet"
    table = pq.read_table(written)
    assert table.schema.field("period_start").type == pa.timestamp("us", tz="UTC")
    _same(table.to_pandas(), card)


def test_polars(card):
    pl = pytest.importorskip("polars")
    for frame in (card.to_polars(), pl.DataFrame(card)):
        assert isinstance(frame, pl.DataFrame)
        assert frame.height == len(card.to_pandas())
        _same(frame.to_pandas(), card)


def test_duckdb_reads_the_card_by_name(card):
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    # DuckDB's replacement scan finds the local variable `card` and reads it as an Arrow
    # stream.
    rows = con.sql("select * from card order by all").arrow()
    table = rows.read_all() if hasattr(rows, "read_all") else rows
    got = table.to_pandas().sort_values(list(table.column_names)).reset_index(drop=True)
    want = card.to_pandas()
    want = want.sort_values(list(want.columns)).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    total = con.sql("select count(*), sum(value) from card where kpi = 'contacts'").fetchall()[0]
    long = card.to_pandas()
    assert total == (len(long[long.kpi == "contacts"]), long[long.kpi == "contacts"].value.sum())


def test_to_polars_without_polars_names_the_extra(card, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_polars(name, *args, **kwargs):
        if name == "polars":
            raise ImportError("No module named 'polars'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_polars)
    with pytest.raises(ImportError, match=r"supportkpi\[polars\]"):
        card.to_polars()


def test_version_comes_from_the_package_metadata():
    from importlib.metadata import version

    assert sk.__version__ == version("supportkpi")
