"""Scale-out (issue 7): the Dask and Spark scorecards give the single-machine card.

Generated data (tests/datagen.py, 200k contacts and 400k orders: ties, window edges,
anonymous rows) is written as Parquet, read by a two-process Dask cluster and by a local
Spark session, and scored by ``supportkpi.dask.scorecard`` and ``supportkpi.spark.scorecard``.
Each card must equal ``sk.scorecard`` of the same data: counts exactly, sums and ratios to
1e-9, the sketched quantile KPIs and their intervals within 1% (relative); bands and
diagnostics alike; with integer and with string customer ids, with and without
``group_by``. Smaller data covers
column renaming, naive timestamps, business calendars with SLA policies and reopens, the
``as_of`` rule, ``on_invalid="drop"``, errors raised on the workers, the bucket alignment
and the Spark < 4 code path.
"""

from __future__ import annotations

import doctest
import importlib.util
import logging
import os
import shutil
import sys

import numpy as np
import pandas as pd
import pytest
import supportkpi as sk
from datagen import make_tables
from spec_tables import QUANTILE_KPIS

pytestmark = [
    # PySpark 4 warns on every pandas/arrow UDF that it does not yet fully support pandas 3;
    # our UDFs exchange Arrow only.
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]

N_CONTACTS = 200_000
N_SMALL = 20_000
PARTS = 4  # input files per table, and buckets
RTOL = ATOL = 1e-9
QUANTILE_RTOL = 0.01  # DDSketch, as documented in the README
SHOW = 12

EVENTS = pd.DataFrame(
    {
        "name": ["spring promo", "app launch", "easter peak"],
        "kind": ["promo", "launch", "peak"],
        "start": pd.to_datetime(["2024-03-08", "2024-03-25", "2024-03-29"], utc=True),
        "end": pd.to_datetime(["2024-03-15", "2024-03-26", "2024-04-02"], utc=True),
    }
)


def _is_quantile(kpi: str) -> bool:
    return kpi in QUANTILE_KPIS or "median" in kpi or "p90" in kpi


# --------------------------------------------------------------------------------------
# data and engines
# --------------------------------------------------------------------------------------
def _write_parts(frame: pd.DataFrame, directory) -> str:
    directory.mkdir(parents=True)
    n = len(frame)
    for i in range(PARTS):
        part = frame.iloc[i * n // PARTS : (i + 1) * n // PARTS]
        part.to_parquet(directory / f"part-{i}.parquet", index=False)
    return str(directory)


class Data:
    """One generated data set: the pandas frames, their Parquet copies, local cards."""

    def __init__(self, root, name: str, contacts, orders, sessions):
        self.contacts, self.orders, self.sessions = contacts, orders, sessions
        self.contacts_path = _write_parts(contacts, root / name / "contacts")
        self.orders_path = _write_parts(orders, root / name / "orders")
        self._cards: dict = {}

    def local(self, **options):
        key = repr(sorted(options.items()))
        if key not in self._cards:
            self._cards[key] = sk.scorecard(
                self.contacts, self.orders, self.sessions, events=EVENTS, **options
            )
        return self._cards[key]


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    root = tmp_path_factory.mktemp("scale_out")
    return {
        "int": Data(root, "int", *make_tables(N_CONTACTS, seed=71, n_orders=2 * N_CONTACTS)),
        "str": Data(
            root, "str", *make_tables(N_CONTACTS, seed=72, ids="str", n_orders=2 * N_CONTACTS)
        ),
    }


@pytest.fixture(scope="module")
def small():
    return make_tables(N_SMALL, seed=73, n_orders=2 * N_SMALL)


@pytest.fixture(scope="module")
def dask_client():
    pytest.importorskip("dask.dataframe", reason='Dask is not installed (pip install ".[dask]")')
    distributed = pytest.importorskip(
        "distributed", reason='dask.distributed is not installed (pip install ".[dask]")'
    )
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def spark():
    pytest.importorskip("pyspark", reason='PySpark is not installed (pip install ".[spark]")')
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("PySpark needs a Java runtime (17 or later); none found")
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("supportkpi-tests")
        .config("spark.sql.shuffle.partitions", str(PARTS))
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        # Not UTC on purpose: results must not depend on the session's time zone.
        .config("spark.sql.session.timeZone", "America/New_York")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _dask_frames(contacts, orders):
    import dask.dataframe as dd

    return dd.read_parquet(contacts), dd.read_parquet(orders)


def _run(
    engine: str, request, contacts_path: str, orders_path: str, buckets: int = PARTS, **kwargs
):
    """The engine's scorecard of two Parquet directories."""
    if engine == "dask":
        request.getfixturevalue("dask_client")
        import supportkpi.dask as skd

        contacts, orders = _dask_frames(contacts_path, orders_path)
        return skd.scorecard(contacts, orders, npartitions=buckets, **kwargs)
    session = request.getfixturevalue("spark")
    import supportkpi.spark as sks

    contacts = session.read.parquet(contacts_path)
    orders = session.read.parquet(orders_path)
    return sks.scorecard(contacts, orders, buckets=buckets, **kwargs)


def _run_frames(engine: str, request, tmp_path, contacts, orders, **kwargs):
    c_path = _write_parts(contacts, tmp_path / "contacts")
    o_path = _write_parts(orders, tmp_path / "orders")
    return _run(engine, request, c_path, o_path, **kwargs)


# --------------------------------------------------------------------------------------
# comparing two cards
# --------------------------------------------------------------------------------------
def _label(value) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return "<null>"
    if isinstance(value, float) and np.isnan(value):
        return "<null>"
    return str(value)


def _keyed(frame: pd.DataFrame, groups: list[str]) -> pd.DataFrame:
    out = frame.copy()
    out["period_start"] = pd.to_datetime(out["period_start"], utc=True)
    for g in groups:
        out[g] = [_label(v) for v in out[g]]
    return out


def _fail(problems: list[str], what: str) -> None:
    if problems:
        pytest.fail(f"{what} differs from sk.scorecard:\n\n" + "\n\n".join(problems), False)


def _numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    return pd.to_numeric(frame[column]).to_numpy(dtype="float64", na_value=np.nan)


def _paired(got: pd.DataFrame, expected: pd.DataFrame, keys: list[str], what: str):
    for name, frame in (("distributed", got), ("local", expected)):
        duplicated = frame.duplicated(keys, keep=False)
        if duplicated.any():
            pytest.fail(f"{what}: duplicate keys in the {name} card:\n{frame[duplicated]}", False)
    both = expected.merge(got, on=keys, how="outer", suffixes=("_exp", "_got"), indicator=True)
    lonely = both[both["_merge"] != "both"]
    if not lonely.empty:
        pytest.fail(
            f"{what}: rows only in one card ({len(lonely)}):\n"
            f"{lonely[[*keys, '_merge']].head(SHOW).to_string()}",
            False,
        )
    return both


def _report(problems, both, keys, column, bad, exp, got) -> None:
    idx = np.flatnonzero(bad)
    if len(idx):
        show = both.iloc[idx[:SHOW]][keys].copy()
        show["expected"], show["got"] = exp[idx[:SHOW]], got[idx[:SHOW]]
        problems.append(f"{column}: {len(idx)} rows differ; first ones:\n{show.to_string()}")


def assert_long_matches(card, expected, groups: list[str]) -> None:
    got, exp = _keyed(card.to_pandas(), groups), _keyed(expected.to_pandas(), groups)
    assert list(got.columns) == list(exp.columns)
    keys = ["period_start", *groups, "kpi"]
    both = _paired(got, exp, keys, "the long table")
    problems: list[str] = []
    units = both["unit_got"].astype(object) != both["unit_exp"].astype(object)
    _report(
        problems,
        both,
        keys,
        "unit",
        units.to_numpy(),
        both["unit_exp"].to_numpy(),
        both["unit_got"].to_numpy(),
    )
    quantile = both["kpi"].map(_is_quantile).to_numpy(dtype=bool)
    count = (both["unit_exp"] == "count").to_numpy(dtype=bool)
    for column in ("value", "numerator", "denominator", "ci_low", "ci_high"):
        g, e = _numbers(both, f"{column}_got"), _numbers(both, f"{column}_exp")
        same_null = np.isnan(g) == np.isnan(e)
        close = np.isclose(g, e, rtol=RTOL, atol=ATOL, equal_nan=True)
        if column in ("value", "ci_low", "ci_high"):  # quantiles and their intervals
            sketched = np.isclose(g, e, rtol=QUANTILE_RTOL, atol=0.0, equal_nan=True)
            close = np.where(quantile, sketched, close)
        exact = (g == e) | (np.isnan(g) & np.isnan(e))
        close = np.where(count, exact, close)
        _report(problems, both, keys, column, ~(close & same_null), e, g)
    _fail(problems, "the long table")


def _band_edges(config: dict, kpi: str) -> list[float]:
    band = (config.get("bands") or {}).get(kpi) or {}
    return [float(v) for k, v in band.items() if k.endswith(("_min", "_max"))]


def _near_edge(value: float, edges: list[float]) -> bool:
    return any(abs(value - edge) <= QUANTILE_RTOL * abs(edge) for edge in edges)


def assert_bands_match(card, expected, groups: list[str]) -> None:
    got, exp = _keyed(card.bands(), groups), _keyed(expected.bands(), groups)
    assert list(got.columns) == list(exp.columns)
    keys = ["period_start", *groups, "kpi"]
    both = _paired(got, exp, keys, "bands()")
    problems: list[str] = []
    quantile = both["kpi"].map(_is_quantile).to_numpy(dtype=bool)
    for column in ("value", "baseline"):
        g, e = _numbers(both, f"{column}_got"), _numbers(both, f"{column}_exp")
        tolerance = np.where(quantile, QUANTILE_RTOL, RTOL)
        close = np.isclose(g, e, rtol=0.0, atol=ATOL) | (np.abs(g - e) <= tolerance * np.abs(e))
        close |= np.isnan(g) & np.isnan(e)
        _report(problems, both, keys, column, ~close, e, g)
    # delta = value - baseline: of two sketched quantiles, its error is relative to them
    g, e = _numbers(both, "delta_vs_baseline_got"), _numbers(both, "delta_vs_baseline_exp")
    scale = np.abs(_numbers(both, "value_exp")) + np.abs(_numbers(both, "baseline_exp"))
    tolerance = np.where(quantile, QUANTILE_RTOL * scale, RTOL * scale + ATOL)
    close = (np.abs(g - e) <= tolerance) | (np.isnan(g) & np.isnan(e))
    _report(problems, both, keys, "delta_vs_baseline", ~close, e, g)
    # a band may differ only for a quantile KPI within 1% of one of its band edges
    config = expected.config
    config = config.to_dict() if hasattr(config, "to_dict") else dict(config)
    value = _numbers(both, "value_exp")
    differs = []
    for i, (kpi, b_got, b_exp) in enumerate(zip(both["kpi"], both["band_got"], both["band_exp"])):
        if _label(b_got) == _label(b_exp):
            differs.append(False)
            continue
        differs.append(not (_is_quantile(kpi) and _near_edge(value[i], _band_edges(config, kpi))))
    _report(
        problems,
        both,
        keys,
        "band",
        np.array(differs, dtype=bool),
        both["band_exp"].to_numpy(),
        both["band_got"].to_numpy(),
    )
    for column in ("owner", "expected"):
        bad = [_label(a) != _label(b) for a, b in zip(both[f"{column}_got"], both[f"{column}_exp"])]
        _report(
            problems,
            both,
            keys,
            column,
            np.array(bad, dtype=bool),
            both[f"{column}_exp"].to_numpy(),
            both[f"{column}_got"].to_numpy(),
        )
    _fail(problems, "bands()")


def _evidence_key(evidence: dict) -> str:
    return repr(sorted((k, v) for k, v in evidence.items() if not isinstance(v, float)))


def assert_diagnostics_match(card, expected, groups: list[str]) -> None:
    # No default rule reads a quantile KPI, so no fired rule may differ; with a rule on a
    # sketched quantile, a value within 1% of its threshold could legitimately flip.
    for name, rule in sk.default_config()["rules"].items():
        text = " ".join(rule.get("when") or [])
        assert not any(q in text for q in QUANTILE_KPIS), name
    got, exp = _keyed(card.diagnose(), groups), _keyed(expected.diagnose(), groups)
    assert list(got.columns) == list(exp.columns)
    for frame in (got, exp):
        frame["evidence_key"] = [_evidence_key(e) for e in frame["evidence"]]
    keys = ["period_start", *groups, "rule", "evidence_key"]
    both = _paired(got, exp, keys, "diagnose()")
    problems = []
    for _, row in both.iterrows():
        for text in ("symptom", "likely_cause", "action", "validation_metric", "owner"):
            if row[f"{text}_got"] != row[f"{text}_exp"]:
                problems.append(f"{row['rule']} {text}: {row[f'{text}_got']!r}")
        g, e = row["evidence_got"], row["evidence_exp"]
        numbers = {k: v for k, v in e.items() if isinstance(v, float)}
        for k, v in numbers.items():
            if not np.isclose(g.get(k, np.nan), v, rtol=RTOL, atol=ATOL, equal_nan=True):
                problems.append(f"{row['period_start']} {row['rule']} evidence {k}: {g} != {e}")
    _fail(problems[:SHOW], "diagnose()")


def assert_same_card(card, expected, group_by=None) -> None:
    groups = [group_by] if isinstance(group_by, str) else list(group_by or [])
    assert isinstance(card, sk.Scorecard)
    assert card.as_of == expected.as_of
    assert card.kpis == expected.kpis
    assert card.skipped == expected.skipped
    assert list(card.group_by) == groups
    audit_columns = ["table", "rows_read", "rows_used", "rows_dropped"]
    pd.testing.assert_frame_equal(
        card.row_audit[audit_columns].sort_values("table").reset_index(drop=True),
        expected.row_audit[audit_columns].sort_values("table").reset_index(drop=True),
        check_dtype=False,
    )
    assert_long_matches(card, expected, groups)
    assert_bands_match(card, expected, groups)
    assert_diagnostics_match(card, expected, groups)


# --------------------------------------------------------------------------------------
# the large runs: both engines, integer and string ids, with and without group_by
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("group_by", [None, ["channel"]], ids=["total", "by_channel"])
@pytest.mark.parametrize("ids", ["int", "str"])
@pytest.mark.parametrize("engine", ["dask", "spark"])
def test_distributed_card_matches_local(engine, ids, group_by, datasets, request):
    data = datasets[ids]
    assert data.contacts["customer_id"].isna().any() and data.orders["customer_id"].isna().any()
    card = _run(
        engine,
        request,
        data.contacts_path,
        data.orders_path,
        sessions=data.sessions,
        events=EVENTS,
        group_by=group_by,
    )
    assert_same_card(card, data.local(group_by=group_by), group_by)


# --------------------------------------------------------------------------------------
# options, the as_of rule, errors
# --------------------------------------------------------------------------------------
ENGINES = pytest.mark.parametrize("engine", ["dask", "spark"])


@ENGINES
@pytest.mark.parametrize("form", ["per_table", "flat"])
def test_column_renaming(engine, form, small, request, tmp_path):
    contacts, orders, sessions = small
    contacts = contacts.rename(
        columns={"contact_id": "ticket", "customer_id": "cust", "created_at": "opened"}
    )
    orders = orders.rename(columns={"order_id": "oid", "customer_id": "cust", "created_at": "ts"})
    if form == "per_table":
        columns = {
            "contacts": {"contact_id": "ticket", "customer_id": "cust", "created_at": "opened"},
            "orders": {"order_id": "oid", "customer_id": "cust", "created_at": "ts"},
        }
    else:  # flat: each entry applies to every table holding the column
        orders = orders.rename(columns={"ts": "opened"})
        columns = {"contact_id": "ticket", "order_id": "oid", "customer_id": "cust"}
        columns["created_at"] = "opened"
    card = _run_frames(
        engine, request, tmp_path, contacts, orders, sessions=sessions, columns=columns
    )
    expected = sk.scorecard(contacts, orders, sessions, columns=columns)
    assert_same_card(card, expected)


@ENGINES
def test_naive_timestamps_read_as_utc(engine, small, request, tmp_path):
    contacts, orders, _ = small
    contacts, orders = contacts.copy(), orders.copy()
    for frame in (contacts, orders):
        frame["created_at"] = frame["created_at"].dt.tz_localize(None)
    card = _run_frames(engine, request, tmp_path, contacts, orders, by="day", tz="Europe/Berlin")
    expected = sk.scorecard(contacts, orders, by="day", tz="Europe/Berlin")
    assert_same_card(card, expected)


def test_dask_default_read_parquet_float_ids(small, dask_client, tmp_path):
    """Issue 16 item 15: Dask's default read_parquet of a nullable integer id column
    without pandas metadata gives float64 ids (NaN for anonymous rows); they are read as
    the integers they hold."""
    import dask.dataframe as dd
    import pyarrow as pa
    import pyarrow.parquet as pq
    import supportkpi.dask as skd

    contacts, orders, _ = small
    assert contacts["customer_id"].isna().any()
    paths = {}
    for name, frame in (("contacts", contacts), ("orders", orders)):
        table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata()
        (tmp_path / name).mkdir()
        pq.write_table(table, tmp_path / name / "part-0.parquet")
        paths[name] = str(tmp_path / name)
    floats = dd.read_parquet(paths["contacts"])
    assert floats.partitions[0].compute()["customer_id"].dtype == np.float64
    card = skd.scorecard(floats, dd.read_parquet(paths["orders"]), npartitions=PARTS)
    assert_same_card(card, sk.scorecard(contacts, orders))


@ENGINES
def test_explicit_as_of_is_used(engine, small, request, tmp_path):
    contacts, orders, _ = small
    as_of = pd.Timestamp("2024-04-10 12:00", tz="UTC")  # earlier than the data
    card = _run_frames(engine, request, tmp_path, contacts, orders, as_of=as_of, group_by="intent")
    assert card.as_of == as_of
    assert_same_card(card, sk.scorecard(contacts, orders, as_of=as_of, group_by="intent"), "intent")


@ENGINES
def test_drop_invalid_rows_as_of_of_valid_rows(engine, small, request, tmp_path):
    """A dropped row does not count towards as_of (as in sk.scorecard): the latest contact,
    made invalid here, must not set the global as_of."""
    contacts, orders, _ = small
    contacts, orders = contacts.copy(), orders.copy()
    latest = contacts["created_at"].idxmax()
    contacts.loc[latest, "created_at"] += pd.Timedelta(days=3)
    contacts.loc[latest, "csat"] = 9.0
    contacts.loc[contacts.index[:5], "handle_seconds"] = -1.0
    orders.loc[orders.index[:3], "revenue"] = np.nan
    expected = sk.scorecard(contacts, orders, on_invalid="drop")
    assert expected.as_of < contacts.loc[latest, "created_at"]
    card = _run_frames(engine, request, tmp_path, contacts, orders, on_invalid="drop")
    assert_same_card(card, expected)
    dropped = card.row_audit.set_index("table")["rows_dropped"]
    assert dropped["contacts"] == 6 and dropped["orders"] == 3


# Issue 18: calendars, SLA policies and reopens travel through the partial states.
BUSINESS_CONFIG = {
    "calendars": {
        "default": {
            "tz": "America/New_York",
            "week": {d: ["09:00-17:00"] for d in ["mon", "tue", "wed", "thu", "fri"]},
            "holidays": ["2024-05-27", "2024-07-04"],
            "versions": [{"from": "2024-05-01", "week": {"sat": ["10:00-14:00"]}}],
        },
        "london": {"tz": "Europe/London", "week": {"fri": ["22:00-06:00"], "sat": ["09:00-12:00"]}},
    },
    "sla": [
        {
            "name": "urgent",
            "match": {"priority": "urgent"},
            "first_response": "1h",
            "resolution": "8h",
            "business_hours": True,
        },
        {"name": "chat", "match": {"channel": "chat"}, "first_response": "5m"},
    ],
}


def _with_business_columns(contacts: pd.DataFrame, seed: int) -> pd.DataFrame:
    """calendar (null = default), priority, reopens and a first resolution between creation
    and the final one (earlier for a reopened contact)."""
    rng = np.random.default_rng(seed)
    n = len(contacts)
    reopens = rng.choice([0, 0, 0, 1, 2], n)
    share = np.where(reopens > 0, rng.uniform(0.1, 0.9, n), 1.0)
    first_resolved = contacts["created_at"] + (
        contacts["resolved_at"] - contacts["created_at"]
    ) * pd.Series(share, index=contacts.index)
    return contacts.assign(
        calendar=rng.choice(np.array(["default", "london", None], dtype=object), n),
        priority=rng.choice(np.array(["urgent", "normal", None], dtype=object), n),
        reopens=reopens,
        first_resolved_at=first_resolved.dt.floor("us"),
    )


@ENGINES
@pytest.mark.parametrize("group_by", [None, ["channel"]], ids=["total", "by_channel"])
def test_business_time_and_slas_match_local(engine, group_by, small, request, tmp_path):
    contacts, orders, _ = small
    contacts = _with_business_columns(contacts, seed=74)
    options = {"config": BUSINESS_CONFIG, "group_by": group_by}
    expected = sk.scorecard(contacts, orders, **options)
    business = {
        "frt_business_median",
        "resolution_time_business_p90",
        "backlog_age_business_hours",
        "sla_first_response_rate",
        "sla_resolution_breaches",
        "sla_pending",
        "reopen_rate",
        "first_resolution_time_median",
    }
    assert business <= set(expected.kpis), sorted(business - set(expected.kpis))
    card = _run_frames(engine, request, tmp_path, contacts, orders, **options)
    assert_same_card(card, expected, group_by)


@ENGINES
def test_many_buckets_are_pre_merged(engine, small, request, tmp_path):
    """With more buckets than the client should collect, the workers combine the states
    (sk.combine) first; the card is the same."""
    contacts, orders, sessions = small
    card = _run_frames(
        engine, request, tmp_path, contacts, orders, buckets=30, sessions=sessions, by="day"
    )
    assert_same_card(card, sk.scorecard(contacts, orders, sessions, by="day"))


def test_dask_tree_of_combines():
    pytest.importorskip("dask", reason='Dask is not installed (pip install ".[dask]")')
    import dask
    import supportkpi.dask as skd

    leaves = [dask.delayed(bytes)(i) for i in range(30)]
    assert len(skd._tree(dask, leaves)) == 4  # 30 -> 4 combines of up to 8
    assert len(skd._tree(dask, leaves[:8])) == 8  # few enough: straight to the client


def test_spark_states_are_pre_merged_on_executors(small, spark, tmp_path):
    import supportkpi._scale as scale
    import supportkpi.spark as sks

    contacts, orders, _ = small
    F, T = sks._import_spark()
    frames = {}
    for name, frame, row_id in (
        ("contacts", contacts, "contact_id"),
        ("orders", orders, "order_id"),
    ):
        spark_frame = spark.read.parquet(_write_parts(frame, tmp_path / name))
        keys = scale.key_columns(None, name, spark_frame.columns)
        frames[name] = sks._bucketed(F, T, spark_frame, keys, row_id, 30)
    as_of = max(contacts["created_at"].max(), orders["created_at"].max())

    def job(c, o):
        return sk.partial(c, o, as_of=as_of)

    per_bucket = sks._run_per_bucket(F, T, frames["contacts"], frames["orders"], job)
    combined = sks._run_per_bucket(F, T, frames["contacts"], frames["orders"], job, combine=30)
    assert len(per_bucket) == 30 and len(combined) == 5  # groups of ceil(sqrt(30)) = 6
    merged = [sk.merge([bytes(r["state"]) for r in rows]) for rows in (per_bucket, combined)]
    pd.testing.assert_frame_equal(merged[0].to_pandas(), merged[1].to_pandas())


@ENGINES
def test_worker_errors_arrive_with_their_class(engine, small, request, tmp_path):
    contacts, orders, _ = small
    contacts = contacts.copy()
    contacts.loc[contacts.index[7], "csat"] = 9.0
    # 12 buckets: on Spark the failing bucket's row also passes the executors' pre-merge
    with pytest.raises(sk.DataError, match=r"contacts\.csat.*\(id \d+\): csat=9"):
        _run_frames(engine, request, tmp_path, contacts, orders, buckets=12)


@ENGINES
def test_bad_options_fail_before_any_work(engine, request):
    module = _engine_module(engine, request)
    with pytest.raises(TypeError, match="bogus"):
        module.scorecard(None, None, bogus=1)


def _engine_module(engine: str, request):
    if engine == "dask":
        pytest.importorskip("dask.dataframe", reason='Dask is not installed (".[dask]")')
        import supportkpi.dask as module
    else:
        pytest.importorskip("pyspark", reason='PySpark is not installed (".[spark]")')
        import supportkpi.spark as module
    return module


def test_missing_key_column_is_a_schema_error(small, dask_client):
    import dask.dataframe as dd
    import supportkpi.dask as skd

    contacts, orders, _ = small
    contacts = dd.from_pandas(contacts.drop(columns="customer_id"), npartitions=2)
    with pytest.raises(sk.SchemaError, match="contacts: missing required column 'customer_id'"):
        skd.scorecard(contacts, dd.from_pandas(orders, npartitions=2))


@pytest.mark.parametrize(
    ("module", "blocked", "extra"),
    [("supportkpi.dask", "dask", "dask"), ("supportkpi.spark", "pyspark", "spark")],
)
def test_missing_engine_names_the_extra(module, blocked, extra, monkeypatch):
    engine = importlib.import_module(module)
    monkeypatch.setitem(sys.modules, blocked, None)  # `import dask...` now fails
    with pytest.raises(ImportError, match=rf"pip install \"supportkpi\[{extra}\]\""):
        engine.scorecard(pd.DataFrame(), pd.DataFrame())


# --------------------------------------------------------------------------------------
# Dask: partitions line up; pandas input
# --------------------------------------------------------------------------------------
def test_dask_buckets_line_up(datasets, dask_client):
    """Partition i of both tables holds bucket i: every customer's contacts and orders
    meet in one partition pair, and anonymous rows spread over the partitions."""
    import dask
    import supportkpi._scale as scale
    import supportkpi.dask as skd

    data = datasets["str"]
    contacts, orders = _dask_frames(data.contacts_path, data.orders_path)
    n = 5
    c_keys = scale.key_columns(None, "contacts", contacts.columns)
    o_keys = scale.key_columns(None, "orders", orders.columns)
    parts = dask.compute(
        *skd._by_bucket(contacts, c_keys, "contact_id", n),
        *skd._by_bucket(orders, o_keys, "order_id", n),
    )
    c_parts, o_parts = parts[:n], parts[n:]
    assert sum(map(len, c_parts)) == len(data.contacts)
    assert sum(map(len, o_parts)) == len(data.orders)
    home: dict[str, int] = {}
    anonymous = []
    for i, (c, o) in enumerate(zip(c_parts, o_parts)):
        assert set(c.index) == {i} and set(o.index) == {i}
        anonymous.append(int(c["customer_id"].isna().sum()))
        for customer in pd.concat([c["customer_id"], o["customer_id"]]).dropna().unique():
            assert home.setdefault(customer, i) == i, customer
    assert sum(anonymous) == data.contacts["customer_id"].isna().sum()
    assert min(anonymous) > 0.5 * sum(anonymous) / n  # spread, not piled in one bucket
    assert set(home) == set(data.contacts["customer_id"].dropna()) | set(
        data.orders["customer_id"].dropna()
    )
    # and the check that guards the merge refuses a bucket seen in two pairs
    empty = np.array([], dtype=np.int64)
    skd._check_alignment([(np.array([0]), np.array([0])), (np.array([1]), empty)])
    with pytest.raises(RuntimeError, match="not aligned"):
        skd._check_alignment([(np.array([0]), empty), (empty, np.array([0]))])


def test_dask_takes_pandas_and_dask_small_tables(dask_client):
    import dask.dataframe as dd
    import supportkpi.dask as skd

    contacts, orders, sessions = make_tables(3_000, seed=74)
    # Python bools with nulls in an object column: Dask would make them strings
    contacts["escalated"] = (
        contacts["escalated"].astype(object).where(contacts["escalated"].notna(), None)
    )
    # (Dask turns object columns into strings: a session date as a timestamp, not a date)
    sessions["date"] = pd.to_datetime(sessions["date"])
    card = skd.scorecard(
        contacts,
        orders,
        sessions=dd.from_pandas(sessions, npartitions=2),
        events=EVENTS,
        npartitions=3,
        by="month",
    )
    assert_same_card(card, sk.scorecard(contacts, orders, sessions, events=EVENTS, by="month"))


# --------------------------------------------------------------------------------------
# Spark: the Spark 3.5 path (applyInPandas, toPandas), Spark small tables
# --------------------------------------------------------------------------------------
# PySpark 4.3's toPandas passes copy= to pandas 3, which deprecates it.
@pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")
def test_spark_pandas_path_and_spark_small_tables(small, spark, monkeypatch, tmp_path):
    """Without applyInArrow / toArrow (Spark < 4) the cogroups travel as pandas: nullable
    integer ids and TIMESTAMP columns (naive local times in pandas) must survive that."""
    import supportkpi.spark as sks

    monkeypatch.setattr(sks, "_PREFER_ARROW", False)
    contacts, orders, sessions = small
    c_path = _write_parts(contacts, tmp_path / "contacts")
    o_path = _write_parts(orders, tmp_path / "orders")
    card = sks.scorecard(
        spark.read.parquet(c_path),
        spark.read.parquet(o_path),
        sessions=spark.createDataFrame(sessions),
        events=spark.createDataFrame(EVENTS),
        buckets=3,
        group_by="channel",
    )
    expected = sk.scorecard(contacts, orders, sessions, events=EVENTS, group_by="channel")
    assert_same_card(card, expected, "channel")


def test_spark_anonymous_rows_spread(small, spark):
    import supportkpi._scale as scale
    import supportkpi.spark as sks
    from pyspark.sql import functions as F

    contacts, _, _ = small
    frame = spark.createDataFrame(contacts[["contact_id", "customer_id", "created_at"]])
    keys = scale.key_columns(None, "contacts", frame.columns)
    T = sks._import_spark()[1]
    bucketed = sks._bucketed(F, T, frame, keys, "contact_id", PARTS)
    counts = bucketed.where(F.col("customer_id").isNull()).groupBy(scale.BUCKET).count().collect()
    assert len(counts) == PARTS
    per_customer = bucketed.groupBy("customer_id").agg(F.countDistinct(scale.BUCKET).alias("n"))
    assert per_customer.where("customer_id IS NOT NULL AND n > 1").count() == 0


# --------------------------------------------------------------------------------------
# the docstring examples run
# --------------------------------------------------------------------------------------
def _run_doctests(module, globs=None) -> None:
    finder, runner = doctest.DocTestFinder(), doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    tests = [t for t in finder.find(module, globs=globs or {}) if t.examples]
    assert tests, f"{module.__name__} has no examples"
    for test in tests:
        test.globs.update(globs or {})
        runner.run(test)
    assert runner.failures == 0, f"{runner.failures} failing examples in {module.__name__}"


# The example wraps pandas frames: the data travel inside the graph, which the cluster's
# client finds large (12 MiB).
@pytest.mark.filterwarnings("ignore:Sending large graph")
def test_dask_docstring_example(dask_client):
    import supportkpi.dask as skd

    _run_doctests(skd)


def test_spark_docstring_example(spark):
    import supportkpi.spark as sks

    _run_doctests(sks, {"spark": spark})


def test_extras_are_declared():
    import tomllib
    from pathlib import Path

    pyproject = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    extras = pyproject["project"]["optional-dependencies"]
    assert any(r.startswith("dask[dataframe,distributed]") for r in extras["dask"])
    assert any(r.startswith("pyspark") for r in extras["spark"])
    core = " ".join(pyproject["project"]["dependencies"])
    assert "dask" not in core and "pyspark" not in core
    assert importlib.util.find_spec("supportkpi.dask") and importlib.util.find_spec(
        "supportkpi.spark"
    )
