"""The end-to-end DAGs' wiring, and the pipeline-run documents their callbacks write."""

from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest

DAGS = Path(__file__).resolve().parents[1] / "dags"


@pytest.fixture(scope="module")
def bag(airflow_home):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS))
    assert not bag.import_errors, bag.import_errors
    return bag


def test_pipeline_order_queues_and_assets(bag):
    dag = bag.dags["opsradar_pipeline"]
    upstream = {t.task_id: set(t.upstream_task_ids) for t in dag.tasks}
    assert upstream["clean_logs"] == {"ingest_logs"}
    assert upstream["validate_clean_logs"] == {"clean_logs"}
    assert upstream["featurize_logs"] == {"validate_clean_logs"}
    assert upstream["score_logs"] == {"featurize_logs"}
    assert upstream["sink_results"] == {"score_logs", "score_metrics"}
    for task in dag.tasks:
        on_gpu = task.task_id.startswith("score_")
        assert (task.queue == "gpu") == on_gpu and (task.pool == "gpu") == on_gpu, task.task_id
        assert task.on_failure_callback, task.task_id
    assert {a.uri for t in dag.tasks for a in t.outlets} >= {"opsradar://raw/logs", "opsradar://scores/logs"}
    assert bag.dags["opsradar_retrain"].timetable.summary == "0 3 * * 1"
    assert {t.queue for t in bag.dags["opsradar_retrain"].tasks} == {"gpu"}


@pytest.mark.integration
def test_failure_callback_writes_pipeline_run_document(es_node, index_prefix, monkeypatch):
    from elasticsearch import Elasticsearch

    from opsradar.pipeline.callbacks import on_task_failure

    monkeypatch.setenv("OPSRADAR_ES__URL", es_node.url)
    monkeypatch.setenv("OPSRADAR_ES__INDEX_PREFIX", index_prefix)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    ti = SimpleNamespace(dag_id="opsradar_pipeline", task_id="clean_logs", start_date=start, xcom_pull=lambda **_: None)
    context = {"ti": ti, "run_id": "manual__x", "data_interval_start": start,
               "data_interval_end": datetime(2026, 1, 2, tzinfo=timezone.utc), "exception": ValueError("bad partition")}
    on_task_failure(context)
    on_task_failure(context)  # a retry's failure replaces, not duplicates
    es = Elasticsearch(es_node.url)
    hits = es.search(index=f"{index_prefix}-*", query={"term": {"event.outcome": "failure"}})["hits"]["hits"]
    assert len(hits) == 1
    assert "bad partition" in str(hits[0]["_source"])
