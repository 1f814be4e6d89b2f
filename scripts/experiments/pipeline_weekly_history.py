"""score_metrics (score_mode nab) run day by day over a NAB file, as the daily DAG would, with
and without the remembered history (`nab_history`), scored by NAB's rules (2026-12-07;
docs/metrics.md, "A weekly season from the remembered history").

    .venv/bin/python scripts/experiments/pipeline_weekly_history.py NAB_ROOT [FILE] [WORK_DIR] [SCALE_WINDOW]

FILE defaults to realKnownCause/nyc_taxi.csv (30-min steps, weekly lag correlation 0.92 vs
daily 0.80). The series goes into a lake as METRIC_POINT rows; the detector is trained on the
file's probationary prefix (NAB's first 15 %); each later day is scored by `score_metrics`,
whose lookback is 512 steps (context 256 + SCALE_WINDOW, default 256: 10.7 days at 30 min,
too short to see a week) with `nab_history` = 28 days, 0 days, and 28 days with the seasonal part off. Prints per
mode: windows hit and alert episodes outside windows at 60 and 80 (an episode: a run of rows at
or above it), and the NAB standard raw score at those thresholds (alarm throttle 50 rows).
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from rich.progress import track

from opsradar.config import OpsRadarConfig
from opsradar.eval.nab import Corpus
from opsradar.layout import Interval, Layout
from opsradar.models.metrics.anomaly import suppress_repeats
from opsradar.pipeline.metrics_model import score_metrics, train_metrics
from opsradar.schemas.arrow import METRIC_POINT

DAY = timedelta(days=1)


def main(root: str, name: str, work: Path, scale_window: int) -> None:
    corpus = Corpus.load(root, only=[name])
    series, values = corpus.series[name], corpus.values[name]
    times = pd.to_datetime(series.timestamps).tz_localize("UTC")
    step = int((times[1] - times[0]).total_seconds())
    cfg = OpsRadarConfig.from_dict({
        "storage": {"root": str(work / "lake")},
        "metrics": {"step_seconds": step, "scale_window": scale_window, "registry": str(work / "models")},
    })
    cfg.metrics.forecaster.enabled = False
    layout = Layout(cfg.storage.root)
    whole = Interval(times[0].floor("D").to_pydatetime(), (times[-1] + pd.Timedelta(seconds=step)).ceil("D").to_pydatetime())
    rows = [{"timestamp": t.to_pydatetime(), "source": "nab", "entity": Path(name).stem, "metric": "value",
             "value": float(v), "unit": None, "labels": []} for t, v in zip(times, values)]
    layout.write_interval("raw", "metrics/source=nab", whole, pa.Table.from_pylist(rows, schema=METRIC_POINT), "timestamp")
    probation_end = times[int(series.scorable.argmax())].ceil("D").to_pydatetime()
    train_metrics(cfg, Interval(whole.start, probation_end))
    days = [Interval(probation_end + k * DAY, probation_end + (k + 1) * DAY)
            for k in range(int((whole.end - probation_end) / DAY))]
    modes = {"history 28 d": {"nab_history": timedelta(days=28)},
             "lookback only": {"nab_history": timedelta(0)},
             "history 28 d, no seasonal part": {"nab_history": timedelta(days=28), "nab_seasonal_min_correlation": None}}
    cost = corpus.profiles["standard"]
    grid = pd.Timestamp(whole.start)  # score_metrics puts points on the step grid from midnight
    slot = lambda t: int((pd.Timestamp(t) - grid).total_seconds() // step)  # noqa: E731
    index = {slot(t): i for i, t in enumerate(times)}
    for mode, settings in modes.items():
        for key, value in settings.items():
            setattr(cfg.metrics, key, value)
        for day in track(days, description=mode):
            score_metrics(cfg, day)
        scored = layout.read_interval("scores", "metrics", Interval(probation_end, whole.end)).to_pandas()
        score = np.zeros(len(values))
        for t, s in zip(scored["window_start"], scored["score_normalized"]):
            if (i := index.get(slot(t))) is not None:
                score[i] = s
        out = {"file": name, "mode": mode, "scale_window": scale_window, "scored_rows": int(len(scored))}
        for threshold in (60, 80):
            hot = series.scorable & (score >= threshold)
            starts = hot & ~np.r_[False, hot[:-1]]
            out[f"windows_hit_{threshold}"] = sum(bool(hot[lo:hi + 1].any()) for lo, hi in series.windows)
            out[f"episodes_outside_{threshold}"] = int((starts & (series.window_id < 0)).sum())
            alarms = suppress_repeats(score, threshold, 50).astype(float)
            out[f"nab_standard_raw_{threshold}"] = round(series.score(alarms, 0.5, cost, "standard").score, 3)
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "realKnownCause/nyc_taxi.csv",
         Path(sys.argv[3] if len(sys.argv) > 3 else "/tmp/pipeline_weekly_history"), int(sys.argv[4]) if len(sys.argv) > 4 else 256)
