"""Walking skeleton: log files -> raw Parquet -> clean (Spark) -> GX gate -> Elasticsearch, daily.

Wiring only: every task runs a stage function from `opsradar.pipeline`.
"""

from datetime import datetime, timedelta, timezone

from airflow.sdk import dag
from airflow.timetables.interval import CronDataIntervalTimetable

from opsradar.pipeline.airflow import stage_task


@dag(
    dag_id="opsradar_logs_skeleton",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=datetime(2008, 11, 9, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=4,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30), "retry_exponential_backoff": True},
    tags=["opsradar", "logs"],
)
def opsradar_logs_skeleton():
    # validate_clean_logs: GX gate; a failed suite is deterministic, so no retries.
    (stage_task("ingest_logs")() >> stage_task("clean_logs")() >> stage_task("validate_clean_logs", retries=0)()
     >> stage_task("index_events")())


opsradar_logs_skeleton()
