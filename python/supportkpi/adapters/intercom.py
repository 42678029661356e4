"""Intercom conversations → contacts (SPEC §11, ADAPTERS.md).

Intercom's definitions are kept: the first response is the first human admin reply
(``statistics.first_admin_reply_at``, so a conversation the AI agent resolved has none);
``handled_by`` / ``escalated`` come from the AI agent fields (participation and
resolution state); times are unix seconds.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ._common import (
    Adapted,
    Export,
    Source,
    adapted,
    column,
    intent_from_tags,
    keep_last,
    map_values,
    numbers,
    read_export,
    records_of,
    require,
    tag_lists,
    timestamps,
    truthy,
)

#: source.type → the §1 channel vocabulary; others pass through.
CHANNELS = {
    "conversation": "chat",
    "email": "email",
    "phone_call": "phone",
    "twitter": "social",
    "facebook": "social",
    "whatsapp": "social",
    "instagram": "social",
    "sms": "sms",
}
#: ai_agent.resolution_state → escalated.
ESCALATED_STATES = ("routed_to_team",)


def _first_contact(values: pd.Series, key: str) -> pd.Series:
    """``contacts.contacts[0][key]`` per conversation."""

    def one(items: object) -> object:
        if isinstance(items, (list, np.ndarray)) and len(items):
            first = items[0]
            if isinstance(first, Mapping):
                return first.get(key)
        return None

    return values.map(one)


def intercom(
    conversations: Source,
    *,
    contacts: Source | None = None,
    intent: Mapping[str, str] | None = None,
    channels: Mapping[str, str] | None = None,
) -> Adapted:
    """Intercom conversations as contacts, with a mapping report.

    Args:
        conversations: ``{"conversations": [...]}`` (the API's list shape), a list, a
            path (``.json`` / ``.jsonl``), or a DataFrame.
        contacts: Intercom contacts (``id``, ``email``, ``external_id``), for the
            customer's email; the conversation names only the contact's id.
        intent: tag → intent, the first matching tag in the mapping's order wins.
        channels: source.type → channel, on top of :data:`CHANNELS`.

    Example:
        >>> from supportkpi import adapters
        >>> i = adapters.intercom([{"id": "11", "created_at": 1709283600, "state": "closed",
        ...     "source": {"type": "conversation"}, "contacts": {"contacts": [{"id": "c1"}]},
        ...     "ai_agent_participated": True,
        ...     "ai_agent": {"resolution_state": "routed_to_team"},
        ...     "statistics": {"first_admin_reply_at": 1709284200,
        ...                    "last_close_at": 1709290800, "count_reopens": 0}}])
        >>> i.contacts[["handled_by", "escalated", "first_response_at"]]
          handled_by escalated         first_response_at
        0         ai      True 2024-03-01 09:10:00+00:00
    """
    export = read_export(conversations, what="Intercom conversations", list_key="conversations")
    require(export, ["id", "created_at"], what="Intercom conversations")
    frame = export.frame
    rows_in = len(frame)
    dropped: dict[str, int] = {}
    frame = keep_last(frame, "id", dropped, "repeated conversation ids (the last row kept)")
    frame = frame.reset_index(drop=True)
    export = Export(frame, export.label)

    def seconds(field_name: str) -> pd.Series:
        return timestamps(column(frame, field_name), export=export, field_name=field_name, unit="s")

    state = column(frame, "state").astype("string").str.lower()
    customer = _first_contact(column(frame, "contacts.contacts"), "id")
    email = _first_contact(column(frame, "contacts.contacts"), "email")
    if contacts is not None:
        people = records_of(contacts, what="Intercom contacts", list_key="data")
        if {"id", "email"} <= set(people.columns):
            by_id = people.drop_duplicates("id", keep="last").set_index("id")["email"]
            email = email.fillna(customer.map(by_id))
    ai = truthy(column(frame, "ai_agent_participated")).to_numpy(bool)
    resolution_state = column(frame, "ai_agent.resolution_state").astype("string").str.lower()
    first_reply = seconds("statistics.first_admin_reply_at")
    handled_by = pd.Series(None, index=frame.index, dtype=object)
    handled_by[first_reply.notna().to_numpy(bool)] = "human"
    handled_by[ai] = "ai"
    escalated = pd.Series(None, index=frame.index, dtype=object)
    escalated[handled_by.eq("human").to_numpy(bool)] = False
    escalated[ai] = resolution_state[ai].isin(ESCALATED_STATES).fillna(False).to_numpy(bool)
    closed = state.eq("closed").fillna(False).to_numpy(bool)
    tags = tag_lists(column(frame, "tags.tags"))
    contacts_out = pd.DataFrame(
        {
            "contact_id": frame["id"].to_numpy(),
            "customer_id": customer.to_numpy(),
            "email": email.to_numpy(),
            "created_at": seconds("created_at"),
            "channel": map_values(column(frame, "source.type"), {**CHANNELS, **(channels or {})}),
            "intent": intent_from_tags(tags, intent),
            "handled_by": handled_by,
            "escalated": escalated,
            "first_response_at": first_reply,
            "first_resolved_at": seconds("statistics.first_close_at"),
            "resolved_at": seconds("statistics.last_close_at").where(closed),
            "reopens": numbers(
                column(frame, "statistics.count_reopens"), export=export, field_name="count_reopens"
            ).astype("Int64"),
            "csat": numbers(
                column(frame, "conversation_rating.rating"), export=export, field_name="rating"
            ),
            "priority": column(frame, "priority").astype("string").to_numpy(),
            "agent_id": column(frame, "admin_assignee_id").astype("string").to_numpy(),
        }
    )
    sources: dict[str, tuple[str | None, str]] = {
        "contact_id": ("id", ""),
        "customer_id": (
            "contacts.contacts[0].id",
            "replaced by one key per email in adapters.link",
        ),
        "email": ("contacts (by id).email", "pass contacts= for the emails"),
        "created_at": ("created_at", "unix seconds"),
        "channel": ("source.type", ""),
        "intent": ("tags through the intent mapping" if intent else None, ""),
        "handled_by": (
            "ai_agent_participated / first_admin_reply_at",
            "ai when the AI agent took part; human when an admin replied",
        ),
        "escalated": ("ai_agent.resolution_state", "routed_to_team → escalated"),
        "first_response_at": ("statistics.first_admin_reply_at", "the first human admin reply"),
        "first_resolved_at": ("statistics.first_close_at", ""),
        "resolved_at": ("statistics.last_close_at", "null unless state = closed"),
        "reopens": ("statistics.count_reopens", ""),
        "csat": ("conversation_rating.rating", "1–5"),
        "priority": ("priority", "priority / not_priority"),
        "agent_id": ("admin_assignee_id", ""),
        "touches": (None, "Intercom counts no agent replies per conversation"),
        "handle_seconds": (None, "Intercom has no agent effort field"),
    }
    return adapted(
        "Intercom",
        export,
        rows_in,
        contacts=contacts_out,
        dropped=dropped,
        sources=sources,
        definitions=["first response = the first human admin reply (first_admin_reply_at)"],
    )
