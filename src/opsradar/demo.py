"""`opsradar demo`: sample logs -> DAG run -> Elasticsearch -> printed search.

Uses the Loghub samples in the shared dev data (`../shared/data` beside the repo, or
$OPSRADAR_DATA), a lake under ./var/demo, and the local Elasticsearch node.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

DEMO_SYSTEMS = {"HDFS": "hdfs", "BGL": "bgl", "Hadoop": "hadoop", "Spark": "spark", "Zookeeper": "zookeeper", "OpenSSH": "sshd"}
DEMO_DAY_END = datetime(2008, 11, 11, tzinfo=timezone.utc)  # the run covers 2008-11-10 (HDFS sample)
DEMO_PREFIX = "opsradar-demo-synth"  # the synthetic demo's indices (the Loghub demo uses opsradar-demo)


def data_dir() -> Path:
    if os.environ.get("OPSRADAR_DATA"):
        return Path(os.environ["OPSRADAR_DATA"])
    return Path(__file__).resolve().parents[3] / "shared" / "data"


def write_demo_config(workdir: Path, es_url: str) -> Path:
    loghub = data_dir() / "loghub"
    if not loghub.is_dir():
        raise SystemExit(f"sample data not found at {loghub}: set OPSRADAR_DATA to the shared data folder")
    sources = "".join(
        f'\n[[log_sources]]\nname = "{name}"\npath = "{loghub / name / f"{name}_2k.log"}"\nformat = "loghub:{name}"\nservice = "{svc}"\n'
        for name, svc in DEMO_SYSTEMS.items()
    )
    path = workdir / "opsradar.toml"
    path.write_text(f'[storage]\nroot = "{workdir / "lake"}"\n\n[es]\nurl = "{es_url}"\nindex_prefix = "opsradar-demo"\n{sources}')
    return path


def run_loghub_demo(work: Path, es_url: str, console) -> None:
    """The walking skeleton: Loghub samples of one day -> DAG (ingest, Spark clean, index) -> event search."""
    from rich.console import Console
    from rich.table import Table

    from opsradar.airflow_harness import run_dag
    from opsradar.config import load_config
    from opsradar.es.client import connect
    from opsradar.es.search import search_events

    config_path = write_demo_config(work, es_url)
    os.environ["OPSRADAR_CONFIG"] = str(config_path)
    with console.status("running DAG opsradar_logs_skeleton with dag.test() (ingest -> Spark clean -> index)..."):
        summary = run_dag("opsradar_logs_skeleton", DEMO_DAY_END, home=work / "airflow",
                          extra_env={"OPSRADAR_CONFIG": str(config_path)}, log_file=work / "dag-run.log")
    console.print(f"[green]✓[/green] DAG run {summary['state']}: interval [{summary['data_interval_start']}, "
                  f"{summary['data_interval_end']}), tasks {summary['tasks']} (log: {work / 'dag-run.log'})")
    cfg = load_config(config_path)
    query = "exception OR error OR terminating"
    total, hits = search_events(connect(cfg.es), cfg.es.index_prefix, query, None, None, size=5)
    table = Table(title=f"Elasticsearch: {total} event(s) match {query!r}")
    for col in ("@timestamp", "source", "level", "message"):
        table.add_column(col, overflow="fold")
    for h in hits:
        table.add_row(h["@timestamp"], h["opsradar"]["source"], h["log"]["level"], h["message"][:120])
    Console().print(table)
    console.print(f"Try: [bold].venv/bin/opsradar search events 'blk_*' -c {config_path}[/bold]")


def run_synthetic_demo(work: Path, es_url: str, console, days: int = 3, scale: float = 0.3, seed: int = 3) -> dict:
    """Synthetic incidents -> history + training -> opsradar_pipeline DAG per day -> capacity plan ->
    top anomalies from Elasticsearch, alerts vs ground truth, capacity outlook."""
    from opsradar.synth import pipeline as sp

    _log_to_file(work / "demo.log")
    run = sp.SyntheticRun(work, days=days, scale=scale, seed=seed)
    _reset(work, es_url, DEMO_PREFIX)
    with console.status(f"generating {days} days of synthetic logs and metrics with injected incidents..."):
        sp.generate_data(run)
    sp.write_config(run, es_url, DEMO_PREFIX)
    console.print(f"[green]✓[/green] data in {run.data} (ground truth: {run.truth_path}); config {run.config_path}")
    os.environ["OPSRADAR_CONFIG"] = str(run.config_path)
    with console.status("...") as status:
        sp.run_history_and_train(run, lambda msg: status.update(msg))
        console.print(f"[green]✓[/green] history day ingested, cleaned, featurized; log and metric models trained")
        sp.run_pipeline_days(run, lambda msg: status.update(f"{msg} (dag.test; log: {work / 'dag-runs.log'})"))
        for s in run.dag_runs:
            console.print(f"[green]✓[/green] DAG opsradar_pipeline [{s['data_interval_start']}, {s['data_interval_end']}): "
                          f"{s['state']}, {len(s['tasks'])} tasks")
        report = sp.run_capacity_plan(run, lambda msg: status.update(msg))
    return print_synthetic_results(run, report, console)


def print_synthetic_results(run, report: str, console) -> dict:
    """What the demo prints, all read back from Elasticsearch (re-runnable on a finished demo)."""
    from rich.console import Console
    from rich.table import Table

    from opsradar.config import load_config
    from opsradar.es.client import connect
    from opsradar.es.search import search_anomalies
    from opsradar.synth import pipeline as sp

    out = Console()
    days = run.days
    cfg = load_config(run.config_path)
    es = connect(cfg.es)
    since, until = run.day(1)[0], run.day(days - 1)[1]
    threshold = cfg.kibana.anomaly_threshold
    for family in ("log", "metric"):
        total, hits = search_anomalies(es, cfg.es.index_prefix, since, until, min_score=threshold, family=family, size=1)
        out.print(f"Elasticsearch: {total} {family} windows scored >= {threshold:.0f}; the top one explains itself:")
        if hits:
            top = hits[0]["opsradar"]
            out.print({k: top.get(k) for k in ("entity", "window", "score_normalized", "model", "top_templates", "drivers",
                                                "example_lines") if top.get(k) is not None})
    result = sp.evaluate(run, es, cfg.es.index_prefix, threshold)
    table = Table(title=f"Alerts (windows >= {threshold:.0f} merged per host), from Elasticsearch")
    for col in ("start (UTC)", "end", "host", "from", "score", "why"):
        table.add_column(col, overflow="fold")
    for a in sorted(result["alert_list"], key=lambda a: (-a["score"], a["start"]))[:12]:
        why = a["why"].split(": ", 1)[-1] if ": " in a["why"] else a["why"]
        table.add_row(a["start"][5:16].replace("T", " "), a["end"][11:16], a["host"], "+".join(a["families"]),
                      f"{a['score']:.0f}", why[:70])
    out.print(table)
    truth = {i["id"]: i for i in sp.load_incidents(run.truth_path)}
    inc_table = Table(title=f"Injected incidents: {len(result['found'])}/{len(result['found']) + len(result['missed'])} found; "
                            f"{result['alerts']} alerts, precision {result['precision']:.2f}")
    for col in ("incident", "type", "host", "window (UTC)", "found"):
        inc_table.add_column(col)
    for iid in sorted(truth):
        i = truth[iid]
        if i["end"] <= since:
            continue
        inc_table.add_row(iid, i["type"], i["host"], f"{i['start']:%m-%d %H:%M} - {i['end']:%H:%M}",
                          "[green]yes[/green]" if iid in result["found"] else "[red]no[/red]")
    out.print(inc_table)
    _print_capacity_outlook(es, cfg.es.index_prefix, out)
    summary = sp.write_summary(run, result)
    console.print(f"Capacity report with plots: {report}\nSummary: {summary}\n"
                  f"Try: [bold].venv/bin/opsradar search anomalies --since {since:%Y-%m-%d} --min-score 80 -c {run.config_path}[/bold]")
    return result


def _reset(work: Path, es_url: str, prefix: str) -> None:
    """The demo starts clean: its own lake and its own `opsradar-demo-synth-*` indices only."""
    import shutil

    from elasticsearch import Elasticsearch

    shutil.rmtree(work / "lake", ignore_errors=True)
    es = Elasticsearch(es_url, request_timeout=60)
    indices = es.indices.get(index=f"{prefix}-*", ignore_unavailable=True, allow_no_indices=True)
    if indices:
        es.indices.delete(index=",".join(indices))


def _log_to_file(path: Path) -> None:
    """Stage logs (INFO) go to a file; the terminal keeps warnings and the demo's own lines."""
    import logging

    root = logging.getLogger()
    for handler in root.handlers:
        if not isinstance(handler, logging.FileHandler):
            handler.setLevel(logging.WARNING)
    file_handler = logging.FileHandler(path, encoding="utf-8")
    file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(file_handler)
    root.setLevel(logging.INFO)


def _print_capacity_outlook(es, prefix: str, out) -> None:
    from rich.table import Table

    index = f"{prefix}-capacity-plans*"
    latest = es.search(index=index, size=1, sort=[{"@timestamp": "desc"}], ignore_unavailable=True, allow_no_indices=True)
    if not latest["hits"]["hits"]:
        return
    day = latest["hits"]["hits"][0]["_source"]["@timestamp"]
    resp = es.search(index=index, size=100, sort=[{"opsradar.capacity.days_to_saturation": {"order": "asc", "missing": "_last"}}],
                     query={"term": {"@timestamp": day}})
    table = Table(title=f"Capacity outlook as of {day[:10]} (from Elasticsearch)")
    for col in ("host", "resource", "status", "p95 now", "p95 peak 7d", "days to saturation"):
        table.add_column(col)
    for h in resp["hits"]["hits"]:
        doc, cap = h["_source"], h["_source"]["opsradar"]["capacity"]
        fmt = lambda v: "-" if v is None else f"{v:.1f}"  # noqa: E731
        table.add_row(doc.get("host", {}).get("name", ""), cap.get("resource", ""), cap.get("status", ""),
                      fmt(cap.get("current_p95")), fmt(cap.get("forecast_peak_p95_7d")), fmt(cap.get("days_to_saturation")))
    out.print(table)
