"""Several views in one call (issue 21): ``Prepared.scorecards(groupings=[...])``.

Every card must equal the card of a separate ``Prepared.scorecard`` call with the same
options: the long table (counts exactly, sums and ratios to 1e-9 relative plus 1e-12
absolute, since a total read from a grouped view's cells adds the same terms in another
order), the bands, the diagnostics, the skipped KPIs and the row audit. The total beside a
grouped view must be read from that view's passes (one traced view build, not two).
"""

from __future__ import annotations

import pandas as pd
import pytest
import supportkpi as sk
from test_business_time import CALENDARS, SLA
from test_business_time import _contacts as business_contacts
from test_business_time import _orders as business_orders
from test_partial import assert_same_card


def _assert_each_like_alone(data: sk.Prepared, groupings: list, **view) -> list[sk.Scorecard]:
    cards = data.scorecards(groupings=groupings, **view)
    assert len(cards) == len(groupings)
    for grouping, card in zip(groupings, cards, strict=True):
        alone = data.scorecard(group_by=grouping, **view)
        assert card.group_by == alone.group_by
        assert (card.by, card.tz) == (alone.by, alone.tz)
        assert_same_card(card, alone, atol=1e-12)
        pd.testing.assert_frame_equal(card.row_audit, alone.row_audit)
    return cards


@pytest.fixture(scope="module")
def sample() -> dict[str, pd.DataFrame]:
    return sk.load_sample()


@pytest.fixture(scope="module")
def prepared_sample(sample) -> sk.Prepared:
    return sk.prepare(
        sample["contacts"], sample["orders"], sample["sessions"], events=sample["events"]
    )


@pytest.mark.parametrize(
    "view",
    [
        {},
        {"by": "month", "tz": "America/New_York"},
        {"by": "day", "baseline_range": ("2024-09-01", "2024-10-01")},
        {"by": "week", "baseline_window": "14d", "repurchase_window": "30d"},
        {"by": "week", "kpis": ["contacts", "frt_median", "repurchase_rate_90d"]},
    ],
)
def test_the_total_beside_a_grouped_view_equals_the_views_alone(prepared_sample, view):
    cards = _assert_each_like_alone(prepared_sample, [None, "channel"], **view)
    # The data make the comparison bite: several channels, every KPI family present.
    assert cards[1].to_pandas()["channel"].nunique() > 2
    assert cards[0].to_pandas()["value"].notna().sum() > 50


def test_grouped_by_two_columns_and_in_any_order(prepared_sample):
    groupings = [["channel", "handled_by"], None, "intent", None]
    _assert_each_like_alone(prepared_sample, groupings, by="month")


def test_many_groups_merge_stretch_cells_into_the_total(sample):
    """Past the row-order fold's threshold the grouped view keeps one cell per group and
    stretch of days; the total reads all of them as one group."""
    contacts = sample["contacts"]
    contacts = contacts.assign(team=contacts["contact_id"].str[1:].astype(int) % 300)
    data = sk.prepare(contacts, sample["orders"])
    _assert_each_like_alone(data, ["team", None], by="week")


def test_business_time_flows_of_the_groups_add_up_to_the_total():
    contacts = business_contacts(900, seed=5)
    data = sk.prepare(contacts, business_orders(), config={"calendars": CALENDARS, "sla": SLA})
    cards = _assert_each_like_alone(data, [None, "priority"], by="week", tz="America/New_York")
    table = cards[0].to_pandas()
    business = table[table["kpi"].str.contains("business")]
    assert business["value"].notna().sum() > 10


def test_the_total_is_read_from_the_grouped_passes(prepared_sample, monkeypatch, capfd):
    """SUPPORTKPI_TRACE prints one line per view build: the pair is built once."""
    monkeypatch.setenv("SUPPORTKPI_TRACE", "1")
    capfd.readouterr()
    prepared_sample.scorecards(groupings=[None, "channel"])
    paired = capfd.readouterr().err.count("supportkpi scorecard:")
    prepared_sample.scorecards(groupings=["channel", "intent"])
    unpaired = capfd.readouterr().err.count("supportkpi scorecard:")
    assert (paired, unpaired) == (1, 2)


def test_groupings_must_be_a_list_and_name_contact_columns(prepared_sample):
    with pytest.raises(sk.ConfigError, match="groupings"):
        prepared_sample.scorecards(groupings="channel")
    with pytest.raises(sk.ConfigError, match="nope"):
        prepared_sample.scorecards(groupings=[None, "nope"])
    assert prepared_sample.scorecards(groupings=[]) == []
