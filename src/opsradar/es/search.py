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
