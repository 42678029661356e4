"""The ``supportkpi`` command line.

Subcommands:

* ``supportkpi demo``: the scorecard of the bundled sample data, as a readable table.

Each subcommand is a ``_<name>_command(args) -> int`` function registered in
``build_parser``; later ones (``scorecard`` on the user's own files, ``kpis`` for the
catalogue) slot in the same way.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence

import pandas as pd

# The KPIs the demo shows, in order: the four headline KPIs (SPEC §5), then the
# support-to-sale and cost KPIs the weekly scorecard of seed 000 leads with.
# id -> (column label, how to format a value)
DEMO_KPIS: dict[str, tuple[str, str]] = {
    "csat_mean": ("CSAT", "score"),
    "deflection_rate": ("deflection", "percent"),
    "fcr_rate": ("FCR", "percent"),
    "tickets_per_order": ("tickets/order", "ratio"),
    "recovery_rate_7d": ("recovery 7d", "percent"),
    "repeat_contact_rate_14d": ("repeat 14d", "percent"),
    "preventable_contact_rate": ("preventable", "percent"),
    "cost_per_resolved_contact": ("cost/resolved", "currency"),
}
DEMO_PERIODS = 8
MISSING = "n/a"
NULL_GROUP = "(null)"

_PERIOD_LABEL = {"day": "day", "week": "week of", "month": "month"}
_PERIOD_FORMAT = {"day": "%Y-%m-%d", "week": "%Y-%m-%d", "month": "%Y-%m"}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.run(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="supportkpi",
        description="Support-conversion scorecard: support contacts joined with orders.",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    demo = commands.add_parser(
        "demo",
        help="scorecard of the bundled sample data",
        description=(
            "Compute the scorecard of the bundled sample (six months of synthetic "
            "ecommerce support data) and print its last periods."
        ),
    )
    _add_period_options(demo)
    demo.add_argument(
        "--periods",
        type=_positive_int,
        default=DEMO_PERIODS,
        metavar="N",
        help=f"how many of the latest periods to show (default {DEMO_PERIODS})",
    )
    demo.set_defaults(run=_demo_command)
    return parser


def _add_period_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--by",
        choices=("day", "week", "month"),
        default="week",
        help="period length (default: week, ISO weeks starting Monday)",
    )
    parser.add_argument(
        "--tz",
        default="UTC",
        metavar="ZONE",
        help="IANA time zone of the period boundaries (default UTC)",
    )
    parser.add_argument(
        "--group-by",
        action="append",
        default=None,
        metavar="COLUMN",
        help="contact column to split every period by (repeatable)",
    )


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


# --- demo -----------------------------------------------------------------------------


def _demo_command(args: argparse.Namespace) -> int:
    # Imported here so that `supportkpi --help` works even when the extension is broken.
    import supportkpi as sk
    from supportkpi._sample import load_sample

    started = time.perf_counter()
    sample = load_sample()
    loaded = time.perf_counter()
    try:
        card = sk.scorecard(
            sample["contacts"],
            sample["orders"],
            sessions=sample["sessions"],
            by=args.by,
            tz=args.tz,
            group_by=args.group_by,
        )
    except getattr(sk, "SupportKpiError", ValueError) as error:
        print(f"supportkpi demo: {error}", file=sys.stderr)
        return 2
    computed = time.perf_counter()

    contacts, orders = sample["contacts"], sample["orders"]
    print(
        f"supportkpi demo: bundled sample, {len(contacts):,} contacts, {len(orders):,} orders, "
        f"{int(sample['sessions']['sessions'].sum()):,} sessions; "
        f"by {args.by} in {args.tz}, as of {_format_instant(card.as_of, args.tz)}"
    )
    print()
    print(format_wide(card.wide(), args.by, args.periods, group_by=args.group_by))
    if card.skipped:
        print()
        print("skipped KPIs:")
        for kpi, reason in card.skipped.items():
            print(f"  {kpi}: {reason}")
    print(
        f"loaded the sample in {loaded - started:.3f} s, "
        f"computed the scorecard in {computed - loaded:.3f} s",
        file=sys.stderr,
    )
    return 0


def format_wide(
    wide: pd.DataFrame,
    by: str = "week",
    periods: int = DEMO_PERIODS,
    group_by: Sequence[str] | None = None,
    kpis: dict[str, tuple[str, str]] | None = None,
) -> str:
    """The last ``periods`` periods of ``card.wide()`` as a text table, values formatted.

    ``wide`` has ``period_start`` and the ``group_by`` keys as its index (or columns).
    KPIs of ``kpis`` (default: the demo's) missing from ``wide`` (skipped) are left out.
    """
    kpis = DEMO_KPIS if kpis is None else kpis
    group_keys = list(group_by or [])
    shown = [kpi for kpi in kpis if kpi in wide.columns]
    keyed = wide if "period_start" in wide.columns else wide.reset_index()
    table = keyed[["period_start", *group_keys, *shown]]
    period_starts = table["period_start"].drop_duplicates().sort_values()
    table = table[table["period_start"].isin(period_starts.iloc[-periods:])]

    period_label = _PERIOD_LABEL[by]
    text = pd.DataFrame({period_label: table["period_start"].dt.strftime(_PERIOD_FORMAT[by])})
    for column in group_keys:
        text[column] = table[column].map(
            lambda value: NULL_GROUP if _is_missing(value) else str(value)
        )
    for kpi in shown:
        label, style = kpis[kpi]
        text[label] = table[kpi].map(lambda value, style=style: _format_value(value, style))
    return text.to_string(index=False)


def _format_value(value: object, style: str) -> str:
    if _is_missing(value):
        return MISSING
    value = float(value)
    if style == "percent":
        return f"{100 * value:.1f}%"
    if style == "currency":
        return f"${value:,.2f}"
    if style == "ratio":
        return f"{value:.3f}"
    if style == "score":
        return f"{value:.2f}"
    return f"{value:,.4g}"


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _format_instant(instant: object, tz: str) -> str:
    try:
        return pd.Timestamp(instant).tz_convert(tz).strftime("%Y-%m-%d %H:%M %Z")
    except (TypeError, ValueError):
        return str(instant)


if __name__ == "__main__":
    sys.exit(main())
