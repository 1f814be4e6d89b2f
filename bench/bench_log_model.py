"""Log model scoring throughput: end to end (feature Parquet -> score Parquet) vs the bare model.

    .venv/bin/python bench/bench_log_model.py [--windows 2000] [--device auto] [--out bench/results/log_model.md]

Windows are real HDFS sessions (../shared/data/hdfs) and BGL 100-line windows, repeated to
--windows rows in one hour of a temporary lake. For each mode (unsupervised, supervised) and
CPU precision (fp32, int8) it measures, in the same run:
  - end to end: the `score_logs` stage (streamed Parquet read, unseen-template lookup,
    length-bucketed batches, scoring, explanations, ANOMALY_SCORE Parquet write);
  - baseline: the bare sequence-model forward passes the scorer needs, on the same
    length-bucketed, padded batches, tensors already in memory (unsupervised: one pass per
    masking group; supervised: one pass).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
DATA = Path(os.environ.get("OPSRADAR_DATA", REPO.parent / "shared" / "data"))


def real_windows() -> tuple[list[dict], dict[str, str]]:
    from opsradar.eval.logs import line_windows, load_sessions, make_templater

    hdfs = load_sessions(DATA / "hdfs" / "HDFS_5k.sessions.jsonl")
    bgl = line_windows(DATA / "loghub" / "BGL" / "BGL_2k.log", "loghub:BGL", make_templater()[0])
    rows = [{"id": i, "templates": t, "label": l} for i, t, l in zip(hdfs.ids, hdfs.templates, hdfs.labels)]
    rows += [{"id": i, "templates": t, "label": l} for i, t, l in zip(bgl.ids, bgl.templates, bgl.labels)]
    return rows, {}


def build_lake(root: Path, n: int, start: datetime) -> list[dict]:
    from test_log_model import _write_lake  # the same LOG_WINDOW/TEMPLATE writer the tests use

    from opsradar.ids import template_id

    base, _ = real_windows()
    rows = [{**base[i % len(base)], "id": f"{base[i % len(base)]['id']}#{i}"} for i in range(n)]
    texts = {template_id(t): t for r in base for t in r["templates"]}
    _write_lake(root, rows, texts, start)
    return base


def bare_forward(predictor, windows: list[list[str]], texts: dict[str, str], batch_size: int) -> float:
    """Seconds for the model's forward passes alone on the scorer's batch shapes."""
    from opsradar.models.logs.batching import iter_padded
    from opsradar.models.logs.predictor import masked_surprise

    rt = predictor.runtime
    rows, table = predictor._ids(windows, texts)
    table = table.to(rt.device)
    s = predictor.settings
    batches = [ids.to(rt.device) for _, ids in iter_padded(rows, batch_size, s.max_len, batch_size * min(s.max_len, 128))]
    if rt.device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    with torch.no_grad(), rt.autocast():
        for ids in batches:
            if s.mode == "supervised":
                predictor._run_net(table, ids)
            else:
                masked_surprise(predictor._run_net, table, ids, len(predictor.vocab), s.score_passes)
    if rt.device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--windows", type=int, default=2000)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "log_model.md"))
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from opsradar.config import OpsRadarConfig
    from opsradar.ids import template_id
    from opsradar.layout import Interval
    from opsradar.pipeline.score_logs import score_logs, train_logs

    start = datetime(2026, 1, 2, 3, tzinfo=timezone.utc)
    interval = Interval(start, start + timedelta(hours=1))
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-log-model-") as tmp:
        base = build_lake(Path(tmp) / "lake", args.windows, start)
        windows = [[template_id(t) for t in base[i % len(base)]["templates"]] for i in range(args.windows)]
        texts = {template_id(t): t for r in base for t in r["templates"]}
        for mode in ("unsupervised", "supervised"):
            cfg = OpsRadarConfig.from_dict({"storage": {"root": f"{tmp}/lake"}, "log_model": {
                "mode": mode, "epochs": 1, "device": args.device, "model_name": f"bench-{mode}"}})
            train_logs(cfg, interval)  # a real (short) training run so the model is a trained one
            precisions = ["fp32", "int8"] if not torch.cuda.is_available() or args.device == "cpu" else ["auto"]
            for precision in precisions:
                cfg.log_model.cpu_precision = precision if precision != "auto" else "fp32"
                from opsradar.pipeline.score_logs import load_predictor

                score_logs(cfg, interval)  # warm-up (loads, encodes templates once)
                t0 = time.perf_counter()
                res = score_logs(cfg, interval)
                e2e = time.perf_counter() - t0
                predictor, _ = load_predictor(cfg)
                bare_forward(predictor, windows[:256], texts, cfg.log_model.batch_size)  # warm-up
                bare = bare_forward(predictor, windows, texts, cfg.log_model.batch_size)
                rt = predictor.runtime
                row = {"mode": mode, "device": str(rt.device), "precision": rt.precision, "windows": res.counts["windows_scored"],
                       "e2e_windows_per_s": args.windows / e2e, "bare_windows_per_s": args.windows / bare}
                row["ratio"] = row["e2e_windows_per_s"] / row["bare_windows_per_s"]
                results.append(row)
                print(json.dumps(row))
    write_report(args, results)


def _mem_gib() -> int:
    return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30)


def write_report(args, results: list[dict]) -> None:
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    lines = [
        "# Log model scoring throughput", "",
        f"Command: `.venv/bin/python bench/bench_log_model.py --windows {args.windows} --device {args.device}`  ",
        f"Machine: {os.cpu_count()}-core VM, {_mem_gib()} GiB, {gpu}; torch {torch.__version__}, {torch.get_num_threads()} threads  ",
        f"Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC  ",
        f"Data: {args.windows} windows (real HDFS_5k sessions + BGL_2k 100-line windows, repeated), default model "
        "(d_model 128, 2 blocks, MiniLM-L6 template encoder, 1 training epoch; throughput does not depend on training length).", "",
        "End to end = `score_logs` stage: streamed Parquet read -> length-bucketed batches -> scores + explanations -> "
        "ANOMALY_SCORE Parquet (idempotent interval write). Bare = the sequence model's forward passes alone on the "
        "same padded batches (unsupervised: the 4 masking passes; supervised: 1 pass).", "",
        "| mode | device | precision | end-to-end windows/s | bare forward windows/s | end-to-end / bare |",
        "|---|---|---|---:|---:|---:|",
    ]
    for r in results:
        lines.append(f"| {r['mode']} | {r['device']} | {r['precision']} | {r['e2e_windows_per_s']:.0f} | "
                     f"{r['bare_windows_per_s']:.0f} | {r['ratio']:.2f} |")
    lines += ["", "GPU: not measured (no GPU was lent in this session); the CUDA path (bf16/fp16 autocast) is unverified.",
              "The machine is shared: absolute figures vary with load; compare the ratios, which come from the same run."]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
