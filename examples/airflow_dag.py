"""Airflow: the weekly support-conversion scorecard as a pipeline gate.

Every Monday the DAG computes last week's scorecard from the Parquet exports of the support
desk and the shop, writes the standalone HTML report and the long table (with bands) next
to them, and fails when a KPI of the week is in the *intervention* band, so the owners get
the failure alert with the list of KPIs and the report to read. A band change during a
``peak`` event (Black Friday) is expected and does not fail the run (SPEC §6).

The work is done by :func:`weekly_scorecard`, a plain function that runs the
``supportkpi scorecard`` command in this process: the gate and its message are the command
line's. It imports and runs without Airflow (the tests call it directly, and run the DAG
with ``airflow dags test``). The ``@task`` wrapper only passes the end of Airflow's data
interval (the run time): the week before it is reported, with data observed up to it, so a
re-run of an old week gives the numbers of that week.

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

import contextlib
import datetime as dt
import io
import json
import os
from collections import Counter
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


def _week_start(moment: Any, tz: str) -> pd.Timestamp:
    """Monday 00:00 (in ``tz``) of the ISO week holding ``moment``."""
    stamp = pd.Timestamp(moment)
    stamp = stamp.tz_localize(tz) if stamp.tzinfo is None else stamp.tz_convert(tz)
    return stamp.normalize() - pd.Timedelta(days=stamp.day_of_week)


def weekly_scorecard(
    data_dir: str | os.PathLike[str],
    report_dir: str | os.PathLike[str],
    *,
    week: Any,
    as_of: Any = None,
    tz: str = "UTC",
    fail_on: str | None = "intervention",
) -> dict[str, Any]:
    """Runs the ``supportkpi scorecard`` command for one week, and fails on intervention.

    The gate is the command line's own (``--fail-on``), run in this process: the same
    exit code and the same message as from cron or a shell.

    Args:
        data_dir: holds contacts.parquet and orders.parquet (sessions.parquet,
            events.parquet and scorecard.toml when present).
        report_dir: where scorecard-<week>.html, .parquet and .json are written.
        week: a time inside the week to report.
        as_of: the end of observed data (default: the latest created_at).
        tz: the time zone of the week boundaries.
        fail_on: "intervention", "watch" or None (never fail).

    Returns:
        A summary for the logs and XCom: the week, the files written, the count of KPIs
        per band in the week, the KPIs off healthy with their band, those in the fail-on
        band during a peak event (expected, not failing) and the rules that fired.

    Raises:
        InterventionRequired: a KPI of the week is in the fail-on band or worse, outside a
            peak event; its message is the command line's. The report is written first.
        ValueError: bad input or configuration (the command line's message).
    """
    from supportkpi.cli import main

    data, reports = Path(data_dir), Path(report_dir)
    label = _week_start(week, tz).strftime("%Y-%m-%d")
    reports.mkdir(parents=True, exist_ok=True)
    report, table, document = (
        reports / f"scorecard-{label}.{suffix}" for suffix in ("html", "parquet", "json")
    )
    argv = ["scorecard", "--by", "week", "--tz", tz, "--period", label, "--quiet"]
    for option, name in (
        ("--contacts", "contacts.parquet"),
        ("--orders", "orders.parquet"),
        ("--sessions", "sessions.parquet"),
        ("--events", "events.parquet"),
        ("--config", "scorecard.toml"),
    ):
        if (data / name).exists() or option in ("--contacts", "--orders"):
            argv += [option, str(data / name)]
    if as_of is not None:
        argv += ["--as-of", pd.Timestamp(as_of).isoformat()]
    if fail_on:
        argv += ["--fail-on", fail_on]
    argv += ["--out", str(report), "--out", str(table), "--out", str(document)]
    errors = io.StringIO()
    with contextlib.redirect_stderr(errors):
        code = main(argv)
    message = errors.getvalue().strip()
    if code == 1:
        raise InterventionRequired(f"{message}\nReport: {report}")
    if code != 0:
        raise ValueError(message)

    written = json.loads(document.read_text(encoding="utf-8"))
    in_week = [
        row
        for row in written["rows"]
        if _week_start(row["period_start"], tz).strftime("%Y-%m-%d") == label
    ]
    banded = [row for row in in_week if row.get("band")]
    fired = {
        row["rule"]
        for row in written["diagnostics"]
        if _week_start(row["period_start"], tz).strftime("%Y-%m-%d") == label
    }
    return {
        "week": label,
        "report": str(report),
        "table": str(table),
        "bands": dict(Counter(str(row["band"]) for row in banded)),
        "attention": {
            row["kpi"]: row["band"] for row in banded if row["band"] in ("watch", "intervention")
        },
        # KPIs in the fail-on band or worse during a peak event (the command line's note)
        "expected": sorted(
            line.split(" = ")[0].strip() for line in message.splitlines() if " = " in line
        ),
        "diagnostics": sorted(fired),
    }


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
        def scorecard_gate(data_interval_end=None) -> dict[str, Any]:
            # Airflow passes the context values named in the signature. The run at Monday
            # 06:00 reports the week that ended then: a day before it lies in that week,
            # and the run time is the end of observed data (Airflow 3's cron timetable
            # gives a run a zero-length data interval at its logical date).
            return weekly_scorecard(
                os.environ.get("SUPPORTKPI_DATA_DIR", "/opt/airflow/data/support"),
                os.environ.get("SUPPORTKPI_REPORT_DIR", "/opt/airflow/reports/support"),
                week=pd.Timestamp(data_interval_end) - pd.Timedelta(days=1),
                as_of=data_interval_end,
                tz=os.environ.get("SUPPORTKPI_TZ", "UTC"),
            )

        scorecard_gate()

    support_scorecard_weekly()
