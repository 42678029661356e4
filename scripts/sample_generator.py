"""The generator of the bundled sample: six months of synthetic ecommerce support data.

``generate_sample()`` builds four tables that follow the input contract (SPEC §1):
``contacts``, ``orders``, ``sessions`` (pre-counted daily rows per device) and ``events``
(the calendar). ``supportkpi.load_sample()`` reads the copy bundled under
``python/supportkpi/data``, which ``python scripts/sample_generator.py`` writes; a test
checks the two agree exactly. A development tool: the installed package does not carry it.

The data are made up, but shaped after real support operations so that every KPI has
something to say and the diagnostic rules of SPEC §7 have something to find:

* Customers have skewed activity (a gamma-distributed order propensity): most buy once or
  twice, a few buy every other week. About 3% of orders are guest checkouts and about 3%
  of contacts are anonymous (null ``customer_id``).
* Most contacts follow an order of the same customer (tracking, returns, damage,
  cancellation); the others come before a purchase (product, shipping, payment and promo
  questions) and some of those lead to an order within hours or days ("recovery").
* Unresolved, escalated or wrongly answered contacts draw follow-up contacts on the same
  intent, which is what repeat_contact_rate_14d, recontact_rate_48h and fcr_rate measure.
* Timestamps are censored at the end of the range: a reply or resolution that would come
  after the export is null, as it would be in a real export.
* CSAT follows the shape of a real ecommerce support export (the Shopzilla sample in the
  project's shared data: mean ~4.2, ~68% fives, ~14% ones), tilted per contact by path,
  speed, outcome and season.

The storyline (day offsets from ``start``; with the default start they fall on the dates
shown, and the events table lists the first three):

* Summer sale (promo, Jul 15-21): orders and promo questions up; returns and promo
  confusion follow, human queues slow down for two weeks (backlog after promo).
* AI assistant rolled out to email and more chat from Aug 5: deflection jumps, but AI
  answers to buying-stage questions convert less (deflection up, recovery down).
* Autumn collection launch (launch, Sep 9-10): order spike, shipments late, WISMO surge
  in the following two weeks.
* App release on Oct 7 breaks parts of the mobile checkout: mobile contacts per session
  rise against desktop's.
* Carrier-tracking data outage Aug 19 - Sep 1 (not on the calendar): the AI gives wrong
  tracking answers; repeat contacts and AI-resolution errors climb while volume stays
  flat, and AI CSAT sags.
* Black Friday / Cyber Monday (peak, Nov 25 - Dec 2): volume peak, slower humans, more
  escalations, lower CSAT.
* All period long the bundle product template ("product_bundle") draws about four times
  the contacts per order of the other templates (a friction hotspot).

Determinism: every stage draws from its own ``numpy.random.Generator(PCG64([seed,
stage]))`` and only uses generator methods whose streams numpy keeps stable (integers,
random, choice, normal, lognormal, exponential, poisson, gamma). Money is rounded to
cents and durations to whole microseconds or seconds, so tiny floating-point differences
between platforms do not show in the output.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


def _runtime_module():
    """The package's sample loader, by path (no compiled extension needed)."""
    path = Path(__file__).resolve().parents[1] / "python" / "supportkpi" / "_sample.py"
    spec = importlib.util.spec_from_file_location("supportkpi_sample_loader", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_LOADER = _runtime_module()
DATA_DIR: Path = _LOADER.DATA_DIR
TABLES: tuple[str, ...] = _LOADER.TABLES
SCHEMAS: dict[str, pa.Schema] = _LOADER.SCHEMAS
load_sample = _LOADER.load_sample
_to_pandas = _LOADER.to_pandas
_TIMESTAMP = pa.timestamp("us", tz="UTC")

__all__ = [
    "DATA_DIR",
    "DEFAULT_SEED",
    "generate_sample",
    "load_sample",
    "write_sample",
]

DEFAULT_SEED = 20240101
DEFAULT_START = "2024-06-10"  # a Monday: 26 whole ISO weeks, ending after Cyber Monday
DEFAULT_DAYS = 182
DEFAULT_CUSTOMERS = 40_000

SECOND_US = 1_000_000
MINUTE_US = 60 * SECOND_US
HOUR_US = 60 * MINUTE_US
DAY_US = 24 * HOUR_US
UTC = dt.UTC

# Orders placed before the range still produce contacts inside it (a return three weeks
# after purchase). Generating a warm-up month keeps the first weeks from looking quiet;
# its orders are then dropped, as an export window would drop them.
WARMUP_DAYS = 30
# Contacts can follow an order by weeks; the per-day factors must reach that far.
TAIL_DAYS = 90

# --- the storyline, as day offsets from `start` (see the module docstring) -------------
SUMMER_SALE = (35, 42)  # promo, [first day, day after the last)
POST_PROMO_QUEUE = (40, 56)  # human queues slowed by the promo's returns
AI_EXPANSION_DAY = 56
LAUNCH = (91, 93)
LATE_SHIPMENTS = (90, 97)  # orders placed in these days ship late
MOBILE_REGRESSION_DAY = 119
TRACKING_OUTAGE = (70, 84)
PRE_PEAK = (150, 168)
PEAK = (168, 176)
POST_PEAK_QUEUE = (168, 182)

# name, kind, (first day, day after the last), campaign tag on orders placed meanwhile
EVENTS = (
    ("Summer sale", "promo", SUMMER_SALE, "summer_sale"),
    ("Autumn collection launch", "launch", LAUNCH, "autumn_launch"),
    ("Black Friday / Cyber Monday", "peak", PEAK, "bfcm"),
)

# --- volumes --------------------------------------------------------------------------
ORDERS_PER_DAY = 200.0
PRE_PURCHASE_CONTACTS_PER_DAY = 52.0
SESSIONS_PER_DAY = 4_400.0
WEEKDAY_FACTOR = np.array([1.06, 1.00, 0.99, 0.97, 0.95, 0.92, 1.08])  # Monday first
ANONYMOUS_ORDER_SHARE = 0.03
ANONYMOUS_PRE_PURCHASE_SHARE = 0.035
NULL_INTENT_SHARE = 0.012

# Share of a day's orders and contacts by UTC hour: a European/US evening-heavy shop.
# fmt: off
HOUR_WEIGHTS = np.array([
    2.0, 1.5, 1.0, 0.8, 0.6, 0.6, 1.0, 2.0, 3.5, 4.5, 5.0, 5.2,
    5.5, 5.5, 5.6, 5.8, 6.0, 6.2, 6.5, 6.8, 6.6, 5.5, 4.2, 3.0,
])
# fmt: on

DEVICES = np.array(["mobile", "desktop", "tablet"], dtype=object)
SESSION_DEVICE_SHARE = np.array([0.58, 0.36, 0.06])
# Device of an order placed away from the customer's usual device: desktop converts better.
ORDER_DEVICE_SHARE = np.array([0.52, 0.41, 0.07])
# Where contacts come from when not from the device of the order: small screens ask more.
CONTACT_DEVICE_SHARE = np.array([0.64, 0.30, 0.06])

TEMPLATES = np.array(["product_default", "quick_buy", "product_bundle"], dtype=object)
ORDER_TEMPLATE_SHARE = np.array([0.72, 0.18, 0.10])
PAGE_TEMPLATE_SHARE = np.array([0.58, 0.12, 0.30])  # where pre-purchase contacts start
BUNDLE = 2  # index of the friction template in TEMPLATES

ORDER_CHANNELS = np.array(["web", "app", "marketplace"], dtype=object)
SEGMENTS = np.array(["vip", "returning", "new"], dtype=object)

CHANNELS = np.array(["email", "chat", "phone", "social", "sms", "self_service"], dtype=object)
EMAIL, CHAT, PHONE, SOCIAL, SMS, SELF_SERVICE_CHANNEL = range(6)
FIRST_CONTACT_CHANNEL_SHARE = np.array([0.27, 0.29, 0.09, 0.05, 0.05, 0.25])
FOLLOW_UP_CHANNEL_SHARE = np.array([0.38, 0.24, 0.22, 0.06, 0.04, 0.06])
# Per channel, in the order of CHANNELS. The AI assistant's share of first-line contacts,
# before and after its rollout to email (AI_EXPANSION_DAY).
AI_SHARE = np.array([0.12, 0.55, 0.06, 0.2, 0.5, 0.0])
AI_SHARE_AFTER_ROLLOUT = np.array([0.50, 0.72, 0.06, 0.2, 0.5, 0.0])
# Typical human first reply, time to resolve, and agent working time; an escalated
# help-center attempt (channel self_service) becomes an email-like ticket.
HUMAN_REPLY_MEDIAN_US = np.array([100, 2.5, 1.5, 70, 25, 80]) * MINUTE_US
HUMAN_WORK_MEDIAN_US = np.array([16 * 60, 30, 14, 9 * 60, 4 * 60, 14 * 60]) * MINUTE_US
HANDLE_MEDIAN_SECONDS = np.array([7, 12, 9, 6, 5, 8]) * 60.0

# SPEC §4: intent -> journey step; other values map to "unknown", null stays null.
JOURNEY_STEP = {
    "order_tracking": "post_purchase",
    "shipping_info": "checkout",
    "payment_issue": "checkout",
    "promo_confusion": "cart",
    "returns": "post_purchase",
    "product_question": "product_discovery",
    "cancellation": "post_purchase",
    "damaged_item": "post_purchase",
    "account": "account",
}

PRE_PURCHASE_INTENTS = np.array(
    [
        "product_question",
        "shipping_info",
        "payment_issue",
        "promo_confusion",
        "account",
        "other",
    ],
    dtype=object,
)
PRE_PURCHASE_INTENT_SHARE = np.array([0.38, 0.27, 0.11, 0.09, 0.10, 0.05])
# Chance that a contact before a purchase ends in an order within days, by intent.
RECOVERY_PROBABILITY = {
    "product_question": 0.18,
    "shipping_info": 0.20,
    "payment_issue": 0.34,
    "promo_confusion": 0.25,
    "cancellation": 0.18,  # cancel and reorder
    "returns": 0.07,  # exchanges
}

CSAT_LEVELS = np.arange(1, 6, dtype=float)
# The CSAT distribution of the Shopzilla export (shared/data): 1..5.
CSAT_BASE_SHARE = np.array([0.136, 0.012, 0.034, 0.135, 0.683])

N_AGENTS = 32
NEW_HIRES = 4  # the last agents, hired on MOBILE_REGRESSION_DAY: slower, lower CSAT


def generate_sample(
    seed: int = DEFAULT_SEED,
    n_customers: int = DEFAULT_CUSTOMERS,
    start: str | dt.date | dt.datetime = DEFAULT_START,
    days: int = DEFAULT_DAYS,
) -> dict[str, pd.DataFrame]:
    """Generate the sample tables.

    Args:
        seed: the random seed; the same seed always gives the same tables.
        n_customers: size of the customer base the orders and contacts are drawn from.
        start: first day of the range (a date, or an ISO string), taken as UTC midnight.
        days: length of the range in days. The storyline is placed at fixed day offsets
            from ``start`` (see the module docstring); parts beyond the range are left out.

    Returns:
        ``{"contacts", "orders", "sessions", "events"}`` as pandas DataFrames, with the
        same dtypes as :func:`load_sample`.
    """
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    if n_customers < 1:
        raise ValueError(f"n_customers must be at least 1, got {n_customers}")
    timeline = _Timeline(_start_micros(start), days)
    customers = _customers(_stream(seed, 1), n_customers)
    orders = _base_orders(_stream(seed, 2), timeline, customers)
    first_contacts = _concat(
        _post_purchase_contacts(_stream(seed, 3), timeline, orders),
        _pre_purchase_contacts(_stream(seed, 4), timeline, customers),
    )
    contacts = _handle_with_follow_ups(_stream(seed, 5), timeline, first_contacts)
    recovery = _recovery_orders(_stream(seed, 6), timeline, contacts, customers)
    orders = _concat(orders, recovery)
    _book_refunds_and_appeasements(_stream(seed, 7), orders, contacts)
    _finish_contacts(_stream(seed, 8), timeline, contacts)
    tables = {
        "contacts": _contacts_table(timeline, contacts, customers),
        "orders": _orders_table(timeline, orders, n_customers),
        "sessions": _sessions_table(_stream(seed, 9), timeline),
        "events": _events_table(timeline),
    }
    return {name: _to_pandas(name, table) for name, table in tables.items()}


def write_sample(directory: str | Path, tables: dict[str, pd.DataFrame] | None = None) -> None:
    """Write ``tables`` (default: :func:`generate_sample`) as zstd Parquet files.

    Writes ``contacts.parquet``, ``orders.parquet``, ``sessions.parquet`` and
    ``events.parquet`` into ``directory`` (created if missing).
    """
    tables = generate_sample() if tables is None else tables
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name in TABLES:
        table = pa.Table.from_pandas(tables[name], schema=SCHEMAS[name], preserve_index=False)
        # No pandas metadata: the files stay plain Arrow, and _to_pandas sets the dtypes.
        table = table.replace_schema_metadata(None)
        pq.write_table(
            table,
            directory / f"{name}.parquet",
            compression="zstd",
            compression_level=19,
        )


# --- randomness and time --------------------------------------------------------------


def _stream(seed: int, stage: int) -> np.random.Generator:
    """An independent stream per stage, so changing one stage leaves the others alone."""
    return np.random.Generator(np.random.PCG64([seed, stage]))


def _start_micros(start: str | dt.date | dt.datetime) -> int:
    if isinstance(start, str):
        start = dt.date.fromisoformat(start[:10])
    if isinstance(start, dt.datetime):
        start = start.date()
    midnight = dt.datetime(start.year, start.month, start.day, tzinfo=UTC)
    return int(midnight.timestamp()) * SECOND_US


def _pick(rng: np.random.Generator, shares: np.ndarray, size: int) -> np.ndarray:
    """Indices drawn with the given shares (they need not sum to one)."""
    shares = np.asarray(shares, dtype=float)
    return rng.choice(len(shares), size=size, p=shares / shares.sum())


def _pick_rows(rng: np.random.Generator, shares: np.ndarray) -> np.ndarray:
    """One index per row of ``shares`` (rows x options), drawn with that row's shares."""
    cumulative = np.cumsum(shares / shares.sum(axis=1, keepdims=True), axis=1)
    draws = rng.random(len(shares))[:, None]
    return np.minimum((draws > cumulative).sum(axis=1), shares.shape[1] - 1)


def _durations(rng: np.random.Generator, median_us: np.ndarray, sigma: float) -> np.ndarray:
    """Lognormal durations in whole microseconds around per-row medians."""
    median_us = np.asarray(median_us, dtype=float)
    return np.rint(median_us * rng.lognormal(0.0, sigma, size=median_us.shape)).astype(np.int64)


def _times_of_day(rng: np.random.Generator, size: int) -> np.ndarray:
    hours = _pick(rng, HOUR_WEIGHTS, size)
    return hours * HOUR_US + rng.integers(0, HOUR_US, size=size)


def _in(days: np.ndarray, window: tuple[int, int]) -> np.ndarray:
    return (days >= window[0]) & (days < window[1])


class _Timeline:
    """Day-level factors of the storyline, indexed by day offset from the start."""

    def __init__(self, start_us: int, days: int) -> None:
        self.start_us = start_us
        self.start_date = dt.date(1970, 1, 1) + dt.timedelta(days=start_us // DAY_US)
        self.days = days
        self.end_us = start_us + days * DAY_US
        self.first_day = -WARMUP_DAYS
        day = np.arange(-WARMUP_DAYS, days + TAIL_DAYS)
        self.day = day
        weekday = (self.start_date.weekday() + day) % 7
        self.weekday = weekday
        # Slow growth over the half year.
        trend = 1.0 + 0.12 * np.clip(day, 0, None) / max(days, 1)
        self.order_factor = WEEKDAY_FACTOR[weekday] * trend * self._demand(day, weekday)
        self.session_factor = WEEKDAY_FACTOR[weekday] * trend * np.sqrt(self._demand(day, weekday))
        # How much slower human queues answer and resolve than on a normal day.
        self.queue_load = np.ones(len(day))
        self.queue_load[_in(day, POST_PROMO_QUEUE)] = 1.9
        self.queue_load[_in(day, (LAUNCH[0] + 3, LAUNCH[0] + 17))] = 1.3
        self.queue_load[_in(day, POST_PEAK_QUEUE)] = 2.3

    @staticmethod
    def _demand(day: np.ndarray, weekday: np.ndarray) -> np.ndarray:
        demand = np.ones(len(day))
        demand[_in(day, SUMMER_SALE)] = 1.9
        demand[_in(day, LAUNCH)] = 2.6
        demand[_in(day, PRE_PEAK)] = 1.15
        peak = _in(day, PEAK)
        demand[peak] = 1.8
        # Black Friday, the weekend after it, Cyber Monday: the peak's first Friday on.
        black_friday = (
            PEAK[0] + int(np.argmax(weekday[_in(day, PEAK)] == 4)) if peak.any() else None
        )
        if black_friday is not None:
            for offset, factor in ((0, 4.0), (1, 2.8), (2, 2.5), (3, 3.5)):
                demand[(day == black_friday + offset) & peak] = factor
        return demand

    def index(self, days: np.ndarray) -> np.ndarray:
        return np.clip(days - self.first_day, 0, len(self.day) - 1)

    def day_of(self, micros: np.ndarray) -> np.ndarray:
        return (micros - self.start_us) // DAY_US

    def campaign_on(self, days: np.ndarray) -> np.ndarray:
        campaign = np.full(len(days), None, dtype=object)
        for _name, _kind, window, tag in EVENTS:
            campaign[_in(days, window)] = tag
        return campaign


def _concat(*parts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}


def _is_none(values: np.ndarray) -> np.ndarray:
    return np.array([value is None for value in values], dtype=bool)


def _take(part: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, np.ndarray]:
    return {key: values[mask] for key, values in part.items()}


# --- customers and orders -------------------------------------------------------------


def _customers(rng: np.random.Generator, n_customers: int) -> dict[str, np.ndarray]:
    # Gamma with shape < 1: most customers rarely buy, a few buy all the time.
    activity = rng.gamma(0.8, size=n_customers)
    rank = np.empty(n_customers, dtype=np.int64)
    rank[np.argsort(-activity, kind="stable")] = np.arange(n_customers)
    segment = np.where(rank < 0.04 * n_customers, 0, np.where(rank < 0.40 * n_customers, 1, 2))
    return {
        "order_weight": activity / activity.sum(),
        # Contacting is related to buying, but some customers just ask more than others.
        "contact_weight": _normalized(activity * rng.lognormal(0.0, 0.6, size=n_customers)),
        "device": _pick(rng, SESSION_DEVICE_SHARE, n_customers),
        "segment": segment,
    }


def _normalized(weights: np.ndarray) -> np.ndarray:
    return weights / weights.sum()


def _base_orders(
    rng: np.random.Generator, timeline: _Timeline, customers: dict
) -> dict[str, np.ndarray]:
    per_day = rng.poisson(ORDERS_PER_DAY * timeline.order_factor[: WARMUP_DAYS + timeline.days])
    day = np.repeat(timeline.day[: WARMUP_DAYS + timeline.days], per_day)
    created = timeline.start_us + day * DAY_US + _times_of_day(rng, len(day))
    return _new_orders(rng, timeline, customers, created)


def _new_orders(
    rng: np.random.Generator,
    timeline: _Timeline,
    customers: dict,
    created: np.ndarray,
    customer: np.ndarray | None = None,
    device: np.ndarray | None = None,
    template: np.ndarray | None = None,
    campaign: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Orders at the given times; attributes not given are drawn (customer by activity)."""
    n = len(created)
    if customer is None:
        customer = _pick(rng, customers["order_weight"], n)
        customer[rng.random(n) < ANONYMOUS_ORDER_SHARE] = -1
    known = customer >= 0
    if device is None:
        # Customers mostly shop on their usual device.
        device = _pick(rng, ORDER_DEVICE_SHARE, n)
        usual = known & (rng.random(n) < 0.75)
        device[usual] = customers["device"][customer[usual]]
    if template is None:
        template = _pick(rng, ORDER_TEMPLATE_SHARE, n)
    if campaign is None:
        campaign = timeline.campaign_on(timeline.day_of(created))
        campaign[rng.random(n) < 0.35] = None  # not every order in a sale came from it
        newsletter = _is_none(campaign) & (rng.random(n) < 0.08)
        campaign[newsletter] = "newsletter"
    channel = np.where(
        rng.random(n) < 0.09, 2, np.where((device != 1) & (rng.random(n) < 0.35), 1, 0)
    )
    segment = np.where(known, customers["segment"][np.maximum(customer, 0)], -1)
    basket = rng.lognormal(np.log(52.0), 0.62, size=n)
    basket *= np.where(segment == 0, 1.35, 1.0) * np.where(template == BUNDLE, 1.7, 1.0)
    revenue = np.round(np.maximum(basket, 4.99), 2)
    discounted = np.isin(campaign, ["summer_sale", "bfcm"])
    discount = np.where(
        discounted, np.round(revenue * rng.choice([0.15, 0.2, 0.3], size=n), 2), 0.0
    )
    cogs = np.round(revenue * rng.normal(0.52, 0.05, size=n).clip(0.35, 0.7), 2)
    return {
        "customer": customer,
        "created": created.astype(np.int64),
        "revenue": revenue,
        "discount": discount,
        "refund": np.zeros(n),
        "appeasement": np.zeros(n),
        "cogs": cogs,
        "device": device,
        "channel": channel,
        "segment": segment,
        "campaign": campaign,
        "template": template,
    }


# --- contacts -------------------------------------------------------------------------


def _contacts(**columns: np.ndarray) -> dict[str, np.ndarray]:
    n = len(columns["created"])
    defaults = {"order": np.full(n, -1), "generation": np.zeros(n, dtype=np.int64)}
    return {**defaults, **columns}


def _post_purchase_contacts(
    rng: np.random.Generator, timeline: _Timeline, orders: dict
) -> dict[str, np.ndarray]:
    """Contacts about an order: tracking, returns, damage, cancellation, billing, promo."""
    order_day = timeline.day_of(orders["created"])
    bundle = orders["template"] == BUNDLE
    on_sale = np.isin(orders["campaign"], ["summer_sale", "bfcm"])
    late = _in(order_day, LATE_SHIPMENTS)
    peak = _in(order_day, (PEAK[0] - 2, PEAK[1]))
    n = len(order_day)
    # intent: (chance per order, median delay after the order, spread)
    reasons = {
        "order_tracking": (
            0.07 * np.where(bundle, 2.5, 1.0) * np.where(late, 3.5, 1.0) * np.where(peak, 1.7, 1.0),
            4 * DAY_US,
            0.45,
        ),
        "returns": (
            0.04 * np.where(bundle, 4.5, 1.0) * np.where(on_sale, 2.4, 1.0),
            12 * DAY_US,
            0.45,
        ),
        "damaged_item": (0.011 * np.where(bundle, 3.0, 1.0), 5 * DAY_US, 0.35),
        "cancellation": (0.018 * np.where(on_sale, 1.5, 1.0), 5 * HOUR_US, 1.1),
        "promo_confusion": (
            np.where(on_sale, 0.05, 0.006) * np.where(bundle, 4.0, 1.0),
            10 * HOUR_US,
            1.2,
        ),
        "payment_issue": (0.006 * np.ones(n), 6 * HOUR_US, 1.2),
    }
    parts = []
    for intent, (chance, median_delay, spread) in reasons.items():
        which = np.flatnonzero(rng.random(n) < chance)
        delay = _durations(rng, np.full(len(which), median_delay), spread)
        device = orders["device"][which].copy()
        switched = rng.random(len(which)) < 0.35
        device[switched] = _pick(rng, CONTACT_DEVICE_SHARE, int(switched.sum()))
        parts.append(
            _contacts(
                customer=orders["customer"][which],
                created=orders["created"][which] + delay,
                intent=np.full(len(which), intent, dtype=object),
                device=device,
                template=orders["template"][which],
                campaign=orders["campaign"][which],
                order=which,
            )
        )
    return _concat(*parts)


def _pre_purchase_contacts(
    rng: np.random.Generator, timeline: _Timeline, customers: dict
) -> dict[str, np.ndarray]:
    """Questions before a purchase (and account issues), some from anonymous visitors."""
    day = timeline.day[: WARMUP_DAYS + timeline.days]
    demand = timeline.order_factor[: WARMUP_DAYS + timeline.days]
    # Questions grow with traffic, less than orders do.
    rate = PRE_PURCHASE_CONTACTS_PER_DAY * np.sqrt(demand) * np.where(demand > 1.5, 1.15, 1.0)
    per_day = rng.poisson(rate)
    # After the app release, mobile shoppers hit checkout bugs and ask for help.
    mobile_extra = rng.poisson(np.where(day >= MOBILE_REGRESSION_DAY, 0.45 * rate, 0.0))
    contact_day = np.concatenate([np.repeat(day, per_day), np.repeat(day, mobile_extra)])
    from_regression = np.concatenate(
        [np.zeros(per_day.sum(), bool), np.ones(mobile_extra.sum(), bool)]
    )
    n = len(contact_day)
    created = timeline.start_us + contact_day * DAY_US + _times_of_day(rng, n)

    on_sale = _in(contact_day, SUMMER_SALE) | _in(contact_day, PEAK)
    shares = np.tile(PRE_PURCHASE_INTENT_SHARE, (n, 1))
    shares[on_sale, 3] *= 3.5  # promo confusion during sales
    shares[from_regression] = [0.05, 0.25, 0.45, 0.25, 0.0, 0.0]  # checkout breakage
    intent = PRE_PURCHASE_INTENTS[_pick_rows(rng, shares)]

    customer = _pick(rng, customers["contact_weight"], n)
    customer[rng.random(n) < ANONYMOUS_PRE_PURCHASE_SHARE] = -1
    device = _pick(rng, CONTACT_DEVICE_SHARE, n)
    usual = (customer >= 0) & (rng.random(n) < 0.6)
    device[usual] = customers["device"][customer[usual]]
    device[from_regression] = 0
    on_a_page = np.isin(
        intent,
        ["product_question", "shipping_info", "payment_issue", "promo_confusion"],
    )
    template = np.where(on_a_page, _pick(rng, PAGE_TEMPLATE_SHARE, n), -1)
    campaign = timeline.campaign_on(contact_day)
    campaign[rng.random(n) < 0.4] = None
    return _contacts(
        customer=customer,
        created=created,
        intent=intent,
        device=device,
        template=template,
        campaign=campaign,
    )


def _handle_with_follow_ups(
    rng: np.random.Generator, timeline: _Timeline, first: dict
) -> dict[str, np.ndarray]:
    """Handle the first contacts, then the follow-ups they draw (two rounds)."""
    rounds = [_handle(rng, timeline, first)]
    for generation in (1, 2):
        follow_ups = _follow_ups(rng, timeline, rounds[-1], generation)
        rounds.append(_handle(rng, timeline, follow_ups))
    return _concat(*rounds)


def _handle(rng: np.random.Generator, timeline: _Timeline, contacts: dict) -> dict[str, np.ndarray]:
    """Route each contact and draw how it went: replies, resolution, effort, ratings."""
    n = len(contacts["created"])
    created = contacts["created"]
    day = timeline.day_of(created)
    load = timeline.queue_load[timeline.index(day)]
    intent = contacts["intent"]
    follow_up = contacts["generation"] > 0
    peak = _in(day, PEAK)
    outage = _in(day, TRACKING_OUTAGE)
    ai_expanded = day >= AI_EXPANSION_DAY

    # Channel: follow-ups move to email and phone, payment problems to phone and chat.
    shares = np.where(follow_up[:, None], FOLLOW_UP_CHANNEL_SHARE, FIRST_CONTACT_CHANNEL_SHARE)
    shares[intent == "payment_issue", PHONE] *= 2.0
    shares[intent == "damaged_item", EMAIL] *= 1.8
    shares[peak, SELF_SERVICE_CHANNEL] *= 1.2
    channel = _pick_rows(rng, shares)

    # First line: the AI assistant takes part of chat, sms and (after the rollout) email.
    ai_share = np.where(ai_expanded, AI_SHARE_AFTER_ROLLOUT[channel], AI_SHARE[channel])
    ai = rng.random(n) < ai_share * np.where(follow_up, 0.6, 1.0)
    self_service = channel == SELF_SERVICE_CHANNEL
    handled_by = np.where(self_service, "self_service", np.where(ai, "ai", "human")).astype(object)
    # Routing data missing for a few agent-handled contacts: no path, so no agent data.
    unrouted = ~(self_service | ai) & (rng.random(n) < 0.005)
    handled_by[unrouted] = None

    escalation_chance = np.where(self_service, 0.20, 0.26)
    escalation_chance = escalation_chance * np.where(peak, 1.75, 1.0)
    escalation_chance = escalation_chance * np.where(follow_up, 1.5, 1.0)
    escalation_chance = np.where(outage & (intent == "order_tracking"), 0.15, escalation_chance)
    escalated = (self_service | ai) & ~unrouted & (rng.random(n) < escalation_chance)
    human_path = ~(self_service | ai) | escalated

    # Wrong AI answers: mostly the tracking outage, when the AI quotes stale carrier data.
    wrong_chance = np.where(
        outage & np.isin(intent, ["order_tracking", "shipping_info"]), 0.6, 0.06
    )
    wrong_answer = ai & ~escalated & (rng.random(n) < wrong_chance)

    # Agents: new hires join on the mobile regression day and are slower.
    agent = _pick(rng, np.r_[np.full(N_AGENTS - NEW_HIRES, 4.0), np.full(NEW_HIRES, 3.0)], n)
    veteran = _pick(rng, np.ones(N_AGENTS - NEW_HIRES), n)
    agent = np.where(
        (agent >= N_AGENTS - NEW_HIRES) & (day < MOBILE_REGRESSION_DAY), veteran, agent
    )
    agent_speed = np.r_[_agent_traits(N_AGENTS - NEW_HIRES, 0.18), np.full(NEW_HIRES, 1.45)]
    agent_mood = np.r_[np.linspace(-0.25, 0.25, N_AGENTS - NEW_HIRES), np.full(NEW_HIRES, -0.45)]

    # First reply: AI in seconds, humans in minutes to hours depending on the channel.
    human_reply_median = HUMAN_REPLY_MEDIAN_US[channel] * np.where(
        np.isin(channel, [CHAT, PHONE]), np.sqrt(load), load
    )
    ai_reply = _durations(rng, np.full(n, 25 * SECOND_US), 0.8)
    human_reply = _durations(rng, human_reply_median, 1.0)
    first_reply = np.where(ai, ai_reply, human_reply)
    # A help-center attempt gets no reply unless it is escalated.
    first_reply = np.where(self_service & ~escalated, -1, first_reply)
    first_reply[human_path & (rng.random(n) < 0.015)] = -1  # not recorded

    # Resolution time from the start of the contact.
    human_work_median = HUMAN_WORK_MEDIAN_US[channel] * load * agent_speed[agent]
    human_work = _durations(rng, human_work_median, 1.0)
    escalation_wait = np.where(ai, _durations(rng, np.full(n, 4 * MINUTE_US), 0.7), 0)
    to_resolve = np.select(
        [self_service & ~escalated, ai & ~escalated],
        [
            _durations(rng, np.full(n, 3 * MINUTE_US), 0.8),
            ai_reply + _durations(rng, np.full(n, 6 * MINUTE_US), 0.9),
        ],
        np.maximum(first_reply, 0) + escalation_wait + human_work,
    )
    resolve_chance = np.select([self_service & ~escalated, ai & ~escalated], [0.86, 0.95], 0.93)
    resolved = rng.random(n) < resolve_chance
    resolved_at = np.where(resolved, created + to_resolve, -1)
    first_response_at = np.where(first_reply >= 0, created + first_reply, -1)

    # Agent time and replies.
    handle_median = (
        HANDLE_MEDIAN_SECONDS[channel]
        * np.where(escalated, 1.3, 1.0)
        * np.where(np.isin(intent, ["returns", "damaged_item"]), 1.25, 1.0)
    )
    handle_seconds = np.round(handle_median * agent_speed[agent] * rng.lognormal(0.0, 0.55, size=n))
    recorded = human_path & ~unrouted & (rng.random(n) >= 0.01)
    handle_seconds = np.where(recorded, handle_seconds, np.nan)
    touches = np.select(
        [self_service & ~escalated, ai & ~escalated],
        [np.zeros(n, np.int64), 1 + rng.poisson(0.15, size=n)],
        1 + rng.poisson(0.3, size=n) + escalated,
    )
    touches[rng.random(n) < 0.01] = -1  # not recorded

    # How the customer felt: a tilt applied to the real CSAT shape (positive = happier).
    reply_hours = np.maximum(first_reply, 0) / HOUR_US
    tilt = (
        0.5
        - 0.30 * (ai & ~escalated)
        - 0.50 * escalated
        - 0.45 * follow_up
        - 0.35 * np.clip(np.log1p(reply_hours) - 1.0, 0.0, None)
        - 0.45 * (intent == "damaged_item")
        - 0.35 * peak
        - 1.2 * wrong_answer
        - 0.25 * (contacts["template"] == BUNDLE)
        + np.where(human_path, agent_mood[agent], 0.0)
    )
    csat_shares = CSAT_BASE_SHARE * np.exp(np.outer(tilt, CSAT_LEVELS - 3.0))
    csat = CSAT_LEVELS[_pick_rows(rng, csat_shares)]
    csat = np.where(resolved & (rng.random(n) < 0.45), csat, np.nan)
    nps = np.clip(np.rint(rng.normal(7.9 + 1.2 * tilt, 2.1, size=n)), 0, 10)
    nps = np.where(rng.random(n) < 0.15, nps, np.nan)
    effort = (
        5.6 + 0.7 * tilt - 0.8 * escalated - 0.5 * follow_up + 0.4 * (self_service & ~escalated)
    )
    ces = np.clip(np.rint(rng.normal(effort, 1.2, size=n)), 1, 7)
    ces = np.where(rng.random(n) < 0.15, ces, np.nan)

    # Fully loaded cost: per help-center visit, per AI conversation, per agent minute.
    agent_cost = (
        1.5 + 0.8 * np.nan_to_num(handle_seconds) / 60 + np.where(channel == PHONE, 1.0, 0.0)
    )
    bot_cost = np.where(
        self_service, 0.2, np.where(ai, 0.9 + 0.25 * np.maximum(touches - 1, 0), 0.0)
    )
    cost = np.round(bot_cost + np.where(human_path, agent_cost, 0.0), 2)

    # QA reviews a sample of AI resolutions.
    ai_resolved = ai & ~escalated & resolved
    reviewed = ai_resolved & (rng.random(n) < 0.3)
    resolution_correct = np.where(reviewed, np.where(wrong_answer, 0, 1), -1)

    return {
        **contacts,
        "channel": channel,
        "handled_by": handled_by,
        "escalated": escalated,
        "human_path": human_path,
        "first_response_at": first_response_at.astype(np.int64),
        "resolved_at": resolved_at.astype(np.int64),
        "handle_seconds": handle_seconds,
        "touches": touches.astype(np.int64),
        "csat": csat,
        "nps": nps,
        "ces": ces,
        "cost": cost,
        "agent": np.where(human_path & ~unrouted, agent, -1),
        "resolution_correct": resolution_correct,
        "wrong_answer": wrong_answer,
    }


def _agent_traits(n: int, spread: float) -> np.ndarray:
    """Fixed, evenly spread agent speed factors (deterministic, no extra draws)."""
    return np.exp(np.linspace(-spread, spread, n))


def _follow_ups(
    rng: np.random.Generator, timeline: _Timeline, handled: dict, generation: int
) -> dict[str, np.ndarray]:
    """Contacts on the same issue that come back: unresolved, escalated or wrong answers."""
    n = len(handled["created"])
    resolved = handled["resolved_at"] >= 0
    chance = np.select(
        [handled["wrong_answer"], ~resolved, handled["escalated"]],
        [0.80, 0.30, 0.12],
        0.055,
    ) * (0.5 if generation > 1 else 1.0)
    which = np.flatnonzero(rng.random(n) < chance)
    parent = _take(handled, which)
    m = len(which)
    # Back soon after a resolution that did not hold, or days later when nobody answered.
    after_resolution = parent["resolved_at"] + _durations(rng, np.full(m, 20 * HOUR_US), 1.0)
    after_waiting = parent["created"] + _durations(rng, np.full(m, 3 * DAY_US), 0.6)
    created = np.where(parent["resolved_at"] >= 0, after_resolution, after_waiting)
    device = parent["device"].copy()
    switched = rng.random(m) < 0.2
    device[switched] = _pick(rng, CONTACT_DEVICE_SHARE, int(switched.sum()))
    return _contacts(
        customer=parent["customer"],
        created=created,
        intent=parent["intent"],
        device=device,
        template=parent["template"],
        campaign=parent["campaign"],
        order=parent["order"],
        generation=np.full(m, generation),
    )


def _recovery_orders(
    rng: np.random.Generator, timeline: _Timeline, contacts: dict, customers: dict
) -> dict[str, np.ndarray]:
    """Orders that follow a contact within hours or days: the support-to-sale recovery."""
    n = len(contacts["created"])
    day = timeline.day_of(contacts["created"])
    base = np.array([RECOVERY_PROBABILITY.get(intent, 0.0) for intent in contacts["intent"]])
    resolved = contacts["resolved_at"] >= 0
    ai_only = contacts["handled_by"] == "ai"
    ai_only &= ~contacts["escalated"]
    chance = base * np.where(resolved, 1.0, 0.45) * np.where(contacts["human_path"], 1.15, 1.0)
    # After the rollout the assistant answers buying questions generically: fewer sales.
    generic_answers = (
        ai_only
        & (day >= AI_EXPANSION_DAY)
        & np.isin(contacts["intent"], ["product_question", "shipping_info"])
    )
    chance = chance * np.where(generic_answers, 0.3, 1.0)
    which = np.flatnonzero((contacts["customer"] >= 0) & (rng.random(n) < chance))
    # Most buy within hours of the answer; a tail decides over the following days.
    soon = rng.random(len(which)) < 0.65
    delay = np.where(
        soon,
        _durations(rng, np.full(len(which), 3 * HOUR_US), 1.0),
        _durations(rng, np.full(len(which), 2 * DAY_US), 0.7),
    )
    created = contacts["created"][which] + delay
    template = contacts["template"][which]
    template = np.where(template >= 0, template, 0)
    return _new_orders(
        rng,
        timeline,
        customers,
        created,
        customer=contacts["customer"][which],
        device=contacts["device"][which],
        template=template,
        campaign=contacts["campaign"][which],
    )


def _book_refunds_and_appeasements(rng: np.random.Generator, orders: dict, contacts: dict) -> None:
    """Returns become refunds, damaged or late orders get credits, on the order they concern."""
    first = (
        (contacts["order"] >= 0) & (contacts["generation"] == 0) & (contacts["resolved_at"] >= 0)
    )
    n = len(contacts["created"])
    draws = rng.random(n)
    shares = rng.choice([1.0, 0.5], size=n, p=[0.7, 0.3])
    credits = rng.choice([5.0, 10.0, 15.0, 20.0], size=n)
    for i in np.flatnonzero(first):
        order, intent = contacts["order"][i], contacts["intent"][i]
        revenue = orders["revenue"][order]
        if intent == "returns" and draws[i] < 0.8:
            orders["refund"][order] = round(revenue * shares[i], 2)
        elif intent == "damaged_item":
            if draws[i] < 0.6:
                orders["refund"][order] = revenue
            else:
                orders["appeasement"][order] = credits[i]
        elif intent == "order_tracking" and contacts["human_path"][i] and draws[i] < 0.15:
            orders["appeasement"][order] = credits[i]


def _finish_contacts(rng: np.random.Generator, timeline: _Timeline, contacts: dict) -> None:
    """What the export shows: nothing after its end, a few intents never classified."""
    n = len(contacts["created"])
    end = timeline.end_us
    # Replies and resolutions after the export are not known yet; nor are their surveys.
    contacts["first_response_at"][contacts["first_response_at"] >= end] = -1
    unresolved_yet = contacts["resolved_at"] >= end
    contacts["resolved_at"][unresolved_yet] = -1
    contacts["csat"][unresolved_yet] = np.nan
    contacts["resolution_correct"][unresolved_yet] = -1
    intent = contacts["intent"].copy()
    intent[rng.random(n) < NULL_INTENT_SHARE] = None
    contacts["intent"] = intent


# --- tables ---------------------------------------------------------------------------


def _micros_to_arrow(micros: np.ndarray) -> pa.Array:
    """int64 microseconds (-1 = null) as a UTC timestamp array."""
    return pa.array(micros, type=pa.int64(), mask=micros < 0).cast(_TIMESTAMP)


def _labels(codes: np.ndarray, labels: np.ndarray) -> pa.Array:
    """Integer codes (-1 = null) as strings."""
    codes = np.asarray(codes, dtype=np.int64)
    return pa.array(np.where(codes >= 0, labels[np.maximum(codes, 0)], None), type=pa.string())


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    return pa.array(
        [None if k < 0 else f"{prefix}{k:0{width}d}" for k in numbers.tolist()],
        type=pa.string(),
    )


def _customer_width(n_customers: int) -> int:
    return max(5, len(str(n_customers)))


def _contacts_table(timeline: _Timeline, contacts: dict, customers: dict) -> pa.Table:
    created = contacts["created"]
    keep = (created >= timeline.start_us) & (created < timeline.end_us)
    contacts = _take(contacts, keep)
    order = np.argsort(contacts["created"], kind="stable")
    c = _take(contacts, order)
    n = len(order)
    intent = c["intent"]
    journey = [None if value is None else JOURNEY_STEP.get(value, "unknown") for value in intent]
    n_customers = len(customers["segment"])
    segment = np.where(c["customer"] >= 0, customers["segment"][np.maximum(c["customer"], 0)], -1)
    columns = {
        "contact_id": _ids("C", np.arange(1, n + 1), max(6, len(str(n)))),
        "customer_id": _ids("U", c["customer"], _customer_width(n_customers)),
        "created_at": _micros_to_arrow(c["created"]),
        "channel": _labels(c["channel"], CHANNELS),
        "intent": pa.array(intent, type=pa.string()),
        "handled_by": pa.array(c["handled_by"], type=pa.string()),
        "escalated": pa.array(c["escalated"], type=pa.bool_()),
        "first_response_at": _micros_to_arrow(c["first_response_at"]),
        "resolved_at": _micros_to_arrow(c["resolved_at"]),
        "handle_seconds": pa.array(c["handle_seconds"], type=pa.float64(), from_pandas=True),
        "touches": pa.array(c["touches"], type=pa.int64(), mask=c["touches"] < 0),
        "csat": pa.array(c["csat"], type=pa.float64(), from_pandas=True),
        "nps": pa.array(c["nps"], type=pa.float64(), from_pandas=True),
        "ces": pa.array(c["ces"], type=pa.float64(), from_pandas=True),
        "cost": pa.array(c["cost"], type=pa.float64()),
        "agent_id": _ids("A", c["agent"] + np.where(c["agent"] >= 0, 1, 0), 3),
        "device": _labels(c["device"], DEVICES),
        "journey_step": pa.array(journey, type=pa.string()),
        "campaign": pa.array(c["campaign"], type=pa.string()),
        "template": _labels(c["template"], TEMPLATES),
        "segment": pa.array(
            np.where(segment >= 0, SEGMENTS[np.maximum(segment, 0)], "guest"),
            type=pa.string(),
        ),
        "resolution_correct": pa.array(
            c["resolution_correct"] == 1,
            type=pa.bool_(),
            mask=c["resolution_correct"] < 0,
        ),
    }
    return pa.table(columns, schema=SCHEMAS["contacts"])


def _orders_table(timeline: _Timeline, orders: dict, n_customers: int) -> pa.Table:
    created = orders["created"]
    keep = (created >= timeline.start_us) & (created < timeline.end_us)
    orders = _take(orders, keep)
    order = np.argsort(orders["created"], kind="stable")
    o = _take(orders, order)
    n = len(order)
    columns = {
        "order_id": _ids("O", np.arange(1, n + 1), max(7, len(str(n)))),
        "customer_id": _ids("U", o["customer"], _customer_width(n_customers)),
        "created_at": _micros_to_arrow(o["created"]),
        "revenue": pa.array(o["revenue"], type=pa.float64()),
        "refund": pa.array(o["refund"], type=pa.float64()),
        "discount": pa.array(o["discount"], type=pa.float64()),
        "appeasement": pa.array(o["appeasement"], type=pa.float64()),
        "cogs": pa.array(o["cogs"], type=pa.float64()),
        "device": _labels(o["device"], DEVICES),
        "channel": _labels(o["channel"], ORDER_CHANNELS),
        "segment": pa.array(
            np.where(o["segment"] >= 0, SEGMENTS[np.maximum(o["segment"], 0)], "guest"),
            type=pa.string(),
        ),
        "campaign": pa.array(o["campaign"], type=pa.string()),
        "template": _labels(o["template"], TEMPLATES),
    }
    return pa.table(columns, schema=SCHEMAS["orders"])


def _sessions_table(rng: np.random.Generator, timeline: _Timeline) -> pa.Table:
    day = np.arange(timeline.days)
    factor = timeline.session_factor[timeline.index(day)]
    counts = rng.poisson(SESSIONS_PER_DAY * factor[:, None] * SESSION_DEVICE_SHARE[None, :])
    first = timeline.start_date
    dates = [first + dt.timedelta(days=int(d)) for d in np.repeat(day, len(DEVICES))]
    return pa.table(
        {
            "date": pa.array(dates, type=pa.date32()),
            "device": pa.array(np.tile(DEVICES, timeline.days), type=pa.string()),
            "sessions": pa.array(counts.reshape(-1), type=pa.int64()),
        },
        schema=SCHEMAS["sessions"],
    )


def _events_table(timeline: _Timeline) -> pa.Table:
    inside = [event for event in EVENTS if event[2][0] < timeline.days]
    starts = np.array([timeline.start_us + w[0] * DAY_US for _, _, w, _ in inside])
    ends = np.array([timeline.start_us + w[1] * DAY_US for _, _, w, _ in inside])
    return pa.table(
        {
            "name": pa.array([name for name, *_ in inside], type=pa.string()),
            "kind": pa.array([kind for _, kind, *_ in inside], type=pa.string()),
            "start": _micros_to_arrow(starts.astype(np.int64)),
            "end": _micros_to_arrow(ends.astype(np.int64)),
        },
        schema=SCHEMAS["events"],
    )


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DATA_DIR
    write_sample(target)
    total = sum((target / f"{name}.parquet").stat().st_size for name in TABLES)
    print(f"wrote {', '.join(TABLES)} to {target} ({total:,} bytes)")
