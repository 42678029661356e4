"""What the three benchmark contenders share: the compared KPIs, the columns read, the
command line, and the phase clock whose JSON line `benches/run.py` parses."""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

#: The KPIs every contender computes and the runner compares.
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
#: The contact and order columns the work reads (every contender reads only these).
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
ORDER_COLUMNS = ["order_id", "customer_id", "created_at", "revenue"]


def arguments(
    description: str, argv: list[str] | None = None, all_kpis: bool = False
) -> argparse.Namespace:
    """--data DIR --out FILE [--joins-out FILE] (and [--all-kpis] [--business-time]
    [--route paths|tables|one-call] with ``all_kpis``)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--joins-out", type=Path)
    if all_kpis:
        parser.add_argument(
            "--all-kpis", action="store_true", help="compute every KPI, not only KPIS"
        )
        parser.add_argument(
            "--business-time",
            action="store_true",
            help="also business calendars, SLA policies and reopens (issue 18)",
        )
        parser.add_argument(
            "--route",
            choices=["paths", "tables", "one-call"],
            default="paths",
            help="Parquet paths to sk.prepare (default); pyarrow Tables read first, then "
            "sk.prepare; or those Tables to three one-call functions (issue 21)",
        )
    return parser.parse_args(argv)


class PhaseClock:
    """Times consecutive phases of one run and prints the JSON line the runner reads."""

    def __init__(self) -> None:
        self.began = self.mark = time.perf_counter()
        self.phases: dict[str, float] = {}

    def phase(self, name: str) -> None:
        """Ends the current phase."""
        now = time.perf_counter()
        self.phases[name] = now - self.mark
        self.mark = now

    def report(self, contender: str, version: str) -> None:
        """Prints the run's timings and this process's peak RSS."""
        report = {
            "contender": contender,
            "version": version,
            "work_s": time.perf_counter() - self.began,
            "phases": self.phases,
            "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        }
        print(json.dumps(report))
