"""Service metrics derived from logs, as METRIC_POINT rows (features/log_metrics/source=<name>).

Per entity (the source's first time grouping's fields, else host+service) and fixed,
epoch-aligned window of `metrics_window`:
- log.events_per_s: events / window seconds. Rows exist only for windows with events (a
  dense grid of hosts x minutes explodes on sparse sources); the metric featurizer reads
  a missing step of this metric as 0, not as a gap (MetricFeaturesConfig.zero_when_missing);
- log.error_rate: ERROR+FATAL share of the window's events;
- log.latency_p50/_p95/_p99 (ms): exact percentiles of group 1 of `latency_regex`, only
  for windows where at least one latency was parsed.
The metric featurizer can resample these like any other series (dataset = "log_metrics").
"""

from __future__ import annotations

from datetime import timedelta

from opsradar.config import LogFeaturesConfig
from opsradar.features.logs import ERROR_LEVELS, entity_column

LATENCY_QUANTILES = (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))


def log_service_metrics(events, src: LogFeaturesConfig):
    """`events`: clean events of exactly [interval.start, interval.end)."""
    from pyspark.sql import functions as F

    size = src.metrics_window
    if timedelta(hours=1) % size:
        raise ValueError(f"features source {src.source}: metrics_window {size} must divide one hour")
    size_us = int(size / timedelta(microseconds=1))
    time_groupings = [g for g in src.groupings if g.mode == "time"]
    fields = time_groupings[0].entity_fields if time_groupings else ["host", "service"]
    ev = events.withColumn("entity", entity_column(fields, src.source)).withColumn(
        "_ws", F.floor(F.unix_micros("timestamp") / F.lit(size_us)) * F.lit(size_us))
    if src.latency_regex:
        ev = ev.withColumn("_lat", F.regexp_extract("message", src.latency_regex, 1))
        ev = ev.withColumn("_lat", F.when(F.col("_lat") != "", F.col("_lat").cast("double")))
    else:
        ev = ev.withColumn("_lat", F.lit(None).cast("double"))
    per_window = ev.groupBy("entity", "_ws").agg(
        F.count(F.lit(1)).alias("_n"),
        F.count_if(F.col("level").isin(*ERROR_LEVELS)).alias("_err"),
        F.count("_lat").alias("_n_lat"),
        *[F.percentile("_lat", q).alias(f"_lat_{name}") for name, q in LATENCY_QUANTILES],
    )
    seconds = size.total_seconds()
    rows = [
        ("log.events_per_s", F.col("_n") / F.lit(seconds), "1/s"),
        ("log.error_rate", F.col("_err") / F.col("_n"), "ratio"),
    ]
    rows += [(f"log.latency_{name}", F.col(f"_lat_{name}"), "ms") for name, _ in LATENCY_QUANTILES]
    stacked = per_window.select("entity", "_ws", F.explode(F.array(*[
        F.struct(F.lit(metric).alias("metric"), value.cast("double").alias("value"), F.lit(unit).alias("unit"))
        for metric, value, unit in rows])).alias("m"), "_n_lat")
    stacked = stacked.where(~F.col("m.metric").startswith("log.latency_") | (F.col("_n_lat") > 0))
    return stacked.select(
        F.timestamp_micros("_ws").alias("timestamp"),
        F.lit(src.source).alias("source"),
        "entity",
        F.col("m.metric").alias("metric"),
        F.col("m.value").alias("value"),
        F.col("m.unit").alias("unit"),
        F.lit(None).cast("map<string,string>").alias("labels"),
    )
