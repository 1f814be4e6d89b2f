"""Streaming anomaly scores from forecast error (numpy + the predictor only).

For each block of `step` points starting at origin o, the predictor forecasts from the
`context_length` points before o, so every point is scored using only its past. The
residual x - p50 of each channel is divided by a robust scale of that channel's earlier
residuals (1.4826 * median |residual| over the last `scale_window` scored points before
o), giving z. The score is calibrated to 0-100 as -10 * log10 of the two-sided Gaussian
tail probability of z (Bonferroni-combined over channels), capped at 100: 13 ~ |z| = 2,
26 ~ |z| = 3, 62 ~ |z| = 5. Drivers are the channels within 10 points of the top one.
"""

from __future__ import annotations

import bisect
import math
import warnings
from dataclasses import dataclass

import numpy as np

from opsradar.models.metrics.patchtst import MetricPredictor

MAD_TO_SIGMA = 1.4826
MIN_RESIDUALS = 16


@dataclass
class AnomalyScores:
    score: np.ndarray  # (time,) 0-100; 0 during warm-up (no context or scale yet)
    channel_score: np.ndarray  # (time, channels) 0-100
    z: np.ndarray  # (time, channels) robust z of the residual, NaN during warm-up
    p50: np.ndarray  # (time, channels) forecast the point was compared with
    p90: np.ndarray
    p95: np.ndarray
    channel_names: list[str]

    def drivers(self, t: int, margin: float = 10.0) -> list[str]:
        row = self.channel_score[t]
        if not np.isfinite(row).any() or row.max() <= 0:
            return []
        order = np.argsort(-row)
        return [self.channel_names[c] for c in order if row[c] >= row.max() - margin and row[c] > 0]


def tail_score(z: np.ndarray, n_channels: int = 1) -> np.ndarray:
    """-10 * log10(two-sided Gaussian tail of |z|, times n_channels), in [0, 100]."""
    erfc = np.vectorize(math.erfc, otypes=[float])
    p = np.minimum(1.0, n_channels * erfc(np.abs(z) / math.sqrt(2.0)))
    with np.errstate(divide="ignore"):
        return np.clip(-10.0 * np.log10(np.maximum(p, 1e-300)), 0.0, 100.0)


def score_series(predictor: MetricPredictor, values: np.ndarray, step: int | None = None, scale_window: int = 1024,
                 channel_names: list[str] | None = None, observed: np.ndarray | None = None) -> AnomalyScores:
    """Score every point of a (time, channels) array from its past (see the module docstring).

    `observed` (same shape, bool) marks real points when `values` has gaps filled in: filled
    points are never scored nor used for the robust scale, and a forecast origin needs at
    least half of its context observed (a filled, flat history would make every residual
    look huge against a near-zero scale)."""
    x = np.asarray(values, dtype=np.float32)
    x = x[:, None] if x.ndim == 1 else x
    T, C = x.shape
    seen_mask = np.ones((T, C), dtype=bool) if observed is None else np.asarray(observed, dtype=bool).reshape(T, C)
    L, H = predictor.config.context_length, predictor.config.prediction_length
    step = min(step or H, H)
    nan = np.full((T, C), np.nan)
    p50, p90, p95, z = nan.copy(), nan.copy(), nan.copy(), nan.copy()
    origins = np.arange(L, T, step)
    if observed is not None and len(origins):
        coverage = np.concatenate([np.zeros((1, C)), np.cumsum(seen_mask, axis=0)])
        origins = origins[((coverage[origins] - coverage[origins - L]) >= L / 2).all(axis=1)]
    if len(origins):
        contexts = np.stack([x[o - L:o] for o in origins])
        if predictor.config.num_channels == 1 and C > 1:  # channel-independent model: one channel per row
            flat = predictor.forecast(contexts.transpose(0, 2, 1).reshape(-1, L, 1), quantiles=(0.5, 0.9, 0.95))
            q = {k: v.reshape(len(origins), C, -1).transpose(0, 2, 1) for k, v in flat.items()}
        else:
            q = predictor.forecast(contexts, quantiles=(0.5, 0.9, 0.95))
        for k, o in enumerate(origins):
            n = min(step, T - o)
            p50[o:o + n], p90[o:o + n], p95[o:o + n] = q[0.5][k, :n], q[0.9][k, :n], q[0.95][k, :n]
    resid = np.where(seen_mask, np.abs(x - p50), np.nan)
    # Floor the scale so a perfectly flat history does not turn rounding noise into alarms.
    first = int(origins[0]) if len(origins) else L
    history = np.where(seen_mask, x, np.nan)[max(first - L, 0): max(first, 1)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN channel: no floor beyond the epsilon
        floor = np.nan_to_num(1e-3 * (np.nanstd(history, axis=0) + np.abs(np.nanmedian(history, axis=0)))) + 1e-9
    for o in origins:
        past = resid[max(L, o - scale_window):o]
        n = min(step, T - o)
        for c in range(C):
            seen = past[:, c][np.isfinite(past[:, c])]
            if len(seen) < MIN_RESIDUALS:
                continue
            scale = max(MAD_TO_SIGMA * float(np.median(seen)), float(floor[c]))
            z[o:o + n, c] = np.where(seen_mask[o:o + n, c], (x[o:o + n, c] - p50[o:o + n, c]) / scale, np.nan)
    zf = np.nan_to_num(z, nan=0.0)
    channel_score = tail_score(zf)
    total = tail_score(np.max(np.abs(zf), axis=1), n_channels=C)
    names = channel_names or (list(predictor.config.channel_names) if C == predictor.config.num_channels else [f"ch{c}" for c in range(C)])
    return AnomalyScores(total, channel_score, z, p50, p90, p95, names)


def anomaly_likelihood(raw: np.ndarray, short_window: int = 10, historic_window: int = 8640, learning_period: int = 288) -> np.ndarray:
    """Numenta's anomaly likelihood, causal: how unusual the short-term mean of `raw` is
    against the distribution (mean, std) of that mean over the preceding historic window.
    Returned on NAB's log scale, log(tail + 1e-10) / log(1e-10), in [0, 1]; 0 while learning."""
    r = np.nan_to_num(np.asarray(raw, dtype=float), nan=0.0)
    c = np.concatenate([[0.0], np.cumsum(r)])
    idx = np.arange(len(r))
    lo = np.maximum(0, idx + 1 - short_window)
    avg = (c[idx + 1] - c[lo]) / (idx + 1 - lo)
    a1 = np.concatenate([[0.0], np.cumsum(avg)])
    a2 = np.concatenate([[0.0], np.cumsum(avg * avg)])
    hlo = np.maximum(0, idx - historic_window)
    n = np.maximum(idx - hlo, 1)
    mean = (a1[idx] - a1[hlo]) / n
    var = np.maximum((a2[idx] - a2[hlo]) / n - mean * mean, 0.0)
    std = np.maximum(np.sqrt(var), 1e-3 * (np.abs(mean) + 1e-6))
    erfc = np.vectorize(math.erfc, otypes=[float])
    tail = 0.5 * erfc((avg - mean) / std / math.sqrt(2.0))
    out = np.log(tail + 1e-10) / np.log(1e-10)
    out[idx < learning_period] = 0.0
    return np.clip(out, 0.0, 1.0)


def suppress_repeats(scores: np.ndarray, threshold: float, refractory: int) -> np.ndarray:
    """Causal alarms: a row alarms when its score reaches `threshold` and no alarm was raised
    in the previous `refractory` rows (one alert per incident, not one per row of it; what an
    alert throttle does). refractory 0 = every row at or above the threshold."""
    above = np.flatnonzero(np.nan_to_num(np.asarray(scores, dtype=float), nan=-np.inf) >= threshold)
    alarms = np.zeros(len(scores), dtype=bool)
    if refractory <= 0:
        alarms[above] = True
        return alarms
    i = 0
    while i < len(above):
        row = above[i]
        alarms[row] = True
        i = int(np.searchsorted(above, row + refractory + 1))  # next candidate past the quiet period
    return alarms


def range_novelty(values: np.ndarray, tolerance: float = 0.05, prior: tuple[float, float] | None = None) -> np.ndarray:
    """Causal "spatial anomaly" of Numenta's NAB detector: True where a value leaves the range
    of every earlier value by more than `tolerance` x that range (never while the range is 0).
    `prior`: the (min, max) seen before `values[0]`, as if they came first."""
    x = np.asarray(values, dtype=float)
    if prior is not None:
        return range_novelty(np.concatenate([np.asarray(prior, dtype=float), x]), tolerance)[2:]
    if len(x) == 0:
        return np.zeros(0, dtype=bool)
    lo = np.concatenate([[x[0]], np.fmin.accumulate(x)[:-1]])
    hi = np.concatenate([[x[0]], np.fmax.accumulate(x)[:-1]])
    margin = (hi - lo) * tolerance
    return (hi > lo) & ((x > hi + margin) | (x < lo - margin))


def seasonal_period(step_seconds: float, prefix: np.ndarray, min_correlation: float = 0.7) -> int | None:
    """The daily or weekly period (in points) whose lag correlation on `prefix` is highest and
    at least `min_correlation`; None when neither fits twice in the prefix or both correlate less."""
    x = np.asarray(prefix, dtype=float)
    best: tuple[int, float] | None = None
    for seconds in (86_400, 7 * 86_400):
        lag = int(round(seconds / step_seconds))
        if lag < 2 or 2 * lag > len(x):
            continue
        a, b = x[lag:], x[:-lag]
        if a.std() == 0 or b.std() == 0:
            continue
        r = float(np.corrcoef(a, b)[0, 1])
        if r >= min_correlation and (best is None or r > best[1]):
            best = (lag, r)
    return best[0] if best else None


def seasonal_z(values: np.ndarray, period: int, step: int = 8, scale_window: int = 1024) -> np.ndarray:
    """Causal seasonal-naive error: |x_t - x_{t-period}| over a robust scale (1.4826 x median)
    of the earlier such errors, blockwise like `score_series`; 0 before `period` + 16 points.
    `values` must be gap-free (no NaN)."""
    x = np.asarray(values, dtype=float)
    resid = np.zeros(len(x))
    resid[period:] = np.abs(x[period:] - x[:-period])
    z = np.zeros(len(x))
    # std of x[:o] for every origin o from running sums (shifted by x[0] against cancellation)
    d = x - (x[0] if len(x) else 0.0)
    s1, s2 = np.concatenate([[0.0], np.cumsum(d)]), np.concatenate([[0.0], np.cumsum(d * d)])
    errors, window, lo, hi = resid.tolist(), [], period, period  # window: sorted errors[lo:hi]
    for o in range(period + MIN_RESIDUALS, len(x), step):
        for k in range(hi, o):
            bisect.insort(window, errors[k])
        for k in range(lo, max(period, o - scale_window)):
            del window[bisect.bisect_left(window, errors[k])]
        lo, hi, n = max(period, o - scale_window), o, len(window)
        median = window[n // 2] if n % 2 else 0.5 * (window[n // 2 - 1] + window[n // 2])
        std = math.sqrt(max(s2[o] / o - (s1[o] / o) ** 2, 0.0))
        scale = max(MAD_TO_SIGMA * median, 1e-9 + 1e-3 * std)  # the floor: a flat history must not turn rounding into alarms
        z[o:o + step] = resid[o:o + step] / scale
    return z


def detector_score(z: np.ndarray, values: np.ndarray, step_seconds: float, prefix_end: int, learning_period: int,
                   short_window: int = 10, range_tolerance: float | None = 0.05,
                   seasonal_min_correlation: float | None = 0.7, observed: np.ndarray | None = None,
                   history: np.ndarray | None = None, range_from: int = 0) -> np.ndarray:
    """One channel's score in [0, 1] from its forecast-error |z|, causal (what `eval nab`
    measures): the anomaly likelihood of |z| and 1 where the value leaves the range seen so far
    (`range_tolerance`; Numenta's NAB post-processing of HTM); where the values before
    `prefix_end` repeat daily or weekly (`seasonal_min_correlation`), the larger of the
    likelihood and that of the seasonal-naive error. `observed` False: a gap-filled point, scored
    0 and never novel. `history`: the same series' values on the same grid just before
    `values` (NaN where none was observed), unscored but remembered: its range counts as seen,
    and it serves the season search and the seasonal-naive errors (a week needs two weeks of
    it). No range novelty before `range_from`.
    On NAB's scale: -log10(tail probability) / 10, so 100 x score reads like `tail_score`."""
    x = np.asarray(values, dtype=float)
    past = _observed_history(history)
    score = anomaly_likelihood(np.abs(z), short_window=short_window, learning_period=learning_period)
    if seasonal_min_correlation is not None and step_seconds > 0:
        full = np.concatenate([past, x])
        period = seasonal_period(step_seconds, full[:len(past) + prefix_end], seasonal_min_correlation)
        if period:
            seasonal_error = seasonal_z(full, period)
            seasonal = anomaly_likelihood(seasonal_error, short_window=short_window, learning_period=learning_period)
            score = np.maximum(score, seasonal[len(past):])
    if range_tolerance is not None:
        prior = (float(past.min()), float(past.max())) if len(past) else None
        novel = range_novelty(np.where(observed, x, np.nan) if observed is not None else x, range_tolerance, prior)
        novel[:range_from] = False
        score = np.where(novel, 1.0, score)
    return np.where(observed, score, 0.0) if observed is not None else score


def fill_gaps(values: np.ndarray) -> np.ndarray:
    """Gaps (NaN) carry the last observed value forward; leading ones take the first (all NaN: 0)."""
    v = np.asarray(values, dtype=float).copy()
    idx = np.where(np.isfinite(v), np.arange(len(v)), 0)
    np.maximum.accumulate(idx, out=idx)
    v = v[idx]
    first = np.argmax(np.isfinite(v)) if np.isfinite(v).any() else 0
    v[:first] = v[first] if np.isfinite(v).any() else 0.0
    return v


def _observed_history(history: np.ndarray | None) -> np.ndarray:
    """`history` from its first observed value on, gaps carried forward (empty if none)."""
    h = np.asarray(history if history is not None else [], dtype=float)
    seen = np.isfinite(h)
    return fill_gaps(h[int(np.argmax(seen)):]) if seen.any() else np.zeros(0)
