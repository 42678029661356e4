"""False alarms and detection (issue #20, SPEC §10): how many weekly rule firings and
intervention bands a scorecard raises on data with no real change, and whether the rules
still fire on a change injected on purpose.

    python benches/noise.py            # the bundled sample and 5 generated data sets
    python benches/noise.py --seeds 10

Run it with any installed version of supportkpi: the figures in benches/NOISE.md (quoted in
README.md) compare the release before SPEC §10.2–10.3 (no min_sample, rules without
significance, hotspots without a test) with this one, on the same data.

The generated data are stationary: 26 weeks, about 1,500 contacts a week from 8,000
customers, every attribute drawn from one fixed distribution (channel, path, escalation,
resolution, CSAT, handle time, agent among 20, device, template, intent), orders at a
constant rate with the same device and template mix as the contacts, a launch and a promo
event in the middle. Nothing changes, so every band outside healthy that is not a fixed
property of the distributions, and every rule firing, is noise. With ``inject=True`` the
same generator changes three things from week 20: self-service takes 10 points of share
(deflection up), the chance that a contact is followed by an order within 7 days drops from
25% to 14% (recovery down), and one template draws three times its share of contacts (a
friction hotspot); ``deflection_up_conversion_down`` must fire in week 20 and
``friction_hotspot`` on that template from week 20.
"""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np
import pandas as pd
import supportkpi as sk

WEEKS = 26
START = pd.Timestamp("2024-01-01", tz="UTC")  # a Monday
CHANGE_WEEK = 20
TEMPLATES = np.array(["product_default", "product_bundle", "quick_buy", "gift", "sale_page"])
TEMPLATE_SHARE = np.array([0.4, 0.2, 0.2, 0.1, 0.1])
DEVICES = np.array(["mobile", "desktop", "tablet"])
DEVICE_SHARE = np.array([0.55, 0.38, 0.07])
INTENTS = np.array(
    ["order_tracking", "returns", "product_question", "payment", "shipping", "account"]
)
INTENT_SHARE = np.array([0.25, 0.2, 0.2, 0.1, 0.15, 0.1])


def generate(seed: int, *, inject: bool = False) -> dict[str, pd.DataFrame]:
    """Contacts, orders and events of one stationary data set (see the module's doc)."""
    rng = np.random.default_rng(seed)
    n = 1_500 * WEEKS
    day = np.sort(rng.uniform(0, 7 * WEEKS, n))
    created = START + pd.to_timedelta(day, unit="D")
    changed = (day // 7 >= CHANGE_WEEK) & inject
    self_service = rng.random(n) < np.where(changed, 0.40, 0.30)
    ai = ~self_service & (rng.random(n) < 0.35)
    handled_by = np.where(self_service, "self_service", np.where(ai, "ai", "human"))
    channel = np.where(
        self_service, "self_service", rng.choice(["chat", "email", "phone"], n, p=[0.5, 0.35, 0.15])
    )
    escalated = ai & (rng.random(n) < 0.3)
    resolved = rng.random(n) < 0.88
    response_minutes = np.where(ai, rng.exponential(1.0, n), rng.exponential(45.0, n))
    first_response = created + pd.to_timedelta(
        np.where(self_service, np.nan, response_minutes), unit="min"
    )
    resolved_at = created + pd.to_timedelta(
        np.where(resolved, rng.exponential(8.0, n) + response_minutes / 60, np.nan), unit="h"
    )
    human = handled_by == "human"
    rated = rng.random(n) < 0.3
    csat = np.where(rated, rng.choice([1, 2, 3, 4, 5], n, p=[0.04, 0.04, 0.08, 0.3, 0.54]), np.nan)
    template_share = np.tile(TEMPLATE_SHARE, (n, 1))
    if inject:
        # One template draws three times its share of the contacts from the change on.
        hot = np.array([0.4, 0.2, 0.2, 0.3, 0.1]) / 1.2
        template_share[changed] = hot
    template = TEMPLATES[(rng.random((n, 1)) > np.cumsum(template_share, axis=1)).sum(axis=1)]
    customers = rng.integers(0, 8_000, n)
    contacts = pd.DataFrame(
        {
            "contact_id": np.arange(n),
            "customer_id": [f"U{c:05d}" for c in customers],
            "created_at": created,
            "channel": channel,
            "intent": rng.choice(INTENTS, n, p=INTENT_SHARE),
            "handled_by": handled_by,
            "escalated": escalated,
            "first_response_at": first_response,
            "resolved_at": resolved_at,
            "handle_seconds": np.where(human, rng.gamma(4.0, 150.0, n), np.nan),
            "touches": rng.integers(1, 4, n),
            "csat": csat,
            "agent_id": np.where(human, [f"A{a:02d}" for a in rng.integers(0, 20, n)], None),
            "device": rng.choice(DEVICES, n, p=DEVICE_SHARE),
            "template": template,
        }
    )
    # Orders: a constant background rate, plus a follow-up within 7 days of a contact with
    # a constant chance (lower after the change when injected).
    background = 2 * n
    order_day = rng.uniform(0, 7 * WEEKS, background)
    follow = rng.random(n) < np.where(changed, 0.14, 0.25)
    follow_at = created[follow] + pd.to_timedelta(rng.uniform(0.01, 6.9, follow.sum()), unit="D")
    order_created = np.concatenate(
        [(START + pd.to_timedelta(order_day, unit="D")).to_numpy(), follow_at.to_numpy()]
    )
    order_customers = np.concatenate([rng.integers(0, 8_000, background), customers[follow]])
    m = len(order_created)
    orders = pd.DataFrame(
        {
            "order_id": np.arange(m),
            "customer_id": [f"U{c:05d}" for c in order_customers],
            "created_at": pd.to_datetime(order_created, utc=True),
            "revenue": rng.gamma(2.0, 30.0, m).round(2),
            "device": rng.choice(DEVICES, m, p=DEVICE_SHARE),
            "template": rng.choice(TEMPLATES, m, p=TEMPLATE_SHARE),
        }
    )
    orders = orders[orders["created_at"] < START + pd.Timedelta(weeks=WEEKS)]
    events = pd.DataFrame(
        {
            "name": ["Spring launch", "Spring sale"],
            "kind": ["launch", "promo"],
            "start": [START + pd.Timedelta(weeks=8), START + pd.Timedelta(weeks=14)],
            "end": [START + pd.Timedelta(weeks=8, days=2), START + pd.Timedelta(weeks=15)],
        }
    )
    return {"contacts": contacts, "orders": orders, "events": events}


def alarms(data: dict[str, pd.DataFrame], group_by: str | None = None) -> dict[str, object]:
    """Rule firings by rule, and intervention bands (all, and on fewer than 30)."""
    card = sk.scorecard(
        data["contacts"],
        data["orders"],
        sessions=data.get("sessions"),
        events=data.get("events"),
        by="week",
        group_by=group_by,
    )
    bands = card.bands()
    keys = ["period_start", "kpi", *([group_by] if group_by else [])]
    long = card.to_pandas()[[*keys, "denominator"]]
    bands = bands.merge(long, on=keys, how="left")
    intervention = bands["band"] == "intervention"
    # Small: a denominator that counts rows below 30 (the denominator of the change
    # against the baseline is the baseline's cost, not a sample).
    small = (bands["denominator"] < 30) & (bands["kpi"] != "cost_per_resolved_vs_baseline")
    fired = card.diagnose()
    return {
        "firings": Counter(fired["rule"]),
        "findings": fired,
        "intervention": int(intervention.sum()),
        "intervention_small": int((intervention & small).sum()),
        "insufficient": int((bands["band"] == "insufficient").sum()),
    }


def _row(name: str, result: dict[str, object]) -> str:
    firings = result["firings"]
    assert isinstance(firings, Counter)
    by_rule = ", ".join(f"{r} {c}" for r, c in sorted(firings.items())) or "none"
    return (
        f"| {name} | {sum(firings.values())} | {result['intervention']} | "
        f"{result['intervention_small']} | {result['insufficient']} | {by_rule} |"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"supportkpi {getattr(sk, '__version__', '')} (from {sk.__file__})")
    print()
    print(
        "| data | rule firings | intervention bands | of them on n < 30 | insufficient | "
        "firings by rule |"
    )
    print("|---|--:|--:|--:|--:|---|")
    sample = sk.load_sample()
    print(_row("bundled sample, weekly", alarms(sample)))
    print(_row("bundled sample, weekly by channel", alarms(sample, "channel")))
    print(_row("bundled sample, weekly by agent", alarms(sample, "agent_id")))
    totals: Counter[str] = Counter()
    for seed in range(args.seeds):
        data = generate(seed)
        for group_by in (None, "agent_id"):
            result = alarms(data, group_by)
            name = f"stationary seed {seed}" + (", by agent" if group_by else "")
            print(_row(name, result))
            totals["firings" + (" by agent" if group_by else "")] += sum(
                result["firings"].values()  # type: ignore[union-attr]
            )
    print()
    print(f"stationary totals over {args.seeds} seeds: {dict(totals)}")
    print()
    print("detection: a change injected from week", CHANGE_WEEK)
    change_week = START + pd.Timedelta(weeks=CHANGE_WEEK)
    for seed in range(args.seeds):
        result = alarms(generate(seed, inject=True))
        fired = result["findings"]
        assert isinstance(fired, pd.DataFrame)
        at = pd.to_datetime(fired["period_start"], utc=True)
        deflection = fired[(fired["rule"] == "deflection_up_conversion_down") & (at == change_week)]
        hotspot = fired[(fired["rule"] == "friction_hotspot") & (at >= change_week)]
        hot_weeks = sum(
            1
            for e in hotspot["evidence"]
            if e.get("value") == "gift" and e.get("dimension") == "template"
        )
        print(
            f"  seed {seed}: deflection_up_conversion_down in week {CHANGE_WEEK}: "
            f"{'fired' if len(deflection) else 'MISSED'}; friction_hotspot on template=gift in "
            f"{hot_weeks} of {WEEKS - CHANGE_WEEK} weeks"
        )


if __name__ == "__main__":
    main()
