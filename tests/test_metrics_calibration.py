"""Split-conformal calibration of forecast quantiles: factors, coverage, and the trained model."""

import numpy as np
import pytest
from scipy.stats import norm

from opsradar.models.metrics.calibration import CALIBRATED_LEVELS, QuantileCalibration, calibration_windows, lead_buckets

H = 24


def _gaussian_band(n: int, sigma_model: float = 1.0) -> tuple[np.ndarray, dict[float, np.ndarray]]:
    p50 = np.zeros((n, H, 1))
    raw = {q: p50 + norm.ppf(q) * sigma_model for q in CALIBRATED_LEVELS}
    return p50, raw | {0.5: p50}


def _actuals(rng, n: int) -> np.ndarray:
    """True spread 1 at leads 1-8, 2.5 after: the model's band (sigma 1) is right early, too narrow late."""
    sigma = np.where(np.arange(H) < 8, 1.0, 2.5)
    return rng.standard_normal((n, H, 1)) * sigma[None, :, None]


def test_factors_restore_the_claimed_coverage_on_fresh_data():
    rng = np.random.default_rng(0)
    p50, raw = _gaussian_band(4000)
    cal = QuantileCalibration.fit(p50, raw, _actuals(rng, 4000))
    assert lead_buckets(H) == [0, 1, 2, 4, 8, 16] == cal.bucket_starts
    f90 = cal.factor(0.9, H)
    assert f90[:8] == pytest.approx(1.0, abs=0.1) and f90[8:] == pytest.approx(2.5, abs=0.2)
    p50_new, raw_new = _gaussian_band(4000)
    y = _actuals(rng, 4000)
    for q in (0.05, 0.1, 0.25, 0.75, 0.9, 0.95):
        raw_cov = (y <= raw_new[q]).mean(axis=(0, 2))
        cov = (y <= cal.apply(p50_new, q, raw_new[q])).mean(axis=(0, 2))
        assert abs(raw_cov[8:].mean() - q) > 0.04  # the raw band is off at long leads ...
        np.testing.assert_allclose(cov, q, atol=0.03)  # ... calibrated, every lead covers q, both sides
    assert np.array_equal(cal.apply(p50_new, 0.5, raw_new[0.5]), raw_new[0.5])  # p50 is never moved


def test_levels_between_calibrated_ones_interpolate_and_round_trip():
    rng = np.random.default_rng(1)
    p50, raw = _gaussian_band(2000)
    cal = QuantileCalibration.fit(p50, raw, _actuals(rng, 2000))
    mid = cal.factor(0.92, H)
    lo, hi = cal.factor(0.9, H), cal.factor(0.95, H)
    assert ((mid >= np.minimum(lo, hi) - 1e-12) & (mid <= np.maximum(lo, hi) + 1e-12)).all()
    again = QuantileCalibration.from_dict(cal.to_dict())
    assert np.array_equal(again.factor(0.95, 300), cal.factor(0.95, 300))  # longer horizons reuse the last bucket


def test_missing_actuals_and_flat_bands_are_skipped():
    p50, raw = _gaussian_band(50)
    y = np.full((50, H, 1), np.nan)
    assert QuantileCalibration.fit(p50, raw, y).factor(0.9, H) == pytest.approx(1.0)  # no data: no change
    flat = {q: p50 for q in raw}
    assert np.isfinite(QuantileCalibration.fit(p50, flat, np.ones((50, H, 1))).factors).all()


def test_calibration_windows_take_futures_from_the_held_out_end_only():
    s = np.arange(1000, dtype=float)[:, None]
    ctx, fut = calibration_windows([s], context=64, horizon=12, holdout=200, max_windows=50)
    assert len(ctx) == 50 and ctx.shape[1:] == (64, 1) and fut.shape[1:] == (12, 1)
    assert fut[:, 0, 0].min() == 800 and fut[:, -1, 0].max() == 999
    np.testing.assert_array_equal(ctx[:, -1, 0] + 1, fut[:, 0, 0])  # each future follows its context
