"""Test-only DAG: the clean-logs GX gate in front of indexing (wiring only, as in dags/)."""

from datetime import datetime, timezone

from airflow.sdk import dag
from airflow.timetables.interval import CronDataIntervalTimetable

from opsradar.pipeline.airflow import stage_task


@dag(
    dag_id="opsradar_quality_gate",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=datetime(2008, 11, 9, tzinfo=timezone.utc),
    catchup=False,
    default_args={"retries": 0},
    tags=["opsradar", "test"],
)
def opsradar_quality_gate():
    stage_task("validate_clean_logs")() >> stage_task("index_events")()


opsradar_quality_gate()
