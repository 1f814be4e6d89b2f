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
