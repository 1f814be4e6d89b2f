"""The whole product over synthetic data with injected incidents (the README demo and the e2e test).

    day 1 (incident-free history)  `opsradar backfill` stages: ingest -> clean -> featurize
                                   then train_logs + train_metrics (the retrain DAG's tasks)
    days 2..N                      the `opsradar_pipeline` DAG with dag.test(), one run per day:
                                   ingest -> clean -> validate -> featurize -> score -> Elasticsearch
    last day                       the `opsradar_capacity_plan` stages: forecast -> plan (report) -> sink
    then                           anomalies read back from Elasticsearch, merged into alerts and
                                   scored against ground_truth.json (incident recall, alert precision)
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from opsradar.synth.truth import Detection, TruthScore, load_incidents, parse_utc, score_detections

START = datetime(2026, 1, 5, tzinfo=timezone.utc)
STAGES_HISTORY = ("ingest_logs", "ingest_metrics", "clean_logs", "featurize_logs", "featurize_metrics")
STAGES_TRAIN = ("train_logs", "train_metrics")
STAGES_PLAN = ("forecast_metrics", "plan_capacity", "sink_results")
ALERT_GAP = timedelta(minutes=10)  # anomalous windows of one host this close together are one alert

# Settings for the synthetic estate (merged under the generated [[log_sources]]/[[metric_sources]]).
CONFIG_TEMPLATE = """\
# Written by opsradar.synth.pipeline for the synthetic demo / end-to-end test.
[storage]
root = "{lake}"

[es]
url = "{es_url}"
index_prefix = "{index_prefix}"

[log_model]
epochs = {log_epochs}

[metrics]
step_seconds = 60          # the generator samples every 60 s
context_length = 128
prediction_length = 16
pretrain_epochs = 1
finetune_epochs = 2
windows_per_epoch = 1024
plan_horizon_days = [7, 30]
[metrics.resources.cpu]
usage_metric = "cpu_pct"
unit = "percent"
capacity = 100.0
[metrics.resources.memory]
usage_metric = "mem_pct"
unit = "percent"
capacity = 100.0
"""
LOG_FEATURES = """
[[features.logs]]
source = "{source}"
latency_regex = " (\\\\d+)ms"
[[features.logs.groupings]]
mode = "time"
window = "10m"
"""
METRIC_FEATURES = """
[[features.metrics]]
source = "synth-hosts"
step = "1m"
"""


@dataclass
class SyntheticRun:
    workdir: Path
    days: int = 3
    scale: float = 0.3
    seed: int = 3
    log_epochs: int = 3
    stage_seconds: dict[str, float] = field(default_factory=dict)
    dag_runs: list[dict] = field(default_factory=list)

    @property
    def data(self) -> Path:
        return self.workdir / "data"

    @property
    def config_path(self) -> Path:
        return self.workdir / "opsradar.toml"

    @property
    def truth_path(self) -> Path:
        return self.data / "ground_truth.json"

    def day(self, k: int) -> tuple[datetime, datetime]:
        return START + timedelta(days=k), START + timedelta(days=k + 1)


def write_config(run: SyntheticRun, es_url: str, index_prefix: str) -> Path:
    from opsradar.synth.catalog import SERVICES

    text = CONFIG_TEMPLATE.format(lake=run.workdir / "lake", es_url=es_url, index_prefix=index_prefix, log_epochs=run.log_epochs)
    text += "\n" + (run.data / "opsradar.sources.toml").read_text(encoding="utf-8")
    text += "".join(LOG_FEATURES.format(source=f"synth-{s.name}") for s in SERVICES) + METRIC_FEATURES
    run.config_path.write_text(text, encoding="utf-8")
    return run.config_path


def generate_data(run: SyntheticRun) -> None:
    """Day 1 is incident-free (the history the models learn normal from); one incident of each kind after it."""
    from opsradar.synth.generate import generate

    generate(run.data, days=run.days, seed=run.seed, start=START, scale=run.scale,
             incidents_per_kind=max(1, math.ceil((run.days - 1) / 3)), warmup_hours=24.0)


def timed_stage(run: SyntheticRun, name: str, fn: Callable[[], dict]) -> dict:
    """Run `fn` and add its wall seconds to `run.stage_seconds[name]`."""
    t0 = time.monotonic()
    out = fn()
    run.stage_seconds[name] = run.stage_seconds.get(name, 0.0) + time.monotonic() - t0
    return out


def run_history_and_train(run: SyntheticRun, progress: Callable[[str], None] = lambda _: None) -> None:
    from opsradar.pipeline.tasks import run_stage

    start, end = run.day(0)
    for name in (*STAGES_HISTORY, *STAGES_TRAIN):
        progress(f"history day {start:%Y-%m-%d}: {name}")
        timed_stage(run, name, lambda name=name: run_stage(name, start, end, str(run.config_path)))


def run_pipeline_days(run: SyntheticRun, progress: Callable[[str], None] = lambda _: None) -> None:
    """One `opsradar_pipeline` dag.test() run per scored day (a manual run's interval ends at its logical date)."""
    from opsradar.airflow_harness import run_dag

    env = {"OPSRADAR_CONFIG": str(run.config_path)}
    for k in range(1, run.days):
        start, end = run.day(k)
        progress(f"DAG opsradar_pipeline for {start:%Y-%m-%d}")
        summary = timed_stage(run, "opsradar_pipeline", lambda end=end: run_dag(
            "opsradar_pipeline", end, home=run.workdir / "airflow", extra_env=env, log_file=run.workdir / "dag-runs.log"))
        run.dag_runs.append(summary)


def run_capacity_plan(run: SyntheticRun, progress: Callable[[str], None] = lambda _: None) -> str:
    """The capacity-plan DAG's stages over the whole history; returns the report path."""
    from opsradar.pipeline.tasks import run_stage

    start, end = START, run.day(run.days - 1)[1]
    report = ""
    for name in STAGES_PLAN:
        progress(f"capacity plan: {name}")
        out = timed_stage(run, name, lambda name=name: run_stage(name, start, end, str(run.config_path)))
        report = next((o for o in out.get("outputs", []) if o.endswith(".md")), report)
    return report


def anomalies_from_es(es, prefix: str, since: datetime, until: datetime, min_score: float) -> list[dict]:
    """Every anomalous window (is_anomaly, score >= the alert rules' threshold) in [since, until), oldest first."""
    from elasticsearch.helpers import scan

    query = {"bool": {"filter": [{"term": {"event.kind": "alert"}}, {"term": {"opsradar.is_anomaly": True}},
                                 {"range": {"opsradar.score_normalized": {"gte": min_score}}},
                                 {"range": {"@timestamp": {"gte": since.isoformat(), "lt": until.isoformat()}}}]}}
    hits = scan(es, index=f"{prefix}-anomalies-*", query={"query": query}, preserve_order=False)
    return sorted((h["_source"] | {"_id": h["_id"]} for h in hits), key=lambda d: d["@timestamp"])


def merge_alerts(anomalies: list[dict], gap: timedelta = ALERT_GAP) -> list[dict]:
    """Consecutive anomalous windows of one host (any family) become one alert, as an on-call sees them."""
    def host_of(doc: dict) -> str:
        return doc.get("host", {}).get("name") or doc["opsradar"]["entity"]

    alerts: list[dict] = []
    for doc in sorted(anomalies, key=lambda d: (host_of(d), d["opsradar"]["window"]["start"])):
        host, ops = host_of(doc), doc["opsradar"]
        start, end = parse_utc(ops["window"]["start"]), parse_utc(ops["window"]["end"])
        cur = alerts[-1] if alerts and alerts[-1]["host"] == host and start - alerts[-1]["end"] <= gap else None
        if cur is None:
            alerts.append({"host": host, "service": doc.get("service", {}).get("name"), "start": start, "end": end,
                           "score": ops["score_normalized"], "why": doc["message"], "families": {ops["family"]}, "windows": 1})
            continue
        cur["end"] = max(cur["end"], end)
        cur["families"].add(ops["family"])
        if ops["score_normalized"] > cur["score"]:
            cur["score"], cur["why"] = ops["score_normalized"], doc["message"]
        cur["windows"] += 1
    return sorted(alerts, key=lambda a: a["start"])


def score_alerts(alerts: list[dict], incidents: list[dict]) -> TruthScore:
    return score_detections([Detection(a["start"], a["end"], a["host"], a["service"]) for a in alerts], incidents)


def evaluate(run: SyntheticRun, es, prefix: str, min_score: float) -> dict:
    """Alerts as the shipped Kibana rules raise them (score_normalized >= `min_score`, i.e.
    `kibana.anomaly_threshold`), scored against the ground truth of the scored days."""
    since, until = run.day(1)[0], run.day(run.days - 1)[1]
    incidents = [i for i in load_incidents(run.truth_path) if i["end"] > since]
    anomalies = anomalies_from_es(es, prefix, since, until, min_score)
    alerts = merge_alerts(anomalies)
    overall = score_alerts(alerts, incidents)
    by_family = {fam: score_alerts(merge_alerts([d for d in anomalies if d["opsradar"]["family"] == fam]), incidents).to_dict()
                 for fam in ("log", "metric")}
    return {"alert_threshold": min_score, "anomalous_windows": len(anomalies), "alerts": len(alerts), **overall.to_dict(), "by_family": by_family,
            "alert_list": [{**a, "start": a["start"].isoformat(), "end": a["end"].isoformat(), "families": sorted(a["families"])}
                           for a in alerts]}


def write_summary(run: SyntheticRun, result: dict) -> Path:
    path = run.workdir / "e2e-summary.json"
    path.write_text(json.dumps({"days": run.days, "scale": run.scale, "seed": run.seed, "stage_seconds": run.stage_seconds,
                                **result}, indent=2, default=str) + "\n", encoding="utf-8")
    return path
