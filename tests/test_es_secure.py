"""A second real node with TLS + basic auth: auth, secrets never printed, an outage mid-write.

One node serves all three tests (security setup and start cost about a minute on 2 cores);
its port is fixed when it is created, so a restart keeps the URL the writer uses.
"""

import base64
import json
import logging
import shutil
import tempfile
import threading
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import typer
from elastic_transport import TlsError
from elasticsearch import AuthenticationException, Elasticsearch, helpers
from typer.testing import CliRunner

from opsradar.config import LocalNodeConfig, load_config
from opsradar.es import mapper, samples, setup
from opsradar.es.bulk import BulkWriter, EsAuthError, Op
from opsradar.es.client import connect, wait_ready
from opsradar.es.node import LocalNode, free_port
from opsradar.layout import Interval, Layout
from opsradar.pipeline.sink import sink_results

pytestmark = [pytest.mark.integration, pytest.mark.slow]

USER = "opsradar_test"
PASSWORD = f"pw-{uuid.uuid4().hex}"  # fresh per run, so finding it anywhere means we leaked it
START = datetime(2026, 2, 1, tzinfo=timezone.utc)
INTERVAL = Interval(START, START + timedelta(hours=1))


@pytest.fixture(scope="module")
def secure_node():
    home = Path(tempfile.mkdtemp(prefix="opsradar-test-es-secure-"))
    node = LocalNode(LocalNodeConfig(port=free_port()), home=home)
    settings = node.enable_security(USER, PASSWORD)
    state = node.start(settings=settings)
    yield node, state, settings
    node.stop()
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def secure_env(secure_node, monkeypatch, tmp_path):
    node, state, _ = secure_node
    env = {"OPSRADAR_ES__URL": state.url, "OPSRADAR_ES__USERNAME": USER, "OPSRADAR_ES__PASSWORD": PASSWORD,
           "OPSRADAR_ES__CA_CERTS": str(node.ca_path), "OPSRADAR_STORAGE__ROOT": str(tmp_path / "lake")}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def test_tls_with_ca_and_basic_auth_from_environment(secure_node, secure_env):
    _, state, _ = secure_node
    assert state.url.startswith("https://")
    cfg = load_config()
    es = connect(cfg.es)
    assert wait_ready(es) in ("green", "yellow")
    with pytest.raises(AuthenticationException) as anonymous:
        Elasticsearch(state.url, ca_certs=cfg.es.ca_certs).cluster.health()
    assert anonymous.value.status_code == 401
    with pytest.raises(AuthenticationException) as wrong:
        Elasticsearch(state.url, ca_certs=cfg.es.ca_certs, basic_auth=(USER, PASSWORD + "x")).cluster.health()
    assert PASSWORD not in str(wrong.value)
    with pytest.raises(EsAuthError) as refused:  # a wrong password stops the writer; nothing is dead-lettered
        BulkWriter(Elasticsearch(state.url, ca_certs=cfg.es.ca_certs, basic_auth=(USER, PASSWORD + "x"))).write(
            [Op("forecast", "any-forecasts", "1", {"message": "x"})])
    assert "401" in str(refused.value) and PASSWORD not in str(refused.value)
    with pytest.raises(TlsError):  # without the CA the server certificate does not verify
        Elasticsearch(state.url, basic_auth=(USER, PASSWORD), max_retries=0).cluster.health()


def test_credentials_never_appear_in_logs_or_outputs(secure_node, secure_env, caplog, capsys, monkeypatch, index_prefix):
    node, state, _ = secure_node
    monkeypatch.setenv("OPSRADAR_ES__INDEX_PREFIX", index_prefix)
    caplog.set_level(logging.DEBUG)
    cfg = load_config()
    Layout(cfg.storage.root).write_interval("scores", "logs", INTERVAL, samples.anomaly_scores(30, START, timedelta(hours=1)),
                                            "window_start")
    outputs = [json.dumps(cfg.to_dict()), repr(cfg), str(cfg.es)]
    result = sink_results(cfg, INTERVAL)
    assert result.counts["indexed.anomaly.log"] == 30
    outputs.append(json.dumps(result.to_dict()))

    from opsradar.cli import es_app, search_app
    from opsradar.commands import elasticsearch  # noqa: F401

    app = typer.Typer()
    app.add_typer(es_app, name="es")
    app.add_typer(search_app, name="search")
    runner = CliRunner()
    for args in (["es", "setup", "--json"], ["search", "anomalies", "--json"], ["search", "anomalies"], ["es", "setup"]):
        out = runner.invoke(app, args)
        assert out.exit_code == 0, out.output
        outputs.append(out.output)
    assert json.loads(runner.invoke(app, ["es", "setup", "--json"]).stdout)["changed"] is False

    # the same credentials from an Airflow connection (es_sink.airflow_conn_id)
    conn = {"conn_type": "generic", "host": state.url, "login": USER, "password": PASSWORD, "extra": {"ca_certs": str(node.ca_path)}}
    monkeypatch.setenv("AIRFLOW_CONN_OPSRADAR_ES_TEST", json.dumps(conn))
    monkeypatch.setenv("OPSRADAR_ES_SINK__AIRFLOW_CONN_ID", "opsradar_es_test")
    for key in ("OPSRADAR_ES__URL", "OPSRADAR_ES__USERNAME", "OPSRADAR_ES__PASSWORD", "OPSRADAR_ES__CA_CERTS"):
        monkeypatch.delenv(key)
    from opsradar.es.credentials import es_config, redact

    via_airflow = es_config(load_config())
    assert via_airflow.url == state.url and via_airflow.password.get_secret_value() == PASSWORD
    assert wait_ready(connect(via_airflow)) in ("green", "yellow")
    outputs += [str(via_airflow), json.dumps(via_airflow.model_dump(mode="json")), redact(f"oops {PASSWORD}", via_airflow)]

    captured = capsys.readouterr()
    everything = "\n".join([caplog.text, captured.out, captured.err, *outputs])
    basic = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    assert len(caplog.records) > 20  # the client's request logs were captured
    assert PASSWORD not in everything and basic not in everything
    assert "**********" in everything


def test_node_stopped_mid_write_every_document_indexed_once_or_dead_lettered(secure_node, secure_env, monkeypatch, index_prefix):
    node, _, settings = secure_node
    monkeypatch.setenv("OPSRADAR_ES__INDEX_PREFIX", index_prefix)
    monkeypatch.setenv("OPSRADAR_ES__BULK_CHUNK_SIZE", "100")
    monkeypatch.setenv("OPSRADAR_ES__MAX_RETRIES", "1")
    monkeypatch.setenv("OPSRADAR_ES_SINK__MAX_ATTEMPTS", "20")
    monkeypatch.setenv("OPSRADAR_ES_SINK__INITIAL_BACKOFF_S", "0.5")
    monkeypatch.setenv("OPSRADAR_ES_SINK__MAX_BACKOFF_S", "8")
    cfg = load_config()
    n = 8000
    table = samples.anomaly_scores(n, START, timedelta(minutes=59))
    layout = Layout(cfg.storage.root)
    layout.write_interval("scores", "logs", INTERVAL, table, "window_start")
    expected = {mapper.anomaly_document(r).id for r in table.to_pylist()}
    assert len(expected) == n

    restarted = threading.Event()
    errors: list[BaseException] = []

    def outage() -> None:
        try:
            node.stop()
            node.start(settings=settings)
        except BaseException as err:  # surfaced below
            errors.append(err)
        finally:
            restarted.set()

    class StopAfterBulks(logging.Handler):
        """Stops the node once the writer has sent a few bulk requests: mid-write."""

        def __init__(self) -> None:
            super().__init__()
            self.bulks, self.thread = 0, None

        def emit(self, record: logging.LogRecord) -> None:
            if "/_bulk" in record.getMessage():
                self.bulks += 1
                if self.bulks == 10 and self.thread is None:
                    self.thread = threading.Thread(target=outage, daemon=True)
                    self.thread.start()

    trigger = StopAfterBulks()
    transport_log = logging.getLogger("elastic_transport.transport")
    transport_log.addHandler(trigger)
    old_level = transport_log.level
    transport_log.setLevel(logging.INFO)
    try:
        result = sink_results(cfg, INTERVAL)
    finally:
        transport_log.removeHandler(trigger)
        transport_log.setLevel(old_level)
    assert restarted.wait(300) and not errors, errors
    assert trigger.thread is not None and result.counts["retried"] > 0  # the outage really hit the writer

    es = connect(cfg.es)
    alias = setup.alias_name(index_prefix, "anomaly.log")
    es.indices.refresh(index=alias)
    stored = [h["_id"] for h in helpers.scan(es, index=alias, query={"query": {"match_all": {}}}, _source=False)]
    dead_dir = layout.partition_dir("deadletter", "es/anomaly.log", START)
    dead = pq.read_table(dead_dir).to_pylist() if layout.fs.exists(dead_dir) else []
    assert len(stored) == len(set(stored)) == es.count(index=alias)["count"]  # once each
    assert all(d["reason"] and d["detail"] for d in dead)
    assert set(stored) | {d["doc_id"] for d in dead} == expected  # nothing lost
    assert result.counts["indexed.anomaly.log"] + result.counts["failed"] == n
    assert len(stored) == n - len({d["doc_id"] for d in dead} - set(stored))
