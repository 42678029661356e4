"""The Scorecard: the result of a scorecard view, its tables and its views (notebook,
terminal, report, charts), built from the engine's one result object."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from . import _supportkpi as _native
from ._config import Config
from ._evidence import describe_evidence
from ._present import BANDS_TABLE_COLUMNS, catalog

_BAND_COLUMNS = list(BANDS_TABLE_COLUMNS)
_DIAGNOSE_COLUMNS = [
    "rule",
    "symptom",
    "likely_cause",
    "action",
    "validation_metric",
    "owner",
    "evidence",
    "evidence_text",
]


class Scorecard:
    """The scorecard: one row per period × group × KPI, with numerator and denominator.

    Build it with :func:`supportkpi.scorecard`. ``to_pandas()`` gives the long table,
    ``wide()`` one column per KPI, ``skipped`` the KPIs left out for missing inputs.

    Example:
        >>> import supportkpi as sk
        >>> s = sk.load_sample()
        >>> card = sk.scorecard(s["contacts"], s["orders"], sessions=s["sessions"])
        >>> card.by, card.tz, len(card.kpis) > 40, card.skipped["volume_share"]
        ('week', 'UTC', True, 'needs group_by')
        >>> card.skipped["sla_pending"]
        'needs SLA policies (config sla)'
    """

    def __init__(
        self,
        table: pa.Table,
        skipped: Mapping[str, str],
        as_of: pd.Timestamp | None,
        by: str,
        tz: str,
        group_by: Sequence[str],
        bands: pa.Table | None = None,
        diagnostics: pa.Table | None = None,
        events: pd.DataFrame | None = None,
        row_audit: Sequence[Mapping[str, Any]] = (),
        config: Config | None = None,
    ) -> None:
        self._table = table
        self._bands = bands
        self._diagnostics = diagnostics
        self.skipped: dict[str, str] = dict(skipped)
        self.as_of = as_of
        self.by = by
        self.tz = tz
        self.group_by = list(group_by)
        self.events = events
        self._row_audit = [dict(a) for a in row_audit]
        #: The configuration the card was computed with (defaults merged in).
        self.config = config if config is not None else Config()

    @property
    def confidence(self) -> float:
        """``statistics.confidence`` of the card's intervals and tests (default 0.95).

        Example:
            >>> import supportkpi as sk
            >>> s = sk.load_sample()
            >>> config = {"statistics": {"confidence": 0.9}}
            >>> sk.scorecard(s["contacts"], s["orders"], config=config).confidence
            0.9
        """
        return float(self.config.to_dict().get("statistics", {}).get("confidence", 0.95))

    @property
    def row_audit(self) -> pd.DataFrame:
        """Rows read, used and dropped per input table.

        Columns: table, rows_read, rows_used, rows_dropped, dropped_by_reason (a dict
        ``{"column: rule": rows}``; each dropped row counts once, under the first rule it
        broke). Rows are dropped only with ``on_invalid="drop"``; otherwise a bad row raises.

        Example:
            >>> import supportkpi as sk
            >>> s = sk.load_sample()
            >>> contacts = s["contacts"].copy()
            >>> contacts.loc[0, "csat"] = 9.0  # off the 1-5 scale
            >>> card = sk.scorecard(contacts, s["orders"], on_invalid="drop")
            >>> audit = card.row_audit.set_index("table")
            >>> int(audit.loc["contacts", "rows_dropped"])
            1
            >>> audit.loc["contacts", "dropped_by_reason"]
            {'csat: value outside the scale [1, 5]': 1}
        """
        return pd.DataFrame(
            [
                {
                    "table": a["table"],
                    "rows_read": a["rows_read"],
                    "rows_used": a["rows_used"],
                    "rows_dropped": a["rows_read"] - a["rows_used"],
                    "dropped_by_reason": dict(a["dropped"]),
                }
                for a in self._row_audit
            ],
            columns=["table", "rows_read", "rows_used", "rows_dropped", "dropped_by_reason"],
        )

    def bands(self) -> pd.DataFrame:
        """Band of every banded KPI per period (× group), with owner, baseline and evidence.

        Columns: period_start, group columns, kpi, value, band (healthy / watch /
        intervention; ``insufficient`` when the sample n is below the band's
        ``min_sample``, default 30; null when the value is null), owner, baseline (the KPI
        over the baseline window before the period), delta_vs_baseline, expected (the period
        overlaps a ``peak`` event, so a band change there needs no intervention), n (the
        sample: the KPI's denominator, or the count behind a mean or quantile), ci_low and
        ci_high (the value's interval at ``statistics.confidence``), band_certain (the whole
        interval lies in the value's band; never for ``insufficient``; null without an
        interval) and p_value (the change against the baseline window: two-proportion
        z-test for rates, Welch's t-test for means; null for other KPIs).

        Example:
            >>> import supportkpi as sk
            >>> s = sk.load_sample()
            >>> card = sk.scorecard(s["contacts"], s["orders"], events=s["events"])
            >>> b = card.bands()
            >>> row = b[(b.kpi == "csat_mean") & (b.period_start == "2024-11-25")].iloc[0]
            >>> row.band, row.owner, bool(row.expected)
            ('intervention', 'support lead', True)
            >>> int(row.n), bool(row.band_certain), bool(row.p_value < 1e-6)
            (708, True, True)
        """
        if self._bands is None:
            return pd.DataFrame(columns=["period_start", *self.group_by, *_BAND_COLUMNS])
        frame = self._bands.to_pandas()
        # Nullable (no interval: null), whether or not this card has a null.
        frame["band_certain"] = frame["band_certain"].astype("boolean")
        return frame

    def diagnose(self) -> pd.DataFrame:
        """The diagnostic rules that fired, per period (× group), with their evidence.

        Columns: period_start, group columns, rule, symptom, likely_cause, action,
        validation_metric, owner, evidence (a dict of the values that fired the rule: each
        condition's value, each tested change with its interval and p-value, events, a
        hotspot's shares with its p-value adjusted across the values scanned) and
        evidence_text (the same in words, with formatted numbers).

        Example:
            >>> import supportkpi as sk
            >>> s = sk.load_sample()
            >>> card = sk.scorecard(s["contacts"], s["orders"], events=s["events"])
            >>> d = card.diagnose()
            >>> fired = d[d.rule == "wismo_after_launch"].iloc[0]
            >>> fired.evidence["launch_event"], fired.validation_metric
            ('Autumn collection launch', 'wismo_share')
            >>> print("\\n".join(fired.evidence_text.split("; ")))
            after the launch event "Autumn collection launch"
            WISMO share at 2.18× its baseline (rule: ≥ 1.25×)
            WISMO share +21.9 pp vs the baseline window (95% CI +18.7 pp to +25.1 pp), p < 0.001
        """
        if self._diagnostics is None:
            return pd.DataFrame(columns=["period_start", *self.group_by, *_DIAGNOSE_COLUMNS])
        frame = self._diagnostics.to_pandas()
        frame["evidence"] = [json.loads(e) for e in frame["evidence"]]
        frame["evidence_text"] = [describe_evidence(e, self.confidence) for e in frame["evidence"]]
        return frame

    def to_arrow(self) -> pa.Table:
        """The long table as a pyarrow Table.

        Example:
            >>> import supportkpi as sk
            >>> s = sk.load_sample()
            >>> sk.scorecard(s["contacts"], s["orders"]).to_arrow().column_names
            ['period_start', 'kpi', 'value', 'numerator', 'denominator', 'unit',
             'ci_low', 'ci_high']
        """
        return self._table

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        """Exports the long table through the Arrow PyCapsule interface: ``pl.DataFrame(card)``
        and ``duckdb.sql("select * from card")`` read it without a copy through pandas."""
        return self._table.__arrow_c_stream__(requested_schema)

    def to_polars(self) -> Any:
        """The long table as a polars DataFrame (polars is an optional extra).

        Example:
            >>> import supportkpi as sk
            >>> s = sk.load_sample()
            >>> frame = sk.scorecard(s["contacts"], s["orders"]).to_polars()
            >>> frame.columns[:3], frame.height > 1000
            (['period_start', 'kpi', 'value'], True)
        """
        try:
            import polars as pl
        except ImportError as error:
            raise ImportError(
                'card.to_polars() needs polars, an optional extra: pip install "supportkpi[polars]"'
            ) from error
        return pl.from_arrow(self._table)

    def to_parquet(self, path: str | os.PathLike[str]) -> Path:
        """Writes the long table to a Parquet file (the path is returned).

        The time zone of ``period_start`` and the column types are kept (Arrow schema).

        Example:
            >>> import tempfile, pathlib
            >>> import pyarrow.parquet as pq
            >>> import supportkpi as sk
            >>> s = sk.load_sample()
            >>> out = pathlib.Path(tempfile.mkdtemp()) / "card.parquet"
            >>> written = sk.scorecard(s["contacts"], s["orders"]).to_parquet(out)
            >>> pq.read_table(written).schema.field("period_start").type
            TimestampType(timestamp[us, tz=UTC])
        """
        import pyarrow.parquet as pq

        target = Path(path)
        pq.write_table(self._table, target)
        return target

    def to_pandas(self) -> pd.DataFrame:
        """The long table: period_start, group columns, kpi, value, numerator, denominator, unit.

        Example:
            >>> import supportkpi as sk
            >>> s = sk.load_sample()
            >>> long = sk.scorecard(s["contacts"], s["orders"], group_by="channel").to_pandas()
            >>> list(long.columns)
            ['period_start', 'channel', 'kpi', 'value', 'numerator', 'denominator', 'unit',
             'ci_low', 'ci_high']
        """
        return self._table.to_pandas()

    @property
    def kpis(self) -> list[str]:
        """The KPI ids present, in catalogue order.

        Example:
            >>> import supportkpi as sk
            >>> s = sk.load_sample()
            >>> sk.scorecard(s["contacts"], s["orders"]).kpis[:4]
            ['csat_mean', 'deflection_rate', 'fcr_rate', 'tickets_per_order']
        """
        present = set(self._table.column("kpi").to_pylist())
        return [kpi for kpi in catalog() if kpi in present]

    def wide(self) -> pd.DataFrame:
        """One row per period (× group), one column per KPI value, in catalogue order.

        Example:
            >>> import supportkpi as sk
            >>> s = sk.load_sample()
            >>> wide = sk.scorecard(s["contacts"], s["orders"], by="month").wide()
            >>> wide.shape[0], round(float(wide["tickets_per_order"].iloc[0]), 3)
            (7, 0.452)
        """
        long = self.to_pandas()
        keys = ["period_start", *self.group_by]
        if long.empty:
            return pd.DataFrame(columns=[*keys, *self.kpis]).set_index(keys)
        # unstack keeps null group keys, which pivot would drop.
        wide = long.set_index([*keys, "kpi"])["value"].unstack("kpi")
        wide = wide[self.kpis]
        wide.columns.name = None
        # unstack sorts the index; restore the engine's order (periods, then groups in
        # order of first appearance).
        order = long.drop_duplicates(keys).set_index(keys).index
        return wide.reindex(order)

    # The views import on first use: `import supportkpi` loads no report or plotting code.

    def _repr_html_(self, *, periods: int = 6) -> str:
        """The notebook table (see :func:`supportkpi._report.scorecard_html`)."""
        from ._notebook import scorecard_html

        return scorecard_html(self, periods=periods)

    def __repr__(self) -> str:
        """The terminal view (see :func:`supportkpi._report.terminal_repr`)."""
        from ._terminal import terminal_repr

        return terminal_repr(self)

    def plot(
        self,
        kpi: str,
        *,
        group: object = None,
        ax: Any = None,
        days: int | None = None,
        partial: bool = False,
    ) -> Any:
        """One KPI over time with its bands (see :func:`supportkpi._plot.plot_kpi`).

        Example:
            >>> import supportkpi as sk
            >>> sample = sk.load_sample()
            >>> card = sk.scorecard(sample["contacts"], sample["orders"])
            >>> card.plot("fcr_rate", days=60).axes[0].get_title(loc="left")
            'First contact resolution'
        """
        from ._plot import plot_kpi

        return plot_kpi(self, kpi, group=group, ax=ax, days=days, partial=partial)

    def plot_trends(
        self,
        kpis: Sequence[str] | None = None,
        *,
        days: int = 90,
        group: object = None,
        ncols: int | None = None,
        partial: bool = False,
    ) -> Any:
        """Small multiples of KPIs over time (see :func:`supportkpi._plot.plot_trends`).

        Example:
            >>> import supportkpi as sk
            >>> sample = sk.load_sample()
            >>> card = sk.scorecard(sample["contacts"], sample["orders"])
            >>> len(card.plot_trends(["csat_mean", "fcr_rate"], days=60).axes)
            2
        """
        from ._plot import plot_trends

        return plot_trends(self, kpis, days=days, group=group, ncols=ncols, partial=partial)

    def to_html(
        self,
        path: str | os.PathLike[str],
        *,
        days: int = 90,
        period: object = None,
        title: str | None = None,
        currency: str | None = None,
    ) -> Path:
        """The standalone HTML report (see :func:`supportkpi._report.write_html_report`).

        Example:
            >>> import pathlib, tempfile, supportkpi as sk
            >>> sample = sk.load_sample()
            >>> card = sk.scorecard(sample["contacts"], sample["orders"])
            >>> with tempfile.TemporaryDirectory() as tmp:
            ...     card.to_html(pathlib.Path(tmp) / "report.html", days=28).stat().st_size > 10_000
            True
        """
        from ._report import write_html_report

        return write_html_report(
            self, Path(path), days=days, period=period, title=title, currency=currency
        )


def utc_timestamp(micros: int | None) -> pd.Timestamp | None:
    return None if micros is None else pd.Timestamp(micros, unit="us", tz="UTC")


def scorecard_of(result: _native.ScorecardResult, events: pa.Table | None) -> Scorecard:
    """The Scorecard of a native result: its tables, and the view's options it carries."""
    options = json.loads(result.options_json)
    document = options.get("config")
    return Scorecard(
        result.table,
        dict(result.skipped),
        utc_timestamp(result.as_of),
        options.get("by", "week"),
        options.get("tz", "UTC"),
        list(options.get("group_by", [])),
        result.bands,
        result.diagnostics,
        None if events is None else events.to_pandas(),
        json.loads(result.row_audit_json),
        Config(document) if document else Config(),
    )
