"""Adapters (issue 19, SPEC §11): vendor exports in, the contract's tables out.

Exports are written from a contract-shaped truth (tests/vendor_exports.py) with the noise
real exports have; adapted and linked, they must give the truth's scorecard. The event
log adapter is checked on the real help-desk log in ../shared/data against a pandas
reading written here.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import supportkpi as sk
from supportkpi import adapters
from vendor_exports import (
    INTENT_TAGS,
    expected_cancelled,
    gorgias_exports,
    intercom_exports,
    shopify_csv,
    truth,
    zendesk_response,
)

EVENT_LOG = Path(__file__).resolve().parents[2] / "shared" / "data" / "helpdesk_eventlog.csv"
COMPARED = ["period_start", "kpi", "value", "numerator", "denominator"]


@pytest.fixture(scope="module")
def world():
    return truth(600, seed=5)


@pytest.fixture(scope="module")
def shop(world, tmp_path_factory):
    _, orders = world
    path = shopify_csv(orders, tmp_path_factory.mktemp("shop") / "orders_export.csv")
    return adapters.shopify_orders(path)


def _card(contacts: pd.DataFrame, orders: pd.DataFrame) -> pd.DataFrame:
    card = sk.scorecard(contacts, orders, by="week")
    frame = card.to_pandas()[COMPARED]
    return frame.sort_values(["period_start", "kpi"]).reset_index(drop=True)


def _assert_same_scorecard(contacts, orders, expected_contacts, expected_orders) -> None:
    """The adapted tables' weekly scorecard equals the truth's, KPI by KPI (values with
    their numerators and denominators), over the truth's columns."""
    got = _card(contacts[list(expected_contacts.columns)], orders)
    want = _card(expected_contacts, expected_orders)
    assert list(got["kpi"].unique()) == list(want["kpi"].unique())
    same = np.isclose(got["value"], want["value"], rtol=1e-12, equal_nan=True)
    differing = got.loc[~same, "kpi"].value_counts()
    assert same.all(), f"KPIs differing from the truth's (weeks): {differing.to_dict()}"
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12)


ORDER_COLUMNS = ["order_id", "customer_id", "created_at", "revenue", "refund", "discount"]
CONTRACT = [
    "contact_id",
    "customer_id",
    "created_at",
    "channel",
    "intent",
    "handled_by",
    "escalated",
    "first_response_at",
    "resolved_at",
    "touches",
    "csat",
]


# --- Shopify ------------------------------------------------------------------------------


def test_shopify_csv_collapses_line_items_and_drops_cancelled(world, shop):
    _, orders = world
    report = shop.report
    voided, cancelled = expected_cancelled()
    assert report.dropped == {"voided orders": voided, "cancelled orders": cancelled}
    assert report.rows_out == len(orders) == len(shop.orders)
    assert report.rows_in > len(orders) + voided + cancelled  # line-item rows
    got = shop.orders.set_index("order_id").loc[orders["order_id"]]
    # offset timestamps read as UTC instants; totals, refunds and discounts as numbers
    assert (got["created_at"].to_numpy() == orders["created_at"].to_numpy()).all()
    np.testing.assert_allclose(got["revenue"], orders["revenue"])
    np.testing.assert_allclose(got["refund"], orders["refund"])
    np.testing.assert_allclose(got["discount"], orders["discount"])
    mapping = report.to_frame().set_index("column")
    assert pd.isna(mapping.loc["customer_id", "source"])  # no customer id in the CSV
    assert mapping.loc["revenue", "source"] == "Total"


def test_shopify_api_orders_guests_refunds_and_test_orders():
    # The API / Fivetran shape: customer.id (null for a guest checkout), total_price,
    # refunds[].transactions[] (only successful refunds count), cancelled, voided and test
    # orders left out and counted.
    def order(i, **extra):
        return {
            "id": 900 + i,
            "name": f"#{1000 + i}",
            "email": f" Buyer{i}@Shop.example",
            "created_at": "2024-03-01T10:00:00-05:00",
            "total_price": "100.00",
            "total_discounts": "10.00",
            "financial_status": "paid",
            "customer": {"id": 70 + i},
            "refunds": [],
        } | extra

    orders = {
        "orders": [
            order(0),
            order(1, customer=None),  # guest checkout
            order(
                2,
                refunds=[
                    {"transactions": [{"kind": "refund", "status": "success", "amount": "12.50"}]},
                    {"transactions": [{"kind": "refund", "status": "failure", "amount": "99"}]},
                ],
            ),
            order(3, cancelled_at="2024-03-02T10:00:00Z"),
            order(4, financial_status="voided"),
            order(5, test=True),
        ]
    }
    s = adapters.shopify_orders(orders)
    assert s.report.dropped == {"voided orders": 1, "cancelled orders": 1, "test orders": 1}
    got = s.orders.set_index("order_id")
    assert got.index.tolist() == [900, 901, 902]
    assert got.loc[900, "created_at"] == pd.Timestamp("2024-03-01 15:00", tz="UTC")
    assert got["refund"].tolist() == [0.0, 0.0, 12.5]
    assert got["customer_id"].isna().tolist() == [False, True, False]
    linked = adapters.link(contacts=pd.DataFrame({"contact_id": [1], "customer_id": [5],
                                                  "email": ["buyer1@shop.example"]}),
                           orders=s.orders)  # fmt: skip
    assert linked.orders["customer_id"].tolist()[1] == "buyer1@shop.example"
    assert linked.report.contacts_linked == 1


# --- Zendesk ------------------------------------------------------------------------------


def _zendesk(world, tmp_path, form: str):
    contacts, _ = world
    response = zendesk_response(contacts)
    if form == "dict":
        return adapters.zendesk(response), response
    if form == "json":
        path = tmp_path / "tickets.json"
        path.write_text(json.dumps(response))
        return adapters.zendesk(path, intent=INTENT_TAGS), response
    if form == "jsonl":
        path = tmp_path / "tickets.jsonl"
        path.write_text("\n".join(json.dumps(t) for t in response["tickets"]))
        users = tmp_path / "users.json"
        users.write_text(json.dumps({"users": response["users"]}))
        return adapters.zendesk(path, users=users, intent=INTENT_TAGS), response
    raise ValueError(form)


@pytest.mark.parametrize("form", ["json", "jsonl"])
def test_zendesk_and_shopify_give_the_truths_scorecard(world, shop, tmp_path, form):
    contacts, _ = world
    z, response = _zendesk(world, tmp_path, form)
    assert z.report.dropped == {
        "earlier versions of a ticket (the incremental export repeats updates)": len(contacts)
        // 10,
        "deleted tickets": 3,
    }
    linked = adapters.link(contacts=z.contacts, orders=shop.orders)
    expected = contacts[CONTRACT + ["first_resolved_at", "reopens", "priority"]]
    got = linked.contacts.sort_values("contact_id").reset_index(drop=True)
    _assert_same_scorecard(got, linked.orders, expected, world[1][ORDER_COLUMNS])
    # the four-line example of the issue
    card = sk.scorecard(linked.contacts, linked.orders, by="week")
    assert {"reopen_rate", "first_resolution_time_median", "csat_mean"} <= set(card.kpis)


@pytest.mark.parametrize("form", ["file", "dict"])
def test_zendesk_sideloaded_metric_sets_read_like_nested_ones(world, tmp_path, form):
    contacts, _ = world
    response = zendesk_response(contacts)
    nested = adapters.zendesk(response).contacts
    sideloaded = json.loads(json.dumps(response))
    sideloaded["metric_sets"] = [t.pop("metric_set") for t in sideloaded["tickets"][:-3]]
    if form == "file":  # read by Arrow's parser as one document, pretty-printed
        path = tmp_path / "tickets.json"
        path.write_text(json.dumps(sideloaded, indent=2))
        source: object = path
    else:
        source = sideloaded
    pd.testing.assert_frame_equal(adapters.zendesk(source).contacts, nested)


def test_zendesk_report_names_sources_and_vendor_definitions(world, tmp_path):
    z, response = _zendesk(world, tmp_path, "json")
    mapping = z.report.to_frame().set_index("column")
    assert mapping.loc["first_response_at", "source"] == "metric_set.reply_time_in_minutes.calendar"
    assert pd.isna(mapping.loc["handle_seconds", "source"])
    assert "agent work time" in mapping.loc["handle_seconds", "note"]
    offered = sum(
        t["satisfaction_rating"]["score"] == "offered" for t in response["tickets"][60:-3]
    )
    assert f"{offered:,} offered but unrated" in mapping.loc["csat", "note"]
    text = str(z.report)
    assert "public agent repl" in text and "dropped 3: deleted tickets" in text
    assert "<table>" in z.report._repr_html_()


def test_zendesk_csv_view_export(world, tmp_path):
    contacts, _ = world
    rows = contacts.head(40)
    minutes = (rows["first_response_at"] - rows["created_at"]) / pd.Timedelta(minutes=1)
    csv = pd.DataFrame(
        {
            "Id": rows["contact_id"],
            "Requester email": rows["email"],
            "Created at": rows["created_at"].dt.strftime("%Y-%m-%d %H:%M:%S +0000"),
            "Via": rows["channel"].map(
                {"email": "Email", "chat": "Chat", "phone": "Voice", "social": "Twitter"}
            ),
            "Status": np.where(rows["resolved_at"].notna(), "Solved", "Open"),
            "First reply time in minutes": minutes.round().astype("Int64"),
            "Solved at": rows["resolved_at"].dt.strftime("%Y-%m-%d %H:%M:%S +0000"),
            "Replies": rows["touches"],
            "Reopens": rows["reopens"],
            "Satisfaction Score": rows["csat"].map({5.0: "Good", 1.0: "Bad"}).fillna("Offered"),
        }
    )
    path = tmp_path / "view.csv"
    csv.to_csv(path, index=False)
    z = adapters.zendesk(path)
    got = z.contacts
    pd.testing.assert_series_equal(
        got["first_response_at"], rows["first_response_at"].reset_index(drop=True)
    )
    assert (got["resolved_at"].isna().to_numpy() == rows["resolved_at"].isna().to_numpy()).all()
    assert got["channel"].tolist() == rows["channel"].tolist()
    np.testing.assert_array_equal(got["csat"].to_numpy(), rows["csat"].to_numpy())


# --- Gorgias and Intercom ------------------------------------------------------------------


def test_gorgias_gives_the_truths_scorecard(world, shop):
    contacts, _ = world
    tickets, messages, surveys = gorgias_exports(contacts)
    g = adapters.gorgias(tickets, messages=messages, surveys=surveys, intent=INTENT_TAGS)
    linked = adapters.link(contacts=g.contacts, orders=shop.orders)
    got = linked.contacts.sort_values("contact_id").reset_index(drop=True)
    _assert_same_scorecard(got, linked.orders, contacts[CONTRACT], world[1][ORDER_COLUMNS])
    assert "rule" in " ".join(g.report.definitions)


def test_intercom_gives_the_truths_scorecard(world, shop):
    contacts, _ = world
    conversations, people = intercom_exports(contacts)
    i = adapters.intercom(conversations, contacts=people, intent=INTENT_TAGS)
    linked = adapters.link(contacts=i.contacts, orders=shop.orders)
    expected = contacts[[c for c in CONTRACT if c != "touches"] + ["first_resolved_at", "reopens"]]
    expected = expected.assign(
        contact_id=expected["contact_id"].astype(str),
        customer_id=[
            f"contact:c{r}" if k.startswith("contact:") else k
            for k, r in zip(expected["customer_id"], contacts["requester_id"])
        ],
    )
    got = linked.contacts.assign(contact_id=linked.contacts["contact_id"].astype(str))
    got = got.set_index("contact_id").loc[expected["contact_id"]].reset_index()
    _assert_same_scorecard(got, linked.orders, expected, world[1][ORDER_COLUMNS])


# --- link ---------------------------------------------------------------------------------


def test_link_normalises_maps_and_flags():
    contacts = pd.DataFrame(
        {
            "contact_id": range(8),
            "customer_id": [1, 2, 3, 4, 5, 6, 7, None],
            "email": [
                " Ann@Shop.com",
                "ann@shop.com ",
                "bob@shop.com",
                "team@shop.com",
                "TEAM@shop.com",
                "team@shop.com",
                None,
                None,
            ],
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": ["#1", "#2", "#3"],
            "customer_id": [None, 90, None],
            "email": ["ANN@shop.com", "robert@shop.com", None],
        }
    )
    linked = adapters.link(
        contacts=contacts,
        orders=orders,
        mapping={"Robert@Shop.com": "bob@shop.com"},
        max_customers_per_email=2,
    )
    assert linked.contacts["customer_id"].tolist() == [
        "ann@shop.com",
        "ann@shop.com",
        "bob@shop.com",
        "team@shop.com",
        "team@shop.com",
        "team@shop.com",
        "contact:7",
        None,
    ]
    assert linked.orders["customer_id"].tolist() == ["ann@shop.com", "bob@shop.com", None]
    report = linked.report
    assert (report.contacts_linked, report.orders_linked, report.mapped) == (3, 2, 1)
    assert report.flagged == {"team@shop.com": 3}
    assert "team@shop.com (3)" in str(report)
    assert linked.contacts["source_customer_id"].tolist()[:3] == [1, 2, 3]


# --- event log on the real help-desk log -----------------------------------------------------


@pytest.fixture(scope="module")
def helpdesk():
    if not EVENT_LOG.exists():
        pytest.skip(f"the shared data set is not here: {EVENT_LOG}")
    return adapters.event_log(
        EVENT_LOG,
        case="case:concept:name",
        activity="Activity",
        timestamp="time:timestamp",
        response=["Take in charge ticket"],
        resolve=["Resolve ticket"],
        actor="Resource",
    )


def _pandas_reading() -> pd.DataFrame:
    """The log read independently: per ticket, first event, first take-in-charge, and the
    first and last resolve, duplicates removed first."""
    log = pd.read_csv(EVENT_LOG)
    log["t"] = pd.to_datetime(log["time:timestamp"], utc=True)
    log = log.drop_duplicates(["case:concept:name", "Activity", "t"])
    tickets = log.groupby("case:concept:name")["t"].min().rename("created").to_frame()
    taken = log[log["Activity"] == "Take in charge ticket"].groupby("case:concept:name")["t"]
    solved = log[log["Activity"] == "Resolve ticket"].groupby("case:concept:name")["t"]
    tickets["first_response"] = taken.min()
    tickets["resolved"] = solved.max()
    tickets["resolves"] = solved.count()
    return tickets


def test_event_log_per_month_figures_equal_a_pandas_reading(helpdesk):
    expected = _pandas_reading()
    contacts = helpdesk.contacts
    assert len(contacts) == len(expected) == 4_580
    card = sk.scorecard(contacts, _no_orders(), by="month")
    long = card.to_pandas().set_index(["period_start", "kpi"])["value"]
    month = expected["created"].dt.tz_convert("UTC").dt.tz_localize(None).dt.to_period("M")
    frt = (expected["first_response"] - expected["created"]) / pd.Timedelta(minutes=1)
    res = (expected["resolved"] - expected["created"]) / pd.Timedelta(hours=1)
    checked = 0
    for period, rows in expected.groupby(month):
        start = pd.Timestamp(period.start_time, tz="UTC")
        assert long[(start, "contacts")] == len(rows)
        assert long[(start, "frt_median")] == pytest.approx(frt[rows.index].median(), nan_ok=True)
        assert long[(start, "resolution_time_median")] == pytest.approx(
            res[rows.index].median(), nan_ok=True
        )
        checked += 1
    assert checked >= 40


def test_event_log_report_counts(helpdesk):
    expected = _pandas_reading()
    report = helpdesk.report
    assert report.rows_in == 21_348
    assert report.dropped == {
        "duplicate events (same ticket, activity and timestamp), counted once": 127
    }
    never = int(expected["resolved"].isna().sum())
    assert never == 11
    assert f"tickets never resolved (or left open by a reopening): {never:,}" in report.notes
    reopens = helpdesk.contacts.set_index("contact_id")["reopens"]
    want = (expected["resolves"].fillna(0) - 1).clip(lower=0)
    assert (reopens.loc[want.index].to_numpy() == want.to_numpy()).all()


def _no_orders() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "order_id": pd.Series([], dtype="int64"),
            "customer_id": pd.Series([], dtype="int64"),
            "created_at": pd.Series([], dtype="datetime64[us, UTC]"),
            "revenue": pd.Series([], dtype="float64"),
        }
    )


def test_event_log_reopening_activity_leaves_it_open():
    log = pd.DataFrame(
        {
            "ticket_id": [1, 1, 1, 1, 2, 2, 2],
            "activity": ["Open", "Solve", "Reopen", "Reply", "Open", "Solve", "Solve"],
            "timestamp": pd.to_datetime(
                ["2024-01-01 09:00", "2024-01-01 10:00", "2024-01-02 09:00", "2024-01-02 10:00",
                 "2024-01-01 09:00", "2024-01-01 10:00", "2024-01-01 10:00"], utc=True
            ),
        }
    )  # fmt: skip
    e = adapters.event_log(log, response="Reply", resolve="Solve", reopen="Reopen")
    c = e.contacts.set_index("contact_id")
    assert pd.isna(c.loc[1, "resolved_at"]) and c.loc[1, "reopens"] == 0
    assert c.loc[1, "first_resolved_at"] == pd.Timestamp("2024-01-01 10:00", tz="UTC")
    assert c.loc[2, "resolved_at"] == pd.Timestamp("2024-01-01 10:00", tz="UTC")
    assert e.report.dropped == {
        "duplicate events (same ticket, activity and timestamp), counted once": 1
    }


# --- bad input ----------------------------------------------------------------------------


def test_not_the_vendors_shape_says_what_was_expected_and_found(tmp_path, world):
    _, orders = world
    path = shopify_csv(orders.head(3), tmp_path / "orders.csv")
    with pytest.raises(
        sk.SchemaError,
        match=r"orders.csv: not a Zendesk tickets \(CSV view export\) export: missing "
        r"Requester id \(or Requester email\).*found Name, Email",
    ):
        adapters.zendesk(path)
    with pytest.raises(
        sk.SchemaError,
        match=r"expected Zendesk tickets as a list, or an object with a 'tickets' list; "
        r"found an object with orders",
    ):
        adapters.zendesk({"orders": []})
    with pytest.raises(sk.SchemaError, match=r"Gorgias messages.*missing from_agent"):
        adapters.gorgias(
            [{"id": 1, "created_datetime": "2024-01-01T00:00:00Z"}], messages=[{"ticket_id": 1}]
        )
    with pytest.raises(sk.ConfigError, match="no such file"):
        adapters.intercom(tmp_path / "missing.json")


def test_unparsable_values_name_the_file_field_and_row(tmp_path):
    tickets = [
        {"id": 1, "requester_id": 1, "created_at": "2024-01-01T00:00:00Z"},
        {"id": 2, "requester_id": 1, "created_at": "yesterday"},
    ]
    path = tmp_path / "t.json"
    path.write_text(json.dumps(tickets))
    with pytest.raises(
        sk.DataError, match=r"t.json: field 'created_at', row 1: cannot read 'yesterday'"
    ):
        adapters.zendesk(path)
    csv = pd.DataFrame(
        {"Name": ["#1"], "Created at": ["2024-01-01 10:00:00 -0500"], "Total": ["ten"]}
    )
    with pytest.raises(sk.DataError, match=r"field 'total_price', row 0: 'ten' is not a number"):
        adapters.shopify_orders(csv)
    with pytest.raises(sk.DataError, match=r"not JSON nor JSON lines"):
        bad = tmp_path / "bad.json"
        bad.write_text("{nope")
        adapters.zendesk(bad)


# --- the command line -----------------------------------------------------------------------


def test_cli_scores_raw_exports(world, tmp_path, capsys):
    from supportkpi import cli

    contacts, orders = world
    response = zendesk_response(contacts)
    tickets, users = tmp_path / "tickets.jsonl", tmp_path / "users.json"
    tickets.write_text("\n".join(json.dumps(t) for t in response["tickets"]))
    users.write_text(json.dumps({"users": response["users"]}))
    shop_csv = shopify_csv(orders, tmp_path / "orders_export.csv")
    out = tmp_path / "card.csv"
    argv = [
        "scorecard",
        "--contacts", str(tickets), "--contacts-format", "zendesk",
        "--contacts-with", f"users={users}",
        "--orders", str(shop_csv), "--orders-format", "shopify",
        "--by", "week", "--out", str(out),
    ]  # fmt: skip
    assert cli.main(argv) == 0
    log = capsys.readouterr().err
    assert "Zendesk → contacts" in log and "Shopify → orders" in log and "link:" in log
    got = pd.read_csv(out)
    z = adapters.zendesk(tickets, users=users)
    linked = adapters.link(contacts=z.contacts, orders=adapters.shopify_orders(shop_csv).orders)
    want = sk.scorecard(linked.contacts, linked.orders, by="week").to_pandas()
    assert len(got) == len(want)
    np.testing.assert_allclose(
        got["value"].to_numpy(float), want["value"].to_numpy(float), rtol=1e-9, equal_nan=True
    )
    wrong = argv[:5] + ["--contacts-with", "messages=x.json"] + argv[7:]
    assert cli.main(wrong) == 2
    assert "'messages' is not a side file of zendesk" in capsys.readouterr().err


@pytest.mark.parametrize("vendor", ["zendesk", "gorgias", "intercom"])
def test_example_from_raw_exports_to_the_report(vendor, tmp_path, capsys):
    import importlib.util

    script = Path(__file__).resolve().parents[1] / "examples" / "from_exports.py"
    spec = importlib.util.spec_from_file_location("from_exports", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    written = module.main(["--vendor", vendor, "--out", str(tmp_path / "report.html")])
    assert written.stat().st_size > 10_000
    printed = capsys.readouterr().out
    assert "Shopify → orders" in printed and "contacts linked to an order's customer" in printed
    assert "<Scorecard by=week" in printed


def test_readme_section_runs_and_prints_what_it_shows(monkeypatch, capsys):
    import re

    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text()
    section = readme.split("## From your helpdesk and your shop", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(python|text)\n(.*?)```", section, flags=re.DOTALL)
    kinds = [kind for kind, _ in blocks]
    assert kinds[:3] == ["python", "text", "python"]
    monkeypatch.chdir(root)
    if not EVENT_LOG.exists():
        pytest.skip("the shared data set is not here")
    namespace = {"sk": sk}
    exec(blocks[0][1], namespace)
    assert capsys.readouterr().out.strip() == blocks[1][1].strip()
    exec(blocks[2][1], namespace)
    assert len(namespace["log"].contacts) == 4_580
    assert namespace["g"].contacts["intent"].notna().any()
