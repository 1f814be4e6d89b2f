"""The detector's 1 h p90/p95 band on Bitbrains, raw vs split-conformal calibrated (same model).

    .venv/bin/python scripts/experiments/band_coverage_raw_vs_calibrated.py ENSEMBLE_SIZE CALIBRATION_FRACTION SEED
    (docs/metrics.md used: 3 0.2 0 and 3 0.2 1)

Pipeline defaults (normal head, std scaling, context 256, horizon 24), trained on the data before
the last 3 days, forecast from every hourly origin of those days; MASE, pinball and coverage
as `opsradar eval forecast` defines them.
"""

import sys

import numpy as np
import pandas as pd

from opsradar.config import OpsRadarConfig
from opsradar.eval.forecast import DAY, load_traces, mase_scale, pinball
from opsradar.models.metrics.patchtst import MetricEstimator
from opsradar.pipeline.metrics_model import model_config

cfg = model_config(OpsRadarConfig().metrics)
cfg.ensemble_size, cfg.calibration_fraction, cfg.seed, cfg.device = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), "cpu"
series = load_traces("../shared/data/bitbrains")
end = min(len(v) for v in series.values())
first = end - 3 * DAY
predictor = MetricEstimator(cfg).train([v[:first] for v in series.values()])
jobs = [(n, o) for n in series for o in range(first, end - 12 + 1, 12)]
ctx = np.stack([pd.Series(series[n][:o][-cfg.context_length:]).ffill().bfill().to_numpy()[:, None] for n, o in jobs])
for calibrated in (False, True):
    f = predictor.forecast(ctx, quantiles=(0.5, 0.9, 0.95), calibrated=calibrated)
    res = {k: [] for k in ("mase", "pinball_p90", "coverage_p90", "pinball_p95", "coverage_p95")}
    for k, (n, o) in enumerate(jobs):
        y = series[n]
        scale, actual = mase_scale(y[:o]), y[o:o + 12]
        res["mase"].append(np.nanmean(np.abs(actual - f[0.5][k, :12, 0])) / scale)
        for q in (0.9, 0.95):
            res[f"pinball_p{int(q * 100)}"].append(pinball(actual, f[q][k, :12, 0], q) / scale)
            res[f"coverage_p{int(q * 100)}"].append(np.nanmean(actual <= f[q][k, :12, 0]))
    print("calibrated" if calibrated else "raw", {k: round(float(np.mean(v)), 3) for k, v in res.items()})
print(predictor.training.get("calibration"))
