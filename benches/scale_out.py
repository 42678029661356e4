"""Local vs Dask vs Spark: the same weekly scorecard from the same Parquet files.

    python benches/scale_out.py --data benches/data/1m [--repeats 2]

Each contender runs in its own process tree: ``local`` (``sk.scorecard`` on pyarrow
tables), ``dask`` (``supportkpi.dask.scorecard`` on ``dd.read_parquet`` with a
LocalCluster of 2 single-threaded worker processes) and ``spark``
(``supportkpi.spark.scorecard`` on ``spark.read.parquet`` in a ``local[2]`` session). Wall
time is the work from reading to the Scorecard (cluster or session start-up reported
apart); peak memory is the largest sum of RSS over the contender's whole process tree
(client, scheduler, workers, JVM, Python UDF workers), sampled every 50 ms. Before timing
counts, each engine's long table is checked against the local one (counts exact, other
values 1e-9, quantile KPIs 1%). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import psutil

_RUN = textwrap.dedent(
    """
    import json, sys, time
    data, engine, out = sys.argv[1], sys.argv[2], sys.argv[3]
    start = time.monotonic()
    import supportkpi as sk
    if engine == "local":
        import pyarrow.parquet as pq
        setup = time.monotonic() - start
        t0 = time.monotonic()
        contacts = pq.read_table(f"{data}/contacts.parquet")
        orders = pq.read_table(f"{data}/orders.parquet")
        card = sk.scorecard(contacts, orders, by="week")
    elif engine == "dask":
        import dask.dataframe as dd
        from dask.distributed import Client, LocalCluster
        import supportkpi.dask as skd
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
        setup = time.monotonic() - start
        t0 = time.monotonic()
        # pyarrow dtypes keep nullable integer ids integers (numpy ones turn them float).
        contacts = dd.read_parquet(f"{data}/contacts.parquet", dtype_backend="pyarrow")
        orders = dd.read_parquet(f"{data}/orders.parquet", dtype_backend="pyarrow")
        card = skd.scorecard(contacts, orders, by="week")
    else:
        from pyspark.sql import SparkSession
        import supportkpi.spark as sks
        spark = (SparkSession.builder.master("local[2]")
                 .config("spark.ui.enabled", "false")
                 .config("spark.sql.shuffle.partitions", "8")
                 .config("spark.driver.memory", "4g")
                 .getOrCreate())
        spark.sparkContext.setLogLevel("ERROR")
        setup = time.monotonic() - start
        t0 = time.monotonic()
        contacts = spark.read.parquet(f"{data}/contacts.parquet")
        orders = spark.read.parquet(f"{data}/orders.parquet")
        card = sks.scorecard(contacts, orders, by="week")
    work = time.monotonic() - t0
    card.to_pandas().to_parquet(out)
    print(json.dumps({"setup_s": setup, "work_s": work}))
    """
)

QUANTILE_KPIS = ("median", "p90")


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def run(engine: str, data: Path, out: Path) -> dict:
    proc = subprocess.Popen(
        [sys.executable, "-c", _RUN, str(data), engine, str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watched = psutil.Process(proc.pid)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            try:
                peak = max(peak, _tree_rss(watched))
            except psutil.NoSuchProcess:
                return
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    stdout, stderr = proc.communicate()
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{engine} failed:\n{stderr[-3000:]}")
    result = json.loads(stdout.strip().splitlines()[-1])
    result["peak_rss_gb"] = peak / 1e9
    return result


def check_agreement(local: Path, other: Path, engine: str) -> None:
    import numpy as np
    import pandas as pd

    a, b = pd.read_parquet(local), pd.read_parquet(other)
    keys = [c for c in a.columns if c not in ("value", "numerator", "denominator")]
    pd.testing.assert_frame_equal(a[keys], b[keys])
    sketched = a["kpi"].str.contains("|".join(QUANTILE_KPIS)).to_numpy()
    for column in ("value", "numerator", "denominator"):
        x = a[column].to_numpy(dtype="float64")
        y = b[column].to_numpy(dtype="float64")
        np.testing.assert_allclose(y[~sketched], x[~sketched], rtol=1e-9, equal_nan=True)
        np.testing.assert_allclose(y[sketched], x[sketched], rtol=0.01, equal_nan=True)
    print(f"{engine}: agrees with local on {len(a)} KPI rows", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--engines", default="local,dask,spark")
    args = parser.parse_args()
    scratch = Path("/tmp/supportkpi-scale-out")
    scratch.mkdir(exist_ok=True)
    rows = []
    for engine in args.engines.split(","):
        runs = [run(engine, args.data, scratch / f"{engine}.parquet") for _ in range(args.repeats)]
        if engine != "local":
            check_agreement(scratch / "local.parquet", scratch / f"{engine}.parquet", engine)
        best = min(runs, key=lambda r: r["work_s"])
        rows.append((engine, best["work_s"], best["setup_s"], max(r["peak_rss_gb"] for r in runs)))
    print(
        f"| engine | work, s (best of {args.repeats}) | start-up, s "
        "| peak RSS of the process tree, GB |"
    )
    print("|---|--:|--:|--:|")
    for engine, work, setup, peak in rows:
        print(f"| {engine} | {work:.1f} | {setup:.1f} | {peak:.2f} |")


if __name__ == "__main__":
    main()
