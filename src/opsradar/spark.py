"""SparkSession factory: local[2] by default, any `spark.master` from config."""

from __future__ import annotations

import os
import sys

from opsradar.config import SparkConfig


def spark_session(cfg: SparkConfig | None = None):
    from pyspark.sql import SparkSession  # heavy: import only when a job runs

    cfg = cfg or SparkConfig()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(cfg.master)
        .appName(cfg.app_name)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(cfg.shuffle_partitions))
        .config("spark.default.parallelism", str(cfg.shuffle_partitions))
        .config("spark.driver.memory", cfg.driver_memory)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")  # our own progress bars show stages
        .config("spark.sql.adaptive.enabled", "true")
        .config("spark.sql.adaptive.skewJoin.enabled", "true")
        .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
        .config("spark.executor.extraJavaOptions", "-Duser.timezone=UTC")
    )
    for key, value in cfg.conf.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def run_spark_job(stage, description: str | None, argv: list[str] | None = None) -> None:
    """`spark-submit jobs/<job>.py --start ... --end ... [--config ...]` for a Spark stage."""
    import argparse
    from datetime import datetime, timezone

    from opsradar.config import load_config
    from opsradar.layout import Interval

    def utc(value: str) -> datetime:
        ts = datetime.fromisoformat(value)
        return ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--start", required=True, type=utc, help="ISO 8601 (UTC if naive)")
    parser.add_argument("--end", required=True, type=utc, help="exclusive")
    parser.add_argument("--config")
    args = parser.parse_args(argv)
    cfg = load_config(args.config)
    print(stage(spark_session(cfg.spark), cfg, Interval(args.start, args.end)).summary())
