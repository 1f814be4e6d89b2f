"""Airflow callbacks: every task outcome becomes a pipeline-run document in Elasticsearch.

Callbacks never raise: a monitoring hiccup must not fail or mask the task itself.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

log = logging.getLogger(__name__)


def run_row(context: dict[str, Any], status: str, error: str | None = None) -> dict[str, Any]:
    """A PIPELINE_RUN row (schemas/arrow.py) from an Airflow callback context."""
    ti = context["ti"]
    result = {}
    if status == "success":
        result = ti.xcom_pull(task_ids=ti.task_id) or {}
    counts = {k: int(v) for k, v in (result.get("counts") or {}).items()}
    return {
        "dag_id": ti.dag_id,
        "stage": ti.task_id,
        "run_id": context.get("run_id"),
        "interval_start": context["data_interval_start"],
        "interval_end": context["data_interval_end"],
        "status": status,
        "started_at": getattr(ti, "start_date", None),
        "ended_at": datetime.now(timezone.utc),
        "records_in": None,
        "records_out": None,
        "quarantined": sum(v for k, v in counts.items() if k.startswith("quarantined")),
        "failed": counts.get("failed", 0),
        "counts": counts,
        "model_versions": [],
        "warnings": list(result.get("warnings") or []),
        "error": error,
    }


def _record(row: dict[str, Any]) -> None:
    try:
        from opsradar.config import load_config
        from opsradar.es.runs import record_run

        record_run(load_config(), row)
    except Exception as err:  # noqa: BLE001 - never fail the task from its callback
        log.warning("could not record pipeline run %s/%s in Elasticsearch: %s", row["dag_id"], row["stage"], err)


def on_task_failure(context: dict[str, Any]) -> None:
    error = context.get("exception")
    _record(run_row(context, "failed", f"{type(error).__name__}: {error}" if error else "failed"))


def on_task_success(context: dict[str, Any]) -> None:
    _record(run_row(context, "success"))


def late_interval(**kwargs: Any) -> None:
    """DeadlineAlert callback: the interval's run did not finish in time."""
    log.error("OpsRadar interval is late: %s", kwargs)
    now = datetime.now(timezone.utc)
    _record({"dag_id": kwargs.get("dag_id", "?"), "stage": "deadline", "run_id": None,
             "interval_start": now, "interval_end": now, "status": "failed", "started_at": None, "ended_at": now,
             "records_in": None, "records_out": None, "quarantined": 0, "failed": 0, "counts": {},
             "model_versions": [], "warnings": [], "error": f"deadline missed: {kwargs}"})
