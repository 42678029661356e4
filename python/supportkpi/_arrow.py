"""Turning whatever the user passes into a pyarrow Table, without copying Arrow data.

pandas frames are converted once (they are not Arrow); pyarrow, polars, DuckDB and any other
object that speaks the Arrow PyCapsule interface (``__arrow_c_stream__``) are imported
zero-copy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import pyarrow as pa

from ._supportkpi import ConfigError, SchemaError

TABLES = ("contacts", "orders", "sessions", "events")


def _from_stream(obj: Any) -> pa.Table:
    reader_cls = pa.RecordBatchReader
    if hasattr(reader_cls, "from_stream"):  # pyarrow >= 15
        return reader_cls.from_stream(obj).read_all()
    # pyarrow 14 has only the private importer.
    capsule = obj.__arrow_c_stream__()
    return reader_cls._import_from_c_capsule(capsule).read_all()


def as_arrow_table(obj: Any, name: str) -> pa.Table:
    """Reads a pandas/polars/pyarrow/DuckDB table (or any ``__arrow_c_stream__`` object)."""
    if isinstance(obj, pa.Table):
        return obj
    if isinstance(obj, pa.RecordBatch):
        return pa.Table.from_batches([obj])
    if isinstance(obj, pa.RecordBatchReader):
        return obj.read_all()
    if isinstance(obj, pd.DataFrame):
        try:
            return pa.Table.from_pandas(obj, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as error:
            raise SchemaError(f"{name}: cannot read the pandas frame as Arrow: {error}") from error
    if hasattr(obj, "__arrow_c_stream__"):
        return _from_stream(obj)
    if hasattr(obj, "to_arrow"):  # older polars / duckdb objects
        return as_arrow_table(obj.to_arrow(), name)
    if hasattr(obj, "arrow"):  # DuckDB relations before the PyCapsule interface
        return as_arrow_table(obj.arrow(), name)
    raise TypeError(
        f"{name}: expected a pandas or polars DataFrame, a pyarrow Table or RecordBatchReader, "
        f"or an object with __arrow_c_stream__; got {type(obj).__name__}"
    )


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
