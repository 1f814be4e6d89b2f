"""Spark job: host/service x window table with log and metric features side by side (ENTITY_WINDOW).

For every `features.joins` entry: the log windows of one `time` grouping
(features/log_windows/source=<log_source>) full-outer-joined on (entity, window_start)
with the metric features (features/metrics/source=<m>) of the same entity, aggregated
over the same windows. An entity with metrics but no log lines still gets its windows
(n_events 0); metric maps are keyed `<metric source>:<metric>`. Windows belong to the
interval holding their start (the metric steps of [start, end + window) are read), so a
backfill equals one long run. Run after featurize_logs and featurize_metrics.

`spark-submit jobs/featurize_entities.py --start ... --end ...`, or stage `featurize_entities`.
"""

from __future__ import annotations

from datetime import timedelta

from opsradar.config import OpsRadarConfig
from opsradar.layout import Interval, Layout
from opsradar.pipeline.result import StageResult
from opsradar.schemas.arrow import ENTITY_WINDOW


def featurize_entities(spark, cfg: OpsRadarConfig, interval: Interval) -> StageResult:
    from pyspark.sql import functions as F

    from opsradar.features.io import read_range, spark_type, write_interval
    from opsradar.features.logs import add_window_ids

    layout = Layout(cfg.storage.root)
    result = StageResult.begin("featurize_entities", interval)
    for join in cfg.features.joins:
        src = next((s for s in cfg.features.logs if s.source == join.log_source), None)
        grouping = next((g for g in (src.groupings if src else []) if g.label == join.grouping), None)
        if grouping is None or grouping.mode != "time":
            raise ValueError(f"features.joins {join.name}: {join.log_source} has no time grouping {join.grouping!r}")
        size, step = grouping.window, grouping.step or grouping.window
        size_us, step_us = size // timedelta(microseconds=1), step // timedelta(microseconds=1)
        in_interval = (F.col("window_start") >= F.lit(interval.start)) & (F.col("window_start") < F.lit(interval.end))
        logs = read_range(spark, layout, "features", f"log_windows/source={join.log_source}", interval.start,
                          interval.end, time_column="window_start")
        if logs is not None:
            logs = logs.where(F.col("grouping") == grouping.label).select(
                "entity", "window_start", F.col("window_id").alias("log_window_id"), "n_events", "error_ratio",
                "new_templates", F.size("template_counts").alias("distinct_templates"), "label")
        metric_frames = []
        for name in join.metric_sources:
            m = read_range(spark, layout, "features", f"metrics/source={name}", interval.start, interval.end + size)
            if m is None:
                result.warnings.append(f"{join.name}: no metric features for {name} in {interval}")
                continue
            base = F.floor(F.unix_micros("timestamp") / F.lit(step_us)) * F.lit(step_us)
            m = (m.withColumn("_k", F.explode(F.sequence(F.lit(0), F.lit(int(size / step) - 1))))
                 .withColumn("_ws", base - F.col("_k") * F.lit(step_us))
                 .where(F.unix_micros("timestamp") < F.col("_ws") + F.lit(size_us))
                 .withColumn("key", F.concat(F.lit(f"{name}:"), F.col("metric"))))
            metric_frames.append(m.select("entity", "_ws", "key", "value", "is_gap"))
        metrics = None
        if metric_frames:
            stacked = metric_frames[0]
            for frame in metric_frames[1:]:
                stacked = stacked.unionByName(frame)
            per_metric = stacked.groupBy("entity", "_ws", "key").agg(
                F.avg("value").alias("mean"), F.max("value").alias("max"), F.avg(F.col("is_gap").cast("double")).alias("gap"))

            def as_map(col):
                return F.map_from_entries(F.array_sort(F.collect_list(F.struct("key", col))))

            metrics = (per_metric.groupBy("entity", "_ws")
                       .agg(as_map("mean").alias("metric_mean"), as_map("max").alias("metric_max"),
                            as_map("gap").alias("metric_gap_ratio"))
                       .withColumn("window_start", F.timestamp_micros("_ws")).drop("_ws").where(in_interval))
        if logs is None and metrics is None:
            result.warnings.append(f"{join.name}: neither log windows nor metric features in {interval}")
            result.outputs += layout.commit_staging("features", f"entity_windows/join={join.name}", interval,
                                                    layout.new_staging_dir())
            continue
        if logs is None:
            joined = metrics
        elif metrics is None:
            joined = logs
        else:
            joined = logs.join(metrics, ["entity", "window_start"], "full_outer")
        for col, kind in (("log_window_id", "string"), ("n_events", "bigint"), ("error_ratio", "double"),
                          ("new_templates", "int"), ("distinct_templates", "int"), ("label", "tinyint"),
                          ("metric_mean", "map<string,double>"), ("metric_max", "map<string,double>"),
                          ("metric_gap_ratio", "map<string,double>")):
            if col not in joined.columns:
                joined = joined.withColumn(col, F.lit(None).cast(kind))
        joined = (joined.withColumn("window_end", F.col("window_start") + F.expr(f"INTERVAL {int(size.total_seconds())} SECONDS"))
                  .withColumn("n_events", F.coalesce("n_events", F.lit(0)))
                  .withColumn("events_per_s", F.col("n_events") / F.lit(size.total_seconds()))
                  .withColumn("join", F.lit(join.name)))
        joined = add_window_ids(joined, f"join:{join.name}", grouping.label)
        out = joined.select(*[F.col(f.name).cast(spark_type(f.type)).alias(f.name) for f in ENTITY_WINDOW])
        dataset = f"entity_windows/join={join.name}"
        result.outputs += write_interval(out, layout, "features", dataset, interval, "window_start", ["entity"],
                                         cfg.storage.parquet_compression)
        written = layout.read_interval("features", dataset, interval)
        result.add(f"{join.name}.windows", 0 if written is None else written.num_rows)
    return result


def main(argv: list[str] | None = None) -> None:
    from opsradar.spark import run_spark_job

    run_spark_job(featurize_entities, __doc__, argv)


if __name__ == "__main__":
    main()
