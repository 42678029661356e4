"""Property tests: the numbers hold under any slicing of the input (issue 6).

On small hypothesis-generated contacts / orders tables (few customers, timestamps on a coarse
12-hour grid so that ties and exact window edges are common, nullable intent / handled_by /
resolved_at, integer or string ids):

* the weekly scorecard does not change when rows are shuffled or when the tables arrive as
  many tiny record batches;
* ``sk.enrich_contacts`` equals a brute-force O(n^2) reading of SPEC §3 written here;
* RAYON_NUM_THREADS=1 and =2 give identical outputs (two subprocesses);
* splitting the customers into k disjoint partitions (anonymous rows anywhere), computing a
  partial state per partition (``sk.partial``) and merging them (``sk.merge``, in any
  order, pre-combined or not) gives the unsplit scorecard: exactly, except the quantile
  KPIs, which travel as DDSketches and must stay within their 0.5% accuracy.

The number of examples per property comes from SUPPORTKPI_HYPOTHESIS_EXAMPLES (default 60,
so this file runs in well under a minute). The slow, thorough run is:

    SUPPORTKPI_HYPOTHESIS_EXAMPLES=10000 python -m pytest tests/test_properties.py
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import supportkpi as sk
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spec_tables import QUANTILE_KPIS

MAX_EXAMPLES = int(os.environ.get("SUPPORTKPI_HYPOTHESIS_EXAMPLES", "60"))
SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

US = 1
HOUR = 3_600_000_000 * US
DAY = 24 * HOUR
GRID = 12 * HOUR  # 7 d = 14 steps, 14 d = 28 steps, 48 h = 4 steps: edges are hit often
# Monday 2024-03-04 00:00 UTC minus two days, so the data straddle week boundaries
BASE = int(pd.Timestamp("2024-03-02 00:00", tz="UTC").value // 1000)

RECOVERY_W = 7 * DAY
REPEAT_W = 14 * DAY
RECONTACT_W = 48 * HOUR

INTENTS = [None, "returns", "order_tracking", "gift_wrap"]
HANDLED_BY = [None, "self_service", "ai", "human"]
PREVENTABLE_INTENTS = {
    "order_tracking",
    "shipping_info",
    "promo_confusion",
    "returns",
    "product_question",
}
TS = pa.timestamp("us", tz="UTC")


# --------------------------------------------------------------------------------------
# strategies
# --------------------------------------------------------------------------------------
def _id_array(values: list[int], kind: str) -> pa.Array:
    if kind == "int":
        return pa.array(values, pa.int64())
    # string ids whose lexicographic order differs from the numeric one ("c10" < "c9")
    return pa.array([None if v is None else f"c{v}" for v in values], pa.string())


@st.composite
def tables(draw, min_contacts: int = 1, max_contacts: int = 14, max_orders: int = 14):
    """(contacts, orders) as pyarrow Tables, plus the id kind and whether intent exists."""
    kind = draw(st.sampled_from(["int", "str"]))
    with_intent = draw(st.booleans())
    n_c = draw(st.integers(min_contacts, max_contacts))
    n_o = draw(st.integers(0, max_orders))
    cust = st.one_of(st.none(), st.integers(1, 3))  # few customers, some anonymous
    step = st.integers(0, 40)

    cids = draw(st.lists(st.integers(-20, 60), min_size=n_c, max_size=n_c, unique=True))
    c_cust = draw(st.lists(cust, min_size=n_c, max_size=n_c))
    c_t = [BASE + k * GRID for k in draw(st.lists(step, min_size=n_c, max_size=n_c))]
    res = draw(st.lists(st.one_of(st.none(), st.integers(0, 8)), min_size=n_c, max_size=n_c))
    resolved = [None if r is None else t + r * GRID for t, r in zip(c_t, res)]
    frt = draw(st.lists(st.one_of(st.none(), st.integers(0, 3)), min_size=n_c, max_size=n_c))
    first_resp = [None if f is None else t + f * HOUR for t, f in zip(c_t, frt)]
    intent = draw(st.lists(st.sampled_from(INTENTS), min_size=n_c, max_size=n_c))
    hb = draw(st.lists(st.sampled_from(HANDLED_BY), min_size=n_c, max_size=n_c))
    esc = draw(st.lists(st.sampled_from([None, False, True]), min_size=n_c, max_size=n_c))
    csat = draw(
        st.lists(
            st.one_of(st.none(), st.sampled_from([1.0, 2.0, 4.0, 5.0])), min_size=n_c, max_size=n_c
        )
    )
    cost = draw(
        st.lists(
            st.one_of(st.none(), st.sampled_from([0.1, 0.7, 2.35, 10.0])),
            min_size=n_c,
            max_size=n_c,
        )
    )
    touches = draw(st.lists(st.one_of(st.none(), st.integers(0, 3)), min_size=n_c, max_size=n_c))

    cols = {
        "contact_id": _id_array(cids, kind),
        "customer_id": _id_array(c_cust, kind),
        "created_at": pa.array(c_t, TS),
        "handled_by": pa.array(hb, pa.string()),
        "escalated": pa.array(esc, pa.bool_()),
        "first_response_at": pa.array(first_resp, TS),
        "resolved_at": pa.array(resolved, TS),
        "touches": pa.array(touches, pa.int64()),
        "csat": pa.array(csat, pa.float64()),
        "cost": pa.array(cost, pa.float64()),
    }
    if with_intent:
        cols["intent"] = pa.array(intent, pa.string())
    contacts = pa.table(cols)

    oids = draw(st.lists(st.integers(0, 10_000), min_size=n_o, max_size=n_o, unique=True))
    o_cust = draw(st.lists(cust, min_size=n_o, max_size=n_o))
    o_t = [BASE + k * GRID for k in draw(st.lists(step, min_size=n_o, max_size=n_o))]
    revenue = draw(
        st.lists(st.sampled_from([0.0, 0.1, 19.99, 60.0, 1234.5]), min_size=n_o, max_size=n_o)
    )
    orders = pa.table(
        {
            "order_id": _id_array(oids, kind),
            "customer_id": _id_array(o_cust, kind),
            "created_at": pa.array(o_t, TS),
            "revenue": pa.array(revenue, pa.float64()),
        }
    )
    return contacts, orders


def _shuffle(table: pa.Table, perm: list[int]) -> pa.Table:
    return table.take(pa.array(perm, pa.int64()))


def _chunk(table: pa.Table, sizes: list[int]) -> pa.Table:
    """The same rows as many tiny record batches (sizes cycle; zero-length batches too)."""
    batches = []
    off = 0
    k = 0
    while off < table.num_rows:
        size = sizes[k % len(sizes)]
        k += 1
        piece = table.slice(off, size).combine_chunks()
        batches.append(
            pa.RecordBatch.from_arrays(
                [piece.column(i).combine_chunks() for i in range(piece.num_columns)],
                schema=table.schema,
            )
        )
        off += size
        if k > 10 * table.num_rows + 10:  # only zero sizes: finish with the rest
            sizes = [1]
    return pa.Table.from_batches(batches, schema=table.schema)


# --------------------------------------------------------------------------------------
# scorecard invariance
# --------------------------------------------------------------------------------------
def _card(contacts, orders) -> pd.DataFrame:
    df = sk.scorecard(contacts, orders, by="week").to_pandas()
    return df.sort_values(["period_start", "kpi"], kind="stable").reset_index(drop=True)


def assert_same_card(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == list(want.columns)
    assert got["period_start"].tolist() == want["period_start"].tolist()
    assert got["kpi"].tolist() == want["kpi"].tolist()
    assert got["unit"].tolist() == want["unit"].tolist()
    # count KPIs must match exactly (a "rate" such as cost_per_resolved_vs_baseline may carry
    # float sums in its numerator, so only unit == "count" is held to exact equality)
    exact = (want["unit"] == "count").to_numpy()
    for col in ("value", "numerator", "denominator"):
        g = got[col].to_numpy(dtype="float64")
        w = want[col].to_numpy(dtype="float64")
        np.testing.assert_array_equal(g[exact], w[exact], err_msg=col)
        # sums, means and quantiles of floats: the summation order may differ between a
        # shuffled / chunked input and the original, which can change the last bits only
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=0, equal_nan=True, err_msg=col)


@SETTINGS
@given(
    data=tables(),
    seed=st.integers(0, 2**32 - 1),
)
def test_scorecard_invariant_under_shuffling(data, seed):
    contacts, orders = data
    rng = np.random.default_rng(seed)
    want = _card(contacts, orders)
    got = _card(
        _shuffle(contacts, rng.permutation(contacts.num_rows).tolist()),
        _shuffle(orders, rng.permutation(orders.num_rows).tolist()),
    )
    assert_same_card(got, want)


@SETTINGS
@given(
    data=tables(),
    c_sizes=st.lists(st.integers(0, 3), min_size=1, max_size=6),
    o_sizes=st.lists(st.integers(0, 3), min_size=1, max_size=6),
)
def test_scorecard_invariant_under_chunking(data, c_sizes, o_sizes):
    contacts, orders = data
    want = _card(contacts, orders)
    cc, oc = _chunk(contacts, c_sizes), _chunk(orders, o_sizes)
    assert cc.num_rows == contacts.num_rows and oc.num_rows == orders.num_rows
    assert_same_card(_card(cc, oc), want)


# --------------------------------------------------------------------------------------
# partition and merge
# --------------------------------------------------------------------------------------


@SETTINGS
@given(
    data=tables(),
    k=st.integers(1, 4),
    assignment=st.lists(st.integers(0, 3), min_size=64, max_size=64),
    group_by=st.sampled_from([None, "handled_by"]),
    order_seed=st.integers(0, 2**32 - 1),
    combine_first=st.booleans(),
)
def test_partition_merge_equals_the_unsplit_scorecard(
    data, k, assignment, group_by, order_seed, combine_first
):
    contacts, orders = data
    # One as_of for every partition: the latest created_at of all the rows.
    latest = [pc.max(t["created_at"]).as_py() for t in (contacts, orders) if t.num_rows]
    as_of_ts = pd.Timestamp(max(latest))

    def part_of(table: pa.Table) -> np.ndarray:
        # A customer's rows share a partition; anonymous rows go by their row position.
        customers = table["customer_id"].to_pylist()
        return np.array(
            [
                assignment[(zlib.crc32(str(c).encode()) if c is not None else 7 * i + 3) % 64] % k
                for i, c in enumerate(customers)
            ],
            dtype=np.int64,
        )

    c_part, o_part = part_of(contacts), part_of(orders)
    states = [
        sk.partial(
            contacts.filter(pa.array(c_part == i)),
            orders.filter(pa.array(o_part == i)),
            as_of=as_of_ts,
            group_by=group_by,
        )
        for i in range(k)
    ]
    rng = np.random.default_rng(order_seed)
    states = [states[i] for i in rng.permutation(k)]
    if combine_first and k > 1:
        states = [sk.combine(states[: k // 2 + 1]), *states[k // 2 + 1 :]]
    got = sk.merge(states).to_pandas()
    want = sk.scorecard(contacts, orders, as_of=as_of_ts, group_by=group_by).to_pandas()
    numbers = ("value", "numerator", "denominator", "ci_low", "ci_high")
    keys = [c for c in want.columns if c not in numbers]
    pd.testing.assert_frame_equal(got[keys], want[keys])
    sketched = want["kpi"].isin(QUANTILE_KPIS).to_numpy()
    exact = (want["unit"] == "count").to_numpy()
    for col in numbers:
        g = got[col].to_numpy(dtype="float64")
        w = want[col].to_numpy(dtype="float64")
        np.testing.assert_array_equal(g[exact], w[exact], err_msg=col)
        np.testing.assert_allclose(
            g[~sketched], w[~sketched], rtol=1e-12, atol=0, equal_nan=True, err_msg=col
        )
        np.testing.assert_allclose(
            g[sketched], w[sketched], rtol=0.005, atol=1e-12, equal_nan=True, err_msg=col
        )


# --------------------------------------------------------------------------------------
# enrich_contacts against a brute-force reading of SPEC §3
# --------------------------------------------------------------------------------------
def brute_force_enrich(contacts: pa.Table, orders: pa.Table) -> pd.DataFrame:
    """SPEC §3 applied literally: every contact x order and contact x contact pair."""
    c = contacts.to_pylist()
    o = orders.to_pylist()

    def us(ts):
        return None if ts is None else int(pd.Timestamp(ts).value // 1000)

    ct = [us(r["created_at"]) for r in c]
    cr = [us(r["resolved_at"]) for r in c]
    ot = [us(r["created_at"]) for r in o]
    with_intent = "intent" in contacts.column_names
    as_of = max(ct + ot)

    def key(i):
        """The issue key; None = never matches (null intent)."""
        if not with_intent:
            return ()
        v = c[i]["intent"]
        return None if v is None else (v,)

    def same_issue(i, j):
        cu_i, cu_j = c[i]["customer_id"], c[j]["customer_id"]
        if cu_i is None or cu_j is None or cu_i != cu_j:
            return False
        ki, kj = key(i), key(j)
        return ki is not None and kj is not None and ki == kj

    # attribution: each order to the latest contact strictly before it within W,
    # ties on created_at to the greatest contact_id (natural order of the id type)
    attributed_orders = [0] * len(c)
    attributed_revenue = [0.0] * len(c)
    for j, order in enumerate(o):
        if order["customer_id"] is None:
            continue
        best = None
        for i, contact in enumerate(c):
            if contact["customer_id"] != order["customer_id"]:
                continue
            if ct[i] < ot[j] <= ct[i] + RECOVERY_W:
                cand = (ct[i], contact["contact_id"])
                if best is None or cand > best[0]:
                    best = (cand, i)
        if best is not None:
            attributed_orders[best[1]] += 1
            attributed_revenue[best[1]] += order["revenue"]

    rows = []
    for i, contact in enumerate(c):
        hb = contact["handled_by"]
        esc = bool(contact["escalated"])  # null reads as false
        if hb is None:
            path = None
        elif hb == "human" or esc:
            path = "human"
        else:
            path = hb
        named = contact["customer_id"] is not None
        gaps = [
            ot[j] - ct[i]
            for j, order in enumerate(o)
            if named
            and order["customer_id"] == contact["customer_id"]
            and ct[i] < ot[j] <= ct[i] + RECOVERY_W
        ]
        repeat = any(
            j != i and same_issue(i, j) and ct[i] < ct[j] <= ct[i] + REPEAT_W for j in range(len(c))
        )
        if cr[i] is None:
            recontact = None
        else:
            recontact = any(
                j != i and same_issue(i, j) and cr[i] < ct[j] <= cr[i] + RECONTACT_W
                for j in range(len(c))
            )
        intent = contact.get("intent")
        rows.append(
            {
                "path": path,
                "resolved_without_human": cr[i] is not None and path in ("self_service", "ai"),
                "recovered_7d": bool(gaps),
                "recovery_mature": ct[i] + RECOVERY_W <= as_of,
                "hours_to_next_order": min(gaps) / 3.6e9 if gaps else math.nan,
                "attributed_orders": attributed_orders[i],
                "attributed_revenue": attributed_revenue[i],
                "repeat_14d": repeat,
                "repeat_mature": ct[i] + REPEAT_W <= as_of,
                "recontact_48h": recontact,
                "recontact_mature": cr[i] is not None and cr[i] + RECONTACT_W <= as_of,
                "preventable": intent in PREVENTABLE_INTENTS,
            }
        )
    return pd.DataFrame(rows)


def _norm(v):
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, np.generic):
        return v.item()
    return v


@SETTINGS
@given(data=tables(max_contacts=16, max_orders=16))
def test_enrich_equals_brute_force(data):
    contacts, orders = data
    got = sk.enrich_contacts(contacts, orders)
    want = brute_force_enrich(contacts, orders)
    assert len(got) == contacts.num_rows
    # one row per contact, in input order
    assert [_norm(v) for v in got["contact_id"]] == contacts.column("contact_id").to_pylist()
    for col in want.columns:
        g = [_norm(v) for v in got[col]]
        w = [_norm(v) for v in want[col]]
        if col in ("hours_to_next_order", "attributed_revenue"):
            assert len(g) == len(w)
            for a, b in zip(g, w):
                assert (a is None and b is None) or (
                    a is not None and b is not None and math.isclose(a, b, rel_tol=1e-12)
                ), (col, g, w)
        else:
            assert g == w, (col, g, w)


# --------------------------------------------------------------------------------------
# thread count does not change results
# --------------------------------------------------------------------------------------
_SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    import supportkpi as sk
    from datagen import make_tables

    out = sys.argv[1]
    for ids in ("int", "str"):
        contacts, orders, sessions = make_tables(3000, 11, ids=ids)
        card = sk.scorecard(contacts, orders, sessions=sessions, by="week", group_by="channel")
        card.to_pandas().to_parquet(f"{{out}}/card_{{ids}}.parquet")
        card.bands().to_json(f"{{out}}/bands_{{ids}}.json", orient="records", date_unit="us")
        sk.enrich_contacts(contacts, orders).to_parquet(f"{{out}}/enrich_{{ids}}.parquet")
        day = sk.scorecard(contacts, orders, by="day", tz="Europe/Berlin")
        day.to_pandas().to_parquet(f"{{out}}/day_{{ids}}.parquet")
    """
)


def _run_with_threads(n: int, out: Path) -> None:
    out.mkdir()
    script = _SCRIPT.format(tests=str(Path(__file__).resolve().parent))
    env = dict(os.environ, RAYON_NUM_THREADS=str(n))
    proc = subprocess.run(
        [sys.executable, "-c", script, str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr


def test_thread_count_does_not_change_results(tmp_path):
    one, two = tmp_path / "t1", tmp_path / "t2"
    _run_with_threads(1, one)
    _run_with_threads(2, two)
    names = sorted(p.name for p in one.iterdir())
    assert names == sorted(p.name for p in two.iterdir())
    assert len(names) == 8
    for name in names:
        if name.endswith(".json"):
            a = json.loads((one / name).read_text())
            b = json.loads((two / name).read_text())
            assert a == b, name
        else:
            a = pd.read_parquet(one / name)
            b = pd.read_parquet(two / name)
            # bit-for-bit: same inputs, same thread-independent result
            pd.testing.assert_frame_equal(a, b, check_exact=True)


@pytest.mark.parametrize("ids", ["int", "str"])
def test_brute_force_helper_on_a_planted_tie(ids):
    """The oracle itself: two contacts at the same instant, the order goes to the greater id."""
    kind = ids
    t0 = BASE
    contacts = pa.table(
        {
            "contact_id": _id_array([9, 10], kind),  # "c9" > "c10" as strings, 10 > 9 as ints
            "customer_id": _id_array([1, 1], kind),
            "created_at": pa.array([t0, t0], TS),
            "handled_by": pa.array([None, None], pa.string()),
            "escalated": pa.array([None, None], pa.bool_()),
            "first_response_at": pa.array([None, None], TS),
            "resolved_at": pa.array([None, None], TS),
            "touches": pa.array([None, None], pa.int64()),
            "csat": pa.array([None, None], pa.float64()),
            "cost": pa.array([None, None], pa.float64()),
        }
    )
    orders = pa.table(
        {
            "order_id": _id_array([1], kind),
            "customer_id": _id_array([1], kind),
            "created_at": pa.array([t0 + RECOVERY_W], TS),  # exactly at +7 d: included
            "revenue": pa.array([5.0], pa.float64()),
        }
    )
    want = brute_force_enrich(contacts, orders)
    winner = 1 if ids == "int" else 0
    assert want["attributed_orders"].tolist()[winner] == 1
    got = sk.enrich_contacts(contacts, orders)
    assert got["attributed_orders"].tolist() == want["attributed_orders"].tolist()
