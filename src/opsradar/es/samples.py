"""Deterministic sample result tables (schemas/arrow.py contracts) for tests, benchmarks and demos."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pyarrow as pa

from opsradar.ids import template_id, window_id
from opsradar.schemas.arrow import ANOMALY_SCORE, CAPACITY_PLAN, FORECAST_POINT, PIPELINE_RUN

SERVICES = ("checkout", "payments", "search", "auth")
TEMPLATES = ("Receiving block <*> src: <*> dest: <*>", "PacketResponder <*> for block <*> terminating",
             "Exception in thread <*> java.io.IOException: Connection reset", "Verification succeeded for <*>")


def anomaly_scores(n: int, start: datetime, span: timedelta, family: str = "log", seed: int = 7,
                   model_name: str = "minilm-logs", model_version: str = "1") -> pa.Table:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        ws = start + span * (i / max(n, 1))
        ws = ws.replace(microsecond=0)
        we = ws + timedelta(minutes=5)
        service = SERVICES[i % len(SERVICES)]
        host = f"node-{i % 13:02d}"
        entity = f"blk_{i}" if family == "log" else f"host={host},service={service}"
        normalized = round(min(100.0, rng.expovariate(1 / 20)), 3)
        templates = [{"template_id": template_id(t), "template": t, "share": round(s, 3)}
                     for t, s in zip(rng.sample(TEMPLATES, 2), (0.6, 0.4))] if family == "log" else None
        rows.append({
            "family": family, "window_id": window_id("hdfs" if family == "log" else "metrics", "session" if family == "log" else "metric",
                                                     entity, ws.isoformat(), we.isoformat()),
            "source": "hdfs" if family == "log" else "metrics", "entity": entity, "host": host, "service": service,
            "window_start": ws, "window_end": we, "score": round(normalized / 10, 4), "score_normalized": normalized,
            "is_anomaly": normalized >= 80, "threshold": 80.0, "model_name": model_name, "model_version": model_version,
            "top_templates": templates,
            "example_lines": [f"081109 203615 {i} INFO dfs.DataNode: line {k}" for k in range(2)] if family == "log" else None,
            "drivers": None if family == "log" else [{"metric": "cpu", "contribution": 0.7}, {"metric": "memory", "contribution": 0.3}],
            "labels": {"env": "test"},
        })
    return pa.Table.from_pylist(rows, schema=ANOMALY_SCORE)


def forecasts(n: int, issued_at: datetime) -> pa.Table:
    rows = []
    for i in range(n):
        base = 40 + i % 7
        rows.append({"source": "metrics", "entity": f"vm-{i % 5}", "metric": "cpu", "unit": "percent", "host": f"vm-{i % 5}",
                     "service": SERVICES[i % 4], "issued_at": issued_at, "target_time": issued_at + timedelta(hours=1 + i // 5),
                     "horizon_steps": 1 + i // 5, "p10": base - 5.0, "p50": float(base), "p90": base + 8.0, "p95": base + 12.0,
                     "model_name": "patchtst", "model_version": "3"})
    return pa.Table.from_pylist(rows, schema=FORECAST_POINT)


def capacity_plans(plan_date: datetime) -> pa.Table:
    rows = [{"plan_date": plan_date, "source": "metrics", "entity": f"vm-{i}", "host": f"vm-{i}", "service": SERVICES[i % 4],
             "resource": res, "unit": "percent", "status": ("ok", "warning", "critical")[i % 3], "current_p95": 50.0 + i,
             "forecast_peak_p95_7d": 60.0 + i, "forecast_peak_p95_30d": 70.0 + i, "saturation_threshold": 80.0,
             "days_to_saturation": None if i % 3 == 0 else 30.0 - i, "recommended_request": 2.0, "recommended_limit": 3.0,
             "recommended_replicas": 3, "over_provisioning_cost": 1.5, "under_provisioning_cost": 0.0,
             "model_name": "patchtst", "model_version": "3"} for i in range(5) for res in ("cpu", "memory")]
    return pa.Table.from_pylist(rows, schema=CAPACITY_PLAN)


def pipeline_runs(interval_start: datetime, interval_end: datetime) -> pa.Table:
    rows = [{"dag_id": "opsradar_logs", "stage": stage, "run_id": "manual__1", "interval_start": interval_start,
             "interval_end": interval_end, "status": status, "started_at": interval_end, "ended_at": interval_end + timedelta(seconds=30),
             "records_in": 1000, "records_out": 990, "quarantined": 10, "failed": 0 if status != "failed" else 1,
             "counts": {"lines_read": 1000}, "model_versions": ["minilm-logs:1"], "warnings": [],
             "error": "boom" if status == "failed" else None}
            for stage, status in (("ingest_logs", "success"), ("clean_logs", "success"), ("score_logs", "failed"))]
    return pa.Table.from_pylist(rows, schema=PIPELINE_RUN)
