"""The benchmark scorecard in DuckDB: SPEC §3 joins and weekly §5 KPIs from Parquet.

    python benches/peers/duckdb_scorecard.py --data benches/data/1m --out duckdb.parquet \
        [--joins-out duckdb_joins.parquet]

Loads contacts.parquet and orders.parquet (only the columns the work needs) into an
in-memory database, builds the per-contact joins as one table, then the weekly KPIs in UTC
without and with grouping by channel, and writes them in long format: period_start,
channel, grouping ("total" | "channel"), kpi, value. ``channel`` is null on "total" rows
(and on the null-channel group's rows, which ``grouping`` tells apart). Prints one JSON line
with the phase timings and peak RSS.

How the joins map onto DuckDB (windows are (t, t + W], SPEC §3):

* recovered_7d / hours_to_next_order: ``ASOF LEFT JOIN`` of contacts onto orders with
  ``c.customer_id = o.customer_id AND c.created_at < o.order_at``. DuckDB's ASOF condition
  may be strict, so the strict left edge needs no shifting; the match is the first order
  strictly after the contact, and ``order_at <= created_at + 7 days`` (the closed right
  edge) is checked on it: if the first later order is outside the window, none is inside.
* attribution: ``ASOF JOIN`` of orders onto contacts with ``o.order_at > t.contact_at``
  (the latest contact strictly before the order), then the 7-day check and a GROUP BY
  contact_id. DuckDB does not say which of several right rows with equal keys an ASOF
  join returns, so the right side is first reduced to one row per (customer_id,
  created_at) holding ``max(contact_id)``: ties go to the greatest id (SPEC §8.6).
* repeat_14d / recontact_48h: ``ASOF LEFT JOIN`` of contacts onto same-customer,
  same-intent contacts with ``later.next_at > c.created_at`` (resp. ``> c.resolved_at``),
  then the 14-day (48-hour) check. Strictness keeps a contact from matching itself. NULL
  keys never satisfy the equality conditions, so anonymous and null-intent contacts find
  nothing; a null resolved_at finds nothing and the flag is set to NULL.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import duckdb
from common import CONTACT_COLUMNS, KPIS, ORDER_COLUMNS, PhaseClock, arguments

ENRICH = """
CREATE TEMP TABLE enriched AS
WITH
known_orders AS (
    SELECT customer_id, created_at AS order_at, revenue
    FROM orders WHERE customer_id IS NOT NULL
),
later AS (
    SELECT customer_id, intent, created_at AS next_at
    FROM contacts WHERE customer_id IS NOT NULL AND intent IS NOT NULL
),
targets AS (  -- one row per (customer, instant): ties go to the greatest contact_id
    SELECT customer_id, created_at AS contact_at, max(contact_id) AS contact_id
    FROM contacts WHERE customer_id IS NOT NULL
    GROUP BY customer_id, created_at
),
attributed AS (
    SELECT t.contact_id, count(*) AS attributed_orders, sum(o.revenue) AS attributed_revenue
    FROM known_orders o
    ASOF JOIN targets t ON o.customer_id = t.customer_id AND o.order_at > t.contact_at
    WHERE o.order_at <= t.contact_at + INTERVAL 7 DAY
    GROUP BY t.contact_id
),
joined AS (
    SELECT
        c.*,
        CASE WHEN o.order_at <= c.created_at + INTERVAL 7 DAY THEN o.order_at END AS order_at,
        r.next_at <= c.created_at + INTERVAL 14 DAY AS repeat_hit,
        x.next_at <= c.resolved_at + INTERVAL 48 HOUR AS recontact_hit,
        coalesce(a.attributed_orders, 0) AS attributed_orders,
        coalesce(a.attributed_revenue, 0.0) AS attributed_revenue,
        CASE
            WHEN c.handled_by IS NULL THEN NULL
            WHEN c.handled_by = 'human' OR coalesce(c.escalated, false) THEN 'human'
            ELSE c.handled_by
        END AS path
    FROM contacts c
    ASOF LEFT JOIN known_orders o
        ON c.customer_id = o.customer_id AND c.created_at < o.order_at
    ASOF LEFT JOIN later r
        ON c.customer_id = r.customer_id AND c.intent = r.intent AND c.created_at < r.next_at
    ASOF LEFT JOIN later x
        ON c.customer_id = x.customer_id AND c.intent = x.intent AND c.resolved_at < x.next_at
    LEFT JOIN attributed a ON a.contact_id = c.contact_id
)
SELECT
    contact_id, customer_id, created_at, channel, intent, handled_by, escalated,
    first_response_at, resolved_at, touches, csat, cost, path,
    resolved_at IS NOT NULL AND path IN ('self_service', 'ai') AS resolved_without_human,
    order_at IS NOT NULL AS recovered_7d,
    created_at + INTERVAL 7 DAY <= getvariable('as_of') AS recovery_mature,
    (epoch_us(order_at) - epoch_us(created_at)) / 3.6e9 AS hours_to_next_order,
    attributed_orders,
    attributed_revenue,
    coalesce(repeat_hit, false) AS repeat_14d,
    created_at + INTERVAL 14 DAY <= getvariable('as_of') AS repeat_mature,
    CASE WHEN resolved_at IS NOT NULL THEN coalesce(recontact_hit, false) END AS recontact_48h,
    coalesce(resolved_at + INTERVAL 48 HOUR <= getvariable('as_of'), false) AS recontact_mature
FROM joined
"""

KPI_QUERY = """
WITH
weeks AS (
    SELECT unnest(generate_series(
        date_trunc('week', getvariable('first')),
        date_trunc('week', getvariable('as_of')),
        INTERVAL 1 WEEK
    )) AS period_start
),
grid AS (SELECT * FROM weeks {cross}),
orders_per_week AS (
    SELECT date_trunc('week', created_at) AS period_start, count(*) AS orders
    FROM orders GROUP BY ALL
),
cells AS (
    SELECT
        date_trunc('week', created_at) AS period_start, {keys}
        count(*) AS contacts,
        count(*) FILTER (WHERE resolved_without_human) AS deflected,
        count(*) FILTER (WHERE customer_id IS NOT NULL AND recontact_mature) AS recontact_den,
        count(*) FILTER (
            WHERE customer_id IS NOT NULL AND recontact_mature AND recontact_48h
        ) AS recontact_num,
        count(*) FILTER (
            WHERE customer_id IS NOT NULL AND recontact_mature
            AND (touches IS NULL OR touches <= 1) AND NOT recontact_48h
        ) AS fcr_num,
        avg(csat) AS csat_mean,
        count(*) FILTER (WHERE customer_id IS NOT NULL AND recovery_mature) AS recovery_den,
        count(*) FILTER (
            WHERE customer_id IS NOT NULL AND recovery_mature AND recovered_7d
        ) AS recovery_num,
        coalesce(sum(attributed_revenue) FILTER (WHERE recovery_mature), 0.0)
            AS recovered_revenue,
        count(*) FILTER (WHERE customer_id IS NOT NULL AND repeat_mature) AS repeat_den,
        count(*) FILTER (
            WHERE customer_id IS NOT NULL AND repeat_mature AND repeat_14d
        ) AS repeat_num,
        median((epoch_us(first_response_at) - epoch_us(created_at)) / 6e7) AS frt_median,
        median((epoch_us(resolved_at) - epoch_us(created_at)) / 3.6e9)
            AS resolution_time_median,
        coalesce(sum(cost), 0.0) AS cost,
        count(resolved_at) AS resolved
    FROM enriched
    GROUP BY ALL
),
wide AS (
    SELECT
        g.period_start,
        {channel} AS channel,
        coalesce(c.contacts, 0)::DOUBLE AS contacts,
        coalesce(w.orders, 0)::DOUBLE AS orders,
        CASE WHEN w.orders > 0 THEN coalesce(c.contacts, 0) / w.orders END AS tickets_per_order,
        CASE WHEN c.contacts > 0 THEN c.deflected / c.contacts END AS deflection_rate,
        CASE WHEN c.recontact_den > 0 THEN c.fcr_num / c.recontact_den END AS fcr_rate,
        c.csat_mean,
        CASE WHEN c.recovery_den > 0 THEN c.recovery_num / c.recovery_den END
            AS recovery_rate_7d,
        coalesce(c.recovered_revenue, 0.0) AS recovered_revenue,
        CASE WHEN c.repeat_den > 0 THEN c.repeat_num / c.repeat_den END
            AS repeat_contact_rate_14d,
        CASE WHEN c.recontact_den > 0 THEN c.recontact_num / c.recontact_den END
            AS recontact_rate_48h,
        c.frt_median,
        c.resolution_time_median,
        CASE WHEN c.resolved > 0 THEN c.cost / c.resolved END AS cost_per_resolved_contact
    FROM grid g
    LEFT JOIN cells c ON c.period_start = g.period_start {on}
    LEFT JOIN orders_per_week w ON w.period_start = g.period_start
)
SELECT period_start, channel, '{grouping}' AS grouping, kpi, value::DOUBLE AS value
FROM wide UNPIVOT INCLUDE NULLS (value FOR kpi IN ({kpis}))
"""


def kpi_query(grouped: bool) -> str:
    """The weekly KPIs in long format, over all contacts or per channel."""
    return KPI_QUERY.format(
        cross="CROSS JOIN (SELECT DISTINCT channel FROM contacts)" if grouped else "",
        keys="channel," if grouped else "",
        channel="g.channel" if grouped else "NULL::VARCHAR",
        on="AND c.channel IS NOT DISTINCT FROM g.channel" if grouped else "",
        grouping="channel" if grouped else "total",
        kpis=", ".join(KPIS),
    )


def main(argv: list[str] | None = None) -> None:
    args = arguments(__doc__.splitlines()[0], argv)
    clock = PhaseClock()
    phase = clock.phase

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")  # date_trunc('week', timestamptz) follows it
    # Spill (if ever) to the system temp dir, not to ./.tmp in the working directory.
    spill = Path(tempfile.gettempdir()) / f"duckdb-scorecard-{os.getpid()}"
    con.execute(f"SET temp_directory = '{spill}'")
    con.execute(
        f"CREATE TEMP TABLE contacts AS SELECT {', '.join(CONTACT_COLUMNS)} "
        f"FROM read_parquet('{args.data / 'contacts.parquet'}')"
    )
    con.execute(
        f"CREATE TEMP TABLE orders AS SELECT {', '.join(ORDER_COLUMNS)} "
        f"FROM read_parquet('{args.data / 'orders.parquet'}')"
    )
    phase("read")
    # SPEC §8.1: as_of is the latest created_at over contacts and orders.
    con.execute(
        "SET VARIABLE as_of = greatest("
        "(SELECT max(created_at) FROM contacts), (SELECT max(created_at) FROM orders))"
    )
    con.execute(
        "SET VARIABLE first = least("
        "(SELECT min(created_at) FROM contacts), (SELECT min(created_at) FROM orders))"
    )
    con.execute(ENRICH)
    phase("joins")
    con.execute(
        "CREATE TEMP TABLE kpis AS "
        f"({kpi_query(grouped=False)}) UNION ALL ({kpi_query(grouped=True)})"
    )
    phase("kpis")
    con.execute(f"COPY kpis TO '{args.out}' (FORMAT parquet)")
    if args.joins_out is not None:
        con.execute(
            "COPY (SELECT contact_id, recovered_7d, hours_to_next_order, attributed_orders, "
            "attributed_revenue, repeat_14d, recontact_48h FROM enriched) "
            f"TO '{args.joins_out}' (FORMAT parquet)"
        )
    phase("write")
    clock.report("duckdb", duckdb.__version__)


if __name__ == "__main__":
    main()
