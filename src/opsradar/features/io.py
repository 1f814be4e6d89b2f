"""Reading a time range of a lake dataset into Spark, and writing feature partitions.

Feature jobs read more than their interval (lookback/lookahead margins, whole anchor
periods), so they select hour partitions by range rather than by interval.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from opsradar.layout import Interval, Layout

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def epoch_floor(ts: datetime, period: timedelta) -> datetime:
    """Start of the epoch-aligned period containing `ts` (periods of any length, UTC)."""
    micros = (ts - EPOCH) // timedelta(microseconds=1)
    size = period // timedelta(microseconds=1)
    return EPOCH + timedelta(microseconds=micros // size * size)


def epoch_ceil(ts: datetime, period: timedelta) -> datetime:
    floor = epoch_floor(ts, period)
    return floor if floor == ts else floor + period


def hour_dirs_in_range(layout: Layout, layer: str, dataset: str, start: datetime, end: datetime) -> list[str]:
    """Existing `dt=/hour=` folders whose hour overlaps [start, end), listed once (no per-hour probing)."""
    base = layout.dataset_dir(layer, dataset)
    first = start.replace(minute=0, second=0, microsecond=0)
    found = []
    for path in sorted(layout.fs.glob(f"{base}/dt=*/hour=*")):
        dt, hour = path.rsplit("/", 2)[-2:]
        try:
            when = datetime.strptime(f"{dt[3:]} {hour[5:]}", "%Y-%m-%d %H").replace(tzinfo=timezone.utc)
        except ValueError:
            continue  # not a partition folder (e.g. a stray file)
        if first <= when < end and layout.fs.glob(f"{path}/*.parquet"):
            found.append(path)
    return found


def missing_hours(layout: Layout, layer: str, dataset: str, start: datetime, end: datetime) -> list[datetime]:
    """Hours of [start, end) with no partition: lookahead data that may not have been cleaned yet."""
    have = {p.rsplit("/", 2)[-2] + "/" + p.rsplit("/", 1)[-1] for p in hour_dirs_in_range(layout, layer, dataset, start, end)}
    return [h for h in Interval(start, end).hours() if f"dt={h:%Y-%m-%d}/hour={h:%H}" not in have]


def read_range(spark, layout: Layout, layer: str, dataset: str, start: datetime, end: datetime,
               time_column: str = "timestamp", columns: list[str] | None = None):
    """Rows of `dataset` with start <= time_column < end, or None when no partition exists."""
    from pyspark.sql import functions as F

    dirs = hour_dirs_in_range(layout, layer, dataset, start, end)
    if not dirs:
        return None
    local = layout.spark_path("/x") == "/x"
    key = "spark.sql.sources.parallelPartitionDiscovery.threshold"
    before = spark.conf.get(key)
    if local:  # listing local folders needs no Spark job (one task per folder otherwise)
        spark.conf.set(key, str(max(int(before), len(dirs) + 1)))
    try:
        df = spark.read.option("basePath", layout.spark_path(layout.dataset_dir(layer, dataset))).parquet(
            *[layout.spark_path(d) for d in dirs])
    finally:
        spark.conf.set(key, before)
    df = df.drop("dt", "hour")
    if columns is not None:
        df = df.select(*[c for c in columns if c in df.columns])
    return df.where((F.col(time_column) >= F.lit(start)) & (F.col(time_column) < F.lit(end)))


def write_interval(df, layout: Layout, layer: str, dataset: str, interval: Interval, time_column: str,
                   sort_columns: list[str], compression: str = "zstd") -> list[str]:
    """Replace the interval's hour partitions of `dataset` with `df` (rows must lie inside the interval).

    Rows are sorted within each hour, so a re-run writes the same rows in the same order.
    """
    from pyspark.sql import functions as F

    staging = layout.new_staging_dir()
    try:
        out = (
            df.withColumn("dt", F.date_format(time_column, "yyyy-MM-dd"))
            .withColumn("hour", F.date_format(time_column, "HH"))
            .repartition("dt", "hour")
            .sortWithinPartitions(time_column, *sort_columns)
        )
        out.write.partitionBy("dt", "hour").option("compression", compression).parquet(layout.spark_path(staging))
        return layout.commit_staging(layer, dataset, interval, staging)
    finally:
        layout.discard_staging(staging)


def spark_type(arrow_type) -> str:
    """Spark SQL type string for the Arrow types used by the feature schemas."""
    import pyarrow as pa

    if pa.types.is_map(arrow_type):
        return f"map<{spark_type(arrow_type.key_type)},{spark_type(arrow_type.item_type)}>"
    if pa.types.is_list(arrow_type):
        return f"array<{spark_type(arrow_type.value_type)}>"
    if pa.types.is_struct(arrow_type):
        return "struct<" + ",".join(f"{f.name}:{spark_type(f.type)}" for f in arrow_type) + ">"
    simple = {pa.string(): "string", pa.int64(): "bigint", pa.int32(): "int", pa.int8(): "tinyint",
              pa.float64(): "double", pa.bool_(): "boolean"}
    if pa.types.is_timestamp(arrow_type):
        return "timestamp"
    return simple[arrow_type]


def utc(value: str) -> datetime:
    """ISO 8601 -> aware UTC datetime (naive means UTC): for job command lines."""
    ts = datetime.fromisoformat(value)
    return ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)
