"""Kibana objects as code: NDJSON shape, fields against the real node's mappings, API requests."""

import json
import re

import pytest
from pydantic import SecretStr

from opsradar.config import KibanaConfig
from opsradar.es import kibana, setup
from opsradar.schemas import schema_path

pytestmark = pytest.mark.integration

PREFIX = "kb"


def test_ndjson_parses_as_kibana_expects():
    lines = [line for line in schema_path("kibana", kibana.SAVED_OBJECTS).read_text().splitlines() if line.strip()]
    objects = [json.loads(line) for line in lines]  # one JSON object per line, nothing else
    assert all(isinstance(o, dict) and {"type", "id", "attributes", "references"} <= o.keys() for o in objects)
    ids = {(o["type"], o["id"]) for o in objects}
    assert len(ids) == len(objects)
    types = {o["type"] for o in objects}
    assert types == {"index-pattern", "search", "lens", "dashboard"}
    for o in objects:
        for ref in o["references"]:  # every reference resolves inside the file
            assert (ref["type"], ref["id"]) in ids, (o["id"], ref)
        if o["type"] == "search":
            source = json.loads(o["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
            assert source["indexRefName"] in {r["name"] for r in o["references"]}
        if o["type"] == "lens":
            layers = o["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]
            for layer_id, layer in layers.items():
                assert set(layer["columnOrder"]) == set(layer["columns"])
                assert f"indexpattern-datasource-layer-{layer_id}" in {r["name"] for r in o["references"]}
                for col in layer["columns"].values():
                    order = col.get("params", {}).get("orderBy", {})
                    assert order.get("type") != "column" or order["columnId"] in layer["columns"]
    dashboard = next(o for o in objects if o["type"] == "dashboard")
    panels = json.loads(dashboard["attributes"]["panelsJSON"])
    refs = {r["name"]: r for r in dashboard["references"]}
    assert len(panels) >= 8
    for panel in panels:
        ref = refs[f"{panel['panelIndex']}:{panel['panelRefName']}"]
        assert ref["type"] == panel["type"]
    titles = {o["attributes"]["title"] for o in objects if o["type"] == "lens"}
    for wanted in ("Anomaly timeline", "Top hosts by anomalies", "Top services by anomalies", "Top log templates in anomalies",
                   "Anomaly score distribution (0-100)", "Capacity outlook", "Pipeline runs by status"):
        assert wanted in titles


def test_rules_render_per_service_with_threshold():
    cfg = KibanaConfig(anomaly_threshold=85, services=["checkout", "Payments API"], quarantine_spike_threshold=500)
    rules = {r["id"]: r for r in kibana.load_rules(PREFIX, cfg)}
    assert set(rules) == {"kb-rule-anomaly-score-checkout", "kb-rule-anomaly-score-payments-api", "kb-rule-pipeline-failed",
                          "kb-rule-quarantine-spike"}
    checkout = rules["kb-rule-anomaly-score-checkout"]
    assert checkout["rule_type_id"] == ".es-query" and checkout["params"]["index"] == ["kb-anomalies-*"]
    query = json.loads(checkout["params"]["esQuery"])  # Kibana wants the query as a JSON string
    assert {"range": {"opsradar.score_normalized": {"gte": 85}}} in query["query"]["bool"]["filter"]
    assert {"term": {"service.name": "checkout"}} in query["query"]["bool"]["filter"]
    assert rules["kb-rule-quarantine-spike"]["params"]["threshold"] == [500]
    default = kibana.load_rules(PREFIX)
    grouped = next(r for r in default if r["id"] == "kb-rule-anomaly-score")
    assert grouped["params"]["groupBy"] == "top" and grouped["params"]["termField"] == "service.name"
    assert not re.search(r"\{[a-z_]+\}", json.dumps(default))  # every placeholder filled


def test_every_referenced_field_exists_in_the_real_mappings(es_client, index_prefix):
    setup.install(es_client, index_prefix)
    objects = kibana.load_saved_objects(index_prefix)
    rules = kibana.load_rules(index_prefix, KibanaConfig(services=["checkout"]))
    used = kibana.referenced_fields(objects, rules)
    assert set(used) == {f"{index_prefix}-{p}-*" for p in ("anomalies", "forecasts", "capacity-plans", "pipeline-runs")}
    assert sum(len(f) for f in used.values()) > 30
    for pattern, fields in used.items():
        caps = es_client.field_caps(index=pattern, fields="*")["fields"]
        missing = sorted(f for f in fields if f not in caps)
        assert not missing, f"{pattern}: fields used by Kibana objects but not mapped: {missing}"
    # fields Lens buckets/aggregates on must be aggregatable
    for o in objects:
        if o["type"] != "lens":
            continue
        pattern = next(x["attributes"]["title"] for x in objects if x["id"] == o["references"][0]["id"])
        caps = es_client.field_caps(index=pattern, fields="*")["fields"]
        for col in o["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]["l1"]["columns"].values():
            if col["sourceField"] != "___records___":
                assert any(c["aggregatable"] for c in caps[col["sourceField"]].values()), (o["id"], col["sourceField"])


def test_import_request_is_multipart_ndjson_with_xsrf_and_auth():
    client = kibana.KibanaClient(KibanaConfig(url="https://kibana.example:5601/", username="ops", password=SecretStr("pw-123456"),
                                              space="sre"))
    objects = kibana.load_saved_objects(PREFIX)
    req = client.import_request(objects)
    assert req.method == "POST" and req.url == "https://kibana.example:5601/s/sre/api/saved_objects/_import?overwrite=true"
    assert req.headers["kbn-xsrf"] and req.headers["Authorization"].startswith("Basic ")
    assert req.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    body = req.body.decode()
    assert 'name="file"; filename="opsradar.ndjson"' in body
    ndjson = body.split("Content-Type: application/ndjson\r\n\r\n", 1)[1].rsplit("\r\n--", 1)[0]
    assert [json.loads(line) for line in ndjson.splitlines()] == objects


def test_rule_requests_create_then_update():
    client = kibana.KibanaClient(KibanaConfig(url="http://kibana:5601", api_key=SecretStr("a2V5OnNlY3JldA==")))
    rule = kibana.load_rules(PREFIX)[0]
    create = client.rule_requests(rule, exists=False)
    assert create.method == "POST" and create.url == f"http://kibana:5601/api/alerting/rule/{rule['id']}"
    assert create.headers["Authorization"] == "ApiKey a2V5OnNlY3JldA=="
    body = json.loads(create.body)
    assert body["rule_type_id"] == ".es-query" and body["consumer"] == "stackAlerts" and "id" not in body
    update = client.rule_requests(rule, exists=True)
    assert update.method == "PUT"
    assert set(json.loads(update.body)) == {"name", "tags", "schedule", "params", "actions"}


def test_client_needs_a_url():
    with pytest.raises(kibana.KibanaError, match="kibana.url"):
        kibana.KibanaClient(KibanaConfig())


class _KibanaStandIn:
    """A local HTTP server that records requests and answers like Kibana's APIs do (no Kibana runs here)."""

    def __init__(self):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.requests, self.rules = [], set()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _reply(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.requests.append((self.command, self.path, dict(self.headers), body))
                if self.headers.get("kbn-xsrf") is None and self.command != "GET":
                    return self._reply(400, {"message": "Request must contain a kbn-xsrf header."})
                if self.path.startswith("/s/sre/api/saved_objects/_import"):
                    lines = body.split(b"application/ndjson\r\n\r\n", 1)[1].rsplit(b"\r\n--", 1)[0].splitlines()
                    return self._reply(200, {"success": True, "successCount": len(lines)})
                rule_id = self.path.rsplit("/", 1)[-1]
                if self.command == "GET":
                    return self._reply(200 if rule_id in outer.rules else 404, {"id": rule_id})
                if self.command == "POST":
                    outer.rules.add(rule_id)
                    return self._reply(200, {"id": rule_id})
                if self.command == "PUT":
                    return self._reply(200 if rule_id in outer.rules else 404, {"id": rule_id})
                return self._reply(404, {})

            do_GET = do_POST = do_PUT = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_kibana_import_command_creates_then_updates(monkeypatch):
    import typer
    from typer.testing import CliRunner

    from opsradar.commands.elasticsearch import kibana_app

    stand_in = _KibanaStandIn()
    try:
        monkeypatch.setenv("OPSRADAR_KIBANA__URL", stand_in.url)
        monkeypatch.setenv("OPSRADAR_KIBANA__SPACE", "sre")
        monkeypatch.setenv("OPSRADAR_KIBANA__USERNAME", "ops")
        monkeypatch.setenv("OPSRADAR_KIBANA__PASSWORD", "kibana-pw-98765")
        monkeypatch.setenv("OPSRADAR_ES__INDEX_PREFIX", PREFIX)
        import opsradar.cli  # noqa: F401  (registers the command modules)

        app = typer.Typer()
        app.add_typer(kibana_app, name="kibana")
        first = CliRunner().invoke(app, ["kibana", "import"])
        assert first.exit_code == 0, first.output
        report = json.loads(first.stdout)
        assert report["saved_objects"] == len(kibana.load_saved_objects(PREFIX))
        assert set(report["rules"].values()) == {"created"}
        second = json.loads(CliRunner().invoke(app, ["kibana", "import"]).stdout)
        assert set(second["rules"].values()) == {"updated"} and second["rules"].keys() == report["rules"].keys()
        methods = [(m, p.split("?")[0]) for m, p, _, _ in stand_in.requests]
        assert methods[0] == ("POST", "/s/sre/api/saved_objects/_import")
        assert ("PUT", f"/s/sre/api/alerting/rule/{PREFIX}-rule-pipeline-failed") in methods
        assert all(h.get("Authorization", "").startswith("Basic ") for _, _, h, _ in stand_in.requests)
        assert "kibana-pw-98765" not in first.output + str(report)
    finally:
        stand_in.close()


def test_rule_queries_find_what_they_alert_on_in_real_data(es_node, es_client, index_prefix, tmp_path):
    from datetime import datetime, timedelta, timezone

    from opsradar.config import OpsRadarConfig
    from opsradar.es import samples
    from opsradar.es.runs import record_run
    from opsradar.layout import Interval, Layout
    from opsradar.pipeline.sink import sink_results

    start = datetime(2026, 1, 5, tzinfo=timezone.utc)
    interval = Interval(start, start + timedelta(hours=1))
    cfg = OpsRadarConfig.from_dict({"storage": {"root": str(tmp_path / "lake")}, "es": {"url": es_node.url, "index_prefix": index_prefix}})
    scores = samples.anomaly_scores(300, start, timedelta(minutes=50))
    layout = Layout(cfg.storage.root)
    layout.write_interval("scores", "logs", interval, scores, "window_start")
    layout.write_interval("runs", "stages", interval, samples.pipeline_runs(start, start + timedelta(hours=1)), "interval_start")
    sink_results(cfg, interval)
    record_run(cfg, {"dag_id": "opsradar_metrics", "stage": "score_metrics", "interval_start": start,
                     "interval_end": start + timedelta(hours=1), "status": "failed", "error": "CUDA out of memory",
                     "quarantined": 7})

    rules = {r["id"].removeprefix(f"{index_prefix}-rule-"): r for r in
             kibana.load_rules(index_prefix, KibanaConfig(anomaly_threshold=80, quarantine_spike_threshold=5))}
    anomaly = rules["anomaly-score"]["params"]
    hits = es_client.search(index=anomaly["index"], query=json.loads(anomaly["esQuery"])["query"], size=500,
                            aggs={"by": {"terms": {"field": anomaly["termField"], "size": anomaly["termSize"]}}})
    high = [r for r in scores.to_pylist() if r["score_normalized"] >= 80]
    assert high and hits["hits"]["total"]["value"] == len(high)
    per_service = {b["key"]: b["doc_count"] for b in hits["aggregations"]["by"]["buckets"]}
    assert per_service == {s: sum(1 for r in high if r["service"] == s) for s in {r["service"] for r in high}}

    failed = rules["pipeline-failed"]["params"]
    found = es_client.search(index=failed["index"], query=json.loads(failed["esQuery"])["query"], size=50)["hits"]["hits"]
    assert sorted(h["_source"]["opsradar"]["run"]["stage"] for h in found) == ["score_logs", "score_metrics"]

    spike = rules["quarantine-spike"]["params"]
    total = es_client.search(index=spike["index"], query=json.loads(spike["esQuery"])["query"], size=0,
                             aggs={"q": {spike["aggType"]: {"field": spike["aggField"]}}})["aggregations"]["q"]["value"]
    assert total == 3 * 10 + 7 > spike["threshold"][0]
