"""The one config object: defaults < TOML file < environment variables.

Environment variables are `OPSRADAR_<SECTION>__<KEY>` (double underscore between
levels), e.g. `OPSRADAR_ES__URL=http://es:9200`, `OPSRADAR_STORAGE__ROOT=s3://lake`.
The TOML file is `--config`, else `$OPSRADAR_CONFIG`, else `./opsradar.toml` if present.
Like Merlion's configs, every section converts to and from a plain dict.
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

ENV_PREFIX = "OPSRADAR_"
DEFAULT_CONFIG_FILE = "opsradar.toml"


class ConfigError(ValueError):
    """Raised with a message that names the offending setting and where it came from."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class StorageConfig(_Section):
    root: str = Field("var/lake", description="Local path or fsspec URI of the data lake")
    parquet_compression: Literal["zstd", "snappy", "gzip", "none"] = "zstd"
    row_group_rows: int = Field(128 * 1024, gt=0)


class LocalNodeConfig(_Section):
    """The single-node server that `opsradar es start` manages for tests and the demo."""

    version: str = "8.19.21"
    cache_dir: str | None = Field(None, description="Download + node home; default ~/.cache/opsradar/elasticsearch (/var/cache/opsradar/elasticsearch as root)")
    port: int = Field(0, ge=0, le=65535, description="0 picks a free port")
    heap: str = "512m"
    java_home: str | None = None
    run_user: str = Field("opsradar-es", description="Unprivileged user the node runs as under root")


class ElasticsearchConfig(_Section):
    url: str | None = Field(None, description="Cluster URL; unset means the local node's URL")
    username: str | None = None
    password: SecretStr | None = None
    api_key: SecretStr | None = None
    ca_certs: str | None = None
    verify_certs: bool = True
    index_prefix: str = Field("opsradar", pattern=r"^[a-z0-9][a-z0-9_\-]*$")
    bulk_chunk_size: int = Field(1000, gt=0)
    request_timeout_s: float = Field(30.0, gt=0)
    max_retries: int = Field(5, ge=0)
    local: LocalNodeConfig = LocalNodeConfig()


class SparkConfig(_Section):
    master: str = "local[2]"
    app_name: str = "opsradar"
    shuffle_partitions: int = Field(4, gt=0)
    driver_memory: str = "2g"
    conf: dict[str, str] = Field(default_factory=dict, description="Extra spark.* settings")


class LogSourceConfig(_Section):
    name: str = Field(pattern=r"^[A-Za-z0-9_\-]+$")
    path: str = Field(description="File path, glob or fsspec URL")
    format: str = Field(description="Format name from the registry (e.g. loghub:HDFS)")
    timezone: str = "UTC"
    host: str | None = None
    service: str | None = None


class AirflowConfig(_Section):
    default_queue: str = "default"
    gpu_queue: str = "gpu"
    gpu_pool: str = "gpu"
    ingest_pool: str = "ingest"
    retries: int = Field(3, ge=0)
    retry_delay_s: int = Field(60, gt=0)


class OpsRadarConfig(_Section):
    storage: StorageConfig = StorageConfig()
    es: ElasticsearchConfig = ElasticsearchConfig()
    spark: SparkConfig = SparkConfig()
    airflow: AirflowConfig = AirflowConfig()
    log_sources: list[LogSourceConfig] = Field(default_factory=list)

    @field_validator("log_sources")
    @classmethod
    def _unique_source_names(cls, sources: list[LogSourceConfig]) -> list[LogSourceConfig]:
        names = [s.name for s in sources]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate log source names: {', '.join(dupes)}")
        return sources

    def to_dict(self) -> dict[str, Any]:
        """Plain dict with secrets masked (safe to log)."""
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: dict[str, Any], origin: str = "dict") -> "OpsRadarConfig":
        try:
            return cls.model_validate(data)
        except ValidationError as err:
            raise ConfigError(_describe(err, origin)) from None


def _describe(err: ValidationError, origin: str) -> str:
    lines = [f"invalid OpsRadar configuration ({origin}):"]
    for e in err.errors():
        dotted = ".".join(str(p) for p in e["loc"])
        env = ENV_PREFIX + "__".join(str(p).upper() for p in e["loc"] if not isinstance(p, int))
        lines.append(f"  - {dotted}: {e['msg']} (got {e.get('input')!r}; env var {env})")
    return "\n".join(lines)


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    """`OPSRADAR_ES__LOCAL__PORT=9201` -> {"es": {"local": {"port": "9201"}}}.

    Values that parse as JSON (lists, dicts) are decoded, so list settings such as
    `OPSRADAR_LOG_SOURCES='[{"name": ...}]'` work; scalars stay strings for pydantic.
    """
    out: dict[str, Any] = {}
    for key, raw in environ.items():
        if not key.startswith(ENV_PREFIX):
            continue
        path = [p.lower() for p in key[len(ENV_PREFIX):].split("__")]
        if path[0] not in OpsRadarConfig.model_fields:
            continue  # e.g. OPSRADAR_CONFIG, or another tool's variable
        value: Any = raw
        if raw[:1] in "[{":
            try:
                value = json.loads(raw)
            except json.JSONDecodeError as err:
                raise ConfigError(f"{key} is not valid JSON: {err}") from None
        node = out
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return out


def load_config(path: str | os.PathLike[str] | None = None, environ: dict[str, str] | None = None) -> OpsRadarConfig:
    """Build the config from defaults, then the TOML file, then the environment."""
    environ = dict(os.environ if environ is None else environ)
    data: dict[str, Any] = {}
    origin = "defaults"
    file = Path(path) if path else Path(environ["OPSRADAR_CONFIG"]) if environ.get("OPSRADAR_CONFIG") else None
    if file is None and Path(DEFAULT_CONFIG_FILE).is_file():
        file = Path(DEFAULT_CONFIG_FILE)
    if file is not None:
        if not file.is_file():
            raise ConfigError(f"config file not found: {file}")
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"{file}: invalid TOML: {err}") from None
        origin = str(file)
    env = _env_overrides(environ)
    if env:
        data = _deep_merge(data, env)
        origin += " + environment"
    return OpsRadarConfig.from_dict(data, origin)
