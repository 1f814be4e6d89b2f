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
