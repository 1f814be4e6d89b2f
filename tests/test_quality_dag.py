"""The GX gate in a real Airflow run (dag.test()): a failing error suite stops downstream, a warning suite does not.

Uses the test-only DAG tests/dags/opsradar_quality_gate.py:
validate_clean_logs >> index_events.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pytest

from opsradar.airflow_harness import run_dag
from opsradar.ingest.formats import get_format
from opsradar.ingest.logs import ingest_log_file
from opsradar.layout import Interval, Layout

pytestmark = [pytest.mark.integration, pytest.mark.slow]

UTC = timezone.utc
DAG_ID = "opsradar_quality_gate"
TEST_DAGS = Path(__file__).resolve().parent / "dags"
DAY = Interval(datetime(2008, 11, 10, tzinfo=UTC), datetime(2008, 11, 11, tzinfo=UTC))
LOGS = "logs/source=HDFS"


def _lake(tmp_path: Path, shared_data: Path, es_url: str = "http://127.0.0.1:9", index_prefix: str = "t-quality"):
    """Real HDFS events of 2008-11-10 in raw and clean (no template columns yet, as the skeleton's clean job writes)."""
    log = shared_data / "loghub/HDFS/HDFS_2k.log"
    cfg_file = tmp_path / "opsradar.toml"
    cfg_file.write_text(
        f'[storage]\nroot = "{tmp_path / "lake"}"\n[es]\nurl = "{es_url}"\nindex_prefix = "{index_prefix}"\n'
        f'[[log_sources]]\nname = "HDFS"\npath = "{log}"\nformat = "loghub:HDFS"\n')
    events = ingest_log_file(str(log), "HDFS", get_format("HDFS"), DAY).events
    layout = Layout(str(tmp_path / "lake"))
    layout.write_interval("raw", LOGS, DAY, events, "timestamp")
    layout.write_interval("clean", LOGS, DAY, events, "timestamp")
    return cfg_file, layout, events


def _run(airflow_home: Path, cfg_file: Path, log_file: Path) -> dict:
    """run_dag, keeping the summary of a failed run too."""
    env = {"OPSRADAR_CONFIG": str(cfg_file), "AIRFLOW__CORE__DAGS_FOLDER": str(TEST_DAGS)}
    return run_dag(DAG_ID, DAY.end, home=airflow_home, extra_env=env, log_file=log_file, check=False)


def test_failing_clean_suite_stops_downstream_and_names_the_expectation(airflow_home, shared_data, tmp_path):
    cfg_file, layout, events = _lake(tmp_path, shared_data)
    levels = events.column("level").to_pylist()
    levels[40], levels[41] = "WARNING", "Informational"  # a clean job that stopped mapping levels
    layout.write_interval("clean", LOGS, DAY, events.set_column(events.schema.get_field_index("level"), "level", pa.array(levels)),
                          "timestamp")
    log_file = tmp_path / "airflow.log"
    summary = _run(airflow_home, cfg_file, log_file)
    assert summary["state"] == "failed", summary
    assert summary["data_interval_start"] == DAY.start.isoformat()
    assert summary["tasks"] == {"validate_clean_logs": "failed", "index_events": "upstream_failed"}

    log = log_file.read_text(errors="replace")
    assert "DataQualityError: data quality gate failed" in log
    assert "suite clean_logs FAILED (error) on clean/logs/source=HDFS" in log
    assert "expect_column_values_to_be_in_set(column='level'" in log and "2 of 965 rows unexpected" in log
    assert "'Informational'" in log and "'WARNING'" in log  # sample values
    assert "line_no=" in log  # sample rows point at the source lines
    assert "Calculating Metrics" not in log  # GX's tqdm bars are off

    from opsradar.quality.results import read_result

    doc = read_result(layout, "clean_logs", LOGS, DAY)
    assert doc["success"] is False and doc["failures"][0]["sample_values"] == ["Informational", "WARNING"]


def test_warning_suite_logs_without_stopping(airflow_home, shared_data, tmp_path, es_node, es_client, index_prefix):
    """No template columns yet: clean_logs_templates (warning) fails, indexing still runs."""
    cfg_file, layout, events = _lake(tmp_path, shared_data, es_node.url, index_prefix)
    log_file = tmp_path / "airflow.log"
    summary = _run(airflow_home, cfg_file, log_file)
    assert summary["state"] == "success", summary
    assert set(summary["tasks"].values()) == {"success"}
    log = log_file.read_text(errors="replace")
    assert "suite clean_logs_templates FAILED (warning)" in log and "column 'template_id' is missing" in log
    es_client.indices.refresh(index=f"{index_prefix}-events")
    assert es_client.count(index=f"{index_prefix}-events")["count"] == events.num_rows == 965

    from opsradar.quality.results import read_result

    assert read_result(layout, "clean_logs_templates", LOGS, DAY)["success"] is False
    assert read_result(layout, "clean_logs", LOGS, DAY)["success"] is True
