"""The command line for pipelines (issue 5): ``supportkpi scorecard``, ``kpis``, ``demo``.

Exit codes: 0 fine, 1 a KPI of the report period in the --fail-on band (listed on stderr),
2 bad input or configuration (the typed error's message, no traceback). Every --format
writes a file its reader reads back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import supportkpi as sk
from supportkpi import cli

# In the bundled sample (UTC weeks), the week of 2024-11-18 has KPIs in the intervention
# band (tickets per order among them); the week of 2024-12-02 overlaps Black Friday / Cyber
# Monday (a peak event), so its off-band KPIs are expected and do not fail.
FAILING_WEEK = "2024-11-18"
PEAK_WEEK = "2024-12-02"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    directory = tmp_path_factory.mktemp("inputs")
    sample = sk.load_sample()
    paths = {}
    for name, table in sample.items():
        paths[name] = directory / f"{name}.parquet"
        table.to_parquet(paths[name], index=False)
    paths["contacts_csv"] = directory / "contacts.csv"
    sample["contacts"].to_csv(paths["contacts_csv"], index=False)
    paths["events_csv"] = directory / "events.csv"
    sample["events"].to_csv(paths["events_csv"], index=False)
    renamed = sample["contacts"].rename(columns={"contact_id": "ticket_id"})
    paths["renamed"] = directory / "tickets.parquet"
    renamed.to_parquet(paths["renamed"], index=False)
    return paths


def _args(files, *extra, contacts="contacts"):
    return [
        "scorecard",
        "--contacts",
        str(files[contacts]),
        "--orders",
        str(files["orders"]),
        "--sessions",
        str(files["sessions"]),
        "--events",
        str(files["events"]),
        *extra,
    ]


def _run(capsys, argv):
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


# --- formats ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", cli.FORMATS)
def test_every_format_writes_a_readable_file(files, tmp_path, capsys, fmt):
    if fmt == "html":
        pytest.importorskip("matplotlib")
    out = tmp_path / f"scorecard.{fmt}"
    code, stdout, err = _run(capsys, _args(files, "--format", fmt, "--out", str(out)))
    assert code == 0, err
    assert stdout == ""
    assert f"wrote {out}" in err
    columns = ["period_start", "kpi", "value", "numerator", "denominator", "unit", "band"]
    if fmt == "json":
        document = json.loads(out.read_text(encoding="utf-8"))
        assert document["by"] == "week" and document["tz"] == "UTC"
        assert document["report_period"].startswith(PEAK_WEEK)
        assert set(columns) <= set(document["rows"][0])
        assert {"rule", "action", "owner", "evidence"} <= set(document["diagnostics"][0])
        assert isinstance(document["diagnostics"][0]["evidence"], dict)
    elif fmt == "csv":
        table = pd.read_csv(out)
        assert set(columns) <= set(table.columns)
        assert set(table.band.dropna()) <= {"healthy", "watch", "intervention", "insufficient"}
    elif fmt == "parquet":
        table = pq.read_table(out).to_pandas()
        assert set(columns) <= set(table.columns)
        assert str(table.period_start.dtype).startswith("datetime64")
    else:
        text = out.read_text(encoding="utf-8")
        assert text.startswith("<!DOCTYPE html>")
        assert "Weekly support-conversion scorecard" in text


def test_the_written_table_is_the_long_table_with_bands(files, tmp_path, capsys):
    out = tmp_path / "card.parquet"
    assert cli.main(_args(files, "--out", str(out), "--quiet")) == 0  # format from suffix
    assert capsys.readouterr().err == ""
    written = pq.read_table(out).to_pandas()
    sample = sk.load_sample()
    card = sk.scorecard(
        sample["contacts"], sample["orders"], sessions=sample["sessions"], events=sample["events"]
    )
    long = card.to_pandas()
    assert len(written) == len(long)
    pd.testing.assert_series_equal(written["value"], long["value"], check_names=False)
    banded = written.dropna(subset=["band"])
    assert set(banded.kpi) == set(card.bands().kpi)


def test_json_and_csv_go_to_stdout_without_out(files, capsys):
    code, out, _ = _run(capsys, _args(files, "--format", "json"))
    assert code == 0
    assert json.loads(out)["rows"]
    code, out, _ = _run(capsys, _args(files, "--format", "csv", "--out", "-"))
    assert code == 0
    assert out.startswith("period_start,kpi,value,numerator,denominator,unit,ci_low,ci_high,band")


def test_csv_inputs_and_group_by(files, tmp_path, capsys):
    out = tmp_path / "by_channel.csv"
    argv = _args(files, "--group-by", "channel", "--tz", "Europe/Berlin", "--out", str(out))
    argv[argv.index(str(files["contacts"]))] = str(files["contacts_csv"])
    argv[argv.index(str(files["events"]))] = str(files["events_csv"])
    code, _, err = _run(capsys, argv)
    assert code == 0, err
    table = pd.read_csv(out)
    assert "channel" in table.columns
    assert set(table.channel.dropna()) == {
        "email",
        "chat",
        "phone",
        "social",
        "sms",
        "self_service",
    }
    assert table.period_start.iloc[0].endswith("+02:00")


def test_rename_maps_export_columns(files, capsys):
    argv = _args(files, "--format", "json", "--rename", "contact_id=ticket_id", contacts="renamed")
    code, out, err = _run(capsys, argv)
    assert code == 0, err
    assert json.loads(out)["rows"]


# --- the gate ---------------------------------------------------------------------------


def test_fail_on_intervention_exits_1_and_lists_the_kpis(files, tmp_path, capsys):
    out = tmp_path / "gate.json"
    argv = _args(files, "--out", str(out), "--fail-on", "intervention", "--period", FAILING_WEEK)
    code, _, err = _run(capsys, argv)
    assert code == 1
    assert f"in the intervention band or worse in the week of {FAILING_WEEK}" in err
    assert "tickets_per_order = " in err and "owner: CX + ecommerce ops" in err
    assert "(watch" not in err
    assert out.exists()  # the output is written before the gate fails


def test_fail_on_watch_lists_more(files, capsys):
    gate = ["--format", "json", "--out", "-", "--period", FAILING_WEEK, "--fail-on"]
    _, _, intervention = _run(capsys, _args(files, *gate, "intervention"))
    code, _, watch = _run(capsys, _args(files, *gate, "watch"))
    assert code == 1
    assert watch.count("\n  ") > intervention.count("\n  ")
    assert "(watch; owner: " in watch


def test_band_changes_during_a_peak_are_expected(files, capsys):
    argv = _args(files, "--format", "json", "--fail-on", "intervention", "--period", PEAK_WEEK)
    code, _, err = _run(capsys, argv)
    assert code == 0
    assert "during a peak event (expected)" in err
    assert "tickets_per_order = " in err


def test_without_fail_on_the_exit_code_is_0(files, capsys):
    code, _, err = _run(capsys, _args(files, "--format", "json", "--period", FAILING_WEEK))
    assert code == 0
    assert "band or worse" not in err


def test_config_moves_the_edges(files, tmp_path, capsys):
    config = tmp_path / "scorecard.toml"
    config.write_text("[bands.tickets_per_order]\nhealthy_max = 1.0\nwatch_max = 2.0\n")
    argv = _args(files, "--format", "json", "--fail-on", "intervention", "--period", FAILING_WEEK)
    _, _, default_err = _run(capsys, argv)
    code, _, err = _run(capsys, [*argv, "--config", str(config)])
    assert "tickets_per_order" in default_err
    assert "tickets_per_order" not in err
    assert code in (0, 1)


# --- bad input: exit 2, the message only ------------------------------------------------


BAD_INPUT = {
    # case: ({flag: value, or None to drop the flag}, a fragment of the message)
    "missing file": ({"--contacts": "{tmp}/nope.parquet"}, "no such file"),
    "unknown suffix": ({"--contacts": "{tmp}/contacts.xlsx"}, "cannot tell the format"),
    "unreadable parquet": ({"--contacts": "{tmp}/broken.parquet"}, "cannot read"),
    "wrong table": ({"--contacts": "{orders}"}, "contact_id"),
    "bad time zone": ({"--tz": "Mars/Olympus"}, "time zone"),
    "unknown group column": ({"--group-by": "planet"}, "planet"),
    "bad as-of": ({"--as-of": "yesterday-ish"}, "as_of"),
    "bad period": ({"--period": "2031-01-01"}, "outside the scorecard"),
    "config syntax": ({"--config": "{tmp}/bad.toml"}, "cannot parse"),
    "config key": ({"--config": "{tmp}/unknown.json"}, "healthy"),
    "missing config": ({"--config": "{tmp}/none.toml"}, "no such file"),
    "bad rename": ({"--rename": "contact_id"}, "OURS=THEIRS"),
    "parquet to stdout": ({"--format": "parquet"}, "needs an output file"),
    "no format": ({"--format": None, "--out": "{tmp}/card.txt"}, "--format"),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_exits_2_with_the_message_only(files, tmp_path, capsys, case):
    (tmp_path / "bad.toml").write_text("[bands.csat_mean\nhealthy_min = ")
    (tmp_path / "unknown.json").write_text('{"bands": {"csat_mean": {"healthy": 4.5}}}')
    (tmp_path / "contacts.xlsx").write_text("not a spreadsheet")
    (tmp_path / "broken.parquet").write_text("not parquet")
    changes, fragment = BAD_INPUT[case]
    argv = _args(files, "--format", "json", "--fail-on", "intervention")
    for flag, value in changes.items():
        at = argv.index(flag) if flag in argv else None
        if value is None:
            del argv[at : at + 2]
            continue
        value = value.format(tmp=tmp_path, orders=files["orders"])
        if at is None:
            argv += [flag, value]
        else:
            argv[at + 1] = value
    code, out, err = _run(capsys, argv)
    assert code == 2, err
    assert out == ""
    assert "Traceback" not in err
    assert err.startswith("supportkpi scorecard: error: "), err
    assert fragment in err
    assert err.count("\n") == 1, err


def test_argument_errors_exit_2(files, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(_args(files, "--format", "xml"))
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_as_a_process(files, tmp_path):
    """The installed entry point's module, run as a pipeline would: exit code and stderr."""
    package_root = str(Path(sk.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": package_root}
    base = [sys.executable, "-m", "supportkpi.cli"]
    out = tmp_path / "gate.csv"
    failing = subprocess.run(
        [*base, *_args(files, "--out", str(out), "--fail-on", "intervention")]
        + ["--period", FAILING_WEEK],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert failing.returncode == 1, failing.stderr
    assert "tickets_per_order" in failing.stderr
    bad = subprocess.run(
        [*base, *_args(files, "--format", "csv", "--tz", "Nowhere/Town")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
    assert bad.stderr.startswith("supportkpi scorecard: error: tz:")


def test_progress_is_shown_for_slow_runs(files, monkeypatch, capsys):
    monkeypatch.setattr(cli, "PROGRESS_AFTER_SECONDS", 0.0)
    code, _, err = _run(capsys, _args(files, "--format", "json"))
    assert code == 0
    assert "supportkpi scorecard: reading " in err
    assert "supportkpi scorecard: computing the scorecard" in err


def test_quick_runs_show_no_progress(files, capsys):
    code, _, err = _run(capsys, _args(files, "--format", "json", "--quiet"))
    assert code == 0
    assert err == ""


# --- kpis and demo ----------------------------------------------------------------------


def test_kpis_lists_the_catalogue(tmp_path, capsys):
    code, out, _ = _run(capsys, ["kpis"])
    assert code == 0
    assert out.startswith("csat_mean * — CSAT (mean) [score, higher_is_better]")
    assert "bands: healthy ≥ 4.30 · watch 4.00–4.30 · intervention < 4.00" in out
    code, out, _ = _run(capsys, ["kpis", "--format", "json"])
    entries = json.loads(out)
    assert [e["id"] for e in entries] == list(sk.kpi_catalog().id)
    target = tmp_path / "kpis.csv"
    assert cli.main(["kpis", "--format", "csv", "--out", str(target)]) == 0
    assert list(pd.read_csv(target).id) == list(sk.kpi_catalog().id)


def test_demo_still_prints_the_weekly_table(capsys, tmp_path):
    code, out, _ = _run(capsys, ["demo", "--periods", "3", "--out-dir", str(tmp_path)])
    assert code == 0
    assert "week of" in out and "CSAT" in out
    assert len([line for line in out.splitlines() if line.startswith("2024-")]) == 3


def test_demo_writes_the_report_and_the_trends_png(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    code, out, _ = _run(capsys, ["demo", "--out-dir", str(tmp_path / "demo")])
    assert code == 0
    report = tmp_path / "demo" / "report.html"
    png = tmp_path / "demo" / "trends.png"
    assert report.stat().st_size > 10_000 and "<svg" in report.read_text(encoding="utf-8")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {report}" in out and f"wrote {png}" in out
    # the sample's storyline makes the default rules fire; the demo lists them
    assert "wismo_after_launch" in out and "backlog_after_promo" in out
