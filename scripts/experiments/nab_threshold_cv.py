"""NAB scores with thresholds chosen on other files (2026-12-07; docs/metrics.md).

    .venv/bin/python scripts/experiments/nab_threshold_cv.py NAB_ROOT SEED [SEED ...]

NAB (and every published result) tunes each profile's threshold on the whole corpus. Here the
files, sorted by name, are split into two alternating halves; each half is scored at the
threshold tuned on the other half, and the two raw scores are summed and normalised against
the whole corpus's null and perfect detectors. Prints one JSON line per seed, with the usual
(tuned on all files) score beside it.
"""

import json
import sys
from dataclasses import replace

from opsradar.config import load_config
from opsradar.eval.nab import Corpus, normalise, null_and_perfect, score_corpus
from opsradar.pipeline.metrics_model import nab_detector_scores


def subset(corpus: Corpus, files: list[str], profile: str) -> Corpus:
    return replace(corpus, series={n: corpus.series[n] for n in files}, values={n: corpus.values[n] for n in files},
                   profiles={profile: corpus.profiles[profile]})


def main(root: str, seeds: list[int]) -> None:
    corpus = Corpus.load(root)
    names = sorted(corpus.series)
    halves = [names[0::2], names[1::2]]
    for seed in seeds:
        m = load_config().metrics.model_copy(update={"seed": seed})
        scores = nab_detector_scores(corpus, m)
        tuned = score_corpus(corpus, scores, refractory=m.nab_refractory_points)
        crossed = {}
        for profile, cost in corpus.profiles.items():
            raw = 0.0
            for k in (0, 1):
                fit, test = subset(corpus, halves[k], profile), subset(corpus, halves[1 - k], profile)
                th = score_corpus(fit, {n: scores[n] for n in halves[k]}, refractory=m.nab_refractory_points)[profile].threshold
                raw += score_corpus(test, {n: scores[n] for n in halves[1 - k]}, {profile: th},
                                    refractory=m.nab_refractory_points)[profile].raw_score
            crossed[profile] = round(normalise(raw, *null_and_perfect(corpus, cost)), 2)
        print(json.dumps({"seed": seed, "files": len(names), "thresholds_from_other_half": crossed,
                          "thresholds_tuned_on_all": {p: round(r.normalized_score, 2) for p, r in tuned.items()}}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], [int(s) for s in sys.argv[2:]])
