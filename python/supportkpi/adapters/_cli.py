"""The command line's vendor inputs: ``supportkpi scorecard --contacts tickets.json
--contacts-format zendesk --orders orders_export.csv --orders-format shopify``.

The exports are adapted, then linked by email when both sides come from a vendor; each
mapping report goes to stderr (unless ``--quiet``), so a scheduled task's log says what was
mapped and dropped.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from .._supportkpi import ConfigError

CONTACT_FORMATS = ("contract", "zendesk", "gorgias", "intercom")
ORDER_FORMATS = ("contract", "shopify")
#: The side files each contacts format takes (--contacts-with NAME=PATH).
SIDE_FILES = {
    "zendesk": ("users",),
    "gorgias": ("messages", "surveys"),
    "intercom": ("contacts",),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--contacts-format",
        choices=CONTACT_FORMATS,
        default="contract",
        help="the contacts file is a vendor export: zendesk (tickets JSON/JSONL or the CSV "
        "view export), gorgias (tickets JSON), intercom (conversations JSON); default: the "
        "contract's columns",
    )
    parser.add_argument(
        "--contacts-with",
        action="append",
        default=None,
        metavar="NAME=PATH",
        help="a side file of the contacts export: users= (zendesk), messages= and surveys= "
        "(gorgias), contacts= (intercom) (repeatable)",
    )
    parser.add_argument(
        "--orders-format",
        choices=ORDER_FORMATS,
        default="contract",
        help="the orders file is a vendor export: shopify (the admin's orders CSV, or the "
        "API's orders JSON); default: the contract's columns",
    )


def _side_files(args: argparse.Namespace) -> dict[str, str]:
    allowed = SIDE_FILES.get(args.contacts_format, ())
    out = {}
    for pair in args.contacts_with or []:
        name, sep, path = pair.partition("=")
        if not sep or not path:
            raise ConfigError(f"--contacts-with: expected NAME=PATH, got {pair!r}")
        if name not in allowed:
            names = ", ".join(allowed) or "none"
            raise ConfigError(
                f"--contacts-with: {name!r} is not a side file of {args.contacts_format} "
                f"(it takes: {names})"
            )
        out[name] = path
    return out


def adapted_inputs(
    args: argparse.Namespace, step: Callable[[str], None], quiet: bool
) -> dict[str, Any]:
    """The contacts and/or orders read through their adapters (empty when both are in the
    contract's shape)."""
    from . import gorgias, intercom, link, shopify_orders, zendesk

    if args.contacts_format == "contract" and args.orders_format == "contract":
        if args.contacts_with:
            raise ConfigError("--contacts-with needs --contacts-format")
        return {}
    reports: list[object] = []
    tables: dict[str, Any] = {}
    if args.contacts_format != "contract":
        step(f"adapting {args.contacts} ({args.contacts_format})")
        adapter: dict[str, Callable[..., Any]] = {
            "zendesk": zendesk,
            "gorgias": gorgias,
            "intercom": intercom,
        }
        adapted = adapter[args.contacts_format](args.contacts, **_side_files(args))
        tables["contacts"] = adapted.contacts
        reports.append(adapted.report)
    elif args.contacts_with:
        raise ConfigError("--contacts-with needs --contacts-format")
    if args.orders_format == "shopify":
        step(f"adapting {args.orders} (shopify)")
        adapted = shopify_orders(args.orders)
        tables["orders"] = adapted.orders
        reports.append(adapted.report)
    if len(tables) == 2:
        linked = link(contacts=tables["contacts"], orders=tables["orders"])
        tables = {"contacts": linked.contacts, "orders": linked.orders}
        reports.append(linked.report)
    elif not quiet:
        print(
            "supportkpi scorecard: one side is a vendor export and the other is not: "
            "customer ids are used as given (no linking by email)",
            file=sys.stderr,
        )
    if not quiet:
        for report in reports:
            print(report, file=sys.stderr)  # each report escapes its text for a terminal
    return tables
