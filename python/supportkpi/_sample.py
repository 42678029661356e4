"""The bundled sample: six months of synthetic ecommerce support data.

``load_sample()`` reads the four tables (``contacts``, ``orders``, ``sessions``, ``events``;
SPEC §1) bundled under ``supportkpi/data``. They are generated, reproducibly from a seed,
by ``scripts/sample_generator.py`` (its docstring tells the storyline the diagnostic rules
find); a test checks the bundled files equal a fresh generation. This module holds only
what loading needs: the schemas and the one Arrow-to-pandas conversion both sides use.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["DATA_DIR", "SCHEMAS", "TABLES", "load_sample", "to_pandas"]

DATA_DIR = Path(__file__).resolve().parent / "data"
TABLES = ("contacts", "orders", "sessions", "events")


def load_sample(directory: str | Path | None = None) -> dict[str, pd.DataFrame]:
    """Read the bundled sample (or one written by the generator to ``directory``).

    Example:
        >>> import supportkpi as sk
        >>> sample = sk.load_sample()
        >>> sorted(sample), len(sample["contacts"]), len(sample["orders"])
        (['contacts', 'events', 'orders', 'sessions'], 23023, 46409)
    """
    directory = DATA_DIR if directory is None else Path(directory)
    return {
        name: to_pandas(name, pq.read_table(directory / f"{name}.parquet", schema=SCHEMAS[name]))
        for name in TABLES
    }


# --- schemas and the Arrow <-> pandas boundary ----------------------------------------

_TIMESTAMP = pa.timestamp("us", tz="UTC")
SCHEMAS = {
    "contacts": pa.schema(
        [
            ("contact_id", pa.string()),
            ("customer_id", pa.string()),
            ("created_at", _TIMESTAMP),
            ("channel", pa.string()),
            ("intent", pa.string()),
            ("handled_by", pa.string()),
            ("escalated", pa.bool_()),
            ("first_response_at", _TIMESTAMP),
            ("resolved_at", _TIMESTAMP),
            ("handle_seconds", pa.float64()),
            ("touches", pa.int64()),
            ("csat", pa.float64()),
            ("nps", pa.float64()),
            ("ces", pa.float64()),
            ("cost", pa.float64()),
            ("agent_id", pa.string()),
            ("device", pa.string()),
            ("journey_step", pa.string()),
            ("campaign", pa.string()),
            ("template", pa.string()),
            ("segment", pa.string()),
            ("resolution_correct", pa.bool_()),
        ]
    ),
    "orders": pa.schema(
        [
            ("order_id", pa.string()),
            ("customer_id", pa.string()),
            ("created_at", _TIMESTAMP),
            ("revenue", pa.float64()),
            ("refund", pa.float64()),
            ("discount", pa.float64()),
            ("appeasement", pa.float64()),
            ("cogs", pa.float64()),
            ("device", pa.string()),
            ("channel", pa.string()),
            ("segment", pa.string()),
            ("campaign", pa.string()),
            ("template", pa.string()),
        ]
    ),
    "sessions": pa.schema(
        [("date", pa.date32()), ("device", pa.string()), ("sessions", pa.int64())]
    ),
    "events": pa.schema(
        [
            ("name", pa.string()),
            ("kind", pa.string()),
            ("start", _TIMESTAMP),
            ("end", _TIMESTAMP),
        ]
    ),
}

# Columns whose pandas dtype is not pyarrow's default conversion.
_PANDAS_DTYPES = {
    "contacts": {
        "touches": "Int64",
        "escalated": "bool",
        "resolution_correct": "boolean",
    },
}


def to_pandas(name: str, table: pa.Table) -> pd.DataFrame:
    """One conversion for generated and loaded tables, so their dtypes always agree."""
    frame = table.to_pandas()
    for column, dtype in _PANDAS_DTYPES.get(name, {}).items():
        values = table.column(column).to_pylist()  # exact: no float detour for Int64
        frame[column] = pd.array(values, dtype=dtype)
    return frame
