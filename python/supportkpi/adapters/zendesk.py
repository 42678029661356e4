"""Zendesk Support tickets → contacts (SPEC §11, ADAPTERS.md).

Reads the tickets API / incremental export with ``include=metric_sets`` (``metric_set``
nested in each ticket, or ``metric_sets`` sideloaded with a ``ticket_id``), optionally
with ``users`` (sideloaded or passed) for the requesters' emails, or the CSV view export.
Zendesk's own definitions are kept: first reply and one-touch count public agent replies;
``solved_at`` is the latest solve; there is no agent effort field, so ``handle_seconds``
stays absent (Zendesk's "agent work time" is time in the new/open statuses).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from ._common import (
    Adapted,
    Export,
    Source,
    adapted,
    any_tag,
    column,
    intent_from_tags,
    map_values,
    numbers,
    read_export,
    records_of,
    require,
    tag_lists,
    timestamps,
)

#: via.channel → the §1 channel vocabulary; values not named pass through lower-cased.
CHANNELS = {
    "web": "email",  # the web form: asynchronous, answered like email
    "email": "email",
    "chat": "chat",
    "native_messaging": "chat",
    "voice": "phone",
    "sms": "sms",
    "twitter": "social",
    "facebook": "social",
    "instagram_dm": "social",
    "whatsapp": "social",
    "help_center": "self_service",
}
#: satisfaction_rating.score → csat on 1–5 (offered / unoffered are no rating).
CSAT = {"good": 5.0, "bad": 1.0}
#: Tags that mark a ticket the AI agent (or a bot) took first.
AI_TAGS = ("ai_agent", "answer_bot", "bot_handled")
#: Tags that mark a hand-off from the AI / self-service to a person.
ESCALATION_TAGS = ("escalated", "ai_escalated", "handoff")
#: Statuses in which a ticket is resolved; others leave resolved_at null.
SOLVED = ("solved", "closed")

#: CSV view export column → API field.
CSV_FIELDS = {
    "Id": "id",
    "Requester id": "requester_id",
    "Requester email": "requester.email",
    "Assignee id": "assignee_id",
    "Created at": "created_at",
    "Via": "via.channel",
    "Ticket type": "type",
    "Tags": "tags",
    "Priority": "priority",
    "Status": "status",
    "First reply time in minutes": "metric_set.reply_time_in_minutes.calendar",
    "First resolution time in minutes": "metric_set.first_resolution_time_in_minutes.calendar",
    "Solved at": "metric_set.solved_at",
    "Replies": "metric_set.replies",
    "Reopens": "metric_set.reopens",
    "Satisfaction Score": "satisfaction_rating.score",
}
REQUIRED = ("id", "created_at", "requester_id")


def _from_csv(frame: pd.DataFrame) -> pd.DataFrame:
    if "Id" not in frame.columns:
        return frame
    out = frame.rename(columns={k: v for k, v in CSV_FIELDS.items() if k in frame.columns})
    if "via.channel" in out.columns:  # "Web Form", "Email", "Chat" in the UI's words
        out["via.channel"] = (
            out["via.channel"].astype("string").str.strip().str.lower().str.replace(" ", "_")
        )
        out["via.channel"] = out["via.channel"].replace({"web_form": "web", "mail": "email"})
    if "satisfaction_rating.score" in out.columns:
        out["satisfaction_rating.score"] = (
            out["satisfaction_rating.score"].astype("string").str.lower().str.replace(" ", "")
        )
    if "requester_id" not in out.columns and "requester.email" in out.columns:
        out["requester_id"] = out["requester.email"]
    return out


def _metric_sets(export: Export, frame: pd.DataFrame) -> pd.DataFrame:
    """Sideloaded metric_sets joined to their tickets as ``metric_set.*`` columns."""
    sets = export.sideloads.get("metric_sets")
    if sets is None or len(sets) == 0 or any(c.startswith("metric_set.") for c in frame.columns):
        return frame
    metrics = records_of(sets, what="Zendesk metric_sets", list_key="metric_sets")
    if "ticket_id" not in metrics.columns:
        return frame
    metrics = metrics.drop_duplicates("ticket_id", keep="last")
    metrics = metrics.rename(columns={c: f"metric_set.{c}" for c in metrics.columns})
    return frame.merge(
        metrics, how="left", left_on="id", right_on="metric_set.ticket_id", validate="m:1"
    )


def _emails(export: Export, frame: pd.DataFrame, users: Source | None) -> tuple[pd.Series, str]:
    if "requester.email" in frame.columns:
        return frame["requester.email"], "requester.email"
    source: Any = users if users is not None else export.sideloads.get("users")
    if source is None:
        return pd.Series([None] * len(frame), index=frame.index, dtype=object), ""
    people = records_of(source, what="Zendesk users", list_key="users")
    if not {"id", "email"} <= set(people.columns):
        return pd.Series([None] * len(frame), index=frame.index, dtype=object), ""
    by_id = people.drop_duplicates("id", keep="last").set_index("id")["email"]
    return frame["requester_id"].map(by_id), "users.email by requester_id"


def zendesk(
    tickets: Source,
    *,
    users: Source | None = None,
    intent: Mapping[str, str] | None = None,
    intent_field: str | None = None,
    csat: Mapping[str, float] | None = None,
    channels: Mapping[str, str] | None = None,
    ai_tags: Iterable[str] = AI_TAGS,
    escalation_tags: Iterable[str] = ESCALATION_TAGS,
    bot_users: Iterable[Any] = (),
) -> Adapted:
    """Zendesk tickets as contacts, with a mapping report.

    Args:
        tickets: the export: a path (``.json``: the API response ``{"tickets": [...]}``
            with any sideloads, or a list; ``.jsonl``; ``.csv``: a view export), a list of
            ticket dicts, the response dict, or a DataFrame.
        users: requesters (``{"users": [...]}``, a list or a path), for their emails;
            sideloaded ``users`` are used when this is not given.
        intent: tag → intent (the default taxonomy's names: order_tracking, returns,
            shipping_info, payment_issue, promo_confusion, product_question,
            cancellation, damaged_item, account, other); the first matching tag in the
            mapping's order wins. With ``intent_field`` the mapping reads that field's
            values instead (``type``, or a custom field flattened as a column).
        csat: satisfaction score → 1–5 (default good → 5, bad → 1).
        channels: via.channel → channel, on top of :data:`CHANNELS`.
        ai_tags / escalation_tags / bot_users: the signals for ``handled_by`` and
            ``escalated`` (see ``docs/semantics.md``).

    Example:
        >>> from supportkpi import adapters
        >>> z = adapters.zendesk({"tickets": [{"id": 1, "requester_id": 7,
        ...     "created_at": "2024-03-01T09:00:00Z", "status": "solved",
        ...     "via": {"channel": "email"}, "satisfaction_rating": {"score": "good"},
        ...     "metric_set": {"reply_time_in_minutes": {"calendar": 30},
        ...                    "solved_at": "2024-03-01T12:00:00Z", "replies": 1}}]})
        >>> z.contacts[["contact_id", "first_response_at", "csat", "touches"]]
           contact_id         first_response_at  csat  touches
        0           1 2024-03-01 09:30:00+00:00   5.0        1
    """
    export = read_export(tickets, what="Zendesk tickets", list_key="tickets", csv=True)
    if "Id" in export.frame.columns and "id" not in export.frame.columns:
        # The CSV view export: checked in its own column names.
        csv_required = ["Id", "Created at"]
        if not {"Requester id", "Requester email"} & set(export.frame.columns):
            csv_required.append("Requester id (or Requester email)")
        require(export, csv_required, what="Zendesk tickets (CSV view export)")
    frame = _from_csv(export.frame)
    export = Export(frame, export.label, export.sideloads)
    require(export, REQUIRED, what="Zendesk tickets")
    rows_in = len(frame)
    dropped: dict[str, int] = {}
    # The incremental export repeats a ticket each time it changes: keep its last version.
    order = (
        timestamps(frame["updated_at"], export=export, field_name="updated_at")
        if "updated_at" in frame.columns
        else None
    )
    if order is not None:
        frame = frame.assign(_order=order).sort_values("_order", kind="stable")
    latest = ~frame.duplicated("id", keep="last")
    if (~latest).any():
        dropped["earlier versions of a ticket (the incremental export repeats updates)"] = int(
            (~latest).sum()
        )
    frame = frame[latest]
    status = column(frame, "status").astype("string").str.lower()
    deleted = status.isin(["deleted"]).fillna(False).to_numpy(bool)
    if deleted.any():
        dropped["deleted tickets"] = int(deleted.sum())
    frame = frame[~deleted].sort_index()
    status = status[~deleted].sort_index()
    frame = _metric_sets(export, frame.reset_index(drop=True))
    status = status.reset_index(drop=True)
    export = Export(frame, export.label, export.sideloads)

    created = timestamps(frame["created_at"], export=export, field_name="created_at")

    def minutes_after(field_name: str) -> pd.Series:
        values = numbers(column(frame, field_name), export=export, field_name=field_name)
        return created + pd.to_timedelta(values, unit="min")

    reply = "metric_set.reply_time_in_minutes.calendar"
    first_resolution = "metric_set.first_resolution_time_in_minutes.calendar"
    solved_at = timestamps(
        column(frame, "metric_set.solved_at"), export=export, field_name="metric_set.solved_at"
    )
    solved = status.isin(SOLVED).fillna(False).to_numpy(bool)
    tags = tag_lists(column(frame, "tags"))
    channel = map_values(column(frame, "via.channel"), {**CHANNELS, **(channels or {})})
    replies = numbers(
        column(frame, "metric_set.replies"), export=export, field_name="metric_set.replies"
    )
    assignee = column(frame, "assignee_id")
    bots = {str(b) for b in bot_users}
    ai = any_tag(tags, ai_tags) | assignee.astype("string").isin(bots).fillna(False)
    self_service = (channel == "self_service").to_numpy(bool)
    handled_by = pd.Series(None, index=frame.index, dtype=object)
    handled_by[replies.fillna(0) > 0] = "human"
    handled_by[self_service] = "self_service"
    handled_by[ai.to_numpy(bool)] = "ai"
    first_line = handled_by.isin(["ai", "self_service"])
    escalated = (first_line & any_tag(tags, escalation_tags)).astype(object)
    escalated[handled_by.isna()] = None

    scores = column(frame, "satisfaction_rating.score")
    csat_map = {k.lower(): float(v) for k, v in (csat or CSAT).items()}
    numeric = pd.to_numeric(scores, errors="coerce").astype("float64")
    csat_values = scores.astype("string").str.lower().map(csat_map).astype("float64")
    csat_values = csat_values.fillna(numeric.where(numeric.between(1, 5)))
    offered = scores.astype("string").str.lower().isin(["offered"]).fillna(False)

    intent_source: str | None
    if intent_field is not None:
        require(export, [intent_field], what="Zendesk tickets")
        values = frame[intent_field].astype("string").str.strip().str.lower()
        lowered = {str(k).lower(): v for k, v in (intent or {}).items()}
        intents = values.map(lowered).fillna(values).astype(object)
        intents = intents.where(values.notna().to_numpy(bool), None)
        intent_source = f"{intent_field} through the intent mapping"
    else:
        intents = intent_from_tags(tags, intent)
        intent_source = "tags through the intent mapping" if intent else None

    emails, email_source = _emails(export, frame, users)
    contacts = pd.DataFrame(
        {
            "contact_id": frame["id"].to_numpy(),
            "customer_id": frame["requester_id"].to_numpy(),
            "email": emails.to_numpy(),
            "created_at": created,
            "channel": channel.to_numpy(),
            "intent": intents.to_numpy(),
            "handled_by": handled_by.to_numpy(),
            "escalated": escalated.to_numpy(),
            "first_response_at": minutes_after(reply),
            "first_resolved_at": minutes_after(first_resolution),
            "resolved_at": solved_at.where(solved),
            "touches": replies.astype("Int64"),
            "reopens": numbers(
                column(frame, "metric_set.reopens"), export=export, field_name="reopens"
            ).astype("Int64"),
            "csat": csat_values,
            "priority": column(frame, "priority").astype("string").str.lower().to_numpy(),
            "agent_id": assignee.astype("string").to_numpy(),
        }
    )
    sources: dict[str, tuple[str | None, str]] = {
        "contact_id": ("id", ""),
        "customer_id": ("requester_id", "replaced by one key per email in adapters.link"),
        "email": (email_source or None, "the requester's email (users.email)"),
        "created_at": ("created_at", ""),
        "channel": ("via.channel", "web form → email; help_center → self_service"),
        "intent": (intent_source, "no native field: pass intent={tag: intent}"),
        "handled_by": (
            "tags / assignee / replies",
            f"ai: tag in {sorted(set(ai_tags))} or a bot assignee; self_service: "
            "help_center; human: a public agent reply; else null",
        ),
        "escalated": (
            "tags",
            f"ai/self-service first line with a tag in {sorted(set(escalation_tags))}",
        ),
        "first_response_at": (reply, "created_at + whole minutes to the first public agent reply"),
        "first_resolved_at": (first_resolution, "created_at + minutes to the first solve"),
        "resolved_at": ("metric_set.solved_at", "the latest solve; null unless solved/closed"),
        "touches": ("metric_set.replies", "public agent replies"),
        "reopens": ("metric_set.reopens", ""),
        "csat": (
            "satisfaction_rating.score",
            f"good → 5, bad → 1; {int(offered.sum()):,} offered but unrated",
        ),
        "priority": ("priority", "for SLA policies"),
        "agent_id": ("assignee_id", ""),
        "handle_seconds": (
            None,
            "Zendesk has no agent effort field (agent work time is time in a status)",
        ),
    }
    return adapted(
        "Zendesk",
        export,
        rows_in,
        contacts=contacts,
        dropped=dropped,
        sources=sources,
        definitions=[
            "first response = the first public agent reply (reply_time_in_minutes, calendar)",
            "one-touch = solved with fewer than two public agent replies",
            "resolved_at = metric_set.solved_at, the latest solve",
        ],
    )
