"""Metric model throughput: context windows per second, model forward vs. end-to-end scoring.

    .venv/bin/python bench/bench_metrics.py [--device cpu|cuda] [--windows 2048] [--out bench/results/metrics.md]

Baseline (ratio 1.00): the PatchTST forward pass of one member of the pipeline's model
(transformers' normal distribution head, std scaling) with patch 16 / stride 8, on random-init weights of the default
size (speed does not depend on training). Compared in the same run: the same forward with
stride 1, the pipeline's 3-member ensemble (median of members), the pinball-loss quantile head with
robust scaling (what `eval forecast` uses), the pipeline's forecaster (3 quantile-head
members) with its raw and its split-conformal calibrated band, and end-to-end
streaming scoring of a NAB series (context building, forecasts, robust scaling, 0-100
calibration), counted in forecast windows and in scored points.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import torch

REPO = Path(__file__).resolve().parents[1]


def _model(stride: int, device: str, distribution: str = "normal", scaling: str = "std", ensemble_size: int = 1):
    from opsradar.models.metrics.patchtst import MetricModelConfig, MetricPredictor, build_forecaster

    cfg = MetricModelConfig(context_length=256, prediction_length=24, d_model=32, ffn_dim=64, patch_stride=stride, device=device,
                            distribution=distribution, scaling=scaling, ensemble_size=ensemble_size)
    torch.manual_seed(0)
    return MetricPredictor(build_forecaster(cfg), cfg).to(device)


def _rate(fn, n: int, repeats: int = 3) -> float:
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return n / best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--windows", type=int, default=2048)
    ap.add_argument("--out", default=str(REPO / "bench/results/metrics.md"))
    ap.add_argument("--data", default=os.environ.get("OPSRADAR_DATA", str(REPO.parent / "shared/data")))
    args = ap.parse_args()
    from opsradar.models.metrics.anomaly import detector_score, score_series

    series = pd.read_csv(Path(args.data) / "nab/data/realKnownCause/machine_temperature_system_failure.csv")["value"].to_numpy()
    rng = np.random.default_rng(0)
    starts = rng.integers(0, len(series) - 256, size=args.windows)
    contexts = np.stack([series[s:s + 256, None] for s in starts]).astype(np.float32)
    stride8, stride1, quantile = _model(8, args.device), _model(1, args.device), _model(8, args.device, "quantile", "robust")
    ensemble = _model(8, args.device, ensemble_size=3)
    rows = []
    base = _rate(lambda: stride8.forecast(contexts, batch_size=256), len(contexts))
    rows.append(("forward, patch 16 / stride 8 (baseline)", base, "windows/s"))
    rows.append(("forward, patch 16 / stride 1", _rate(lambda: stride1.forecast(contexts, batch_size=256), len(contexts), 1), "windows/s"))
    rows.append(("forward, stride 8, 3-member ensemble (pipeline default)",
                 _rate(lambda: ensemble.forecast(contexts, batch_size=256), len(contexts)), "windows/s"))
    rows.append(("forward, stride 8, quantile head (9 levels, robust scaling)",
                 _rate(lambda: quantile.forecast(contexts, batch_size=256), len(contexts)), "windows/s"))
    forecaster = _model(8, args.device, "quantile", "robust", ensemble_size=3)
    raw = _rate(lambda: forecaster.forecast(contexts, batch_size=256, calibrated=False), len(contexts))
    forecaster.calibrate([series.astype(np.float32)], [len(series) // 5])  # split-conformal factors on the last 20%
    rows.append(("forward, stride 8, forecaster (3-member quantile head), raw band", raw, "windows/s"))
    rows.append(("forward, stride 8, forecaster, calibrated band (what forecasts and plans use)",
                 _rate(lambda: forecaster.forecast(contexts, batch_size=256), len(contexts)), "windows/s"))
    points = series[:8192]
    origins = (len(points) - 256 + 7) // 8
    e2e = _rate(lambda: score_series(stride8, points, step=8), origins, 1)
    rows.append(("end-to-end streaming scoring (step 8)", e2e, "windows/s"))
    rows.append(("end-to-end streaming scoring (step 8), scored points", e2e * 8, "points/s"))
    e2e_ens = _rate(lambda: score_series(ensemble, points, step=8), origins, 1)
    rows.append(("end-to-end streaming scoring (step 8), 3-member ensemble", e2e_ens, "windows/s"))

    def nab_mode():  # what score_metrics adds in score_mode "nab" (the default): detector_score over the series
        scored = score_series(stride8, points, step=8)
        detector_score(np.nan_to_num(scored.z[:, 0]), points, 300, len(points) // 2, 256 + 288)

    rows.append(("end-to-end streaming scoring (step 8) + detector_score (score_mode nab)", _rate(nab_mode, origins, 1), "windows/s"))

    # One pipeline scoring run: the lookback (256 + 1024 points) and a day (288), with and without
    # the 28 days of history score_mode nab remembers (range and season; nab_history), on a series
    # with a daily season (so the seasonal-naive error is computed over all of it): art_daily_jumpsup
    # (14 days), its first 1,856 points as the run and the file twice as the history.
    daily = pd.read_csv(Path(args.data) / "nab/data/artificialWithAnomaly/art_daily_jumpsup.csv")["value"].to_numpy()
    run, remembered = daily[:1568 + 288], np.tile(daily, 2)[:8064]
    run_origins = (len(run) - 256 + 7) // 8

    def nab_run(history):
        scored = score_series(stride8, run, step=8)
        detector_score(np.nan_to_num(scored.z[:, 0]), run, 300, 1568, 256 + 288, history=history)

    rows.append(("one scoring run (lookback + 1 day, daily season) + detector_score, no history", _rate(lambda: nab_run(None), run_origins), "windows/s"))
    rows.append(("one scoring run (lookback + 1 day, daily season) + detector_score, 28 days remembered (nab_history)",
                 _rate(lambda: nab_run(remembered), run_origins), "windows/s"))

    cpu = platform.processor() or platform.machine()
    lines = [
        "# Metric model throughput", "",
        f"Command: `.venv/bin/python bench/bench_metrics.py --device {args.device} --windows {args.windows}`  ",
        f"Machine: 2-core VM, 24 GiB, no GPU ({cpu}, {os.cpu_count()} logical CPUs, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; the VM was shared with other jobs, so absolute rates are noisy)  ",
        f"Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC  ",
        f"Device: {args.device}; model: PatchTST context 256, horizon 24, d_model 32, 2 layers, normal head, 1 member unless stated (the pipeline default is 3); windows of "
        "`machine_temperature_system_failure` (NAB).", "",
        "| what | rate | unit | ratio vs baseline |", "|---|---:|---|---:|",
    ]
    for name, rate, unit in rows:
        lines.append(f"| {name} | {rate:,.0f} | {unit} | {rate / base:.2f} |")
    lines += ["", "GPU: not measured (no GPU was lent to this session); the code selects CUDA with `--device cuda` "
              "and runs the forward under bf16 autocast there."]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
