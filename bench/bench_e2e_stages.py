"""Benchmark: stage times of the whole pipeline for 1 day and for 7 days of synthetic data.

For each size N: generate N+1 days (day 1 is training history), run every stage with the
same functions the DAG tasks call (`opsradar backfill` path, one interval per day), and
record wall seconds per stage. The baseline is the 1-day run of the same command: the
table shows how cost grows with input (ratio 7-day / 1-day per stage; 7.0 is linear).

    .venv/bin/python bench/bench_e2e_stages.py --days 1 7 --scale 1.0 --out bench/results/e2e_stages.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from rich.progress import Progress

SCORED_STAGES = ("ingest_logs", "ingest_metrics", "clean_logs", "validate_clean_logs", "validate_metrics",
                 "featurize_logs", "featurize_metrics", "score_logs", "score_metrics", "sink_results")


def run_size(days: int, scale: float, es_url: str, progress: Progress) -> dict:
    from opsradar.pipeline.tasks import run_stage
    from opsradar.synth import pipeline as sp

    work = Path(tempfile.mkdtemp(prefix=f"opsradar-bench-e2e-{days}d-"))
    run = sp.SyntheticRun(work, days=days + 1, scale=scale, seed=0)
    t0 = time.perf_counter()
    sp.generate_data(run)
    gen_s = time.perf_counter() - t0
    sp.write_config(run, es_url, f"bench-e2e-{days}d")
    os.environ["OPSRADAR_CONFIG"] = str(run.config_path)
    lines = sum(1 for f in (run.data / "logs").rglob("*.log") for _ in open(f, "rb"))
    task = progress.add_task(f"{days} day(s)", total=1 + days * len(SCORED_STAGES))
    sp.run_history_and_train(run)
    history, run.stage_seconds = run.stage_seconds, {}
    progress.advance(task)
    for k in range(1, days + 1):
        start, end = run.day(k)
        for name in SCORED_STAGES:
            sp.timed_stage(run, name, lambda name=name: run_stage(name, start, end, str(run.config_path)))
            progress.advance(task)
    timings = run.stage_seconds
    shutil.rmtree(work, ignore_errors=True)
    return {"days": days, "log_lines_scored_days": int(lines * days / (days + 1)), "generate_s": gen_s,
            "history_and_training_s": history, "stages_s": timings}


def render(results: list[dict], command: str, scale: float) -> str:
    base, big = results[0], results[-1]
    rows = []
    for name in SCORED_STAGES:
        a, b = base["stages_s"].get(name, 0.0), big["stages_s"].get(name, 0.0)
        rows.append(f"| {name} | {a:.1f} | {b:.1f} | {b / a if a else float('nan'):.2f} |")
    ta, tb = sum(base["stages_s"].values()), sum(big["stages_s"].values())
    rows.append(f"| **all scored-day stages** | **{ta:.1f}** | **{tb:.1f}** | **{tb / ta:.2f}** |")
    train = " / ".join(f"{k} {v:.1f}s" for k, v in big["history_and_training_s"].items() if k.startswith("train"))
    return f"""# Pipeline stage times: 1 day vs 7 days (synthetic data)

Command: `{command}`
Machine: {platform.machine()} {os.cpu_count()}-core VM, 24 GiB, no GPU (Python {platform.python_version()}, Spark local[2], CPU models)
Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; data: `opsradar generate` seed 0, scale {scale}
({base['log_lines_scored_days']:,} log lines for 1 day, {big['log_lines_scored_days']:,} for {big['days']} days; 7 host metrics x 4 series at 60 s).

Each stage runs once per day interval (as the daily DAG does), with the same function the DAG task
calls; times are wall seconds summed over the days. A day of incident-free history is ingested and
the models are trained on it first (not in the table; {big['days']}-day run: {train}).
Baseline: the 1-day run in the same invocation; ratio = {big['days']}-day / 1-day (linear growth = {big['days']:.1f}).

| stage | 1 day (s) | {big['days']} days (s) | ratio |
|---|---:|---:|---:|
""" + "\n".join(rows) + """

"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, nargs="+", default=[1, 7])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--out", default="bench/results/e2e_stages.md")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    from opsradar.config import load_config
    from opsradar.es.node import LocalNode

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    state = LocalNode(load_config(None).es.local).start()
    results = []
    with Progress() as progress:
        for days in sorted(args.days):
            results.append(run_size(days, args.scale, state.url, progress))
    command = "bench/bench_e2e_stages.py " + " ".join(f"--days {' '.join(map(str, args.days))} --scale {args.scale}".split())
    Path(args.out).write_text(render(results, ".venv/bin/python " + command, args.scale), encoding="utf-8")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(Path(args.out).read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
