"""The benchmark scorecard with supportkpi: SPEC §3 joins and weekly §5 KPIs from Parquet.

    python benches/peers/supportkpi_scorecard.py --data benches/data/1m --out sk.parquet \
        [--joins-out sk_joins.parquet] [--all-kpis] [--business-time] \
        [--route paths|tables|one-call]

The same work as the polars and DuckDB peers: scan contacts.parquet and orders.parquet
(``sk.scan_parquet``: the engine reads the columns the work needs, one at a time, as the
peers' scans read only what they select), the per-contact joins (``sk.prepare`` and
``enrich``), then the weekly scorecard in UTC without and with
``group_by=["channel"]`` (on the paths route ``Prepared.scorecards`` with both groupings,
as the peers compute both in one weekly step; the tables and one-call routes make two
``scorecard`` calls, so that they differ only in how inputs are read and joined), written
in the same long format (period_start,
channel, grouping, kpi, value) for the same KPI subset. Prints one JSON line with the phase
timings and peak RSS.

Notes on fairness: ``sk.prepare`` validates and joins once (as the peers join once); each
``scorecard`` view is asked for the compared KPIs (``kpis=KPIS``), the ones the peers
compute. It still evaluates the diagnostic rules, and so also the KPIs they read, and the
bands of the compared KPIs, which the peers do not. With ``--all-kpis`` each view computes
every KPI its inputs allow (backlog, peak-to-trough, repurchase cohorts, retention, CLV,
...), as ``sk.scorecard`` does by default. The per-contact results come back as Arrow
(``enrich(output="arrow")``, with the contact's id), as the peers keep theirs in
Arrow/DuckDB.

With ``--business-time`` (the ``supportkpi-business-time`` contender, issue 18) the same
run also reads ``calendar``, ``priority``, ``first_resolved_at`` and ``reopens`` and is given
three business calendars and two SLA policies (``BUSINESS_CONFIG``): the per-contact
columns then carry business minutes and SLA verdicts, and the views every business-time,
SLA and reopen KPI. Its compared KPIs and join results must still equal the others'.

``--route`` (issue 21) picks how the inputs reach the library: ``paths`` (the default, above);
``tables``, the notebook's route, where the user first reads the same columns into pyarrow
Tables (``pq.read_table``; the "read" phase is the user's) and passes them to
``sk.prepare``; ``one-call``, those Tables passed to three one-call functions
(``sk.enrich_contacts`` with ``output="arrow"``, then ``sk.scorecard`` without and with
``group_by``), which reuse the first call's joins because the Tables are the same objects.
"""

from __future__ import annotations

import argparse

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import supportkpi as sk
from common import CONTACT_COLUMNS, KPIS, ORDER_COLUMNS, PhaseClock, arguments

#: The contact columns the business-time run reads on top of CONTACT_COLUMNS (SPEC §9).
BUSINESS_COLUMNS = ["calendar", "priority", "first_resolved_at", "reopens"]
_WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]
#: Three calendars (a schedule version, holidays, a Saturday, an overnight shift) and two
#: SLA policies, one in business hours and one in calendar time (issue 18's example).
BUSINESS_CONFIG = {
    "calendars": {
        "default": {
            "tz": "America/New_York",
            "week": {**{d: ["09:00-17:00"] for d in _WEEKDAYS}, "sat": ["10:00-14:00"]},
            "holidays": (
                "2024-01-01 2024-01-15 2024-02-19 2024-05-27 2024-06-19 2024-07-04 "
                "2024-09-02 2024-10-14 2024-11-11 2024-11-28 2024-12-25"
            ).split(),
            "versions": [{"from": "2024-11-01", "week": {d: ["08:00-20:00"] for d in _WEEKDAYS}}],
        },
        "emea": {
            "tz": "Europe/London",
            "week": {d: ["08:00-18:00"] for d in _WEEKDAYS},
            "holidays": (
                "2024-01-01 2024-03-29 2024-04-01 2024-05-06 2024-05-27 2024-08-26 "
                "2024-12-25 2024-12-26"
            ).split(),
        },
        "apac": {
            "tz": "Australia/Sydney",
            "week": {
                **{d: ["08:00-17:00"] for d in _WEEKDAYS},
                "fri": ["08:00-17:00", "22:00-06:00"],
            },
        },
    },
    "sla": [
        {
            "name": "urgent",
            "match": {"priority": "urgent"},
            "first_response": "1h",
            "resolution": "8h",
            "business_hours": True,
        },
        {"name": "chat", "match": {"channel": "chat"}, "first_response": "5m"},
    ],
}

JOIN_RESULTS = [
    "contact_id",
    "recovered_7d",
    "hours_to_next_order",
    "attributed_orders",
    "attributed_revenue",
    "repeat_14d",
    "recontact_48h",
]


def _long(card: sk.Scorecard, grouping: str) -> pa.Table:
    """The card's rows for the compared KPIs, in the shared long format."""
    table = card.to_arrow()
    table = table.filter(pc.is_in(table["kpi"], pa.array(KPIS)))
    channel = (
        table["channel"].cast(pa.string())
        if "channel" in table.column_names
        else pa.nulls(len(table), pa.string())
    )
    return pa.table(
        {
            "period_start": table["period_start"].cast(pa.timestamp("us", tz="UTC")),
            "channel": channel,
            "grouping": pa.array([grouping] * len(table), pa.string()),
            "kpi": table["kpi"].cast(pa.string()),
            "value": table["value"].cast(pa.float64()),
        }
    )


def main(argv: list[str] | None = None) -> None:
    args = arguments(__doc__.splitlines()[0], argv, all_kpis=True)
    # The compared KPIs, or (None) every KPI of the catalogue.
    kpis = None if args.all_kpis else KPIS
    contact_columns, config = CONTACT_COLUMNS, None
    if args.business_time:
        contact_columns, config = CONTACT_COLUMNS + BUSINESS_COLUMNS, BUSINESS_CONFIG
    clock = PhaseClock()
    phase = clock.phase

    if args.route == "paths":
        # The files are scanned, not read: the engine reads the columns it uses one at a
        # time (as the peers' scans read only what the work selects), text as
        # dictionaries, and keeps only its own compact copy.
        contacts = sk.scan_parquet(args.data / "contacts.parquet", columns=contact_columns)
        orders = sk.scan_parquet(args.data / "orders.parquet", columns=ORDER_COLUMNS)
    else:
        # A notebook's route: the user reads pyarrow Tables (the same columns), then calls
        # the library; "read" is the user's time, the rest the library's.
        contacts = pq.read_table(args.data / "contacts.parquet", columns=contact_columns)
        orders = pq.read_table(args.data / "orders.parquet", columns=ORDER_COLUMNS)
    phase("read")
    if args.route == "one-call":
        # Three one-call functions on the same Tables: the scorecards take the joins the
        # first call made (the library keeps them for the same Table objects).
        enriched = sk.enrich_contacts(
            contacts, orders, config=config, output="arrow", contact_columns=["contact_id"]
        )
        phase("joins")
        total = sk.scorecard(contacts, orders, config=config, by="week", kpis=kpis)
        by_channel = sk.scorecard(
            contacts, orders, config=config, by="week", group_by=["channel"], kpis=kpis
        )
        phase("kpis")
        write(total, by_channel, enriched, args)
        phase("write")
        clock.report("supportkpi", sk.__version__)
        return
    # Validate and join once (as the peers join once), then take every view from it.
    data = sk.prepare(contacts, orders, config=config)
    # The compared join results with the contact's id (the peers' frames hold the read
    # columns anyway; here they would be read again from the file).
    enriched = data.enrich(output="arrow", contact_columns=["contact_id"])
    phase("joins")
    if args.route == "paths":
        # Both views in one call: the total is read from the by-channel view's passes.
        total, by_channel = data.scorecards(groupings=[None, ["channel"]], by="week", kpis=kpis)
    else:
        # Two calls, as the one-call route makes: the tables and one-call routes then
        # differ only in how the inputs are read and joined (what their target compares).
        total = data.scorecard(by="week", kpis=kpis)
        by_channel = data.scorecard(by="week", group_by=["channel"], kpis=kpis)
    phase("kpis")
    write(total, by_channel, enriched, args)
    phase("write")
    clock.report("supportkpi", sk.__version__)


def write(
    total: sk.Scorecard, by_channel: sk.Scorecard, enriched: pa.Table, args: argparse.Namespace
) -> None:
    """The compared KPIs in the shared long format, and the join results if asked."""
    pq.write_table(
        pa.concat_tables([_long(total, "total"), _long(by_channel, "channel")]), args.out
    )
    if args.joins_out is not None:
        pq.write_table(enriched.select(JOIN_RESULTS), args.joins_out)


if __name__ == "__main__":
    main()
