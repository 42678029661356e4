"""The readable views of a scorecard (issue 5): notebook table, terminal, report, charts.

The notebook table leads with the headline KPIs (seed 001), formats values by unit, colours
each cell by its band and puts numerator and denominator in the cell's tooltip; the
standalone report reads offline (no URL in it) and renders in a real browser (headless
Chromium, when installed); charts are matplotlib Figures drawn without warnings.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys

import pandas as pd
import pytest
import supportkpi as sk
from supportkpi import _grid, _present
from supportkpi._notebook import escape, scorecard_html
from supportkpi._present import format_value
from supportkpi._report import report_html, write_html_report
from supportkpi._terminal import terminal_repr

HEADLINE = ["csat_mean", "deflection_rate", "fcr_rate", "tickets_per_order"]
TZ = "Europe/Berlin"


@pytest.fixture(scope="module")
def sample():
    return sk.load_sample()


@pytest.fixture(scope="module")
def card(sample):
    return sk.scorecard(
        sample["contacts"],
        sample["orders"],
        sessions=sample["sessions"],
        events=sample["events"],
        tz=TZ,
    )


@pytest.fixture(scope="module")
def notebook_html(card):
    return scorecard_html(card)


@pytest.fixture(scope="module")
def report_text(card):
    pytest.importorskip("matplotlib")
    return report_html(card)


def _row(html_text, kpi):
    """The <tr> of one KPI in the scorecard table."""
    match = re.search(rf'<tr data-kpi="{kpi}">(.*?)</tr>', html_text, flags=re.DOTALL)
    assert match, f"no row for {kpi}"
    return match.group(1)


def _cells(row_html):
    return re.findall(r'<td class="sk-value([^"]*)"[^>]*title="([^"]*)">([^<]*)</td>', row_html)


def _tiny_card(**kwargs):
    t = pd.Timestamp("2024-03-04 10:00", tz="UTC")
    contacts = pd.DataFrame(
        {
            "contact_id": [1, 2],
            "customer_id": [7, 8],
            "created_at": [t, t + pd.Timedelta(days=1)],
            "channel": ["<b>chat</b>", "email & co"],
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": [1],
            "customer_id": [7],
            "created_at": [t + pd.Timedelta(hours=2)],
            "revenue": [50.0],
        }
    )
    return sk.scorecard(contacts, orders, **kwargs)


# --- the notebook table -----------------------------------------------------------------


def test_headline_kpis_come_first_in_seed_001_order(card, notebook_html):
    positions = [notebook_html.index(f'data-kpi="{kpi}"') for kpi in HEADLINE]
    assert positions == sorted(positions)
    first_diagnostic = min(
        notebook_html.index(f'data-kpi="{kpi}"') for kpi in card.kpis if kpi not in HEADLINE
    )
    assert positions[-1] < first_diagnostic
    assert notebook_html.index("Headline KPIs") < positions[0]
    assert positions[-1] < notebook_html.index("Diagnostic:") < first_diagnostic


def test_values_are_formatted_by_unit(notebook_html):
    def texts(kpi):
        # a † marks a band change expected during a peak event
        return [text.removesuffix(" †") for _, _, text in _cells(_row(notebook_html, kpi))]

    assert all(re.fullmatch(r"\d+\.\d%|–", t) for t in texts("deflection_rate"))
    assert all(re.fullmatch(r"[\d,]+\.\d min|–", t) for t in texts("frt_median"))
    assert all(re.fullmatch(r"[\d,]+\.\d h|–", t) for t in texts("resolution_time_median"))
    assert all(re.fullmatch(r"-?[\d,]+\.\d\d|–", t) for t in texts("cost_per_contact"))
    assert all(re.fullmatch(r"\d\.\d\d|–", t) for t in texts("csat_mean"))
    assert all(re.fullmatch(r"[\d,]+|–", t) for t in texts("contacts"))


def test_tooltips_show_numerator_and_denominator(card, notebook_html):
    long = card.to_pandas()
    period = _present.report_period(card)
    row = long[(long.kpi == "deflection_rate") & (long.period_start == period)].iloc[0]
    title = f"numerator {int(row.numerator):,} / denominator {int(row.denominator):,}"
    assert title in _row(notebook_html, "deflection_rate")
    # medians show how many inputs they rest on
    assert "n = " in _row(notebook_html, "frt_median")


def test_cells_carry_their_band(card, notebook_html):
    bands = card.bands()
    period = _present.report_period(card)
    at = bands[bands.period_start == period].set_index("kpi")
    for kpi in HEADLINE:
        expected_band = at.loc[kpi, "band"]
        cells = _cells(_row(notebook_html, kpi))
        classes = [cls for cls, title, _ in cells if f"band: {expected_band}" in title]
        assert classes, kpi
        assert all(f"sk-{expected_band}" in cls for cls in classes)
    # unbanded KPIs have no band class
    assert all(cls == "" for cls, _, _ in _cells(_row(notebook_html, "contacts")))


def test_report_period_skips_a_barely_started_week(card):
    starts = _present.period_starts(card)
    assert _present.observed_share(card, starts[-1]) < 0.5
    assert _present.report_period(card) == starts[-2]
    assert _present.report_period(card, "2024-11-20 12:00") == pd.Timestamp("2024-11-18", tz=TZ)
    with pytest.raises(sk.ConfigError, match="outside the scorecard"):
        _present.report_period(card, "2030-01-01")


def test_diagnostics_fired_are_listed_under_the_table(card, notebook_html):
    diagnostics = card.diagnose()
    shown = {
        c.period
        for c in _grid.grid_columns(
            card, _grid.Grid(card), periods=6, current=_present.report_period(card)
        )[0]
    }
    fired = diagnostics[diagnostics.period_start.isin(shown)]
    assert not fired.empty
    listing = notebook_html[notebook_html.index("Diagnostics fired") :]
    for rule in set(fired.rule):
        assert f"({rule}, " in listing
    assert notebook_html.index("</table>") < notebook_html.index("Diagnostics fired")


def test_group_values_are_escaped():
    card = _tiny_card(group_by="channel")
    out = scorecard_html(card)
    assert "<b>chat</b>" not in out
    assert "&lt;b&gt;chat&lt;/b&gt;" in out
    assert "email &amp; co" in out
    text = terminal_repr(card)
    assert "<b>chat</b>" in text  # plain text is not escaped


def test_tiny_and_empty_periods_render():
    card = _tiny_card()
    assert "<table" in scorecard_html(card)
    assert terminal_repr(card).startswith("<Scorecard")
    assert "<!DOCTYPE html>" in report_html(card, days=7)


# --- the terminal -----------------------------------------------------------------------


def test_terminal_repr_leads_with_the_headline(card):
    text = terminal_repr(card)
    lines = text.splitlines()
    assert lines[0].startswith("<Scorecard by=week tz=Europe/Berlin")
    assert len(lines) < 25
    body = "\n".join(lines[3:7])
    for label in ("CSAT", "deflection", "FCR", "tickets/order"):
        assert label in body
    assert "report period: week of 2024-12-02" in text
    assert "diagnostics fired:" in text


# --- the standalone report --------------------------------------------------------------


def test_report_has_the_weekly_scorecard_sections(card, report_text):
    for heading in (
        "Weekly support-conversion scorecard",
        "Headline",
        "Needs attention, by owner",
        "Diagnostics",
        "Scorecard",
        "Trends",
        "Calendar",
    ):
        assert f">{heading}<" in report_text, heading
    # diagnostics with their action and owner
    fired = card.diagnose()
    fired = fired[fired.period_start == _present.report_period(card)]
    for row in fired.itertuples():
        assert f'data-rule="{row.rule}"' in report_text
        assert escape(row.action) in report_text
    assert "first corrective action" in report_text
    assert report_text.count("<svg") == 1


def test_report_reads_offline(report_text):
    lowered = report_text.lower()
    assert "http://" not in lowered and "https://" not in lowered
    # only in-page references (the SVG's own <use xlink:href="#...">)
    assert not re.search(r"\b(src|href)\s*=\s*(?![\"']?#)", lowered)
    assert "@import" not in lowered
    assert not re.search(r"url\(\s*(?![\"']?#)", lowered)  # clip-path="url(#id)" only
    assert "<script" not in lowered


def test_report_without_matplotlib_says_so(card, monkeypatch, tmp_path):
    from supportkpi import _plot

    def missing():
        raise ImportError("no matplotlib here")

    monkeypatch.setattr(_plot, "require_matplotlib", missing)
    path = write_html_report(card, tmp_path / "report.html")
    text = path.read_text(encoding="utf-8")
    assert "<svg" not in text
    assert "matplotlib is not installed" in text
    assert "supportkpi[plot]" in text


def test_report_with_groups_and_a_chosen_period(sample, tmp_path):
    pytest.importorskip("matplotlib")
    card = sk.scorecard(
        sample["contacts"], sample["orders"], events=sample["events"], group_by="channel"
    )
    path = write_html_report(card, tmp_path / "by_channel.html", days=30, period="2024-10-09")
    text = path.read_text(encoding="utf-8")
    assert "Week of 2024-10-07" in text
    assert "channel in the week of 2024-10-07" in text
    assert "<svg" in text


def _chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_report_renders_in_headless_chromium(report_text, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("chromium is not installed (Debian package `chromium`; .ci/run installs it)")
    page = tmp_path / "report.html"
    page.write_text(report_text, encoding="utf-8")
    shot = tmp_path / "report.png"
    flags = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    done = subprocess.run(
        [*flags, f"--screenshot={shot}", "--window-size=1280,2400", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 50_000  # a blank page is a few kB
    # The browser's own parse of the page: the tables and the chart are in its DOM.
    dom = subprocess.run(
        [*flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=180
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count('<tr data-kpi="') == report_text.count('<tr data-kpi="')
    assert "<svg" in dom.stdout


# --- charts -----------------------------------------------------------------------------


@pytest.fixture
def mpl():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    return matplotlib


def test_plot_kpi_draws_bands_baseline_and_events(card, mpl):
    from matplotlib.figure import Figure
    from supportkpi._plot import plot_kpi

    fig = plot_kpi(card, "csat_mean")
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert ax.get_title(loc="left") == "CSAT (mean)"
    labels = [line.get_label() for line in ax.lines]
    assert "value" in labels and "30-day baseline" in labels
    kinds = {t.get_text().strip() for t in ax.texts}
    assert {"promo", "launch", "peak"} <= kinds
    # 3 band regions visible + 3 event spans
    assert len(ax.patches) >= 6
    # by default the chart ends at the report period, not the week barely started
    value_line = ax.lines[labels.index("value")]
    assert len(value_line.get_xdata()) == len(_present.period_starts(card)) - 1
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    assert buffer.getvalue()[:4] == b"\x89PNG"


def test_plot_kpi_on_given_axes_and_groups(sample, mpl):
    from matplotlib.figure import Figure
    from supportkpi._plot import plot_kpi

    card = sk.scorecard(sample["contacts"], sample["orders"], group_by="channel")
    fig = Figure()
    ax = fig.add_subplot()
    assert plot_kpi(card, "deflection_rate", ax=ax) is fig
    # one line per channel (the whiskers' caps are unlabelled lines)
    assert len([line for line in ax.lines if not line.get_label().startswith("_")]) == 6
    fig = plot_kpi(card, "deflection_rate", group="chat", days=60)
    assert fig.axes[0].get_title(loc="left") == "Deflection rate — chat"
    with pytest.raises(sk.ConfigError, match="no rows"):
        plot_kpi(card, "deflection_rate", group="fax")


def test_plot_trends_small_multiples(card, mpl):
    from supportkpi._plot import plot_trends

    fig = plot_trends(card, days=90)
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert titles[:4] == [
        "CSAT (mean)",
        "Deflection rate",
        "First contact resolution",
        "Tickets per order",
    ]
    assert len(titles) == 10  # headline + the six of seed 000's scorecard
    assert fig.legends
    fig = plot_trends(card, ["csat_mean", "fcr_rate", "aht_minutes"], days=30)
    assert len(fig.axes) == 3
    with pytest.raises(sk.ConfigError, match="volume_share"):
        plot_trends(card, ["volume_share"])


def test_missing_matplotlib_names_the_extra(card, monkeypatch):
    from supportkpi import _plot

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=re.escape('pip install "supportkpi[plot]"')):
        _plot.plot_kpi(card, "csat_mean")


def test_format_value_edges():
    assert format_value(float("nan"), "rate") == "n/a"
    assert format_value(pd.NA, "count") == "n/a"
    assert format_value(-0.05, "rate", "cost_per_resolved_vs_baseline") == "-5.0%"
    assert format_value(26.73, "score") == "26.7"
    assert format_value(12345.678, "currency") == "12,345.68"  # the inputs' currency, unnamed
    with _present.currency_symbol("€"):
        assert format_value(-12345.678, "currency") == "-€12,345.68"


# --- the Scorecard methods (bound in _api.py) -------------------------------------------


def test_scorecard_methods_are_bound(card, tmp_path):
    if not hasattr(sk.Scorecard, "to_html"):
        pytest.skip("Scorecard._repr_html_/plot/plot_trends/to_html not bound in _api.py yet")
    assert card._repr_html_() == scorecard_html(card)
    assert repr(card) == terminal_repr(card)
    assert card.to_html(tmp_path / "r.html").exists()


# --- evidence in the views (issue 20, SPEC §10) -----------------------------------------


def test_tooltips_show_the_interval_as_plus_minus(card, notebook_html, report_text):
    long = card.to_pandas()
    period = _present.report_period(card)
    row = long[(long.kpi == "deflection_rate") & (long.period_start == period)].iloc[0]
    # half the width of the Wilson interval, in percentage points, worked out here
    half = 100 * (row.ci_high - row.ci_low) / 2
    text = f"{100 * row.value:.1f}% ± {half:.1f} pp (95% interval"
    assert text in _row(notebook_html, "deflection_rate")
    assert escape(text) in report_text or text in report_text


def test_insufficient_cells_are_grey_in_every_view(sample, mpl):
    card = sk.scorecard(sample["contacts"], sample["orders"], group_by="channel")
    grid = _grid.Grid(card)
    insufficient = [(k, c) for k, c in grid.cells.items() if c.band == "insufficient"]
    assert insufficient
    html_text = scorecard_html(card)
    grey_background = _present.BAND_COLOURS["insufficient"][0]
    assert 'class="sk-value sk-insufficient"' in html_text and grey_background in html_text
    assert "below the band&#x27;s min_sample" in html_text or "min_sample" in html_text
    assert "? insufficient sample" in terminal_repr(card)
    # the plot colours an insufficient point grey
    from supportkpi._plot import plot_kpi

    bands = card.bands()
    small = bands[bands.band == "insufficient"].iloc[0]
    chat = bands[(bands.channel == small.channel) & (bands.kpi == small.kpi)]
    fig = plot_kpi(card, small.kpi, group=small.channel)
    grey = mpl.colors.to_rgba(_present.BAND_COLOURS["insufficient"][2])
    from matplotlib.collections import PathCollection

    scatter = [c for c in fig.axes[0].collections if isinstance(c, PathCollection)]
    points = scatter[0].get_facecolors()
    n_grey = sum(1 for colour in points if tuple(colour) == grey)
    assert n_grey == int((chat.band == "insufficient").sum()) > 0


def test_plots_draw_each_interval_as_a_whisker(card, mpl):
    from supportkpi._plot import plot_kpi

    fig = plot_kpi(card, "csat_mean")
    ax = fig.axes[0]
    long = card.to_pandas()
    rows = long[(long.kpi == "csat_mean") & long.ci_low.notna()]
    segments = [s for c in ax.collections for s in getattr(c, "get_segments", lambda: [])()]
    verticals = sorted((round(s[0][1], 9), round(s[1][1], 9)) for s in segments if len(s) == 2)
    wanted = sorted((round(a, 9), round(b, 9)) for a, b in zip(rows.ci_low, rows.ci_high))
    assert verticals == wanted


def test_the_report_writes_the_evidence_in_words(card, report_text):
    fired = card.diagnose()
    assert fired["evidence_text"].str.len().gt(0).all()
    wismo = fired[fired.rule == "wismo_after_launch"].iloc[0]
    assert "×" in wismo.evidence_text and "p < 0.001" in wismo.evidence_text
    # no 16-digit numbers in the words, and they reach the report (its recent periods)
    # escaped
    assert not re.search(r"\d\.\d{6,}", " ".join(fired["evidence_text"]))
    shown = [t for t in fired["evidence_text"] if escape(t) in report_text]
    assert shown and any("p < 0.001" in t for t in shown)
