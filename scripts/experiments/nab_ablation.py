"""What each part of the NAB detector adds (2026-12-07; docs/metrics.md).

    .venv/bin/python scripts/experiments/nab_ablation.py NAB_ROOT SEED [SEED ...]

Per seed the model's forecast-error z is computed once (`nab_forecast_z`, as `opsradar eval nab`
does), then `nab_final_scores` is applied with parts switched off or changed, and each variant
is scored with the NAB rules (thresholds tuned per profile, the configured alarm throttle).
Prints one JSON line per seed and variant.
"""

import json
import sys

from opsradar.config import load_config
from opsradar.eval.nab import Corpus, score_corpus
from opsradar.pipeline.metrics_model import nab_final_scores, nab_forecast_z

VARIANTS = {
    "default": {},
    "no_range_novelty": {"nab_range_tolerance": None},
    "no_seasonal": {"nab_seasonal_min_correlation": None},
    "likelihood_only": {"nab_range_tolerance": None, "nab_seasonal_min_correlation": None},
    "short_window_5": {"nab_short_window": 5},
    "seasonal_min_correlation_0.5": {"nab_seasonal_min_correlation": 0.5},
    "seasonal_min_correlation_0.9": {"nab_seasonal_min_correlation": 0.9},
}


def main(root: str, seeds: list[int]) -> None:
    corpus = Corpus.load(root)
    base = load_config().metrics
    for seed in seeds:
        m = base.model_copy(update={"seed": seed})
        z = nab_forecast_z(corpus, m)
        for name, update in VARIANTS.items():
            v = m.model_copy(update=update)
            scores = {n: nab_final_scores(z[n], corpus.values[n], s.timestamps, int(s.scorable.argmax()), v)
                      for n, s in corpus.series.items()}
            results = score_corpus(corpus, scores, refractory=v.nab_refractory_points)
            print(json.dumps({"seed": seed, "variant": name, "files": len(corpus.series),
                              "scores": {p: round(r.normalized_score, 2) for p, r in results.items()}}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], [int(s) for s in sys.argv[2:]])
