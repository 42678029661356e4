"""Contacts and orders given as Parquet paths are read by the engine one column at a time.

docs/semantics.md ("Files"): a Parquet path (or ``sk.scan_parquet``) gives the same
results as the same data passed as a table; only the columns the work uses are read; text
columns other than ids are read as dictionaries; a view grouping by a column reads it again,
and a file changed in between is an error. CSV paths are read whole.
"""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import supportkpi as sk
from datagen import make_tables
from reference_pandas import ENRICH_COLUMNS
from supportkpi import _supportkpi as native
from test_input_formats import ZENDESK, assert_same


@pytest.fixture(scope="module")
def frames():
    return make_tables(4_000, seed=21, ids="str")


@pytest.fixture(scope="module")
def files(frames, tmp_path_factory):
    """The frames as Parquet files, in several row groups (the engine reads them chunked)."""
    folder = tmp_path_factory.mktemp("parquet")
    paths = {}
    for name, frame in zip(("contacts", "orders", "sessions"), frames):
        paths[name] = folder / f"{name}.parquet"
        pq.write_table(
            pa.Table.from_pandas(frame, preserve_index=False), paths[name], row_group_size=700
        )
    return paths


def _views(contacts, orders, sessions, **kw):
    data = sk.prepare(contacts, orders, sessions, **kw)
    return (
        data.scorecard(by="week").to_pandas(),
        data.scorecard(by="month", tz="Europe/Berlin", group_by=["channel", "intent"]).to_pandas(),
        data.enrich(),
        data,
    )


def test_parquet_paths_give_the_same_scorecard_and_enrich(frames, files):
    c, o, s = frames
    want_week, want_grouped, want_enriched, _ = _views(c, o, s)
    got_week, got_grouped, got_enriched, data = _views(
        files["contacts"], str(files["orders"]), files["sessions"]
    )
    assert isinstance(data._tables["contacts"], sk.ParquetColumns)
    assert_same(got_week, want_week)
    assert_same(got_grouped, want_grouped, group_cols=("channel", "intent"))
    pd.testing.assert_frame_equal(
        got_enriched[ENRICH_COLUMNS].reset_index(drop=True),
        want_enriched[ENRICH_COLUMNS].reset_index(drop=True),
    )
    # The contact's own columns come back from the file, text as plain text.
    assert list(got_enriched["contact_id"]) == list(c["contact_id"])
    assert list(got_enriched["intent"].astype(object)) == list(c["intent"].astype(object))


def test_text_ids_are_read_plain_and_other_text_as_dictionaries(files):
    contacts = sk.ParquetColumns(files["contacts"], "contacts")
    contacts.keep_plain(["contact_id", "customer_id"])
    assert contacts.schema.field("contact_id").type == pa.string()
    assert pa.types.is_dictionary(contacts.schema.field("channel").type)
    assert pa.types.is_dictionary(contacts.read_column("channel").column(0).type)
    assert contacts.read_column("contact_id").column(0).type == pa.string()
    assert contacts.num_rows == 4_000


def test_drop_mode_from_files(frames, files, tmp_path):
    """Dropped rows leave the engine's columns, but group keys and enrich rows are read from
    the file by input row: the results match the table input's."""
    c, o, s = frames
    bad = c.copy()
    bad.loc[[3, 50, 51], "csat"] = 99.0
    path = tmp_path / "bad_contacts.parquet"
    pq.write_table(pa.Table.from_pandas(bad, preserve_index=False), path, row_group_size=500)
    want = _views(bad, o, s, on_invalid="drop")
    got = _views(path, files["orders"], s, on_invalid="drop")
    assert_same(got[0], want[0])
    assert_same(got[1], want[1], group_cols=("channel", "intent"))
    pd.testing.assert_frame_equal(
        got[2][[*ENRICH_COLUMNS, "dropped_reason"]].reset_index(drop=True),
        want[2][[*ENRICH_COLUMNS, "dropped_reason"]].reset_index(drop=True),
    )
    assert got[2]["dropped_reason"].notna().sum() == 3


def test_scan_parquet_projects_columns(frames, files):
    """Columns left out of the scan are not inputs: KPIs needing them are skipped, exactly as
    for a table without them."""
    c, o, s = frames
    kept = ["contact_id", "customer_id", "created_at", "channel", "intent", "resolved_at"]
    want = sk.scorecard(c[kept], o, by="week")
    got = sk.scorecard(sk.scan_parquet(files["contacts"], columns=kept), files["orders"])
    assert_same(got.to_pandas(), want.to_pandas())
    assert "csat_mean" not in got.kpis and "csat_mean" in sk.scorecard(c, o).kpis
    with pytest.raises(sk.SchemaError, match=r"contacts.parquet: \['nope'\] not among"):
        sk.scan_parquet(files["contacts"], columns=["contact_id", "nope"])


def test_renamed_columns_from_files(frames, tmp_path):
    c, o, _ = frames
    theirs = {}
    for name, frame in (("contacts", c), ("orders", o)):
        renamed = frame.rename(columns={k: v for k, v in ZENDESK.items() if k in frame.columns})
        theirs[name] = tmp_path / f"{name}.parquet"
        pq.write_table(pa.Table.from_pandas(renamed, preserve_index=False), theirs[name])
    want = sk.scorecard(c, o, group_by="channel")
    got = sk.scorecard(theirs["contacts"], theirs["orders"], columns=ZENDESK, group_by="channel")
    assert_same(got.to_pandas(), want.to_pandas(), group_cols=("channel",))
    # The renamed text ids are read plain, not as dictionaries.
    source = sk.prepare(theirs["contacts"], theirs["orders"], columns=ZENDESK)._tables["contacts"]
    assert source.schema.field(ZENDESK["contact_id"]).type == pa.string()


def test_enrich_contact_columns(frames, files):
    c, o, _ = frames
    from_file = sk.prepare(files["contacts"], files["orders"])
    from_frame = sk.prepare(c, o)
    for data in (from_file, from_frame):
        arrow = data.enrich(output="arrow", contact_columns=["contact_id"])
        assert arrow.column_names[0] == "contact_id"
        assert set(arrow.column_names) == {"contact_id", *ENRICH_COLUMNS}
        frame = data.enrich(contact_columns=["contact_id", "channel"])
        assert list(frame.columns[:2]) == ["contact_id", "channel"]
        assert list(frame["contact_id"]) == list(c["contact_id"])
        with pytest.raises(sk.ConfigError, match=r"contact_columns: \['nope'\]"):
            data.enrich(contact_columns=["nope"])
    one_shot = sk.enrich_contacts(files["contacts"], files["orders"], contact_columns=[])
    assert list(one_shot.columns) == ENRICH_COLUMNS


def test_a_file_changed_under_a_prepared_view_is_an_error(frames, tmp_path):
    c, o, _ = frames
    path = tmp_path / "contacts.parquet"
    pq.write_table(pa.Table.from_pandas(c, preserve_index=False), path)
    data = sk.prepare(path, o)
    pq.write_table(pa.Table.from_pandas(c.iloc[:10], preserve_index=False), path)
    with pytest.raises(
        sk.SupportKpiError, match=r"contacts.*\"channel\".*changed after it was opened"
    ):
        data.scorecard(group_by="channel")


def test_errors_name_the_table_column_and_row(frames, tmp_path):
    c, o, _ = frames
    dup = c.copy()
    dup.loc[7, "contact_id"] = dup.loc[2, "contact_id"]
    path = tmp_path / "contacts.parquet"
    pq.write_table(pa.Table.from_pandas(dup, preserve_index=False), path, row_group_size=3)
    with pytest.raises(sk.DataError, match=r"contacts\.contact_id: duplicate id.*row 7"):
        sk.scorecard(path, o)
    with pytest.raises(FileNotFoundError, match="orders: no such file"):
        sk.scorecard(path, tmp_path / "missing.parquet")
    (tmp_path / "junk.parquet").write_bytes(b"not parquet")
    with pytest.raises(sk.SchemaError, match="orders: cannot read .*junk.parquet as Parquet"):
        sk.scorecard(path, tmp_path / "junk.parquet")
    (tmp_path / "orders.json").write_text("{}")
    with pytest.raises(sk.SchemaError, match="cannot tell the format of 'orders.json'"):
        sk.scorecard(path, tmp_path / "orders.json")


def test_csv_and_parquet_directory_paths(frames, tmp_path):
    c, o, _ = frames
    want = sk.scorecard(c, o).to_pandas()
    folder = tmp_path / "orders"
    folder.mkdir()
    half = len(o) // 2
    for i, part in enumerate((o.iloc[:half], o.iloc[half:])):
        pq.write_table(pa.Table.from_pandas(part, preserve_index=False), folder / f"{i}.parquet")
    contacts_csv = tmp_path / "contacts.csv"
    c.to_csv(contacts_csv, index=False)
    got = sk.scorecard(contacts_csv, folder).to_pandas()
    # CSV round-trips timestamps and numbers exactly here; only the group-free card compared.
    assert_same(got, want)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_file_input_keeps_peak_memory_below_the_table_input(tmp_path):
    """The point of reading on demand: the file's columns never sit in memory beside the
    engine's. Measured in fresh processes on 300k contacts (peak RSS, VmHWM: ru_maxrss would
    carry over the forking pytest process's peak)."""
    c, o, _ = make_tables(300_000, seed=5, ids="int")
    paths = {}
    for name, frame in (("contacts", c), ("orders", o)):
        paths[name] = tmp_path / f"{name}.parquet"
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), paths[name])
    script = (
        "import sys, pyarrow.parquet as pq, supportkpi as sk\n"
        "c, o = sys.argv[2], sys.argv[3]\n"
        "if sys.argv[1] == 'table':\n"
        "    c, o = pq.read_table(c), pq.read_table(o)\n"
        "data = sk.prepare(c, o)\n"
        "data.scorecard(by='week')\n"
        "print(next(l.split()[1] for l in open('/proc/self/status') if 'VmHWM' in l))\n"
    )
    peak = {}
    for mode in ("table", "file"):
        out = subprocess.run(
            [sys.executable, "-c", script, mode, str(paths["contacts"]), str(paths["orders"])],
            check=True,
            capture_output=True,
            text=True,
        )
        peak[mode] = int(out.stdout.strip())
    assert peak["file"] < peak["table"], peak


@pytest.fixture
def pyarrow_reads(monkeypatch):
    """The columns read through ParquetColumns.read_column (pyarrow) rather than decoded
    by the engine itself."""
    names: list[str] = []
    original = sk.ParquetColumns.read_column

    def counting(self, column):
        names.append(column)
        return original(self, column)

    monkeypatch.setattr(sk.ParquetColumns, "read_column", counting)
    return names


@pytest.mark.parametrize(
    "compression, engine_reads",
    [("snappy", True), ("zstd", True), ("lz4", True), ("none", True), ("gzip", False)],
)
def test_the_engine_decodes_parquet_itself_or_falls_back_to_pyarrow(
    frames, tmp_path, pyarrow_reads, compression, engine_reads
):
    # Issue 21: Parquet paths are decoded in the engine's pool (snappy, zstd, lz4 or none);
    # another codec is read through pyarrow, with the same results either way.
    c, o, s = frames
    paths = {}
    for name, frame in (("contacts", c), ("orders", o)):
        paths[name] = tmp_path / f"{name}.parquet"
        table = pa.Table.from_pandas(frame, preserve_index=False)
        pq.write_table(table, paths[name], row_group_size=900, compression=compression)
    want_week, want_grouped, want_enriched, _ = _views(c, o, s)
    got_week, got_grouped, got_enriched, _ = _views(paths["contacts"], paths["orders"], s)
    assert_same(got_week, want_week)
    assert_same(got_grouped, want_grouped, group_cols=("channel", "intent"))
    pd.testing.assert_frame_equal(
        got_enriched[ENRICH_COLUMNS].reset_index(drop=True),
        want_enriched[ENRICH_COLUMNS].reset_index(drop=True),
    )
    if engine_reads:
        assert pyarrow_reads == []
    else:
        assert {"contact_id", "customer_id", "created_at", "channel"} <= set(pyarrow_reads)


def test_engine_decoded_types_match_the_schema(frames, tmp_path, pyarrow_reads):
    # Large text, a directory of files with their own row groups, timestamps in another
    # unit and zone, small integers: each column comes back as ParquetColumns.schema says
    # (or, where the engine cannot give that type, through pyarrow), with the same card.
    c, o, s = frames
    contacts = pa.Table.from_pandas(c, preserve_index=False)
    contacts = contacts.set_column(
        contacts.schema.get_field_index("channel"),
        "channel",
        contacts["channel"].cast(pa.large_string()),
    )
    contacts = contacts.set_column(
        contacts.schema.get_field_index("created_at"),
        "created_at",
        contacts["created_at"].cast(pa.timestamp("ns", tz="Europe/Berlin")),
    )
    folder = tmp_path / "contacts"
    folder.mkdir()
    half = contacts.num_rows // 2
    pq.write_table(contacts.slice(0, half), folder / "0.parquet", row_group_size=500)
    pq.write_table(contacts.slice(half), folder / "1.parquet", row_group_size=300)
    orders = pa.Table.from_pandas(o, preserve_index=False)
    orders_path = tmp_path / "orders.parquet"
    pq.write_table(orders, orders_path, compression="zstd")
    want = sk.prepare(contacts, orders, s)
    got = sk.prepare(folder, orders_path, s)
    for view in ({"by": "week"}, {"by": "month", "group_by": ["channel", "handled_by"]}):
        assert_same(
            got.scorecard(**view).to_pandas(),
            want.scorecard(**view).to_pandas(),
            group_cols=tuple(view.get("group_by", ())),
        )
    pd.testing.assert_frame_equal(
        got.enrich()[ENRICH_COLUMNS].reset_index(drop=True),
        want.enrich()[ENRICH_COLUMNS].reset_index(drop=True),
    )


@pytest.mark.parametrize("compression, engine_reads", [("snappy", True), ("gzip", False)])
def test_contacts_own_columns_are_decoded_in_the_engine_or_by_pyarrow(
    frames, tmp_path, monkeypatch, compression, engine_reads
):
    # The contacts' own columns that enrich returns beside the results are decoded in the
    # engine's pool too (snappy); another codec is read through pyarrow. Either way they are
    # what pyarrow reads from the file: same types, values and schema metadata.
    c, _, _ = frames
    path = tmp_path / "contacts.parquet"
    table = pa.Table.from_pandas(c, preserve_index=False)
    pq.write_table(table, path, row_group_size=700, compression=compression)
    decoded: list[bool] = []
    original = native.read_parquet_table

    def counting(files, schema):
        got = original(files, schema)
        decoded.append(got is not None)
        return got

    monkeypatch.setattr(native, "read_parquet_table", counting)
    source = sk.scan_parquet(path)
    for columns in (["contact_id", "created_at", "channel", "csat"], None):
        got = source.read(columns)
        want = pq.read_table(path, columns=columns)
        assert got.equals(want), columns
        assert got.schema.metadata == want.schema.metadata
        assert got.num_rows == len(c)
    assert decoded == [engine_reads, engine_reads]
