"""Run a DAG with `dag.test()` on SQLite in a throwaway AIRFLOW_HOME.

Airflow reads its settings at import, so `airflow_env()` must be applied before
`import airflow`; `run_dag()` does that in a fresh subprocess for callers (CLI, demo)
that may already have imported it. Facts from STACK.md: dag.test() needs the DAGs
folder set, and a manual run's data interval ends at its logical date.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
log = logging.getLogger(__name__)


def dags_folder() -> Path:
    if DAGS_FOLDER.is_dir():
        return DAGS_FOLDER
    import opsradar.dags  # installed (non-editable): the mapped package

    return Path(opsradar.dags.__file__).parent


def airflow_env(home: str | Path) -> dict[str, str]:
    home = Path(home)
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder()),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
    }


def migrate_db(home: str | Path) -> float:
    """`airflow db migrate` once per home; returns seconds taken."""
    t0 = time.monotonic()
    marker = Path(home) / ".migrated"
    if not marker.exists():
        env = {**os.environ, **airflow_env(home)}
        subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        marker.touch()
    return time.monotonic() - t0


def test_dag_in_process(dag_id: str, logical_date: datetime) -> dict:
    """Parse the DAGs folder and `dag.test()` one DAG; env must already be set."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    dag = bag.get_dag(dag_id)
    if dag is None:
        raise KeyError(f"no DAG {dag_id!r} in {os.environ['AIRFLOW__CORE__DAGS_FOLDER']}")
    if getattr(dag, "deadline", None):
        # Airflow 3.3's dag.test() cannot finish a run of a DAG with a DeadlineAlert: DagRun.update_state
        # looks the alert up by id but gets the in-memory definition ("'dict' object has no attribute
        # 'hex'"). The scheduler path is unaffected, so only local test runs go without the alert.
        log.warning("dag.test(): %s's deadline alert is not evaluated in local test runs (Airflow 3.3 limitation)", dag_id)
        dag.deadline = None
    dag_run = dag.test(logical_date=logical_date)
    tis = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    return {
        "dag_id": dag_id,
        "state": str(dag_run.state),
        "data_interval_start": dag_run.data_interval_start.isoformat(),
        "data_interval_end": dag_run.data_interval_end.isoformat(),
        "tasks": tis,
    }


def run_dag(dag_id: str, logical_date: datetime, home: str | Path | None = None, extra_env: dict[str, str] | None = None,
            log_file: str | Path | None = None, check: bool = True) -> dict:
    """Run `dag.test()` in a subprocess with a prepared AIRFLOW_HOME; returns the run summary.

    With `log_file`, Airflow's task output goes there instead of the terminal. With
    `check=False` a failed run returns its summary (state, per-task states) instead of raising.
    """
    home = Path(home or tempfile.mkdtemp(prefix="opsradar-airflow-"))
    home.mkdir(parents=True, exist_ok=True)
    migrate_db(home)
    env = {**os.environ, **airflow_env(home), **(extra_env or {})}
    out = home / f"run-{dag_id}-{logical_date:%Y%m%dT%H%M%S}.json"
    out.unlink(missing_ok=True)  # never report a previous run's summary
    cmd = [sys.executable, "-m", "opsradar.airflow_harness", dag_id, logical_date.isoformat(), "--out", str(out)]
    with open(log_file, "ab") if log_file else open(os.devnull, "wb") as sink:
        proc = subprocess.run(cmd, env=env, stdout=sink if log_file else None, stderr=subprocess.STDOUT if log_file else None)
    if out.exists() and (proc.returncode == 0 or not check):
        return json.loads(out.read_text())
    if proc.returncode != 0 or not out.exists():
        where = log_file or home
        raise RuntimeError(f"dag.test() of {dag_id} failed (exit {proc.returncode}); see {where}")
    return json.loads(out.read_text())


def _main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dag_id")
    parser.add_argument("logical_date", type=datetime.fromisoformat)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    summary = test_dag_in_process(args.dag_id, args.logical_date)
    Path(args.out).write_text(json.dumps(summary))
    sys.exit(0 if summary["state"] == "success" else 1)


if __name__ == "__main__":
    _main()
