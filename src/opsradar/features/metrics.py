"""Metric points -> METRIC_FEATURE rows: fixed-step resampling with explicit gaps, rolling stats.

Per (entity, metric) series and epoch-aligned step: value = mean of the step's non-null
samples, n_samples = how many; a step without one is a gap (value null, is_gap true;
nothing is forward-filled). Rolling mean/std/p95/max per horizon cover the steps
(t - horizon, t], skip gaps and report n_valid. rate_of_change = (v_t - v_{t-1}) / step_s. Metrics listed
in `zero_when_missing` (event rates such as log.events_per_s, whose rows exist only where
events do) read an empty step as 0 instead of a gap.

Interval rule: a row belongs to the interval holding its step; the job reads the largest
horizon (and one step) before the interval, so a backfill equals one long run. A series
is gridded over the whole read range as soon as it has one sample in it, so a series that
goes silent shows up as gaps rather than disappearing.

Skew: samples are first reduced per (series, step) with partial aggregation; the window
functions then see at most (interval + horizon) / step rows per series.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from opsradar.config import MetricFeaturesConfig
from opsradar.features.io import EPOCH, epoch_floor
from opsradar.layout import Interval


def horizon_label(h: timedelta) -> str:
    s = int(h.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s % size == 0:
            return f"{s // size}{unit}"
    return f"{s}s"


def read_start(cfg: MetricFeaturesConfig, interval: Interval) -> datetime:
    return epoch_floor(interval.start - max(cfg.horizons) - cfg.step, cfg.step)


def resample(spark, points, cfg: MetricFeaturesConfig, interval: Interval):
    """`points`: METRIC_POINT rows of [read_start, interval.end). Returns METRIC_FEATURE-shaped rows."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if interval.start != epoch_floor(interval.start, cfg.step) or interval.end != epoch_floor(interval.end, cfg.step):
        raise ValueError(f"metric features {cfg.source}: interval {interval} is not aligned to step {cfg.step}")
    step_us = cfg.step // timedelta(microseconds=1)
    start = read_start(cfg, interval)
    first_us = (start - EPOCH) // timedelta(microseconds=1)
    n_steps = (interval.end - start) // cfg.step
    steps = (points.withColumn("_t", F.floor(F.unix_micros("timestamp") / F.lit(step_us)) * F.lit(step_us))
             .groupBy("source", "entity", "metric", "_t")
             .agg(F.avg("value").alias("value"), F.count("value").cast("int").alias("n_samples")))
    grid = (points.select("source", "entity", "metric").distinct()
            .crossJoin(spark.range(n_steps).select((F.lit(first_us) + F.col("id") * F.lit(step_us)).alias("_t"))))
    df = (grid.join(steps, ["source", "entity", "metric", "_t"], "left")
          .withColumn("n_samples", F.coalesce("n_samples", F.lit(0))))
    zero = F.col("metric").isin(*cfg.zero_when_missing) if cfg.zero_when_missing else F.lit(False)
    df = (df.withColumn("value", F.when(zero & (F.col("n_samples") == 0), F.lit(0.0)).otherwise(F.col("value")))
          .withColumn("is_gap", (F.col("n_samples") == 0) & ~zero))
    series = Window.partitionBy("source", "entity", "metric").orderBy("_t")
    step_s = cfg.step.total_seconds()
    df = df.withColumn("rate_of_change", (F.col("value") - F.lag("value").over(series)) / F.lit(step_s))
    stats = []
    for h in sorted(cfg.horizons):
        frame = series.rangeBetween(-(h // timedelta(microseconds=1)) + step_us, 0)
        stats.append(F.struct(
            F.lit(horizon_label(h)).alias("horizon"),
            F.lit(int(h.total_seconds())).cast("long").alias("horizon_s"),
            F.avg("value").over(frame).alias("mean"),
            F.stddev_samp("value").over(frame).alias("std"),
            F.percentile("value", 0.95).over(frame).alias("p95"),
            F.max("value").over(frame).alias("max"),
            F.count("value").over(frame).cast("int").alias("n_valid"),
        ))
    df = df.withColumn("rolling", F.array(*stats))
    first_out = (interval.start - EPOCH) // timedelta(microseconds=1)
    ts = F.timestamp_micros("_t")
    return df.where(F.col("_t") >= F.lit(first_out)).select(
        ts.alias("timestamp"),
        F.lit(int(step_s)).cast("int").alias("step_s"),
        "source", "entity", "metric", "value", "n_samples", "is_gap", "rate_of_change", "rolling",
        F.hour(ts).cast("tinyint").alias("hour_of_day"),
        ((F.dayofweek(ts) + 5) % 7 + 1).cast("tinyint").alias("day_of_week"),  # Spark: 1 = Sunday -> ISO
    )


def output_name(cfg: MetricFeaturesConfig) -> str:
    """Name of the feature series set: the source, or `<source>-logs` for log-derived metrics."""
    return cfg.source if cfg.dataset == "metrics" else f"{cfg.source}-logs"
