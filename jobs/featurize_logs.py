"""Spark job: clean log events -> log windows (LOG_WINDOW) and log-derived service metrics.

For every `features.logs` source and each of its groupings (session / time / count),
writes `features/log_windows/source=<name>` (hour partitions of window_start) and
`features/log_metrics/source=<name>` (METRIC_POINT rows) for one interval. Windows that
straddle interval boundaries follow the rule in opsradar.features.logs: a backfill of
consecutive intervals writes exactly what one long run writes.

Runs from the CLI (`opsradar run featurize-logs`), an Airflow task, or
`spark-submit jobs/featurize_logs.py --start ... --end ...`.
"""

from __future__ import annotations


from opsradar.config import OpsRadarConfig
from opsradar.layout import Interval, Layout
from opsradar.pipeline.result import StageResult
from opsradar.schemas.arrow import LOG_WINDOW


def featurize_logs(spark, cfg: OpsRadarConfig, interval: Interval) -> StageResult:
    from pyspark.sql import functions as F

    from opsradar.features.io import missing_hours, read_range, spark_type, write_interval
    from opsradar.features.log_metrics import log_service_metrics
    from opsradar.features.logs import (EVENT_COLUMNS, add_window_ids, aggregate_windows, grouping_range, memberships,
                                        prepare_events, read_session_labels, source_range)

    layout = Layout(cfg.storage.root)
    feats = cfg.features
    result = StageResult.begin("featurize_logs", interval)
    in_interval = (F.col("timestamp") >= F.lit(interval.start)) & (F.col("timestamp") < F.lit(interval.end))
    for src in feats.logs:
        clean = f"logs/source={src.source}"
        windows_ds, metrics_ds = f"log_windows/source={src.source}", f"log_metrics/source={src.source}"
        span = source_range(src, feats, interval)
        late = missing_hours(layout, "clean", clean, interval.end, span.end) if span.end > interval.end else []
        if late:
            result.add(f"{src.source}.lookahead_hours_missing", len(late))
            result.warnings.append(f"{src.source}: {len(late)} lookahead hour(s) after {interval.end.isoformat()} not in the "
                                   "clean layer yet; windows near the interval end may be incomplete; re-run once cleaned")
        events = read_range(spark, layout, "clean", clean, span.start, span.end, columns=list(EVENT_COLUMNS))
        if events is None:
            result.warnings.append(f"{src.source}: no clean events in [{span.start.isoformat()}, {span.end.isoformat()})")
            empty = layout.new_staging_dir()  # still replace the interval: a re-run never keeps stale windows
            result.outputs += layout.commit_staging("features", windows_ds, interval, empty)
            result.outputs += layout.commit_staging("features", metrics_ds, interval, empty)
            continue
        if "template_id" not in events.columns:
            result.warnings.append(f"{src.source}: clean events have no template_id column; templates count as 'unknown'")
        events = prepare_events(events, src, feats).persist()
        try:
            frames = []
            for g in src.groupings:
                span_g = grouping_range(g, interval)
                sub = events.where((F.col("timestamp") >= F.lit(span_g.start)) & (F.col("timestamp") < F.lit(span_g.end)))
                if g.mode == "session":  # lines naming no key join no session: counted, not silently lost
                    keyless = F.size(F.regexp_extract_all("message", F.lit(g.key_regex), F.lit(0))) == 0
                    result.add(f"{src.source}.{g.label}.events_without_key", events.where(in_interval & keyless).count())
                members, group_cols = memberships(sub, g, src.source)
                windows = aggregate_windows(members, group_cols, g, feats)
                if g.mode == "session" and src.label_file:
                    labels = read_session_labels(spark, src)
                    windows = (windows.join(F.broadcast(labels), "entity", "left")
                               .withColumn("label", F.coalesce("file_label", "label")).drop("file_label"))
                windows = windows.where((F.col("window_start") >= F.lit(interval.start)) &
                                        (F.col("window_start") < F.lit(interval.end)))
                windows = (windows.withColumn("source", F.lit(src.source)).withColumn("grouping", F.lit(g.label)))
                frames.append(add_window_ids(windows, src.source, g.label))
            out = frames[0]
            for frame in frames[1:]:
                out = out.unionByName(frame)
            out = out.select(*[F.col(f.name).cast(spark_type(f.type)).alias(f.name) for f in LOG_WINDOW])
            result.outputs += write_interval(out, layout, "features", windows_ds, interval, "window_start",
                                             ["grouping", "window_id"], cfg.storage.parquet_compression)
            written = layout.read_interval("features", windows_ds, interval)
            for grouping in [g.label for g in src.groupings]:
                n = 0 if written is None else sum(1 for x in written.column("grouping").to_pylist() if x == grouping)
                result.add(f"{src.source}.windows.{grouping}", n)
            result.add(f"{src.source}.events", events.where(in_interval).count())
            service = log_service_metrics(events.where(in_interval), src)
            result.outputs += write_interval(service, layout, "features", metrics_ds, interval, "timestamp",
                                             ["entity", "metric"], cfg.storage.parquet_compression)
        finally:
            events.unpersist()
    return result


def main(argv: list[str] | None = None) -> None:
    from opsradar.spark import run_spark_job

    run_spark_job(featurize_logs, __doc__, argv)


if __name__ == "__main__":
    main()
