"""What the command line writes: the scorecard table with its bands as JSON, CSV, HTML or
Parquet, and the ``--fail-on`` gate over the report period. Text that reaches a CSV is made
safe for spreadsheets; the library is imported only when a function runs, so
``supportkpi --help`` works without the compiled extension."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from supportkpi._text import csv_safe

FAIL_BANDS = {"watch": ("watch", "intervention"), "intervention": ("intervention",)}


class InputError(ValueError):
    """A file that cannot be read, or an argument the library never sees."""


def gate(card: Any, fail_on: str | None, period: str | None) -> tuple[list[str], list[str], str]:
    """The KPIs of the report period in the fail-on band or worse: (failing, expected, where)."""
    from supportkpi import _present

    if fail_on is None:
        return [], [], ""
    current = _present.report_period(card, period)
    if current is None:
        return [], [], ""
    bands = _present.bands_frame(card)
    if "band" not in bands.columns or bands.empty:
        return [], [], _present.period_phrase(card, current)
    at = _present.period_ints(bands["period_start"]) == _present.stamp_int(current)
    rows = bands[at.to_numpy() & bands["band"].isin(FAIL_BANDS[fail_on]).fillna(False).to_numpy()]
    units = {kpi: entry.get("unit", "") for kpi, entry in _present.catalog().items()}
    failing, expected = [], []
    for row in rows.to_dict("records"):
        kpi = row["kpi"]
        where = ""
        if card.group_by:
            parts = [
                f"{g}={_present.NULL_GROUP if _present.is_missing(row.get(g)) else row.get(g)}"
                for g in card.group_by
            ]
            where = f" [{', '.join(parts)}]"
        value = _present.format_value(row.get("value"), units.get(kpi, ""), kpi)
        owner = row.get("owner")
        owner_text = "" if _present.is_missing(owner) else f"; owner: {owner}"
        line = f"{kpi}{where} = {value} ({row['band']}{owner_text})"
        if bool(row.get("expected")) and not _present.is_missing(row.get("expected")):
            expected.append(line)
        else:
            failing.append(line)
    return failing, expected, _present.period_phrase(card, current)


def write_output(
    card: Any,
    fmt: str,
    out: str | None,
    *,
    days: int = 90,
    period: str | None = None,
    currency: str | None = None,
) -> Path | None:
    """Writes ``card`` as json, csv, parquet or html to ``out`` (None or '-': stdout).

    Returns the path written, or None for stdout.

    Example:
        >>> import io, json, contextlib, supportkpi as sk
        >>> sample = sk.load_sample()
        >>> card = sk.scorecard(sample["contacts"], sample["orders"])
        >>> buffer = io.StringIO()
        >>> with contextlib.redirect_stdout(buffer):
        ...     write_output(card, "json", None)
        >>> document = json.loads(buffer.getvalue())
        >>> document["by"], document["rows"][0]["kpi"], sorted(document["rows"][0])[:3]
        ('week', 'csat_mean', ['band', 'baseline', 'delta_vs_baseline'])
    """
    from supportkpi import _present, _report

    target = None if out in (None, "-") else Path(out)
    if fmt == "html":
        if target is None:
            sys.stdout.write(_report.report_html(card, days=days, period=period, currency=currency))
            return None
        return _report.write_html_report(card, target, days=days, period=period, currency=currency)
    table = _present.scorecard_table(card)
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        if target is None:
            raise InputError("--out: parquet needs an output file")
        pq.write_table(pa.Table.from_pandas(table, preserve_index=False), target)
        return target
    if fmt == "csv":
        text = csv_text(table)
    elif fmt == "json":
        text = json.dumps(_json_document(card, table, period), indent=1, allow_nan=False)
    else:
        raise InputError(f"--format: unknown format {fmt!r}")
    if target is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return None
    target.write_text(text, encoding="utf-8")
    return target


def csv_text(table: pd.DataFrame) -> str:
    """The table as CSV, text cells that a spreadsheet would run as formulas prefixed with
    ``'`` (group values and owners come from the data and config)."""
    safe = table.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(csv_safe)
    text: str = safe.to_csv(index=False)
    return text


def _json_document(card: Any, table: pd.DataFrame, period: str | None) -> dict[str, Any]:
    from supportkpi import _present

    current = _present.report_period(card, period)
    diagnostics = _present.diagnostics_frame(card)
    return {
        "as_of": None if card.as_of is None else pd.Timestamp(card.as_of).isoformat(),
        "by": card.by,
        "tz": card.tz,
        "group_by": list(card.group_by),
        "report_period": None if current is None else current.isoformat(),
        "skipped": dict(card.skipped),
        "rows": jsonable_records(table),
        "diagnostics": None if diagnostics is None else jsonable_records(diagnostics),
    }


def jsonable_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    columns = list(frame.columns)
    records = []
    for values in zip(*(frame[c].tolist() for c in columns)):
        records.append({c: _jsonable(v) for c, v in zip(columns, values)})
    return records


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    from supportkpi._present import is_missing

    if is_missing(value):
        return None
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "item"):  # numpy scalars
        return _jsonable(value.item())
    return str(value)
