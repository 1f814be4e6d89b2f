"""Log stages of the walking skeleton: ingest files -> raw Parquet; clean -> Elasticsearch.

Each stage is a plain function of (config, interval) returning a StageResult; the CLI
and the Airflow tasks both call these.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from opsradar.config import OpsRadarConfig
from opsradar.layout import Interval, Layout
from opsradar.pipeline.result import StageResult

log = logging.getLogger(__name__)


def ingest_logs(cfg: OpsRadarConfig, interval: Interval) -> StageResult:
    """Every configured log source -> raw/logs/source=<name> (+ quarantine/), for one interval.

    See docs/ingest.md: formats, quarantine reasons, late lines, duplicates, bad-ratio.
    """
    from opsradar.ingest.logs import event_row, read_log_file
    from opsradar.ingest.parsers import build_parser
    from opsradar.ingest.stage import ingest_source, raise_on_failures
    from opsradar.schemas.arrow import LOG_EVENT

    layout = Layout(cfg.storage.root)
    result = StageResult.begin("ingest_logs", interval)
    failures: list[str] = []
    for source in cfg.log_sources:
        parser = build_parser(source)
        tolerance = timedelta(hours=source.time_tolerance_hours)

        def read(f, clock, source=source, parser=parser, tolerance=tolerance):
            return read_log_file(f, source.name, parser, clock, tolerance, source.max_line_bytes)

        def to_row(f, payload, ingest_time, source=source):
            parsed, line_no, offset = payload
            return event_row(parsed, f, source.name, line_no, offset, ingest_time, source.host, source.service)

        failures += ingest_source(layout, cfg.storage, source, f"logs/source={source.name}", interval, result,
                                  LOG_EVENT, ("event_id",), read, to_row, row_kind="events")
    log.info("%s", result.summary())
    raise_on_failures(failures, "ingest_logs")
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
        "opsradar": {"source": row["source"], "line_no": row["line_no"],
                     **{k: row[k] for k in ("template_id", "template") if row.get(k)}},
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
