"""Metric featurization on real Spark: NAB series resampled with explicit gaps, rolling stats, backfill."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta, timezone

import numpy as np
import pyarrow as pa
import pytest

from opsradar.config import OpsRadarConfig
from opsradar.features.devdata import covering_interval, nab_metric_points
from opsradar.jobs.featurize_metrics import featurize_metrics
from opsradar.layout import Interval, Layout
from opsradar.schemas.arrow import METRIC_FEATURE

pytestmark = pytest.mark.slow
UTC = timezone.utc
SERIES = "artificialWithAnomaly/art_daily_jumpsup"
DAY2 = Interval(datetime(2014, 4, 2, tzinfo=UTC), datetime(2014, 4, 3, tzinfo=UTC))
DROPPED = list(range(300, 312)) + [400]  # 04-02 01:00-01:55 (an hour) and 04-02 09:20


def _lake(tmp_path, shared_data, name: str) -> tuple[Layout, OpsRadarConfig]:
    root = tmp_path / name
    points = nab_metric_points(shared_data, SERIES, source="nab", entity="art_daily_jumpsup")
    keep = [i for i in range(points.num_rows) if i not in set(DROPPED)]
    points = points.take(pa.array(keep))
    layout = Layout(str(root))
    layout.write_interval("raw", "metrics/source=nab", covering_interval(points), points, "timestamp")
    cfg = OpsRadarConfig.from_dict({"storage": {"root": str(root)}, "features": {"metrics": [
        {"source": "nab", "step": "5m", "horizons": ["1h", "1d"]}]}})
    return layout, cfg


def test_nab_series_resampled_with_gap_flags_and_rolling_stats(spark, shared_data, tmp_path):
    layout, cfg = _lake(tmp_path, shared_data, "lake")
    result = featurize_metrics(spark, cfg, DAY2)
    out = layout.read_interval("features", "metrics/source=nab", DAY2)
    assert [(f.name, str(f.type)) for f in out.cast(METRIC_FEATURE).schema] == [(f.name, str(f.type)) for f in METRIC_FEATURE]
    rows = sorted(out.to_pylist(), key=lambda r: r["timestamp"])
    assert len(rows) == 288 == result.counts["nab.steps"]
    assert [r["timestamp"] for r in rows] == [DAY2.start + timedelta(minutes=5 * i) for i in range(288)]

    with open(shared_data / "nab/data" / f"{SERIES}.csv", newline="") as fh:
        truth = {datetime.strptime(r["timestamp"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC): float(r["value"])
                 for i, r in enumerate(csv.DictReader(fh)) if i not in set(DROPPED)}
    gaps = [r["timestamp"] for r in rows if r["is_gap"]]
    assert gaps == [t for t in (r["timestamp"] for r in rows) if t not in truth]
    assert len(gaps) == len(DROPPED) == result.counts["nab.gaps"]
    for r in rows:  # no forward fill: a gap has no value and no samples
        if r["is_gap"]:
            assert r["value"] is None and r["n_samples"] == 0
        else:
            assert r["value"] == pytest.approx(truth[r["timestamp"]]) and r["n_samples"] == 1

    for r in rows[::23]:
        t = r["timestamp"]
        prev = truth.get(t - timedelta(minutes=5))
        if r["is_gap"] or prev is None:
            assert r["rate_of_change"] is None
        else:
            assert r["rate_of_change"] == pytest.approx((truth[t] - prev) / 300)
        for stats in r["rolling"]:
            h = timedelta(seconds=stats["horizon_s"])
            window = np.array([v for ts, v in truth.items() if t - h < ts <= t])
            assert stats["n_valid"] == len(window)
            if len(window) < 2:  # an all-gap horizon has no stats; one value has no sample std
                assert stats["std"] is None and (len(window) or stats["mean"] is None)
                continue
            assert stats["mean"] == pytest.approx(window.mean())
            assert stats["max"] == pytest.approx(window.max())
            assert stats["p95"] == pytest.approx(np.percentile(window, 95))
            assert stats["std"] == pytest.approx(window.std(ddof=1))
        assert [s["horizon"] for s in r["rolling"]] == ["1h", "1d"]
        assert r["hour_of_day"] == t.hour and r["day_of_week"] == t.isoweekday()
    after_gap = next(r for r in rows if r["timestamp"] == datetime(2014, 4, 2, 2, tzinfo=UTC))
    assert after_gap["rolling"][0]["n_valid"] == 1  # the hour before it is the removed hour


def test_metric_backfill_equals_one_long_run(spark, shared_data, tmp_path):
    tables = {}
    for name, intervals in {"long": [DAY2], "backfill": [Interval(DAY2.start, DAY2.start + timedelta(hours=7)),
                                                          Interval(DAY2.start + timedelta(hours=7), DAY2.end)]}.items():
        layout, cfg = _lake(tmp_path, shared_data, name)
        for interval in intervals:
            featurize_metrics(spark, cfg, interval)
        tables[name] = layout.read_interval("features", "metrics/source=nab", DAY2).sort_by("timestamp")
    assert tables["long"].num_rows == 288 and tables["backfill"].equals(tables["long"])
