"""From raw helpdesk and shop exports to the weekly HTML report (issue 19).

    python examples/from_exports.py [--vendor zendesk|gorgias|intercom] [--out report.html]

Reads the small exports in ``examples/exports/`` (written from the vendors' documented
field names; see the README there): one helpdesk's tickets and Shopify's orders CSV,
adapts them to the contract's tables, links customers by email, prints what each adapter
mapped and dropped, and writes the standalone HTML report of the weekly scorecard.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import supportkpi as sk
from supportkpi import adapters

EXPORTS = Path(__file__).resolve().parent / "exports"
#: The tags these exports use, mapped onto the default taxonomy's intents.
INTENT_TAGS = {
    "where_is_my_order": "order_tracking",
    "return_request": "returns",
    "payment": "payment_issue",
    "product_question": "product_question",
}


def helpdesk(vendor: str) -> adapters.Adapted:
    if vendor == "zendesk":
        return adapters.zendesk(
            EXPORTS / "zendesk_tickets.json",
            users=EXPORTS / "zendesk_users.json",
            intent=INTENT_TAGS,
        )
    if vendor == "gorgias":
        return adapters.gorgias(
            EXPORTS / "gorgias_tickets.json",
            messages=EXPORTS / "gorgias_messages.json",
            surveys=EXPORTS / "gorgias_surveys.json",
            intent=INTENT_TAGS,
        )
    if vendor == "intercom":
        return adapters.intercom(
            EXPORTS / "intercom_conversations.json",
            contacts=EXPORTS / "intercom_contacts.json",
            intent=INTENT_TAGS,
        )
    raise SystemExit(f"unknown vendor {vendor!r}")


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vendor", default="zendesk", choices=["zendesk", "gorgias", "intercom"])
    parser.add_argument("--out", type=Path, default=Path("report.html"))
    args = parser.parse_args(argv)

    tickets = helpdesk(args.vendor)
    shop = adapters.shopify_orders(EXPORTS / "shopify_orders_export.csv")
    linked = adapters.link(contacts=tickets.contacts, orders=shop.orders)
    for report in (tickets.report, shop.report, linked.report):
        print(report, end="\n\n")
    card = sk.scorecard(linked.contacts, linked.orders, by="week")
    print(card)
    return card.to_html(args.out, days=60)


if __name__ == "__main__":
    print(f"wrote {main()}")
