"""Turning whatever the user passes into a pyarrow Table, without copying Arrow data.

pandas frames are converted once (they are not Arrow); pyarrow, polars, DuckDB and any other
object that speaks the Arrow PyCapsule interface (``__arrow_c_stream__``) are imported
zero-copy. A path names a Parquet or CSV file; contacts and orders in Parquet are read one
column at a time by the engine (:class:`ParquetColumns`).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from . import _supportkpi as _native
from ._supportkpi import ConfigError, SchemaError

TABLES = ("contacts", "orders", "sessions", "events")
#: Our id columns: text ids stay plain text when a Parquet file is read (a dictionary of
#: millions of distinct ids would only cost time).
ID_COLUMNS = ("contact_id", "customer_id", "order_id")
PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.zst", ".tsv", ".txt")


class ParquetColumns:
    """A Parquet file (or a directory of Parquet files) read one column at a time.

    ``sk.prepare("contacts.parquet", "orders.parquet")`` hands the engine this instead of a
    table: the engine reads only the columns the work uses, each when it needs it, and keeps
    its own compact copy, so the file's Arrow data never sits in memory whole beside the
    engine's. Text columns other than ids are read as dictionaries (each distinct value is
    then coded once). A view grouping by a column reads that column again, so the file must
    not change while a ``Prepared`` made from it is in use (a changed row count is an error).

    Example:
        >>> import pathlib, tempfile, pyarrow as pa, pyarrow.parquet as pq
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = pathlib.Path(tmp) / "orders.parquet"
        ...     pq.write_table(pa.table({"order_id": [1, 2], "channel": ["web", "app"]}), path)
        ...     orders = ParquetColumns(path, "orders")
        ...     column = orders.read_column("channel").column(0)
        >>> orders.num_rows, str(column.type)
        (2, 'dictionary<values=string, indices=int32, ordered=0>')
    """

    def __init__(
        self, path: str | os.PathLike[str], name: str, columns: Sequence[str] | None = None
    ) -> None:
        import pyarrow.dataset as ds

        self.path = Path(path)
        self.name = name
        try:
            plain = ds.dataset(self.path, format="parquet")
        except (pa.ArrowException, OSError) as error:
            raise SchemaError(f"{name}: cannot read {self.path} as Parquet: {error}") from error
        self._plain = plain
        names = plain.schema.names
        if columns is not None:
            missing = [c for c in columns if c not in names]
            if missing:
                raise SchemaError(f"{name}: {missing} not among the file's columns {names}")
            names = list(dict.fromkeys(columns))
        # The columns the engine sees (a projection, as a lazy scan's select).
        self._names = names
        self._text = {
            name
            for name in names
            if pa.types.is_string(plain.schema.field(name).type)
            or pa.types.is_large_string(plain.schema.field(name).type)
        }
        self._plain_text: set[str] = set()
        options = ds.ParquetReadOptions(dictionary_columns=sorted(self._text))
        self._coded = ds.dataset(self.path, format=ds.ParquetFileFormat(read_options=options))
        self.num_rows: int = plain.count_rows()
        self._stamp = self._file_stamp()

    def _file_stamp(self) -> list[tuple[str, int, int]]:
        stats = [(f, os.stat(f)) for f in self._plain.files]
        return [(f, st.st_size, st.st_mtime_ns) for f, st in stats]

    @property
    def parquet_files(self) -> list[str]:
        """The files, in row order. The engine decodes the columns of these itself, in its
        own thread pool (row groups in parallel); a column it cannot give exactly as
        :attr:`schema` says (another compression codec, another Arrow type) it reads
        through :meth:`read_column` instead."""
        return list(self._plain.files)

    def check_unchanged(self) -> None:
        """Raises ``SchemaError`` if a file changed since it was opened."""
        # The engine reads a column again for a later view; a rewritten file would no
        # longer line up with the rows it already holds.
        try:
            unchanged = self._file_stamp() == self._stamp
        except OSError:
            unchanged = False
        if not unchanged:
            raise SchemaError(
                f"{self.name}: {self.path} changed after it was opened; prepare the data again"
            )

    def keep_plain(self, columns: Collection[str]) -> None:
        """Reads these text columns (the user's names of the ids) as plain text."""
        self._plain_text = set(columns) & self._text

    def _dataset_of(self, column: str) -> Any:
        coded = column in self._text and column not in self._plain_text
        return self._coded if coded else self._plain

    @property
    def schema(self) -> pa.Schema:
        """The columns as :meth:`read_column` returns them."""
        return pa.schema([self._dataset_of(name).schema.field(name) for name in self._names])

    def read_column(self, column: str) -> pa.Table:
        """One column, as a one-column table (pyarrow releases the GIL while it reads)."""
        self.check_unchanged()
        table: pa.Table = self._dataset_of(column).to_table(columns=[column])
        return table

    def read(self, columns: Sequence[str] | None = None) -> pa.Table:
        """Whole columns (all those in view by default) as one table, text as plain text."""
        self.check_unchanged()
        names = self._names if columns is None else list(columns)
        whole = self._plain.schema
        # Decoded in the engine's own pool, as the engine reads its columns; a column it
        # cannot give as the schema says (another codec or type) is read by pyarrow.
        if names and all(name in whole.names for name in names):
            schema = pa.schema([whole.field(name) for name in names], metadata=whole.metadata)
            decoded = _native.read_parquet_table(self.parquet_files, schema)
            if decoded is not None:
                return decoded
        table: pa.Table = self._plain.to_table(columns=names)
        return table


def scan_parquet(
    path: str | os.PathLike[str], columns: Sequence[str] | None = None
) -> ParquetColumns:
    """A Parquet file (or directory of files) for contacts or orders, read on demand.

    Passing a path to ``sk.prepare`` does the same; ``scan_parquet`` also limits which
    columns the engine may use (as ``polars.scan_parquet(...).select(...)`` would), e.g. to
    leave out optional inputs such as ``nps``. Only the columns the work needs are read,
    one at a time, so the file's data never sits in memory whole.

    Example:
        >>> import pathlib, tempfile, supportkpi as sk
        >>> s = sk.load_sample()
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     for name in ("contacts", "orders"):
        ...         s[name].to_parquet(pathlib.Path(tmp) / f"{name}.parquet")
        ...     contacts = sk.scan_parquet(pathlib.Path(tmp) / "contacts.parquet",
        ...         columns=["contact_id", "customer_id", "created_at", "channel"])
        ...     card = sk.scorecard(contacts, pathlib.Path(tmp) / "orders.parquet")
        >>> card.to_pandas().query("kpi == 'contacts'").value.sum() == len(s["contacts"])
        True
    """
    return ParquetColumns(path, Path(path).name, columns)


def read_path(
    path: str | os.PathLike[str],
    name: str,
    on_demand: bool,
    text_columns: Collection[str] = ID_COLUMNS,
) -> Any:
    """A table from a Parquet or CSV file (the format from the suffix; a directory is read
    as Parquet). With ``on_demand``, Parquet comes back as :class:`ParquetColumns`.

    CSV: a header row; types are inferred by Arrow (ISO timestamps with an offset become
    tz-aware timestamps, ``true``/``false`` booleans), and empty cells are null, also in
    text columns. ``text_columns`` (the id columns, by default) are read as text: an id
    such as ``007`` is not the number 7, and reading it as one would merge customers.
    """
    import pyarrow.csv as pcsv

    file = Path(path)
    lower = file.name.lower()
    if not file.exists():
        raise FileNotFoundError(f"{name}: no such file: {file}")
    if file.is_dir() or lower.endswith(PARQUET_SUFFIXES):
        source = ParquetColumns(file, name)
        return source if on_demand else source.read()
    if lower.endswith(CSV_SUFFIXES):
        delimiter = "\t" if lower.endswith(".tsv") else ","
        try:
            return _canonical_integer_ids(
                pcsv.read_csv(
                    file,
                    parse_options=pcsv.ParseOptions(delimiter=delimiter),
                    convert_options=pcsv.ConvertOptions(
                        strings_can_be_null=True,
                        column_types={column: pa.string() for column in text_columns},
                    ),
                ),
                text_columns,
            )
        except pa.ArrowException as error:
            raise SchemaError(f"{name}: cannot read {file} as CSV: {error}") from error
    raise SchemaError(
        f"{name}: cannot tell the format of {file.name!r}: expected a .parquet or .csv file"
    )


#: An integer written the one way an integer column would write it back.
_CANONICAL_INTEGER = r"^-?(0|[1-9][0-9]*)$"


def _canonical_integer_ids(table: pa.Table, text_columns: Collection[str]) -> pa.Table:
    """Id columns read from CSV as text become integers when every value is an integer
    written canonically (no leading zero or sign, within int64), so they join with integer
    ids of other files; one id such as ``007`` keeps the whole column text (``007`` and
    ``7`` are then two customers, as they are two strings)."""
    import pyarrow.compute as pc

    for column in text_columns:
        if column not in table.column_names:
            continue
        values = table.column(column)
        present = values.drop_null()
        if (
            len(present) == 0
            or not pc.all(pc.match_substring_regex(present, _CANONICAL_INTEGER)).as_py()
        ):
            continue
        try:
            as_integers = pc.cast(values, pa.int64())
        except pa.ArrowInvalid:  # beyond int64: stays text
            continue
        table = table.set_column(table.column_names.index(column), column, as_integers)
    return table


def _from_stream(obj: Any) -> pa.Table:
    reader_cls = pa.RecordBatchReader
    if hasattr(reader_cls, "from_stream"):  # pyarrow >= 15
        return reader_cls.from_stream(obj).read_all()
    # pyarrow 14 has only the private importer, and no string_view type: a producer with
    # its own pyarrow export (polars' to_arrow, which writes large strings) goes that way.
    to_arrow = getattr(obj, "to_arrow", None)
    if callable(to_arrow):
        exported = to_arrow()
        if isinstance(exported, pa.Table):
            return exported
    # Producers disagree on the optional schema argument: polars 1.3 requires it, DuckDB
    # 1.1 refuses it.
    try:
        capsule = obj.__arrow_c_stream__()
    except TypeError:
        capsule = obj.__arrow_c_stream__(None)
    return reader_cls._import_from_c_capsule(capsule).read_all()


def as_arrow_table(obj: Any, name: str, text_columns: Collection[str] = ID_COLUMNS) -> pa.Table:
    """Reads a pandas/polars/pyarrow/DuckDB table (or any ``__arrow_c_stream__`` object),
    or a Parquet or CSV file named by a path (``text_columns``: see :func:`read_path`)."""
    if isinstance(obj, (str, os.PathLike)):
        table: pa.Table = read_path(obj, name, on_demand=False, text_columns=text_columns)
        return table
    if isinstance(obj, pa.Table):
        return obj
    if isinstance(obj, pa.RecordBatch):
        return pa.Table.from_batches([obj])
    if isinstance(obj, pa.RecordBatchReader):
        read: pa.Table = obj.read_all()
        if read.num_rows == 0:
            # A reader is read once: a second use yields nothing, which would pass for an
            # empty table and give a card of zeros.
            raise ConfigError(
                f"{name}: the RecordBatchReader gave no rows; a reader can be read only once "
                "(was it read already?). Pass a pyarrow Table to use the data again"
            )
        return read
    if isinstance(obj, pd.DataFrame):
        duplicated = sorted({str(c) for c in obj.columns[obj.columns.duplicated()]})
        if duplicated:
            raise SchemaError(
                f"{name}: the frame has more than one column named {', '.join(duplicated)}; "
                "rename or drop the copies"
            )
        try:
            return pa.Table.from_pandas(obj, preserve_index=False)
        except (
            pa.ArrowInvalid,
            pa.ArrowTypeError,
            pa.ArrowNotImplementedError,
            ValueError,
        ) as error:
            raise SchemaError(f"{name}: cannot read the pandas frame as Arrow: {error}") from error
    if hasattr(obj, "__arrow_c_stream__"):
        return _from_stream(obj)
    if hasattr(obj, "to_arrow"):  # older polars / duckdb objects
        return as_arrow_table(obj.to_arrow(), name)
    if hasattr(obj, "arrow"):  # DuckDB relations before the PyCapsule interface
        return as_arrow_table(obj.arrow(), name)
    raise TypeError(
        f"{name}: expected a pandas or polars DataFrame, a pyarrow Table or RecordBatchReader, "
        f"an object with __arrow_c_stream__, or a path to a Parquet or CSV file; "
        f"got {type(obj).__name__}"
    )


def as_table_source(
    obj: Any, name: str, text_columns: Collection[str] = ID_COLUMNS
) -> pa.Table | ParquetColumns:
    """Like :func:`as_arrow_table`, but a Parquet path is read on demand by the engine."""
    if isinstance(obj, (str, os.PathLike)):
        source: pa.Table | ParquetColumns = read_path(
            obj, name, on_demand=True, text_columns=text_columns
        )
        return source
    if isinstance(obj, ParquetColumns):
        return obj
    return as_arrow_table(obj, name, text_columns)


def id_source_names(columns: Mapping[str, Any] | None) -> set[str]:
    """The names the id columns may have in the user's files: ours, and whatever
    ``columns=`` maps them from (flat or per table)."""
    names = set(ID_COLUMNS)
    if not isinstance(columns, Mapping):
        return names
    for key, value in columns.items():
        if isinstance(value, Mapping):
            names.update(str(v) for k, v in value.items() if k in ID_COLUMNS)
        elif key in ID_COLUMNS:
            names.add(str(value))
    return names


def split_renaming(
    columns: Mapping[str, Any] | None, schemas: Mapping[str, pa.Schema]
) -> dict[str, dict[str, str]]:
    """Normalizes ``columns=`` into one ``{ours: theirs}`` map per table.

    Two forms are accepted: per table (``{"contacts": {"contact_id": "ticket_id"}}``) or flat
    (``{"contact_id": "ticket_id"}``), which applies to every table holding the named
    column. A flat entry that matches no table is a typo, and an error.
    """
    if not columns:
        return {}
    if not isinstance(columns, Mapping):
        raise ConfigError(f"columns: expected a dict, got {type(columns).__name__}")
    if all(isinstance(v, Mapping) for v in columns.values()):
        unknown = sorted(set(columns) - set(TABLES))
        if unknown:
            raise ConfigError(
                f"columns: unknown table(s) {unknown}; "
                "expected contacts, orders, sessions or events"
            )
        return {table: {str(k): str(v) for k, v in m.items()} for table, m in columns.items()}
    per_table: dict[str, dict[str, str]] = {name: {} for name in schemas}
    for ours, theirs in columns.items():
        if not isinstance(theirs, str):
            raise ConfigError(f"columns: {ours!r} must map to a column name, got {theirs!r}")
        holders = [name for name, schema in schemas.items() if theirs in schema.names]
        if not holders:
            present = {name: schema.names for name, schema in schemas.items()}
            raise SchemaError(
                f"columns: {ours!r} is mapped from {theirs!r}, which no table has; "
                f"columns present: {present}"
            )
        for name in holders:
            per_table[name][ours] = theirs
    return {name: m for name, m in per_table.items() if m}
