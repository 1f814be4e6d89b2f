"""Where Elasticsearch credentials come from: config/environment, or an Airflow connection.

Environment: OPSRADAR_ES__URL, OPSRADAR_ES__USERNAME / OPSRADAR_ES__PASSWORD or
OPSRADAR_ES__API_KEY, OPSRADAR_ES__CA_CERTS. Airflow: set es_sink.airflow_conn_id; the
connection's host (URL or host name), port, login, password and extra {"api_key",
"ca_certs", "scheme"} fill in what is set there. Secrets stay SecretStr, so the config
prints masked; `redact()` scrubs them from any text that is about to be logged.
"""

from __future__ import annotations

from opsradar.config import ElasticsearchConfig, OpsRadarConfig


def from_airflow_connection(conn_id: str, base: ElasticsearchConfig) -> ElasticsearchConfig:
    from airflow.sdk import Connection

    conn = Connection.get(conn_id)
    extra = conn.extra_dejson or {}
    update: dict = {}
    if conn.host:
        if "://" in conn.host:
            url = conn.host.rstrip("/")
        else:
            url = f"{extra.get('scheme') or conn.schema or 'https'}://{conn.host}"
        if conn.port and url.count(":") < 2:
            url += f":{conn.port}"
        update["url"] = url
    if conn.login:
        update["username"] = conn.login
    if conn.password:
        update["password"] = conn.password
    if extra.get("api_key"):
        update["api_key"] = extra["api_key"]
    if extra.get("ca_certs"):
        update["ca_certs"] = extra["ca_certs"]
    return ElasticsearchConfig.model_validate({**base.model_dump(), **update})  # SecretStr stays SecretStr


def es_config(cfg: OpsRadarConfig) -> ElasticsearchConfig:
    """The effective client settings for this run."""
    if cfg.es_sink.airflow_conn_id:
        return from_airflow_connection(cfg.es_sink.airflow_conn_id, cfg.es)
    return cfg.es


def secrets_of(es: ElasticsearchConfig) -> list[str]:
    return [s.get_secret_value() for s in (es.password, es.api_key) if s is not None and s.get_secret_value()]


def redact(text: str, es: ElasticsearchConfig) -> str:
    for secret in secrets_of(es):
        text = text.replace(secret, "**********")
    return text
