"""Cost against the number of groups and of dimension values (issue 16, items 4 and 5).

Both used to be quadratic: every period x group cell summed every group of its days
(20,000 groups over a month: 215 s), and each new value of a diagnostic dimension was
found by a linear search (160,000 templates: 16.9 s). This runs the scorecard on 1M
contacts over one month with a growing number of ``group_by`` values, and on 1M contacts
with a growing number of distinct ``template`` values (no group_by; the default hotspot
rule reads ``template``), and prints the time of each size and the ratio to the size
before it. Linear work shows ratios near 2 for each doubling (less where the fixed cost of
the 1M rows dominates); quadratic work shows 4.

The group_by runs start with the same job grouped by 10 values: issue 21 wants the job
grouped by 100k values within 3x of it (the output itself grows with the groups: 100k
groups give 1.3M KPI rows and 300k band rows, where 10 give 130 and 30).

    python benches/complexity.py                  # 1M contacts, up to 100k groups / 1M values
    python benches/complexity.py --contacts 200000 --max-groups 20000 --max-values 200000

Times are the best of ``--repeats`` runs (work time only, the frames built beforehand).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import supportkpi as sk


def contacts_frame(n: int, column: str, n_values: int, *, as_text: bool) -> pd.DataFrame:
    start = pd.Timestamp("2024-01-01", tz="UTC")
    rng = np.random.default_rng(16)
    values = rng.integers(0, n_values, n)
    # Every value appears at least once.
    values[:n_values] = np.arange(n_values)
    return pd.DataFrame(
        {
            "contact_id": np.arange(n),
            "customer_id": rng.integers(0, n // 2, n),
            "created_at": start + pd.to_timedelta(rng.integers(0, 31 * 24 * 3600, n), unit="s"),
            column: pd.array([f"v{v}" for v in values], dtype="str") if as_text else values,
        }
    )


def orders_frame(n: int) -> pd.DataFrame:
    start = pd.Timestamp("2024-01-01", tz="UTC")
    rng = np.random.default_rng(17)
    return pd.DataFrame(
        {
            "order_id": np.arange(n),
            "customer_id": rng.integers(0, n, n),
            "created_at": start + pd.to_timedelta(rng.integers(0, 31 * 24 * 3600, n), unit="s"),
            "revenue": rng.gamma(2.0, 30.0, n),
        }
    )


def best_time(run, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def sizes(largest: int, steps: int) -> list[int]:
    return [largest >> k for k in range(steps - 1, -1, -1)]


#: Issue 21: the job grouped by 100k values within this factor of the job grouped by 10.
GROUPS_TARGET = 3.0


def report(title: str, rows: list[tuple[int, float]]) -> None:
    print(title)
    print(f"  {'size':>10}  {'seconds':>8}  {'ratio to previous':>17}")
    previous = None
    for size, seconds in rows:
        ratio = "" if previous is None else f"{seconds / previous:.2f}x"
        print(f"  {size:>10,}  {seconds:>8.2f}  {ratio:>17}")
        previous = seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--max-groups", type=int, default=100_000)
    parser.add_argument("--max-values", type=int, default=1_000_000)
    parser.add_argument("--steps", type=int, default=4, help="sizes: max, max/2, max/4, ...")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    orders = orders_frame(args.contacts // 2)

    rows = []
    for groups in [10, *sizes(args.max_groups, args.steps)]:
        contacts = contacts_frame(args.contacts, "agent", groups, as_text=False)
        seconds = best_time(
            lambda c=contacts: sk.scorecard(c, orders, by="month", group_by="agent"), args.repeats
        )
        rows.append((groups, seconds))
    report(f"group_by: {args.contacts:,} contacts over a month, by month, all KPIs", rows)
    (_, ten), (most, seconds) = rows[0], rows[-1]
    verdict = "pass" if seconds <= GROUPS_TARGET * ten else "miss"
    print(
        f"  {most:,} groups / 10 groups: {seconds / ten:.2f}x "
        f"(issue 21: within {GROUPS_TARGET:g}x: {verdict})"
    )

    rows = []
    for values in sizes(args.max_values, args.steps):
        contacts = contacts_frame(args.contacts, "template", values, as_text=True)
        seconds = best_time(lambda c=contacts: sk.scorecard(c, orders), args.repeats)
        rows.append((values, seconds))
    report(f"distinct templates: {args.contacts:,} contacts, weekly, no group_by", rows)


if __name__ == "__main__":
    main()
