"""The bridge between Airflow tasks and stage functions (DAG files stay thin).

Stages are looked up by name and imported lazily, so parsing a DAG file imports
nothing heavy (no Spark, torch or Elasticsearch client).
"""

from __future__ import annotations

import importlib
import logging
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)

# stage name -> "module:function"; Spark stages take a session as first argument.
STAGES: dict[str, str] = {
    "ingest_logs": "opsradar.pipeline.logs:ingest_logs",
    "ingest_metrics": "opsradar.pipeline.metrics:ingest_metrics",
    "clean_logs": "opsradar.jobs.clean_logs:clean_logs",
    "featurize_logs": "opsradar.jobs.featurize_logs:featurize_logs",
    "featurize_metrics": "opsradar.jobs.featurize_metrics:featurize_metrics",
    "featurize_entities": "opsradar.jobs.featurize_entities:featurize_entities",
    "index_events": "opsradar.pipeline.logs:index_events",
    "validate_raw_logs": "opsradar.quality.stages:validate_raw_logs",
    "validate_clean_logs": "opsradar.quality.stages:validate_clean_logs",
    "validate_metrics": "opsradar.quality.stages:validate_metrics",
    "validate_features": "opsradar.quality.stages:validate_features",
    "sink_results": "opsradar.pipeline.sink:sink_results",
    "train_logs": "opsradar.pipeline.score_logs:train_logs",
    "score_logs": "opsradar.pipeline.score_logs:score_logs",
    "train_metrics": "opsradar.pipeline.metrics_model:train_metrics",
    "score_metrics": "opsradar.pipeline.metrics_model:score_metrics",
    "forecast_metrics": "opsradar.pipeline.metrics_model:forecast_metrics",
    "plan_capacity": "opsradar.pipeline.metrics_model:plan_capacity",
}
SPARK_STAGES = {"clean_logs", "featurize_logs", "featurize_metrics", "featurize_entities"}


def run_stage(name: str, start: datetime, end: datetime, config_path: str | None = None) -> dict[str, Any]:
    from opsradar.config import load_config
    from opsradar.layout import Interval

    cfg = load_config(config_path)
    module, func = STAGES[name].split(":")
    stage = getattr(importlib.import_module(module), func)
    interval = Interval(start, end)
    if name in SPARK_STAGES:
        from opsradar.spark import spark_session

        result = stage(spark_session(cfg.spark), cfg, interval)
    else:
        result = stage(cfg, interval)
    log.info("%s", result.summary())
    for warning in result.warnings:
        log.warning("%s", warning)
    return result.to_dict()
