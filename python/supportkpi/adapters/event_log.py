"""A ticket status-event log → contacts, by rules the user names (SPEC §11).

One row per ticket event (ticket id, activity, timestamp, optionally the actor): a
contact's created_at is its first event, first_response_at its first response activity,
first_resolved_at / resolved_at its first / last resolve activity (resolved_at null when a
reopening activity came after the last resolve), reopens the resolves after the first.
Duplicate events (same ticket, activity and timestamp) count once.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from .._supportkpi import ConfigError
from ._common import (
    Adapted,
    Source,
    adapted,
    read_export,
    require,
    timestamps,
)


def _names(values: str | Iterable[str] | None, what: str) -> list[str]:
    if values is None:
        return []
    names = [values] if isinstance(values, str) else list(values)
    if not all(isinstance(v, str) for v in names):
        raise ConfigError(f"event_log: {what} must be activity names (strings)")
    return names


def event_log(
    source: Source,
    *,
    case: str = "ticket_id",
    activity: str = "activity",
    timestamp: str = "timestamp",
    response: str | Iterable[str] = (),
    resolve: str | Iterable[str] = (),
    reopen: str | Iterable[str] | None = None,
    actor: str | None = None,
    customer: str | None = None,
) -> Adapted:
    """Contacts from a ticket event log, with a mapping report.

    Args:
        source: the log (CSV, JSON or JSON lines path, a list of dicts, a DataFrame).
        case / activity / timestamp: its columns for the ticket id, the activity name and
            the event time.
        response: the activities that are a response to the customer.
        resolve: the activities that resolve the ticket.
        reopen: activities that reopen it; one after the last resolve leaves the contact
            open (resolved_at null).
        actor: the column naming who acted; the first responder becomes ``agent_id``.
        customer: the column with the customer's id, if the log has one (else the
            contacts are anonymous: they count in volume KPIs but never join orders).

    Example:
        >>> import pandas as pd
        >>> from supportkpi import adapters
        >>> log = pd.DataFrame({"ticket_id": [1, 1, 1, 1],
        ...     "activity": ["Open", "Reply", "Solve", "Solve"],
        ...     "timestamp": ["2024-01-01T09:00Z", "2024-01-01T10:00Z",
        ...                   "2024-01-01T11:00Z", "2024-01-02T11:00Z"]})
        >>> e = adapters.event_log(log, response="Reply", resolve="Solve")
        >>> e.contacts[["first_resolved_at", "resolved_at", "reopens"]]
                  first_resolved_at               resolved_at  reopens
        0 2024-01-01 11:00:00+00:00 2024-01-02 11:00:00+00:00        1
    """
    responses = _names(response, "response")
    resolves = _names(resolve, "resolve")
    reopens = _names(reopen, "reopen")
    if not resolves and not responses:
        raise ConfigError("event_log: name the response and/or resolve activities")
    export = read_export(source, what="event log", list_key="events", csv=True)
    needed = [case, activity, timestamp] + [c for c in (actor, customer) if c is not None]
    require(export, needed, what="event log")
    frame = export.frame
    rows_in = len(frame)
    events = pd.DataFrame(
        {
            "case": frame[case],
            "activity": frame[activity].astype("string").str.strip(),
            "at": timestamps(frame[timestamp], export=export, field_name=timestamp),
        }
    )
    if actor is not None:
        events["actor"] = frame[actor].astype("string")
    if customer is not None:
        events["customer"] = frame[customer]
    dropped: dict[str, int] = {}
    unusable = events["case"].isna() | events["at"].isna()
    if unusable.any():
        dropped["events without a ticket id or a timestamp"] = int(unusable.sum())
        events = events[~unusable]
    duplicate = events.duplicated(["case", "activity", "at"])
    if duplicate.any():
        dropped["duplicate events (same ticket, activity and timestamp), counted once"] = int(
            duplicate.sum()
        )
        events = events[~duplicate]
    events = events.sort_values(["case", "at"], kind="stable")
    by_case = events.groupby("case", sort=False)
    created = by_case["at"].min()

    is_response = events["activity"].isin(responses).fillna(False)
    is_resolve = events["activity"].isin(resolves).fillna(False)
    is_reopen = events["activity"].isin(reopens).fillna(False)
    response_events = events[is_response.to_numpy(bool)]
    first_response = response_events.groupby("case")["at"].min()
    resolve_at = events[is_resolve.to_numpy(bool)].groupby("case")["at"]
    first_resolved, last_resolved = resolve_at.min(), resolve_at.max()
    resolve_count = resolve_at.size()
    last_reopen = events[is_reopen.to_numpy(bool)].groupby("case")["at"].max()
    reopened_after = last_reopen.reindex(created.index) > last_resolved.reindex(created.index)

    contacts = pd.DataFrame(index=created.index)
    contacts["contact_id"] = created.index
    contacts["customer_id"] = (
        by_case["customer"].first()
        if customer is not None
        else pd.Series(None, index=created.index, dtype=object)
    )
    contacts["created_at"] = created
    contacts["first_response_at"] = first_response.reindex(created.index)
    contacts["first_resolved_at"] = first_resolved.reindex(created.index)
    contacts["resolved_at"] = last_resolved.reindex(created.index).where(
        ~reopened_after.fillna(False)
    )
    contacts["reopens"] = (
        (resolve_count.reindex(created.index).fillna(0) - 1).clip(lower=0).astype("Int64")
    )
    if actor is not None:
        first_rows = response_events.drop_duplicates("case", keep="first").set_index("case")
        contacts["agent_id"] = first_rows["actor"].reindex(created.index)
    contacts = contacts.reset_index(drop=True)
    never = int(contacts["resolved_at"].isna().sum())
    sources: dict[str, tuple[str | None, str]] = {
        "contact_id": (case, ""),
        "customer_id": (customer, "" if customer else "the log has none: anonymous contacts"),
        "created_at": (f"first {timestamp}", "the ticket's first event"),
        "first_response_at": (
            f"first of {responses}" if responses else None,
            "" if responses else "no response activity named",
        ),
        "first_resolved_at": (f"first of {resolves}" if resolves else None, ""),
        "resolved_at": (
            f"last of {resolves}" if resolves else None,
            f"null when never resolved or reopened ({never:,} tickets)",
        ),
        "reopens": (f"count of {resolves} − 1", "resolves after the first"),
    }
    if actor is not None:
        sources["agent_id"] = (actor, "who gave the first response")
    return adapted(
        "event log",
        export,
        rows_in,
        contacts=contacts,
        dropped=dropped,
        sources=sources,
        definitions=[
            "created_at = a ticket's first event; reopens = resolves after the first",
            f"reopening activities: {reopens or 'none named'}",
        ],
        notes=[f"tickets never resolved (or left open by a reopening): {never:,}"],
    )
