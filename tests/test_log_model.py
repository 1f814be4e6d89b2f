"""Log anomaly model on real sample data: both modes, explanations, registry, scoring stage, DDP, eval.

Models are tiny (1 MiniLM layer, d_model 32, 1-2 epochs) to keep the suite fast; quality
is measured by `opsradar eval logs`, not here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from opsradar.ids import template_id, window_id

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
TINY = dict(encoder_layers=1, train_encoder_layers=1, d_model=32, n_heads=2, n_layers=1, max_len=64, batch_size=16)


def _hdfs(shared_data):
    rows = [json.loads(l) for l in (shared_data / "hdfs" / "HDFS_5k.sessions.jsonl").read_text().splitlines()]
    texts = {template_id(t): t for r in rows for t in r["templates"]}
    return rows, texts, [[template_id(t) for t in r["templates"]] for r in rows], [int(r["label"]) for r in rows]


@pytest.fixture(scope="module")
def hdfs(shared_data):
    return _hdfs(shared_data)


@pytest.fixture(scope="module")
def unsupervised(hdfs):
    from opsradar.models.logs.estimator import LogAnomalyEstimator
    from opsradar.models.logs.settings import LogModelSettings

    _, texts, windows, _ = hdfs
    return LogAnomalyEstimator(LogModelSettings(mode="unsupervised", epochs=3, **TINY), device="cpu").fit(windows, texts, labels=None)


def test_unsupervised_trains_without_labels_and_scores_real_sessions(hdfs, unsupervised):
    rows, texts, windows, _ = hdfs
    p = unsupervised
    assert p.info["threshold_rule"].startswith("validation quantile")  # no labels were given
    assert p.info["n_train"] + p.info["n_valid"] == len(windows)
    history = p.info["metrics"]["history"]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert 0 < p.info["vocab_size"] <= len(texts)

    scores = p.score(windows, texts)
    raw = np.array([s.raw for s in scores])
    assert np.isfinite(raw).all() and len(set(raw.round(6))) > 5
    assert all(0.0 <= s.score <= 100.0 for s in scores)
    assert all(s.is_anomaly == (s.raw >= p.threshold) for s in scores)
    assert all((s.score >= 50.0) == s.is_anomaly for s in scores if abs(s.raw - p.threshold) > 1e-6)
    order = np.argsort(raw)
    assert np.all(np.diff(np.array([scores[i].score for i in order])) >= -1e-9)  # calibration is monotone
    for w, s in zip(windows, scores):
        assert s.top_templates and all(t in w for t, _ in s.top_templates)
        assert 0 < sum(share for _, share in s.top_templates) <= 1.0 + 1e-6

    # A template never seen in training (with its text) raises the window's surprise.
    normal = next(w for w, r in zip(windows, rows) if len(w) == 16 and r["label"] == 0)
    novel = "Unexpected checksum failure on volume <*> while reading block <*>"
    texts2 = {**texts, template_id(novel): novel}
    injected = normal[:5] + [template_id(novel)] + normal[5:]
    base, odd = p.score([normal, injected], texts2)
    assert odd.raw > base.raw
    assert template_id(novel) in [t for t, _ in odd.top_templates]


@pytest.fixture(scope="module")
def bgl_windows(shared_data):
    from opsradar.eval.logs import line_windows, make_templater

    templater, _ = make_templater()
    return line_windows(shared_data / "loghub" / "BGL" / "BGL_2k.log", "loghub:BGL", templater, size=100)


def test_supervised_on_bgl_windows_explains_flagged_windows(bgl_windows):
    from opsradar.models.logs.estimator import LogAnomalyEstimator
    from opsradar.models.logs.settings import LogModelSettings

    w = bgl_windows
    assert len(w.labels) == 20 and sum(w.labels) == 12  # 2,000 lines, 143 alert lines
    texts = {template_id(t): t for seq in w.templates for t in seq}
    ids = [[template_id(t) for t in seq] for seq in w.templates]
    settings = LogModelSettings(mode="supervised", epochs=3, **{**TINY, "max_len": 100})
    p = LogAnomalyEstimator(settings, device="cpu").fit(ids, texts, w.labels)
    assert p.info["threshold_rule"] == "max validation F1"
    assert p.info["metrics"]["history"][-1]["train_loss"] < p.info["metrics"]["history"][0]["train_loss"]
    scores = p.score(ids, texts)
    flagged = [s for s in scores if s.is_anomaly]
    assert flagged, "threshold chosen on validation flags nothing"
    for seq, s in zip(ids, scores):
        if s.top_templates:  # occlusion: share of the logit drop when a template's events are removed
            assert s.is_anomaly and all(t in seq for t, _ in s.top_templates)
            assert sum(share for _, share in s.top_templates) <= 1.0 + 1e-6
    with pytest.raises(ValueError, match="supervised mode needs labels"):
        LogAnomalyEstimator(settings, device="cpu").fit(ids, texts, None)


def test_registry_round_trip_and_int8(tmp_path, hdfs, unsupervised):
    from opsradar.models.logs.predictor import LogAnomalyPredictor
    from opsradar.models.registry import ModelRegistry

    _, texts, windows, _ = hdfs
    folder = unsupervised.save(tmp_path / "build")
    for f in ("encoder/model.safetensors", "encoder/config.json", "encoder/tokenizer.json", "sequence.safetensors",
              "templates.safetensors", "config.json", "thresholds.json", "metrics.json", "training.json"):
        assert (folder / f).is_file(), f
    registry = ModelRegistry(tmp_path / "models")
    version = registry.register("log-anomaly", folder, promote=True)
    loaded = LogAnomalyPredictor.load(registry.resolve("log-anomaly", "production"))
    assert version == "v0001" and loaded.threshold == unsupervised.threshold and loaded.vocab == unsupervised.vocab
    a = unsupervised.score(windows[:30], texts)
    b = loaded.score(windows[:30], texts)
    assert [x.raw for x in a] == pytest.approx([y.raw for y in b], abs=1e-5)
    assert [x.is_anomaly for x in a] == [y.is_anomaly for y in b]
    loaded.to_runtime("cpu", "int8")
    c = loaded.score(windows[:30], texts)
    assert loaded.runtime.precision == "int8"
    assert np.corrcoef([x.raw for x in a], [y.raw for y in c])[0, 1] > 0.9


def _write_lake(root: Path, rows, texts, start: datetime) -> None:
    from opsradar.layout import Interval, Layout
    from opsradar.schemas.arrow import LOG_WINDOW, TEMPLATE

    layout = Layout(str(root))
    recs = []
    for i, r in enumerate(rows):
        ws = start + timedelta(microseconds=i * 3_000_000_000 // max(len(rows), 1))
        we = ws + timedelta(seconds=1)
        ids = [template_id(t) for t in r["templates"]]
        counts = {}
        for t in ids:
            counts[t] = counts.get(t, 0) + 1
        recs.append({"window_id": window_id("hdfs", "session", r["id"], ws.isoformat(), we.isoformat()), "source": "hdfs",
                     "grouping": "session", "entity": r["id"], "window_start": ws, "window_end": we, "n_events": len(ids),
                     "template_ids": ids[:256], "sequence_cap": 256, "sequence_truncated": len(ids) > 256,
                     "template_counts": list(counts.items()), "level_counts": [("INFO", len(ids))], "error_ratio": 0.0,
                     "new_templates": 0, "distinct_hosts": 1, "distinct_components": 1,
                     "example_lines": [f"{r['id']} line {k}" for k in range(2)], "label": int(r["label"])})
    interval = Interval(start, start + timedelta(hours=1))
    # The featurize job's and the template store's layouts: features/log_windows/source=X, templates/store/source=X.
    layout.write_interval("features", "log_windows/source=hdfs", interval, pa.Table.from_pylist(recs, schema=LOG_WINDOW), "window_start")
    tpl = pa.Table.from_pylist([{"template_id": k, "template": v, "source": "hdfs", "first_seen": start, "count": 1}
                                for k, v in sorted(texts.items())], schema=TEMPLATE)
    store = layout.dataset_dir("templates", "store/source=hdfs")
    layout.fs.makedirs(store, exist_ok=True)
    pq.write_table(tpl, f"{store}/templates.parquet")


def test_train_and_score_stages_record_model_version_idempotently(tmp_path, hdfs):
    from opsradar.pipeline.tasks import run_stage

    rows, texts, _, _ = hdfs
    start = datetime(2026, 1, 2, 3, tzinfo=timezone.utc)
    end = start + timedelta(hours=1)
    _write_lake(tmp_path / "lake", rows, texts, start)
    cfg = tmp_path / "opsradar.toml"
    cfg.write_text(f'[storage]\nroot = "{tmp_path / "lake"}"\n[log_model]\nmode = "unsupervised"\nepochs = 1\n'
                   f'encoder_layers = 1\ndevice = "cpu"\n')
    trained = run_stage("train_logs", start, end, str(cfg))
    assert trained["counts"]["windows"] == len(rows) and trained["outputs"][0].endswith("log-anomaly/v0001")
    training = json.loads((Path(trained["outputs"][0]) / "training.json").read_text())
    assert training["training_data"]["start"] == start.isoformat() and training["seed"] == 42 and "opsradar" in training["code_version"]

    first = run_stage("score_logs", start, end, str(cfg))
    assert first["counts"]["windows_scored"] == len(rows)
    files = sorted((tmp_path / "lake" / "scores" / "logs").rglob("*.parquet"))
    table = pq.read_table(files[0])
    assert len(files) == 1 and table.num_rows == len(rows)
    assert set(table.column("model_version").to_pylist()) == {"v0001"}
    assert set(table.column("model_name").to_pylist()) == {"log-anomaly"}
    assert len(set(table.column("window_id").to_pylist())) == len(rows)
    assert all(0 <= s <= 100 for s in table.column("score_normalized").to_pylist())
    assert all(r and r[0]["template"] for r in table.column("top_templates").to_pylist())

    again = run_stage("score_logs", start, end, str(cfg))  # re-run: same rows, no duplicates
    files2 = sorted((tmp_path / "lake" / "scores" / "logs").rglob("*.parquet"))
    assert again["counts"]["windows_scored"] == len(rows) and len(files2) == 1
    assert pq.read_table(files2[0]).equals(table)

    # A newly promoted version replaces the interval's scores, and the rows say which version.
    from opsradar.models.registry import ModelRegistry

    registry = ModelRegistry(tmp_path / "lake" / "models")
    assert registry.register("log-anomaly", trained["outputs"][0], promote=True) == "v0002"
    run_stage("score_logs", start, end, str(cfg))
    rescored = pq.read_table(sorted((tmp_path / "lake" / "scores" / "logs").rglob("*.parquet"))[0])
    assert rescored.num_rows == len(rows) and set(rescored.column("model_version").to_pylist()) == {"v0002"}


def test_ddp_two_cpu_processes_end_with_identical_weights(tmp_path, shared_data):
    sessions = tmp_path / "s.jsonl"
    sessions.write_text("".join((shared_data / "hdfs" / "HDFS_5k.sessions.jsonl").read_text().splitlines(True)[:40]))
    out = tmp_path / "out"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           "-m", "opsradar.models.logs.ddp_train", "--sessions", str(sessions), "--out", str(out),
                           "--epochs", "1", "--encoder-layers", "1", "--device", "cpu"],
                          capture_output=True, text=True, timeout=300, env=env, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world_size"] for r in ranks] == [2, 2]
    assert ranks[0]["checksum"] == pytest.approx(ranks[1]["checksum"], rel=1e-9)
    from opsradar.models.logs.predictor import LogAnomalyPredictor

    model = LogAnomalyPredictor.load(out / "model")
    assert model.info["world_size"] == 2


def _cli():
    import typer

    from opsradar.commands import log_model

    app, eval_app = typer.Typer(), typer.Typer()
    app.add_typer(eval_app, name="eval")
    log_model.register(app, eval_app)
    return app


def test_eval_logs_on_dev_data(shared_data):
    from typer.testing import CliRunner

    runner = CliRunner()
    res = runner.invoke(_cli(), ["eval", "logs", "--sessions", str(shared_data / "hdfs" / "HDFS_5k.sessions.jsonl"),
                                 "--mode", "supervised", "--epochs", "1", "--encoder-layers", "1", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    r = out["splits"]["random"]
    assert out["windows"] == 110 and out["anomalies"] == 10
    assert (r["train_windows"], r["train_anomalies"], r["test_windows"], r["test_anomalies"]) == (88, 8, 22, 2)
    assert 0 <= r["precision"] <= 1 and 0 <= r["recall"] <= 1 and 0 <= r["f1"] <= 1
    tp, fp, fn = r["tp"], r["fp"], r["fn"]
    assert r["recall"] == pytest.approx(tp / (tp + fn), abs=1e-4)
    if tp:
        assert r["f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn), abs=1e-4)

    res = runner.invoke(_cli(), ["eval", "logs", "--format", "HDFS", "--log", str(shared_data / "hdfs" / "HDFS_5k.log"),
                                 "--labels", str(shared_data / "hdfs" / "anomaly_label.csv"), "--mode", "unsupervised",
                                 "--epochs", "1", "--encoder-layers", "1", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["protocol"] == "hdfs" and set(out["splits"]) == {"random", "chronological"}
    assert out["windows"] == 110 and out["data_notes"]["unparsed_lines"] == 0 and out["templater"]
    chrono = out["splits"]["chronological"]
    assert chrono["train_windows"] == 88 and chrono["test_windows"] == 22


def test_eval_logs_rejects_bad_input(tmp_path):
    from typer.testing import CliRunner

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "templates": ["x"], "label": 0}\n{"id": "b"}\n')
    res = CliRunner().invoke(_cli(), ["eval", "logs", "--sessions", str(bad)])
    assert res.exit_code == 2 and "bad.jsonl:2" in res.output
