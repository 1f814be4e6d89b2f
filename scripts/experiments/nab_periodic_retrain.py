"""NAB with causal periodic retraining (tried 2026-12-07, not kept; docs/metrics.md).

    .venv/bin/python scripts/experiments/nab_periodic_retrain.py SEED 0.4,0.65

Model 0 is trained on every file's probationary prefix (as `opsradar eval nab`); model k on the
data before fraction f_k of each file; each scores its own segment [f_k, f_k+1), so a point is
still scored from its past only. Scored with the NAB rules, thresholds tuned as in `eval nab`.
"""

import sys

import numpy as np

from opsradar.config import load_config
from opsradar.eval.nab import Corpus, probationary_length, score_corpus
from opsradar.models.metrics.anomaly import anomaly_likelihood, score_series
from opsradar.models.metrics.patchtst import MetricEstimator
from opsradar.pipeline.metrics_model import model_config

corpus = Corpus.load("../shared/data/nab")
seed, fracs = int(sys.argv[1]), [float(x) for x in sys.argv[2].split(",")]
m = load_config(None).metrics.model_copy(update={"seed": seed})
cfg = model_config(m)
cfg.device, cfg.calibration_fraction = "cpu", 0.0
cuts = {n: [int(probationary_length(s.n))] + [int(f * s.n) for f in fracs] for n, s in corpus.series.items()}
z = {n: np.zeros(s.n) for n, s in corpus.series.items()}
for k in range(len(fracs) + 1):
    predictor = MetricEstimator(cfg).train([corpus.values[n][:cuts[n][k]] for n in corpus.series])
    for n, s in corpus.series.items():
        scored = score_series(predictor, corpus.values[n], step=m.score_step, scale_window=m.scale_window)
        lo, hi = (0 if k == 0 else cuts[n][k]), (cuts[n][k + 1] if k + 1 < len(cuts[n]) else s.n)
        z[n][lo:hi] = np.nan_to_num(np.abs(scored.z)).max(axis=1)[lo:hi]
scores = {n: anomaly_likelihood(z[n], short_window=m.nab_short_window) for n in corpus.series}
results = score_corpus(corpus, scores, refractory=m.nab_refractory_points)
print("seed", seed, "retrained at", fracs, {p: round(r.normalized_score, 1) for p, r in results.items()})
