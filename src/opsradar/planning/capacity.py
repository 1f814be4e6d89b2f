"""Capacity plan arithmetic for one entity and resource (numpy only; documented in docs/metrics.md).

- current_p95: 95th percentile of usage over the last 7 days of history;
- forecast_peak_p95_Nd: max of the forecast p95 band over the next N days;
- days_to_saturation: first forecast step whose p95 reaches saturation_threshold * capacity;
- recommended_request = 7-day p95 peak / target_utilization (peak load sits at the target);
- recommended_limit = max(request, 30-day p95 peak * (1 + limit_headroom));
- recommended_replicas = ceil(30-day p95 peak / (capacity per replica * target_utilization));
- over/under-provisioning cost: |capacity - recommended_request| * cost_per_unit_hour * 720 h (30 days).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

HOURS_PER_MONTH = 720.0
MIN_TREND_DAYS = 7  # fewer daily means give too noisy a slope to extrapolate 30 days


@dataclass
class CapacityInputs:
    history: np.ndarray  # usage on the model grid (NaN = missing)
    forecast_p50: np.ndarray  # steps after the last history point
    forecast_p95: np.ndarray
    step_seconds: int
    capacity: float | None  # today's allocation (request / provisioned), same unit as usage
    replicas: int = 1


@dataclass
class CapacityLine:
    current_p95: float | None
    forecast_peak_p95: dict[int, float | None]  # horizon days -> peak
    saturation_threshold: float
    days_to_saturation: float | None
    recommended_request: float | None
    recommended_limit: float | None
    recommended_replicas: int | None
    over_provisioning_cost: float
    under_provisioning_cost: float
    status: str


def plan_line(inp: CapacityInputs, horizons_days: list[int], saturation: float, target_utilization: float,
              limit_headroom: float, cost_per_unit_hour: float) -> CapacityLine:
    steps_per_day = 86400 / inp.step_seconds
    week = inp.history[-int(7 * steps_per_day):]
    week = week[np.isfinite(week)]
    current = float(np.percentile(week, 95)) if len(week) else None
    peaks: dict[int, float | None] = {}
    for days in horizons_days:
        band = inp.forecast_p95[: int(days * steps_per_day)]
        peaks[days] = float(np.nanmax(band)) if len(band) and np.isfinite(band).any() else None
    days_to_sat = None
    if inp.capacity and inp.capacity > 0:
        hits = np.nonzero(inp.forecast_p95 >= saturation * inp.capacity)[0]
        if len(hits):
            days_to_sat = float((hits[0] + 1) / steps_per_day)
        elif current is not None and current >= saturation * inp.capacity:
            days_to_sat = 0.0
    short, long_ = peaks.get(min(horizons_days)), peaks.get(max(horizons_days))
    request = short / target_utilization if short is not None else None
    limit = max(request, long_ * (1 + limit_headroom)) if request is not None and long_ is not None else None
    replicas = None
    if inp.capacity and inp.capacity > 0 and long_ is not None:
        per_replica = inp.capacity / max(inp.replicas, 1)
        replicas = max(1, math.ceil(long_ / (per_replica * target_utilization)))
    over = under = 0.0
    if inp.capacity is not None and request is not None:
        over = max(0.0, inp.capacity - request) * cost_per_unit_hour * HOURS_PER_MONTH
        under = max(0.0, request - inp.capacity) * cost_per_unit_hour * HOURS_PER_MONTH
    status = "ok"
    if days_to_sat is not None:
        status = "critical" if days_to_sat <= min(horizons_days) else "warning"
    return CapacityLine(current, peaks, saturation, days_to_sat, request, limit, replicas, over, under, status)


def long_horizon_forecast(model_p50: np.ndarray, model_p95: np.ndarray, history: np.ndarray, steps: int,
                          step_seconds: int, profile_days: int = 14) -> tuple[np.ndarray, np.ndarray]:
    """The model's quantiles for its own horizon, then a daily-profile extension with trend.

    Beyond the model horizon, each step gets the p50/p95 of the history at the same time of
    day (last `profile_days` days) plus the linear trend of daily means (per day ahead, from >= MIN_TREND_DAYS days), so
    a 30-day plan keeps the daily peaks and growth instead of a recursive forecast that
    flattens out. The history must end at the forecast origin."""
    per_day = int(round(86400 / step_seconds))
    hist = np.asarray(history, dtype=float)[-profile_days * per_day:]
    n_days = len(hist) // per_day
    h = len(model_p50)
    p50 = np.empty(steps)
    p95 = np.empty(steps)
    p50[:min(h, steps)], p95[:min(h, steps)] = model_p50[:steps], model_p95[:steps]
    if steps <= h:
        return np.maximum(p50, 0.0), np.maximum(p95, 0.0)
    if n_days >= 1:
        days = hist[len(hist) - n_days * per_day:].reshape(n_days, per_day)  # rows end at the origin
        with np.errstate(all="ignore"):
            means = np.nanmean(days, axis=1)
        ok = np.isfinite(means)
        slope = float(np.polyfit(np.nonzero(ok)[0], means[ok], 1)[0]) if ok.sum() >= MIN_TREND_DAYS else 0.0
        # Bring every past day to today's level before taking quantiles, so the profile does not lag the trend.
        days = days + slope * (n_days - 1 - np.arange(n_days))[:, None]
        with np.errstate(all="ignore"):
            prof50 = np.nanquantile(days, 0.5, axis=0)
            prof95 = np.nanquantile(days, 0.95, axis=0)
    else:  # under a day of history: flat at the history's quantiles
        prof50 = np.full(per_day, np.nanquantile(hist, 0.5))
        prof95 = np.full(per_day, np.nanquantile(hist, 0.95))
        slope = 0.0
    k = np.arange(h, steps)
    slot = k % per_day  # step k after the origin sits at the same time of day as row slot of `days`
    ahead = (k + 1) / per_day
    p50[h:] = prof50[slot] + slope * ahead
    p95[h:] = np.maximum(prof95[slot] + slope * ahead, p50[h:])
    return np.maximum(p50, 0.0), np.maximum(p95, 0.0)  # usage is never negative
