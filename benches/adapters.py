"""How long the adapters take on large exports (issue 19): a 1M-ticket Zendesk export
(JSON lines and the API's JSON response) and a 2M-row Shopify orders CSV, then linking.

    python benches/adapters.py [--tickets 1m] [--orders 1m] [--repeats 3]

The exports are generated once into benches/data/adapters-<size>/ (deterministic, seed
20240101) in the vendors' shapes: tickets with a nested ``via`` and ``metric_set``,
``satisfaction_rating`` and tags, users sideloaded; the orders CSV with two line-item rows
per order and offset timestamps. Each adapter runs in this process, best and median of
``--repeats`` are printed (not a timed test).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

BENCHES = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCHES))
from generate import parse_size  # noqa: E402

SEED = 20240101
START = pd.Timestamp("2024-01-01", tz="UTC")


def _tickets(n: int, path_jsonl: Path, path_json: Path) -> None:
    rng = np.random.default_rng(SEED)
    created = START + pd.to_timedelta(rng.integers(0, 365 * 24 * 3600, n), unit="s")
    created_text = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    solved = (created + pd.to_timedelta(rng.integers(60, 7 * 24 * 3600, n), unit="s")).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    reply = rng.integers(1, 900, n)
    requester = rng.integers(0, n // 3 + 1, n)
    channels = np.array(["email", "web", "chat", "voice"])[rng.integers(0, 4, n)]
    scores = np.array(["good", "bad", "offered", "unoffered"])[rng.integers(0, 4, n)]
    status = np.array(["solved", "closed", "open", "pending"])[rng.integers(0, 4, n)]
    tags = np.array(["where_is_my_order", "return_request", "payment", "vip"])
    with path_jsonl.open("w") as out:
        for i in range(n):
            ticket = {
                "id": i + 1,
                "requester_id": int(requester[i]),
                "created_at": created_text[i],
                "updated_at": created_text[i],
                "status": status[i],
                "priority": "normal",
                "via": {"channel": channels[i]},
                "tags": [tags[i % 4], tags[(i * 7) % 4]],
                "satisfaction_rating": {"score": scores[i]},
                "metric_set": {
                    "ticket_id": i + 1,
                    "replies": int(i % 3),
                    "reopens": int(i % 5 == 0),
                    "reply_time_in_minutes": {"calendar": int(reply[i]), "business": None},
                    "first_resolution_time_in_minutes": {"calendar": int(reply[i]) + 30},
                    "solved_at": solved[i],
                },
            }
            out.write(json.dumps(ticket) + "\n")
    with path_jsonl.open() as lines, path_json.open("w") as out:
        out.write('{"tickets": [')
        for k, line in enumerate(lines):
            out.write(("," if k else "") + line.rstrip("\n"))
        users = ",".join(
            json.dumps({"id": int(r), "email": f" Customer{r}@Shop.example "})
            for r in range(n // 3 + 1)
        )
        out.write(f'], "users": [{users}]}}')


def _orders(n_orders: int, path: Path) -> None:
    rng = np.random.default_rng(SEED + 1)
    created = START + pd.to_timedelta(rng.integers(0, 365 * 24 * 3600, n_orders), unit="s")
    first = pd.DataFrame(
        {
            "Name": [f"#{1001 + i}" for i in range(n_orders)],
            "Email": [
                f"customer{r}@shop.example" for r in rng.integers(0, n_orders // 2, n_orders)
            ],
            "Financial Status": np.where(rng.random(n_orders) < 0.02, "voided", "paid"),
            "Created at": (created - pd.Timedelta(hours=5)).strftime("%Y-%m-%d %H:%M:%S -0500"),
            "Total": np.round(rng.uniform(5, 400, n_orders), 2).astype(str),
            "Discount Amount": "0.00",
            "Refunded Amount": "0.00",
            "Cancelled at": "",
            "Lineitem name": "Item A",
            "Id": np.arange(5_000_000, 5_000_000 + n_orders).astype(str),
        }
    )
    second = (
        first[["Name"]]
        .assign(Lineitem_name="Item B")
        .rename(columns={"Lineitem_name": "Lineitem name"})
    )
    both = pd.concat([first, second]).sort_values("Name", kind="stable")
    both.to_csv(path, index=False)


def _time(label: str, run, repeats: int) -> object:
    times, result = [], None
    for _ in range(repeats):
        began = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - began)
    print(f"{label}: best {min(times):.2f} s, median {statistics.median(times):.2f} s")
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=parse_size, default=1_000_000)
    parser.add_argument("--orders", type=parse_size, default=1_000_000, help="orders (2 rows each)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    from supportkpi import adapters

    data = BENCHES / "data" / f"adapters-{args.tickets}-{args.orders}"
    data.mkdir(parents=True, exist_ok=True)
    jsonl, whole, csv = data / "tickets.jsonl", data / "tickets.json", data / "orders_export.csv"
    if not (jsonl.exists() and whole.exists()):
        began = time.perf_counter()
        _tickets(args.tickets, jsonl, whole)
        print(f"generated {args.tickets:,} tickets in {time.perf_counter() - began:.1f} s")
    if not csv.exists():
        _orders(args.orders, csv)
    mb = {p.name: p.stat().st_size / 2**20 for p in (jsonl, whole, csv)}
    print(", ".join(f"{k} {v:,.0f} MB" for k, v in mb.items()))
    _time(
        f"zendesk, {args.tickets:,} tickets, JSON lines",
        lambda: adapters.zendesk(jsonl),
        args.repeats,
    )
    z = _time(
        f"zendesk, {args.tickets:,} tickets, API JSON with users",
        lambda: adapters.zendesk(whole),
        args.repeats,
    )
    s = _time(
        f"shopify_orders, {2 * args.orders:,} CSV rows",
        lambda: adapters.shopify_orders(csv),
        args.repeats,
    )
    _time("link", lambda: adapters.link(contacts=z.contacts, orders=s.orders), args.repeats)
    print(z.report)
    print(s.report)


if __name__ == "__main__":
    main()
