"""Log model stages: train on an interval's windows -> registry; score an interval -> scores/.

    train_logs(cfg, interval)  features/<windows_dataset> (LOG_WINDOW) + templates/ (TEMPLATE)
                               -> registry {registry}/{model_name}/vNNNN (+ production pointer)
    score_logs(cfg, interval)  features/<windows_dataset> in [start, end), streamed in batches
                               -> scores/<scores_dataset> (ANOMALY_SCORE), replaced per interval
"""

from __future__ import annotations

import logging
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from opsradar.config import OpsRadarConfig
from opsradar.layout import Interval, Layout
from opsradar.pipeline.result import StageResult
from opsradar.schemas.arrow import ANOMALY_SCORE

log = logging.getLogger(__name__)
FAMILY = "log"


def registry_root(cfg: OpsRadarConfig) -> str:
    return cfg.log_model.registry or f"{cfg.storage.root.rstrip('/')}/models"


def code_version() -> str:
    import opsradar

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
                                text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"opsradar {opsradar.__version__}" + (f" (git {commit})" if commit else "")


def read_templates(layout: Layout, dataset: str) -> dict[str, str]:
    """template_id -> text from the template store (every partition under templates/<dataset>)."""
    base = layout.dataset_dir("templates", dataset)
    if not layout.fs.exists(base):
        return {}
    table = ds.dataset(base, filesystem=layout.fs, format="parquet", partitioning=None).to_table(columns=["template_id", "template"])
    return dict(zip(table.column("template_id").to_pylist(), table.column("template").to_pylist()))


def window_datasets(layout: Layout, dataset: str) -> list[str]:
    """`log_windows` itself, or its `source=<name>` sub-datasets (the featurize job's layout)."""
    base = layout.dataset_dir("features", dataset)
    if not layout.fs.exists(base):
        return []
    subs = sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in layout.fs.ls(base, detail=False))
    sources = [f"{dataset}/{s}" for s in subs if s.startswith("source=")]
    return sources or [dataset]


def iter_windows(cfg: OpsRadarConfig, layout: Layout, interval: Interval, result: StageResult) -> Iterator[pa.RecordBatch]:
    """LOG_WINDOW rows with window_start in [start, end), streamed batch by batch."""
    mc = cfg.log_model
    start, end = pa.scalar(interval.start, pa.timestamp("us", tz="UTC")), pa.scalar(interval.end, pa.timestamp("us", tz="UTC"))
    dirs = [d for name in window_datasets(layout, mc.windows_dataset) for d in layout.existing_interval_dirs("features", name, interval)]
    for d in dirs:
        for path in sorted(layout.fs.glob(f"{d}/*.parquet")):
            with layout.fs.open(path, "rb") as fh:
                for batch in pq.ParquetFile(fh).iter_batches(batch_size=mc.read_batch_rows):
                    keep = pc.and_(pc.greater_equal(batch.column("window_start"), start), pc.less(batch.column("window_start"), end))
                    if mc.groupings:
                        keep = pc.and_(keep, pc.is_in(batch.column("grouping"), pa.array(mc.groupings)))
                    dropped = len(batch) - pc.sum(keep).as_py() if len(batch) else 0
                    result.add("windows_outside_selection", dropped)
                    batch = batch.filter(keep)
                    if len(batch):
                        yield batch


def train_logs(cfg: OpsRadarConfig, interval: Interval) -> StageResult:
    """Train on the interval's windows (labels used in supervised mode), register, maybe promote."""
    import torch.distributed as dist

    from opsradar.models.logs.estimator import LogAnomalyEstimator
    from opsradar.models.logs.settings import LogModelSettings
    from opsradar.models.registry import ModelRegistry

    mc = cfg.log_model
    layout = Layout(cfg.storage.root)
    result = StageResult.begin("train_logs", interval)
    windows, labels = [], []
    for batch in iter_windows(cfg, layout, interval, result):
        windows += [list(t or []) for t in batch.column("template_ids").to_pylist()]
        labels += batch.column("label").to_pylist()
    result.add("windows", len(windows))
    if not windows:
        result.warnings.append(f"no windows in features/{mc.windows_dataset} for {interval}: nothing trained")
        return result
    texts = read_templates(layout, mc.templates_dataset)
    missing = {t for w in windows for t in w if t not in texts}
    if missing:
        result.add("template_ids_without_text", len(missing))
        result.warnings.append(f"{len(missing)} template id(s) not in templates/{mc.templates_dataset}: dropped from training windows")
        windows = [[t for t in w if t in texts] for w in windows]
    keep = [i for i, w in enumerate(windows) if w]
    result.add("empty_windows_skipped", len(windows) - len(keep))
    windows, labels = [windows[i] for i in keep], [labels[i] for i in keep]
    result.add("labelled_anomalies", sum(1 for l in labels if l == 1))
    settings = LogModelSettings(mode=mc.mode, epochs=mc.epochs, batch_size=min(mc.batch_size, 32), encoder_layers=mc.encoder_layers,
                                train_encoder_layers=mc.train_encoder_layers, seed=mc.seed)
    info = {"training_data": {"dataset": f"features/{mc.windows_dataset}", "start": interval.start.isoformat(),
                              "end": interval.end.isoformat(), "windows": len(windows), "groupings": mc.groupings or "all"},
            "code_version": code_version(), "config": mc.model_dump(mode="json")}
    predictor = LogAnomalyEstimator(settings, device=mc.device).fit(windows, texts, labels if any(l is not None for l in labels) else None, info)
    if dist.is_initialized() and dist.get_rank() != 0:
        return result  # rank 0 registers the (identical) model
    registry = ModelRegistry(registry_root(cfg))
    with tempfile.TemporaryDirectory(prefix="opsradar-log-model-") as tmp:
        predictor.save(tmp)
        version = registry.register(mc.model_name, tmp, promote=mc.promote)
    result.outputs.append(str(registry.resolve(mc.model_name, version)))
    result.add("vocab_size", predictor.info["vocab_size"])
    result.add("epochs_run", predictor.info["metrics"]["epochs_run"])
    log.info("registered %s %s (threshold rule: %s)", mc.model_name, version, predictor.info["threshold_rule"])
    return result


def load_predictor(cfg: OpsRadarConfig, version: str | None = None):
    """(predictor, version) from the registry; version defaults to the configured one (production)."""
    from opsradar.models.logs.predictor import LogAnomalyPredictor
    from opsradar.models.registry import ModelRegistry

    folder = ModelRegistry(registry_root(cfg)).resolve(cfg.log_model.model_name, version or cfg.log_model.version)
    predictor = LogAnomalyPredictor.load(folder)
    predictor.to_runtime(cfg.log_model.device, cfg.log_model.cpu_precision if cfg.log_model.device in ("auto", "cpu") else "auto")
    return predictor, folder.name


def entity_field(entity: str | None, key: str) -> str | None:
    """`host` / `service` out of a window's canonical entity (`host=api-1,service=api`)."""
    for part in (entity or "").split(","):
        name, sep, value = part.partition("=")
        if sep and name == key:
            return value or None
    return None


def score_rows(predictor, version: str, model_name: str, batch: pa.RecordBatch, texts: dict[str, str], batch_size: int) -> pa.Table:
    """ANOMALY_SCORE rows for one batch of LOG_WINDOW rows."""
    cols = batch.to_pydict()
    windows = [list(t or []) for t in cols["template_ids"]]
    scored = predictor.score(windows, texts, explain=True, batch_size=batch_size)
    n = len(windows)
    tops = [[{"template_id": t, "template": predictor.template_text(t) or texts.get(t), "share": s} for t, s in w.top_templates] for w in scored]
    labels = [[("grouping", g), ("mode", predictor.settings.mode), ("n_events", str(ne))]
              for g, ne in zip(cols["grouping"], cols["n_events"])]
    data: dict[str, Any] = {
        "family": [FAMILY] * n, "window_id": cols["window_id"], "source": cols["source"], "entity": cols["entity"],
        "host": [entity_field(e, "host") for e in cols["entity"]],
        "service": [entity_field(e, "service") for e in cols["entity"]], "window_start": cols["window_start"], "window_end": cols["window_end"],
        "score": [w.raw for w in scored], "score_normalized": [w.score for w in scored], "is_anomaly": [w.is_anomaly for w in scored],
        "threshold": [50.0] * n, "model_name": [model_name] * n, "model_version": [version] * n,
        "top_templates": tops, "example_lines": [list(e or [])[:5] for e in cols.get("example_lines", [None] * n)],
        "drivers": [None] * n, "labels": labels,
    }
    return pa.Table.from_pydict(data, schema=ANOMALY_SCORE)


def score_logs(cfg: OpsRadarConfig, interval: Interval) -> StageResult:
    """Score the interval's windows with the configured model version; replaces scores for the interval."""
    mc = cfg.log_model
    layout = Layout(cfg.storage.root)
    result = StageResult.begin("score_logs", interval)
    predictor, version = load_predictor(cfg)
    texts = read_templates(layout, mc.templates_dataset)
    parts = []
    for batch in iter_windows(cfg, layout, interval, result):
        parts.append(score_rows(predictor, version, mc.model_name, batch, texts, mc.batch_size))
        result.add("windows_scored", len(batch))
    table = pa.concat_tables(parts) if parts else ANOMALY_SCORE.empty_table()
    result.add("anomalies", int(pc.sum(table.column("is_anomaly")).as_py() or 0) if len(table) else 0)
    result.add("templates_without_text", len(predictor.unknown_text))
    if predictor.unknown_text:
        result.warnings.append(f"{len(predictor.unknown_text)} template id(s) missing from templates/{mc.templates_dataset}: scored as unseen")
    result.outputs += layout.write_interval("scores", mc.scores_dataset, interval, table, "window_start",
                                            cfg.storage.parquet_compression, cfg.storage.row_group_rows)
    rt = predictor.runtime
    log.info("score_logs: %s %s on %s/%s", mc.model_name, version, rt.device, rt.precision)
    return result
