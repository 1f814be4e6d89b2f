"""Real components for tests: one Elasticsearch node, one SparkSession, one Airflow home.

Airflow reads its settings at import, so its environment is set here, before any test
module imports it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("OPSRADAR_DATA", REPO.parent / "shared" / "data"))
LOGHUB = SHARED_DATA / "loghub"

_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="opsradar-test-airflow-"))
from opsradar.airflow_harness import airflow_env  # noqa: E402  (light: no airflow import)

os.environ.update(airflow_env(_AIRFLOW_HOME))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.pop("OPSRADAR_CONFIG", None)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not LOGHUB.is_dir():
        pytest.fail(f"shared dev data missing at {SHARED_DATA} (set OPSRADAR_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def es_node():
    """A real single-node Elasticsearch, started once per test run."""
    from opsradar.config import load_config
    from opsradar.es.node import LocalNode

    home = Path(tempfile.mkdtemp(prefix="opsradar-test-es-"))
    node = LocalNode(load_config(None).es.local, home=home)  # env may move the download cache
    state = node.start()
    yield state
    node.stop()
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def es_client(es_node):
    from elasticsearch import Elasticsearch

    es = Elasticsearch(es_node.url, request_timeout=60)
    yield es
    es.close()


@pytest.fixture(scope="session")
def spark():
    from opsradar.config import SparkConfig
    from opsradar.spark import spark_session

    session = spark_session(SparkConfig(shuffle_partitions=2))
    yield session
    session.stop()
    import logging

    logging.getLogger("py4j").setLevel(logging.WARNING)  # quiet its shutdown chatter


@pytest.fixture(scope="session")
def airflow_home() -> Path:
    from opsradar.airflow_harness import migrate_db

    seconds = migrate_db(_AIRFLOW_HOME)
    print(f"\nairflow db migrate: {seconds:.1f}s")
    return _AIRFLOW_HOME


@pytest.fixture
def index_prefix(request) -> str:
    """A unique ES index prefix per test, so tests never see each other's documents."""
    import re

    return "t-" + re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[:40].strip("-")
