"""Metric ingest stage: configured metric files -> raw/metrics/source=<name> (+ quarantine/)."""

from __future__ import annotations

import logging
from datetime import timedelta

from opsradar.config import OpsRadarConfig
from opsradar.layout import Interval, Layout
from opsradar.pipeline.result import StageResult

log = logging.getLogger(__name__)


def ingest_metrics(cfg: OpsRadarConfig, interval: Interval) -> StageResult:
    """Long CSV, wide (NAB) CSV and Prometheus/OpenMetrics snapshots -> METRIC_POINT Parquet."""
    from opsradar.ingest.metrics import read_metric_file
    from opsradar.ingest.stage import ingest_source, raise_on_failures
    from opsradar.schemas.arrow import METRIC_POINT

    layout = Layout(cfg.storage.root)
    result = StageResult.begin("ingest_metrics", interval)
    failures: list[str] = []
    for source in cfg.metric_sources:
        tolerance = timedelta(hours=source.time_tolerance_hours)

        def read(f, clock, source=source, tolerance=tolerance):
            return read_metric_file(f, source, clock, tolerance)

        failures += ingest_source(layout, cfg.storage, source, f"metrics/source={source.name}", interval, result,
                                  METRIC_POINT, ("entity", "metric", "timestamp"), read,
                                  lambda f, point, ingest_time: point, row_kind="points")
    log.info("%s", result.summary())
    raise_on_failures(failures, "ingest_metrics")
    return result
