"""Spark job: metric points -> resampled metric features (METRIC_FEATURE) for one interval.

For every `features.metrics` entry, reads `<layer>/<dataset>/source=<name>` (raw or clean
`metrics`, or the log-derived `features/log_metrics`) with a lookback of the largest
horizon, and writes `features/metrics/source=<output name>` (hour partitions of
the step timestamp). The output name is the source for `metrics`, `<source>-logs` for
`log_metrics`. Re-running an interval replaces it; a backfill equals one long run.

Runs from the CLI (`opsradar run featurize-metrics`), an Airflow task, or
`spark-submit jobs/featurize_metrics.py --start ... --end ...`.
"""

from __future__ import annotations


from opsradar.config import OpsRadarConfig
from opsradar.layout import Interval, Layout
from opsradar.pipeline.result import StageResult
from opsradar.schemas.arrow import METRIC_FEATURE, METRIC_POINT


def featurize_metrics(spark, cfg: OpsRadarConfig, interval: Interval) -> StageResult:
    from pyspark.sql import functions as F

    from opsradar.features.io import read_range, spark_type, write_interval
    from opsradar.features.metrics import output_name, read_start, resample

    layout = Layout(cfg.storage.root)
    result = StageResult.begin("featurize_metrics", interval)
    for mcfg in cfg.features.metrics:
        name = output_name(mcfg)
        out_ds = f"metrics/source={name}"
        points = read_range(spark, layout, mcfg.layer, f"{mcfg.dataset}/source={mcfg.source}", read_start(mcfg, interval),
                            interval.end, columns=[f.name for f in METRIC_POINT])
        if points is None:
            result.warnings.append(f"{name}: no metric points in {mcfg.layer}/{mcfg.dataset}/source={mcfg.source} "
                                   f"for {interval} (with lookback)")
            result.outputs += layout.commit_staging("features", out_ds, interval, layout.new_staging_dir())
            continue
        bad = F.col("entity").isNull() | F.col("metric").isNull()
        result.add(f"{name}.points_without_series_key", points.where(bad).count())  # counted, never featurized
        features = resample(spark, points.where(~bad), mcfg, interval)
        features = features.select(*[F.col(f.name).cast(spark_type(f.type)).alias(f.name) for f in METRIC_FEATURE])
        result.outputs += write_interval(features, layout, "features", out_ds, interval, "timestamp",
                                         ["entity", "metric"], cfg.storage.parquet_compression)
        written = layout.read_interval("features", out_ds, interval)
        if written is not None:
            result.add(f"{name}.steps", written.num_rows)
            result.add(f"{name}.gaps", sum(written.column("is_gap").to_pylist()))
    return result


def main(argv: list[str] | None = None) -> None:
    from opsradar.spark import run_spark_job

    run_spark_job(featurize_metrics, __doc__, argv)


if __name__ == "__main__":
    main()
