"""One-call functions on the same pyarrow Tables reuse the last call's joins (issue 21).

``sk.scorecard`` and ``sk.enrich_contacts`` keep the prepared joins of their last call on
pyarrow Tables; a call on the same Table objects with the same join options takes them
again. Counted here by wrapping the engine's ``prepare_inputs``; results are compared
against a fresh ``sk.prepare`` of the same inputs.
"""

from __future__ import annotations

import gc

import pandas as pd
import pyarrow as pa
import pytest
import supportkpi as sk
from supportkpi import _api


@pytest.fixture
def prepares(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the engine's prepare_inputs calls (one per read-validate-join)."""
    calls: list[int] = []
    original = _api._native.prepare_inputs

    def counting(*args: object) -> object:
        calls.append(1)
        return original(*args)

    monkeypatch.setattr(_api._native, "prepare_inputs", counting)
    sk.release_prepared()
    yield calls
    sk.release_prepared()


@pytest.fixture(scope="module")
def sample() -> dict[str, pd.DataFrame]:
    return sk.load_sample()


def _tables(sample: dict[str, pd.DataFrame]) -> tuple[pa.Table, pa.Table]:
    return pa.table(sample["contacts"]), pa.table(sample["orders"])


def _same_card(a: sk.Scorecard, b: sk.Scorecard) -> None:
    pd.testing.assert_frame_equal(a.to_pandas(), b.to_pandas())
    pd.testing.assert_frame_equal(a.bands(), b.bands())


def test_three_one_call_functions_on_the_same_tables_join_once(prepares, sample):
    contacts, orders = _tables(sample)
    enriched = sk.enrich_contacts(contacts, orders, output="arrow")
    weekly = sk.scorecard(contacts, orders, by="week")
    by_channel = sk.scorecard(contacts, orders, by="week", group_by=["channel"])
    assert len(prepares) == 1
    fresh = sk.prepare(pa.table(sample["contacts"]), pa.table(sample["orders"]))
    assert len(prepares) == 2  # sk.prepare always reads and joins
    assert enriched.equals(fresh.enrich(output="arrow"))
    _same_card(weekly, fresh.scorecard(by="week"))
    _same_card(by_channel, fresh.scorecard(by="week", group_by=["channel"]))


def test_other_join_options_or_other_tables_join_again(prepares, sample):
    contacts, orders = _tables(sample)
    sk.scorecard(contacts, orders)
    sk.scorecard(contacts, orders, recovery_window="3d")
    assert len(prepares) == 2
    # The entry now holds the 3-day joins: the default window's are not taken from it.
    default = sk.scorecard(contacts, orders)
    assert len(prepares) == 3
    assert sk.scorecard(contacts, orders, as_of="2024-12-01").as_of == pd.Timestamp(
        "2024-12-01", tz="UTC"
    )
    assert len(prepares) == 4
    # Equal content in other objects: identity is the key, so they are read again.
    sk.scorecard(*_tables(sample))
    assert len(prepares) == 5
    # View options (period, zone, grouping, baseline, KPIs) do not shape the joins.
    sk.scorecard(contacts, orders)
    assert len(prepares) == 6
    monthly = sk.scorecard(contacts, orders, by="month", tz="Europe/Berlin", kpis=["contacts"])
    assert len(prepares) == 6
    _same_card(default, sk.prepare(contacts, orders).scorecard())
    _same_card(
        monthly,
        sk.prepare(contacts, orders).scorecard(by="month", tz="Europe/Berlin", kpis=["contacts"]),
    )


def test_a_different_config_joins_again(prepares, sample):
    contacts, orders = _tables(sample)
    sk.scorecard(contacts, orders)
    sk.scorecard(contacts, orders, config={"windows": {"recovery": "3d"}})
    assert len(prepares) == 2


def test_pandas_frames_are_joined_on_every_call_and_edits_show(prepares, sample):
    # A frame can be edited in place between calls: its joins are never reused.
    contacts, orders = sample["contacts"].copy(), sample["orders"].copy()
    before = sk.scorecard(contacts, orders, kpis=["csat_mean"]).to_pandas()
    contacts.loc[:, "csat"] = 1.0
    after = sk.scorecard(contacts, orders, kpis=["csat_mean"]).to_pandas()
    assert len(prepares) == 2
    assert (after.value.dropna() == 1.0).all()
    assert not (before.value.dropna() == 1.0).all()


def test_a_table_among_frames_is_not_enough(prepares, sample):
    contacts = pa.table(sample["contacts"])
    sk.scorecard(contacts, sample["orders"])
    sk.scorecard(contacts, sample["orders"])
    assert len(prepares) == 2


def test_the_joins_go_with_the_tables(prepares, sample):
    contacts, orders = _tables(sample)
    sk.scorecard(contacts, orders)
    assert _api._REUSE.get(_api._REUSE._key) is not None  # type: ignore[arg-type]
    del contacts
    gc.collect()
    assert _api._REUSE._native is None and _api._REUSE._key is None
    # The orders Table alive alone does not bring the entry back.
    sk.scorecard(pa.table(sample["contacts"]), orders)
    assert len(prepares) == 2


def test_release_prepared_and_a_failed_call(prepares, sample):
    contacts, orders = _tables(sample)
    sk.scorecard(contacts, orders)
    sk.release_prepared()
    sk.scorecard(contacts, orders)
    assert len(prepares) == 2
    # A call that fails keeps nothing and does not drop the good entry's inputs' results.
    broken = contacts.drop_columns(["created_at"])
    with pytest.raises(sk.SchemaError):
        sk.scorecard(broken, orders)
    with pytest.raises(sk.SchemaError):
        sk.scorecard(broken, orders)
    assert len(prepares) == 4


def test_enrich_contacts_output(sample):
    contacts, orders = sample["contacts"], sample["orders"]
    arrow = sk.enrich_contacts(contacts, orders, output="arrow", contact_columns=["contact_id"])
    assert isinstance(arrow, pa.Table)
    assert arrow.equals(
        sk.prepare(contacts, orders).enrich(output="arrow", contact_columns=["contact_id"])
    )
    frame = sk.enrich_contacts(contacts, orders, contact_columns=["contact_id"])
    assert list(frame.columns) == arrow.column_names
    with pytest.raises(sk.ConfigError, match="output"):
        sk.enrich_contacts(contacts, orders, output="polars")
