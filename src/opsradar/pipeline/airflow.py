"""Helpers for DAG files: one Airflow task per stage, nothing else."""

from __future__ import annotations

from airflow.sdk import task


def stage_task(name: str, **task_kwargs):
    """A TaskFlow task that runs stage `name` over the run's data interval."""

    @task(task_id=name, **task_kwargs)
    def run(data_interval_start=None, data_interval_end=None):
        from opsradar.pipeline.tasks import run_stage

        return run_stage(name, data_interval_start, data_interval_end)

    return run


def lake_asset(layer: str, kind: str):
    """The Airflow Asset a stage emits when it writes `{layer}/{kind}` (e.g. raw/logs).

    Downstream DAGs schedule on it (`schedule=[lake_asset("raw", "logs")]`). The URI is
    logical, not the storage path, so it does not depend on config at parse time.
    """
    from airflow.sdk import Asset

    return Asset(name=f"opsradar_{layer}_{kind}", uri=f"opsradar://{layer}/{kind}")


def _airflow_settings():
    """`[airflow]` from the config; the defaults when it cannot be read at parse time, so a
    bad config fails the task (with a clear message) rather than the DAG import."""
    from opsradar.config import AirflowConfig, ConfigError, load_config

    try:
        return load_config().airflow
    except ConfigError:
        return AirflowConfig()


def _retry_args(af) -> dict:
    from datetime import timedelta

    return {
        "retries": af.retries,
        "retry_delay": timedelta(seconds=af.retry_delay_s),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(hours=1),
    }


def ingest_task_args() -> dict:
    """Retries with exponential backoff and the ingest pool, from `[airflow]` in the config."""
    af = _airflow_settings()
    return {**_retry_args(af), "pool": af.ingest_pool}


def pipeline_default_args() -> dict:
    """Retries with exponential backoff, and pipeline-run documents for every task outcome."""
    from opsradar.pipeline.callbacks import on_task_failure, on_task_success

    return {
        **_retry_args(_airflow_settings()),
        "on_failure_callback": on_task_failure,
        "on_success_callback": on_task_success,
    }


def gpu_task_args() -> dict:
    """Model tasks run on GPU workers: the `gpu` queue and pool from `[airflow]`."""
    af = _airflow_settings()
    return {"queue": af.gpu_queue, "pool": af.gpu_pool}
