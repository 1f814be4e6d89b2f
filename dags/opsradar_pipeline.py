"""The daily pipeline: ingest -> clean -> validate -> featurize -> score (gpu) -> Elasticsearch.

Wiring only: each task runs one stage function (opsradar.pipeline.tasks.STAGES) over the
run's data interval. Scoring runs on the `gpu` queue and pool (CPU fallback is automatic
inside the models). Every task emits an Asset for downstream DAGs and records its
outcome as a pipeline-run document in Elasticsearch; a deadline alert flags late runs.
Backfill: `airflow backfill create --dag-id opsradar_pipeline --from-date ... --to-date ...`
or, without a scheduler, `opsradar backfill --from ... --to ...`.
"""

from datetime import datetime, timedelta, timezone

from airflow.sdk import dag
from airflow.sdk.definitions.deadline import DeadlineAlert, DeadlineReference, SyncCallback
from airflow.timetables.interval import CronDataIntervalTimetable

from opsradar.pipeline.airflow import gpu_task_args, lake_asset, pipeline_default_args, stage_task


@dag(
    dag_id="opsradar_pipeline",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=datetime(2000, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=2,
    default_args=pipeline_default_args(),
    deadline=DeadlineAlert(reference=DeadlineReference.DAGRUN_QUEUED_AT, interval=timedelta(hours=6),
                           callback=SyncCallback("opsradar.pipeline.callbacks.late_interval")),
    tags=["opsradar", "pipeline"],
)
def opsradar_pipeline():
    ingest_logs = stage_task("ingest_logs", outlets=[lake_asset("raw", "logs")])()
    ingest_metrics = stage_task("ingest_metrics", outlets=[lake_asset("raw", "metrics")])()
    clean_logs = stage_task("clean_logs", outlets=[lake_asset("clean", "logs")])()
    validate_clean = stage_task("validate_clean_logs", retries=0)()
    validate_metrics = stage_task("validate_metrics", retries=0)()
    featurize_logs = stage_task("featurize_logs", outlets=[lake_asset("features", "log_windows")])()
    featurize_metrics = stage_task("featurize_metrics", outlets=[lake_asset("features", "metrics")])()
    score_logs = stage_task("score_logs", outlets=[lake_asset("scores", "logs")], **gpu_task_args())()
    score_metrics = stage_task("score_metrics", outlets=[lake_asset("scores", "metrics")], **gpu_task_args())()
    sink = stage_task("sink_results", outlets=[lake_asset("es", "results")])()

    ingest_logs >> clean_logs >> validate_clean >> featurize_logs >> score_logs >> sink
    ingest_metrics >> validate_metrics >> featurize_metrics >> score_metrics >> sink


opsradar_pipeline()
