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
    assert set(out["summary"]) == {"patchtst", "seasonal_naive", "mstl_autoets", "last_day_quantiles"}
    rows = out["rows"]
    assert {(r["model"], r["horizon"]) for r in rows} == {(m, h) for m in out["summary"] for h in ("1h", "24h")}
    assert all(np.isfinite([r["mase"], r["pinball_p50"], r["pinball_p90"]]).all() for r in rows)
    # Recompute the seasonal-naive 24 h MASE independently from the trace.
    name = out["config"]["series"][0]
    y = load_traces(data)[name]
    naive = next(r for r in rows if r["model"] == "seasonal_naive" and r["horizon"] == "24h")
    o = int(naive["origin"])
    hist = y[:o]
    scale = np.nanmean(np.abs(hist[DAY:] - hist[:-DAY]))
    expected = np.nanmean(np.abs(y[o:o + DAY] - hist[-DAY:])) / scale
    assert naive["mase"] == pytest.approx(expected, rel=1e-9)
    flat = next(r for r in rows if r["model"] == "last_day_quantiles" and r["horizon"] == "1h")
    expected = np.nanmean(np.abs(y[o:o + 12] - np.nanmedian(hist[-DAY:]))) / scale
    assert flat["mase"] == pytest.approx(expected, rel=1e-9)
    for r in rows:  # pinball of p50 is half the scaled MAE
        assert r["pinball_p50"] == pytest.approx(r["mase"] / 2, rel=1e-9)
