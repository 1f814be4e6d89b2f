"""Metric stages end to end on real Parquet: train -> score -> forecast -> capacity plan."""

from datetime import datetime, timedelta, timezone

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from opsradar.config import OpsRadarConfig
from opsradar.eval.forecast import read_bitbrains
from opsradar.layout import Interval, Layout
from opsradar.schemas.arrow import CAPACITY_PLAN, METRIC_POINT

pytestmark = pytest.mark.slow
DAY = timedelta(days=1)


@pytest.fixture(scope="module")
def lake(tmp_path_factory, shared_data):
    """Four days of one Bitbrains VM as METRIC_POINT rows (cores and GiB, with capacities)."""
    root = tmp_path_factory.mktemp("lake")
    raw = read_bitbrains(shared_data / "bitbrains" / "vm61.csv")
    import pandas as pd

    trace = pd.read_csv(shared_data / "bitbrains" / "vm61.csv", sep=";", skipinitialspace=True)
    trace.columns = [c.strip() for c in trace.columns]
    cores = float(trace["CPU cores"].iloc[0])
    mem_gib = float(trace["Memory capacity provisioned [KB]"].iloc[0]) / 2**20
    start = raw.index[0].ceil("D").to_pydatetime()
    interval = Interval(start, start + 4 * DAY)
    days = raw.loc[interval.start:interval.end - timedelta(seconds=1)]
    rows = []
    for ts, rec in days.iterrows():
        for metric, value, unit in (("cpu.usage", rec["cpu"] / 100 * cores, "cores"), ("cpu.capacity", cores, "cores"),
                                    ("memory.usage", rec["memory"] / 2**20, "GiB"), ("memory.capacity", mem_gib, "GiB")):
            rows.append({"timestamp": ts.to_pydatetime(), "source": "bitbrains", "entity": "vm61", "metric": metric,
                         "value": None if np.isnan(value) else float(value), "unit": unit, "labels": [("host", "vm61")]})
    for row in rows[100:120:4]:  # a few points with no value, as a broken exporter sends them
        row["value"] = None
    layout = Layout(str(root))
    layout.write_interval("raw", "metrics/source=bitbrains", interval, pa.Table.from_pylist(rows, schema=METRIC_POINT), "timestamp")
    cfg = OpsRadarConfig.from_dict({
        "storage": {"root": str(root)},
        "metrics": {"context_length": 64, "prediction_length": 24, "d_model": 16, "pretrain_epochs": 1, "finetune_epochs": 1,
                    "windows_per_epoch": 256, "device": "cpu", "scale_window": 256, "plan_horizon_days": [1, 3]},
    })
    return cfg, interval, layout


def test_train_score_forecast_plan(lake):
    from opsradar.pipeline.metrics_model import forecast_metrics, plan_capacity, score_metrics, train_metrics

    cfg, interval, layout = lake
    history = Interval(interval.start, interval.end - DAY)
    trained = train_metrics(cfg, history)
    assert trained.counts["series"] == 4 and trained.outputs[0].endswith("v0001")
    gaps = layout.read_interval("raw", "metrics/source=bitbrains", history).column("value").null_count
    assert gaps >= 5 and trained.counts["points_without_value"] == gaps  # trace gaps are counted, not silently dropped
    from opsradar.models.metrics.patchtst import MetricPredictor

    detector, forecaster = (MetricPredictor.load(p) for p in trained.outputs)
    assert trained.outputs[1].endswith("metrics-patchtst-forecast/v0001")
    assert (detector.config.distribution, forecaster.config.distribution, forecaster.config.scaling) == ("normal", "quantile", "robust")
    for model in (detector, forecaster):  # quantiles calibrated on each series' held-out last 20%
        assert model.calibration is not None and model.training["calibration"]["held_out_points"] == 4 * int(0.2 * 3 * 288)

    last_day = Interval(interval.end - DAY, interval.end)
    scored = score_metrics(cfg, last_day)
    table = layout.read_interval("scores", "metrics", last_day)
    assert scored.counts["scored"] == len(table) > 200
    assert set(table.column("model_version").to_pylist()) == {"v0001"}
    assert set(table.column("model_name").to_pylist()) == {"metrics-patchtst"}  # the detector scores
    s = table.column("score_normalized").to_numpy()
    assert (s >= 0).all() and (s <= 100).all()
    assert score_metrics(cfg, last_day).counts["scored"] == len(layout.read_interval("scores", "metrics", last_day))  # re-run replaces

    fc = forecast_metrics(cfg, last_day)
    points = layout.read_interval("forecasts", "demand", last_day)
    assert fc.counts["forecast_points"] == len(points) == 4 * 24
    p50, p90, p95 = (points.column(c).to_numpy() for c in ("p50", "p90", "p95"))
    assert (p50 <= p90).all() and (p90 <= p95).all()
    assert set(points.column("model_name").to_pylist()) == {"metrics-patchtst-forecast"} and not fc.warnings

    plan = plan_capacity(cfg, history)
    rows = layout.read_interval("reports", "capacity_plans", history)
    assert rows.schema.equals(CAPACITY_PLAN) and sorted(rows.column("resource").to_pylist()) == ["cpu", "memory"]
    for r in rows.to_pylist():
        assert r["current_p95"] > 0 and r["forecast_peak_p95_30d"] >= r["forecast_peak_p95_7d"] > 0  # 3d >= 1d here
        assert r["recommended_limit"] >= r["recommended_request"] > 0 and r["recommended_replicas"] >= 1
        assert r["status"] in {"ok", "warning", "critical"}
    assert set(rows.column("model_name").to_pylist()) == {"metrics-patchtst-forecast"}
    report = next(p for p in plan.outputs if p.endswith("capacity_plan.md"))
    text = layout.fs.cat_file(report).decode()
    assert "| status | entity |" in text and "bitbrains/vm61" in text
    pngs = [p for p in layout.fs.ls(report.rsplit("/", 1)[0]) if p.endswith(".png")]
    assert len(pngs) == 2 and all(layout.fs.cat_file(p)[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    for p in pngs:
        assert p.rsplit("/", 1)[-1] in text


def test_long_horizon_plan_keeps_daily_peaks_and_trend():
    from opsradar.planning.capacity import CapacityInputs, long_horizon_forecast, plan_line

    per_day = 288
    t = np.arange(10 * per_day)
    usage = 2 + np.sin(2 * np.pi * t / per_day) + 0.1 * t / per_day  # daily cycle, +0.1 cores a day
    model_p50 = usage[-1] + np.zeros(24)
    p50, p95 = long_horizon_forecast(model_p50, model_p50 + 0.2, usage, 30 * per_day, 300)
    assert len(p95) == 30 * per_day and (p95 >= p50).all()
    # Peaks recur daily and grow with the trend (0.1 a day): day 30's peak is ~2.9 above day 1's.
    assert p50[29 * per_day:].max() - p50[:per_day].max() == pytest.approx(2.9, abs=0.05)
    line = plan_line(CapacityInputs(usage, p50, p95, 300, capacity=6.0), [7, 30], 0.8, 0.6, 0.2, 0.03)
    # Saturation (4.8 cores) is first reached when the rising daily peak (~4.0 today) gains ~0.8: ~8 days out.
    assert 7 < line.days_to_saturation < 9.5 and line.status == "warning"
    assert line.forecast_peak_p95[30] > line.forecast_peak_p95[7] > line.current_p95
    assert line.recommended_request == pytest.approx(line.forecast_peak_p95[7] / 0.6)
    assert line.over_provisioning_cost == pytest.approx(max(0.0, 6.0 - line.recommended_request) * 0.03 * 720)


def _own_lake(lake, tmp_path):
    """The lake fixture's raw points in a fresh lake and registry, one-member models."""
    base, interval, _ = lake
    cfg = base.model_copy(deep=True)
    cfg.storage.root = str(tmp_path / "lake2")
    cfg.metrics.registry = str(tmp_path / "models")
    cfg.metrics.ensemble_size = 1
    layout = Layout(cfg.storage.root)
    source = Layout(base.storage.root).read_interval("raw", "metrics/source=bitbrains", interval)
    layout.write_interval("raw", "metrics/source=bitbrains", interval, source, "timestamp")
    return cfg, layout, Interval(interval.start, interval.end - DAY), Interval(interval.end - DAY, interval.end)


def test_retraining_leaves_out_the_steps_the_detector_flagged(lake, tmp_path):
    from opsradar.pipeline.metrics_model import score_metrics, train_metrics

    cfg, layout, history, last_day = _own_lake(lake, tmp_path)
    cfg.metrics.forecaster.enabled = False
    assert train_metrics(cfg, history).counts["points_masked_as_anomalies"] == 0  # nothing scored there yet
    cfg.metrics.anomaly_threshold = 10.0  # flag plenty
    score_metrics(cfg, last_day)
    flagged = sum(layout.read_interval("scores", "metrics", last_day).column("is_anomaly").to_pylist())
    assert flagged > 10
    retrained = train_metrics(cfg, last_day)
    assert retrained.counts["points_masked_as_anomalies"] == 4 * flagged  # every metric of vm61 at each flagged step
    assert retrained.outputs[0].endswith("v0002")
    cfg.metrics.train_mask_anomalies = False
    assert "points_masked_as_anomalies" not in train_metrics(cfg, last_day).counts


def test_forecasts_fall_back_to_the_detector_without_a_forecaster(lake, tmp_path):
    from opsradar.pipeline.metrics_model import forecast_metrics, train_metrics

    cfg, layout, history, last_day = _own_lake(lake, tmp_path)
    cfg.metrics.forecaster.enabled = False
    assert len(train_metrics(cfg, history).outputs) == 1  # the detector only
    cfg.metrics.forecaster.enabled = True  # enabled, but none trained yet: the detector forecasts, and says so
    fc = forecast_metrics(cfg, last_day)
    assert fc.counts["forecast_points"] == 4 * 24 and "metrics-patchtst-forecast" in fc.warnings[0]
    assert set(layout.read_interval("forecasts", "demand", last_day).column("model_name").to_pylist()) == {"metrics-patchtst"}


def test_nab_score_mode_flags_a_value_beyond_the_seen_range_and_names_its_metric(lake, tmp_path):
    """score_mode = "nab" scores with what `eval nab` measures: a memory reading at 3x anything
    in the lookback is range-novel (100 on its metric, less the 4-metric Bonferroni term)."""
    import pyarrow.compute as pc

    from opsradar.pipeline.metrics_model import score_metrics, train_metrics

    cfg, layout, history, last_day = _own_lake(lake, tmp_path)
    cfg.metrics.forecaster.enabled = False
    table = layout.read_interval("raw", "metrics/source=bitbrains", Interval(history.start, last_day.end))
    spike_at = last_day.start + timedelta(hours=12)
    rows = table.to_pylist()
    top = max(r["value"] or 0.0 for r in rows if r["metric"] == "memory.usage")
    for r in rows:
        if r["metric"] == "memory.usage" and r["timestamp"].replace(tzinfo=timezone.utc) == spike_at:
            r["value"] = 3 * top
    layout.write_interval("raw", "metrics/source=bitbrains", Interval(history.start, last_day.end),
                          pa.Table.from_pylist(rows, schema=table.schema), "timestamp")
    train_metrics(cfg, history)
    cfg.metrics.score_mode = "nab"
    cfg.metrics.nab_range_min_history = timedelta(days=2)  # the lake has 3 days before the scored one
    score_metrics(cfg, last_day)
    scores = layout.read_interval("scores", "metrics", last_day)
    s = scores.column("score_normalized").to_numpy()
    assert (s >= 0).all() and (s <= 100).all()
    hit = scores.filter(pc.equal(scores.column("window_start"), pa.scalar(spike_at, pa.timestamp("us", tz="UTC")))).to_pylist()
    assert len(hit) == 1 and hit[0]["is_anomaly"]
    assert hit[0]["score_normalized"] == pytest.approx(100 - 10 * np.log10(4))
    assert hit[0]["drivers"][0]["metric"] == "memory.usage"
    assert scores.column("is_anomaly").to_numpy().mean() < 0.1


def test_nab_score_mode_range_novelty_needs_history_and_remembers_beyond_the_lookback(lake, tmp_path):
    """Range novelty in score_mode "nab" waits for `nab_range_min_history` of a metric's history
    and compares with the range over `nab_history`, not only the scoring lookback's."""
    from opsradar.pipeline.metrics_model import read_history, score_metrics, train_metrics

    cfg, layout, history, last_day = _own_lake(lake, tmp_path)
    cfg.metrics.forecaster.enabled = False
    train_metrics(cfg, history)
    cfg.metrics.score_mode = "nab"
    cfg.metrics.nab_seasonal_min_correlation = None  # the range rule alone (the history also holds a season)
    lookback_start = last_day.start - timedelta(seconds=cfg.metrics.step_seconds * (cfg.metrics.context_length + cfg.metrics.scale_window))
    remembered = read_history(cfg, last_day.start - cfg.metrics.nab_history, lookback_start)

    def points_of(interval: Interval):
        points = layout.read_interval("raw", "metrics/source=bitbrains", interval).to_pandas()  # whole hourly partitions
        points = points[(points["timestamp"] >= interval.start) & (points["timestamp"] < interval.end)]
        return points.groupby(["metric", points["timestamp"].dt.floor("5min")])["value"].mean()  # step means

    series = remembered[("bitbrains", "vm61", "memory.usage")]
    seen = np.isfinite(series.values)  # on the step grid of the 28 days, observed from the lake's first day
    assert series.times[np.argmax(seen)] == np.datetime64(history.start.replace(tzinfo=None))
    assert series.times[-1] + np.timedelta64(cfg.metrics.step_seconds, "s") == np.datetime64(lookback_start.replace(tzinfo=None))
    memory = points_of(Interval(history.start, lookback_start))["memory.usage"]
    assert (np.nanmin(series.values), np.nanmax(series.values)) == pytest.approx((memory.min(), memory.max()))
    assert seen.sum() == memory.notna().sum()  # steps whose points all lack a value stay unobserved

    def channel_scores(**settings) -> np.ndarray:
        for key, value in settings.items():
            setattr(cfg.metrics, key, value)
        score_metrics(cfg, last_day)
        return layout.read_interval("scores", "metrics", last_day).sort_by("window_start").column("score_normalized").to_numpy()

    without_rule = channel_scores(nab_range_tolerance=None)
    assert np.array_equal(channel_scores(nab_range_tolerance=0.05), without_rule)  # 3 days < the default 7
    lookback_only = channel_scores(nab_range_min_history=timedelta(days=1), nab_history=timedelta(0))
    assert (lookback_only > without_rule).sum() >= 3  # vm61's memory grows past the lookback's range that day
    assert np.array_equal(channel_scores(nab_history=timedelta(days=28)), lookback_only)  # ... and past all before

    # A reading on the first day above anything on the scored day: the 28-day range holds it.
    scored_top = points_of(last_day)["memory.usage"].max()
    table = layout.read_interval("raw", "metrics/source=bitbrains", Interval(history.start, last_day.end))
    rows = table.to_pylist()
    next(r for r in rows if r["metric"] == "memory.usage" and r["value"] is not None)["value"] = 1.5 * scored_top
    layout.write_interval("raw", "metrics/source=bitbrains", Interval(history.start, last_day.end),
                          pa.Table.from_pylist(rows, schema=table.schema), "timestamp")
    assert np.array_equal(channel_scores(), without_rule)
    assert np.array_equal(channel_scores(nab_history=timedelta(0)), lookback_only)  # the lookback alone forgot it


def test_nab_score_mode_finds_a_weekly_season_in_the_remembered_history(tmp_path):
    """A week cannot be seen in the scoring lookback (here 320 hourly steps, under two weeks):
    score_mode "nab" seeks the season in `nab_history` too, so a Monday at a weekend's level, a
    value seen every weekend, is flagged with 28 days remembered and not with the lookback alone,
    while an ordinary Monday is not flagged either way."""
    from opsradar.pipeline.metrics_model import score_metrics, train_metrics

    start = datetime(2026, 11, 2, tzinfo=timezone.utc)  # a Monday
    lake = Interval(start, start + timedelta(days=35))
    scored_day = Interval(start + timedelta(days=28), start + timedelta(days=29))  # the fifth Monday
    hours = np.arange(35 * 24)
    day_of_week, hour = (hours // 24) % 7, hours % 24
    ordinary = np.where(day_of_week < 5, 50 + 40 * np.sin(np.pi * np.clip(hour - 6, 0, 12) / 12), 20.0)
    ordinary = ordinary + np.random.default_rng(0).normal(0, 1, len(hours))
    broken = ordinary.copy()
    broken[28 * 24:29 * 24] = 20.0 + np.random.default_rng(1).normal(0, 1, 24)  # that Monday at a weekend's level
    cfg = OpsRadarConfig.from_dict({
        "storage": {"root": str(tmp_path / "lake")},
        "metrics": {"step_seconds": 3600, "context_length": 64, "prediction_length": 24, "d_model": 16, "pretrain_epochs": 1,
                    "finetune_epochs": 1, "windows_per_epoch": 256, "device": "cpu", "scale_window": 256,
                    "ensemble_size": 1, "registry": str(tmp_path / "models"), "score_mode": "nab"},
    })
    cfg.metrics.forecaster.enabled = False
    layout = Layout(cfg.storage.root)

    def write(load: np.ndarray) -> None:
        rows = [{"timestamp": start + timedelta(hours=int(h)), "source": "synthetic", "entity": "web-1", "metric": "http.requests",
                 "value": float(v), "unit": "1/s", "labels": [("host", "web-1")]} for h, v in zip(hours, load)]
        layout.write_interval("raw", "metrics/source=synthetic", lake, pa.Table.from_pylist(rows, schema=METRIC_POINT), "timestamp")

    def monday_scores(history: timedelta) -> np.ndarray:
        cfg.metrics.nab_history = history
        score_metrics(cfg, scored_day)
        return layout.read_interval("scores", "metrics", scored_day).sort_by("window_start").column("score_normalized").to_numpy()

    write(broken)
    train_metrics(cfg, Interval(start, scored_day.start))
    remembered, lookback_only = monday_scores(timedelta(days=28)), monday_scores(timedelta(0))
    assert len(remembered) == len(lookback_only) == 24
    assert remembered.max() >= cfg.metrics.anomaly_threshold > lookback_only.max()
    assert (remembered >= lookback_only).all()  # the seasonal part only adds (its max with the likelihood)
    write(ordinary)
    assert monday_scores(timedelta(days=28)).max() < cfg.metrics.anomaly_threshold
