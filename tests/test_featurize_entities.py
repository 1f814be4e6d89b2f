"""The per-entity join on real Spark: log windows and metric features (raw and log-derived) side by side."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from opsradar.config import OpsRadarConfig
from opsradar.features.devdata import hdfs5k_clean_events
from opsradar.jobs.featurize_entities import featurize_entities
from opsradar.jobs.featurize_logs import featurize_logs
from opsradar.jobs.featurize_metrics import featurize_metrics
from opsradar.layout import Interval, Layout
from opsradar.schemas.arrow import ENTITY_WINDOW, METRIC_POINT

pytestmark = pytest.mark.slow
UTC = timezone.utc
SPAN = Interval(datetime(2008, 11, 9, tzinfo=UTC), datetime(2008, 11, 11, tzinfo=UTC))
RUN = Interval(datetime(2008, 11, 9, 20, tzinfo=UTC), datetime(2008, 11, 10, tzinfo=UTC))
T0 = datetime(2008, 11, 9, 20, tzinfo=UTC)
MISSING = {T0 + timedelta(minutes=m) for m in range(60, 70)}  # cpu samples lost 21:00-21:09


def test_entity_windows_join_logs_and_metrics(spark, shared_data, tmp_path):
    layout = Layout(str(tmp_path))
    layout.write_interval("clean", "logs/source=HDFS", SPAN, hdfs5k_clean_events(shared_data, SPAN), "timestamp")
    stamps = [T0 + timedelta(minutes=m) for m in range(240) if T0 + timedelta(minutes=m) not in MISSING]
    n = len(stamps)
    cpu = pa.Table.from_pydict({"timestamp": stamps, "source": ["sys"] * n, "entity": ["HDFS"] * n, "metric": ["cpu"] * n,
                                "value": [float((t - T0) // timedelta(minutes=1)) for t in stamps],
                                "unit": ["%"] * n, "labels": [None] * n}, schema=METRIC_POINT)
    layout.write_interval("raw", "metrics/source=sys", RUN, cpu, "timestamp")
    cfg = OpsRadarConfig.from_dict({"storage": {"root": str(tmp_path)}, "features": {
        "logs": [{"source": "HDFS", "groupings": [{"mode": "time", "window": "5m", "entity_fields": []}]}],
        "metrics": [{"source": "sys", "step": "1m", "horizons": ["5m"]},
                    {"source": "HDFS", "layer": "features", "dataset": "log_metrics", "step": "1m", "horizons": ["5m"]}],
        "joins": [{"name": "hdfs", "log_source": "HDFS", "grouping": "time", "metric_sources": ["sys", "HDFS-logs"]}]}})
    featurize_logs(spark, cfg, RUN)
    featurize_metrics(spark, cfg, RUN)
    result = featurize_entities(spark, cfg, RUN)
    out = layout.read_interval("features", "entity_windows/join=hdfs", RUN)
    assert [(f.name, str(f.type)) for f in out.cast(ENTITY_WINDOW).schema] == [(f.name, str(f.type)) for f in ENTITY_WINDOW]
    rows = {r["window_start"]: r for r in out.to_pylist()}
    assert len(rows) == out.num_rows == result.counts["hdfs.windows"] == 48  # 4 hours of 5-minute windows

    logs = layout.read_interval("features", "log_windows/source=HDFS", RUN).to_pylist()
    assert logs and all(rows[w["window_start"]]["log_window_id"] == w["window_id"] for w in logs)
    log_starts = {w["window_start"] for w in logs}
    assert rows[T0]["log_window_id"] is None and 0 < len(log_starts) < 48
    for start, r in rows.items():
        minutes = [T0 + timedelta(minutes=m) for m in range(240) if start <= T0 + timedelta(minutes=m) < start + timedelta(minutes=5)]
        present = [float((t - T0) // timedelta(minutes=1)) for t in minutes if t not in MISSING]
        means = dict(r["metric_mean"])
        assert dict(r["metric_gap_ratio"])["sys:cpu"] == pytest.approx(1 - len(present) / 5)
        if present:
            assert means["sys:cpu"] == pytest.approx(sum(present) / len(present))
        else:
            assert means["sys:cpu"] is None
        if r["log_window_id"] is None:  # metrics-only windows: no HDFS line (e.g. before 20:35, after 22:05)
            assert r["n_events"] == 0 and start not in log_starts
        else:  # log-derived events/s, resampled and averaged, adds back up to the window's events
            assert round(means["HDFS-logs:log.events_per_s"] * 300) == r["n_events"] > 0
            assert r["events_per_s"] == pytest.approx(r["n_events"] / 300)
    assert pc.sum(out["n_events"]).as_py() == sum(w["n_events"] for w in logs)
