"""Edge cases of the per-customer joins (SPEC §3, §8), through ``sk.enrich_contacts``.

Every expected value is worked out by hand from the SPEC and written as a literal; the
comments show the arithmetic. Timestamps are tz-aware UTC unless a test says otherwise.
"""

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import supportkpi as sk

# --- tiny typed frame builders -------------------------------------------------------


def _ids(*vals):
    if all(v is None or isinstance(v, str) for v in vals):
        return pd.array(list(vals), dtype="str")
    return pd.array(list(vals), dtype="Int64")


def _ts(*vals):
    return pd.array(
        [None if v is None else pd.Timestamp(v, tz="UTC") for v in vals],
        dtype="datetime64[us, UTC]",
    )


def _strs(*vals):
    return pd.array(list(vals), dtype="str")


def _bools(*vals):
    return pd.array(list(vals), dtype="boolean")


def _floats(*vals):
    return np.array(vals, dtype="float64")


def _ints(*vals):
    return pd.array(list(vals), dtype="Int64")


_TYPES = {
    "contact_id": _ids,
    "order_id": _ids,
    "customer_id": _ids,
    "created_at": _ts,
    "resolved_at": _ts,
    "first_response_at": _ts,
    "channel": _strs,
    "intent": _strs,
    "handled_by": _strs,
    "escalated": _bools,
    "preventable": _bools,
    "revenue": _floats,
    "touches": _ints,
}


def frame(columns, *rows):
    """frame("contact_id customer_id created_at", ("c1", "A", "2024-01-01 10:00"), ...)"""
    names = columns.split()
    cols = list(zip(*rows)) if rows else [()] * len(names)
    return pd.DataFrame({n: _TYPES[n](*vals) for n, vals in zip(names, cols)})


def orders(*rows):
    return frame("order_id customer_id created_at revenue", *rows)


NO_ORDERS = orders()
ORDER_Z = orders(("oz", "Z", "2024-01-01 00:00", 1.0))  # a customer with no contact


def col(out, name):
    """A column as a plain list, null/NaN/NA -> None."""
    return [None if pd.isna(v) else v for v in out[name].tolist()]


def T(s):
    return pd.Timestamp(s, tz="UTC")


# --- §3.1 / §3.2: the recovery window (t, t + 7 d] -------------------------------------


def test_recovery_window_is_half_open_on_the_left():
    contacts = frame(
        "contact_id customer_id created_at",
        ("c1", "A", "2024-01-01 10:00"),
        ("c2", "B", "2024-01-01 10:00"),
        ("c3", "C", "2024-01-01 10:00"),
    )
    ords = orders(
        ("o1", "A", "2024-01-08 10:00", 10.0),  # exactly +7 d: counts
        ("o2", "B", "2024-01-01 10:00", 20.0),  # same instant as the contact: not after
        ("o3", "C", "2024-01-08 10:00:00.000001", 30.0),  # +7 d + 1 µs: outside
    )
    out = sk.enrich_contacts(contacts, ords)
    assert isinstance(out, pd.DataFrame)
    assert col(out, "contact_id") == ["c1", "c2", "c3"]
    assert col(out, "recovered_7d") == [True, False, False]
    # 7 d = 168 h; no order in the window -> null, even if a later order exists (§8.5)
    assert col(out, "hours_to_next_order") == [168.0, None, None]
    assert col(out, "attributed_orders") == [1, 0, 0]
    assert col(out, "attributed_revenue") == [10.0, 0.0, 0.0]


def test_hours_to_next_order_is_the_first_order_and_several_orders_go_to_one_contact():
    contacts = frame("contact_id customer_id created_at", ("c1", "A", "2024-01-01 10:00"))
    ords = orders(
        ("o3", "A", "2024-01-08 10:00", 30.0),  # +7 d exactly: in
        ("o1", "A", "2024-01-02 10:00", 10.0),  # +24 h: the first order
        ("o4", "A", "2024-01-08 10:00:00.000001", 99.0),  # outside
        ("o2", "A", "2024-01-03 10:00", 20.5),
    )
    out = sk.enrich_contacts(contacts, ords)
    assert col(out, "recovered_7d") == [True]
    assert col(out, "hours_to_next_order") == [24.0]
    assert col(out, "attributed_orders") == [3]  # o1, o2, o3
    assert col(out, "attributed_revenue") == [pytest.approx(60.5)]  # 10 + 20.5 + 30


# --- §3.3 / §8.6: attribution ----------------------------------------------------------


@pytest.mark.parametrize(
    ("contact_ids", "winner"),
    [
        ([9, 10], 10),  # integers: numeric order, 10 > 9
        ([10, 9], 10),
        (["9", "10"], "9"),  # strings: lexicographic, "9" > "10"
        (["10", "9"], "9"),
    ],
)
def test_tie_on_created_at_goes_to_the_greatest_contact_id(contact_ids, winner):
    contacts = frame(
        "contact_id customer_id created_at",
        (contact_ids[0], "A", "2024-01-01 10:00"),
        (contact_ids[1], "A", "2024-01-01 10:00"),
    )
    ords = orders(("o1", "A", "2024-01-02 10:00", 50.0))
    out = sk.enrich_contacts(contacts, ords)
    assert col(out, "contact_id") == contact_ids  # input order kept
    # both were followed by the order (recovery is existence, not attribution)
    assert col(out, "recovered_7d") == [True, True]
    assert col(out, "hours_to_next_order") == [24.0, 24.0]
    won = [cid == winner for cid in contact_ids]
    assert col(out, "attributed_orders") == [1 if w else 0 for w in won]
    assert col(out, "attributed_revenue") == [50.0 if w else 0.0 for w in won]


def test_order_goes_to_the_latest_preceding_contact():
    contacts = frame(
        "contact_id customer_id created_at",
        ("c2", "A", "2024-01-03 10:00"),  # input deliberately not sorted by time
        ("c1", "A", "2024-01-01 10:00"),
    )
    ords = orders(
        ("ob", "A", "2024-01-04 10:00", 100.0),  # in both windows -> latest contact c2
        ("oa", "A", "2024-01-02 10:00", 5.0),  # only c1 precedes it -> c1
    )
    out = sk.enrich_contacts(contacts, ords)
    assert col(out, "contact_id") == ["c2", "c1"]
    assert col(out, "recovered_7d") == [True, True]
    # c2: 01-03 10:00 -> 01-04 10:00 = 24 h; c1: 01-01 10:00 -> 01-02 10:00 = 24 h
    assert col(out, "hours_to_next_order") == [24.0, 24.0]
    assert col(out, "attributed_orders") == [1, 1]
    assert col(out, "attributed_revenue") == [100.0, 5.0]  # 105 in total, none twice


def test_order_at_the_same_instant_as_a_later_contact_goes_to_the_earlier_one():
    contacts = frame(
        "contact_id customer_id created_at",
        ("c1", "A", "2024-01-01 10:00"),
        ("c2", "A", "2024-01-03 10:00"),
    )
    # c2.created_at == o.created_at: c2 does not strictly precede the order
    ords = orders(("o1", "A", "2024-01-03 10:00", 70.0))
    out = sk.enrich_contacts(contacts, ords)
    assert col(out, "recovered_7d") == [True, False]
    assert col(out, "hours_to_next_order") == [48.0, None]  # 01-01 10:00 -> 01-03 10:00
    assert col(out, "attributed_orders") == [1, 0]
    assert col(out, "attributed_revenue") == [70.0, 0.0]


# --- §8.9: anonymous rows never join ---------------------------------------------------


@pytest.mark.parametrize("kind", ["str", "int"])
def test_anonymous_contacts_and_orders_never_join(kind):
    named = "X" if kind == "str" else 7
    contacts = pd.DataFrame(
        {
            "contact_id": _ids("a1", "a2", "k1"),
            "customer_id": pd.array([None, None, named], dtype="str" if kind == "str" else "Int64"),
            "created_at": _ts("2024-01-01 10:00", "2024-01-02 10:00", "2024-01-01 10:00"),
            "intent": _strs("returns", "returns", "returns"),
            "resolved_at": _ts("2024-01-01 11:00", "2024-01-02 11:00", None),
        }
    )
    ords = pd.DataFrame(
        {
            "order_id": _ids("o1", "o2"),
            "customer_id": pd.array([None, None], dtype="str" if kind == "str" else "Int64"),
            "created_at": _ts("2024-01-01 12:00", "2024-01-02 12:00"),
            "revenue": _floats(25.0, 40.0),
        }
    )
    out = sk.enrich_contacts(contacts, ords)
    # a1/a2 would match each other (same null customer, same intent, a2 in a1's 14 d and
    # 48 h windows) and both anonymous orders, were nulls joined; k1 only has anonymous orders.
    assert col(out, "recovered_7d") == [False, False, False]
    assert col(out, "hours_to_next_order") == [None, None, None]
    assert col(out, "attributed_orders") == [0, 0, 0]
    assert col(out, "attributed_revenue") == [0.0, 0.0, 0.0]
    assert col(out, "repeat_14d") == [False, False, False]
    # a1, a2 are resolved -> false (§8.9); k1 unresolved -> null (§8.10)
    assert col(out, "recontact_48h") == [False, False, None]


# --- §3.4 / §8.8: repeat_14d -----------------------------------------------------------


def test_repeat_14d_with_intent_column():
    contacts = frame(
        "contact_id customer_id created_at intent",
        ("r1", "A", "2024-01-01 10:00", "returns"),  # r2 at exactly +14 d -> True
        ("r2", "A", "2024-01-15 10:00", "returns"),  # nothing after -> False
        ("r3", "A", "2024-01-02 10:00", "order_tracking"),  # no other tracking
        ("r4", "B", "2024-01-01 10:00", "returns"),  # r5 same instant: not after
        ("r5", "B", "2024-01-01 10:00", "returns"),
        ("r6", "C", "2024-01-01 10:00", "returns"),  # r7 at +14 d + 1 µs: outside
        ("r7", "C", "2024-01-15 10:00:00.000001", "returns"),
        ("r8", "D", "2024-01-01 10:00", None),  # null intent never matches
        ("r9", "D", "2024-01-02 10:00", None),
        ("r10", "D", "2024-01-03 10:00", "returns"),
        ("r11", "E", "2024-01-01 10:00", "returns"),  # other customer, same intent
        ("r12", "F", "2024-01-02 10:00", "returns"),
        ("r13", "G", "2024-01-01 10:00", "weird"),  # outside the taxonomy: its own key
        ("r14", "G", "2024-01-05 10:00", "weird"),
    )
    out = sk.enrich_contacts(contacts, ORDER_Z)
    assert col(out, "repeat_14d") == [
        True,  # r1
        False,  # r2
        False,  # r3
        False,  # r4
        False,  # r5
        False,  # r6
        False,  # r7
        False,  # r8
        False,  # r9
        False,  # r10
        False,  # r11
        False,  # r12
        True,  # r13
        False,  # r14
    ]


def test_repeat_14d_without_intent_column_every_contact_of_a_customer_shares_one_key():
    contacts = frame(
        "contact_id customer_id created_at channel",
        ("p1", "A", "2024-01-01 10:00", "email"),  # p2 (+9 d) -> True
        ("p2", "A", "2024-01-10 10:00", "chat"),  # p4 (+10 d) -> True
        ("p3", "B", "2024-01-01 10:00", "email"),  # alone -> False
        ("p4", "A", "2024-01-20 10:00", "phone"),  # nothing after -> False
        ("n1", None, "2024-01-01 10:00", "email"),  # anonymous -> False
        ("n2", None, "2024-01-02 10:00", "email"),
    )
    out = sk.enrich_contacts(contacts, ORDER_Z)
    assert col(out, "repeat_14d") == [True, True, False, False, False, False]


# --- §3.5 / §8.10: recontact_48h --------------------------------------------------------


def test_recontact_48h_rules():
    contacts = frame(
        "contact_id customer_id created_at resolved_at intent",
        ("x1", "A", "2024-01-01 10:00", "2024-01-01 12:00", "returns"),
        ("x2", "A", "2024-01-03 12:00", None, "returns"),  # resolved x1 + 48 h exactly
        ("x3", "B", "2024-01-01 10:00", "2024-01-01 12:00", "returns"),
        ("x4", "B", "2024-01-03 12:00:00.000001", None, "returns"),  # + 48 h + 1 µs
        ("x5", "C", "2024-01-01 10:00", "2024-01-02 10:00", "returns"),
        # x6 is created before x5 is resolved; x7 exactly at x5.resolved_at (not after)
        ("x6", "C", "2024-01-01 20:00", "2024-01-01 21:00", "returns"),
        ("x7", "C", "2024-01-02 10:00", None, "returns"),
        ("x8", "D", "2024-01-01 10:00", "2024-01-01 11:00", "order_tracking"),
        ("x9", "D", "2024-01-02 10:00", None, "returns"),  # other intent
        ("x10", "E", "2024-01-01 10:00", "2024-01-01 11:00", None),
        ("x11", "E", "2024-01-02 10:00", None, None),  # null intent never matches
    )
    out = sk.enrich_contacts(contacts, ORDER_Z)
    assert col(out, "recontact_48h") == [
        True,  # x1: x2 in (01-01 12:00, 01-03 12:00]
        None,  # x2 unresolved
        False,  # x3: x4 is 1 µs late
        None,
        False,  # x5: x6 created before resolution, x7 exactly at it
        True,  # x6: resolved 01-01 21:00, x7 at 01-02 10:00 is within 48 h
        None,
        False,  # x8: x9 has another intent
        None,
        False,  # x10: null intent
        None,
    ]
    # as_of = max created_at = 01-03 12:00:00.000001 (x4); mature: resolved_at + 48 h <= as_of
    assert col(out, "recontact_mature") == [
        True,  # 01-03 12:00
        False,  # unresolved
        True,  # 01-03 12:00
        False,
        False,  # 01-04 10:00
        False,  # 01-03 21:00
        False,
        True,  # 01-03 11:00
        False,
        True,  # 01-03 11:00
        False,
    ]


# --- §2 / §8.1: maturity and as_of -----------------------------------------------------

_MATURITY_CONTACTS = frame(
    "contact_id customer_id created_at resolved_at",
    ("m1", "A", "2024-01-01 10:00", "2024-01-02 10:00"),
    ("m2", "B", "2024-01-10 10:00", None),
)


@pytest.mark.parametrize(
    ("as_of", "repeat_m1"),
    [
        (T("2024-01-15 10:00"), True),  # m1 + 14 d == as_of: mature
        (datetime(2024, 1, 15, 10, tzinfo=UTC), True),  # a datetime works too
        (T("2024-01-15 09:59:59.999999"), False),  # 1 µs short
    ],
)
def test_maturity_flags_against_an_explicit_as_of(as_of, repeat_m1):
    ords = orders(("o1", "Z", "2024-01-20 10:00", 1.0))  # later than as_of: allowed
    out = sk.enrich_contacts(_MATURITY_CONTACTS, ords, as_of=as_of)
    # m1 + 7 d = 01-08 10:00 <= as_of; m2 + 7 d = 01-17 10:00 > as_of
    assert col(out, "recovery_mature") == [True, False]
    # m2 + 14 d = 01-24 10:00 > as_of
    assert col(out, "repeat_mature") == [repeat_m1, False]
    # m1 resolved 01-02 10:00 + 48 h = 01-04 10:00 <= as_of; m2 unresolved
    assert col(out, "recontact_mature") == [True, False]


def test_default_as_of_is_the_latest_order_when_orders_run_later():
    contacts = frame(
        "contact_id customer_id created_at resolved_at first_response_at",
        ("m1", "A", "2024-01-01 10:00", "2024-01-02 10:00", "2024-01-01 10:30"),
        # resolved_at / first_response_at far in the future must not move as_of (§8.1)
        ("m2", "B", "2024-01-05 10:00", "2024-03-01 10:00", "2024-03-01 09:00"),
    )
    ords = orders(("o1", "Z", "2024-01-15 10:00", 1.0))  # as_of = 01-15 10:00
    out = sk.enrich_contacts(contacts, ords)
    # m1 + 14 d = 01-15 10:00 <= as_of; m2 + 14 d = 01-19 10:00 > as_of (it would be
    # mature if resolved_at 03-01 moved as_of)
    assert col(out, "repeat_mature") == [True, False]
    # m2 + 7 d = 01-12 10:00 <= 01-15 10:00
    assert col(out, "recovery_mature") == [True, True]
    # m1: 01-04 10:00 <= as_of; m2: 03-03 10:00 > as_of
    assert col(out, "recontact_mature") == [True, False]


def test_default_as_of_is_the_latest_contact_when_contacts_run_later():
    contacts = frame(
        "contact_id customer_id created_at",
        ("m3", "C", "2024-01-15 10:00"),  # the latest row: as_of = 01-15 10:00
        ("m1", "A", "2024-01-01 10:00"),
        ("m4", "D", "2024-01-01 10:00:00.000001"),
    )
    ords = orders(("o1", "Z", "2024-01-03 10:00", 1.0))
    out = sk.enrich_contacts(contacts, ords)
    # m1 + 14 d == as_of -> mature; m4 is 1 µs later -> not; m3 + 14 d > as_of
    assert col(out, "repeat_mature") == [False, True, False]
    assert col(out, "recovery_mature") == [False, True, True]


# --- §3.6 / §3.7 / §8.11: path and resolved_without_human ------------------------------


def test_path_and_resolved_without_human_for_every_combination():
    rows = [
        # (handled_by, escalated, resolved, path, resolved_without_human)
        ("self_service", False, True, "self_service", True),
        ("self_service", None, True, "self_service", True),  # null escalated = false
        ("self_service", True, True, "human", False),
        ("self_service", False, False, "self_service", False),  # not resolved
        ("ai", False, True, "ai", True),
        ("ai", None, True, "ai", True),
        ("ai", True, True, "human", False),
        ("ai", None, False, "ai", False),
        ("human", False, True, "human", False),
        ("human", None, True, "human", False),
        ("human", True, True, "human", False),
        ("human", False, False, "human", False),
        (None, False, True, None, False),  # handled_by null -> path null
        (None, None, True, None, False),
        (None, True, True, None, False),
    ]
    n = len(rows)
    contacts = pd.DataFrame(
        {
            "contact_id": _ids(*[f"c{i}" for i in range(n)]),
            "customer_id": _ids(*["A"] * n),
            "created_at": _ts(*[f"2024-01-01 {i:02d}:00" for i in range(n)]),
            "handled_by": _strs(*[r[0] for r in rows]),
            "escalated": _bools(*[r[1] for r in rows]),
            "resolved_at": _ts(
                *[f"2024-01-02 {i:02d}:00" if r[2] else None for i, r in enumerate(rows)]
            ),
        }
    )
    out = sk.enrich_contacts(contacts, ORDER_Z)
    assert col(out, "path") == [r[3] for r in rows]
    assert col(out, "resolved_without_human") == [r[4] for r in rows]


def test_path_without_escalated_column_reads_never_escalated():
    contacts = frame(
        "contact_id customer_id created_at handled_by resolved_at",
        ("c1", "A", "2024-01-01 10:00", "ai", "2024-01-01 11:00"),
        ("c2", "A", "2024-01-01 11:00", "self_service", "2024-01-01 12:00"),
        ("c3", "A", "2024-01-01 12:00", "human", "2024-01-01 13:00"),
    )
    out = sk.enrich_contacts(contacts, ORDER_Z)
    assert col(out, "path") == ["ai", "self_service", "human"]
    assert col(out, "resolved_without_human") == [True, True, False]


def test_path_is_null_and_nothing_resolved_without_human_when_handled_by_is_absent():
    contacts = frame(
        "contact_id customer_id created_at resolved_at",
        ("c1", "A", "2024-01-01 10:00", "2024-01-01 11:00"),
        ("c2", "B", "2024-01-01 10:00", None),
    )
    out = sk.enrich_contacts(contacts, ORDER_Z)
    assert col(out, "path") == [None, None]
    assert col(out, "resolved_without_human") == [False, False]


# --- §3 last line: windows are parameters ----------------------------------------------


def test_recovery_window_is_a_parameter():
    contacts = frame(
        "contact_id customer_id created_at",
        ("w1", "A", "2024-01-01 10:00"),
        ("w2", "B", "2024-01-01 10:00"),
    )
    ords = orders(
        ("o1", "A", "2024-01-02 10:00", 10.0),  # +1 d exactly
        ("o2", "B", "2024-01-03 10:00", 20.0),  # +2 d: in 7 d, not in 1 d
    )
    default = sk.enrich_contacts(contacts, ords)
    assert col(default, "recovered_7d") == [True, True]
    assert col(default, "attributed_revenue") == [10.0, 20.0]
    # as_of = 01-03 10:00: + 7 d is later -> immature
    assert col(default, "recovery_mature") == [False, False]

    one_day = sk.enrich_contacts(contacts, ords, recovery_window=timedelta(days=1))
    assert col(one_day, "recovered_7d") == [True, False]  # name kept, window 1 d
    assert col(one_day, "hours_to_next_order") == [24.0, None]
    assert col(one_day, "attributed_orders") == [1, 0]
    assert col(one_day, "attributed_revenue") == [10.0, 0.0]
    # + 1 d = 01-02 10:00 <= as_of 01-03 10:00
    assert col(one_day, "recovery_mature") == [True, True]


def test_repeat_and_recontact_windows_are_parameters():
    contacts = frame(
        "contact_id customer_id created_at resolved_at",
        ("r1", "A", "2024-01-01 10:00", "2024-01-01 11:00"),
        ("r2", "A", "2024-01-03 10:00", None),  # +2 d after r1; 23 h after r1 resolved
    )
    default = sk.enrich_contacts(contacts, ORDER_Z)
    assert col(default, "repeat_14d") == [True, False]
    assert col(default, "recontact_48h") == [True, None]

    narrow = sk.enrich_contacts(
        contacts,
        ORDER_Z,
        repeat_window=timedelta(days=1),
        recontact_window=timedelta(hours=1),
    )
    assert col(narrow, "repeat_14d") == [False, False]
    assert col(narrow, "recontact_48h") == [False, None]
    # as_of = 01-03 10:00: r1 + 1 d = 01-02 10:00 <= as_of; r2 + 1 d = 01-04 10:00 > as_of
    assert col(narrow, "repeat_mature") == [True, False]
    # r1 resolved 01-01 11:00 + 1 h <= as_of; r2 unresolved
    assert col(narrow, "recontact_mature") == [True, False]


# --- output shape (docs/semantics.md, "sk.enrich_contacts output") ---------------------

ADDED = [
    "path",
    "resolved_without_human",
    "recovered_7d",
    "recovery_mature",
    "hours_to_next_order",
    "attributed_orders",
    "attributed_revenue",
    "repeat_14d",
    "repeat_mature",
    "recontact_48h",
    "recontact_mature",
    "preventable",
]


def test_output_keeps_input_columns_and_order_then_adds_the_documented_columns():
    contacts = frame(
        "contact_id customer_id created_at channel",
        ("c3", "B", "2024-01-05 10:00", "chat"),
        ("c1", "A", "2024-01-01 10:00", "email"),
        ("c2", None, "2024-01-03 10:00", None),
    )
    ords = orders(("o1", "A", "2024-01-01 12:00", 12.5))
    out = sk.enrich_contacts(contacts, ords)
    assert list(out.columns) == [
        "contact_id",
        "customer_id",
        "created_at",
        "channel",
        *ADDED,
    ]
    assert col(out, "contact_id") == ["c3", "c1", "c2"]
    assert col(out, "channel") == ["chat", "email", None]
    assert list(out["created_at"]) == [
        T("2024-01-05 10:00"),
        T("2024-01-01 10:00"),
        T("2024-01-03 10:00"),
    ]
    assert out["attributed_orders"].dtype == np.dtype("int64")
    assert out["attributed_revenue"].dtype == np.dtype("float64")
    assert out["hours_to_next_order"].dtype == np.dtype("float64")
    assert out["recovered_7d"].dtype == np.dtype("bool")
    assert col(out, "hours_to_next_order") == [None, 2.0, None]  # 10:00 -> 12:00
    assert col(out, "attributed_revenue") == [0.0, 12.5, 0.0]


def test_preventable_follows_the_taxonomy_and_the_column_overrides_it():
    contacts = frame(
        "contact_id customer_id created_at intent",
        ("c1", "A", "2024-01-01 10:00", "order_tracking"),  # preventable: yes
        ("c2", "A", "2024-01-01 11:00", "payment_issue"),  # no
        ("c3", "A", "2024-01-01 12:00", "weird"),  # outside the taxonomy: no (§8.8)
        ("c4", "A", "2024-01-01 13:00", None),  # unknown: no
    )
    out = sk.enrich_contacts(contacts, ORDER_Z)
    assert col(out, "preventable") == [True, False, False, False]

    contacts["preventable"] = _bools(False, True, None, True)
    out = sk.enrich_contacts(contacts, ORDER_Z)
    # column wins where non-null; c3 falls back to the taxonomy (False)
    assert col(out, "preventable") == [False, True, False, True]


def test_empty_contacts_give_an_empty_enriched_table():
    contacts = frame("contact_id customer_id created_at")
    out = sk.enrich_contacts(contacts, ORDER_Z)
    assert len(out) == 0
    assert list(out.columns) == ["contact_id", "customer_id", "created_at", *ADDED]
