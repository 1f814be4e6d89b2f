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
