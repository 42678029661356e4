"""``kpis=``: a card showing some KPIs is the full card's rows for them, and nothing else.

A view skips the passes no shown KPI reads (the customer cohorts behind the repurchase,
retention and CLV KPIs; the baseline backlog), so these tests compare selections from each
pass, alone and mixed, with the full card, which the differential tests check against the
pandas reference. Diagnostics do not depend on the selection (docs/semantics.md).
"""

import pandas as pd
import pytest
import supportkpi as sk
from supportkpi import cli

#: One KPI from each view pass: per-day states, backlog, customer cohorts.
MIXED = ["contacts", "csat_mean", "backlog_open", "repurchase_rate_90d", "retention_rate"]


@pytest.fixture(scope="module")
def sample():
    return sk.load_sample()


@pytest.fixture(scope="module")
def prepared(sample):
    return sk.prepare(
        sample["contacts"], sample["orders"], sample["sessions"], events=sample["events"]
    )


def _rows_of(frame, kpis):
    return frame[frame.kpi.isin(kpis)].reset_index(drop=True)


@pytest.mark.parametrize("group_by", [None, "channel"])
@pytest.mark.parametrize(
    "kpis",
    [MIXED, ["repurchase_rate_90d"], ["backlog_age_hours"], ["frt_median", "tickets_per_order"]],
)
def test_a_selection_is_the_full_cards_rows(prepared, group_by, kpis):
    full = prepared.scorecard(group_by=group_by)
    shown = prepared.scorecard(group_by=group_by, kpis=kpis)
    assert set(shown.kpis) == set(kpis)
    pd.testing.assert_frame_equal(shown.to_pandas(), _rows_of(full.to_pandas(), kpis))
    banded = [k for k in kpis if k in set(full.bands().kpi)]
    pd.testing.assert_frame_equal(shown.bands(), _rows_of(full.bands(), banded))
    assert set(shown.bands().kpi) == set(banded)


def test_diagnostics_do_not_depend_on_the_selection(prepared):
    full = prepared.scorecard(group_by="channel").diagnose()
    assert len(full) > 0  # the sample fires rules, so the comparison means something
    for kpis in (["contacts"], ["repurchase_rate_90d"], MIXED):
        shown = prepared.scorecard(group_by="channel", kpis=kpis).diagnose()
        pd.testing.assert_frame_equal(shown, full)


def test_kpis_come_in_catalogue_order_and_a_string_names_one(prepared):
    assert prepared.scorecard(kpis=["contacts", "csat_mean"]).kpis == ["csat_mean", "contacts"]
    assert prepared.scorecard(kpis="fcr_rate").kpis == ["fcr_rate"]


def test_skipped_lists_only_shown_kpis(sample):
    # Without sessions, conversion_rate has no input.
    data = sk.prepare(sample["contacts"], sample["orders"])
    assert "conversion_rate" in data.scorecard().skipped
    assert data.scorecard(kpis=["contacts"]).skipped == {}
    shown = data.scorecard(kpis=["contacts", "conversion_rate"])
    assert list(shown.skipped) == ["conversion_rate"]
    assert shown.kpis == ["contacts"]


def test_the_one_call_scorecard_takes_kpis_too(sample, prepared):
    card = sk.scorecard(
        sample["contacts"],
        sample["orders"],
        sample["sessions"],
        events=sample["events"],
        kpis=MIXED,
    )
    pd.testing.assert_frame_equal(card.to_pandas(), prepared.scorecard(kpis=MIXED).to_pandas())


@pytest.mark.parametrize(
    ("kpis", "message"),
    [
        (["contacts", "no_such_kpi"], 'unknown KPI "no_such_kpi"'),
        ([], "name at least one KPI"),
    ],
)
def test_bad_selections_are_config_errors(prepared, kpis, message):
    with pytest.raises(sk.ConfigError, match=message):
        prepared.scorecard(kpis=kpis)


# --- the command line -------------------------------------------------------------------

# The week of 2024-11-18 has tickets_per_order in the intervention band (see test_cli.py).
FAILING_WEEK = "2024-11-18"


@pytest.fixture(scope="module")
def files(sample, tmp_path_factory):
    directory = tmp_path_factory.mktemp("selection")
    paths = {}
    for name in ("contacts", "orders"):
        paths[name] = directory / f"{name}.parquet"
        sample[name].to_parquet(paths[name], index=False)
    return paths


def _cli(files, capsys, *extra):
    argv = ["scorecard", "--contacts", str(files["contacts"]), "--orders", str(files["orders"])]
    code = cli.main([*argv, "--format", "csv", "--period", FAILING_WEEK, *extra])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_kpis_limits_the_output_and_the_gate(files, capsys, tmp_path):
    code, _, err = _cli(files, capsys, "--kpis", "tickets_per_order", "--fail-on", "intervention")
    assert code == 1
    assert "tickets_per_order = " in err
    out = tmp_path / "card.csv"
    code, _, err = _cli(
        files,
        capsys,
        "--kpis",
        "contacts, csat_mean",
        "--fail-on",
        "intervention",
        "--out",
        str(out),
    )
    assert code == 0, err
    assert set(pd.read_csv(out).kpi) == {"contacts", "csat_mean"}


def test_cli_unknown_kpi_exits_2(files, capsys):
    code, _, err = _cli(files, capsys, "--kpis", "contacts,nope")
    assert code == 2
    assert 'unknown KPI "nope"' in err
