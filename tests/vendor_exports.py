"""Vendor exports written from a contract-shaped truth, for the adapter tests (issue 19).

``truth(n, seed)`` makes contacts and orders in the shape of SPEC §1, keyed by the
customer's email, with every value the vendors can carry (whole-minute reply times for
Zendesk, binary CSAT, ...). The writers below turn them into what each vendor exports,
using the vendors' documented field names (ADAPTERS.md; the pages cited per writer), with
the noise real exports have: mixed-case emails with spaces, guest orders, cancelled and
voided orders, offered-but-unrated CSAT, tickets without a requester email, tickets never
replied to, reopened tickets, repeated ticket versions and deleted tickets. The adapters,
applied to these, must give the scorecard of the truth.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

START = pd.Timestamp("2024-03-04", tz="UTC")  # a Monday
INTENT_TAGS = {
    "where_is_my_order": "order_tracking",
    "return_request": "returns",
    "payment": "payment_issue",
    "product_question": "product_question",
}
CHANNELS = ["email", "chat", "phone", "social"]


def _iso(ts: pd.Series) -> list[str | None]:
    return [None if pd.isna(t) else t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in ts]


def truth(n: int = 600, seed: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(contacts, orders) of the contract, customer_id = the normalised email (or, for a
    ticket without a requester email, ``contact:<requester id>``)."""
    rng = np.random.default_rng(seed)
    n_customers = max(20, n // 3)
    emails = np.array([f"customer{i}@shop.example" for i in range(n_customers)], dtype=object)
    who = rng.integers(0, n_customers, n)
    created = START + pd.to_timedelta(rng.integers(0, 8 * 7 * 24 * 60, n), unit="min")
    reply_min = rng.integers(1, 600, n).astype(float)
    never_replied = rng.random(n) < 0.1
    reply_min[never_replied] = np.nan
    resolve_min = reply_min + rng.integers(0, 3000, n)
    resolve_min[never_replied] = rng.integers(10, 3000, never_replied.sum())
    unresolved = rng.random(n) < 0.12
    reopens = np.where(rng.random(n) < 0.15, rng.integers(1, 3, n), 0)
    first_resolve_min = np.where(reopens > 0, np.floor(resolve_min * 0.4), resolve_min)
    tags = rng.choice(list(INTENT_TAGS) + ["misc"], n)
    ai = rng.random(n) < 0.3
    escalated = ai & (rng.random(n) < 0.4)
    csat = rng.choice([5.0, 1.0, np.nan], n, p=[0.35, 0.15, 0.5])
    replies = np.where(never_replied, 0, rng.integers(1, 4, n))
    no_email = (rng.random(n_customers) < 0.04)[who]  # a requester without an email
    requester = 1000 + who
    customer = np.where(no_email, [f"contact:{r}" for r in requester], emails[who])
    contacts = pd.DataFrame(
        {
            "contact_id": np.arange(1, n + 1),
            "customer_id": customer,
            "requester_id": requester,
            "email": np.where(no_email, None, emails[who]),
            "created_at": created,
            "channel": rng.choice(CHANNELS, n),
            "intent": [INTENT_TAGS.get(t) for t in tags],
            "tag": tags,
            "handled_by": np.where(ai, "ai", np.where(never_replied, None, "human")),
            "escalated": np.where(ai, escalated, np.where(never_replied, None, False)),
            "first_response_at": created + pd.to_timedelta(reply_min, unit="min"),
            "first_resolved_at": (created + pd.to_timedelta(first_resolve_min, unit="min")).where(
                ~unresolved
            ),
            "resolved_at": (created + pd.to_timedelta(resolve_min, unit="min")).where(~unresolved),
            "touches": replies,
            "reopens": reopens,
            "csat": csat,
            "priority": rng.choice(["low", "normal", "high", "urgent"], n),
        }
    )
    contacts.loc[contacts["handled_by"].isna(), "escalated"] = None
    m = 2 * n
    buyer = rng.integers(0, n_customers, m)
    orders = pd.DataFrame(
        {
            "order_id": [f"{5_000_000 + i}" for i in range(m)],
            "name": [f"#{1001 + i}" for i in range(m)],
            "customer_id": emails[buyer],
            "created_at": START + pd.to_timedelta(rng.integers(0, 8 * 7 * 24 * 3600, m), unit="s"),
            "revenue": np.round(rng.uniform(10, 300, m), 2),
            "refund": np.where(rng.random(m) < 0.1, np.round(rng.uniform(1, 10, m), 2), 0.0),
            "discount": np.where(rng.random(m) < 0.2, 5.0, 0.0),
            "shop_customer_id": 70_000 + buyer,
            "guest": rng.random(m) < 0.1,
        }
    )
    return contacts, orders


def _messy(email: str, rng: np.random.Generator) -> str:
    """The same address as a user typed it: case and surrounding spaces vary."""
    if rng.random() < 0.3:
        email = email.upper() if rng.random() < 0.5 else email.title()
    return (" " if rng.random() < 0.2 else "") + email + ("  " if rng.random() < 0.2 else "")


# --- Zendesk: https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/ and
# https://developer.zendesk.com/rest_api/docs/core/ticket_metrics (metric_set fields).
ZENDESK_VIA = {"email": "email", "chat": "chat", "phone": "voice", "social": "twitter"}


def zendesk_response(contacts: pd.DataFrame, seed: int = 1) -> dict:
    """The tickets API / incremental export with include=users,metric_sets: ``tickets``
    with ``metric_set`` nested, ``users`` sideloaded; a repeated earlier version of some
    tickets and a few deleted tickets."""
    rng = np.random.default_rng(seed)
    tickets, users = [], {}
    for row in contacts.itertuples(index=False):
        solved = pd.notna(row.resolved_at)
        status = "solved" if solved else rng.choice(["open", "pending"])
        reply = (
            None
            if pd.isna(row.first_response_at)
            else int((row.first_response_at - row.created_at) / pd.Timedelta(minutes=1))
        )
        first_res = (
            None
            if pd.isna(row.first_resolved_at)
            else int((row.first_resolved_at - row.created_at) / pd.Timedelta(minutes=1))
        )
        if pd.isna(row.csat):
            score = rng.choice(["offered", "unoffered"])
        else:
            score = "good" if row.csat == 5 else "bad"
        tag_list = [row.tag, "vip"] if rng.random() < 0.3 else [row.tag]
        if row.handled_by == "ai":
            tag_list.append("ai_agent")
        if row.escalated is True:
            tag_list.append("escalated")
        ticket = {
            "id": int(row.contact_id),
            "requester_id": int(row.requester_id),
            "created_at": row.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "updated_at": (row.created_at + pd.Timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "status": status,
            "priority": row.priority,
            "via": {"channel": ZENDESK_VIA[row.channel], "source": {"rel": None}},
            "tags": tag_list,
            "satisfaction_rating": {"score": score},
            "metric_set": {
                "ticket_id": int(row.contact_id),
                "replies": int(row.touches),
                "reopens": int(row.reopens),
                "reply_time_in_minutes": {"calendar": reply, "business": None},
                "first_resolution_time_in_minutes": {"calendar": first_res, "business": None},
                "solved_at": None if not solved else row.resolved_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
        }
        tickets.append(ticket)
        if not pd.isna(row.email):
            users[int(row.requester_id)] = {
                "id": int(row.requester_id),
                "email": _messy(row.email, rng),
                "role": "end-user",
            }
    # The incremental export repeats a ticket when it changes: an earlier, open version.
    earlier = []
    for ticket in tickets[: len(tickets) // 10]:
        old = json.loads(json.dumps(ticket))
        old["updated_at"] = ticket["created_at"]
        old["status"] = "new"
        old["metric_set"]["solved_at"] = None
        earlier.append(old)
    deleted = [
        {
            "id": 900_000 + i,
            "requester_id": 1,
            "created_at": "2024-03-05T10:00:00Z",
            "updated_at": "2024-03-06T10:00:00Z",
            "status": "deleted",
        }
        for i in range(3)
    ]
    return {
        "tickets": earlier + tickets + deleted,
        "users": list(users.values()),
        "count": len(tickets),
        "end_of_stream": True,
    }


# --- Shopify: the admin's orders CSV export (one row per line item, order fields on the
# first row; https://help.shopify.com/en/manual/fulfillment/managing-orders/exporting-orders
# and an export's header as shown in https://docs.xbp.app/docs/development/integrations/
# shopify/order-format).
SHOPIFY_HEADER = [
    "Name", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at",
    "Accepts Marketing", "Currency", "Subtotal", "Shipping", "Taxes", "Total",
    "Discount Code", "Discount Amount", "Shipping Method", "Created at", "Lineitem quantity",
    "Lineitem name", "Lineitem price", "Billing Name", "Cancelled at", "Payment Method",
    "Refunded Amount", "Id", "Tags", "Source",
]  # fmt: skip
ZONES = ["-0500", "+0100", "+0530", "-0800"]


def _offset_time(ts: pd.Timestamp, zone: str) -> str:
    sign = 1 if zone[0] == "+" else -1
    delta = pd.Timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5])) * sign
    return (ts + delta).strftime("%Y-%m-%d %H:%M:%S ") + zone


def shopify_csv(orders: pd.DataFrame, path: Path, seed: int = 2) -> Path:
    """The CSV export of ``orders`` plus cancelled and voided orders (not in the truth)."""
    rng = np.random.default_rng(seed)
    rows = []

    def order_rows(o, status: str, cancelled: str, email: str) -> None:
        zone = ZONES[int(rng.integers(0, len(ZONES)))]
        items = int(rng.integers(1, 4))
        for k in range(items):
            first = k == 0
            row = dict.fromkeys(SHOPIFY_HEADER, "")
            row["Name"] = o["name"]
            row["Lineitem quantity"] = "1"
            row["Lineitem name"] = f"Item {k}"
            row["Lineitem price"] = "1.00"
            if first:
                row.update(
                    {
                        "Email": email,
                        "Financial Status": status,
                        "Currency": "USD",
                        "Total": f"{o['revenue']:.2f}",
                        "Discount Amount": f"{o['discount']:.2f}",
                        "Created at": _offset_time(o["created_at"], zone),
                        "Cancelled at": cancelled,
                        "Refunded Amount": f"{o['refund']:.2f}",
                        "Id": o["order_id"],
                        "Source": "web",
                    }
                )
            rows.append(row)

    for o in orders.to_dict("records"):
        status = "partially_refunded" if o["refund"] > 0 else "paid"
        order_rows(o, status, "", _messy(o["customer_id"], rng))
    extra = orders.head(6).copy()
    for i, o in enumerate(extra.to_dict("records")):
        o["name"], o["order_id"] = f"#9{i:03d}", f"99{i:05d}"
        if i % 2:
            order_rows(o, "voided", "", o["customer_id"])
        else:
            order_rows(o, "refunded", _offset_time(o["created_at"], "-0500"), o["customer_id"])
    pd.DataFrame(rows, columns=SHOPIFY_HEADER).to_csv(path, index=False)
    return path


def expected_cancelled() -> tuple[int, int]:
    """(voided, cancelled) orders :func:`shopify_csv` adds."""
    return 3, 3


# --- Gorgias: https://developers.gorgias.com/reference/tickets and
# https://developers.gorgias.com/reference/ticket-messages (from_agent, public, rule_id,
# sent_datetime); satisfaction surveys: ticket_id, score (1-5).
GORGIAS_CHANNEL = {"email": "email", "chat": "chat", "phone": "phone", "social": "facebook"}


def gorgias_exports(contacts: pd.DataFrame, seed: int = 3) -> tuple[dict, dict, dict]:
    """(tickets, messages, surveys) as the API lists them (``{"data": [...]}``); every
    ticket gets a rule-sent auto-reply right away, which Gorgias' first response ignores."""
    rng = np.random.default_rng(seed)
    tickets, messages, surveys = [], [], []
    for row in contacts.itertuples(index=False):
        tags = [{"name": row.tag}]
        if row.handled_by == "ai":
            tags.append({"name": "ai_agent"})
        if row.escalated is True:
            tags.append({"name": "ai_handover"})
        closed = pd.notna(row.resolved_at)
        tickets.append(
            {
                "id": int(row.contact_id),
                "customer": {
                    "id": int(row.requester_id),
                    "email": None if pd.isna(row.email) else _messy(row.email, rng),
                },
                "channel": GORGIAS_CHANNEL[row.channel],
                "created_datetime": row.created_at.isoformat(),
                "status": "closed" if closed else "open",
                "closed_datetime": row.resolved_at.isoformat() if closed else None,
                "tags": tags,
                "spam": False,
            }
        )
        auto = row.created_at + pd.Timedelta(seconds=5)
        messages.append(
            {"ticket_id": int(row.contact_id), "from_agent": True, "public": True,
             "rule_id": 77, "sent_datetime": auto.isoformat()}
        )  # fmt: skip
        if pd.notna(row.first_response_at):
            times = [row.first_response_at] + [
                row.first_response_at + pd.Timedelta(minutes=30 * (k + 1))
                for k in range(int(row.touches) - 1)
            ]
            for t in times:
                messages.append(
                    {"ticket_id": int(row.contact_id), "from_agent": True, "public": True,
                     "rule_id": None, "sent_datetime": t.isoformat()}
                )  # fmt: skip
            # an internal note before the reply: not public, not a response
            messages.append(
                {"ticket_id": int(row.contact_id), "from_agent": True, "public": False,
                 "rule_id": None,
                 "sent_datetime": (row.created_at + pd.Timedelta(seconds=30)).isoformat()}
            )  # fmt: skip
        if pd.notna(row.csat):
            surveys.append({"ticket_id": int(row.contact_id), "score": int(row.csat)})
    rng.shuffle(messages)
    return {"data": tickets}, {"data": messages}, {"data": surveys}


# --- Intercom: https://developers.intercom.com/docs/references/2.15/rest-api/api.intercom.io/
# conversations/conversation and .../models/conversation_statistics (unix seconds).
INTERCOM_SOURCE = {
    "email": "email",
    "chat": "conversation",
    "phone": "phone_call",
    "social": "twitter",
}


def intercom_exports(contacts: pd.DataFrame, seed: int = 4) -> tuple[dict, dict]:
    """(conversations, contacts) as the API lists them."""
    rng = np.random.default_rng(seed)
    conversations, people = [], {}

    def unix(ts) -> int | None:
        return None if pd.isna(ts) else int(ts.timestamp())

    for row in contacts.itertuples(index=False):
        closed = pd.notna(row.resolved_at)
        ai = row.handled_by == "ai"
        person = f"c{row.requester_id}"
        conversations.append(
            {
                "type": "conversation",
                "id": str(row.contact_id),
                "created_at": unix(row.created_at),
                "state": "closed" if closed else rng.choice(["open", "snoozed"]),
                "source": {
                    "type": INTERCOM_SOURCE[row.channel],
                    "delivered_as": "customer_initiated",
                },
                "contacts": {
                    "type": "contact.list",
                    "contacts": [{"type": "contact", "id": person}],
                },
                "tags": {"type": "tag.list", "tags": [{"type": "tag", "name": row.tag}]},
                "ai_agent_participated": bool(ai),
                "ai_agent": {
                    "resolution_state": "routed_to_team"
                    if row.escalated is True
                    else "assumed_resolution"
                }
                if ai
                else None,
                "conversation_rating": None if pd.isna(row.csat) else {"rating": int(row.csat)},
                "statistics": {
                    "type": "conversation_statistics",
                    "first_admin_reply_at": unix(row.first_response_at),
                    "first_close_at": unix(row.first_resolved_at),
                    "last_close_at": unix(row.resolved_at),
                    "count_reopens": int(row.reopens),
                },
            }
        )
        if not pd.isna(row.email):
            people[person] = {"type": "contact", "id": person, "email": _messy(row.email, rng)}
    return {"type": "conversation.list", "conversations": conversations}, {
        "type": "list",
        "data": list(people.values()),
    }


SOURCES = {
    "zendesk": "https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/ and "
    "https://developer.zendesk.com/rest_api/docs/core/ticket_metrics",
    "gorgias": "https://developers.gorgias.com/reference/tickets and "
    "https://developers.gorgias.com/reference/ticket-messages",
    "intercom": "https://developers.intercom.com/docs/references/2.15/rest-api/api.intercom.io/"
    "conversations/conversation",
}


def write_all(directory: Path, n: int = 120, seed: int = 11) -> list[Path]:
    """Every vendor's export of one truth, as files (the examples' raw exports)."""
    directory.mkdir(parents=True, exist_ok=True)
    contacts, orders = truth(n, seed)
    written = []

    def dump(name: str, payload: dict, vendor: str) -> None:
        path = directory / name
        source = f"written by tests/vendor_exports.py from {SOURCES[vendor]}"
        payload = {"_source": source} | payload
        path.write_text(json.dumps(payload, indent=1) + "\n")
        written.append(path)

    response = zendesk_response(contacts)
    dump("zendesk_tickets.json", {k: v for k, v in response.items() if k != "users"}, "zendesk")
    dump("zendesk_users.json", {"users": response["users"]}, "zendesk")
    tickets, messages, surveys = gorgias_exports(contacts)
    dump("gorgias_tickets.json", tickets, "gorgias")
    dump("gorgias_messages.json", messages, "gorgias")
    dump("gorgias_surveys.json", surveys, "gorgias")
    conversations, people = intercom_exports(contacts)
    dump("intercom_conversations.json", conversations, "intercom")
    dump("intercom_contacts.json", people, "intercom")
    written.append(shopify_csv(orders, directory / "shopify_orders_export.csv"))
    return written


if __name__ == "__main__":
    import sys

    for path in write_all(Path(sys.argv[1] if len(sys.argv) > 1 else "examples/exports")):
        print(f"wrote {path}")
