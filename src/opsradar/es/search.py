"""Queries behind `opsradar search`."""

from __future__ import annotations

from datetime import datetime

from elasticsearch import Elasticsearch


def search_events(es: Elasticsearch, prefix: str, query: str, since: datetime | None, until: datetime | None,
                  size: int = 10) -> tuple[int, list[dict]]:
    must: list[dict] = [{"query_string": {"query": query, "default_field": "message"}}]
    if since or until:
        rng = {k: v.isoformat() for k, v in (("gte", since), ("lt", until)) if v}
        must.append({"range": {"@timestamp": rng}})
    resp = es.search(index=f"{prefix}-events", query={"bool": {"must": must}}, size=size,
                     sort=[{"@timestamp": "asc"}, {"event.id": "asc"}], track_total_hits=True)
    return resp["hits"]["total"]["value"], [h["_source"] for h in resp["hits"]["hits"]]


def search_anomalies(es: Elasticsearch, prefix: str, since: datetime | None = None, until: datetime | None = None,
                     service: str | None = None, host: str | None = None, min_score: float | None = None,
                     query: str | None = None, family: str | None = None, size: int = 20) -> tuple[int, list[dict]]:
    """Anomaly documents (logs and metrics), highest normalized score first, then newest."""
    filters: list[dict] = [{"term": {"event.kind": "alert"}}]
    if since or until:
        filters.append({"range": {"@timestamp": {k: v.isoformat() for k, v in (("gte", since), ("lt", until)) if v}}})
    if service:
        filters.append({"term": {"service.name": service}})
    if host:
        filters.append({"term": {"host.name": host}})
    if min_score is not None:
        filters.append({"range": {"opsradar.score_normalized": {"gte": min_score}}})
    if family:
        filters.append({"term": {"opsradar.family": family}})
    must = [{"query_string": {"query": query, "fields": ["message", "opsradar.example_lines", "opsradar.top_templates.template",
                                                          "opsradar.entity", "host.name", "service.name"]}}] if query else []
    resp = es.search(index=f"{prefix}-anomalies-*", query={"bool": {"filter": filters, "must": must}}, size=size,
                     sort=[{"opsradar.score_normalized": "desc"}, {"@timestamp": "desc"}, {"event.id": "asc"}],
                     track_total_hits=True, ignore_unavailable=True, allow_no_indices=True)
    return resp["hits"]["total"]["value"], [h["_source"] | {"_id": h["_id"], "_index": h["_index"]} for h in resp["hits"]["hits"]]
