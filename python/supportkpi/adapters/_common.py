"""What every adapter shares: reading an export into a flat frame, parsing its timestamps,
and the mapping report (SPEC §11).

An export arrives as a path (JSON, JSON lines or CSV), a list of dicts, the vendor's raw
response (``{"tickets": [...], ...}``) or a DataFrame. Nested objects become dotted
columns (``via.channel``, ``metric_set.reply_time_in_minutes.calendar``) through Arrow,
column by column, never a Python loop per row.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from .._supportkpi import ConfigError, DataError, SchemaError
from .._text import terminal_safe

Source = Any  # a path, a list of dicts, a raw response dict, or a DataFrame


@dataclass
class Export:
    """One export read into a flat frame; ``label`` names it in messages (the file's
    path, or what the caller passed)."""

    frame: pd.DataFrame
    label: str
    #: the other top-level lists of a raw response (Zendesk sideloads users, metric_sets),
    #: as lists of dicts or as flat frames
    sideloads: dict[str, Any] = field(default_factory=dict)


# --- reading --------------------------------------------------------------------------


def _flatten(table: pa.Table) -> pa.Table:
    """Struct columns become dotted columns, however deep (``a.b.c``)."""
    while any(pa.types.is_struct(f.type) for f in table.schema):
        table = table.flatten()
    return table


def _records_frame(records: list[dict], label: str) -> pd.DataFrame:
    """A list of dicts as a flat frame: Arrow infers one type per field over every record
    (keys missing in some records are nulls); records whose fields change type between
    rows (an id as int here and str there) fall back to pandas' normaliser."""
    if not records:
        return pd.DataFrame()
    bad = next((i for i, r in enumerate(records) if not isinstance(r, Mapping)), None)
    if bad is not None:
        raise SchemaError(
            f"{label}: record {bad} is a {type(records[bad]).__name__}, not an object"
        )
    try:
        table = pa.Table.from_struct_array(pa.array(records))
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return pd.json_normalize(records)
    return _flatten(table).to_pandas(types_mapper=_types_mapper)


def _types_mapper(arrow_type: pa.DataType) -> Any:
    # Integer columns with nulls stay integers (ids, counts) instead of becoming floats.
    if pa.types.is_integer(arrow_type):
        return pd.Int64Dtype()
    if pa.types.is_boolean(arrow_type):
        return pd.BooleanDtype()
    return None


def _json_file(path: Path, label: str) -> tuple[Any, bool]:
    """The parsed file, and whether it was JSON lines."""
    try:
        with path.open("rb") as handle:
            return json.load(handle), False
    except json.JSONDecodeError as whole_error:
        lines = []
        with path.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    lines.append(json.loads(line))
                except json.JSONDecodeError:
                    raise DataError(
                        f"{label}: not JSON nor JSON lines (line {number}: {whole_error.msg})"
                    ) from None
        return lines, True


#: Arrow reads a whole JSON document as one block, and a block is at most this big.
_ARROW_DOCUMENT_MAX_BYTES = 2**31 - 1


def _arrow_document(path: Path, list_key: str) -> tuple[pd.DataFrame, dict[str, Any]] | None:
    """A ``{"<list_key>": [...], ...}`` response read by Arrow's JSON parser as one row (in
    C++, several times faster than Python's json module building objects), its lists
    flattened into frames; None when the file is not that shape or Arrow cannot type it
    (then the Python parser reads it)."""
    size = path.stat().st_size
    if size == 0 or size >= _ARROW_DOCUMENT_MAX_BYTES:
        return None
    with path.open("rb") as handle:
        start = handle.read(4096).lstrip()
    if not start.startswith(b"{"):
        return None
    try:
        table = pajson.read_json(
            path,
            read_options=pajson.ReadOptions(block_size=size + 1),
            parse_options=pajson.ParseOptions(newlines_in_values=True),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    if table.num_rows != 1 or list_key not in table.column_names:
        return None
    frames = {}
    for name in table.column_names:
        column = table.column(name)
        if not pa.types.is_list(column.type) or not pa.types.is_struct(column.type.value_type):
            continue
        records = pc.list_flatten(column.combine_chunks())
        frames[name] = _flatten(pa.Table.from_struct_array(records)).to_pandas(
            types_mapper=_types_mapper
        )
    if list_key not in frames:
        return None
    return frames.pop(list_key), frames


def read_export(source: Source, *, what: str, list_key: str, csv: bool = False) -> Export:
    """Reads ``source`` into a flat frame of the records under ``list_key``.

    Args:
        source: a path (``.json``, ``.jsonl``/``.ndjson``, or ``.csv`` when ``csv``), a
            list of dicts, the raw response dict, or a DataFrame (used as given).
        what: the export's name in messages (``"Zendesk tickets"``).
        list_key: where a raw response holds the records (``"tickets"``).
        csv: whether the vendor has a CSV export this may be.
    """
    if isinstance(source, pd.DataFrame):
        return Export(source.reset_index(drop=True), what)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        label = str(path)
        if not path.is_file():
            raise ConfigError(f"{what}: no such file: {label}")
        suffix = path.suffix.lower()
        if suffix == ".csv":
            if not csv:
                raise ConfigError(f"{what}: {label}: this vendor's export is JSON, not CSV")
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
            return Export(frame, label)
        if suffix in (".jsonl", ".ndjson"):
            try:
                table = pajson.read_json(path)
                return Export(_flatten(table).to_pandas(types_mapper=_types_mapper), label)
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
                data, _ = _json_file(path, label)
        elif suffix == ".json":
            document = _arrow_document(path, list_key)
            if document is not None:
                return Export(document[0], label, document[1])
            data, _ = _json_file(path, label)
        else:
            kinds = ".json, .jsonl" + (", .csv" if csv else "")
            raise ConfigError(f"{what}: {label}: unknown file type (expected {kinds})")
        return _from_data(data, what=what, label=label, list_key=list_key)
    return _from_data(source, what=what, label=what, list_key=list_key)


def _from_data(data: Any, *, what: str, label: str, list_key: str) -> Export:
    if isinstance(data, Mapping):
        if list_key not in data:
            found = ", ".join(sorted(map(str, data))[:12]) or "nothing"
            raise SchemaError(
                f"{label}: expected {what} as a list, or an object with a {list_key!r} list; "
                f"found an object with {found}"
            )
        records = data[list_key]
        sideloads = {
            str(k): v
            for k, v in data.items()
            if k != list_key and isinstance(v, list) and all(isinstance(x, Mapping) for x in v)
        }
    else:
        records, sideloads = data, {}
    if not isinstance(records, list):
        raise SchemaError(f"{label}: expected {what} as a list of objects, not {type(records)}")
    return Export(_records_frame(records, label), label, sideloads)


def records_of(source: Source, *, what: str, list_key: str, csv: bool = False) -> pd.DataFrame:
    """Just the frame of :func:`read_export`."""
    return read_export(source, what=what, list_key=list_key, csv=csv).frame


# --- fields ---------------------------------------------------------------------------


def require(export: Export, fields: Sequence[str], *, what: str) -> None:
    """A SchemaError naming the missing fields and the ones found, when the export is not
    the vendor's shape."""
    missing = [f for f in fields if f.split(" (or ")[0] not in export.frame.columns]
    if missing:
        found = ", ".join(map(str, list(export.frame.columns)[:20])) or "no fields"
        raise SchemaError(
            f"{export.label}: not a {what} export: missing {', '.join(missing)} "
            f"(expected {', '.join(fields)}; found {found})"
        )


def column(frame: pd.DataFrame, name: str) -> pd.Series:
    """The column, or all-null when the export leaves the field out."""
    if name in frame.columns:
        return frame[name]
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


def first_present(frame: pd.DataFrame, names: Iterable[str]) -> str | None:
    return next((n for n in names if n in frame.columns), None)


def timestamps(
    values: pd.Series, *, export: Export, field_name: str, unit: str | None = None
) -> pd.Series:
    """UTC timestamps from ISO 8601 strings (any offset, ``Z``), Shopify's
    ``2024-01-01 11:13:25 -0500``, or epoch numbers in ``unit``; a DataError names the
    field and the first row that does not parse."""
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = values.dt.tz_localize("UTC") if values.dt.tz is None else values
        return parsed.dt.tz_convert("UTC").astype("datetime64[us, UTC]")
    present = values.notna() & (values.astype(str).str.strip() != "")
    if unit is not None:
        numbers = pd.to_numeric(values.where(present), errors="coerce")
        parsed = pd.to_datetime(numbers, unit=unit, utc=True, errors="coerce")
    else:
        text = values.where(present).astype("string").str.strip()
        parsed = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
        retry = parsed.isna() & present
        if retry.any():
            parsed[retry] = pd.to_datetime(
                text[retry], utc=True, errors="coerce", format="%Y-%m-%d %H:%M:%S %z"
            )
    _refuse_first(
        export, field_name, values, parsed.isna() & present, "cannot read {} as a timestamp"
    )
    return parsed.astype("datetime64[us, UTC]")


def numbers(values: pd.Series, *, export: Export, field_name: str) -> pd.Series:
    """Floats from numbers or numeric text; a DataError names the first row that is not."""
    present = values.notna() & (values.astype(str).str.strip() != "")
    parsed = pd.to_numeric(values.where(present), errors="coerce")
    _refuse_first(export, field_name, values, parsed.isna() & present, "{} is not a number")
    return parsed.astype("float64")


def _refuse_first(
    export: Export, field_name: str, values: pd.Series, bad: pd.Series, message: str
) -> None:
    """A DataError naming the file, the field and the first row in ``bad``, if any;
    ``message`` has a ``{}`` for the row's value."""
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        value = terminal_safe(repr(values.iloc[row]))
        raise DataError(
            f"{export.label}: field {field_name!r}, row {row}: " + message.format(value)
        )


def truthy(values: pd.Series) -> pd.Series:
    """True where a flag is true (a JSON boolean, or "true" / "1" / "yes" in a CSV)."""
    text = values.astype("string").str.strip().str.lower()
    return text.isin(["true", "1", "yes"]).fillna(False).astype(bool)


def normalise_email(values: pd.Series) -> pd.Series:
    """Trimmed, lower-cased emails; empty text is null."""
    text = values.astype("string").str.strip().str.lower()
    return text.mask(text == "")


@dataclass
class Tags:
    """Each row's tags, exploded: one lower-case tag per entry, indexed by the row's label
    (``rows`` keeps every row, also those without tags)."""

    exploded: pd.Series
    rows: pd.Index


def tag_lists(values: pd.Series) -> Tags:
    """The tags of each row, from a list (JSON; Gorgias' ``[{"name": ...}]`` too) or a
    comma/space-separated text (CSV), vectorised: explode, then lower-case."""
    present = values.dropna()
    if len(present) and isinstance(present.iloc[0], str):  # CSV: "refund, vip"
        values = values.astype("string").str.replace(",", " ").str.split()
    exploded = values.explode().dropna()
    if len(exploded) and isinstance(exploded.iloc[0], Mapping):
        exploded = exploded.str.get("name").dropna()
    exploded = exploded.astype(str).str.strip().str.lower()
    return Tags(exploded[exploded != ""], values.index)


def any_tag(tags: Tags, wanted: Iterable[str]) -> pd.Series:
    """Whether each row carries one of ``wanted``."""
    hit = tags.exploded.isin([w.lower() for w in wanted])
    rows = hit.groupby(level=0).any()
    return rows.reindex(tags.rows, fill_value=False).astype(bool)


def intent_from_tags(tags: Tags, mapping: Mapping[str, str] | None) -> pd.Series:
    """The intent of the first tag (in the mapping's order) a row carries; null without a
    mapping or a match."""
    out = pd.Series(None, index=tags.rows, dtype=object)
    if not mapping:
        return out
    rank = {tag.lower(): k for k, tag in enumerate(mapping)}
    intents = list(mapping.values())
    ranks = tags.exploded.map(rank).dropna()
    if ranks.empty:
        return out
    best = ranks.groupby(level=0).min().astype(int)
    out[best.index] = np.array(intents, dtype=object)[best.to_numpy()]
    return out


def map_values(values: pd.Series, mapping: Mapping[str, str]) -> pd.Series:
    """Lower-cased values through ``mapping``; values it does not name pass unchanged."""
    text = values.astype("string").str.strip().str.lower()
    return text.map(lambda v: mapping.get(v, v) if isinstance(v, str) else None).astype(object)


# --- the mapping report ---------------------------------------------------------------


@dataclass
class ColumnMapping:
    """Where one §1 column came from (or why it is absent) and the nulls left in it."""

    column: str
    source: str | None
    nulls: int
    note: str = ""


@dataclass
class MappingReport:
    """What an adapter mapped, from where, what it dropped and why (SPEC §11).

    ``rows_in`` counts the export's rows (a Shopify CSV: line-item rows), ``rows_out``
    the table's rows, ``dropped`` each reason's count; ``columns`` says for every column
    of the output where it came from and how many nulls it was left with; ``definitions``
    the vendor definitions kept.
    """

    vendor: str
    table: str
    source: str
    rows_in: int
    rows_out: int
    dropped: dict[str, int] = field(default_factory=dict)
    columns: list[ColumnMapping] = field(default_factory=list)
    definitions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """One row per output column: column, source, nulls, note."""
        return pd.DataFrame(
            [(c.column, c.source, c.nulls, c.note) for c in self.columns],
            columns=["column", "source", "nulls", "note"],
        )

    def _lines(self) -> list[str]:
        lines = [
            f"{self.vendor} → {self.table} from {self.source}: "
            f"{self.rows_in:,} rows in, {self.rows_out:,} rows out"
        ]
        for reason, count in self.dropped.items():
            lines.append(f"  dropped {count:,}: {reason}")
        width = max((len(c.column) for c in self.columns), default=0)
        for c in self.columns:
            origin = c.source if c.source is not None else "absent"
            nulls = f" ({c.nulls:,} null)" if c.nulls else ""
            note = f" — {c.note}" if c.note else ""
            lines.append(f"  {c.column.ljust(width)} ← {origin}{nulls}{note}")
        lines += [f"  definition: {d}" for d in self.definitions]
        lines += [f"  note: {n}" for n in self.notes]
        return lines

    def __str__(self) -> str:
        return "\n".join(terminal_safe(line) for line in self._lines())

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        rows = "".join(
            "<tr>"
            + "".join(
                f"<td>{html.escape(str(v))}</td>"
                for v in (c.column, c.source or "absent", f"{c.nulls:,}", c.note)
            )
            + "</tr>"
            for c in self.columns
        )
        extra = "".join(
            f"<li>{html.escape(text)}</li>"
            for text in [f"dropped {n:,}: {r}" for r, n in self.dropped.items()]
            + [f"definition: {d}" for d in self.definitions]
            + [f"note: {n}" for n in self.notes]
        )
        head = html.escape(self._lines()[0])
        return (
            f"<div><p>{head}</p><table><thead><tr><th>column</th><th>source</th>"
            f"<th>nulls</th><th>note</th></tr></thead><tbody>{rows}</tbody></table>"
            f"<ul>{extra}</ul></div>"
        )


def describe(
    frame: pd.DataFrame, sources: Mapping[str, tuple[str | None, str]]
) -> list[ColumnMapping]:
    """The report's column list: each output column with its source, note and null count;
    the §1 columns the vendor cannot give are listed as absent with the reason."""
    out = []
    for name, (source, note) in sources.items():
        nulls = int(frame[name].isna().sum()) if name in frame.columns else len(frame)
        out.append(ColumnMapping(name, source if name in frame.columns else None, nulls, note))
    return out


@dataclass
class Adapted:
    """An adapter's result: the §1 table(s) and the mapping report."""

    contacts: pd.DataFrame | None
    orders: pd.DataFrame | None
    report: MappingReport

    def __repr__(self) -> str:
        shapes = ", ".join(
            f"{name}={len(table):,} rows"
            for name, table in (("contacts", self.contacts), ("orders", self.orders))
            if table is not None
        )
        return f"<Adapted {self.report.vendor}: {shapes}>"


def adapted(
    vendor: str,
    export: Export,
    rows_in: int,
    *,
    contacts: pd.DataFrame | None = None,
    orders: pd.DataFrame | None = None,
    dropped: dict[str, int],
    sources: Mapping[str, tuple[str | None, str]],
    definitions: Sequence[str] = (),
    notes: Sequence[str] = (),
) -> Adapted:
    """An adapter's result: its one table and the mapping report that describes it."""
    table, name = (contacts, "contacts") if contacts is not None else (orders, "orders")
    assert table is not None  # noqa: S101 - every adapter gives one table
    report = MappingReport(
        vendor=vendor,
        table=name,
        source=export.label,
        rows_in=rows_in,
        rows_out=len(table),
        dropped=dropped,
        columns=describe(table, sources),
        definitions=list(definitions),
        notes=list(notes),
    )
    return Adapted(contacts=contacts, orders=orders, report=report)


def keep_last(frame: pd.DataFrame, key: str, dropped: dict[str, int], reason: str) -> pd.DataFrame:
    """The frame with one row per ``key`` (the last), the others counted under ``reason``."""
    repeated = frame.duplicated(key, keep="last").to_numpy(bool)
    if repeated.any():
        dropped[reason] = int(repeated.sum())
    return frame[~repeated]
