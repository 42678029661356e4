"""Partial states for scale-out: ``partial`` (one slice of customers), ``combine`` and
``merge`` (slices into one state, or into the scorecard)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from . import _supportkpi as _native
from ._api import prepare
from ._arrow import (
    as_arrow_table,
)
from ._card import Scorecard, scorecard_of
from ._options import ConfigLike, TimeLike, WindowLike
from ._supportkpi import ConfigError


def partial(
    contacts: Any,
    orders: Any,
    *,
    config: ConfigLike = None,
    by: str = "week",
    tz: str = "UTC",
    group_by: str | Sequence[str] | None = None,
    as_of: TimeLike | None = None,
    columns: Mapping[str, Any] | None = None,
    recovery_window: WindowLike | None = None,
    repeat_window: WindowLike | None = None,
    recontact_window: WindowLike | None = None,
    repurchase_window: WindowLike | None = None,
    baseline_window: WindowLike | None = None,
    baseline_range: tuple[TimeLike, TimeLike] | None = None,
    clv_lifespan_days: float = 3 * 365,
    on_invalid: str = "raise",
) -> bytes:
    """The scorecard's partial state for one slice of the customers, as bytes.

    The arguments are those of :func:`supportkpi.scorecard` without sessions and events
    (give those to :func:`supportkpi.merge`). Every row of a customer must be in the same
    slice (anonymous rows may be in any); then merging the slices' states gives the
    scorecard of all the data: counts and sums exactly, quantile KPIs within 1% (they
    travel as DDSketches). Every slice of one merge needs the same options and the same
    explicit ``as_of`` (the default, the slice's latest ``created_at``, differs between
    slices). The bytes are versioned (``supportkpi._supportkpi.PARTIAL_FORMAT_VERSION``)
    and small: per-day counts, not rows.

    Example:
        >>> import pandas as pd, supportkpi as sk
        >>> s = sk.load_sample()
        >>> contacts, orders = s["contacts"], s["orders"]
        >>> as_of = max(contacts.created_at.max(), orders.created_at.max())
        >>> half = lambda t: pd.util.hash_pandas_object(t.customer_id, index=False) % 2
        >>> states = [sk.partial(contacts[half(contacts) == i], orders[half(orders) == i],
        ...                      as_of=as_of) for i in (0, 1)]
        >>> merged = sk.merge(states).to_pandas()
        >>> local = sk.scorecard(contacts, orders).to_pandas()
        >>> merged.loc[merged.kpi == "contacts", "value"].equals(
        ...     local.loc[local.kpi == "contacts", "value"])
        True
    """
    return prepare(
        contacts,
        orders,
        config=config,
        as_of=as_of,
        columns=columns,
        recovery_window=recovery_window,
        repeat_window=repeat_window,
        recontact_window=recontact_window,
        on_invalid=on_invalid,
    ).partial(
        by=by,
        tz=tz,
        group_by=group_by,
        repurchase_window=repurchase_window,
        baseline_window=baseline_window,
        baseline_range=baseline_range,
        clv_lifespan_days=clv_lifespan_days,
    )


def _state_bytes(states: Iterable[bytes]) -> list[bytes]:
    """The states as bytes; anything else is a ConfigError naming its position (a str or a
    path is a common slip: states are the bytes sk.partial returns)."""
    if isinstance(states, (bytes, bytearray, memoryview, str)):
        raise ConfigError("states: expected a list of partial states, not a single value")
    out = []
    for i, state in enumerate(states):
        if not isinstance(state, (bytes, bytearray, memoryview)):
            raise ConfigError(
                f"states[{i}]: expected the bytes sk.partial returns, got {type(state).__name__}"
            )
        out.append(bytes(state))
    return out


def combine(states: Iterable[bytes]) -> bytes:
    """Merges partial states into one partial state, for tree reductions.

    ``merge([combine([a, b]), c])`` is ``merge([a, b, c])``: merging is associative and
    commutative, so workers can pre-merge their slices before the driver sees them.

    Example:
        >>> import pandas as pd, supportkpi as sk
        >>> s = sk.load_sample()
        >>> contacts, orders = s["contacts"], s["orders"]
        >>> as_of = max(contacts.created_at.max(), orders.created_at.max())
        >>> third = lambda t: pd.util.hash_pandas_object(t.customer_id, index=False) % 3
        >>> a, b, c = (sk.partial(contacts[third(contacts) == i], orders[third(orders) == i],
        ...                       as_of=as_of) for i in range(3))
        >>> one = sk.merge([sk.combine([a, b]), c]).to_pandas()
        >>> other = sk.merge([c, sk.combine([b, a])]).to_pandas()
        >>> one.equals(other)
        True
    """
    state: bytes = _native.combine_states(_state_bytes(states))
    return state


def merge(
    states: Iterable[bytes],
    *,
    sessions: Any | None = None,
    events: Any | None = None,
) -> Scorecard:
    """Merges partial states (:func:`supportkpi.partial`) into the scorecard.

    Merging is associative and commutative; the result is the scorecard of all the slices'
    rows: counts, sums and ratios exactly as :func:`supportkpi.scorecard` computes them,
    quantile KPIs (medians, p90) within 1% relative error. Sessions and events, small
    tables not split by customer, are given here. Options come from the states.

    Example:
        >>> import supportkpi as sk
        >>> s = sk.load_sample()
        >>> state = sk.partial(s["contacts"], s["orders"], by="month", group_by="channel")
        >>> card = sk.merge([state], sessions=s["sessions"], events=s["events"])
        >>> card.by, card.group_by
        ('month', ['channel'])
    """
    tables = {}
    if sessions is not None:
        tables["sessions"] = as_arrow_table(sessions, "sessions")
    if events is not None:
        tables["events"] = as_arrow_table(events, "events")
    result = _native.merge_states(
        _state_bytes(states),
        tables.get("sessions"),
        tables.get("events"),
    )
    return scorecard_of(result, tables.get("events"))
