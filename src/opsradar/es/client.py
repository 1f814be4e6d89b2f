"""Elasticsearch client from config: TLS, basic auth or API key; secrets never logged."""

from __future__ import annotations

from elasticsearch import Elasticsearch

from opsradar.config import ElasticsearchConfig
from opsradar.es.node import LocalNode


class EsUnavailable(RuntimeError):
    pass


def resolve_url(cfg: ElasticsearchConfig) -> str:
    if cfg.url:
        return cfg.url
    state = LocalNode(cfg.local).read_state()
    if state is None:
        raise EsUnavailable("no es.url configured and no local node running: run `opsradar es start` or set OPSRADAR_ES__URL")
    return state.url


def connect(cfg: ElasticsearchConfig) -> Elasticsearch:
    kwargs: dict = {
        "request_timeout": cfg.request_timeout_s,
        "max_retries": cfg.max_retries,
        "retry_on_timeout": True,
        "retry_on_status": (429, 502, 503, 504),
    }
    if cfg.api_key is not None:
        kwargs["api_key"] = cfg.api_key.get_secret_value()
    elif cfg.username and cfg.password is not None:
        kwargs["basic_auth"] = (cfg.username, cfg.password.get_secret_value())
    if cfg.ca_certs:
        kwargs["ca_certs"] = cfg.ca_certs
    kwargs["verify_certs"] = cfg.verify_certs
    return Elasticsearch(resolve_url(cfg), **kwargs)


def wait_ready(es: Elasticsearch, timeout: str = "30s") -> str:
    """This server build has no `GET /` (ping() is always False): use cluster health."""
    health = es.cluster.health(wait_for_status="yellow", timeout=timeout)
    return health["status"]
