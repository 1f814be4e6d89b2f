"""Ingest DAGs through a real Airflow dag.test(): a 3-interval backfill equals three direct runs."""

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from opsradar.airflow_harness import airflow_env
from opsradar.config import load_config
from opsradar.layout import Interval, Layout
from opsradar.pipeline.logs import ingest_logs
from opsradar.pipeline.metrics import ingest_metrics

pytestmark = [pytest.mark.integration, pytest.mark.slow]
UTC = timezone.utc
DAGS = Path(__file__).resolve().parents[1] / "dags"


def write_config(path: Path, lake: Path, shared_data: Path) -> Path:
    path.write_text(
        f'[storage]\nroot = "{lake}"\n'
        f'[[log_sources]]\nname = "hdfs"\npath = "{shared_data / "loghub/HDFS/HDFS_2k.log"}"\nformat = "loghub:HDFS"\n'
        f'late_lookback_hours = 2\n'
        f'[[metric_sources]]\nname = "nab"\npath = "{shared_data / "nab/data/realAWSCloudwatch/*.csv"}"\nformat = "csv_wide"\n'
    )
    return path


def dag_test_runs(home: Path, env: dict, runs: list[tuple[str, datetime]]) -> list[dict]:
    """Several dag.test() runs in one subprocess (Airflow imports once), via the harness."""
    code = (
        "import json, sys; from datetime import datetime; from opsradar.airflow_harness import test_dag_in_process\n"
        "print('RESULT ' + json.dumps([test_dag_in_process(d, datetime.fromisoformat(t)) for d, t in json.loads(sys.argv[1])]))"
    )
    arg = json.dumps([(d, t.isoformat()) for d, t in runs])
    proc = subprocess.run([sys.executable, "-c", code, arg], env={**os.environ, **airflow_env(home), **env},
                          capture_output=True, text=True, timeout=600)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT "):])


def rows(layout: Layout, layer: str, dataset: str, interval: Interval) -> list[dict]:
    t = layout.read_interval(layer, dataset, interval)
    return [] if t is None else t.to_pylist()


def test_three_interval_backfill_equals_three_runs(airflow_home, shared_data, tmp_path):
    cfg_file = write_config(tmp_path / "dag.toml", tmp_path / "lake-dag", shared_data)
    env = {"OPSRADAR_CONFIG": str(cfg_file), "OPSRADAR_AIRFLOW__RETRIES": "0"}
    # a manual/test run's data interval ends at its logical date (STACK.md)
    ends = [datetime(2008, 11, 10, h, tzinfo=UTC) for h in (1, 2, 3)]
    metric_end = datetime(2014, 2, 15, 1, tzinfo=UTC)
    summaries = dag_test_runs(airflow_home, env, [("opsradar_ingest_logs", e) for e in ends]
                              + [("opsradar_ingest_metrics", metric_end)])
    assert [s["state"] for s in summaries] == ["success"] * 4, summaries
    assert [s["data_interval_start"] for s in summaries[:3]] == [(e - timedelta(hours=1)).isoformat() for e in ends]

    direct = load_config(write_config(tmp_path / "direct.toml", tmp_path / "lake-direct", shared_data), environ={})
    for e in ends:
        ingest_logs(direct, Interval(e - timedelta(hours=1), e))
    ingest_metrics(direct, Interval(metric_end - timedelta(hours=1), metric_end))

    dag_lake, direct_lake = Layout(str(tmp_path / "lake-dag")), Layout(str(tmp_path / "lake-direct"))
    span = Interval(datetime(2008, 11, 9, 22, tzinfo=UTC), ends[-1])  # includes the lookback hours
    for layer in ("raw", "quarantine"):
        assert rows(dag_lake, layer, "logs/source=hdfs", span) == rows(direct_lake, layer, "logs/source=hdfs", span)
    backfilled = rows(dag_lake, "raw", "logs/source=hdfs", Interval(ends[0] - timedelta(hours=1), ends[-1]))
    assert len(backfilled) > 50 and len({r["event_id"] for r in backfilled}) == len(backfilled)
    mspan = Interval(metric_end - timedelta(hours=1), metric_end)
    points = rows(dag_lake, "raw", "metrics/source=nab", mspan)
    assert len(points) == 24 and points == rows(direct_lake, "raw", "metrics/source=nab", mspan)  # 2 series x 12


def test_ingest_dags_are_wired_for_production(airflow_home):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS))
    mine = {k: v for k, v in bag.import_errors.items() if "opsradar_ingest_" in k}
    assert not mine, mine
    for dag_id, stage, asset in (("opsradar_ingest_logs", "ingest_logs", "opsradar://raw/logs"),
                                 ("opsradar_ingest_metrics", "ingest_metrics", "opsradar://raw/metrics")):
        dag = bag.get_dag(dag_id)
        assert type(dag.timetable).__name__ == "CronDataIntervalTimetable"
        assert dag.max_active_runs == 1
        task = dag.get_task(stage)
        assert task.retries == 3 and task.retry_exponential_backoff == 2.0 and task.pool == "ingest"
        assert [o.uri for o in task.outlets] == [asset]
