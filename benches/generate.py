"""Deterministic benchmark data: contacts, orders and sessions as Parquet (SPEC §1).

    python benches/generate.py --contacts 1000000 --out benches/data/1m

writes ``contacts.parquet`` (exactly ``--contacts`` rows), ``orders.parquet`` (exactly twice
as many rows) and ``sessions.parquet`` (pre-counted rows: date, device, sessions) covering one
year, 2024-01-01 (a Monday) to 2025-01-01, UTC.

The shape, vectorized (numpy PCG64, one stream per stage, so that the same seed and size
always give the same files):

* Customers (0.45 per contact) have a skewed activity (gamma, shape 0.5): most buy once or
  twice a year, a few every week. About 3% of orders are guest checkouts and 3% of contacts
  are anonymous (null ``customer_id``).
* Orders follow a weekly and seasonal curve (Q4 and Black Friday peaks) and an
  evening-heavy hour-of-day profile, at whole-second precision.
* Most contacts follow an order of the same customer by hours to weeks (tracking, returns,
  damage, cancellation); the others come before a purchase (product, shipping, payment and
  promo questions), and about one in five of those leads to an order within days
  (recovery).
* Unresolved and escalated contacts draw follow-ups on the same intent (repeat_14d,
  recontact_48h); a few contacts are duplicate tickets created at the same instant as
  another of the same customer (attribution ties).
* Edge rows, about 0.1% each, make the agreement check bite: orders at exactly a contact's
  created_at (never recovered: windows are open on the left), at exactly created_at + 7 d
  (recovered: closed on the right) and at + 7 d + 1 µs (not); follow-ups at exactly
  resolved_at + 48 h and created_at + 14 d.
* SPEC §9 columns for the business-time benchmark: ``calendar`` by the customer's region
  (``default`` / ``emea`` / ``apac``; null for anonymous contacts), ``priority``, ``reopens``
  (12% of resolved contacts reopened once or twice) and ``first_resolved_at``, drawn from a
  stream of their own so that the other columns do not change with them.
* Timestamps after the end of the range (replies, resolutions) are censored to null, as in a
  real export. Rows are written in export order: ids increase with created_at.

Cost: about 5 s and 0.35 GB of peak RSS per million contacts on one core (10M contacts: about a
minute and ~4 GB), mostly the contact columns being assembled; the Parquet files are written
one row group (2^20 rows) at a time.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

SEED = 20240101
SECOND = 1_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
START = 1_704_067_200 * SECOND  # 2024-01-01 00:00 UTC, a Monday
DAYS = 366
END = START + DAYS * DAY
TS = pa.timestamp("us", tz="UTC")
CHUNK = 1 << 20  # rows per Parquet row group (and per Arrow slice while writing)

CUSTOMERS_PER_CONTACT = 0.45
ORDERS_PER_CONTACT = 2
ANONYMOUS_CONTACT_SHARE = 0.03
GUEST_ORDER_SHARE = 0.03
POST_PURCHASE_SHARE = 0.58  # of the first contacts with a customer
DUPLICATE_SHARE = 0.004
EDGE_SHARE = 0.001

# fmt: off
HOUR_WEIGHTS = np.array([
    2.0, 1.5, 1.0, 0.8, 0.6, 0.6, 1.0, 2.0, 3.5, 4.5, 5.0, 5.2,
    5.5, 5.5, 5.6, 5.8, 6.0, 6.2, 6.5, 6.8, 6.6, 5.5, 4.2, 3.0,
])
# fmt: on
WEEKDAY_FACTOR = np.array([1.06, 1.00, 0.99, 0.97, 0.95, 0.92, 1.08])  # Monday first

CHANNELS = np.array(["email", "chat", "phone", "social", "sms", "self_service"])
FIRST_CHANNEL_SHARE = np.array([0.27, 0.29, 0.09, 0.05, 0.05, 0.25])
FOLLOW_UP_CHANNEL_SHARE = np.array([0.38, 0.24, 0.22, 0.06, 0.04, 0.06])
NULL_CHANNEL_SHARE = 0.004
AI_SHARE = np.array([0.45, 0.65, 0.06, 0.2, 0.5, 0.0, 0.3])  # per channel; last: null
HUMAN_REPLY_MEDIAN = np.array([120, 2.5, 1.5, 70, 25, 90, 60]) * MINUTE
HUMAN_RESOLVE_MEDIAN = np.array([16 * 60, 35, 15, 9 * 60, 4 * 60, 14 * 60, 60]) * MINUTE
HANDLED_BY = np.array(["self_service", "ai", "human"])
SELF_SERVICE, AI, HUMAN = 0, 1, 2

INTENTS = np.array(
    [
        "order_tracking",
        "shipping_info",
        "payment_issue",
        "promo_confusion",
        "returns",
        "product_question",
        "cancellation",
        "damaged_item",
        "account",
        "other",
    ]
)
JOURNEY_STEP = np.array(
    [
        "post_purchase",
        "checkout",
        "checkout",
        "cart",
        "post_purchase",
        "product_discovery",
        "post_purchase",
        "post_purchase",
        "account",
        "unknown",
    ]
)
# fmt: off
POST_PURCHASE_INTENT = np.array([0.40, 0.02, 0.04, 0.02, 0.22, 0.00, 0.12, 0.10, 0.04, 0.04])
PRE_PURCHASE_INTENT = np.array([0.00, 0.27, 0.11, 0.09, 0.00, 0.38, 0.00, 0.00, 0.10, 0.05])
RECOVERY_PROBABILITY = np.array([0.0, 0.20, 0.34, 0.25, 0.0, 0.18, 0.0, 0.0, 0.08, 0.05])
# fmt: on
NULL_INTENT_SHARE = 0.012
CSAT_SHARE = np.array([0.136, 0.012, 0.034, 0.135, 0.683])
NPS_SHARE = np.array([3, 1, 1, 2, 2, 5, 4, 8, 14, 22, 38], dtype=float)
CES_SHARE = np.array([4, 4, 6, 10, 18, 28, 30], dtype=float)
DEVICES = np.array(["mobile", "desktop", "tablet"])
DEVICE_SHARE = np.array([0.60, 0.34, 0.06])
TEMPLATES = np.array(["product_default", "quick_buy", "product_bundle"])
TEMPLATE_SHARE = np.array([0.62, 0.15, 0.23])
CAMPAIGNS = np.array(["newsletter", "retargeting", "summer_sale", "bfcm", "influencer"])
SEGMENTS = np.array(["vip", "returning", "new"])
ORDER_CHANNELS = np.array(["web", "app", "marketplace"])
N_AGENTS = 400
# SPEC §9 inputs: the business calendar by the customer's region (null, for anonymous
# contacts, reads as `default`), the priority an SLA policy matches, and reopens.
CALENDARS = np.array(["default", "emea", "apac"])
CALENDAR_SHARE = np.array([0.5, 0.35, 0.15])
PRIORITIES = np.array(["urgent", "high", "normal", "low"])
PRIORITY_SHARE = np.array([0.04, 0.16, 0.60, 0.20])
REOPENS_SHARE = np.array([0.88, 0.09, 0.03])  # 0, 1, 2 reopens of a resolved contact


def _rng(seed: int, stage: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64([seed, stage]))


def _day_weights() -> np.ndarray:
    day = np.arange(DAYS)
    weights = WEEKDAY_FACTOR[day % 7].copy()  # day 0 is a Monday
    weights *= 1.0 + 0.35 * np.clip((day - 290) / 45.0, 0.0, 1.0)  # Q4 ramp
    weights[(day >= 329) & (day < 337)] *= 2.2  # Black Friday / Cyber Monday (Nov 25 - Dec 2)
    weights[(day >= 176) & (day < 183)] *= 1.4  # summer sale
    return weights / weights.sum()


def _times(rng: np.random.Generator, n: int) -> np.ndarray:
    """n order/contact times over the year, whole seconds, UTC µs."""
    day = rng.choice(DAYS, size=n, p=_day_weights())
    hour = rng.choice(24, size=n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    second = rng.integers(0, 3600, size=n)
    return START + day * DAY + hour * HOUR + second * SECOND


def _seconds(values: np.ndarray) -> np.ndarray:
    """Durations in µs rounded to whole seconds (at least 1 s)."""
    return np.maximum(np.rint(values / SECOND), 1).astype(np.int64) * SECOND


def _pick(rng: np.random.Generator, shares: np.ndarray, n: int) -> np.ndarray:
    return rng.choice(len(shares), size=n, p=shares / shares.sum()).astype(np.int8)


def _strings(codes: np.ndarray, labels: np.ndarray) -> pa.Array:
    """A plain string column from int codes (negative = null)."""
    indices = pa.array(codes.astype(np.int32), mask=codes < 0)
    return pc.take(pa.array(labels.tolist(), pa.string()), indices)


def _timestamps(values: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    return pa.array(values, TS, mask=null)


def _floats(values: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    return pa.array(values, pa.float64(), mask=null)


def _cents(values: np.ndarray) -> np.ndarray:
    return np.round(values, 2)


class Contacts:
    """Contact arrays under construction (customer -1 = anonymous, intent -1 = null)."""

    def __init__(self, customer: np.ndarray, created: np.ndarray, intent: np.ndarray) -> None:
        self.customer = customer
        self.created = created
        self.intent = intent
        self.cols: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.created)


def _handle(rng: np.random.Generator, c: Contacts, channel_share: np.ndarray) -> None:
    """Channel, first line, escalation, reply and resolution times, scores and cost."""
    n = len(c)
    channel = _pick(rng, channel_share, n)
    channel[rng.random(n) < NULL_CHANNEL_SHARE] = -1
    ch = np.where(channel < 0, 6, channel)  # row index into the per-channel tables
    handled = np.where(rng.random(n) < AI_SHARE[ch], AI, HUMAN).astype(np.int8)
    handled[channel == 5] = SELF_SERVICE
    handled_null = rng.random(n) < 0.005
    escalated = np.where(
        handled == SELF_SERVICE, rng.random(n) < 0.30, (handled == AI) & (rng.random(n) < 0.22)
    )
    escalated_null = rng.random(n) < 0.01
    human_path = (handled == HUMAN) | escalated
    # First reply: seconds for the AI, minutes to hours for people, none for a help-center
    # attempt that was not escalated.
    reply = np.where(
        human_path,
        HUMAN_REPLY_MEDIAN[ch] * rng.lognormal(0.0, 1.0, n),
        np.where(handled == AI, 20 * SECOND * rng.lognormal(0.0, 0.5, n), 0.0),
    )
    first_response = c.created + _seconds(reply)
    no_reply = ((handled == SELF_SERVICE) & ~escalated) | (rng.random(n) < 0.03)
    # Resolution: most are resolved; people take longer than the AI or the help center.
    p_resolved = np.where(human_path, 0.93, np.where(handled == AI, 0.86, 0.70))
    resolved = rng.random(n) < p_resolved
    work = np.where(
        human_path,
        HUMAN_RESOLVE_MEDIAN[ch] * rng.lognormal(0.0, 1.1, n),
        np.where(handled == AI, 8 * MINUTE, 4 * MINUTE) * rng.lognormal(0.0, 0.8, n),
    )
    resolved_at = np.maximum(c.created + _seconds(work), np.where(no_reply, 0, first_response))
    first_null = no_reply | (first_response >= END)
    resolved_null = ~resolved | (resolved_at >= END)  # censored at the export
    handle = np.where(human_path, np.rint(480 * rng.lognormal(0.0, 0.6, n)), np.nan)
    handle_null = ~human_path | (rng.random(n) < 0.02)
    touches = np.where(
        handled == SELF_SERVICE, 0, 1 + rng.poisson(np.where(human_path, 0.8, 0.3), n)
    )
    touches_null = rng.random(n) < 0.05
    csat = (_pick(rng, CSAT_SHARE, n) + 1).astype(np.float64)
    # Unresolved or escalated contacts rate lower: pull some ratings down.
    unhappy = (resolved_null | escalated) & (rng.random(n) < 0.35)
    csat[unhappy] = np.maximum(csat[unhappy] - rng.integers(1, 4, unhappy.sum()), 1)
    csat_null = rng.random(n) >= 0.28
    nps = _pick(rng, NPS_SHARE, n).astype(np.float64)
    nps_null = rng.random(n) >= 0.08
    ces = (_pick(rng, CES_SHARE, n) + 1).astype(np.float64)
    ces_null = rng.random(n) >= 0.10
    cost = np.where(handled == SELF_SERVICE, 0.15, np.where(handled == AI, 0.90, 0.0)) + np.where(
        human_path, 2.0 + np.nan_to_num(handle) / 60.0 * 0.75, 0.0
    )
    cost_null = rng.random(n) < 0.01
    agent = np.where(human_path, rng.integers(0, N_AGENTS, n), -1)
    reviewed = (handled == AI) & ~escalated & ~resolved_null & (rng.random(n) < 0.35)
    correct = rng.random(n) < 0.9
    c.cols.update(
        channel=channel,
        handled_by=np.where(handled_null, -1, handled),
        escalated=escalated,
        escalated_null=escalated_null,
        first_response_at=first_response,
        first_response_null=first_null,
        resolved_at=resolved_at,
        resolved_null=resolved_null,
        handle_seconds=handle,
        handle_null=handle_null,
        touches=touches,
        touches_null=touches_null,
        csat=csat,
        csat_null=csat_null,
        nps=nps,
        nps_null=nps_null,
        ces=ces,
        ces_null=ces_null,
        cost=_cents(cost),
        cost_null=cost_null,
        agent=agent,
        device=_pick(rng, DEVICE_SHARE, n),
        template=_pick(rng, TEMPLATE_SHARE, n),
        campaign=np.where(rng.random(n) < 0.15, rng.integers(0, len(CAMPAIGNS), n), -1),
        resolution_correct=correct,
        reviewed=reviewed,
    )


def _take(c: Contacts, rows: np.ndarray) -> Contacts:
    out = Contacts(c.customer[rows], c.created[rows], c.intent[rows])
    out.cols = {k: v[rows] for k, v in c.cols.items()}
    return out


def _concat(parts: list[Contacts]) -> Contacts:
    out = Contacts(
        np.concatenate([p.customer for p in parts]),
        np.concatenate([p.created for p in parts]),
        np.concatenate([p.intent for p in parts]),
    )
    out.cols = {k: np.concatenate([p.cols[k] for p in parts]) for k in parts[0].cols}
    return out


def _exact(rng: np.random.Generator, n_rows: int, keep: int) -> np.ndarray:
    """Sorted positions of `keep` rows out of n_rows (all if fewer)."""
    if n_rows <= keep:
        return np.arange(n_rows)
    return np.sort(rng.permutation(n_rows)[:keep])


def generate(n_contacts: int, out: Path, seed: int = SEED) -> dict[str, int]:
    """Write the three tables into `out`; returns the row counts."""
    out.mkdir(parents=True, exist_ok=True)
    n_orders = ORDERS_PER_CONTACT * n_contacts
    n_customers = max(100, int(CUSTOMERS_PER_CONTACT * n_contacts))

    # Customers: skewed activity; ids are arbitrary distinct integers.
    rng = _rng(seed, 1)
    activity = rng.gamma(0.5, 1.0, n_customers)
    activity /= activity.sum()
    customer_ids = 100_000_000 + rng.permutation(n_customers).astype(np.int64) * 7 + 3
    segment = 2 - np.digitize(activity, np.quantile(activity, [0.6, 0.95]))  # 0 vip, 2 new

    # Base orders (recovery and edge orders are added later); 4% spare for the range cut.
    rng = _rng(seed, 2)
    n_base = int(n_orders * 0.94 * 1.04)
    order_customer = rng.choice(n_customers, size=n_base, p=activity)
    order_customer[rng.random(n_base) < GUEST_ORDER_SHARE] = -1
    order_created = _times(rng, n_base)

    # First contacts: anonymous, after an order, or before a purchase.
    rng = _rng(seed, 3)
    n_first = int(n_contacts * 0.86 * 1.04)
    kind = rng.random(n_first)
    anonymous = kind < ANONYMOUS_CONTACT_SHARE
    post = ~anonymous & (kind < ANONYMOUS_CONTACT_SHARE + POST_PURCHASE_SHARE)
    known = np.flatnonzero(order_customer >= 0)
    parent = known[rng.integers(0, len(known), n_first)]
    delay = _seconds(2.5 * DAY * rng.lognormal(0.0, 1.0, n_first))
    customer = np.where(post, order_customer[parent], rng.choice(n_customers, n_first, p=activity))
    customer[anonymous] = -1
    created = np.where(post, order_created[parent] + delay, _times(rng, n_first))
    intent = np.where(
        post,
        _pick(rng, POST_PURCHASE_INTENT, n_first),
        _pick(rng, PRE_PURCHASE_INTENT, n_first),
    )
    intent[rng.random(n_first) < NULL_INTENT_SHARE] = -1
    first = Contacts(customer, created, intent)
    _handle(_rng(seed, 4), first, FIRST_CHANNEL_SHARE)

    # Follow-ups on the same intent, more likely after an unresolved or escalated contact;
    # timed from the resolution (or the first contact when open). A few land exactly on the
    # 48 h and 14 d edges.
    rng = _rng(seed, 5)
    linkable = (first.customer >= 0) & (first.intent >= 0)
    p_follow = 0.10 + 0.30 * first.cols["resolved_null"] + 0.12 * first.cols["escalated"]
    parents = np.flatnonzero(linkable & (rng.random(len(first)) < p_follow))
    base = np.where(
        first.cols["resolved_null"][parents],
        first.created[parents],
        first.cols["resolved_at"][parents],
    )
    follow_created = base + _seconds(26 * HOUR * rng.lognormal(0.0, 1.3, len(parents)))
    edge = rng.random(len(parents))
    on_48h = (edge < 0.02) & ~first.cols["resolved_null"][parents]
    follow_created[on_48h] = first.cols["resolved_at"][parents][on_48h] + 48 * HOUR
    on_14d = (edge >= 0.02) & (edge < 0.04)
    follow_created[on_14d] = first.created[parents][on_14d] + 14 * DAY
    follow = Contacts(first.customer[parents], follow_created, first.intent[parents])
    _handle(_rng(seed, 6), follow, FOLLOW_UP_CHANNEL_SHARE)

    # Duplicate tickets: same customer, same instant, same intent, another channel.
    rng = _rng(seed, 7)
    dup_rows = np.flatnonzero((first.customer >= 0) & (rng.random(len(first)) < DUPLICATE_SHARE))
    dup = Contacts(first.customer[dup_rows], first.created[dup_rows], first.intent[dup_rows])
    _handle(_rng(seed, 8), dup, FIRST_CHANNEL_SHARE)

    contacts = _concat([first, follow, dup])
    del first, follow, dup
    # Keep exactly n_contacts rows inside the range, in export order (by created_at;
    # duplicates keep a random order between them); one gather of every column.
    rows = np.flatnonzero((contacts.created >= START) & (contacts.created < END))
    rows = rows[_exact(_rng(seed, 9), len(rows), n_contacts)]
    tiebreak = _rng(seed, 10).random(len(rows))
    contacts = _take(contacts, rows[np.lexsort((tiebreak, contacts.created[rows]))])
    del rows, tiebreak
    n_c = len(contacts)

    # Recovery orders after pre-purchase questions, and the edge orders.
    rng = _rng(seed, 11)
    with_customer = contacts.customer >= 0
    p_recover = np.where(contacts.intent >= 0, RECOVERY_PROBABILITY[contacts.intent], 0.0)
    rec = np.flatnonzero(with_customer & (rng.random(n_c) < p_recover))
    rec_created = contacts.created[rec] + _seconds(30 * HOUR * rng.exponential(1.0, len(rec)))
    edge_rows = np.flatnonzero(with_customer & (rng.random(n_c) < 3 * EDGE_SHARE))
    edge_kind = rng.integers(0, 3, len(edge_rows))
    edge_created = contacts.created[edge_rows] + np.choose(edge_kind, [0, 7 * DAY, 7 * DAY + 1])
    order_customer = np.concatenate(
        [order_customer, contacts.customer[rec], contacts.customer[edge_rows]]
    )
    order_created = np.concatenate([order_created, rec_created, edge_created])
    keep = np.flatnonzero((order_created >= START) & (order_created < END))
    keep = keep[_exact(_rng(seed, 12), len(keep), n_orders)]
    order_customer, order_created = order_customer[keep], order_created[keep]
    order = np.argsort(order_created, kind="stable")
    order_customer, order_created = order_customer[order], order_created[order]

    _write_contacts(out / "contacts.parquet", contacts, customer_ids, segment, seed)
    del contacts
    _write_orders(
        _rng(seed, 13), out / "orders.parquet", order_customer, order_created, customer_ids, segment
    )
    _write_sessions(_rng(seed, 14), out / "sessions.parquet", order_created)
    return {"contacts": n_c, "orders": len(order_created), "customers": n_customers}


def _write_chunks(path: Path, n: int, build: Callable[[slice], pa.Table]) -> None:
    """Writes `build(rows)` for consecutive row slices, one Parquet row group each, so that
    only one slice is held as Arrow at a time."""
    writer = None
    try:
        for start in range(0, n, CHUNK):
            table = build(slice(start, min(n, start + CHUNK)))
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()


def _business_columns(
    rng: np.random.Generator, customer: np.ndarray, created: np.ndarray, k: dict[str, np.ndarray]
) -> dict[str, pa.Array]:
    """calendar, priority, reopens and first_resolved_at (SPEC §9) for one slice of rows.

    A reopened contact was first resolved somewhere between its creation and its final
    resolution; a contact resolved once was first resolved at resolved_at."""
    n = len(created)
    region = np.searchsorted(np.cumsum(CALENDAR_SHARE[:-1]), (customer % 20) / 20, side="right")
    reopens = np.where(k["resolved_null"], 0, _pick(rng, REOPENS_SHARE, n)).astype(np.int64)
    share = rng.uniform(0.1, 0.7, n)
    first_resolved = np.where(
        reopens > 0,
        created + np.rint((k["resolved_at"] - created) * share / SECOND).astype(np.int64) * SECOND,
        k["resolved_at"],
    )
    return {
        "calendar": _strings(np.where(customer < 0, -1, region), CALENDARS),
        "priority": _strings(_pick(rng, PRIORITY_SHARE, n), PRIORITIES),
        "reopens": pa.array(reopens, mask=rng.random(n) < 0.02),
        "first_resolved_at": _timestamps(first_resolved, k["resolved_null"]),
    }


def _write_contacts(
    path: Path, c: Contacts, customer_ids: np.ndarray, segment: np.ndarray, seed: int
) -> None:
    agents = np.array([f"agent_{i:04d}" for i in range(N_AGENTS)])

    def build(rows: slice) -> pa.Table:
        k = {name: values[rows] for name, values in c.cols.items()}
        anonymous = c.customer[rows] < 0
        cust = np.where(anonymous, 0, c.customer[rows])
        intent = c.intent[rows]
        first_id = 5_000_000 + rows.start
        # Its own stream per slice: the columns above stay as they were before these existed.
        business = _business_columns(
            np.random.Generator(np.random.PCG64([seed, 15, rows.start])),
            c.customer[rows],
            c.created[rows],
            k,
        )
        return pa.table(
            {
                "contact_id": pa.array(np.arange(first_id, first_id + len(cust), dtype=np.int64)),
                "customer_id": pa.array(customer_ids[cust], pa.int64(), mask=anonymous),
                "created_at": _timestamps(c.created[rows]),
                "channel": _strings(k["channel"], CHANNELS),
                "intent": _strings(intent, INTENTS),
                "handled_by": _strings(k["handled_by"], HANDLED_BY),
                "escalated": pa.array(k["escalated"], pa.bool_(), mask=k["escalated_null"]),
                "first_response_at": _timestamps(k["first_response_at"], k["first_response_null"]),
                "resolved_at": _timestamps(k["resolved_at"], k["resolved_null"]),
                "handle_seconds": _floats(k["handle_seconds"], k["handle_null"]),
                "touches": pa.array(k["touches"].astype(np.int64), mask=k["touches_null"]),
                "csat": _floats(k["csat"], k["csat_null"]),
                "nps": _floats(k["nps"], k["nps_null"]),
                "ces": _floats(k["ces"], k["ces_null"]),
                "cost": _floats(k["cost"], k["cost_null"]),
                "agent_id": _strings(k["agent"], agents),
                "device": _strings(k["device"], DEVICES),
                "journey_step": _strings(intent, JOURNEY_STEP),
                "campaign": _strings(k["campaign"], CAMPAIGNS),
                "template": _strings(k["template"], TEMPLATES),
                "segment": _strings(np.where(anonymous, -1, segment[cust]), SEGMENTS),
                "resolution_correct": pa.array(
                    k["resolution_correct"], pa.bool_(), mask=~k["reviewed"]
                ),
                **business,
            }
        )

    _write_chunks(path, len(c), build)


def _write_orders(
    rng: np.random.Generator,
    path: Path,
    customer: np.ndarray,
    created: np.ndarray,
    customer_ids: np.ndarray,
    segment: np.ndarray,
) -> None:
    def build(rows: slice) -> pa.Table:
        guest = customer[rows] < 0
        cust = np.where(guest, 0, customer[rows])
        n = len(cust)
        revenue = _cents(55.0 * rng.lognormal(0.0, 0.8, n))
        refund = np.where(rng.random(n) < 0.08, _cents(revenue * rng.uniform(0.2, 1.0, n)), 0.0)
        discount = np.where(rng.random(n) < 0.30, _cents(revenue * rng.uniform(0.05, 0.3, n)), 0.0)
        appeasement = _cents(rng.uniform(5.0, 20.0, n))
        cogs = _cents(revenue * rng.uniform(0.4, 0.65, n))
        first_id = 70_000_000 + rows.start
        return pa.table(
            {
                "order_id": pa.array(np.arange(first_id, first_id + n, dtype=np.int64)),
                "customer_id": pa.array(customer_ids[cust], pa.int64(), mask=guest),
                "created_at": _timestamps(created[rows]),
                "revenue": _floats(revenue),
                "refund": _floats(refund),
                "discount": _floats(discount),
                "appeasement": _floats(appeasement, rng.random(n) >= 0.02),
                "cogs": _floats(cogs),
                "device": _strings(_pick(rng, DEVICE_SHARE, n), DEVICES),
                "channel": _strings(_pick(rng, np.array([0.62, 0.30, 0.08]), n), ORDER_CHANNELS),
                "segment": _strings(np.where(guest, 2, segment[cust]), SEGMENTS),
            }
        )

    _write_chunks(path, len(created), build)


def _write_sessions(rng: np.random.Generator, path: Path, order_created: np.ndarray) -> None:
    """Pre-counted daily sessions per device: ~35 sessions per order, noisy."""
    per_day = np.bincount((order_created - START) // DAY, minlength=DAYS).astype(float)
    share = np.array([0.58, 0.36, 0.06])
    counts = np.rint(
        per_day[:, None] * 35.0 * share[None, :] * rng.lognormal(0.0, 0.05, (DAYS, 3))
    ).astype(np.int64)
    day = np.repeat(np.arange(DAYS), 3)
    epoch_day = START // DAY
    table = pa.table(
        {
            "date": pa.array((epoch_day + day).astype(np.int32), pa.date32()),
            "device": _strings(np.tile(np.arange(3), DAYS), DEVICES),
            "sessions": pa.array(counts.ravel()),
        }
    )
    pq.write_table(table, path)


def parse_size(text: str) -> int:
    """'1m' -> 1_000_000, '100k' -> 100_000, '2500' -> 2500."""
    text = text.strip().lower().replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    number = text[:-1] if scale != 1 else text
    return int(float(number) * scale)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=parse_size, required=True, help="e.g. 1000000 or 1m")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    began = time.perf_counter()
    counts = generate(args.contacts, args.out, args.seed)
    print(
        f"wrote {args.out}: {counts['contacts']:,} contacts, {counts['orders']:,} orders, "
        f"{counts['customers']:,} customers in {time.perf_counter() - began:.1f} s"
    )


if __name__ == "__main__":
    main()
