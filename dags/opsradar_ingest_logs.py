"""Hourly log ingest: configured log files -> raw/logs Parquet (+ quarantine), Asset raw/logs.

Wiring only; the stage is opsradar.pipeline.logs:ingest_logs (docs/ingest.md).
Backfill: `airflow backfill create --dag-id opsradar_ingest_logs --from-date ... --to-date ...`
(scheduler running) or `opsradar backfill --from ... --to ... --stage ingest_logs` (no scheduler).
"""

from datetime import datetime, timezone

from airflow.sdk import dag
from airflow.timetables.interval import CronDataIntervalTimetable

from opsradar.pipeline.airflow import ingest_task_args, lake_asset, stage_task


@dag(
    dag_id="opsradar_ingest_logs",
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
    start_date=datetime(2000, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,  # runs may add late lines to the same earlier hours: one at a time
    default_args=ingest_task_args(),
    tags=["opsradar", "logs", "ingest"],
)
def opsradar_ingest_logs():
    stage_task("ingest_logs", outlets=[lake_asset("raw", "logs")])()


opsradar_ingest_logs()
