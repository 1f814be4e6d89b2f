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
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator

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


class _IngestLimits(_Section):
    """Shared by log and metric sources (see docs/ingest.md)."""

    timezone: str = Field("UTC", description="Time zone of naive timestamps")
    time_tolerance_hours: float = Field(
        24 * 7, gt=0, description="A timestamp further than this from its file's timeline is quarantined")
    late_lookback_hours: int = Field(
        24, ge=0, description="Earlier hours a run re-checks for late lines (added, never removed)")
    max_bad_ratio: float = Field(0.5, ge=0, le=1, description="Fail the task when a file's bad-record ratio is above")
    bad_ratio_min_records: int = Field(20, ge=1, description="Only judge the ratio on files with this many records")


class LogSourceConfig(_IngestLimits):
    name: str = Field(pattern=r"^[A-Za-z0-9_\-]+$")
    path: str = Field(description="File path, glob or fsspec URL (plain or .gz)")
    format: str = Field(description="loghub:<System> | syslog | rfc3164 | rfc5424 | jsonl | docker | cri | pattern")
    host: str | None = None
    service: str | None = None
    pattern: str | None = Field(None, description="format=pattern: a Loghub-style format string with <Content>")
    time_fields: list[str] = Field(default_factory=list, description="format=pattern: fields joined into the timestamp")
    time_format: str | None = Field(None, description="strptime format or 'epoch'; JSON: unset means ISO 8601/epoch")
    field_map: dict[str, str] = Field(
        default_factory=dict, description="format=jsonl: column -> JSON key (dotted), e.g. timestamp = 'ts'")
    max_line_bytes: int = Field(1 << 20, gt=0, description="Longer lines are quarantined as line_too_long")


class MetricSourceConfig(_IngestLimits):
    name: str = Field(pattern=r"^[A-Za-z0-9_\-]+$")
    path: str = Field(description="File path, glob or fsspec URL (plain or .gz)")
    format: Literal["csv_long", "csv_wide", "prometheus"]
    delimiter: str = ","
    time_column: str = "timestamp"
    time_format: str | None = Field(None, description="strptime format or 'epoch'; unset: ISO 8601 or epoch numbers")
    metric_column: str = Field("metric", description="csv_long: column with the metric name")
    value_column: str = Field("value", description="csv_long: column with the value")
    unit_column: str | None = None
    label_columns: list[str] | None = Field(None, description="csv_long: entity label columns (unset: all others)")
    metric: str | None = Field(None, description="csv_wide: metric name (unset: the value column's name)")
    unit: str | None = None
    labels: dict[str, str] = Field(default_factory=dict, description="Static labels added to every point")


class AirflowConfig(_Section):
    default_queue: str = "default"
    gpu_queue: str = "gpu"
    gpu_pool: str = "gpu"
    ingest_pool: str = "ingest"
    retries: int = Field(3, ge=0)
    retry_delay_s: int = Field(60, gt=0)


_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _duration(value: Any) -> Any:
    """'90s', '5m', '1h', '7d' (or seconds as a number) -> timedelta; ISO 8601 passes through."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if isinstance(value, str) and value[-1:] in _DURATION_UNITS and value[:-1].isdigit():
        return timedelta(seconds=int(value[:-1]) * _DURATION_UNITS[value[-1]])
    return value


Duration = Annotated[timedelta, BeforeValidator(_duration)]


class LogGroupingConfig(_Section):
    """One way of grouping a source's events into windows (see docs/features.md)."""

    mode: Literal["session", "time", "count"]
    name: str | None = Field(None, pattern=r"^[a-z0-9_]+$", description="Value of LOG_WINDOW.grouping; default: mode")
    key_regex: str | None = Field(None, description="session: Java regex; every distinct match in a line is a session key")
    window: Duration = Field(timedelta(minutes=5), description="time: window length")
    step: Duration | None = Field(None, description="time: window step (sliding); default: window (fixed)")
    lines: int = Field(100, gt=0, description="count: lines per window")
    entity_fields: list[Literal["host", "service", "component"]] = Field(
        default_factory=lambda: ["host", "service"], description="time/count: columns naming the entity; [] = whole source")
    anchor: Duration = Field(timedelta(days=1), description="session/count: epoch-aligned period that bounds a group")

    @property
    def label(self) -> str:
        return self.name or self.mode

    @model_validator(mode="after")
    def _check(self) -> "LogGroupingConfig":
        if self.mode == "session" and not self.key_regex:
            raise ValueError("mode 'session' needs key_regex")
        if self.mode == "time":
            step = self.step or self.window
            if self.window.total_seconds() % step.total_seconds():
                raise ValueError(f"window {self.window} must be a multiple of step {step}")
        return self


class LogFeaturesConfig(_Section):
    source: str = Field(pattern=r"^[A-Za-z0-9_\-]+$")
    groupings: list[LogGroupingConfig] = Field(min_length=1)
    label_file: str | None = Field(None, description="CSV of session labels (Loghub anomaly_label.csv format)")
    label_key_column: str = "BlockId"
    label_column: str = "Label"
    anomaly_values: list[str] = Field(default_factory=lambda: ["Anomaly"])
    line_label_key: str | None = Field("label", description="LOG_EVENT.labels key of per-line labels (BGL)")
    normal_line_labels: list[str] = Field(default_factory=lambda: ["-"])
    latency_regex: str | None = Field(None, description="Java regex whose group 1 is a latency in ms")
    metrics_window: Duration = Field(timedelta(minutes=1), description="window of log-derived service metrics")

    @model_validator(mode="after")
    def _unique_groupings(self) -> "LogFeaturesConfig":
        labels = [g.label for g in self.groupings]
        if len(set(labels)) != len(labels):
            raise ValueError(f"source {self.source}: grouping names must be unique, got {labels}")
        return self


class MetricFeaturesConfig(_Section):
    source: str = Field(pattern=r"^[A-Za-z0-9_\-]+$")
    layer: Literal["raw", "clean", "features"] = "raw"
    dataset: Literal["metrics", "log_metrics"] = Field("metrics", description="log_metrics: the log-derived series")
    step: Duration = timedelta(minutes=5)
    horizons: list[Duration] = Field(default_factory=lambda: [timedelta(hours=1), timedelta(days=1)], min_length=1)
    zero_when_missing: list[str] = Field(
        default_factory=lambda: ["log.events_per_s"], description="metrics whose empty step is 0, not a gap (event rates)")


class EntityJoinConfig(_Section):
    name: str = Field(pattern=r"^[a-z0-9_]+$")
    log_source: str
    grouping: str = Field("time", description="a time grouping of log_source")
    metric_sources: list[str] = Field(default_factory=list, description="MetricFeaturesConfig.source names")


class FeaturesConfig(_Section):
    sequence_cap: int = Field(256, gt=0, description="template_ids kept per window (LOG_WINDOW.sequence_cap)")
    example_lines: int = Field(3, ge=0)
    example_chars: int = Field(512, gt=0)
    novelty_lookback: Duration = Field(timedelta(days=1), description="a template unseen this long before is new")
    logs: list[LogFeaturesConfig] = Field(default_factory=list)
    metrics: list[MetricFeaturesConfig] = Field(default_factory=list)
    joins: list[EntityJoinConfig] = Field(default_factory=list)


class EsSinkConfig(_Section):
    """Result indices (`opsradar es setup`) and the `sink_results` stage."""

    rollover_max_primary_shard_size: str = Field("25gb", pattern=r"^\d+(b|kb|mb|gb|tb)$")
    rollover_max_age: str = Field("7d", pattern=r"^\d+(ms|s|m|h|d)$")
    warm_after: str = Field("7d", pattern=r"^\d+(ms|s|m|h|d)$")
    retention_days: int = Field(90, gt=0, description="ILM deletes result indices this long after rollover")
    max_attempts: int = Field(8, gt=0, description="Bulk attempts per chunk before dead-lettering")
    initial_backoff_s: float = Field(1.0, gt=0)
    max_backoff_s: float = Field(30.0, gt=0)
    airflow_conn_id: str | None = Field(None, description="Airflow connection with ES host/login/password (extra: api_key, ca_certs)")


class KibanaConfig(_Section):
    url: str | None = Field(None, description="Kibana base URL, e.g. https://kibana:5601")
    username: str | None = None
    password: SecretStr | None = None
    api_key: SecretStr | None = None
    ca_certs: str | None = None
    verify_certs: bool = True
    space: str | None = Field(None, description="Kibana space id (default space when unset)")
    anomaly_threshold: float = Field(80.0, ge=0, le=100, description="Alert when opsradar.score_normalized >= this")
    services: list[str] = Field(default_factory=list, description="One anomaly rule per service; empty: one rule for all")
    quarantine_spike_threshold: int = Field(1000, ge=0, description="Alert when quarantined records per hour exceed this")


class SuitePolicy(_Section):
    """Per-suite overrides of a GX suite file in schemas/gx (see docs/quality.md)."""

    severity: Literal["error", "warning"] | None = Field(None, description="error stops downstream; warning only logs")
    enabled: bool = True
    datasets: str | None = Field(None, description="Dataset glob under the suite's layer, e.g. 'logs/source=*'")


class MetricRange(_Section):
    min: float | None = None
    max: float | None = None


class QualityConfig(_Section):
    """Great Expectations quality gates (opsradar.quality, docs/quality.md)."""

    suites_dir: str | None = Field(None, description="Folder of GX suite JSON files; unset: the packaged schemas/gx")
    template_coverage_min: float = Field(0.95, ge=0, le=1, description="Least share of clean rows with a template_id")
    row_count_min_ratio: float = Field(0.1, ge=0, description="Least rows / previous interval's rows")
    row_count_max_ratio: float = Field(10.0, gt=0, description="Most rows / previous interval's rows")
    row_count_min_previous: int = Field(100, ge=0, description="Skip the row-count change check below this many previous rows")
    metric_ranges: dict[str, MetricRange] = Field(default_factory=dict, description="Declared value range per metric name")
    sample_rows: int = Field(5, ge=1, le=100, description="Failing rows/values quoted per expectation")
    data_docs: bool = Field(False, description="Also build GX data docs (HTML) under validations/_data_docs")
    suites: dict[str, SuitePolicy] = Field(default_factory=dict, description="Overrides by suite name")


class ParsingProfile(_Section):
    """Per-source overrides of the parsing settings (unset keys keep the section's value)."""

    masks: list[str] | None = None
    extra_masks: list[tuple[str, str]] | None = None
    delete_patterns: list[str] | None = None
    split_after: list[str] | None = None
    variable_threshold: int | None = Field(None, ge=1)


class ParsingConfig(_Section):
    """Masking + template mining in the clean job (opsradar.parsing, docs/parsing.md)."""

    masks: list[str] = Field(
        default_factory=lambda: ["url", "email", "uuid", "hdfs_block", "ip_port", "ip", "path", "hex", "num"],
        description="Builtin masks, in order (opsradar.parsing.masking.BUILTIN_MASKS)",
    )
    extra_masks: list[tuple[str, str]] = Field(default_factory=list, description="[regex, placeholder] pairs, applied first")
    delete_patterns: list[str] = Field(default_factory=list, description="Regexes removed before tokenising")
    split_after: list[str] = Field(default_factory=lambda: [",", ":", "="], description="A token also ends after these")
    variable_threshold: int = Field(4, ge=1, description="Distinct words at a child position that make it a variable")
    digit_ratio: float = Field(0.3, gt=0, le=1, description="Tokens with at least this share of digits are variables")
    max_message_chars: int = Field(4096, gt=0, description="Longer messages are truncated for mining (kept whole in clean)")
    pii: bool = Field(False, description="Hash e-mails, IPs and user names in messages (salted SHA-256) in the clean job")
    pii_salt: SecretStr = Field(SecretStr(""), description="Salt for PII hashing")
    profiles: dict[str, ParsingProfile] = Field(default_factory=dict, description="Overrides by log source name")
    broadcast_max_templates: int = Field(500_000, ge=0, description="Broadcast the message->template map up to this many distinct messages")


class LogModelConfig(_Section):
    """The log anomaly model (docs/log_model.md): training, registry and scoring."""

    mode: Literal["supervised", "unsupervised"] = Field("unsupervised", description="unsupervised needs no labels")
    model_name: str = Field("log-anomaly", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    registry: str | None = Field(None, description="Model registry folder; unset: {storage.root}/models")
    version: str = Field("production", description="Version scored: production | latest | v0003")
    windows_dataset: str = Field("log_windows", description="features/<dataset>[/source=*] with LOG_WINDOW rows")
    templates_dataset: str = Field("store", description="templates/<dataset> (template store) read recursively")
    scores_dataset: str = Field("logs", description="scores/<dataset> written with ANOMALY_SCORE rows")
    groupings: list[str] = Field(default_factory=list, description="LOG_WINDOW.grouping values to use; [] = all")
    train_days: int = Field(7, gt=0, description="`train logs` default history: this many days before --end")
    device: str = Field("auto", description="auto | cpu | cuda | cuda:N")
    cpu_precision: Literal["fp32", "int8"] = Field("fp32", description="CPU fallback: fp32, or dynamic int8 Linear layers")
    batch_size: int = Field(64, gt=0)
    read_batch_rows: int = Field(4096, gt=0, description="Parquet rows per streamed read batch")
    epochs: int = Field(20, gt=0)
    encoder_layers: int | None = Field(None, ge=1, le=6, description="Keep only the first N MiniLM layers")
    train_encoder_layers: int = Field(1, ge=0, le=6, description="MiniLM top layers fine-tuned")
    seed: int = 42
    promote: bool = Field(True, description="`train logs` promotes the new version to production")


class CapacityResourceConfig(_Section):
    """How one resource of an entity is read from METRIC_POINT rows for capacity planning."""

    usage_metric: str = Field(description="METRIC_POINT.metric with the usage (e.g. cpu.usage in cores)")
    capacity_metric: str | None = Field(None, description="Metric with today's allocation (request/provisioned); unset: none")
    capacity: float | None = Field(None, gt=0, description="Fixed capacity when there is no capacity_metric (e.g. 100 for percent)")
    unit: str = "1"
    cost_per_unit_hour: float = Field(0.0, ge=0, description="Price of one unit for one hour (over/under-provisioning cost)")
    saturation_threshold: float = Field(0.8, gt=0, le=1, description="Share of capacity that counts as saturated")


class ForecasterSettings(_Section):
    """A second metric model for forecasts and capacity plans. The detector's normal head was
    chosen for NAB; as a forecaster it is about seasonal-naive (1 h MASE 1.08 on Bitbrains), the
    quantile head with robust scaling at the same settings 0.47 (docs/metrics.md)."""

    enabled: bool = Field(True, description="Train it with the detector; off: forecasts and plans use the detector")
    model_name: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$", description="Registry name; unset: {metrics.model_name}-forecast")
    distribution: Literal["quantile", "normal", "student_t"] = "quantile"
    scaling: Literal["robust", "std"] = "robust"


class MetricModelSettings(_Section):
    """The metric anomaly/forecast model and capacity planning (docs/metrics.md)."""

    model_name: str = Field("metrics-patchtst", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    registry: str | None = Field(None, description="Model registry folder; unset: {storage.root}/models")
    version: str = Field("production", description="Version used: production | latest | v0003")
    input_layer: Literal["raw", "clean", "features"] = "raw"
    input_dataset: str = Field("metrics", description="<layer>/<dataset>/source=*/ with METRIC_POINT rows")
    step_seconds: int = Field(300, gt=0, description="Series are put on this regular grid (mean per step)")
    context_length: int = Field(256, ge=32)
    prediction_length: int = Field(24, ge=1)
    patch_length: int = Field(16, ge=2)
    patch_stride: int = Field(8, ge=1)
    d_model: int = Field(32, ge=8)
    num_layers: int = Field(2, ge=1)
    # The pipeline model scores anomalies first: the normal head detects best on the NAB dev files
    # (mean over 3 seeds 52.4 vs 39.6 for quantile/robust); the quantile/robust head forecasts
    # best in `eval forecast` (MASE 1.08). docs/metrics.md has both measurements.
    distribution: Literal["quantile", "normal", "student_t"] = Field(
        "normal", description="Forecast head: normal | student_t (NLL) | quantile (pinball loss)")
    scaling: Literal["robust", "std"] = Field("std", description="Context normalization (robust: quantile head only)")
    pretrain_epochs: int = Field(2, ge=0)
    finetune_epochs: int = Field(4, ge=1)
    windows_per_epoch: int = Field(2048, gt=0)
    # Single models' NAB dev scores spread 65-78 over 9 seeds (std 4.5); medians of 3 members
    # 71-74 (std 2.1), mean 73.1 vs 71.8 (docs/metrics.md). Costs 3x training and scoring time.
    ensemble_size: int = Field(3, ge=1, le=16, description="Models trained from different seeds; forecasts are their median")
    # Raw p90/p95 coverage of the pipeline model on Bitbrains (1 h) drifted with the seed and the
    # training data (p90 0.86-0.95); calibrated on held-out ends it stays at 0.89/0.96 (docs/metrics.md).
    calibration_fraction: float = Field(0.2, ge=0, lt=0.9, description="Share of each series' end held out to calibrate forecast quantiles (split conformal; 0: off)")
    forecaster: ForecasterSettings = ForecasterSettings()
    train_mask_anomalies: bool = Field(True, description="train_metrics: leave out the steps the detector flagged (stored scores)")
    device: str = Field("auto", description="auto | cpu | cuda | cuda:N")
    score_step: int = Field(8, ge=1, description="Points scored per forecast (<= prediction_length)")
    scale_window: int = Field(1024, ge=16, description="Past residuals in the robust scale")
    anomaly_threshold: float = Field(60.0, ge=0, le=100, description="score_normalized at or above: is_anomaly")
    # "nab" applies what `eval nab` measures: full NAB corpus, standard 72.9 vs 33.0 for the
    # forecast error's tail score; on the demo the same incidents at the same onsets, with 0 vs 170
    # metric windows >= 80 outside them (docs/metrics.md, "score_mode nab in the pipeline").
    score_mode: Literal["forecast_error", "nab"] = Field(
        "nab", description="score_metrics: forecast_error (tail of |z|) | nab (likelihood, season, range novelty; the nab_* settings)")
    nab_short_window: int = Field(10, ge=1, description="eval nab: anomaly-likelihood averaging window (Numenta's 10)")
    # Two classical streaming parts, as Numenta's NAB detector adds to HTM. Full NAB corpus,
    # standard, 3-seed means: both 72.9, without range novelty 64.4, without the seasonal part
    # 67.8, neither 56.5 (scripts/experiments/nab_ablation.py; docs/metrics.md).
    nab_range_tolerance: float | None = Field(0.05, ge=0, description="eval nab: score 1 where a value leaves the range seen so far by this share of it (Numenta's spatial anomaly; null: off)")
    # score_mode "nab" in the pipeline: on the demo, range novelty against the lookback's one day of
    # history raised 10 false alerts (precision 0.29); a metric's range needs weeks, and a weekly
    # season two weeks, more than the ~4.4-day scoring lookback holds (docs/metrics.md).
    nab_history: Duration = Field(timedelta(days=28), description="score_mode nab: this much history before the interval is remembered, beyond the scoring lookback: its range counts as seen, and the daily/weekly season is sought in it (a week needs 14 days)")
    nab_range_min_history: Duration = Field(timedelta(days=7), description="score_mode nab: no range novelty until a metric has this much history")
    nab_seasonal_min_correlation: float | None = Field(0.7, ge=-1, le=1, description="add a seasonal-naive error where the history before scoring (eval nab: the probationary prefix) has a daily or weekly lag correlation of at least this (null: off)")
    nab_refractory_points: int = Field(50, ge=0, description="eval nab: no second alarm within this many points of the last (0: off)")
    # Retraining on more history without a mask lost 14 points (60.8 vs 74.4, seed 0); with flagged
    # points masked it gained (mean 76.8 vs 73.1 over seeds 0-2). docs/metrics.md.
    nab_retrain_at: list[float] = Field(default_factory=lambda: [0.4, 0.65],
                                        description="eval nab: retrain at these fractions of every file, flagged points masked ([]: never)")
    seed: int = 0
    plan_horizon_days: list[int] = Field(default_factory=lambda: [7, 30])
    target_utilization: float = Field(0.6, gt=0, le=1, description="Replicas/requests sized so p95 peak sits here")
    limit_headroom: float = Field(0.2, ge=0, description="limit = p95 peak * (1 + headroom)")
    resources: dict[str, CapacityResourceConfig] = Field(default_factory=lambda: {
        "cpu": CapacityResourceConfig(usage_metric="cpu.usage", capacity_metric="cpu.capacity", unit="cores", cost_per_unit_hour=0.03),
        "memory": CapacityResourceConfig(usage_metric="memory.usage", capacity_metric="memory.capacity", unit="GiB", cost_per_unit_hour=0.004),
    })

    @field_validator("nab_retrain_at")
    @classmethod
    def _increasing_fractions(cls, v: list[float]) -> list[float]:
        if any(not 0.15 < f < 1 for f in v) or any(b <= a for a, b in zip(v, v[1:])):
            raise ValueError(f"must be increasing fractions between 0.15 (the probationary period) and 1, got {v}")
        return v

    @property
    def forecaster_name(self) -> str:
        return self.forecaster.model_name or f"{self.model_name}-forecast"


class OpsRadarConfig(_Section):
    storage: StorageConfig = StorageConfig()
    parsing: ParsingConfig = ParsingConfig()
    es: ElasticsearchConfig = ElasticsearchConfig()
    spark: SparkConfig = SparkConfig()
    airflow: AirflowConfig = AirflowConfig()
    es_sink: EsSinkConfig = EsSinkConfig()
    kibana: KibanaConfig = KibanaConfig()
    log_sources: list[LogSourceConfig] = Field(default_factory=list)
    metric_sources: list[MetricSourceConfig] = Field(default_factory=list)
    features: FeaturesConfig = FeaturesConfig()
    log_model: LogModelConfig = LogModelConfig()
    metrics: MetricModelSettings = MetricModelSettings()
    quality: QualityConfig = QualityConfig()

    @field_validator("log_sources", "metric_sources")
    @classmethod
    def _unique_source_names(cls, sources: list, info: ValidationInfo) -> list:
        names = [s.name for s in sources]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            kind = info.field_name.split("_")[0]
            raise ValueError(f"duplicate {kind} source names: {', '.join(dupes)}")
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
