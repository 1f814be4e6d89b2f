"""Log stages of the walking skeleton: ingest files -> raw Parquet; clean -> Elasticsearch.

Each stage is a plain function of (config, interval) returning a StageResult; the CLI
and the Airflow tasks both call these.
"""

from __future__ import annotations

import logging

import fsspec
import pyarrow as pa

from opsradar.config import OpsRadarConfig
from opsradar.ingest.formats import get_format
from opsradar.ingest.logs import ingest_log_file
from opsradar.layout import Interval, Layout
from opsradar.pipeline.result import StageResult

log = logging.getLogger(__name__)


def ingest_logs(cfg: OpsRadarConfig, interval: Interval) -> StageResult:
    layout = Layout(cfg.storage.root)
    result = StageResult.begin("ingest_logs", interval)
    for source in cfg.log_sources:
        fmt = get_format(source.format)
        fs, _ = fsspec.core.url_to_fs(source.path)
        files = sorted(fs.glob(source.path)) if any(c in source.path for c in "*?[") else [source.path]
        events, bad = [], []
        for path in files:
            res = ingest_log_file(fs.unstrip_protocol(path), source.name, fmt, interval, tz=source.timezone, host=source.host, service=source.service)
            events.append(res.events)
            bad.append(res.quarantine)
            result.add("lines_read", res.lines_read)
            result.add("outside_interval", res.outside_interval)
            for reason, n in res.reasons.items():
                result.add(f"quarantined.{reason}", n)
                log.warning("%s: %d line(s) quarantined as %s", path, n, reason)
        if not files:
            result.warnings.append(f"source {source.name}: no files match {source.path}")
        dataset = f"logs/source={source.name}"
        table = pa.concat_tables(events) if events else None
        if table is not None:
            result.add("events", len(table))
            result.outputs += layout.write_interval("raw", dataset, interval, table, "timestamp",
                                                    cfg.storage.parquet_compression, cfg.storage.row_group_rows)
        quarantine = pa.concat_tables(bad) if bad else None
        if quarantine is not None:
            result.outputs += layout.write_interval("quarantine", dataset, interval, quarantine, "interval_start",
                                                    cfg.storage.parquet_compression)
    return result


def _event_document(row: dict) -> dict:
    return {
        "@timestamp": row["timestamp"].isoformat(),
        "event": {"id": row["event_id"], "kind": "event", "ingested": row["ingest_time"].isoformat(), "dataset": row["source"]},
        "host": {"name": row["host"]} if row["host"] else None,
        "service": {"name": row["service"]} if row["service"] else None,
        "log": {"level": row["level"], "logger": row["component"], "file": {"path": row["file"]}, "offset": row["byte_offset"]},
        "process": {"pid": row["pid"]} if row["pid"] else None,
        "message": row["message"],
        "labels": dict(row["labels"] or []),
        "opsradar": {"source": row["source"], "line_no": row["line_no"]},
    }


def index_events(cfg: OpsRadarConfig, interval: Interval) -> StageResult:
    from elasticsearch import helpers

    from opsradar.es.client import connect
    from opsradar.es.templates import install_template

    layout = Layout(cfg.storage.root)
    result = StageResult.begin("index_events", interval)
    es = connect(cfg.es)
    install_template(es, "events", cfg.es.index_prefix)
    index = f"{cfg.es.index_prefix}-events"

    def actions():
        for source in cfg.log_sources:
            table = layout.read_interval("clean", f"logs/source={source.name}", interval)
            if table is None:
                continue
            for batch in table.to_batches(max_chunksize=cfg.es.bulk_chunk_size):
                for row in batch.to_pylist():
                    doc = {k: v for k, v in _event_document(row).items() if v is not None}
                    yield {"_op_type": "index", "_index": index, "_id": row["event_id"], "_source": doc}

    for ok, item in helpers.streaming_bulk(es, actions(), chunk_size=cfg.es.bulk_chunk_size, raise_on_error=False,
                                           max_retries=cfg.es.max_retries, initial_backoff=1, max_backoff=30):
        result.add("indexed" if ok else "failed", 1)
        if not ok:
            log.error("index failed: %s", item)
    es.indices.refresh(index=index)
    if result.counts.get("failed"):
        raise RuntimeError(f"{result.counts['failed']} event(s) failed to index into {index}; see the task log")
    return result
