"""Weekly retraining of the log and metric models on the last week, on the gpu queue.

Wiring only (stages train_logs, train_metrics); new versions land in the model registry.
"""

from datetime import datetime, timezone

from airflow.sdk import dag
from airflow.timetables.interval import CronDataIntervalTimetable

from opsradar.pipeline.airflow import gpu_task_args, pipeline_default_args, stage_task


@dag(
    dag_id="opsradar_retrain",
    schedule=CronDataIntervalTimetable("0 3 * * 1", timezone="UTC"),
    start_date=datetime(2000, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    default_args=pipeline_default_args(),
    tags=["opsradar", "training"],
)
def opsradar_retrain():
    stage_task("train_logs", **gpu_task_args())()
    stage_task("train_metrics", **gpu_task_args())()


opsradar_retrain()
