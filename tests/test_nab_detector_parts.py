"""The classical streaming parts of the NAB detector: range novelty, seasonal-naive error, and
how `nab_final_scores` combines them with the forecast-error likelihood."""

import numpy as np
import pandas as pd
import pytest

from opsradar.config import MetricModelSettings
from opsradar.eval.nab import Corpus
from opsradar.models.metrics.anomaly import detector_score, range_novelty, seasonal_period, seasonal_z
from opsradar.pipeline.metrics_model import nab_final_scores

JUMPSUP = "artificialWithAnomaly/art_daily_jumpsup.csv"


def test_range_novelty_flags_values_beyond_the_seen_range_plus_tolerance():
    x = np.array([5.0, 5.0, 6.0, 10.0, 10.1, 10.5, 4.9, 4.5, 3.0])
    # Range 0 until 6 arrives (never novel); 10 beyond [5, 6] + 0.05; 10.1 within [5, 10] + 0.25,
    # 10.5 beyond it; 4.9 within [5, 10.5] - 0.275, 4.5 beyond; 3 beyond [4.5, 10.5] - 0.3.
    assert range_novelty(x, 0.05).tolist() == [False, False, False, True, False, True, False, True, True]
    assert range_novelty(x, 1.0).tolist() == [False, False, False, True, False, False, False, False, False]
    assert range_novelty(x[:5], 0.05).tolist() == range_novelty(x, 0.05)[:5].tolist()  # causal
    assert range_novelty(np.array([]), 0.05).tolist() == []


def test_range_novelty_remembers_a_prior_range_and_can_wait_for_history():
    x = np.array([5.0, 6.0, 9.0, 5.5])
    assert range_novelty(x, 0.05).tolist() == [False, False, True, False]
    # Seen [3, 10] before: 9 is ordinary; the prior also ends the range-0 start (5 vs [3, 10] is in).
    assert range_novelty(x, 0.05, prior=(3.0, 10.0)).tolist() == [False] * 4
    assert range_novelty(np.array([12.0, 1.0]), 0.05, prior=(3.0, 10.0)).tolist() == [True, True]
    # detector_score still learning its likelihood (6 points): only range novelty can score 1.
    flat, jump = np.zeros(6), np.array([5.0, 6.0, 5.0, 6.0, 9.0, 5.0])
    assert detector_score(flat, jump, 300, 0, 6, seasonal_min_correlation=None).tolist() == [0, 0, 0, 0, 1, 0]
    assert detector_score(flat, jump, 300, 0, 6, seasonal_min_correlation=None, range_from=5).tolist() == [0] * 6
    # A history that saw 0 and 9 (with a gap) makes 9 ordinary; an unobserved history remembers nothing.
    assert detector_score(flat, jump, 300, 0, 6, seasonal_min_correlation=None, history=np.array([np.nan, 0.0, np.nan, 9.0])).tolist() == [0] * 6
    assert detector_score(flat, jump, 300, 0, 6, seasonal_min_correlation=None, history=np.full(3, np.nan)).tolist() == [0, 0, 0, 0, 1, 0]


def _weekly(days: int, step_seconds: int = 3600, seed: int = 0) -> np.ndarray:
    """Hourly load: a daily curve on weekdays, a low flat-ish weekend, a little noise."""
    t = np.arange(days * 86_400 // step_seconds) * step_seconds
    day_of_week, hour = (t // 86_400) % 7, (t % 86_400) / 3600
    weekday = 50 + 40 * np.sin(np.pi * np.clip(hour - 6, 0, 12) / 12)
    return np.where(day_of_week < 5, weekday, 20.0) + np.random.default_rng(seed).normal(0, 1, len(t))


def test_detector_score_finds_a_weekly_season_in_the_history_and_flags_a_broken_week():
    x = _weekly(25)
    week_start = 21 * 24  # day 21 is a Monday
    broken = x.copy()
    broken[week_start:week_start + 24] = 20.0 + np.random.default_rng(1).normal(0, 1, 24)  # Monday at a weekend's level
    lookback = week_start - 4 * 24  # the 4 days before the interval, as the pipeline's lookback
    z = np.zeros(len(x) - lookback)  # a forecast error that saw nothing
    assert seasonal_period(3600, x[lookback:week_start]) is None  # 4 days: no week, and no day (weekends)
    assert seasonal_period(3600, x[:week_start]) == 168
    kwargs = dict(step_seconds=3600, prefix_end=week_start - lookback, learning_period=24, range_tolerance=0.05)
    alone = detector_score(z, broken[lookback:], **kwargs)
    remembered = detector_score(z, broken[lookback:], history=broken[:lookback], **kwargs)
    ordinary = detector_score(z, x[lookback:], history=x[:lookback], **kwargs)
    monday = slice(week_start - lookback, week_start - lookback + 24)
    assert alone[monday].max() < 0.1  # the lookback's weekend had that level, and it holds no season
    assert remembered[monday].max() > 0.5 > 0.1 > ordinary[monday].max()
    np.testing.assert_array_equal(remembered[:monday.start], ordinary[:monday.start])  # causal


def test_seasonal_period_picks_the_day_or_week_that_repeats():
    t = np.arange(3000)
    daily = np.sin(2 * np.pi * t / 288) + 0.05 * np.random.default_rng(0).normal(size=len(t))
    assert seasonal_period(300, daily[:604]) == 288  # 5-min steps: a day is 288 points
    assert seasonal_period(300, daily[:500]) is None  # fewer than two days in the prefix
    assert seasonal_period(300, np.random.default_rng(1).normal(size=2000)) is None  # no season
    assert seasonal_period(300, np.ones(1000)) is None  # flat
    hourly = np.tile(np.r_[np.ones(24 * 5), np.zeros(48)], 6) + 0.01 * t[:1008]
    assert seasonal_period(3600, hourly) == 168  # weekday/weekend shape: only the week repeats


def test_seasonal_z_is_causal_and_peaks_where_the_day_breaks_its_pattern():
    t = np.arange(2880)
    x = np.sin(2 * np.pi * t / 288) + 0.05 * np.random.default_rng(0).normal(size=len(t))
    x[2000:2100] = 0.0  # a flat stretch: normal values, abnormal for the time of day
    z = seasonal_z(x, 288)
    assert z[:288 + 16].max() == 0
    assert z[2000:2100].max() > 10 and np.median(z[600:2000]) < 1.5
    np.testing.assert_allclose(seasonal_z(x[:2050], 288), z[:2050])


@pytest.fixture(scope="module")
def jumpsup(shared_data):
    corpus = Corpus.load(shared_data / "nab", only=[JUMPSUP])
    return corpus.series[JUMPSUP], corpus.values[JUMPSUP]


def test_final_scores_catch_a_seasonal_break_the_forecast_error_misses(jumpsup):
    """art_daily_jumpsup with a forecast error of 0 everywhere (a model that follows every step):
    only the seasonal-naive part can see the jump (range novelty off), and it peaks inside the
    labelled window."""
    series, values = jumpsup
    probation = int(series.scorable.argmax())
    z = np.zeros(series.n)
    m = MetricModelSettings(nab_range_tolerance=None)
    on = nab_final_scores(z, values, series.timestamps, probation, m)
    off = nab_final_scores(z, values, series.timestamps, probation, m.model_copy(update={"nab_seasonal_min_correlation": None}))
    (lo, hi), = series.windows
    after = series.scorable & (series.window_id < 0)
    assert off[series.scorable].max() < 0.1
    assert on[lo:hi + 1].max() > 0.9 and on[lo:hi + 1].max() > on[after].max()
    prefix = nab_final_scores(z[:lo + 50], values[:lo + 50], series.timestamps[:lo + 50], probation, m)
    np.testing.assert_allclose(prefix, on[:lo + 50])  # causal


def test_final_scores_are_one_where_a_value_leaves_the_seen_range(jumpsup):
    series, values = jumpsup
    probation = int(series.scorable.argmax())
    bumped = values.copy()
    bumped[3500] = values[:3500].max() * 2
    z = np.zeros(series.n)
    m = MetricModelSettings(nab_seasonal_min_correlation=None)
    assert nab_final_scores(z, bumped, series.timestamps, probation, m)[3500] == 1.0
    off = m.model_copy(update={"nab_range_tolerance": None})
    assert nab_final_scores(z, bumped, series.timestamps, probation, off)[3500] < 1.0
    assert pd.Series(nab_final_scores(z, values, series.timestamps, probation, m)).between(0, 1).all()


def test_detector_score_never_scores_or_learns_range_from_gap_filled_points():
    from opsradar.models.metrics.anomaly import detector_score

    rng = np.random.default_rng(0)
    x = 10 + rng.normal(size=1000)
    observed = np.ones(1000, bool)
    observed[500:520] = False
    x_filled = x.copy()
    x_filled[500:520] = 1000.0  # filler far outside the range: neither novel itself nor widening the range
    z = np.abs(rng.normal(size=1000))
    s = detector_score(z, x_filled, 300, 400, 100, observed=observed)
    assert s[500:520].max() == 0
    x_filled[700] = 30.0  # a real reading beyond the observed range is still novel
    assert detector_score(z, x_filled, 300, 400, 100, observed=observed)[700] == 1.0
    assert detector_score(z, x_filled, 300, 400, 100)[700] < 1.0  # unmasked, the filler had widened the range
