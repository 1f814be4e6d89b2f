"""Metric model stages: train, score, forecast and capacity plan (CLI and DAG call these).

Input: METRIC_POINT rows in {metrics.input_layer}/{metrics.input_dataset}/source=*/. Each
(source, entity, metric) becomes a series on a regular `step_seconds` grid (mean per step).
The model is channel-independent (one PatchTST shared by every metric); an entity's
metrics are scored together so its anomaly score names the metric(s) that drove it.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa

from opsradar.config import MetricModelSettings, OpsRadarConfig
from opsradar.layout import Interval, Layout
from opsradar.pipeline.result import StageResult

log = logging.getLogger(__name__)
SCORES_DATASET = "metrics"
FORECASTS_DATASET = "demand"
PLANS_DATASET = "capacity_plans"


@dataclass
class Series:
    source: str
    entity: str
    metric: str
    unit: str | None
    labels: dict[str, str]
    times: np.ndarray  # datetime64[s] grid, UTC
    values: np.ndarray  # float, NaN where the grid step had no point


def registry(cfg: OpsRadarConfig):
    from opsradar.models.registry import ModelRegistry

    return ModelRegistry(cfg.metrics.registry or f"{Layout(cfg.storage.root).root}/models")


def model_config(m: MetricModelSettings, forecaster: bool = False):
    """The detector's model config, or with `forecaster` the forecaster's (its own head and scaling)."""
    from opsradar.models.metrics.patchtst import MetricModelConfig

    head = m.forecaster if forecaster else m
    return MetricModelConfig(
        context_length=m.context_length, prediction_length=m.prediction_length, patch_length=m.patch_length,
        patch_stride=m.patch_stride, d_model=m.d_model, num_layers=m.num_layers, ffn_dim=2 * m.d_model,
        distribution=head.distribution, scaling=head.scaling,
        pretrain_epochs=m.pretrain_epochs, finetune_epochs=m.finetune_epochs, windows_per_epoch=m.windows_per_epoch,
        ensemble_size=m.ensemble_size, calibration_fraction=m.calibration_fraction, seed=m.seed, device=m.device,
    )


# -- reading --------------------------------------------------------------------
def read_points(cfg: OpsRadarConfig, interval: Interval) -> pa.Table | None:
    layout = Layout(cfg.storage.root)
    m = cfg.metrics
    base = layout.dataset_dir(m.input_layer, m.input_dataset)
    sources = sorted(p.rsplit("/", 1)[-1] for p in layout.fs.glob(f"{base}/source=*"))
    tables = [t for s in sources if (t := layout.read_interval(m.input_layer, f"{m.input_dataset}/{s}", interval)) is not None]
    tables = [t.select(["timestamp", "source", "entity", "metric", "value", "unit", "labels"]) for t in tables]
    return pa.concat_tables(tables) if tables else None


def count_unusable(table: pa.Table | None, result: StageResult) -> None:
    """Points with a null/NaN/inf value carry no signal: counted (and left out of the series)."""
    if table is not None and len(table):
        values = table.column("value").to_numpy(zero_copy_only=False)
        result.add("points_without_value", int((~np.isfinite(values.astype(float))).sum()))


def to_series(table: pa.Table, interval: Interval, step_seconds: int) -> list[Series]:
    """Group points into regular series over [interval.start, interval.end)."""
    import pandas as pd

    frame = table.to_pandas()
    frame = frame[frame["value"].notna() & np.isfinite(frame["value"].astype(float))]
    start = pd.Timestamp(interval.start)
    n = int((interval.end - interval.start).total_seconds() // step_seconds)
    grid = start + pd.to_timedelta(np.arange(n) * step_seconds, unit="s")
    out = []
    for (source, entity, metric), g in frame.groupby(["source", "entity", "metric"], sort=True):
        slot = ((g["timestamp"] - start).dt.total_seconds() // step_seconds).astype(int)
        means = g.groupby(slot)["value"].mean()
        values = np.full(n, np.nan)
        keep = means.index[(means.index >= 0) & (means.index < n)]
        values[keep] = means.loc[keep].to_numpy()
        labels = g["labels"].iloc[-1]
        out.append(Series(source, entity, metric, g["unit"].iloc[-1], dict(labels) if labels is not None else {},
                          grid.tz_convert("UTC").tz_localize(None).to_numpy(), values))
    return out


def _fill(values: np.ndarray) -> np.ndarray:
    """Forward/backward-fill gaps for contexts (the model also gets the observed mask)."""
    from opsradar.models.metrics.anomaly import fill_gaps

    return fill_gaps(values)


def _load_predictor(cfg: OpsRadarConfig, name: str | None = None):
    from opsradar.models.metrics.patchtst import MetricPredictor

    folder = registry(cfg).resolve(name or cfg.metrics.model_name, cfg.metrics.version)
    return MetricPredictor.load(folder, device=cfg.metrics.device)


def _load_forecaster(cfg: OpsRadarConfig, result: StageResult):
    """The forecaster when enabled and registered; else the detector, with a warning saying so."""
    from opsradar.models.registry import RegistryError

    m = cfg.metrics
    if m.forecaster.enabled:
        try:
            return _load_predictor(cfg, m.forecaster_name)
        except RegistryError as err:
            result.warnings.append(f"{err}; forecasting with the detector {m.model_name} (run train_metrics to train it)")
    return _load_predictor(cfg)


def mask_flagged_points(cfg: OpsRadarConfig, interval: Interval, series: list[Series]) -> int:
    """Steps the detector flagged (stored metric scores with is_anomaly) become unobserved in every
    metric of that entity, so a retrained model does not learn incidents as normal. Returns the
    number of observed points masked."""
    import pandas as pd

    scores = Layout(cfg.storage.root).read_interval("scores", SCORES_DATASET, interval)
    if scores is None or not len(scores):
        return 0
    frame = scores.select(["source", "entity", "window_start", "is_anomaly"]).to_pandas()
    frame = frame[frame["is_anomaly"]]
    slots = ((frame["window_start"] - pd.Timestamp(interval.start)).dt.total_seconds() // cfg.metrics.step_seconds).astype(int)
    by_entity = {key: g.to_numpy() for key, g in slots.groupby([frame["source"], frame["entity"]])}
    masked = 0
    for s in series:
        idx = by_entity.get((s.source, s.entity))
        if idx is None:
            continue
        idx = idx[(idx >= 0) & (idx < len(s.values))]
        masked += int(np.isfinite(s.values[idx]).sum())
        s.values[idx] = np.nan
    return masked


# -- stages ---------------------------------------------------------------------
def train_metrics(cfg: OpsRadarConfig, interval: Interval, promote: bool = True,
                  progress: Callable[[str, int, int, float], None] | None = None) -> StageResult:
    """Pretrain (masked patches) + fine-tune on every series in the interval; register the model."""
    from opsradar.models.metrics.patchtst import MetricEstimator

    result = StageResult.begin("train_metrics", interval)
    table = read_points(cfg, interval)
    if table is None or len(table) == 0:
        result.warnings.append(f"no metric points in {interval}; nothing trained")
        return result
    m = cfg.metrics
    series = to_series(table, interval, m.step_seconds)
    if m.train_mask_anomalies:
        result.add("points_masked_as_anomalies", mask_flagged_points(cfg, interval, series))
    series = [s for s in series if np.isfinite(s.values).sum() >= m.context_length + m.prediction_length]
    result.add("points", len(table))
    result.add("series", len(series))
    count_unusable(table, result)
    if not series:
        result.warnings.append(f"no series has {m.context_length + m.prediction_length} points at {m.step_seconds}s steps")
        return result
    values = [s.values for s in series]
    roles = [(m.model_name, False, progress)]
    if m.forecaster.enabled:
        labelled = (lambda stage, *a: progress(f"forecaster {stage}", *a)) if progress else None
        roles.append((m.forecaster_name, True, labelled))
    reg = registry(cfg)
    for name, forecaster, report in roles:  # the detector (scores), then the forecaster (forecasts, plans)
        predictor = MetricEstimator(model_config(m, forecaster=forecaster), progress=report).train(values)
        predictor.name = name
        predictor.training |= {"interval": [interval.start.isoformat(), interval.end.isoformat()], "series": len(series)}
        with tempfile.TemporaryDirectory() as tmp:
            predictor.save(tmp)
            version = reg.register(name, tmp, promote=promote)
        result.outputs.append(str(reg.resolve(name, version)))
        log.info("registered %s %s (promoted: %s)", name, version, promote)
    result.add("windows", predictor.training.get("windows", 0))
    return result


def score_metrics(cfg: OpsRadarConfig, interval: Interval) -> StageResult:
    """ANOMALY_SCORE rows (family=metric) for every point in the interval -> scores/metrics."""
    from opsradar.ids import window_id
    from opsradar.models.metrics.anomaly import score_series
    from opsradar.schemas.arrow import ANOMALY_SCORE

    m = cfg.metrics
    result = StageResult.begin("score_metrics", interval)
    predictor = _load_predictor(cfg)
    lookback = timedelta(seconds=m.step_seconds * (m.context_length + m.scale_window))
    padded = Interval(interval.start - lookback, interval.end)
    table = read_points(cfg, padded)
    rows: list[dict] = []
    if table is not None:
        result.add("points", len(table))
        count_unusable(table, result)
        remember = m.score_mode == "nab" and (m.nab_range_tolerance is not None or m.nab_seasonal_min_correlation is not None)
        # On the lookback's grid, so the history ends exactly one step before the lookback starts.
        steps = -(-(m.nab_history - lookback) // timedelta(seconds=m.step_seconds))
        history = read_history(cfg, padded.start - steps * timedelta(seconds=m.step_seconds), padded.start) if remember else {}
        by_entity: dict[tuple[str, str], list[Series]] = {}
        for s in to_series(table, padded, m.step_seconds):
            by_entity.setdefault((s.source, s.entity), []).append(s)
        step = timedelta(seconds=m.step_seconds)
        first_scored = np.datetime64(interval.start.replace(tzinfo=None))
        for (source, entity), group in by_entity.items():
            matrix = np.stack([s.values for s in group], axis=1)
            observed = np.isfinite(matrix)
            filled = np.stack([_fill(c) for c in matrix.T], axis=1)
            scored = score_series(predictor, filled, step=m.score_step, scale_window=m.scale_window,
                                  channel_names=[s.metric for s in group], observed=observed)
            times = group[0].times
            if m.score_mode == "nab":
                past = [history[key].values if (key := (source, entity, s.metric)) in history else None for s in group]
                scored = _nab_mode(scored, filled, observed, times, int(np.searchsorted(times, first_scored)), past, m)
            for t in np.nonzero((times >= first_scored) & observed.any(axis=1))[0]:
                if not np.isfinite(scored.z[t]).any():
                    continue  # warm-up: not enough history to score
                start = times[t].astype("datetime64[us]").astype(datetime).replace(tzinfo=timezone.utc)
                wid = window_id(source, "metric", entity, start.isoformat(), (start + step).isoformat())
                z = np.nan_to_num(np.abs(scored.z[t]))
                rows.append({
                    "family": "metric", "window_id": wid, "source": source, "entity": entity,
                    "host": group[0].labels.get("host"), "service": group[0].labels.get("service"),
                    "window_start": start, "window_end": start + step, "score": float(z.max()),
                    "score_normalized": float(scored.score[t]), "is_anomaly": bool(scored.score[t] >= m.anomaly_threshold),
                    "threshold": m.anomaly_threshold, "model_name": predictor.name, "model_version": predictor.version,
                    "top_templates": None, "example_lines": None,
                    "drivers": [{"metric": name, "contribution": float(scored.channel_score[t, scored.channel_names.index(name)])}
                                for name in scored.drivers(t)],
                    "labels": list(group[0].labels.items()),
                })
    out = pa.Table.from_pylist(rows, schema=ANOMALY_SCORE)
    layout = Layout(cfg.storage.root)
    result.outputs += layout.write_interval("scores", SCORES_DATASET, interval, out, "window_start",
                                            cfg.storage.parquet_compression, cfg.storage.row_group_rows)
    result.add("scored", len(out))
    result.add("anomalies", sum(r["is_anomaly"] for r in rows))
    return result


def read_history(cfg: OpsRadarConfig, start: datetime, end: datetime) -> dict[tuple[str, str, str], Series]:
    """Every series' step means over [start, end), keyed (source, entity, metric): the history
    `score_mode = "nab"` remembers beyond the scoring lookback (its range and its season)."""
    if end <= start or (table := read_points(cfg, interval := Interval(start, end))) is None:
        return {}
    return {(s.source, s.entity, s.metric): s for s in to_series(table, interval, cfg.metrics.step_seconds)}


def _nab_mode(scored, filled: np.ndarray, observed: np.ndarray, times: np.ndarray, interval_start: int,
              history: list[np.ndarray | None], m: MetricModelSettings):
    """`score_mode = "nab"`: each metric's 0-100 score is 100 x `detector_score` of its |z| over
    the lookback (learning for the context plus a day of residuals), with the metric's `history`
    just before the lookback remembered: its range counts as seen and its season can be found
    (sought in history and lookback before the interval); range novelty once the metric has
    `nab_range_min_history`. The row's score is the top one less 10 log10(metrics), the same
    Bonferroni combination as `tail_score`."""
    from dataclasses import replace

    from opsradar.models.metrics.anomaly import detector_score

    learning = m.context_length + min(m.scale_window, 86_400 // m.step_seconds)
    step = np.timedelta64(m.step_seconds, "s")
    channel = np.zeros(filled.shape)
    for c in range(filled.shape[1]):
        if not observed[:, c].any():
            continue
        past = history[c] if history[c] is not None and np.isfinite(history[c]).any() else None
        # Without history, start at the first observed point: a lookback reaching before the data is filler.
        first = 0 if past is not None else int(np.argmax(observed[:, c]))
        first_seen = times[0] - step * (len(past) - int(np.argmax(np.isfinite(past)))) if past is not None else times[first]
        range_from = int(np.searchsorted(times, first_seen + np.timedelta64(m.nab_range_min_history))) - first
        channel[first:, c] = 100.0 * detector_score(
            np.nan_to_num(scored.z[first:, c]), filled[first:, c], m.step_seconds, max(interval_start - first, 0), learning,
            m.nab_short_window, m.nab_range_tolerance, m.nab_seasonal_min_correlation, observed[first:, c],
            past, max(range_from, 0))
    total = np.clip(channel.max(axis=1) - 10.0 * np.log10(channel.shape[1]), 0.0, 100.0)
    return replace(scored, score=total, channel_score=channel)


def _forecast_fn(predictor):
    def fn(context: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        q = predictor.forecast(context[None, :, None], quantiles=(0.5, 0.9, 0.95))
        return q[0.5][0, :, 0], q[0.95][0, :, 0]
    return fn


def forecast_metrics(cfg: OpsRadarConfig, interval: Interval) -> StageResult:
    """FORECAST_POINT rows (p50/p90/p95) for the model horizon after the interval's last point."""
    from opsradar.schemas.arrow import FORECAST_POINT

    m = cfg.metrics
    result = StageResult.begin("forecast_metrics", interval)
    predictor = _load_forecaster(cfg, result)
    table = read_points(cfg, interval)
    rows = []
    for s in to_series(table, interval, m.step_seconds) if table is not None else []:
        observed = np.nonzero(np.isfinite(s.values))[0]
        if len(observed) < m.context_length // 2:
            result.warnings.append(f"{s.source}/{s.entity}/{s.metric}: {len(observed)} points, too few to forecast")
            continue
        last = observed[-1]
        ctx = _fill(s.values[: last + 1])[-m.context_length:]
        ctx = np.concatenate([np.full(m.context_length - len(ctx), ctx[0]), ctx])
        q = predictor.forecast(ctx[None, :, None], quantiles=(0.1, 0.5, 0.9, 0.95))
        issued = s.times[last].astype("datetime64[us]").astype(datetime).replace(tzinfo=timezone.utc)
        for h in range(m.prediction_length):
            rows.append({
                "source": s.source, "entity": s.entity, "metric": s.metric, "unit": s.unit,
                "host": s.labels.get("host"), "service": s.labels.get("service"), "issued_at": issued,
                "target_time": issued + timedelta(seconds=m.step_seconds * (h + 1)), "horizon_steps": h + 1,
                **{f"p{int(k * 100)}": float(q[k][0, h, 0]) for k in (0.1, 0.5, 0.9, 0.95)},
                "model_name": predictor.name, "model_version": predictor.version,
            })
    out = pa.Table.from_pylist(rows, schema=FORECAST_POINT)
    layout = Layout(cfg.storage.root)
    result.outputs += layout.write_interval("forecasts", FORECASTS_DATASET, interval, out, "issued_at",
                                            cfg.storage.parquet_compression, cfg.storage.row_group_rows)
    result.add("forecast_points", len(out))
    return result


def plan_capacity(cfg: OpsRadarConfig, interval: Interval) -> StageResult:
    """Per entity and resource: CAPACITY_PLAN rows (reports/capacity_plans) + Markdown report with PNGs."""
    from opsradar.planning.capacity import CapacityInputs, long_horizon_forecast, plan_line
    from opsradar.planning.plots import plot_capacity
    from opsradar.planning.report import write_report
    from opsradar.schemas.arrow import CAPACITY_PLAN

    m = cfg.metrics
    result = StageResult.begin("plan_capacity", interval)
    predictor = _load_forecaster(cfg, result)
    table = read_points(cfg, interval)
    series = {(s.source, s.entity, s.metric): s for s in (to_series(table, interval, m.step_seconds) if table is not None else [])}
    layout = Layout(cfg.storage.root)
    plan_date = max(interval.start, interval.end - timedelta(days=1))  # a multi-day run plans as of its last day
    report_dir = Path(tempfile.mkdtemp(prefix="opsradar-plan-"))
    horizon_steps = int(max(m.plan_horizon_days) * 86400 / m.step_seconds)
    rows, sections = [], []
    for (source, entity, metric), s in sorted(series.items()):
        for resource, rc in m.resources.items():
            if metric != rc.usage_metric:
                continue
            if np.isfinite(s.values).sum() < m.context_length // 2:
                result.warnings.append(f"{source}/{entity}/{metric}: too little history to plan")
                continue
            cap_series = series.get((source, entity, rc.capacity_metric)) if rc.capacity_metric else None
            cap_values = cap_series.values[np.isfinite(cap_series.values)] if cap_series is not None else np.array([])
            capacity = float(cap_values[-1]) if len(cap_values) else rc.capacity
            hist = _fill(s.values)
            ctx = hist[-m.context_length:] if len(hist) >= m.context_length else np.concatenate([np.full(m.context_length - len(hist), hist[0]), hist])
            m50, m95 = _forecast_fn(predictor)(ctx)
            p50, p95 = long_horizon_forecast(m50, m95, hist, horizon_steps, m.step_seconds)
            line = plan_line(CapacityInputs(s.values, p50, p95, m.step_seconds, capacity, int(s.labels.get("replicas", 1))),
                             list(m.plan_horizon_days), rc.saturation_threshold, m.target_utilization, m.limit_headroom,
                             rc.cost_per_unit_hour)
            short, long_ = min(m.plan_horizon_days), max(m.plan_horizon_days)
            rows.append({
                "plan_date": plan_date, "source": source, "entity": entity, "host": s.labels.get("host"),
                "service": s.labels.get("service"), "resource": resource, "unit": rc.unit, "status": line.status,
                "current_p95": line.current_p95, "forecast_peak_p95_7d": line.forecast_peak_p95.get(short),
                "forecast_peak_p95_30d": line.forecast_peak_p95.get(long_), "saturation_threshold": rc.saturation_threshold,
                "days_to_saturation": line.days_to_saturation, "recommended_request": line.recommended_request,
                "recommended_limit": line.recommended_limit, "recommended_replicas": line.recommended_replicas,
                "over_provisioning_cost": line.over_provisioning_cost, "under_provisioning_cost": line.under_provisioning_cost,
                "model_name": predictor.name, "model_version": predictor.version,
            })
            fc_t = s.times[-1] + np.arange(1, horizon_steps + 1) * np.timedelta64(m.step_seconds, "s")
            png = plot_capacity(report_dir / f"{source}_{entity}_{resource}.png".replace("/", "_"),
                                f"{source}/{entity} {resource}", s.times, s.values, fc_t, p50, p95, capacity,
                                rc.saturation_threshold, rc.unit)
            sections.append((rows[-1], png.name, capacity))
    out = pa.Table.from_pylist(rows, schema=CAPACITY_PLAN)
    result.outputs += layout.write_interval("reports", PLANS_DATASET, interval, out, "plan_date",
                                            cfg.storage.parquet_compression, cfg.storage.row_group_rows)
    write_report(report_dir / "capacity_plan.md", plan_date, sections, m)
    # Markdown + PNGs replace the day's report folder as a whole (re-runs leave no stale plots).
    final = f"{layout.dataset_dir('reports', 'capacity_plan_md')}/dt={plan_date:%Y-%m-%d}"
    if layout.fs.exists(final):
        layout.fs.rm(final, recursive=True)
    layout.fs.makedirs(final, exist_ok=True)
    for f in sorted(report_dir.iterdir()):
        layout.fs.put_file(str(f), f"{final}/{f.name}")
        f.unlink()
    report_dir.rmdir()
    result.outputs.append(f"{final}/capacity_plan.md")
    result.add("plans", len(out))
    result.add("plots", len(sections))
    return result


# -- NAB --------------------------------------------------------------------------
def nab_detector_scores(corpus, m: MetricModelSettings, progress: Callable[[str], None] | None = None) -> dict[str, np.ndarray]:
    """Our detector's NAB scores in [0, 1]: `nab_final_scores` of `nab_forecast_z`."""
    z = nab_forecast_z(corpus, m, progress)
    return {n: nab_final_scores(z[n], corpus.values[n], s.timestamps, int(s.scorable.argmax()), m)
            for n, s in corpus.series.items()}


def nab_forecast_z(corpus, m: MetricModelSettings, progress: Callable[[str], None] | None = None) -> dict[str, np.ndarray]:
    """The model's forecast-error |z| (max over channels) on a NAB corpus, online as NAB
    requires. Model 0 is trained only on every file's probationary prefix (the first 15%); with
    `m.nab_retrain_at` = [f1, f2, ...] model k is retrained on the data before fraction f_k of
    every file, with the points the previous models flagged (score >= anomaly_threshold) masked
    out, as `train_metrics` does, and scores the segment [f_k, f_k+1). Every point is scored
    from its past only."""
    from opsradar.eval.nab import probationary_length
    from opsradar.models.metrics.anomaly import score_series
    from opsradar.models.metrics.patchtst import MetricEstimator

    cfg = model_config(m)
    cfg.device = m.device
    cfg.calibration_fraction = 0.0  # the detector uses only p50; the short prefixes are all for training
    cuts = {n: [int(probationary_length(s.n))] + [int(f * s.n) for f in m.nab_retrain_at] for n, s in corpus.series.items()}
    z = {n: np.zeros(s.n) for n, s in corpus.series.items()}
    flagged = {n: np.zeros(s.n, dtype=bool) for n, s in corpus.series.items()}
    for k in range(len(m.nab_retrain_at) + 1):
        if progress:
            progress("training on probationary prefixes" if k == 0 else f"retraining on the first {m.nab_retrain_at[k - 1]:.0%}")
        train = [np.where(flagged[n][:cuts[n][k]], np.nan, corpus.values[n][:cuts[n][k]]) for n in corpus.series]
        predictor = MetricEstimator(cfg).train(train)
        for name, s in corpus.series.items():
            if progress and k == len(m.nab_retrain_at):
                progress(name)
            scored = score_series(predictor, corpus.values[name], step=m.score_step, scale_window=m.scale_window)
            lo, hi = (0 if k == 0 else cuts[name][k]), (cuts[name][k + 1] if k + 1 < len(cuts[name]) else s.n)
            z[name][lo:hi] = np.nan_to_num(np.abs(scored.z)).max(axis=1)[lo:hi]
            flagged[name][lo:hi] = np.nan_to_num(scored.score)[lo:hi] >= m.anomaly_threshold
    return z


def nab_final_scores(z: np.ndarray, values: np.ndarray, timestamps: np.ndarray, probation: int,
                     m: MetricModelSettings) -> np.ndarray:
    """NAB score in [0, 1] of one series (`detector_score`, learning for half the probationary
    period, season sought in the probationary prefix). docs/metrics.md has what each part adds."""
    from opsradar.models.metrics.anomaly import detector_score

    step = 0.0
    if len(timestamps) > 1:
        step = float(np.median(np.diff(np.asarray(timestamps, dtype="datetime64[ns]")).astype("timedelta64[s]").astype(float)))
    return detector_score(z, values, step, probation, max(probation // 2, 1), m.nab_short_window,
                          m.nab_range_tolerance, m.nab_seasonal_min_correlation)
