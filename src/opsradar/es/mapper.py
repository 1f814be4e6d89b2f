"""Result rows (schemas/arrow.py: ANOMALY_SCORE, FORECAST_POINT, CAPACITY_PLAN, PIPELINE_RUN) -> ECS documents.

Every document gets a deterministic `_id` from opsradar.ids.document_id(family, key, model
family), so indexing the same result again overwrites it. A row that breaks its contract
raises InvalidRow naming the field; the sink dead-letters it with that reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from opsradar.ids import document_id

ECS_VERSION = "8.11.0"
FAMILY_OF_SCORE = {"log": "anomaly.log", "metric": "anomaly.metric"}


class InvalidRow(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"field [{field}]: {message}")
        self.field = field


@dataclass(frozen=True)
class Document:
    family: str  # key of opsradar.es.setup.FAMILIES
    id: str
    source: dict[str, Any]


def _iso(ts: datetime) -> str:
    return ts.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _req(row: dict, name: str) -> Any:
    value = row.get(name)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        raise InvalidRow(name, "is required")
    return value


def _num(row: dict, name: str, required: bool = False) -> float | None:
    value = _req(row, name) if required else row.get(name)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isinf(value):
        raise InvalidRow(name, f"must be a finite number, got {value!r}")
    return float(value)


def _ts(row: dict, name: str) -> datetime:
    value = _req(row, name)
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidRow(name, f"must be a UTC timestamp, got {value!r}")
    return value


def _common(row: dict, kind: str, dataset: str, categories: list[str], types: list[str]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "ecs": {"version": ECS_VERSION},
        "event": {"kind": kind, "category": categories, "type": types, "dataset": dataset, "module": "opsradar"},
    }
    if row.get("host"):
        doc["host"] = {"name": row["host"]}
    if row.get("service"):
        doc["service"] = {"name": row["service"]}
    labels = row.get("labels")
    if labels:
        doc["labels"] = dict(labels) if not isinstance(labels, dict) else labels
    return doc


def _level(score_normalized: float, is_anomaly: bool) -> str:
    if not is_anomaly:
        return "info"
    return "critical" if score_normalized >= 90 else "error" if score_normalized >= 75 else "warning"


def anomaly_document(row: dict) -> Document:
    """One ANOMALY_SCORE row -> an `event.kind: alert` document."""
    kind = _req(row, "family")
    if kind not in FAMILY_OF_SCORE:
        raise InvalidRow("family", f"must be 'log' or 'metric', got {kind!r}")
    family = FAMILY_OF_SCORE[kind]
    window_id, model_name = _req(row, "window_id"), _req(row, "model_name")
    start, end = _ts(row, "window_start"), _ts(row, "window_end")
    if end < start:
        raise InvalidRow("window_end", f"{end} is before window_start {start}")
    score = _num(row, "score", required=True)
    normalized = _num(row, "score_normalized", required=True)
    if not 0.0 <= normalized <= 100.0:
        raise InvalidRow("score_normalized", f"must be within 0-100, got {normalized}")
    is_anomaly = bool(_req(row, "is_anomaly"))
    entity, source = _req(row, "entity"), _req(row, "source")
    templates = [
        {"template_id": t.get("template_id"), "template": t.get("template"), "share": t.get("share")}
        for t in (row.get("top_templates") or [])
    ]
    drivers = [{"metric": d.get("metric"), "contribution": d.get("contribution")} for d in (row.get("drivers") or [])]
    example_lines = list(row.get("example_lines") or [])
    why = (f"top template: {templates[0]['template']}" if templates
           else f"driven by {drivers[0]['metric']}" if drivers else "")
    doc = _common(row, "alert", f"opsradar.anomalies.{kind}", ["host"] if kind == "metric" else ["process"], ["info"])
    doc["@timestamp"] = _iso(start)
    doc["event"].update({"id": window_id, "severity": int(round(normalized)), "risk_score": normalized,
                         "start": _iso(start), "end": _iso(end)})
    doc["log"] = {"level": _level(normalized, is_anomaly)}
    doc["message"] = (f"{kind} anomaly {normalized:.1f}/100 on {entity} ({source})" + (f": {why}" if why else ""))
    ops: dict[str, Any] = {
        "family": kind, "source": source, "entity": entity, "window_id": window_id,
        "score": score, "score_normalized": normalized, "is_anomaly": is_anomaly,
        "window": {"start": _iso(start), "end": _iso(end)},
        "model": {"name": model_name, "version": _req(row, "model_version")},
    }
    if row.get("threshold") is not None:
        ops["threshold"] = _num(row, "threshold")
    if templates:
        ops["top_templates"], ops["top_template"] = templates, templates[0]["template"]
    if example_lines:
        ops["example_lines"] = example_lines
    if drivers:
        ops["drivers"], ops["top_driver"] = drivers, drivers[0]["metric"]
    doc["opsradar"] = ops
    return Document(family, document_id(family, window_id, model_name), doc)


def forecast_document(row: dict) -> Document:
    """One FORECAST_POINT row -> an `event.kind: metric` document at the target time."""
    source, entity, metric = _req(row, "source"), _req(row, "entity"), _req(row, "metric")
    issued, target = _ts(row, "issued_at"), _ts(row, "target_time")
    model_name = _req(row, "model_name")
    q = {name: _num(row, name, required=name != "p10") for name in ("p10", "p50", "p90", "p95")}
    ordered = [v for v in (q["p10"], q["p50"], q["p90"], q["p95"]) if v is not None]
    if ordered != sorted(ordered):
        raise InvalidRow("p50", f"quantiles must be ordered p10 <= p50 <= p90 <= p95, got {q}")
    doc = _common(row, "metric", "opsradar.forecasts", ["host"], ["info"])
    doc["@timestamp"] = _iso(target)
    doc["message"] = f"forecast {metric} for {entity} at {_iso(target)}: p50 {q['p50']:.4g}, p95 {q['p95']:.4g}"
    doc["opsradar"] = {
        "family": "forecast", "source": source, "entity": entity,
        "model": {"name": model_name, "version": _req(row, "model_version")},
        "forecast": {"metric": metric, "issued_at": _iso(issued), "horizon_steps": int(_req(row, "horizon_steps")),
                     "quantiles": {k: v for k, v in q.items() if v is not None},
                     **({"unit": row["unit"]} if row.get("unit") else {})},
    }
    key = "|".join((source, entity, metric, _iso(issued), _iso(target)))
    return Document("forecast", document_id("forecast", key, model_name), doc)


CAPACITY_NUMBERS = ("current_p95", "forecast_peak_p95_7d", "forecast_peak_p95_30d", "saturation_threshold",
                    "days_to_saturation", "recommended_request", "recommended_limit", "over_provisioning_cost",
                    "under_provisioning_cost")


def capacity_document(row: dict) -> Document:
    """One CAPACITY_PLAN row -> an `event.kind: state` document for the plan day."""
    source, entity, resource = _req(row, "source"), _req(row, "entity"), _req(row, "resource")
    day, model_name = _ts(row, "plan_date"), _req(row, "model_name")
    status = _req(row, "status")
    if status not in ("ok", "warning", "critical"):
        raise InvalidRow("status", f"must be ok|warning|critical, got {status!r}")
    cap: dict[str, Any] = {"resource": resource, "status": status}
    for name in CAPACITY_NUMBERS:
        if (value := _num(row, name)) is not None:
            cap[name] = value
    if row.get("recommended_replicas") is not None:
        cap["recommended_replicas"] = int(row["recommended_replicas"])
    if row.get("unit"):
        cap["unit"] = row["unit"]
    doc = _common(row, "state", "opsradar.capacity", ["host"], ["info"])
    doc["@timestamp"] = _iso(day)
    days = cap.get("days_to_saturation")
    doc["message"] = (f"capacity {resource} on {entity}: {status}"
                      + (f", saturates in {days:.1f} days" if days is not None else ""))
    doc["opsradar"] = {"family": "capacity_plan", "source": source, "entity": entity, "capacity": cap,
                       "model": {"name": model_name, "version": _req(row, "model_version")}}
    key = "|".join((source, entity, resource, _iso(day)))
    return Document("capacity_plan", document_id("capacity_plan", key, model_name), doc)


def run_document(row: dict) -> Document:
    """One PIPELINE_RUN row -> an `event.kind: event` document (outcome success/failure)."""
    dag_id, stage, status = _req(row, "dag_id"), _req(row, "stage"), _req(row, "status")
    if status not in ("success", "partial", "failed"):
        raise InvalidRow("status", f"must be success|partial|failed, got {status!r}")
    start, end = _ts(row, "interval_start"), _ts(row, "interval_end")
    run: dict[str, Any] = {"dag_id": dag_id, "stage": stage, "status": status,
                           "interval": {"start": _iso(start), "end": _iso(end)}}
    for name in ("records_in", "records_out", "quarantined", "failed"):
        if row.get(name) is not None:
            run[name] = int(row[name])
    if row.get("run_id"):
        run["id"] = row["run_id"]
    counts = row.get("counts")
    if counts:
        run["counts"] = {str(k).replace(".", "_"): int(v) for k, v in (counts.items() if isinstance(counts, dict) else counts)}
    for name in ("model_versions", "warnings"):
        if row.get(name):
            run[name] = list(row[name])
    if row.get("error"):
        run["error"] = row["error"]
    doc = _common(row, "event", "opsradar.pipeline", ["process"], ["end"])
    doc["@timestamp"] = _iso(end)
    doc["event"]["outcome"] = "failure" if status == "failed" else "success"
    doc["log"] = {"level": {"success": "info", "partial": "warning", "failed": "error"}[status]}
    started, ended = row.get("started_at"), row.get("ended_at")
    if isinstance(started, datetime) and isinstance(ended, datetime):
        seconds = (ended - started).total_seconds()
        run["duration_s"] = seconds
        doc["event"].update({"start": _iso(started), "end": _iso(ended), "duration": int(seconds * 1e9)})
    doc["message"] = f"{dag_id}/{stage} [{_iso(start)}, {_iso(end)}): {status}" + (f": {row['error']}" if row.get("error") else "")
    doc["opsradar"] = {"run": run}
    key = "|".join((dag_id, stage, _iso(start), _iso(end)))
    return Document("pipeline_run", document_id("pipeline_run", key), doc)


MAPPERS = {"anomaly": anomaly_document, "forecast": forecast_document, "capacity_plan": capacity_document,
           "pipeline_run": run_document}
