"""Rolling-origin backtest of resource-demand forecasts on Bitbrains-format VM traces.

Per VM and resource (CPU usage %, memory usage), over the last `n_origins` days: models see
only y[:o] at each origin o and forecast ahead. The 1 h horizon (12 five-minute steps) is
evaluated from an origin every `short_origin_step` steps (default every hour, so the 1 h
windows tile the test days), the 24 h horizon (288 steps) from one origin a day; the two
horizons therefore cover the same test days. (Before 2026-12-07 both used the daily origins,
so the 1 h figure came from one hour of the day only.) Metrics, as in the literature:
- MASE = mean|y - p50| / mean|y_t - y_{t-288}| (in-sample daily seasonal-naive MAE on y[:o]);
- pinball loss of p50 and p90, divided by the same in-sample scale (scale-free, so it can be
  averaged over series): mean(max(q (y - yq), (q - 1)(y - yq))) / scale.
A model's "all" figure is the mean of its two horizon means (each horizon weighs the same).
Models: ours (PatchTST, trained once on data before the first origin, never refit), daily
seasonal-naive (quantiles from its in-sample residuals), statsforecast MSTL with an AutoETS
trend (refit at every origin; plain AutoETS with a 288-step season takes minutes per fit on
2 cores), and two references: naive (last value, quantiles of in-sample h-step changes) and a
flat forecast at the last day's quantiles (a robust level: on bursty VMs hard to beat at 24 h).
"""

from __future__ import annotations

import multiprocessing
import os
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

STEP_S = 300
DAY = 288
HORIZONS = {"1h": 12, "24h": 288}
RESOURCES = {"cpu": "CPU usage [%]", "memory": "Memory usage [KB]"}
QUANTILES = (0.5, 0.9)
METRICS = ("mase", "pinball_p50", "pinball_p90", "coverage_p90")


@dataclass
class ForecastEvalConfig:
    n_origins: int = 3
    short_origin_step: int = 12  # 1 h origins every N steps (12: hourly; 288: daily, the pre-2026-12-07 protocol)
    train_days: int = 14  # history each baseline fits on (ours trains on data before the first origin)
    context_length: int = 288
    d_model: int = 32
    pretrain_epochs: int = 1
    finetune_epochs: int = 10
    windows_per_epoch: int = 4096
    distribution: str = "quantile"  # quantile | normal | student_t (MetricModelConfig)
    scaling: str = "robust"  # robust | std
    calibration_fraction: float = 0.0  # end of each training series held out for split-conformal quantiles (0: off)
    seed: int = 0
    max_series: int | None = None


def read_bitbrains(path: str | Path) -> pd.DataFrame:
    """One VM trace -> 5-minute UTC grid (timestamps are Unix seconds; fields split by ';\\t').

    Samples are snapped to the 5-minute grid (the trace jitters by a second or two);
    duplicates keep the last sample; gaps of up to 30 minutes are linearly interpolated,
    longer gaps stay NaN (models treat them as unobserved)."""
    frame = pd.read_csv(path, sep=";", skipinitialspace=True)  # C parser; ';\t' leaves a tab to strip
    frame.columns = [c.strip() for c in frame.columns]
    frame = frame.apply(lambda col: pd.to_numeric(col.astype(str).str.strip(), errors="coerce") if col.dtype == object else col)
    missing = [c for c in ("Timestamp [ms]", *RESOURCES.values()) if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: not a Bitbrains trace, missing column(s) {missing}")
    ts = pd.to_datetime((frame["Timestamp [ms]"].astype("int64") // STEP_S) * STEP_S, unit="s", utc=True)
    out = frame[list(RESOURCES.values())].astype(float).set_axis(list(RESOURCES), axis=1).set_index(ts)
    out = out[~out.index.duplicated(keep="last")].sort_index()
    grid = pd.date_range(out.index[0], out.index[-1], freq=f"{STEP_S}s")
    return out.reindex(grid).interpolate(limit=6, limit_area="inside")


def mase_scale(history: np.ndarray, season: int = DAY) -> float:
    diffs = np.abs(history[season:] - history[:-season])
    scale = float(np.nanmean(diffs)) if np.isfinite(diffs).any() else float("nan")
    return scale if scale > 0 else float("nan")


def pinball(y: np.ndarray, yq: np.ndarray, q: float) -> float:
    d = y - yq
    return float(np.nanmean(np.maximum(q * d, (q - 1) * d)))


# -- baselines --------------------------------------------------------------------
def seasonal_naive(history: np.ndarray, horizon: int) -> dict[float, np.ndarray]:
    reps = int(np.ceil(horizon / DAY))
    point = np.tile(history[-DAY:], reps)[:horizon]
    resid = (history[DAY:] - history[:-DAY])
    resid = resid[np.isfinite(resid)]
    return {q: point + np.quantile(resid, q) if q != 0.5 else point for q in QUANTILES} if len(resid) else {q: point for q in QUANTILES}


def naive(history: np.ndarray, horizon: int) -> dict[float, np.ndarray]:
    """Last observed value; quantiles per lead h from the in-sample h-step changes y[t+h] - y[t]."""
    observed = history[np.isfinite(history)]
    point = np.full(horizon, observed[-1] if len(observed) else np.nan)
    out = {0.5: point}
    for q in QUANTILES:
        if q != 0.5:
            shift = [np.nanquantile(history[h:] - history[:-h], q) for h in range(1, horizon + 1)]
            out[q] = point + np.asarray(shift)
    return out


def last_day_quantiles(history: np.ndarray, horizon: int) -> dict[float, np.ndarray]:
    """Flat forecast at the last day's quantiles: a robust level with no daily shape."""
    day = history[-DAY:]
    return {q: np.full(horizon, np.nanquantile(day, q)) for q in QUANTILES}


def mstl_autoets(history: np.ndarray, horizon: int) -> dict[float, np.ndarray]:
    from statsforecast.models import MSTL, AutoETS

    y = pd.Series(history).interpolate(limit_direction="both").to_numpy()
    model = MSTL(season_length=DAY, trend_forecaster=AutoETS(model="ZZN"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = model.fit(y).predict(horizon, level=[80])
    return {0.5: np.asarray(f["mean"]), 0.9: np.asarray(f["hi-80"])}


@dataclass
class SeriesResult:
    series: str
    origin: str
    model: str
    horizon: str
    mase: float
    pinball_p50: float
    pinball_p90: float
    coverage_p90: float  # share of actuals <= p90 (0.9 when calibrated)


@dataclass
class ForecastReport:
    config: dict
    rows: list[SeriesResult] = field(default_factory=list)

    def summary(self) -> dict[str, dict[str, dict[str, float]]]:
        """model -> horizon -> mean metric over series and origins."""
        frame = pd.DataFrame([r.__dict__ for r in self.rows])
        out: dict[str, dict[str, dict[str, float]]] = {}
        for (model, horizon), g in frame.groupby(["model", "horizon"]):
            out.setdefault(model, {})[horizon] = {m: float(g[m].mean()) for m in METRICS}
        for model, by_h in out.items():  # each horizon weighs the same, however many origins it has
            by_h["all"] = {m: float(np.mean([v[m] for v in by_h.values()])) for m in METRICS}
        return out


def load_traces(data_dir: str | Path, max_series: int | None = None) -> dict[str, np.ndarray]:
    files = sorted(Path(data_dir).glob("*.csv"))
    if not files:
        raise FileNotFoundError(f"no Bitbrains *.csv traces in {data_dir}")
    series: dict[str, np.ndarray] = {}
    for f in files:
        frame = read_bitbrains(f)
        for res in RESOURCES:
            series[f"{f.stem}/{res}"] = frame[res].to_numpy(dtype=float)
    names = sorted(series)[:max_series] if max_series else sorted(series)
    return {n: series[n] for n in names}


def _mstl_at(args: tuple[np.ndarray, int]) -> dict[float, np.ndarray]:
    return mstl_autoets(*args)


def _origins(cfg: ForecastEvalConfig, first_origin: int) -> list[tuple[int, int]]:
    """(origin, horizon) pairs: every `short_origin_step` steps for 1 h, daily for 24 h (which also gives 1 h)."""
    end = first_origin + cfg.n_origins * DAY  # the last 24 h window ends here (the shortest series' end)
    short, long_ = HORIZONS["1h"], HORIZONS["24h"]
    return [(o, long_ if (o - first_origin) % DAY == 0 else short)
            for o in range(first_origin, end - short + 1, cfg.short_origin_step)]


def run_backtest(data_dir: str | Path, cfg: ForecastEvalConfig | None = None,
                 progress: Callable[[str], None] | None = None, model: "MetricModelConfig | None" = None) -> ForecastReport:
    """`model`: evaluate this model config (e.g. the pipeline's) instead of the one built from `cfg`;
    only the horizons within its prediction_length are scored, for every model alike."""
    from dataclasses import asdict

    from opsradar.models.metrics.patchtst import MetricEstimator, MetricModelConfig

    cfg = cfg or ForecastEvalConfig()
    if cfg.short_origin_step <= 0 or DAY % cfg.short_origin_step:
        raise ValueError(f"short_origin_step must divide {DAY} (got {cfg.short_origin_step})")
    series = load_traces(data_dir, cfg.max_series)
    horizon_max = max(HORIZONS.values())
    shortest = min(len(v) for v in series.values())
    first_origin = shortest - cfg.n_origins * DAY
    if first_origin < max(cfg.context_length, model.context_length if model else 0) + horizon_max + 2 * DAY:
        raise ValueError(f"series too short ({shortest} points) for {cfg.n_origins} daily origins")
    origins = _origins(cfg, first_origin)

    if progress:
        progress("training PatchTST on data before the first origin")
    model_cfg = model or MetricModelConfig(
        context_length=cfg.context_length, prediction_length=horizon_max, d_model=cfg.d_model, ffn_dim=2 * cfg.d_model,
        pretrain_epochs=cfg.pretrain_epochs, finetune_epochs=cfg.finetune_epochs, windows_per_epoch=cfg.windows_per_epoch,
        distribution=cfg.distribution, scaling=cfg.scaling, seed=cfg.seed, calibration_fraction=cfg.calibration_fraction,
    )
    horizons = {name: h for name, h in HORIZONS.items() if h <= model_cfg.prediction_length}
    if not horizons:
        raise ValueError(f"prediction_length {model_cfg.prediction_length} is shorter than every horizon {HORIZONS}")
    predictor = MetricEstimator(model_cfg).train([v[:first_origin] for v in series.values()])

    extra = {"origins_per_series": len(origins), "series": list(series), "horizons": list(horizons)}
    if model is not None:
        extra["model"] = asdict(model)
    report = ForecastReport(config=cfg.__dict__ | extra)
    jobs = [(name, o, h) for name in series for o, h in origins]
    context = model_cfg.context_length
    contexts = np.stack([pd.Series(series[n][:o][-context:]).ffill().bfill().to_numpy()[:, None] for n, o, _ in jobs])
    ours = predictor.forecast(contexts, quantiles=QUANTILES)
    if progress:
        progress(f"fitting MSTL+AutoETS at {len(jobs)} origins")
    fits = [(series[n][:o][-cfg.train_days * DAY:], h) for n, o, h in jobs]
    # spawn, not fork: this process already runs torch's threads
    with ProcessPoolExecutor(max_workers=max(1, min(os.cpu_count() or 1, 4)), mp_context=multiprocessing.get_context("spawn")) as pool:
        mstl = list(pool.map(_mstl_at, fits, chunksize=8))
    for k, (name, o, h_max) in enumerate(jobs):
        y, history = series[name], series[name][:o]
        scale = mase_scale(history)
        train = fits[k][0]
        forecasts = {"patchtst": {q: a[k, :, 0] for q, a in ours.items()},
                     "seasonal_naive": seasonal_naive(train, h_max), "mstl_autoets": mstl[k],
                     "naive": naive(train, h_max), "last_day_quantiles": last_day_quantiles(train, h_max)}
        for model, fc in forecasts.items():
            for hname, h in horizons.items():
                if h > h_max:
                    continue
                actual = y[o:o + h]
                report.rows.append(SeriesResult(
                    name, str(o), model, hname,
                    float(np.nanmean(np.abs(actual - fc[0.5][:h])) / scale),
                    pinball(actual, fc[0.5][:h], 0.5) / scale,
                    pinball(actual, fc[0.9][:h], 0.9) / scale,
                    float(np.nanmean(actual <= fc[0.9][:h])),
                ))
    return report
