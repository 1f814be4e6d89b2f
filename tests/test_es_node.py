"""Round trips against the real Elasticsearch node (no mock anywhere)."""

import pytest
from elasticsearch import helpers

from opsradar.es.client import wait_ready
from opsradar.es.templates import install_template, load_template

pytestmark = pytest.mark.integration


def test_node_health_and_no_root_endpoint(es_client):
    assert wait_ready(es_client) in ("green", "yellow")
    assert es_client.ping() is False  # this server build answers 405 on GET /: never use ping()


def test_index_and_search_round_trip(es_client, index_prefix):
    install_template(es_client, "events", index_prefix)
    index = f"{index_prefix}-events"
    docs = [{"_index": index, "_id": f"id-{i}", "_source": {"@timestamp": f"2026-01-01T00:00:{i:02d}Z",
             "message": f"disk {'full' if i % 2 else 'ok'} on node{i}", "event": {"id": f"id-{i}", "kind": "event"}}}
            for i in range(20)]
    ok, errors = helpers.bulk(es_client, docs, refresh=True)
    assert ok == 20 and not errors
    helpers.bulk(es_client, docs, refresh=True)  # same ids again: overwrite, no duplicates
    assert es_client.count(index=index)["count"] == 20
    hits = es_client.search(index=index, query={"match": {"message": "full"}}, size=50)["hits"]["hits"]
    assert sorted(h["_id"] for h in hits) == sorted(f"id-{i}" for i in range(1, 20, 2))
    mapping = es_client.indices.get_mapping(index=index)[index]["mappings"]
    assert mapping["properties"]["message"]["type"] == "text"


def test_template_install_is_idempotent(es_client, index_prefix):
    assert install_template(es_client, "events", index_prefix) is True
    assert install_template(es_client, "events", index_prefix) is False
    stored = es_client.indices.get_index_template(name=f"{index_prefix}-events")["index_templates"][0]
    assert stored["index_template"]["index_patterns"] == load_template("events", index_prefix)["index_patterns"]


def test_strict_mapping_rejects_unknown_field_with_field_name(es_client, index_prefix):
    install_template(es_client, "events", index_prefix)
    _, errors = helpers.bulk(es_client, [{"_index": f"{index_prefix}-events", "_id": "x", "_source": {"bogus_field": 1}}],
                             raise_on_error=False)
    assert errors and "bogus_field" in str(errors[0])
