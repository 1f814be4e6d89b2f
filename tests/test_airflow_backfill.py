"""`airflow backfill create` over a week queues one run per day with the data intervals that
`opsradar backfill` runs (the runs themselves need a scheduler; dag.test() runs them locally)."""

import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta

import pytest

from opsradar.airflow_harness import airflow_env, migrate_db

pytestmark = pytest.mark.integration


def test_backfill_create_over_a_week_queues_daily_intervals(tmp_path):
    import os

    migrate_db(tmp_path)
    env = {**os.environ, **airflow_env(tmp_path)}
    airflow = [sys.executable, "-m", "airflow"]
    subprocess.run([*airflow, "dags", "reserialize"], env=env, check=True, capture_output=True, timeout=300)
    out = subprocess.run([*airflow, "backfill", "create", "--dag-id", "opsradar_pipeline", "--from-date", "2026-01-05",
                          "--to-date", "2026-01-11"], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    with sqlite3.connect(tmp_path / "airflow.db") as db:
        rows = db.execute("select data_interval_start, data_interval_end, run_type from dag_run "
                          "where dag_id = 'opsradar_pipeline' order by data_interval_start").fetchall()
    day = datetime(2026, 1, 5)
    expected = [((day + timedelta(days=k)).strftime("%Y-%m-%d %H:%M:%S"), (day + timedelta(days=k + 1)).strftime("%Y-%m-%d %H:%M:%S"))
                for k in range(7)]
    assert [(s[:19], e[:19]) for s, e, _ in rows] == expected
    assert {t for *_, t in rows} == {"backfill"}
    # A second create for the same range adds no runs (Airflow refuses overlapping backfills / existing runs).
    subprocess.run([*airflow, "backfill", "create", "--dag-id", "opsradar_pipeline", "--from-date", "2026-01-05",
                    "--to-date", "2026-01-11"], env=env, capture_output=True, text=True, timeout=300)
    with sqlite3.connect(tmp_path / "airflow.db") as db:
        assert db.execute("select count(*) from dag_run where dag_id = 'opsradar_pipeline'").fetchone()[0] == 7
