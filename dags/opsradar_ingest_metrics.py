"""Hourly metric ingest: configured metric files -> raw/metrics Parquet (+ quarantine), Asset raw/metrics.

Wiring only; the stage is opsradar.pipeline.metrics:ingest_metrics (docs/ingest.md).
Backfill: `airflow backfill create --dag-id opsradar_ingest_metrics --from-date ... --to-date ...`
(scheduler running) or `opsradar backfill --from ... --to ... --stage ingest_metrics` (no scheduler).
"""

from datetime import datetime, timezone

from airflow.sdk import dag
from airflow.timetables.interval import CronDataIntervalTimetable

from opsradar.pipeline.airflow import ingest_task_args, lake_asset, stage_task


@dag(
    dag_id="opsradar_ingest_metrics",
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
    start_date=datetime(2000, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,  # runs may add late points to the same earlier hours: one at a time
    default_args=ingest_task_args(),
    tags=["opsradar", "metrics", "ingest"],
)
def opsradar_ingest_metrics():
    stage_task("ingest_metrics", outlets=[lake_asset("raw", "metrics")])()


opsradar_ingest_metrics()
