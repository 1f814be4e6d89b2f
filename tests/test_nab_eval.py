"""`opsradar eval nab` runs our detector over the NAB dev corpus and prints NAB scores."""

import json

import pytest
from typer.testing import CliRunner

pytestmark = pytest.mark.slow
TINY = {"OPSRADAR_METRICS__CONTEXT_LENGTH": "64", "OPSRADAR_METRICS__PREDICTION_LENGTH": "8", "OPSRADAR_METRICS__D_MODEL": "16",
        "OPSRADAR_METRICS__PRETRAIN_EPOCHS": "1", "OPSRADAR_METRICS__FINETUNE_EPOCHS": "1", "OPSRADAR_METRICS__WINDOWS_PER_EPOCH": "256",
        "OPSRADAR_METRICS__DEVICE": "cpu", "OPSRADAR_METRICS__ENSEMBLE_SIZE": "2", "OPSRADAR_METRICS__SEED": "4"}


def test_eval_nab_json(shared_data, tmp_path, monkeypatch):
    from opsradar.cli import app

    for k, v in TINY.items():
        monkeypatch.setenv(k, v)
    plot = tmp_path / "nab.png"
    res = CliRunner().invoke(app, ["eval", "nab", "--nab-root", str(shared_data / "nab"), "--json", "--plot", str(plot),
                                    "--compare", str(shared_data / "nab/results/numenta")])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout[res.stdout.index("{"):])
    assert (out["seed"], out["ensemble_size"]) == (4, 2)  # the figure names the model that produced it
    assert out["retrain_at"] == [0.4, 0.65]  # and its protocol: retrained twice, flagged points masked
    assert (out["short_window"], out["range_tolerance"], out["seasonal_min_correlation"]) == (10, 0.05, 0.7)  # and post-processing
    assert out["files"] == 4 and set(out["scores"]) == {"standard", "reward_low_FP_rate", "reward_low_FN_rate"}
    for profile, r in out["profiles"].items():
        assert r["null_score"] == pytest.approx(-9.0 * (2.0 if profile == "reward_low_FN_rate" else 1.0))
        assert r["perfect_score"] == pytest.approx(9.0)
        assert r["normalized_score"] == pytest.approx(100 * (r["raw_score"] - r["null_score"]) / (r["perfect_score"] - r["null_score"]))
        assert r["raw_score"] == pytest.approx(sum(f["score"] for f in r["files"]))
        assert -100 < r["normalized_score"] <= 100
    assert plot.read_bytes()[:4] == b"\x89PNG"
    htm = out["published"]["standard"]  # HTM's published result on the same 4 files, for comparison
    assert htm["detector"] == "numenta" and htm["normalized_score"] == pytest.approx(71.1, abs=0.1)
