"""The bundled sample data: reproducible from its seed, and valid input (SPEC §1).

The generator (``scripts/sample_generator.py``, which reads the package's loader by path)
is loaded by path, not through ``import supportkpi``, so these tests run without the
compiled extension.
"""

from __future__ import annotations

import importlib.util
import pathlib

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

_SAMPLE_PATH = pathlib.Path(__file__).resolve().parents[1] / "scripts" / "sample_generator.py"


def _load_sample_module():
    spec = importlib.util.spec_from_file_location("supportkpi_sample_under_test", _SAMPLE_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sample = _load_sample_module()


@pytest.fixture(scope="module")
def generated() -> dict[str, pd.DataFrame]:
    return sample.generate_sample()


@pytest.fixture(scope="module")
def bundled() -> dict[str, pd.DataFrame]:
    return sample.load_sample()


def test_bundled_files_exist_and_are_small():
    sizes = [(sample.DATA_DIR / f"{name}.parquet").stat().st_size for name in sample.TABLES]
    assert sum(sizes) < 2_000_000


@pytest.mark.parametrize("name", ["contacts", "orders", "sessions", "events"])
def test_default_seed_reproduces_the_bundled_files(generated, bundled, name):
    pdt.assert_frame_equal(generated[name], bundled[name], check_exact=True)


def test_write_then_load_round_trips(generated, tmp_path):
    sample.write_sample(tmp_path, generated)
    loaded = sample.load_sample(tmp_path)
    for name in sample.TABLES:
        pdt.assert_frame_equal(generated[name], loaded[name], check_exact=True)


def test_same_seed_same_data_other_seed_other_data(generated):
    again = sample.generate_sample(sample.DEFAULT_SEED)
    pdt.assert_frame_equal(generated["contacts"], again["contacts"], check_exact=True)
    other = sample.generate_sample(seed=7)
    assert not generated["contacts"]["created_at"].equals(other["contacts"]["created_at"])


def test_sizes_are_in_the_intended_range(bundled):
    contacts, orders = bundled["contacts"], bundled["orders"]
    assert 15_000 <= len(contacts) <= 25_000
    assert 1.5 <= len(orders) / len(contacts) <= 2.5


def test_ids_are_unique_and_never_null(bundled):
    contacts, orders = bundled["contacts"], bundled["orders"]
    for frame, column in ((contacts, "contact_id"), (orders, "order_id")):
        assert frame[column].notna().all()
        assert frame[column].is_unique


def test_timestamps_are_utc_and_ordered(bundled):
    contacts = bundled["contacts"]
    for column in ("created_at", "first_response_at", "resolved_at"):
        assert str(contacts[column].dtype) == "datetime64[us, UTC]"
    assert contacts["created_at"].notna().all()
    assert bundled["orders"]["created_at"].notna().all()
    responded = contacts["first_response_at"].notna()
    assert (
        contacts.loc[responded, "first_response_at"] >= contacts.loc[responded, "created_at"]
    ).all()
    resolved = contacts["resolved_at"].notna()
    assert (contacts.loc[resolved, "resolved_at"] >= contacts.loc[resolved, "created_at"]).all()
    # Nothing is known after the export, which ends at the midnight after the last contact.
    export_end = contacts["created_at"].max().ceil("D")
    assert (contacts.loc[resolved, "resolved_at"] < export_end).all()
    assert (contacts.loc[responded, "first_response_at"] < export_end).all()


def test_scores_are_within_their_scales(bundled):
    contacts = bundled["contacts"]
    for column, low, high in (("csat", 1, 5), ("nps", 0, 10), ("ces", 1, 7)):
        rated = contacts[column].dropna()
        assert len(rated) > 0
        assert rated.between(low, high).all()
        assert (rated == np.round(rated)).all()


def test_handled_by_and_escalation_rules(bundled):
    contacts = bundled["contacts"]
    handled_by = contacts["handled_by"]
    assert set(handled_by.dropna().unique()) == {"self_service", "ai", "human"}
    assert handled_by.isna().any()
    assert contacts["escalated"].dtype == bool
    assert handled_by[contacts["escalated"]].isin(["ai", "self_service"]).all()
    human_path = (handled_by == "human") | contacts["escalated"]
    assert contacts.loc[~human_path, "handle_seconds"].isna().all()
    assert contacts.loc[~human_path, "agent_id"].isna().all()
    assert (contacts["handle_seconds"].dropna() >= 0).all()
    assert str(contacts["touches"].dtype) == "Int64"
    assert (contacts["touches"].dropna() >= 0).all()
    assert np.isfinite(contacts["cost"]).all()


def test_resolution_reviews_only_on_ai_resolutions(bundled):
    contacts = bundled["contacts"]
    reviewed = contacts["resolution_correct"].notna()
    assert reviewed.any()
    ai_resolved = (
        (contacts["handled_by"] == "ai") & ~contacts["escalated"] & contacts["resolved_at"].notna()
    )
    assert ai_resolved[reviewed].all()


def test_orders_have_positive_revenue_and_finite_deductions(bundled):
    orders = bundled["orders"]
    assert (orders["revenue"] > 0).all()
    for column in ("refund", "discount", "appeasement", "cogs"):
        assert np.isfinite(orders[column]).all()
        assert (orders[column] >= 0).all()


def test_sample_has_the_awkward_rows_a_real_export_has(bundled):
    contacts, orders = bundled["contacts"], bundled["orders"]
    assert 0.01 < contacts["customer_id"].isna().mean() < 0.06
    assert 0.01 < orders["customer_id"].isna().mean() < 0.06
    assert contacts["intent"].isna().any()
    assert (contacts["intent"] == "other").any()
    assert contacts["resolved_at"].isna().any()
    assert contacts["csat"].isna().any()


def test_sessions_are_pre_counted_daily_rows(bundled):
    sessions = bundled["sessions"]
    assert list(sessions.columns) == ["date", "device", "sessions"]
    assert sessions["sessions"].dtype == np.int64
    assert (sessions["sessions"] >= 0).all()
    assert not sessions.duplicated(["date", "device"]).any()


def test_events_cover_every_kind(bundled):
    events = bundled["events"]
    assert set(events["kind"]) == {"promo", "launch", "peak"}
    assert (events["end"] > events["start"]).all()
    contacts = bundled["contacts"]
    first, last = contacts["created_at"].min(), contacts["created_at"].max()
    assert ((events["start"] >= first.floor("D")) & (events["end"] <= last.ceil("D"))).all()
