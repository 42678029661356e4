"""Bad inputs raise typed errors that name the table, the column and the offending row.

docs/semantics.md, "Inputs and validation": SchemaError (missing column, wrong type),
DataError (bad values; the message names the first offending row's id), ConfigError (bad
arguments). All derive from SupportKpiError, a ValueError; none is a Rust panic.
"""

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
import supportkpi as sk


def T(s):
    return pd.Timestamp(s, tz="UTC")


def _ts(*vals):
    return pd.array([None if v is None else T(v) for v in vals], dtype="datetime64[us, UTC]")


def good_contacts():
    # the second row ("c-bravo") is where each test plants its bad value
    return pd.DataFrame(
        {
            "contact_id": pd.array(["c-alpha", "c-bravo"], dtype="str"),
            "customer_id": pd.array(["A", "B"], dtype="str"),
            "created_at": _ts("2024-01-01 10:00", "2024-01-02 10:00"),
            "channel": pd.array(["email", "chat"], dtype="str"),
            "intent": pd.array(["returns", "order_tracking"], dtype="str"),
            "handled_by": pd.array(["human", "ai"], dtype="str"),
            "escalated": pd.array([False, True], dtype="boolean"),
            "first_response_at": _ts("2024-01-01 10:05", "2024-01-02 10:01"),
            "resolved_at": _ts("2024-01-01 12:00", "2024-01-02 11:00"),
            "handle_seconds": np.array([300.0, 120.0]),
            "touches": pd.array([1, 2], dtype="Int64"),
            "csat": np.array([5.0, 4.0]),
            "nps": np.array([10.0, 0.0]),
            "ces": np.array([7.0, 1.0]),
            "cost": np.array([3.5, 1.0]),
        }
    )


def good_orders():
    return pd.DataFrame(
        {
            "order_id": pd.array(["o-alpha", "o-bravo"], dtype="str"),
            "customer_id": pd.array(["A", "B"], dtype="str"),
            "created_at": _ts("2024-01-01 12:00", "2024-01-03 10:00"),
            "revenue": np.array([10.0, 20.0]),
        }
    )


def _scorecard(contacts, orders):
    return sk.scorecard(contacts, orders)


def _enrich(contacts, orders):
    return sk.enrich_contacts(contacts, orders)


ENTRY_POINTS = pytest.mark.parametrize(
    "run", [_scorecard, _enrich], ids=["scorecard", "enrich_contacts"]
)


def test_the_good_inputs_are_good():
    sk.scorecard(good_contacts(), good_orders())
    sk.enrich_contacts(good_contacts(), good_orders())


def test_exception_hierarchy():
    for exc in (sk.SchemaError, sk.DataError, sk.ConfigError):
        assert issubclass(exc, sk.SupportKpiError)
        assert issubclass(exc, ValueError)
    assert issubclass(sk.SupportKpiError, Exception)
    assert not issubclass(sk.SchemaError, sk.DataError)
    assert not issubclass(sk.DataError, sk.ConfigError)


def _message(excinfo):
    return str(excinfo.value)


def _names(msg, *parts):
    for part in parts:
        assert part in msg, f"{part!r} not in message: {msg!r}"


# --- SchemaError ------------------------------------------------------------------------


@ENTRY_POINTS
@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("contacts", "contact_id"),
        ("contacts", "customer_id"),
        ("contacts", "created_at"),
        ("orders", "order_id"),
        ("orders", "customer_id"),
        ("orders", "created_at"),
        ("orders", "revenue"),
    ],
)
def test_missing_required_column(run, table, column):
    contacts, orders = good_contacts(), good_orders()
    if table == "contacts":
        contacts = contacts.drop(columns=[column])
    else:
        orders = orders.drop(columns=[column])
    with pytest.raises(sk.SchemaError) as excinfo:
        run(contacts, orders)
    _names(_message(excinfo), table, column)


def _strings(values):
    return pd.array(values, dtype="str")


@ENTRY_POINTS
@pytest.mark.parametrize(
    ("table", "column", "bad"),
    [
        ("contacts", "created_at", _strings(["2024-01-01 10:00", "2024-01-02 10:00"])),
        ("contacts", "contact_id", np.array([True, False])),
        ("contacts", "customer_id", np.array([True, False])),
        ("contacts", "resolved_at", _strings(["2024-01-01 12:00", "2024-01-02 11:00"])),
        ("contacts", "escalated", _strings(["no", "yes"])),
        ("contacts", "csat", _strings(["5", "4"])),
        ("orders", "created_at", _strings(["2024-01-01 12:00", "2024-01-03 10:00"])),
        ("orders", "order_id", np.array([True, False])),
        ("orders", "revenue", _strings(["10", "20"])),
    ],
)
def test_wrong_column_type(run, table, column, bad):
    contacts, orders = good_contacts(), good_orders()
    if column == "customer_id":  # keep the kinds equal: booleans in both tables
        contacts[column] = bad
        orders[column] = bad
    elif table == "contacts":
        contacts[column] = bad
    else:
        orders[column] = bad
    with pytest.raises(sk.SchemaError) as excinfo:
        run(contacts, orders)
    _names(_message(excinfo), table, column)


@ENTRY_POINTS
def test_customer_id_kind_must_match_between_tables(run):
    contacts, orders = good_contacts(), good_orders()
    contacts["customer_id"] = pd.array([1, 2], dtype="Int64")  # integers
    orders["customer_id"] = pd.array(["1", "2"], dtype="str")  # strings
    with pytest.raises(sk.SchemaError) as excinfo:
        run(contacts, orders)
    _names(_message(excinfo), "customer_id")


# --- DataError --------------------------------------------------------------------------


def _set(frame, column, values):
    frame[column] = values
    return frame


# (id, table, column, mutate contacts/orders in place, the offending id the message names)
DATA_ERRORS = [
    (
        "duplicate contact_id",
        "contacts",
        "contact_id",
        lambda c, o: _set(c, "contact_id", _strings(["c-bravo", "c-bravo"])),
        "c-bravo",
    ),
    (
        "duplicate order_id",
        "orders",
        "order_id",
        lambda c, o: _set(o, "order_id", _strings(["o-bravo", "o-bravo"])),
        "o-bravo",
    ),
    (
        "null contacts.created_at",
        "contacts",
        "created_at",
        lambda c, o: _set(c, "created_at", _ts("2024-01-01 10:00", None)),
        "c-bravo",
    ),
    (
        "null orders.created_at",
        "orders",
        "created_at",
        lambda c, o: _set(o, "created_at", _ts("2024-01-01 12:00", None)),
        "o-bravo",
    ),
    (
        "resolved_at before created_at",
        "contacts",
        "resolved_at",
        lambda c, o: _set(c, "resolved_at", _ts("2024-01-01 12:00", "2024-01-02 09:59")),
        "c-bravo",
    ),
    (
        "first_response_at before created_at",
        "contacts",
        "first_response_at",
        lambda c, o: _set(c, "first_response_at", _ts("2024-01-01 10:05", "2024-01-02 09:00")),
        "c-bravo",
    ),
    (
        "csat 6",
        "contacts",
        "csat",
        lambda c, o: _set(c, "csat", np.array([5.0, 6.0])),
        "c-bravo",
    ),
    (
        "csat 0",
        "contacts",
        "csat",
        lambda c, o: _set(c, "csat", np.array([5.0, 0.0])),
        "c-bravo",
    ),
    (
        "nps 11",
        "contacts",
        "nps",
        lambda c, o: _set(c, "nps", np.array([10.0, 11.0])),
        "c-bravo",
    ),
    (
        "nps -1",
        "contacts",
        "nps",
        lambda c, o: _set(c, "nps", np.array([10.0, -1.0])),
        "c-bravo",
    ),
    (
        "ces 0",
        "contacts",
        "ces",
        lambda c, o: _set(c, "ces", np.array([7.0, 0.0])),
        "c-bravo",
    ),
    (
        "ces 8",
        "contacts",
        "ces",
        lambda c, o: _set(c, "ces", np.array([7.0, 8.0])),
        "c-bravo",
    ),
    (
        "handled_by robot",
        "contacts",
        "handled_by",
        lambda c, o: _set(c, "handled_by", _strings(["human", "robot"])),
        "c-bravo",
    ),
    (
        "negative handle_seconds",
        "contacts",
        "handle_seconds",
        lambda c, o: _set(c, "handle_seconds", np.array([300.0, -1.0])),
        "c-bravo",
    ),
    (
        "negative touches",
        "contacts",
        "touches",
        lambda c, o: _set(c, "touches", pd.array([1, -1], dtype="Int64")),
        "c-bravo",
    ),
    (
        "infinite cost",
        "contacts",
        "cost",
        lambda c, o: _set(c, "cost", np.array([3.5, np.inf])),
        "c-bravo",
    ),
    (
        "NaN revenue",
        "orders",
        "revenue",
        lambda c, o: _set(o, "revenue", np.array([10.0, np.nan])),
        "o-bravo",
    ),
    (
        "infinite revenue",
        "orders",
        "revenue",
        lambda c, o: _set(o, "revenue", np.array([10.0, np.inf])),
        "o-bravo",
    ),
]


@pytest.mark.parametrize(
    ("table", "column", "mutate", "bad_id"),
    [case[1:] for case in DATA_ERRORS],
    ids=[case[0] for case in DATA_ERRORS],
)
def test_bad_values_raise_data_error_naming_table_column_and_row(table, column, mutate, bad_id):
    contacts, orders = good_contacts(), good_orders()
    mutate(contacts, orders)
    with pytest.raises(sk.DataError) as excinfo:
        sk.scorecard(contacts, orders)
    _names(_message(excinfo), table, column, bad_id)


@pytest.mark.parametrize(
    ("table", "column", "mutate", "bad_id"),
    [case[1:] for case in DATA_ERRORS[:5]],
    ids=[case[0] for case in DATA_ERRORS[:5]],
)
def test_enrich_contacts_validates_too(table, column, mutate, bad_id):
    contacts, orders = good_contacts(), good_orders()
    mutate(contacts, orders)
    with pytest.raises(sk.DataError) as excinfo:
        sk.enrich_contacts(contacts, orders)
    _names(_message(excinfo), table, column, bad_id)


@pytest.mark.parametrize("table", ["contacts", "orders"])
def test_null_id_is_a_data_error(table):
    contacts, orders = good_contacts(), good_orders()
    if table == "contacts":
        contacts["contact_id"] = _strings(["c-alpha", None])
        column = "contact_id"
    else:
        orders["order_id"] = _strings(["o-alpha", None])
        column = "order_id"
    with pytest.raises(sk.DataError) as excinfo:
        sk.scorecard(contacts, orders)
    _names(_message(excinfo), table, column)


# --- ConfigError ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "mentions"),
    [
        ({"by": "year"}, "year"),
        ({"by": ""}, "by"),
        ({"tz": "Mars/Olympus_Mons"}, "Mars/Olympus_Mons"),
        ({"group_by": "no_such_column"}, "no_such_column"),
        ({"group_by": ["channel", "no_such_column"]}, "no_such_column"),
        ({"recovery_window": timedelta(days=-1)}, "recovery_window"),
        ({"repeat_window": timedelta(days=-1)}, "repeat_window"),
        ({"recontact_window": timedelta(hours=-1)}, "recontact_window"),
    ],
    ids=[
        "by=year",
        "by=empty",
        "unknown tz",
        "unknown group_by",
        "unknown group_by in list",
        "negative recovery_window",
        "negative repeat_window",
        "negative recontact_window",
    ],
)
def test_bad_arguments_raise_config_error(kwargs, mentions):
    with pytest.raises(sk.ConfigError) as excinfo:
        sk.scorecard(good_contacts(), good_orders(), **kwargs)
    _names(_message(excinfo), mentions)


# --- no panics: `except Exception` catches everything ----------------------------------


def _bad_calls():
    c, o = good_contacts(), good_orders()
    yield lambda: sk.scorecard(c.drop(columns=["created_at"]), o)
    yield lambda: sk.scorecard(c.assign(csat=np.array([5.0, 6.0])), o)
    yield lambda: sk.scorecard(c, o.assign(revenue=np.array([np.nan, np.nan])))
    yield lambda: sk.scorecard(c, o, by="fortnight")
    yield lambda: sk.scorecard(c, o, tz="Not/AZone")
    yield lambda: sk.scorecard(c, o, group_by="nope")
    yield lambda: sk.enrich_contacts(c.assign(handled_by=_strings(["x", "y"])), o)
    yield lambda: sk.enrich_contacts(c, o.drop(columns=["order_id"]))


@pytest.mark.parametrize("call", list(_bad_calls()))
def test_errors_are_ordinary_exceptions_not_panics(call):
    caught = None
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - a PanicException (BaseException) escapes
        caught = exc
    assert isinstance(caught, sk.SupportKpiError), repr(caught)


def test_a_non_table_argument_is_an_exception_not_a_panic():
    caught = None
    try:
        sk.scorecard(42, good_orders())
    except Exception as exc:  # noqa: BLE001 - the point of the test
        caught = exc
    assert caught is not None
