"""Gorgias tickets, messages and satisfaction surveys → contacts (SPEC §11, ADAPTERS.md).

Gorgias' definitions are kept: the first response is the first public agent message not
sent by a rule; touches count those messages (internal notes and rule-sent auto-replies
are no touch, as Zendesk counts public agent replies); a ticket is open or closed (snoozed reads
as closed); CSAT comes from the satisfaction surveys (1–5) by ticket.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

from ._common import (
    Adapted,
    Export,
    Source,
    adapted,
    any_tag,
    column,
    intent_from_tags,
    keep_last,
    map_values,
    numbers,
    read_export,
    require,
    tag_lists,
    timestamps,
    truthy,
)

#: Gorgias channel → the §1 channel vocabulary; others pass through.
CHANNELS = {
    "email": "email",
    "contact_form": "email",
    "chat": "chat",
    "facebook": "social",
    "facebook-messenger": "social",
    "facebook-mention": "social",
    "instagram-comment": "social",
    "instagram-direct-message": "social",
    "twitter": "social",
    "whatsapp": "social",
    "phone": "phone",
    "aircall": "phone",
    "sms": "sms",
    "help-center": "self_service",
}
AI_TAGS = ("ai_agent", "ai-agent")
ESCALATION_TAGS = ("ai_handover", "handover", "escalated")


def gorgias(
    tickets: Source,
    *,
    messages: Source | None = None,
    surveys: Source | None = None,
    intent: Mapping[str, str] | None = None,
    channels: Mapping[str, str] | None = None,
    ai_tags: Iterable[str] = AI_TAGS,
    escalation_tags: Iterable[str] = ESCALATION_TAGS,
) -> Adapted:
    """Gorgias tickets as contacts, with a mapping report.

    Args:
        tickets: ``{"data": [...]}`` (the API's list shape), a list of tickets, a path
            (``.json`` / ``.jsonl``), or a DataFrame.
        messages: the tickets' messages (``ticket_id``, ``from_agent``, ``public``,
            ``sent_datetime``, ``rule_id``), for first response and touches; without them
            both are absent.
        surveys: satisfaction surveys (``ticket_id``, ``score``), for csat.
        intent: tag → intent, the first matching tag in the mapping's order wins.
        channels: channel → channel, on top of :data:`CHANNELS`.
        ai_tags / escalation_tags: the signals for ``handled_by`` and ``escalated``
            (see ``docs/semantics.md``).

    Example:
        >>> from supportkpi import adapters
        >>> g = adapters.gorgias(
        ...     [{"id": 5, "customer": {"id": 9, "email": "a@b.co"}, "channel": "email",
        ...       "created_datetime": "2024-03-01T09:00:00+00:00", "status": "closed",
        ...       "closed_datetime": "2024-03-01T15:00:00+00:00"}],
        ...     messages=[{"ticket_id": 5, "from_agent": True, "public": True, "rule_id": 3,
        ...                "sent_datetime": "2024-03-01T09:00:05+00:00"},
        ...               {"ticket_id": 5, "from_agent": True, "public": True, "rule_id": None,
        ...                "sent_datetime": "2024-03-01T10:00:00+00:00"}])
        >>> g.contacts[["first_response_at", "touches", "handled_by"]]
                  first_response_at  touches handled_by
        0 2024-03-01 10:00:00+00:00        1      human
    """
    export = read_export(tickets, what="Gorgias tickets", list_key="data")
    require(export, ["id", "created_datetime"], what="Gorgias tickets")
    frame = export.frame
    rows_in = len(frame)
    dropped: dict[str, int] = {}
    frame = keep_last(frame, "id", dropped, "repeated ticket ids (the last row kept)")
    spam = truthy(column(frame, "spam")).to_numpy(bool)
    if spam.any():
        dropped["spam tickets"] = int(spam.sum())
    frame = frame[~spam].reset_index(drop=True)
    export = Export(frame, export.label)
    created = timestamps(frame["created_datetime"], export=export, field_name="created_datetime")
    closed = timestamps(
        column(frame, "closed_datetime"), export=export, field_name="closed_datetime"
    )
    status = column(frame, "status").astype("string").str.lower()
    tags = tag_lists(column(frame, "tags"))

    first_response = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us, UTC]")
    touches = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    human_reply = pd.Series(False, index=frame.index)
    if messages is not None:
        m_export = read_export(messages, what="Gorgias messages", list_key="data")
        require(m_export, ["ticket_id", "from_agent"], what="Gorgias messages")
        m = m_export.frame
        when_field = "sent_datetime" if "sent_datetime" in m.columns else "created_datetime"
        require(m_export, [when_field], what="Gorgias messages")
        sent = timestamps(m[when_field], export=m_export, field_name=when_field)
        agent = truthy(m["from_agent"])
        public = truthy(column(m, "public")) | column(m, "public").isna()
        by_rule = column(m, "rule_id").notna()
        reply = (agent & public & ~by_rule).to_numpy(bool)
        ids = m["ticket_id"]
        first = sent[reply].groupby(ids[reply]).min()
        first_response = frame["id"].map(first).astype("datetime64[us, UTC]")
        counts = ids[reply].value_counts()
        touches = frame["id"].map(counts).fillna(0).astype("Int64")
        human_reply = first_response.notna()

    csat = pd.Series(float("nan"), index=frame.index)
    if surveys is not None:
        s_export = read_export(surveys, what="Gorgias satisfaction surveys", list_key="data")
        require(s_export, ["ticket_id", "score"], what="Gorgias satisfaction surveys")
        s = s_export.frame
        score = numbers(s["score"], export=s_export, field_name="score")
        latest = pd.DataFrame({"ticket_id": s["ticket_id"], "score": score}).dropna()
        latest = latest.drop_duplicates("ticket_id", keep="last").set_index("ticket_id")
        csat = frame["id"].map(latest["score"]).astype("float64")

    ai = any_tag(tags, ai_tags)
    handled_by = pd.Series(None, index=frame.index, dtype=object)
    handled_by[human_reply.to_numpy(bool)] = "human"
    handled_by[ai.to_numpy(bool)] = "ai"
    # The AI agent's own messages are agent messages too: only a tag tells a hand-over.
    escalated = ((handled_by == "ai") & any_tag(tags, escalation_tags)).astype(object)
    escalated[handled_by.isna()] = None
    is_closed = closed.notna() & status.ne("open").fillna(True)
    contacts = pd.DataFrame(
        {
            "contact_id": frame["id"].to_numpy(),
            "customer_id": column(frame, "customer.id").to_numpy(),
            "email": column(frame, "customer.email").to_numpy(),
            "created_at": created,
            "channel": map_values(column(frame, "channel"), {**CHANNELS, **(channels or {})}),
            "intent": intent_from_tags(tags, intent),
            "handled_by": handled_by,
            "escalated": escalated,
            "first_response_at": first_response,
            "resolved_at": closed.where(is_closed),
            "touches": touches,
            "csat": csat,
            "agent_id": column(frame, "assignee_user.id").astype("string"),
        }
    )
    no_messages = "no messages given" if messages is None else ""
    sources: dict[str, tuple[str | None, str]] = {
        "contact_id": ("id", ""),
        "customer_id": ("customer.id", "replaced by one key per email in adapters.link"),
        "email": ("customer.email", ""),
        "created_at": ("created_datetime", ""),
        "channel": ("channel", ""),
        "intent": ("tags[].name through the intent mapping" if intent else None, ""),
        "handled_by": (
            "tags / messages",
            "ai: an AI tag; human: a public agent message not sent by a rule; else null",
        ),
        "escalated": ("tags", "an AI first line with a hand-over tag"),
        "first_response_at": (
            None if messages is None else "messages.sent_datetime",
            no_messages or "the first public agent message not sent by a rule",
        ),
        "resolved_at": ("closed_datetime", "null while open; snoozed reads as closed"),
        "touches": (
            None if messages is None else "messages",
            no_messages or "public agent messages not sent by a rule",
        ),
        "csat": (None if surveys is None else "satisfaction_surveys.score", ""),
        "agent_id": ("assignee_user.id", ""),
        "handle_seconds": (None, "Gorgias has no agent effort field"),
    }
    return adapted(
        "Gorgias",
        export,
        rows_in,
        contacts=contacts,
        dropped=dropped,
        sources=sources,
        definitions=[
            "first response ignores messages sent by rules (Gorgias' own definition)",
            "touches = public agent messages not sent by a rule (internal notes and "
            "rule-sent auto-replies are no touch)",
        ],
    )
