"""The walking skeleton through a real dag.test(): files -> Parquet -> Spark -> Elasticsearch."""

from datetime import datetime, timezone

import pytest

from opsradar.airflow_harness import run_dag
from opsradar.config import load_config
from opsradar.es.client import connect
from opsradar.es.search import search_events
from opsradar.layout import Interval, Layout

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_skeleton_dag_end_to_end_and_rerun(airflow_home, es_node, shared_data, tmp_path, index_prefix):
    cfg_file = tmp_path / "opsradar.toml"
    cfg_file.write_text(
        f'[storage]\nroot = "{tmp_path / "lake"}"\n[es]\nurl = "{es_node.url}"\nindex_prefix = "{index_prefix}"\n'
        f'[[log_sources]]\nname = "HDFS"\npath = "{shared_data / "loghub/HDFS/HDFS_2k.log"}"\nformat = "loghub:HDFS"\n'
        f'service = "hdfs"\n'
    )
    env = {"OPSRADAR_CONFIG": str(cfg_file)}
    logical = datetime(2008, 11, 11, tzinfo=timezone.utc)
    summary = run_dag("opsradar_logs_skeleton", logical, home=airflow_home, extra_env=env)
    assert summary["state"] == "success", summary
    assert set(summary["tasks"].values()) == {"success"}
    # A manual run's interval ends at its logical date (STACK.md).
    assert summary["data_interval_start"] == "2008-11-10T00:00:00+00:00"
    assert summary["data_interval_end"] == "2008-11-11T00:00:00+00:00"

    cfg = load_config(cfg_file, environ={})
    es = connect(cfg.es)
    total, hits = search_events(es, index_prefix, "PacketResponder", None, None, size=3)
    assert total > 0 and all("PacketResponder" in h["message"] for h in hits)
    assert all(h["opsradar"]["template_id"] and "PacketResponder" in h["opsradar"]["template"] for h in hits)
    count = es.count(index=f"{index_prefix}-events")["count"]
    assert count == 965  # events of 2008-11-10 in the HDFS sample
    ids = sorted(h["_id"] for h in es.search(index=f"{index_prefix}-events", size=1000, _source=False)["hits"]["hits"])

    # Re-running the same interval changes nothing: same documents, same Parquet.
    day = Interval(datetime(2008, 11, 10, tzinfo=timezone.utc), logical)
    before = Layout(cfg.storage.root).read_interval("raw", "logs/source=HDFS", day)
    assert run_dag("opsradar_logs_skeleton", logical, home=airflow_home, extra_env=env)["state"] == "success"
    es.indices.refresh(index=f"{index_prefix}-events")
    assert es.count(index=f"{index_prefix}-events")["count"] == count
    assert sorted(h["_id"] for h in es.search(index=f"{index_prefix}-events", size=1000, _source=False)["hits"]["hits"]) == ids
    assert Layout(cfg.storage.root).read_interval("raw", "logs/source=HDFS", day).equals(before)
