"""The sink stage and mapper against the real node: idempotent backfills, dead letters, search."""

import json
from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from opsradar.config import OpsRadarConfig
from opsradar.es import mapper, samples, setup
from opsradar.es.bulk import BulkWriter, Op, RetryPolicy, field_of
from opsradar.es.search import search_anomalies
from opsradar.layout import Interval, Layout
from opsradar.pipeline.sink import ContractError, sink_results
from opsradar.schemas.arrow import ANOMALY_SCORE

pytestmark = pytest.mark.integration

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
INTERVAL = Interval(START, START + timedelta(hours=2))


def _cfg(tmp_path, es_node, prefix, **es):
    return OpsRadarConfig.from_dict({"storage": {"root": str(tmp_path / "lake")},
                                     "es": {"url": es_node.url, "index_prefix": prefix, "bulk_chunk_size": 250, **es},
                                     "es_sink": {"initial_backoff_s": 0.1, "max_attempts": 3}})


def _write_inputs(layout: Layout, n_logs=400, n_metrics=150):
    layout.write_interval("scores", "logs", INTERVAL, samples.anomaly_scores(n_logs, START, timedelta(hours=2)), "window_start")
    layout.write_interval("scores", "metrics", INTERVAL, samples.anomaly_scores(n_metrics, START, timedelta(hours=2), family="metric",
                                                                                model_name="patchtst"), "window_start")
    layout.write_interval("forecasts", "demand", INTERVAL, samples.forecasts(40, START), "issued_at")
    layout.write_interval("reports", "capacity_plans", INTERVAL, samples.capacity_plans(START), "plan_date")
    layout.write_interval("runs", "stages", INTERVAL, samples.pipeline_runs(START, START + timedelta(hours=2)), "interval_start")


def _ids(es, pattern):
    es.indices.refresh(index=pattern)
    resp = es.search(index=pattern, query={"match_all": {}}, source=False, size=10_000)
    return sorted(h["_id"] for h in resp["hits"]["hits"])


# -- mapper ------------------------------------------------------------------------------------
def _row(**over):
    row = samples.anomaly_scores(1, START, timedelta(hours=1)).to_pylist()[0]
    row.update(over)
    return row


def test_anomaly_document_is_ecs_with_deterministic_id():
    doc = mapper.anomaly_document(_row())
    again = mapper.anomaly_document(_row(model_version="2", score=9.9))
    assert doc.id == again.id  # same window + model family: a new model version overwrites
    assert doc.id != mapper.anomaly_document(_row(model_name="other")).id
    assert doc.family == "anomaly.log"
    src = doc.source
    assert src["event"]["kind"] == "alert" and src["event"]["dataset"] == "opsradar.anomalies.log"
    assert src["@timestamp"] == "2026-01-01T00:00:00Z" and src["opsradar"]["window"]["end"] == "2026-01-01T00:05:00Z"
    assert src["event"]["severity"] == round(src["opsradar"]["score_normalized"])
    assert src["opsradar"]["top_templates"][0]["template"] == src["opsradar"]["top_template"]
    assert src["host"]["name"] == "node-00" and src["service"]["name"] == "checkout"


@pytest.mark.parametrize("field,value,match", [
    ("score_normalized", 120.0, "score_normalized"),
    ("window_id", None, "window_id"),
    ("family", "trace", "family"),
    ("score", float("inf"), "score"),
])
def test_invalid_rows_name_the_field(field, value, match):
    with pytest.raises(mapper.InvalidRow, match=match):
        mapper.anomaly_document(_row(**{field: value}))


def test_forecast_quantiles_must_be_ordered():
    row = samples.forecasts(1, START).to_pylist()[0]
    assert mapper.forecast_document(row).source["opsradar"]["forecast"]["quantiles"]["p95"] == row["p95"]
    row["p90"] = row["p95"] + 1
    with pytest.raises(mapper.InvalidRow, match="ordered"):
        mapper.forecast_document(row)


# -- stage against the real node -------------------------------------------------------------------
def test_backfill_rerun_leaves_counts_and_ids_unchanged(es_node, es_client, index_prefix, tmp_path):
    cfg = _cfg(tmp_path, es_node, index_prefix)
    layout = Layout(cfg.storage.root)
    _write_inputs(layout)
    first = sink_results(cfg, INTERVAL)
    assert first.counts["indexed"] == 400 + 150 + 40 + 10 + 3 and first.counts["failed"] == 0
    ids_first = {p: _ids(es_client, f"{index_prefix}-{p}-*") for p in ("anomalies", "forecasts", "capacity-plans", "pipeline-runs")}
    assert len(ids_first["anomalies"]) == 550 and len(ids_first["forecasts"]) == 40
    assert len(ids_first["pipeline-runs"]) == 3 + 1  # input runs + the sink's own run record

    second = sink_results(cfg, INTERVAL)  # the backfill of the same interval
    assert second.counts["indexed"] == first.counts["indexed"]
    for pattern, ids in ids_first.items():
        assert _ids(es_client, f"{index_prefix}-{pattern}-*") == ids
    own = es_client.search(index=f"{index_prefix}-pipeline-runs", query={"term": {"opsradar.run.stage": "sink_results"}})
    assert own["hits"]["hits"][0]["_source"]["opsradar"]["run"]["records_out"] == first.counts["indexed"]


def test_rerun_after_rollover_overwrites_in_the_old_index(es_node, es_client, index_prefix, tmp_path):
    cfg = _cfg(tmp_path, es_node, index_prefix)
    layout = Layout(cfg.storage.root)
    _write_inputs(layout, n_logs=120, n_metrics=10)
    sink_results(cfg, INTERVAL)
    alias = setup.alias_name(index_prefix, "anomaly.log")
    assert es_client.indices.rollover(alias=alias)["rolled_over"]
    assert len(es_client.indices.get_alias(name=alias)) == 2
    result = sink_results(cfg, INTERVAL)
    assert result.counts["indexed.anomaly.log"] == 120
    assert es_client.count(index=alias)["count"] == 120  # no duplicate in the new write index
    assert es_client.count(index=f"{alias}-000002")["count"] == 0


def test_bad_rows_and_rejected_documents_are_dead_lettered_with_reason(es_node, es_client, index_prefix, tmp_path):
    cfg = _cfg(tmp_path, es_node, index_prefix)
    layout = Layout(cfg.storage.root)
    rows = samples.anomaly_scores(50, START, timedelta(hours=2)).to_pylist()
    rows[3]["score_normalized"] = 250.0
    rows[7]["model_version"] = None
    layout.write_interval("scores", "logs", INTERVAL, pa.Table.from_pylist(rows, schema=ANOMALY_SCORE.remove(
        ANOMALY_SCORE.get_field_index("model_version")).append(pa.field("model_version", pa.string()))), "window_start")
    result = sink_results(cfg, INTERVAL)
    assert result.counts["indexed.anomaly.log"] == 48 and result.counts["failed.invalid_row"] == 2
    dead = pq.read_table(layout.partition_dir("deadletter", "es/anomaly.log", START)).to_pylist()
    assert sorted(d["detail"] for d in dead) == ["field [model_version]: is required",
                                                 "field [score_normalized]: must be within 0-100, got 250.0"]
    assert all(d["reason"] == "invalid_row" and json.loads(d["document"])["window_id"] for d in dead)

    # a fixed re-run clears the interval's dead letters
    layout.write_interval("scores", "logs", INTERVAL, samples.anomaly_scores(50, START, timedelta(hours=2)), "window_start")
    assert sink_results(cfg, INTERVAL).counts["failed"] == 0
    assert not layout.existing_interval_dirs("deadletter", "es/anomaly.log", INTERVAL)


def test_mapping_rejection_is_a_dead_letter_naming_the_field(es_client, index_prefix):
    setup.install(es_client, index_prefix, families=("forecast",))
    alias = setup.alias_name(index_prefix, "forecast")
    good = mapper.forecast_document(samples.forecasts(1, START).to_pylist()[0])
    bad = dict(good.source, opsradar={**good.source["opsradar"], "bogus": 1})
    wrong_type = dict(good.source, opsradar={**good.source["opsradar"], "forecast": {"horizon_steps": "soon"}})
    summary = BulkWriter(es_client, retry=RetryPolicy(max_attempts=2, initial_backoff_s=0.01)).write(
        [Op("forecast", alias, "ok", good.source), Op("forecast", alias, "bad", bad), Op("forecast", alias, "typ", wrong_type)])
    assert summary.indexed == 1
    by_id = {f.op.id: f for f in summary.failures}
    assert by_id["bad"].reason == "mapping" and "opsradar.bogus" in by_id["bad"].detail
    assert by_id["typ"].reason == "mapping" and "opsradar.forecast.horizon_steps" in by_id["typ"].detail
    assert all(f.attempts == 1 for f in summary.failures)  # permanent errors are not retried
    assert field_of(by_id["bad"].detail) == "opsradar.bogus"


def test_missing_required_column_fails_naming_it(es_node, index_prefix, tmp_path):
    cfg = _cfg(tmp_path, es_node, index_prefix)
    layout = Layout(cfg.storage.root)
    table = samples.anomaly_scores(5, START, timedelta(hours=1)).drop_columns(["score_normalized"])
    layout.write_interval("scores", "logs", INTERVAL, table, "window_start")
    with pytest.raises(ContractError, match="scores/logs: column\\(s\\) score_normalized"):
        sink_results(cfg, INTERVAL)


def test_search_anomalies_filters_and_cli(es_node, es_client, index_prefix, tmp_path, monkeypatch):
    cfg = _cfg(tmp_path, es_node, index_prefix)
    _write_inputs(Layout(cfg.storage.root), n_logs=200, n_metrics=80)
    sink_results(cfg, INTERVAL)
    total, hits = search_anomalies(es_client, index_prefix, min_score=50, service="payments", size=500)
    assert total == len(hits) > 0
    assert all(h["opsradar"]["score_normalized"] >= 50 and h["service"]["name"] == "payments" for h in hits)
    scores = [h["opsradar"]["score_normalized"] for h in hits]
    assert scores == sorted(scores, reverse=True)
    expected = sum(1 for t in (samples.anomaly_scores(200, START, timedelta(hours=2)),
                               samples.anomaly_scores(80, START, timedelta(hours=2), family="metric"))
                   for r in t.to_pylist() if r["score_normalized"] >= 50 and r["service"] == "payments")
    assert total == expected
    until = START + timedelta(hours=1)
    _, early = search_anomalies(es_client, index_prefix, until=until, host="node-03", size=500)
    assert early and all(h["host"]["name"] == "node-03" and h["@timestamp"] < until.isoformat().replace("+00:00", "Z") for h in early)
    _, found = search_anomalies(es_client, index_prefix, query="Exception", family="log", size=500)
    assert found and all("Exception" in json.dumps(h["opsradar"]["top_templates"]) for h in found)

    from opsradar.cli import search_app
    from opsradar.commands import elasticsearch  # noqa: F401  (registers `search anomalies`)

    app = typer.Typer()
    app.add_typer(search_app, name="search")
    monkeypatch.setenv("OPSRADAR_ES__URL", es_node.url)
    monkeypatch.setenv("OPSRADAR_ES__INDEX_PREFIX", index_prefix)
    out = CliRunner().invoke(app, ["search", "anomalies", "--min-score", "50", "--service", "payments", "--json", "--size", "500"])
    assert out.exit_code == 0, out.output
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert [h["_id"] for h in lines] == [h["_id"] for h in hits]
    table = CliRunner().invoke(app, ["search", "anomalies", "--since", "2026-01-01T00:00:00", "--until", "2026-01-01T01:00:00"])
    assert table.exit_code == 0 and "anomal" in table.stdout


def test_retry_classification_and_backoff():
    from elastic_transport import ConnectionError as TransportConnectionError

    from opsradar.es.bulk import _retryable

    assert [_retryable(s, None) for s in (429, 500, 502, 503, 504)] == [True] * 5
    assert [_retryable(s, None) for s in (400, 403, 404, 409)] == [False] * 4
    assert _retryable("N/A", TransportConnectionError("refused")) and _retryable(None, None)
    policy = RetryPolicy(max_attempts=6, initial_backoff_s=0.5, max_backoff_s=3)
    assert [policy.backoff(n) for n in range(1, 6)] == [0.5, 1, 2, 3, 3]


def test_write_blocked_index_dead_letters_each_document_with_the_block_reason(es_client, index_prefix):
    setup.install(es_client, index_prefix, families=("capacity_plan",))
    alias = setup.alias_name(index_prefix, "capacity_plan")
    es_client.indices.put_settings(index=alias, settings={"index.blocks.write": True})
    try:
        docs = [mapper.capacity_document(r) for r in samples.capacity_plans(START).to_pylist()[:3]]
        slept = []
        summary = BulkWriter(es_client, retry=RetryPolicy(max_attempts=3, initial_backoff_s=0.01), sleep=slept.append).write(
            Op(d.family, alias, d.id, d.source) for d in docs)
    finally:
        es_client.indices.put_settings(index=alias, settings={"index.blocks.write": False})
    assert summary.indexed == 0 and len(summary.failures) == 3 and not slept  # permanent: no retry, no backoff
    assert all(f.reason == "rejected" and f.status == 403 and "cluster_block_exception" in f.detail for f in summary.failures)
