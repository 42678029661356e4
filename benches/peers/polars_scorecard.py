"""The benchmark scorecard in polars: SPEC §3 joins and weekly §5 KPIs from Parquet.

    python benches/peers/polars_scorecard.py --data benches/data/1m --out polars.parquet \
        [--joins-out polars_joins.parquet]

Reads contacts.parquet and orders.parquet (only the columns the work needs), builds the
per-contact joins, then the weekly KPIs in UTC without and with ``group_by=["channel"]``,
and writes them in long format: period_start, channel, grouping ("total" | "channel"), kpi,
value. ``channel`` is null on "total" rows (and on the null-channel group's rows, which
``grouping`` tells apart). Prints one JSON line with the phase timings and peak RSS.

How the joins map onto polars (all per customer; windows are (t, t + W], SPEC §3):

* recovered_7d / hours_to_next_order: ``join_asof(strategy="forward")`` of contacts onto
  orders ``by="customer_id"`` with ``allow_exact_matches=False`` (the order must be strictly
  after the contact) and ``tolerance=7d`` (inclusive: an order at exactly t + 7 d counts).
* attribution: ``join_asof(strategy="backward")`` of orders onto contacts, again strict and
  with tolerance 7 d: each order finds the latest contact strictly before it. Ties on
  created_at: polars returns the *last* right row among equal keys, and the right side is
  sorted by (created_at, contact_id), so the greatest contact_id wins (SPEC §8.6). Then a
  group_by on contact_id sums revenue.
* repeat_14d: forward, strict, tolerance 14 d as-of join of contacts onto contacts by
  (customer_id, intent); strictness also keeps a contact from matching itself (or a
  duplicate at the same instant). Null customer or intent never matches: polars as-of
  ``by`` keys do not match nulls, and the right side drops them anyway.
* recontact_48h: the same as-of join, but the left key is resolved_at (tolerance 48 h);
  contacts are re-sorted by resolved_at with nulls last (a null left key finds nothing and
  the flag is set to null for unresolved contacts).

No 1 µs shifting is needed: ``allow_exact_matches=False`` gives the open left edge and the
inclusive tolerance the closed right edge.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
from common import CONTACT_COLUMNS, KPIS, ORDER_COLUMNS, PhaseClock, arguments

RECOVERY = dt.timedelta(days=7)
REPEAT = dt.timedelta(days=14)
RECONTACT = dt.timedelta(hours=48)


def _asof(left: pl.LazyFrame, right: pl.LazyFrame, **kwargs: object) -> pl.LazyFrame:
    # Both sides are sorted on their `on` column by the caller; polars cannot check that
    # when `by` is given, so skip the check (and its warning).
    return left.join_asof(right, allow_exact_matches=False, check_sortedness=False, **kwargs)


def enrich(contacts: pl.DataFrame, orders: pl.DataFrame, as_of: dt.datetime) -> pl.DataFrame:
    """One row per contact with the SPEC §3 join results (row order: by created_at)."""
    c = contacts.lazy()
    known = c.filter(pl.col("customer_id").is_not_null())
    o = (
        orders.lazy()
        .filter(pl.col("customer_id").is_not_null())
        .select("customer_id", pl.col("created_at").alias("order_at"), "revenue")
        .sort("order_at")
    )
    # Same-key later contacts, for repeat_14d and recontact_48h.
    later = (
        known.filter(pl.col("intent").is_not_null())
        .select("customer_id", "intent", pl.col("created_at").alias("next_at"))
        .sort("next_at")
    )
    base = c.sort("created_at")
    base = _asof(
        base,
        o.select("customer_id", "order_at"),
        left_on="created_at",
        right_on="order_at",
        by="customer_id",
        strategy="forward",
        tolerance=RECOVERY,
    )
    base = _asof(
        base,
        later,
        left_on="created_at",
        right_on="next_at",
        by=["customer_id", "intent"],
        strategy="forward",
        tolerance=REPEAT,
    ).rename({"next_at": "repeat_at"})
    base = _asof(
        base.sort("resolved_at", nulls_last=True),
        later,
        left_on="resolved_at",
        right_on="next_at",
        by=["customer_id", "intent"],
        strategy="forward",
        tolerance=RECONTACT,
    ).rename({"next_at": "recontact_at"})

    # Attribution: each order to the latest contact strictly before it (ties: greatest id).
    targets = known.select(
        "customer_id", pl.col("created_at").alias("contact_at"), "contact_id"
    ).sort("contact_at", "contact_id")
    attributed = (
        _asof(
            o,
            targets,
            left_on="order_at",
            right_on="contact_at",
            by="customer_id",
            strategy="backward",
            tolerance=RECOVERY,
        )
        .filter(pl.col("contact_id").is_not_null())
        .group_by("contact_id")
        .agg(
            pl.len().cast(pl.Int64).alias("attributed_orders"),
            pl.col("revenue").sum().alias("attributed_revenue"),
        )
    )

    escalated = pl.col("escalated").fill_null(False)
    handled_by = pl.col("handled_by")
    path = (
        pl.when(handled_by.is_null())
        .then(None)
        .when((handled_by == "human") | escalated)
        .then(pl.lit("human"))
        .otherwise(handled_by)
    )
    resolved = pl.col("resolved_at").is_not_null()
    return (
        base.join(attributed, on="contact_id", how="left")
        .with_columns(
            path.alias("path"),
            pl.col("attributed_orders").fill_null(0),
            pl.col("attributed_revenue").fill_null(0.0),
        )
        .select(
            *CONTACT_COLUMNS,
            "path",
            (resolved & pl.col("path").is_in(["self_service", "ai"])).alias(
                "resolved_without_human"
            ),
            pl.col("order_at").is_not_null().alias("recovered_7d"),
            (pl.col("created_at") + RECOVERY <= as_of).alias("recovery_mature"),
            ((pl.col("order_at") - pl.col("created_at")).dt.total_microseconds() / 3.6e9).alias(
                "hours_to_next_order"
            ),
            "attributed_orders",
            "attributed_revenue",
            pl.col("repeat_at").is_not_null().alias("repeat_14d"),
            (pl.col("created_at") + REPEAT <= as_of).alias("repeat_mature"),
            pl.when(resolved).then(pl.col("recontact_at").is_not_null()).alias("recontact_48h"),
            (resolved & (pl.col("resolved_at") + RECONTACT <= as_of)).alias("recontact_mature"),
        )
        .collect()
    )


def _ratio(num: str, den: str) -> pl.Expr:
    return pl.when(pl.col(den) > 0).then(pl.col(num) / pl.col(den))


def kpis(
    enriched: pl.LazyFrame,
    orders_per_week: pl.LazyFrame,
    weeks: pl.LazyFrame,
    groups: pl.LazyFrame | None,
) -> pl.LazyFrame:
    """Weekly KPIs in long format; `groups` holds the channel values when grouping."""
    keys = ["period_start"] if groups is None else ["period_start", "channel"]
    has_customer = pl.col("customer_id").is_not_null()
    mature_recovery = has_customer & pl.col("recovery_mature")
    mature_repeat = has_customer & pl.col("repeat_mature")
    mature_recontact = has_customer & pl.col("recontact_mature")
    recontacted = pl.col("recontact_48h").fill_null(False)
    single_touch = pl.col("touches").is_null() | (pl.col("touches") <= 1)
    cells = (
        enriched.with_columns(pl.col("created_at").dt.truncate("1w").alias("period_start"))
        .group_by(keys)
        .agg(
            pl.len().alias("contacts"),
            pl.col("resolved_without_human").sum().alias("deflected"),
            mature_recontact.sum().alias("recontact_den"),
            (mature_recontact & recontacted).sum().alias("recontact_num"),
            (mature_recontact & single_touch & ~recontacted).sum().alias("fcr_num"),
            pl.col("csat").mean().alias("csat_mean"),
            mature_recovery.sum().alias("recovery_den"),
            (mature_recovery & pl.col("recovered_7d")).sum().alias("recovery_num"),
            pl.col("attributed_revenue")
            .filter(pl.col("recovery_mature"))
            .sum()
            .alias("recovered_revenue"),
            mature_repeat.sum().alias("repeat_den"),
            (mature_repeat & pl.col("repeat_14d")).sum().alias("repeat_num"),
            ((pl.col("first_response_at") - pl.col("created_at")).dt.total_microseconds() / 6e7)
            .median()
            .alias("frt_median"),
            ((pl.col("resolved_at") - pl.col("created_at")).dt.total_microseconds() / 3.6e9)
            .median()
            .alias("resolution_time_median"),
            pl.col("cost").sum().alias("cost"),
            pl.col("resolved_at").is_not_null().sum().alias("resolved"),
        )
    )
    grid = weeks if groups is None else weeks.join(groups, how="cross")
    counts = [
        "contacts",
        "deflected",
        "recontact_den",
        "recontact_num",
        "fcr_num",
        "recovery_den",
        "recovery_num",
        "repeat_den",
        "repeat_num",
        "resolved",
    ]
    wide = (
        grid.join(cells, on=keys, how="left", nulls_equal=True)
        .join(orders_per_week, on="period_start", how="left")
        .with_columns(
            pl.col(counts).fill_null(0),
            pl.col("recovered_revenue", "cost").fill_null(0.0),
            pl.col("orders").fill_null(0),
        )
        .select(
            *keys,
            pl.col("contacts").cast(pl.Float64),
            pl.col("orders").cast(pl.Float64),
            _ratio("contacts", "orders").alias("tickets_per_order"),
            _ratio("deflected", "contacts").alias("deflection_rate"),
            _ratio("fcr_num", "recontact_den").alias("fcr_rate"),
            "csat_mean",
            _ratio("recovery_num", "recovery_den").alias("recovery_rate_7d"),
            "recovered_revenue",
            _ratio("repeat_num", "repeat_den").alias("repeat_contact_rate_14d"),
            _ratio("recontact_num", "recontact_den").alias("recontact_rate_48h"),
            "frt_median",
            "resolution_time_median",
            _ratio("cost", "resolved").alias("cost_per_resolved_contact"),
        )
    )
    if groups is None:
        wide = wide.with_columns(pl.lit(None, pl.String).alias("channel"))
    return wide.unpivot(
        index=["period_start", "channel"], on=KPIS, variable_name="kpi", value_name="value"
    ).select(
        "period_start",
        "channel",
        pl.lit("total" if groups is None else "channel").alias("grouping"),
        "kpi",
        pl.col("value").cast(pl.Float64),
    )


def main(argv: list[str] | None = None) -> None:
    args = arguments(__doc__.splitlines()[0], argv)
    clock = PhaseClock()
    phase = clock.phase

    contacts, orders = pl.collect_all(
        [
            pl.scan_parquet(args.data / "contacts.parquet").select(CONTACT_COLUMNS),
            pl.scan_parquet(args.data / "orders.parquet").select(ORDER_COLUMNS),
        ]
    )
    phase("read")
    as_of = max(contacts["created_at"].max(), orders["created_at"].max())  # SPEC §8.1
    first = min(contacts["created_at"].min(), orders["created_at"].min())
    enriched = enrich(contacts, orders, as_of)
    phase("joins")
    weeks = pl.LazyFrame(
        {
            "period_start": pl.datetime_range(
                pl.Series([first]).dt.truncate("1w")[0],
                pl.Series([as_of]).dt.truncate("1w")[0],
                "1w",
                time_unit="us",
                time_zone="UTC",
                eager=True,
            )
        }
    )
    orders_per_week = (
        orders.lazy()
        .group_by(pl.col("created_at").dt.truncate("1w").alias("period_start"))
        .agg(pl.len().alias("orders"))
    )
    channels = enriched.lazy().select(pl.col("channel").unique())
    total, by_channel = pl.collect_all(
        [
            kpis(enriched.lazy(), orders_per_week, weeks, None),
            kpis(enriched.lazy(), orders_per_week, weeks, channels),
        ]
    )
    phase("kpis")
    pl.concat([total, by_channel]).write_parquet(args.out)
    if args.joins_out is not None:
        enriched.select(
            "contact_id",
            "recovered_7d",
            "hours_to_next_order",
            "attributed_orders",
            "attributed_revenue",
            "repeat_14d",
            "recontact_48h",
        ).write_parquet(args.joins_out)
    phase("write")
    clock.report("polars", pl.__version__)


if __name__ == "__main__":
    main()
