"""Arrow schemas of the lake's tables (pyarrow only, so every stage can use them)."""

import pyarrow as pa

UTC_TS = pa.timestamp("us", tz="UTC")

LOG_EVENT = pa.schema(
    [
        pa.field("event_id", pa.string(), nullable=False),
        pa.field("timestamp", UTC_TS, nullable=False),  # ECS @timestamp
        pa.field("ingest_time", UTC_TS, nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("host", pa.string()),
        pa.field("service", pa.string()),
        pa.field("level", pa.string()),
        pa.field("component", pa.string()),
        pa.field("pid", pa.string()),
        pa.field("message", pa.string(), nullable=False),
        pa.field("file", pa.string(), nullable=False),  # raw line reference: file ...
        pa.field("line_no", pa.int64(), nullable=False),  # ... 1-based line ...
        pa.field("byte_offset", pa.int64(), nullable=False),  # ... and its byte offset
        pa.field("labels", pa.map_(pa.string(), pa.string())),
    ]
)

QUARANTINE = pa.schema(
    [
        pa.field("source", pa.string(), nullable=False),
        pa.field("file", pa.string(), nullable=False),
        pa.field("line_no", pa.int64()),
        pa.field("byte_offset", pa.int64()),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("detail", pa.string()),
        pa.field("raw", pa.binary()),  # capped
        pa.field("ingest_time", UTC_TS, nullable=False),
        pa.field("interval_start", UTC_TS, nullable=False),
    ]
)

# Template store (written by the clean job's miner; one row per template ever seen).
TEMPLATE = pa.schema(
    [
        pa.field("template_id", pa.string(), nullable=False),  # opsradar.ids.template_id(template)
        pa.field("template", pa.string(), nullable=False),  # masked text, <*>/typed placeholders
        pa.field("source", pa.string(), nullable=False),
        pa.field("first_seen", UTC_TS, nullable=False),
        pa.field("count", pa.int64(), nullable=False),
    ]
)

# One metric sample; `entity` is the canonical label string (sorted k=v pairs, or a name).
METRIC_POINT = pa.schema(
    [
        pa.field("timestamp", UTC_TS, nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("entity", pa.string(), nullable=False),
        pa.field("metric", pa.string(), nullable=False),
        pa.field("value", pa.float64()),
        pa.field("unit", pa.string()),
        pa.field("labels", pa.map_(pa.string(), pa.string())),
    ]
)

# A group of log events (session, time window or line-count window): what log models read.
LOG_WINDOW = pa.schema(
    [
        pa.field("window_id", pa.string(), nullable=False),  # opsradar.ids.window_id(...)
        pa.field("source", pa.string(), nullable=False),
        pa.field("grouping", pa.string(), nullable=False),  # session | time | count
        pa.field("entity", pa.string(), nullable=False),  # session key, host/service, or source
        pa.field("window_start", UTC_TS, nullable=False),
        pa.field("window_end", UTC_TS, nullable=False),
        pa.field("n_events", pa.int64(), nullable=False),
        pa.field("template_ids", pa.list_(pa.string()), nullable=False),  # ordered, capped
        pa.field("sequence_cap", pa.int32(), nullable=False),
        pa.field("sequence_truncated", pa.bool_(), nullable=False),
        pa.field("template_counts", pa.map_(pa.string(), pa.int32())),
        pa.field("level_counts", pa.map_(pa.string(), pa.int32())),
        pa.field("error_ratio", pa.float64()),
        pa.field("new_templates", pa.int32()),
        pa.field("distinct_hosts", pa.int32()),
        pa.field("distinct_components", pa.int32()),
        pa.field("example_lines", pa.list_(pa.string())),
        pa.field("label", pa.int8()),  # 1 anomalous, 0 normal, null unknown
    ]
)

# --- Results consumed by the Elasticsearch sink (docs/elasticsearch.md) ---------------
# One anomaly score per log window or metric series window; written by the scorers to
# scores/logs and scores/metrics (partitioned on window_start). ES _id =
# ids.document_id("anomaly.<family>", window_id, model_name): re-scoring overwrites.
TEMPLATE_SHARE = pa.struct([pa.field("template_id", pa.string()), pa.field("template", pa.string()), pa.field("share", pa.float64())])
METRIC_DRIVER = pa.struct([pa.field("metric", pa.string()), pa.field("contribution", pa.float64())])
ANOMALY_SCORE = pa.schema(
    [
        pa.field("family", pa.string(), nullable=False),  # log | metric
        pa.field("window_id", pa.string(), nullable=False),  # ids.window_id(...); metrics: grouping "metric", entity = series
        pa.field("source", pa.string(), nullable=False),
        pa.field("entity", pa.string(), nullable=False),  # session key / host / series label string
        pa.field("host", pa.string()),
        pa.field("service", pa.string()),
        pa.field("window_start", UTC_TS, nullable=False),
        pa.field("window_end", UTC_TS, nullable=False),
        pa.field("score", pa.float64(), nullable=False),  # raw model score (higher = more anomalous)
        pa.field("score_normalized", pa.float64(), nullable=False),  # calibrated 0-100
        pa.field("is_anomaly", pa.bool_(), nullable=False),
        pa.field("threshold", pa.float64()),  # on the 0-100 scale, recorded with the model
        pa.field("model_name", pa.string(), nullable=False),  # model family, part of the ES _id
        pa.field("model_version", pa.string(), nullable=False),
        pa.field("top_templates", pa.list_(TEMPLATE_SHARE)),  # logs: contributing templates, share desc
        pa.field("example_lines", pa.list_(pa.string())),  # logs: a few raw lines
        pa.field("drivers", pa.list_(METRIC_DRIVER)),  # metrics: contribution desc
        pa.field("labels", pa.map_(pa.string(), pa.string())),
    ]
)

# One forecast per series and target time; forecasts/demand, partitioned on issued_at.
FORECAST_POINT = pa.schema(
    [
        pa.field("source", pa.string(), nullable=False),
        pa.field("entity", pa.string(), nullable=False),
        pa.field("metric", pa.string(), nullable=False),
        pa.field("unit", pa.string()),
        pa.field("host", pa.string()),
        pa.field("service", pa.string()),
        pa.field("issued_at", UTC_TS, nullable=False),  # forecast origin (last observed point)
        pa.field("target_time", UTC_TS, nullable=False),
        pa.field("horizon_steps", pa.int32(), nullable=False),
        pa.field("p10", pa.float64()),
        pa.field("p50", pa.float64(), nullable=False),
        pa.field("p90", pa.float64(), nullable=False),
        pa.field("p95", pa.float64(), nullable=False),
        pa.field("model_name", pa.string(), nullable=False),
        pa.field("model_version", pa.string(), nullable=False),
    ]
)

# One capacity plan line per entity, resource and plan day; reports/capacity_plans, on plan_date.
CAPACITY_PLAN = pa.schema(
    [
        pa.field("plan_date", UTC_TS, nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("entity", pa.string(), nullable=False),
        pa.field("host", pa.string()),
        pa.field("service", pa.string()),
        pa.field("resource", pa.string(), nullable=False),  # cpu | memory | ...
        pa.field("unit", pa.string()),
        pa.field("status", pa.string(), nullable=False),  # ok | warning | critical
        pa.field("current_p95", pa.float64()),
        pa.field("forecast_peak_p95_7d", pa.float64()),
        pa.field("forecast_peak_p95_30d", pa.float64()),
        pa.field("saturation_threshold", pa.float64()),
        pa.field("days_to_saturation", pa.float64()),  # null: not within the horizon
        pa.field("recommended_request", pa.float64()),
        pa.field("recommended_limit", pa.float64()),
        pa.field("recommended_replicas", pa.int32()),
        pa.field("over_provisioning_cost", pa.float64()),
        pa.field("under_provisioning_cost", pa.float64()),
        pa.field("model_name", pa.string(), nullable=False),
        pa.field("model_version", pa.string(), nullable=False),
    ]
)

# One record per stage and data interval (latest attempt wins); runs/stages, on interval_start.
PIPELINE_RUN = pa.schema(
    [
        pa.field("dag_id", pa.string(), nullable=False),  # "cli" outside Airflow
        pa.field("stage", pa.string(), nullable=False),
        pa.field("run_id", pa.string()),
        pa.field("interval_start", UTC_TS, nullable=False),
        pa.field("interval_end", UTC_TS, nullable=False),
        pa.field("status", pa.string(), nullable=False),  # success | partial | failed
        pa.field("started_at", UTC_TS),
        pa.field("ended_at", UTC_TS),
        pa.field("records_in", pa.int64()),
        pa.field("records_out", pa.int64()),
        pa.field("quarantined", pa.int64()),
        pa.field("failed", pa.int64()),
        pa.field("counts", pa.map_(pa.string(), pa.int64())),
        pa.field("model_versions", pa.list_(pa.string())),
        pa.field("warnings", pa.list_(pa.string())),
        pa.field("error", pa.string()),
    ]
)

# Documents Elasticsearch refused for good (deadletter/es/<family>), with the reason.
ES_DEADLETTER = pa.schema(
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("index", pa.string(), nullable=False),
        pa.field("family", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),  # mapping | invalid_row | rejected | retries_exhausted
        pa.field("error_type", pa.string()),
        pa.field("status", pa.int32()),
        pa.field("detail", pa.string(), nullable=False),  # ES error text, naming the field where it can
        pa.field("attempts", pa.int32(), nullable=False),
        pa.field("document", pa.string()),  # the _source as JSON
        pa.field("interval_start", UTC_TS, nullable=False),
    ]
)

# One resampled step of one metric series (features/metrics/source=<name>), written by
# jobs/featurize_metrics.py. A step with no sample is a gap: value null, is_gap true
# (never forward-filled); rolling stats skip gaps and count the valid steps they used.
ROLLING_STATS = pa.struct(
    [
        pa.field("horizon", pa.string()),  # e.g. "1h"
        pa.field("horizon_s", pa.int64()),
        pa.field("mean", pa.float64()),
        pa.field("std", pa.float64()),  # sample std, null with < 2 valid steps
        pa.field("p95", pa.float64()),
        pa.field("max", pa.float64()),
        pa.field("n_valid", pa.int32()),  # non-gap steps in the horizon
    ]
)
METRIC_FEATURE = pa.schema(
    [
        pa.field("timestamp", UTC_TS, nullable=False),  # step start
        pa.field("step_s", pa.int32(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("entity", pa.string(), nullable=False),
        pa.field("metric", pa.string(), nullable=False),
        pa.field("value", pa.float64()),  # mean of the step's samples; null on a gap
        pa.field("n_samples", pa.int32(), nullable=False),
        pa.field("is_gap", pa.bool_(), nullable=False),
        pa.field("rate_of_change", pa.float64()),  # (value - previous step's value) / step_s; null next to a gap
        pa.field("rolling", pa.list_(ROLLING_STATS), nullable=False),  # one entry per configured horizon
        pa.field("hour_of_day", pa.int8(), nullable=False),  # 0-23 UTC
        pa.field("day_of_week", pa.int8(), nullable=False),  # ISO: 1 = Monday ... 7 = Sunday
    ]
)

# Host/service x window: log and metric features side by side (features/entity_windows/join=<name>).
ENTITY_WINDOW = pa.schema(
    [
        pa.field("window_id", pa.string(), nullable=False),  # window_id("join:<name>", grouping, entity, start, end)
        pa.field("join", pa.string(), nullable=False),
        pa.field("entity", pa.string(), nullable=False),
        pa.field("window_start", UTC_TS, nullable=False),
        pa.field("window_end", UTC_TS, nullable=False),
        pa.field("log_window_id", pa.string()),  # null: no log events in the window
        pa.field("n_events", pa.int64(), nullable=False),
        pa.field("events_per_s", pa.float64(), nullable=False),
        pa.field("error_ratio", pa.float64()),
        pa.field("new_templates", pa.int32()),
        pa.field("distinct_templates", pa.int32()),
        pa.field("label", pa.int8()),
        pa.field("metric_mean", pa.map_(pa.string(), pa.float64())),  # metric -> mean of valid steps
        pa.field("metric_max", pa.map_(pa.string(), pa.float64())),
        pa.field("metric_gap_ratio", pa.map_(pa.string(), pa.float64())),  # metric -> share of gap steps
    ]
)

# The persisted template store (opsradar.parsing.store): TEMPLATE plus what matching needs.
# `tokens` are the mined token pattern (`<*>` = one variable token); `seq` is the number of
# the run that added the template: an earlier run's template wins when two match a message.
TEMPLATE_STORE = pa.schema(
    list(TEMPLATE)
    + [
        pa.field("tokens", pa.list_(pa.string()), nullable=False),
        pa.field("seq", pa.int64(), nullable=False),
    ]
)
