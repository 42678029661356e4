"""The scorecard on Spark: the same :class:`~supportkpi.Scorecard` as ``sk.scorecard``, for
contacts and orders in Spark DataFrames.

``pip install "supportkpi[spark]"`` (and supportkpi on the executors' Python), then::

    import supportkpi.spark as sks

    contacts = spark.read.parquet("s3://shop/contacts/")
    orders = spark.read.parquet("s3://shop/orders/")
    card = sks.scorecard(contacts, orders, sessions=sessions, by="week", group_by="channel")

How it works: a bucket column ``pmod(xxhash64(customer_id), buckets)`` (anonymous rows:
the hash of their contact_id / order_id) groups both tables; each cogroup (the contacts and
orders of one bucket, i.e. of a set of whole customers) becomes one ``sk.partial`` state in
a Python worker (``cogroup.applyInArrow``, Spark >= 4.0; ``applyInPandas`` before); the
executors pre-merge the states (``sk.combine``, about sqrt(buckets) left), and the driver
collects those few binary rows and merges them with ``sk.merge``. The README section "When
one machine is not enough" explains why that is exact.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)

from . import _scale

if TYPE_CHECKING:
    from ._card import Scorecard

__all__ = ["scorecard"]

#: Use the Arrow paths (cogroup.applyInArrow, DataFrame.toArrow) where this Spark has them;
#: the tests switch it off to exercise the applyInPandas / toPandas path of Spark 3.5.
_PREFER_ARROW = True

_RESULT_SCHEMA = "bucket long, state binary, error_type string, error_message string"
_RESULT_ARROW = pa.schema(
    [
        ("bucket", pa.int64()),
        ("state", pa.binary()),
        ("error_type", pa.string()),
        ("error_message", pa.string()),
    ]
)
#: With more buckets than this, executors pre-merge the states (sk.combine) before the
#: driver collects them.
_COMBINE_ABOVE = 8


def _import_spark() -> tuple[Any, Any]:
    try:
        import pyspark.sql.functions as F
        import pyspark.sql.types as T
    except ImportError as error:
        raise ImportError(
            'supportkpi.spark needs PySpark: pip install "supportkpi[spark]" '
            f"(pyspark>=3.5); import failed with: {error}"
        ) from error
    return F, T


def _is_spark_frame(frame: Any) -> bool:
    # Classic and Spark Connect DataFrames are different classes with the same API.
    return type(frame).__name__ == "DataFrame" and type(frame).__module__.startswith("pyspark.")


def _hash_key(F: Any, T: Any, frame: Any, name: str) -> Any:
    """xxhash64 of an id column, by value: every integer type hashes as a long (an int and a
    long customer_id of the same value land in the same bucket), anything else as a string."""
    column = frame[name]
    integral = (T.ByteType, T.ShortType, T.IntegerType, T.LongType)
    kind = "long" if isinstance(frame.schema[name].dataType, integral) else "string"
    return F.xxhash64(column.cast(kind))


def _bucketed(F: Any, T: Any, frame: Any, keys: dict[str, str], row_id: str, n: int) -> Any:
    customer = frame[keys["customer_id"]]
    key = F.when(customer.isNull(), _hash_key(F, T, frame, keys[row_id])).otherwise(
        _hash_key(F, T, frame, keys["customer_id"])
    )
    return frame.withColumn(_scale.BUCKET, F.pmod(key, F.lit(n)))


def _latest_created(F: Any, T: Any, contacts: Any, orders: Any, c_col: str, o_col: str) -> Any:
    """max(created_at) over both tables as a UTC Timestamp, in one Spark job.

    Read as exact microseconds: a TIMESTAMP through unix_micros (collecting it as a Python
    datetime would shift it to the driver's local time), a TIMESTAMP_NTZ as its wall time
    read as UTC (the core reads naive timestamps as UTC). Other types give None: the core
    raises the SchemaError on the workers.
    """

    def latest(frame: Any, name: str, alias: str) -> Any:
        kind = frame.schema[name].dataType
        if isinstance(kind, T.TimestampType):
            value = F.unix_micros(F.max(frame[name]))
        elif type(kind).__name__ == "TimestampNTZType":
            value = F.max(frame[name])
        else:
            value = F.lit(None)
        return frame.agg(value.alias(alias))

    row = latest(contacts, c_col, "c").crossJoin(latest(orders, o_col, "o")).first()
    return _scale.utc_max([row["c"], row["o"]])


def _arrow_of_pandas(frame: pd.DataFrame, schema: pa.Schema, micros: list[str]) -> pa.Table:
    """A cogroup side handed over as pandas (Spark < 4) back to Arrow with its Spark types:
    nullable integers that pandas made float become integers again, and the TIMESTAMP
    columns (sent as unix micros, since pandas would get them as naive local times) become
    UTC timestamps."""
    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    for name in micros:
        index = table.schema.get_field_index(name)
        table = table.set_column(index, name, table.column(name).cast(pa.timestamp("us", tz="UTC")))
    return table


def _to_micros(F: Any, T: Any, frame: Any) -> tuple[Any, list[str]]:
    """TIMESTAMP columns as unix micros (long), for the pandas paths of Spark < 4."""
    names = [f.name for f in frame.schema.fields if isinstance(f.dataType, T.TimestampType)]
    for name in names:
        frame = frame.withColumn(name, F.unix_micros(frame[name]))
    return frame, names


def _collect_small(F: Any, T: Any, table: Any) -> Any:
    """sessions / events: a Spark DataFrame is collected to the driver (Arrow, or pandas with
    exact timestamps); anything else is passed to sk.merge as it is."""
    if table is None or not _is_spark_frame(table):
        return table
    if _PREFER_ARROW and hasattr(table, "toArrow"):
        return table.toArrow()
    frame, micros = _to_micros(F, T, table)
    pdf = frame.toPandas()
    for name in micros:
        pdf[name] = pd.to_datetime(pdf[name].astype("Int64"), unit="us", utc=True)
    return pdf


def _combine_rows(table: pa.Table) -> pa.Table:
    """Rows (bucket, state, error...) of several buckets as one: the states combined with
    ``sk.combine``, or the error of the lowest bucket if any bucket failed."""
    table = table.sort_by("bucket")
    failed = table.filter(pa.compute.is_valid(table.column("error_type")))
    if failed.num_rows:
        return failed.slice(0, 1)
    states = table.column("state").to_pylist()
    return pa.table(
        {
            "bucket": pa.array([table.column("bucket")[0].as_py()], pa.int64()),
            "state": pa.array([_scale.core().combine(states)], pa.binary()),
            "error_type": pa.array([None], pa.string()),
            "error_message": pa.array([None], pa.string()),
        }
    )


def _combined(F: Any, result: Any, n: int) -> Any:
    """The per-bucket rows pre-merged on the executors (``sk.combine``), about sqrt(n) of
    them left: the driver then collects a few states instead of one per bucket."""
    fan_in = math.isqrt(n - 1) + 1
    if n <= _COMBINE_ABOVE:
        return result
    grouped = result.withColumn("_sk_group", F.floor(result["bucket"] / fan_in)).groupBy(
        "_sk_group"
    )
    if _PREFER_ARROW and hasattr(grouped, "applyInArrow"):

        def on_arrow(table):  # no annotations: Spark reads them to choose the UDF's form
            return _combine_rows(table.drop_columns(["_sk_group"]))

        return grouped.applyInArrow(on_arrow, schema=_RESULT_SCHEMA)

    def on_pandas(frame):
        table = pa.Table.from_pandas(frame.drop(columns="_sk_group"), preserve_index=False)
        return _combine_rows(table.cast(_RESULT_ARROW)).to_pandas()

    return grouped.applyInPandas(on_pandas, schema=_RESULT_SCHEMA)


def _run_per_bucket(
    F: Any, T: Any, contacts: Any, orders: Any, job: Any, *, combine: int = 0
) -> list[Any]:
    """``job(contacts_table, orders_table) -> bytes`` on every cogroup of the two bucketed
    frames; returns the rows (bucket, state, error_type, error_message) by bucket, or with
    ``combine=n`` (the bucket count) fewer rows, pre-merged on the executors. A
    SupportKpiError of a worker comes back as a row (Spark would reduce it to a generic
    PythonException) and is raised here with its own class and message."""
    grouped = contacts.groupBy(_scale.BUCKET).cogroup(orders.groupBy(_scale.BUCKET))

    def run(bucket: int, c: pa.Table, o: pa.Table) -> pa.Table:
        from supportkpi import SupportKpiError

        state: bytes | None = None
        error: tuple[str | None, str | None] = (None, None)
        try:
            state = job(c.drop_columns([_scale.BUCKET]), o.drop_columns([_scale.BUCKET]))
        except SupportKpiError as failure:
            error = _scale.error_record(failure)
        return pa.table(
            {
                "bucket": pa.array([bucket], pa.int64()),
                "state": pa.array([state], pa.binary()),
                "error_type": pa.array([error[0]], pa.string()),
                "error_message": pa.array([error[1]], pa.string()),
            }
        )

    if _PREFER_ARROW and hasattr(grouped, "applyInArrow"):

        def on_arrow(key: tuple[Any, ...], c: pa.Table, o: pa.Table) -> pa.Table:
            return run(key[0].as_py(), c, o)

        result = grouped.applyInArrow(on_arrow, schema=_RESULT_SCHEMA)
    else:
        from pyspark.sql.pandas.types import to_arrow_schema

        c_frame, c_micros = _to_micros(F, T, contacts)
        o_frame, o_micros = _to_micros(F, T, orders)
        c_schema, o_schema = to_arrow_schema(c_frame.schema), to_arrow_schema(o_frame.schema)
        grouped = c_frame.groupBy(_scale.BUCKET).cogroup(o_frame.groupBy(_scale.BUCKET))

        def on_pandas(key: tuple[Any, ...], c: pd.DataFrame, o: pd.DataFrame) -> pd.DataFrame:
            c_table = _arrow_of_pandas(c, c_schema, c_micros)
            o_table = _arrow_of_pandas(o, o_schema, o_micros)
            return run(int(key[0]), c_table, o_table).to_pandas()

        result = grouped.applyInPandas(on_pandas, schema=_RESULT_SCHEMA)

    if combine:
        result = _combined(F, result, combine)
    rows = sorted(result.collect(), key=lambda row: row["bucket"])
    for row in rows:
        if row["error_type"] is not None:
            _scale.raise_error_record(row["error_type"], row["error_message"])
    return rows


def scorecard(
    contacts: Any,
    orders: Any,
    *,
    sessions: Any | None = None,
    events: Any | None = None,
    buckets: int | None = None,
    **options: Any,
) -> Scorecard:
    """The scorecard of Spark DataFrames: the same :class:`~supportkpi.Scorecard` as
    ``sk.scorecard`` on the collected tables.

    Args:
        contacts, orders: Spark DataFrames (classic or Spark Connect).
        sessions, events: the small tables: Spark DataFrames (collected to the driver) or
            anything ``sk.scorecard`` takes; they go to ``sk.merge`` on the driver.
        buckets: the number of customer buckets (default: ``spark.sql.shuffle.partitions``).
            Each bucket's rows are loaded whole into one Python worker: choose enough
            buckets for that to fit comfortably in an executor's memory.
        **options: the keyword arguments of ``sk.scorecard`` (``by``, ``tz``, ``group_by``,
            ``as_of``, ``columns``, windows, ``config``, ``on_invalid``, ...).

    The ``as_of`` (default: the latest ``created_at`` of contacts and orders) is fixed once
    for all buckets by a Spark aggregation; with ``on_invalid="drop"`` it is the latest
    *valid* row's, which costs one extra pass (a cogroup that only validates). A
    ``SupportKpiError`` raised on an executor is raised on the driver with its own class.

    Quantile KPIs (medians, p90) are merged from sketches: within 1% of the exact value
    (relative). Duplicate ids are found within a customer's bucket only: an id reused by
    two customers is not detected, where ``sk.scorecard`` raises a DataError.

    Example:
        >>> import supportkpi as sk
        >>> import supportkpi.spark as sks
        >>> s = sk.load_sample()
        >>> contacts = spark.createDataFrame(s["contacts"])  # a SparkSession named spark
        >>> orders = spark.createDataFrame(s["orders"])
        >>> card = sks.scorecard(contacts, orders, sessions=s["sessions"], by="month", buckets=4)
        >>> local = sk.scorecard(s["contacts"], s["orders"], s["sessions"], by="month")
        >>> card.as_of == local.as_of
        True
        >>> long, expected = card.to_pandas(), local.to_pandas()
        >>> counts = long.unit == "count"
        >>> bool((long.value[counts] == expected.value[counts]).all())
        True
    """
    F, T = _import_spark()
    sk = _scale.core()
    options = _scale.partial_options(options)
    for name, frame in (("contacts", contacts), ("orders", orders)):
        if not _is_spark_frame(frame):
            raise TypeError(
                f"{name}: expected a Spark DataFrame, got {type(frame).__name__} "
                "(for pandas or Arrow tables, use supportkpi.scorecard)"
            )
    c_keys = _scale.key_columns(options.get("columns"), "contacts", contacts.columns)
    o_keys = _scale.key_columns(options.get("columns"), "orders", orders.columns)
    spark = contacts.sparkSession
    n = int(buckets or int(spark.conf.get("spark.sql.shuffle.partitions")))
    if n < 1:
        raise ValueError(f"buckets must be at least 1, got {n}")
    c_bucketed = _bucketed(F, T, contacts, c_keys, "contact_id", n)
    o_bucketed = _bucketed(F, T, orders, o_keys, "order_id", n)

    as_of = options.pop("as_of", None)
    if as_of is None:
        if options.get("on_invalid", "raise") == "drop":
            latest = []

            def as_of_job(c: pa.Table, o: pa.Table) -> bytes:
                stamp = _scale.valid_as_of(c, o, options)
                return b"" if stamp is None else str(stamp.value).encode()

            for row in _run_per_bucket(F, T, c_bucketed, o_bucketed, as_of_job):
                if row["state"]:
                    latest.append(pd.Timestamp(int(bytes(row["state"])), tz="UTC"))
            as_of = _scale.utc_max(latest)
        else:
            as_of = _latest_created(
                F, T, contacts, orders, c_keys["created_at"], o_keys["created_at"]
            )
    worker_options = {**options, "as_of": as_of}

    def state_job(c: pa.Table, o: pa.Table) -> bytes:
        return _scale.core().partial(c, o, **worker_options)

    rows = _run_per_bucket(F, T, c_bucketed, o_bucketed, state_job, combine=n)
    return sk.merge(
        [bytes(row["state"]) for row in rows],
        sessions=_collect_small(F, T, sessions),
        events=_collect_small(F, T, events),
    )
