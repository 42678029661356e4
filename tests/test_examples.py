"""The examples run: the Airflow DAG's callable (without Airflow) and the notebook.

The notebook's code cells are executed in order in one namespace, as a kernel would, and
each cell's last expression is "displayed" the way Jupyter does it (``_repr_html_`` when
the object has one), so a broken rich repr fails here too.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import sys
import types
from pathlib import Path

import pandas as pd
import pytest
import supportkpi as sk
from supportkpi import _notebook, _plot, _report

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# The Scorecard methods of issue 5. They are bound in _api.py; until then, attach them here
# so the examples (which use the public methods) run. A no-op once they are bound.
BINDINGS = {
    "_repr_html_": _notebook.scorecard_html,
    "plot": _plot.plot_kpi,
    "plot_trends": _plot.plot_trends,
    "to_html": _report.write_html_report,
}


@pytest.fixture
def scorecard_methods(monkeypatch):
    for name, function in BINDINGS.items():
        if not hasattr(sk.Scorecard, name):
            monkeypatch.setattr(sk.Scorecard, name, function, raising=False)


SAMPLE_TABLES = ("contacts", "orders", "sessions", "events")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("support")
    for name, table in sk.load_sample().items():
        table.to_parquet(directory / f"{name}.parquet", index=False)
    return directory


def _load(path: Path, name: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- Airflow ----------------------------------------------------------------------------


@pytest.fixture
def dag_module():
    return _load(EXAMPLES / "airflow_dag.py", "supportkpi_example_airflow_dag")


def test_dag_module_imports_without_airflow(dag_module):
    if importlib.util.find_spec("airflow") is not None:
        pytest.skip("Airflow is installed here; this checks the import guard")
    assert dag_module.dag is None and dag_module.task is None
    assert issubclass(dag_module.InterventionRequired, RuntimeError)


def test_weekly_scorecard_fails_on_intervention(dag_module, data_dir, tmp_path, scorecard_methods):
    with pytest.raises(dag_module.InterventionRequired) as failure:
        dag_module.weekly_scorecard(data_dir, tmp_path, week="2024-11-19 06:00")
    message = str(failure.value)
    # the command line's message (see test_cli.py), then where the report is: every KPI of
    # the week in intervention outside a peak event, with its owner
    tables = {name: pd.read_parquet(data_dir / f"{name}.parquet") for name in SAMPLE_TABLES}
    bands = sk.scorecard(**tables).bands()
    week = bands[(bands.period_start == "2024-11-18") & (bands.band == "intervention")]
    week = week[~week.expected]
    assert message.startswith(
        f"supportkpi scorecard: {len(week)} KPI(s) in the intervention band or worse in the "
        "week of 2024-11-18:"
    )
    for row in week.itertuples():
        assert f"  {row.kpi} = " in message and f"owner: {row.owner})" in message
    # the report is written before the task fails, for the owners to read
    report = tmp_path / "scorecard-2024-11-18.html"
    assert report.exists() and str(report) in message
    assert (tmp_path / "scorecard-2024-11-18.parquet").exists()


def test_weekly_scorecard_passes_an_expected_peak(
    dag_module, data_dir, tmp_path, scorecard_methods
):
    summary = dag_module.weekly_scorecard(
        data_dir, tmp_path, week="2024-12-02 06:00", as_of="2024-12-09 00:00"
    )
    assert summary["week"] == "2024-12-02"
    assert "tickets_per_order" in summary["expected"]
    assert summary["bands"]["intervention"] >= 1
    assert "tickets_per_order_rising" in summary["diagnostics"]
    assert Path(summary["report"]).exists()
    json.dumps(summary)  # XCom-serialisable


def test_weekly_scorecard_reads_the_config(dag_module, data_dir, tmp_path, scorecard_methods):
    config_dir = tmp_path / "with_config"
    config_dir.mkdir()
    for file in data_dir.iterdir():
        (config_dir / file.name).symlink_to(file)
    (config_dir / "scorecard.toml").write_text(
        "[bands.tickets_per_order]\nhealthy_max = 1.0\nwatch_max = 2.0\n"
    )
    default = dag_module.weekly_scorecard(data_dir, tmp_path / "a", week="2024-11-18", fail_on=None)
    assert default["attention"]["tickets_per_order"] == "intervention"
    summary = dag_module.weekly_scorecard(
        config_dir, tmp_path / "b", week="2024-11-18", fail_on=None
    )
    assert "tickets_per_order" not in summary["attention"]


def test_dag_wiring_with_a_stand_in_airflow(monkeypatch, data_dir, tmp_path, scorecard_methods):
    """With Airflow's decorators present, the module defines one DAG with one task."""
    registered = {}

    class AirflowFailException(Exception):
        pass

    def dag(**kwargs):
        def wrap(function):
            def build():
                registered["dag"] = kwargs
                function()

            return build

        return wrap

    def task(**kwargs):
        def wrap(function):
            registered["task"] = (function, kwargs)
            return lambda *a, **k: registered.setdefault("calls", []).append((a, k))

        return wrap

    airflow = types.ModuleType("airflow")
    decorators = types.ModuleType("airflow.decorators")
    decorators.dag, decorators.task = dag, task
    exceptions = types.ModuleType("airflow.exceptions")
    exceptions.AirflowFailException = AirflowFailException
    monkeypatch.setitem(sys.modules, "airflow", airflow)
    monkeypatch.setitem(sys.modules, "airflow.decorators", decorators)
    monkeypatch.setitem(sys.modules, "airflow.exceptions", exceptions)

    module = _load(EXAMPLES / "airflow_dag.py", "supportkpi_example_airflow_dag_wired")
    assert registered["dag"]["dag_id"] == "support_scorecard_weekly"
    assert registered["dag"]["schedule"] == "0 6 * * MON"
    assert registered["calls"] == [((), {})]
    function, options = registered["task"]
    assert options == {"retries": 0}
    assert issubclass(module.InterventionRequired, AirflowFailException)

    monkeypatch.setenv("SUPPORTKPI_DATA_DIR", str(data_dir))
    monkeypatch.setenv("SUPPORTKPI_REPORT_DIR", str(tmp_path))
    # the run at Monday 06:00 reports the week that ended then
    summary = function(data_interval_end="2024-12-09T06:00:00+00:00")
    assert summary["week"] == "2024-12-02"
    with pytest.raises(module.InterventionRequired):
        function(data_interval_end="2024-11-25T06:00:00+00:00")


# --- the notebook -----------------------------------------------------------------------


def _display(value):
    """What Jupyter shows for a cell's value: the rich HTML repr if any, else repr()."""
    if value is None:
        return ""
    html = getattr(value, "_repr_html_", None)
    rich = html() if callable(html) else None  # a Figure's is None outside webagg
    return rich if rich is not None else repr(value)


def test_walkthrough_notebook_runs(tmp_path, monkeypatch, scorecard_methods):
    pytest.importorskip("matplotlib").use("Agg")
    notebook = json.loads((EXAMPLES / "walkthrough.ipynb").read_text(encoding="utf-8"))
    assert notebook["nbformat"] == 4
    cells = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    assert len(cells) >= 8
    assert all(not c["outputs"] for c in cells), "commit the notebook without outputs"
    monkeypatch.chdir(tmp_path)  # the last cell writes the report into the working directory
    namespace: dict = {"__name__": "__main__"}
    shown = []
    for number, cell in enumerate(cells, 1):
        source = "".join(cell["source"])
        tree = ast.parse(source, filename=f"<cell {number}>")
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, f"<cell {number}>", "exec"), namespace)
        if last is not None:
            expression = ast.Expression(last.value)
            shown.append(_display(eval(compile(expression, f"<cell {number}>", "eval"), namespace)))
    card_html = next(s for s in shown if s.startswith('<div class="supportkpi-scorecard"'))
    assert "Headline KPIs" in card_html
    assert (tmp_path / "weekly_scorecard.html").exists()
    assert "Figure" in "".join(shown)
