"""Split-conformal calibration of forecast quantiles, per lead-time bucket (numpy only).

A model's quantile band is often too narrow at long leads (it is trained on windows it has
seen; the future is less tame). On held-out windows (futures never trained on) we measure,
for each quantile level q and lead bucket, the ratio r = (y - p50) / (q_raw - p50) of the
actual's distance from the median to the model's own spread, and take its conformal
q-quantile (q > 0.5; for q < 0.5 the spread is negative, so the (1 - q)-quantile): the factor
f such that y <= p50 + f * (q_raw - p50) on a share q of those windows. Calibrated quantile
= p50 + f * (q_raw - p50): the median is untouched (anomaly scores use only p50), the band
keeps the model's shape (wider where the model is unsure) and is stretched or shrunk to the
coverage it claims. Conformalized quantile regression (Romano et al., 2019) in its scaled
form; levels between the calibrated ones interpolate their factors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

CALIBRATED_LEVELS = (0.02, 0.05, 0.1, 0.25, 0.75, 0.9, 0.95, 0.98)


def lead_buckets(horizon: int) -> list[int]:
    """Bucket starts, doubling: leads 1, 2, 3-4, 5-8, ... (0-based starts 0, 1, 2, 4, 8, ...)."""
    starts, s = [0], 1
    while s < horizon:
        starts.append(s)
        s *= 2
    return starts


def _bucket_of_lead(horizon: int) -> np.ndarray:
    starts = np.asarray(lead_buckets(horizon))
    return np.searchsorted(starts, np.arange(horizon), side="right") - 1


@dataclass
class QuantileCalibration:
    levels: list[float]
    bucket_starts: list[int]
    factors: list[list[float]]  # (levels, buckets)
    windows: int  # calibration windows the factors were measured on

    @classmethod
    def fit(cls, p50: np.ndarray, raw: Mapping[float, np.ndarray], actual: np.ndarray,
            levels: Sequence[float] = CALIBRATED_LEVELS) -> "QuantileCalibration":
        """p50, raw[q], actual: (windows, horizon, channels); NaN actuals are skipped."""
        horizon = p50.shape[1]
        bucket = _bucket_of_lead(horizon)
        starts = lead_buckets(horizon)
        factors = []
        for q in levels:
            spread = raw[q] - p50
            ok = np.isfinite(actual) & (np.abs(spread) > 1e-9 * (1.0 + np.abs(p50)))
            ratio = np.where(ok, (actual - p50) / np.where(ok, spread, 1.0), np.nan)
            row = []
            for b in range(len(starts)):
                r = ratio[:, bucket == b].ravel()
                row.append(_conformal_factor(r[np.isfinite(r)], q))
            factors.append(row)
        return cls(list(levels), starts, factors, int(p50.shape[0]))

    def factor(self, q: float, horizon: int) -> np.ndarray:
        """(horizon,) factors for level q: 1 at the median, interpolated between calibrated levels."""
        per_bucket = np.asarray(self.factors)
        side = [i for i, lv in enumerate(self.levels) if (lv > 0.5) == (q > 0.5)]
        lv = np.asarray(self.levels)[side]
        by_bucket = np.array([np.interp(q, lv, per_bucket[side, b]) for b in range(len(self.bucket_starts))])
        bucket = np.minimum(_bucket_of_lead(horizon), len(self.bucket_starts) - 1)
        return by_bucket[bucket]

    def apply(self, p50: np.ndarray, q: float, raw_q: np.ndarray) -> np.ndarray:
        if q == 0.5:
            return raw_q
        f = self.factor(q, raw_q.shape[1]).astype(raw_q.dtype)
        return p50 + f[None, :, None] * (raw_q - p50)

    def to_dict(self) -> dict:
        return {"levels": self.levels, "bucket_starts": self.bucket_starts, "factors": self.factors, "windows": self.windows}

    @classmethod
    def from_dict(cls, d: Mapping) -> "QuantileCalibration":
        return cls(list(d["levels"]), list(d["bucket_starts"]), [list(r) for r in d["factors"]], int(d["windows"]))


def _conformal_factor(r: np.ndarray, q: float) -> float:
    """Finite-sample split-conformal quantile of the ratios; 1 (no change) without data; never < 0.

    Above the median the band edge covers y when r <= f; below it (negative spread) the edge
    stays under y when r <= f as well, so both sides take the conformal max(q, 1 - q)-quantile.
    """
    n = len(r)
    if n == 0:
        return 1.0
    k = min(int(np.ceil((n + 1) * max(q, 1.0 - q))), n)
    return float(max(np.sort(r)[k - 1], 0.0))


def calibration_windows(series: Sequence[np.ndarray], context: int, horizon: int, holdout: int,
                        max_windows: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """(contexts, futures) with futures in each series' last `holdout` points, origins spread evenly."""
    pairs = []
    for s in series:
        n = len(s)
        first, last = max(n - holdout, context), n - horizon
        pairs += [(s, o) for o in range(first, last + 1)]
    if not pairs:
        return np.empty((0, context, 1), np.float32), np.empty((0, horizon, 1), np.float32)
    picks = np.unique(np.linspace(0, len(pairs) - 1, min(max_windows, len(pairs))).round().astype(int))
    ctx = np.stack([pairs[k][0][pairs[k][1] - context:pairs[k][1]] for k in picks])
    fut = np.stack([pairs[k][0][pairs[k][1]:pairs[k][1] + horizon] for k in picks])
    return ctx.astype(np.float32), fut.astype(np.float32)
