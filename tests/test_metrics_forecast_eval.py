"""`opsradar eval forecast`: rolling-origin backtest with MASE / pinball as defined in the literature."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from opsradar.eval.forecast import DAY, load_traces, mase_scale, pinball

pytestmark = pytest.mark.slow


def test_metric_definitions():
    y = np.tile(np.arange(DAY, dtype=float), 3) + np.repeat([0.0, 1.0, 2.0], DAY)  # a daily cycle rising by 1 a day
    assert mase_scale(y) == pytest.approx(1.0)  # |y_t - y_{t-288}| = 1 everywhere
    assert pinball(np.array([10.0]), np.array([8.0]), 0.9) == pytest.approx(1.8)
    assert pinball(np.array([10.0]), np.array([12.0]), 0.9) == pytest.approx(0.2)


def test_eval_forecast_json(shared_data):
    from opsradar.cli import app

    data = shared_data / "bitbrains"
    res = CliRunner().invoke(app, ["eval", "forecast", "--data", str(data), "--json", "--origins", "1", "--max-series", "1",
                                   "--context-length", "64", "--epochs", "1"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout[res.stdout.index("{"):])
    summary = out["summary"]
    assert set(summary) == {"patchtst", "seasonal_naive", "mstl_autoets", "naive", "last_day_quantiles"}
    rows = out["rows"]
    assert {(r["model"], r["horizon"]) for r in rows} == {(m, h) for m in summary for h in ("1h", "24h")}
    assert all(np.isfinite([r["mase"], r["pinball_p50"], r["pinball_p90"]]).all() for r in rows)
    # One test day: the 1 h windows tile it (24 hourly origins), the 24 h window starts at its first.
    name = out["config"]["series"][0]
    y = load_traces(data)[name]
    first = len(y) - DAY
    for model in summary:
        hourly = sorted(int(r["origin"]) for r in rows if r["model"] == model and r["horizon"] == "1h")
        assert hourly == list(range(first, len(y), 12))
        assert [int(r["origin"]) for r in rows if r["model"] == model and r["horizon"] == "24h"] == [first]
        # "all" weighs the horizons equally, not the 24 x more 1 h rows
        assert summary[model]["all"]["mase"] == pytest.approx((summary[model]["1h"]["mase"] + summary[model]["24h"]["mase"]) / 2)
    # Recompute baselines independently from the trace.
    hist = y[:first]
    scale = np.nanmean(np.abs(hist[DAY:] - hist[:-DAY]))
    row = {(r["model"], r["horizon"], int(r["origin"])): r for r in rows}
    expected = np.nanmean(np.abs(y[first:] - hist[-DAY:])) / scale
    assert row["seasonal_naive", "24h", first]["mase"] == pytest.approx(expected, rel=1e-9)
    expected = np.nanmean(np.abs(y[first:first + 12] - np.nanmedian(hist[-DAY:]))) / scale
    assert row["last_day_quantiles", "1h", first]["mase"] == pytest.approx(expected, rel=1e-9)
    o = first + 5 * 12  # a later hourly origin: scaled by its own history, persistence from its own last value
    h = y[:o]
    expected = np.nanmean(np.abs(y[o:o + 12] - h[np.isfinite(h)][-1])) / np.nanmean(np.abs(h[DAY:] - h[:-DAY]))
    assert row["naive", "1h", o]["mase"] == pytest.approx(expected, rel=1e-9)
    for r in rows:  # pinball of p50 is half the scaled MAE
        assert r["pinball_p50"] == pytest.approx(r["mase"] / 2, rel=1e-9)


def test_eval_forecast_of_the_pipeline_model_scores_its_own_horizon(shared_data, tmp_path):
    from opsradar.cli import app

    conf = tmp_path / "opsradar.toml"
    conf.write_text("[metrics]\ncontext_length = 64\nprediction_length = 24\nd_model = 16\npretrain_epochs = 1\n"
                    "finetune_epochs = 1\nwindows_per_epoch = 256\nensemble_size = 2\ndevice = 'cpu'\n")
    res = CliRunner().invoke(app, ["eval", "forecast", "--data", str(shared_data / "bitbrains"), "--json", "--origins", "1",
                                   "--max-series", "1", "--pipeline-model", "--config", str(conf)])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout[res.stdout.index("{"):])
    model = out["config"]["model"]
    assert (model["context_length"], model["ensemble_size"], model["calibration_fraction"]) == (64, 2, 0.2)
    assert (model["distribution"], model["scaling"]) == ("quantile", "robust")  # the forecaster, not the detector
    assert out["config"]["horizons"] == ["1h"]  # a 2 h model is not scored at 24 h, nor are the baselines
    assert {r["horizon"] for r in out["rows"]} == {"1h"} and len(out["rows"]) == 5 * 24
    assert all(0.0 <= r["coverage_p90"] <= 1.0 for r in out["rows"])
