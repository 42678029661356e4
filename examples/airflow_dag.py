"""Airflow: the weekly support-conversion scorecard as a pipeline gate.

Every Monday the DAG computes last week's scorecard from the Parquet exports of the support
desk and the shop, writes the standalone HTML report and the long table (with bands) next
to them, and fails when a KPI of the week is in the *intervention* band, so the owners get
the failure alert with the list of KPIs and the report to read. A band change during a
``peak`` event (Black Friday) is expected and does not fail the run (SPEC §6).

The work is done by :func:`weekly_scorecard`, a plain function: it imports and runs without
Airflow (the tests call it directly). The ``@task`` wrapper only passes Airflow's data
interval: the week to report (``data_interval_start``) and the end of observed data
(``data_interval_end``), so a re-run of an old week gives the numbers of that week.

Files, from the environment of the workers:

* ``SUPPORTKPI_DATA_DIR``: ``contacts.parquet`` and ``orders.parquet``; optional
  ``sessions.parquet``, ``events.parquet`` (the calendar) and ``scorecard.toml`` (bands,
  owners, rules; see ``sk.default_config()``).
* ``SUPPORTKPI_REPORT_DIR``: where ``scorecard-<week>.html`` / ``.parquet`` go.
* ``SUPPORTKPI_TZ``: the time zone of the weeks (default UTC).

The same gate without Airflow, e.g. from cron::

    supportkpi scorecard --contacts contacts.parquet --orders orders.parquet \\
        --events events.parquet --format html --out report.html --fail-on intervention
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pandas as pd

try:  # Airflow 3
    from airflow.sdk import dag, task
except ImportError:
    try:  # Airflow 2
        from airflow.decorators import dag, task
    except ImportError:  # no Airflow: weekly_scorecard() still works
        dag = task = None

try:
    from airflow.exceptions import AirflowFailException as _TaskFailure
except ImportError:
    _TaskFailure = RuntimeError


class InterventionRequired(_TaskFailure):
    """A KPI of the week is in the intervention band.

    Under Airflow this is an ``AirflowFailException``: the task fails at once, without
    retries (a retry would compute the same numbers).
    """


def _read(path: Path | None) -> pd.DataFrame | None:
    return None if path is None or not path.exists() else pd.read_parquet(path)


def weekly_scorecard(
    data_dir: str | os.PathLike[str],
    report_dir: str | os.PathLike[str],
    *,
    week: Any,
    as_of: Any = None,
    tz: str = "UTC",
    fail_on: str | None = "intervention",
) -> dict[str, Any]:
    """Computes the weekly scorecard, writes the report, and fails on intervention.

    Args:
        data_dir: holds contacts.parquet and orders.parquet (sessions.parquet,
            events.parquet and scorecard.toml when present).
        report_dir: where scorecard-<week>.html and scorecard-<week>.parquet are written.
        week: a time inside the week to report (Airflow: the data interval's start).
        as_of: the end of observed data (default: the latest created_at).
        tz: the time zone of the week boundaries.
        fail_on: "intervention", "watch" or None (never fail).

    Returns:
        A summary for the logs and XCom: the week, the files written, the count of KPIs
        per band, the KPIs off healthy with their band, those that fail the gate and those
        whose band change is expected (peak event), and the diagnostics that fired.

    Raises:
        InterventionRequired: a KPI of the week is in the fail-on band or worse, outside a
            peak event. The report is written first.
    """
    import supportkpi as sk

    data, reports = Path(data_dir), Path(report_dir)
    config = data / "scorecard.toml"
    card = sk.scorecard(
        _read(data / "contacts.parquet"),
        _read(data / "orders.parquet"),
        sessions=_read(data / "sessions.parquet"),
        events=_read(data / "events.parquet"),
        config=config if config.exists() else None,
        by="week",
        tz=tz,
        as_of=as_of,
    )

    bands = card.bands()
    starts = bands["period_start"]
    moment = pd.Timestamp(week)
    moment = moment.tz_localize(tz) if moment.tzinfo is None else moment.tz_convert(tz)
    inside = starts[(starts <= moment) & (moment < starts + pd.Timedelta(days=7))]
    if inside.empty:
        raise ValueError(f"week {week}: not in the data ({starts.min()} to {starts.max()})")
    week_start = inside.iloc[0]
    this_week = bands[bands["period_start"] == week_start]
    diagnostics = card.diagnose()
    fired = diagnostics[diagnostics["period_start"] == week_start] if len(diagnostics) else None

    label = week_start.strftime("%Y-%m-%d")
    reports.mkdir(parents=True, exist_ok=True)
    report = card.to_html(reports / f"scorecard-{label}.html", period=week_start)
    long_table = reports / f"scorecard-{label}.parquet"
    card.to_pandas().to_parquet(long_table, index=False)

    failing_bands = {"watch": ["watch", "intervention"], "intervention": ["intervention"]}
    flagged = this_week[this_week["band"].isin(failing_bands.get(fail_on or "", []))]
    failing = flagged[~flagged["expected"].astype(bool)]
    summary = {
        "week": label,
        "report": str(report),
        "table": str(long_table),
        "bands": {str(k): int(v) for k, v in this_week["band"].value_counts().items()},
        "attention": {
            row.kpi: row.band
            for row in this_week.itertuples()
            if row.band in ("watch", "intervention")
        },
        "failing": [
            f"{row.kpi} = {row.value:.4g} ({row.band}; owner: {row.owner})"
            for row in failing.itertuples()
        ],
        "expected": sorted(set(flagged["kpi"]) - set(failing["kpi"])),
        "diagnostics": [] if fired is None else sorted(set(fired["rule"])),
    }
    if summary["failing"]:
        raise InterventionRequired(
            f"week of {label}: {len(failing)} KPI(s) in the {fail_on} band or worse: "
            + "; ".join(summary["failing"])
            + f". Report: {report}"
        )
    return summary


if dag is not None and task is not None:

    @dag(
        dag_id="support_scorecard_weekly",
        schedule="0 6 * * MON",
        start_date=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        catchup=False,
        tags=["support", "kpi"],
        doc_md=__doc__,
    )
    def support_scorecard_weekly() -> None:
        @task(retries=0)
        def scorecard_gate(data_interval_start=None, data_interval_end=None) -> dict[str, Any]:
            # Airflow passes the context values named in the signature.
            return weekly_scorecard(
                os.environ.get("SUPPORTKPI_DATA_DIR", "/opt/airflow/data/support"),
                os.environ.get("SUPPORTKPI_REPORT_DIR", "/opt/airflow/reports/support"),
                week=data_interval_start,
                as_of=data_interval_end,
                tz=os.environ.get("SUPPORTKPI_TZ", "UTC"),
            )

        scorecard_gate()

    support_scorecard_weekly()
