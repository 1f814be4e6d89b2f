"""Metric model: tiny PatchTST models on the NAB dev series, registry, streaming anomaly scores."""

import numpy as np
import pandas as pd
import pytest

from opsradar.models.metrics.anomaly import anomaly_likelihood, score_series, tail_score
import torch

from opsradar.models.metrics.patchtst import MetricEstimator, MetricModelConfig, MetricPredictor, robust_scale
from opsradar.models.registry import ModelRegistry, RegistryError

pytestmark = pytest.mark.slow
NAB_FILES = ["realAWSCloudwatch/ec2_cpu_utilization_5f5533.csv", "realAWSCloudwatch/rds_cpu_utilization_cc0c53.csv"]


def tiny(channels: int = 1, **kw) -> MetricModelConfig:
    base = dict(context_length=64, prediction_length=12, num_channels=channels, channel_names=[f"m{i}" for i in range(channels)],
                d_model=16, ffn_dim=32, num_heads=2, pretrain_epochs=1, finetune_epochs=2, windows_per_epoch=256, batch_size=64,
                device="cpu")
    return MetricModelConfig(**(base | kw))


@pytest.fixture(scope="module")
def nab_values(shared_data):
    return [pd.read_csv(shared_data / "nab" / "data" / f)["value"].to_numpy(dtype=float) for f in NAB_FILES]


@pytest.fixture(scope="module")
def univariate(nab_values):
    return MetricEstimator(tiny()).train([v[:1500] for v in nab_values])


def _ordered(q):
    return bool((q[0.5] <= q[0.9]).all() and (q[0.9] <= q[0.95]).all())


def test_univariate_forecast_has_ordered_quantiles(univariate, nab_values):
    ctx = np.stack([nab_values[0][i:i + 64, None] for i in range(2000, 3000, 37)])
    q = univariate.forecast(ctx)
    assert set(q) == {0.5, 0.9, 0.95}
    assert q[0.5].shape == (len(ctx), 12, 1)
    assert np.isfinite(q[0.95]).all() and _ordered(q)
    assert (q[0.95] - q[0.5]).mean() > 0  # a real predictive spread, not a point forecast
    hist = univariate.training["history"]
    assert len(hist["pretrain_loss"]) == 1 and len(hist["finetune_loss"]) == 2
    assert np.isfinite(hist["pretrain_loss"] + hist["finetune_loss"]).all()


@pytest.mark.parametrize("distribution,scaling", [("quantile", "robust"), ("quantile", "std"), ("normal", "std"), ("student_t", "std")])
def test_multivariate_forecasts_are_ordered_for_every_head(nab_values, distribution, scaling):
    both = np.stack([nab_values[0][:1200], nab_values[1][:1200]], axis=1)
    cfg = tiny(channels=2, distribution=distribution, scaling=scaling, num_samples=64, finetune_epochs=1)
    model = MetricEstimator(cfg).train([both])
    q = model.forecast(both[None, -64:])
    assert q[0.5].shape == (1, 12, 2) and _ordered(q)


def test_normal_head_quantiles_are_exact_not_sampled(nab_values):
    cfg = tiny(distribution="normal", scaling="std", finetune_epochs=1, num_samples=8)
    model = MetricEstimator(cfg).train([nab_values[0][:1200]])
    ctx = np.stack([nab_values[0][i:i + 64, None] for i in range(1200, 1500, 50)]).astype(np.float32)
    torch.manual_seed(1)
    first = model.forecast(ctx, quantiles=[0.05, 0.5, 0.95])
    torch.manual_seed(2)
    assert all(np.array_equal(first[q], v) for q, v in model.forecast(ctx, quantiles=[0.05, 0.5, 0.95]).items())
    model.model.eval()
    with torch.no_grad():
        out = model.model(past_values=torch.from_numpy(ctx), past_observed_mask=torch.ones_like(torch.from_numpy(ctx)))
    mu, sigma = (p.numpy() for p in out.prediction_outputs)
    loc, scale = out.loc.numpy(), out.scale.numpy()
    # p50 is the mean and p95 - p50 = 1.6449 sigma (8 samples would miss both by far)
    np.testing.assert_allclose(first[0.5], loc + scale * mu, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(first[0.95] - first[0.5], scale * sigma * 1.6448536, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(first[0.5] - first[0.05], first[0.95] - first[0.5], rtol=1e-4, atol=1e-5)


def test_ensemble_forecast_is_the_median_of_seeded_members_and_survives_save_load(nab_values, tmp_path):
    from opsradar.models.metrics.patchtst import EnsembleForecaster

    kw = dict(distribution="normal", scaling="std", finetune_epochs=1)
    train = [nab_values[0][:1200]]
    ensemble = MetricEstimator(tiny(ensemble_size=3, seed=1, **kw)).train(train)
    assert isinstance(ensemble.model, EnsembleForecaster) and len(ensemble.model.members) == 3
    assert len(ensemble.training["member_histories"]) == 3
    ctx = np.stack([nab_values[0][i:i + 64, None] for i in range(1200, 1500, 50)]).astype(np.float32)
    q = ensemble.forecast(ctx)
    per_member = [MetricPredictor(m, tiny(**kw)).forecast(ctx) for m in ensemble.model.members]
    assert not np.allclose(per_member[0][0.5], per_member[1][0.5])  # different seeds, different models
    for level in q:
        np.testing.assert_allclose(q[level], np.median([p[level] for p in per_member], axis=0), rtol=1e-6, atol=1e-6)
    assert _ordered(q)
    # Member k is the single model of seed (seed * size + k): ensembles of seeds 0, 1, 2 share no member.
    single = MetricEstimator(tiny(seed=1 * 3 + 1, **kw)).train(train)
    np.testing.assert_allclose(per_member[1][0.5], single.forecast(ctx)[0.5], rtol=1e-5, atol=1e-5)
    loaded = MetricPredictor.load(ensemble.save(tmp_path / "model"))
    assert isinstance(loaded.model, EnsembleForecaster) and loaded.config.ensemble_size == 3
    np.testing.assert_array_equal(loaded.forecast(ctx)[0.5], q[0.5])


def test_robust_scale_ignores_bursts_and_unobserved_points():
    past = torch.tensor([[1.0, 2.0, 3.0, 4.0, 100.0, -50.0]]).reshape(1, 6, 1)
    mask = torch.tensor([[1, 1, 1, 1, 1, 0]]).reshape(1, 6, 1).float()  # -50 is a gap
    scaled, loc, scale = robust_scale(past, mask)
    assert loc.item() == 3.0  # median of the observed 1, 2, 3, 4, 100 (the burst does not move it)
    assert scale.item() == pytest.approx((2 + 1 + 0 + 1 + 97) / 5)  # mean |x - median| over observed points
    assert scaled[0, 5, 0].item() == 0.0 and scaled[0, 0, 0].item() == pytest.approx(-2 / scale.item())
    _, _, flat = robust_scale(torch.full((1, 8, 1), 5.0), torch.ones(1, 8, 1))
    assert flat.item() > 0  # floored: a flat context stays finite


def test_configs_saved_before_robust_scaling_load_as_std_scaled():
    old = {k: v for k, v in MetricModelConfig().__dict__.items() if k != "scaling"}
    assert MetricModelConfig.from_dict(old).scaling == "std" and not MetricModelConfig.from_dict(old).robust_scaling
    assert MetricModelConfig().robust_scaling and not MetricModelConfig(distribution="normal").robust_scaling
    saved_before_skip = {k: v for k, v in MetricModelConfig().__dict__.items() if not k.startswith("persistence")}
    assert not MetricModelConfig.from_dict(saved_before_skip).persistence_skip  # their state dicts have no skip weights
    assert MetricModelConfig().persistence_skip


def test_persistence_skip_starts_from_the_last_observed_value():
    """Untrained (zero-initialised) head: p50 = median + exp(-h / 12) * (last observed - median)."""
    from opsradar.models.metrics.patchtst import build_forecaster

    cfg = tiny()
    model = build_forecaster(cfg).eval()
    past = torch.linspace(0.0, 63.0, 64).reshape(1, 64, 1) + 10.0
    mask = torch.ones_like(past)
    mask[0, -3:] = 0.0  # the last three points are gaps: 70 is the last observed value
    p50 = model.quantiles(past, mask, [0.5])[0][0, :, 0]
    loc = torch.nanmedian(past[0, :61, 0]).item()
    expected = loc + np.exp(-np.arange(12) / 12.0) * (70.0 - loc)
    np.testing.assert_allclose(p50.numpy(), expected, rtol=1e-5)
    off = build_forecaster(tiny(persistence_skip=False)).eval()
    assert torch.allclose(off.quantiles(past, mask, [0.5])[0], torch.tensor(loc))  # without the skip: the level


def test_persistence_skip_learns_a_random_walk():
    """On a random walk (persistence is optimal) the skip lets a tiny model match the last-value
    forecast at lead 1; without it the same budget leaves the forecast near the context median."""
    rng = np.random.default_rng(0)
    y = 100.0 + np.cumsum(rng.normal(0.0, 1.0, 6000))
    ctx = np.stack([y[t - 64:t, None] for t in range(4064, 5900, 12)])
    lead1 = np.array([y[t] for t in range(4064, 5900, 12)])[:, None]
    persistence_mae = np.abs(ctx[:, -1] - lead1).mean()
    mae = {}
    for skip in (True, False):
        model = MetricEstimator(tiny(persistence_skip=skip)).train([y[:4000]])
        mae[skip] = np.abs(model.forecast(ctx, quantiles=(0.5,))[0.5][:, 0] - lead1).mean()
    assert mae[True] < 1.1 * persistence_mae
    assert mae[True] < 0.5 * mae[False]


def test_quantile_head_is_calibrated_on_skewed_bursts():
    """Pinball training: on a flat level with exponential bursts the p50 tracks the median
    (below the mean), and about 90% of future points fall under the p90."""
    rng = np.random.default_rng(0)
    y = 10.0 + rng.exponential(2.0, 6000)
    model = MetricEstimator(tiny(finetune_epochs=6, windows_per_epoch=2048)).train([y[:4000]])
    ctx = np.stack([y[t - 64:t, None] for t in range(4064, 5900, 12)])
    future = np.stack([y[t:t + 12, None] for t in range(4064, 5900, 12)])
    q = model.forecast(ctx, quantiles=(0.3, 0.5, 0.9))
    assert abs(float(np.median(q[0.5])) - (10.0 + 2.0 * np.log(2))) < 0.5  # true median 11.39, mean 12
    assert 0.4 < float((future <= q[0.5]).mean()) < 0.6
    assert 0.82 < float((future <= q[0.9]).mean()) < 0.96
    assert (q[0.3] <= q[0.5]).all()  # interpolated between trained levels, still ordered


def test_registry_round_trip(univariate, tmp_path, nab_values):
    reg = ModelRegistry(tmp_path / "models")
    with pytest.raises(RegistryError):
        reg.resolve("metrics-patchtst")
    univariate.save(tmp_path / "out")
    v1 = reg.register("metrics-patchtst", tmp_path / "out", promote=True)
    v2 = reg.register("metrics-patchtst", tmp_path / "out")
    assert (v1, v2) == ("v0001", "v0002") and reg.versions("metrics-patchtst") == ["v0001", "v0002"]
    assert reg.resolve("metrics-patchtst").name == "v0001"  # production stays until promoted
    assert reg.resolve("metrics-patchtst", "latest").name == "v0002"
    reg.promote("metrics-patchtst", v2)
    loaded = MetricPredictor.load(reg.resolve("metrics-patchtst"))
    assert loaded.version == "v0002" and loaded.config.context_length == 64
    ctx = nab_values[1][None, 100:164, None]
    a, b = univariate.forecast(ctx), loaded.forecast(ctx)
    np.testing.assert_allclose(a[0.95], b[0.95], rtol=1e-5)
    with pytest.raises(RegistryError):
        reg.promote("metrics-patchtst", "v0009")


def test_scores_are_streaming_and_flag_a_spike_with_its_driver(univariate, nab_values):
    x = np.stack([nab_values[0][:900], nab_values[1][:900]], axis=1).copy()
    spike_at = 800
    x[spike_at, 1] += 20 * np.std(x[:spike_at, 1])
    scored = score_series(univariate, x, step=8, channel_names=["ec2", "rds"])
    assert scored.score.shape == (900,) and (scored.score >= 0).all() and (scored.score <= 100).all()
    assert scored.score[:64].max() == 0  # warm-up: no context yet
    assert scored.score[spike_at] >= 60 and scored.drivers(spike_at) == ["rds"]
    assert np.median(scored.score[200:780]) < 20
    # Only the past counts: changing the future leaves earlier scores unchanged.
    future_changed = x.copy()
    future_changed[spike_at + 1:] *= 3
    again = score_series(univariate, future_changed, step=8, channel_names=["ec2", "rds"])
    np.testing.assert_allclose(again.score[:spike_at + 1], scored.score[:spike_at + 1])


def test_gap_filled_history_is_neither_scored_nor_used_for_the_scale(univariate, nab_values):
    """A series whose first 300 steps are a gap filled with its first value (as score_metrics
    does for a lookback reaching before the data): without the observed mask the flat filled
    stretch gives a near-zero robust scale and ordinary points get flagged."""
    real = nab_values[0][:700]
    x = np.concatenate([np.full(300, real[0]), real])
    observed = np.concatenate([np.zeros(300, bool), np.ones(len(real), bool)])
    masked = score_series(univariate, x, step=8, observed=observed)
    assert masked.score[:300].max() == 0 and np.isnan(masked.z[:300]).all()
    unmasked = score_series(univariate, x, step=8)
    assert (masked.score[300:] >= 60).mean() < 0.02
    assert (unmasked.score[300:] >= 60).mean() > (masked.score[300:] >= 60).mean()


def test_calibration_and_likelihood_helpers():
    assert tail_score(np.array([0.0]))[0] == pytest.approx(0.0)
    assert tail_score(np.array([3.0]))[0] == pytest.approx(25.7, abs=0.1)  # -10 log10(0.0027)
    assert tail_score(np.array([50.0]))[0] == 100.0
    raw = np.abs(np.random.default_rng(0).normal(size=2000))
    raw[1500:1510] = 8.0
    lik = anomaly_likelihood(raw, short_window=5, learning_period=288)
    assert lik[:288].max() == 0 and lik[1505] > 0.9 and np.median(lik[300:1490]) < 0.2
    lik_prefix = anomaly_likelihood(raw[:1505], short_window=5, learning_period=288)
    np.testing.assert_allclose(lik_prefix, lik[:1505])  # causal


def test_calibrated_model_covers_its_held_out_windows_and_survives_save_load(nab_values, tmp_path):
    from opsradar.models.metrics.calibration import calibration_windows

    series = [v[:2000] for v in nab_values]
    cfg = tiny(calibration_fraction=0.25, finetune_epochs=1)
    model = MetricEstimator(cfg).train(series)
    assert model.calibration is not None and model.training["calibration"]["held_out_points"] == 2 * 500
    assert model.training["windows"] == 2 * (1500 - 64 - 12 + 1)  # training never sees the held-out ends
    ctx, fut = (np.concatenate(a) for a in zip(*(calibration_windows([s[:, None]], 64, 12, 500) for s in series)))
    cal = model.forecast(ctx, quantiles=(0.1, 0.5, 0.9, 0.95))
    raw = model.forecast(ctx, quantiles=(0.1, 0.5, 0.9, 0.95), calibrated=False)
    np.testing.assert_array_equal(cal[0.5], raw[0.5])  # the median (what anomaly scores use) is untouched
    assert (cal[0.1] <= cal[0.5]).all() and _ordered(cal)
    for q in (0.1, 0.9, 0.95):  # conformal: at least q on the calibration windows, and not much more
        assert q - 0.01 <= (fut <= cal[q]).mean() <= q + 0.04, q
    loaded = MetricPredictor.load(model.save(tmp_path / "model"))
    assert loaded.calibration is not None
    np.testing.assert_array_equal(loaded.forecast(ctx[:5])[0.95], model.forecast(ctx[:5])[0.95])
    short = MetricEstimator(tiny(calibration_fraction=0.25, finetune_epochs=1)).train([nab_values[0][:90]])
    assert short.calibration is None and short.training["calibration"].startswith("skipped")
