"""Spark job: raw log events -> clean events for one interval.

Normalises levels to a fixed vocabulary, trims messages, removes exact duplicate
events by event id. Runs from the CLI (`opsradar clean logs`), an Airflow task, or
`spark-submit jobs/clean_logs.py --start ... --end ...`.
"""

from __future__ import annotations

import argparse
from datetime import datetime

from opsradar.config import OpsRadarConfig, load_config
from opsradar.layout import Interval, Layout
from opsradar.levels import LEVEL_ALIASES
from opsradar.pipeline.result import StageResult


def clean_logs(spark, cfg: OpsRadarConfig, interval: Interval) -> StageResult:
    from pyspark.sql import functions as F

    layout = Layout(cfg.storage.root)
    result = StageResult.begin("clean_logs", interval)
    level_map = F.create_map(*[F.lit(x) for kv in LEVEL_ALIASES.items() for x in kv])
    for source in cfg.log_sources:
        dataset = f"logs/source={source.name}"
        dirs = layout.existing_interval_dirs("raw", dataset, interval)
        staging = layout.new_staging_dir()
        try:
            if dirs:
                raw = spark.read.option("basePath", layout.spark_path(layout.dataset_dir("raw", dataset))).parquet(
                    *[layout.spark_path(d) for d in dirs]
                )
                n_raw = raw.count()
                clean = (
                    raw.dropDuplicates(["event_id"])
                    .withColumn("message", F.trim("message"))
                    .withColumn("level", F.coalesce(level_map[F.upper(F.trim("level"))], F.lit("UNKNOWN")))
                    .withColumn("dt", F.date_format("timestamp", "yyyy-MM-dd"))
                    .withColumn("hour", F.date_format("timestamp", "HH"))
                    .repartition("dt", "hour")
                    .sortWithinPartitions("timestamp", "event_id")
                )
                clean.write.partitionBy("dt", "hour").option("compression", cfg.storage.parquet_compression).parquet(
                    layout.spark_path(staging)
                )
                n_clean = spark.read.parquet(layout.spark_path(staging)).count()
                result.add("events_in", n_raw)
                result.add("events_out", n_clean)
                result.add("duplicates_removed", n_raw - n_clean)
            result.outputs += layout.commit_staging("clean", dataset, interval, staging)
        finally:
            layout.discard_staging(staging)
    return result


def main(argv: list[str] | None = None) -> None:
    from opsradar.spark import spark_session

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--start", required=True, type=datetime.fromisoformat)
    parser.add_argument("--end", required=True, type=datetime.fromisoformat)
    parser.add_argument("--config")
    args = parser.parse_args(argv)
    cfg = load_config(args.config)
    print(clean_logs(spark_session(cfg.spark), cfg, Interval(args.start, args.end)).summary())


if __name__ == "__main__":
    main()
