"""Daily capacity planning: forecasts -> plans, Markdown report with plots, Elasticsearch.

Wiring only (stages forecast_metrics, plan_capacity, sink_results).
"""

from datetime import datetime, timezone

from airflow.sdk import dag
from airflow.timetables.interval import CronDataIntervalTimetable

from opsradar.pipeline.airflow import gpu_task_args, lake_asset, pipeline_default_args, stage_task


@dag(
    dag_id="opsradar_capacity_plan",
    schedule=CronDataIntervalTimetable("30 1 * * *", timezone="UTC"),
    start_date=datetime(2000, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    default_args=pipeline_default_args(),
    tags=["opsradar", "capacity"],
)
def opsradar_capacity_plan():
    forecast = stage_task("forecast_metrics", outlets=[lake_asset("forecasts", "demand")], **gpu_task_args())()
    plan = stage_task("plan_capacity", outlets=[lake_asset("reports", "capacity")])()
    sink = stage_task("sink_results")()
    forecast >> plan >> sink


opsradar_capacity_plan()
