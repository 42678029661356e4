"""The benchmark scorecard with supportkpi: SPEC §3 joins and weekly §5 KPIs from Parquet.

    python benches/peers/supportkpi_scorecard.py --data benches/data/1m --out sk.parquet \
        [--joins-out sk_joins.parquet]

The same work as the polars and DuckDB peers: read contacts.parquet and orders.parquet
(pyarrow, only the columns the work needs, as the peers' scans do), the per-contact joins
(``sk.enrich_contacts``), then the weekly scorecard in UTC without and with
``group_by=["channel"]`` (``sk.scorecard``), written in the same long format (period_start,
channel, grouping, kpi, value) for the same KPI subset. Prints one JSON line with the phase
timings and peak RSS.

Notes on fairness: ``sk.scorecard`` computes every KPI its inputs allow (backlog,
peak-to-trough, repurchase cohorts, ... from these columns), not only the subset compared
here, and each call re-runs the joins; the peers compute exactly the subset, joining once.
``enrich_contacts`` gets only the columns the joins read, so that its pandas result stays
small.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import supportkpi as sk

KPIS = [
    "contacts",
    "orders",
    "tickets_per_order",
    "deflection_rate",
    "fcr_rate",
    "csat_mean",
    "recovery_rate_7d",
    "recovered_revenue",
    "repeat_contact_rate_14d",
    "recontact_rate_48h",
    "frt_median",
    "resolution_time_median",
    "cost_per_resolved_contact",
]
CONTACT_COLUMNS = [
    "contact_id",
    "customer_id",
    "created_at",
    "channel",
    "intent",
    "handled_by",
    "escalated",
    "first_response_at",
    "resolved_at",
    "touches",
    "csat",
    "cost",
]
JOIN_COLUMNS = [
    "contact_id",
    "customer_id",
    "created_at",
    "intent",
    "handled_by",
    "escalated",
    "resolved_at",
]
ORDER_COLUMNS = ["order_id", "customer_id", "created_at", "revenue"]
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--joins-out", type=Path)
    args = parser.parse_args(argv)

    phases: dict[str, float] = {}
    began = mark = time.perf_counter()

    def phase(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        phases[name] = now - mark
        mark = now

    contacts = pq.read_table(args.data / "contacts.parquet", columns=CONTACT_COLUMNS)
    orders = pq.read_table(args.data / "orders.parquet", columns=ORDER_COLUMNS)
    phase("read")
    enriched = sk.enrich_contacts(contacts.select(JOIN_COLUMNS), orders)
    phase("joins")
    total = sk.scorecard(contacts, orders, by="week")
    by_channel = sk.scorecard(contacts, orders, by="week", group_by=["channel"])
    phase("kpis")
    pq.write_table(
        pa.concat_tables([_long(total, "total"), _long(by_channel, "channel")]), args.out
    )
    if args.joins_out is not None:
        joins = pa.Table.from_pandas(enriched[JOIN_RESULTS], preserve_index=False)
        pq.write_table(joins, args.joins_out)
    phase("write")
    report = {
        "contender": "supportkpi",
        "version": sk.__version__,
        "work_s": time.perf_counter() - began,
        "phases": phases,
        "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
