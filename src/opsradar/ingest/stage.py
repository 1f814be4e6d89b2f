"""One source, one data interval: files -> staged hourly Parquet -> committed partitions.

Shared by `ingest_logs` and `ingest_metrics`. The run reads every file of the source
once, keeps the rows owned by its window [start - late_lookback, end), and commits:
its own hours exactly (replace), earlier hours only where late rows arrived (add).
Counts go to the StageResult and the task log; a file whose bad-record ratio is above
`max_bad_ratio` fails the task after its quarantine rows are written.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pyarrow as pa

from opsradar.ingest.clock import Clock
from opsradar.ingest.logs import quarantine_row
from opsradar.ingest.sink import HourlySink
from opsradar.ingest.sources import InputFile, dedupe, list_files
from opsradar.layout import Interval, Layout
from opsradar.pipeline.result import StageResult
from opsradar.schemas.arrow import QUARANTINE

log = logging.getLogger(__name__)


def plain_interval(interval: Interval) -> Interval:
    """Stdlib UTC datetimes (Airflow passes pendulum ones, whose arithmetic drops the zone)."""
    def plain(ts: datetime) -> datetime:
        return datetime.fromtimestamp(ts.timestamp(), tz=timezone.utc)

    return Interval(plain(interval.start), plain(interval.end))


class BadRecordRatioExceeded(RuntimeError):
    """Raised when a file has more bad records than its source allows."""


def ingest_source(
    layout: Layout,
    storage: Any,
    src: Any,
    dataset: str,
    interval: Interval,
    result: StageResult,
    schema: pa.Schema,
    key_columns: tuple[str, ...],
    read: Callable[[InputFile, Clock], Iterator[tuple[str, datetime | None, Any]]],
    to_row: Callable[[InputFile, Any, datetime], dict],
    row_kind: str = "rows",
) -> list[str]:
    """Ingest one source for one interval; returns bad-ratio failure messages (empty if fine)."""
    interval = plain_interval(interval)
    window = Interval(interval.start - timedelta(hours=src.late_lookback_hours), interval.end)
    clock = Clock(src.timezone, interval.start + (interval.end - interval.start) / 2)
    ingest_time = interval.end  # the run's logical time: re-runs are byte-identical
    files, duplicates = dedupe(list_files(src.path))
    if not files:
        result.warnings.append(f"source {src.name}: no files match {src.path}")
    for dup in duplicates:
        result.add("duplicate_files", 1)
        result.warnings.append(f"source {src.name}: duplicate file: {dup}")
        log.warning("source %s: duplicate file: %s", src.name, dup)
    sinks = [HourlySink(layout, "raw", dataset, schema, "timestamp", key_columns,
                        storage.parquet_compression, storage.row_group_rows),
             HourlySink(layout, "quarantine", dataset, QUARANTINE, "interval_start", ("file", "byte_offset", "reason"),
                        storage.parquet_compression, storage.row_group_rows)]
    data, bad_sink = sinks
    failures: list[str] = []
    try:
        for f in files:
            counts: Counter[str] = Counter()
            for kind, ts, payload in read(f, clock):
                if kind == "line":
                    counts["lines_read"] += 1
                elif kind == "bad":
                    owner = ts or f.mtime or interval.start
                    if window.start <= owner < window.end:
                        bad_sink.append(quarantine_row(payload, f, src.name, owner, ingest_time))
                        if owner >= interval.start:
                            counts[f"quarantined.{payload.reason}"] += 1
                        else:
                            counts["late_quarantined"] += 1
                elif window.start <= ts < window.end:
                    data.append(to_row(f, payload, ingest_time))
                    counts[row_kind if ts >= interval.start else f"late_{row_kind}_checked"] += 1
                else:
                    counts["outside_interval"] += 1
            for key, n in counts.items():
                result.add(key, n)
            result.add("files", 1)
            bad = sum(n for k, n in counts.items() if k.startswith("quarantined.") and k != "quarantined.empty_file")
            total = bad + counts[row_kind]
            log.info("%s: %s", f.url, ", ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "nothing in interval")
            for key, n in sorted(counts.items()):
                if key.startswith("quarantined."):
                    log.warning("%s: %d record(s) quarantined as %s", f.url, n, key.split(".", 1)[1])
            if total >= src.bad_ratio_min_records and bad / total > src.max_bad_ratio:
                top = ", ".join(f"{k.split('.', 1)[1]}={n}" for k, n in counts.most_common() if k.startswith("quarantined."))
                failures.append(f"{f.url}: {bad} of {total} records in {interval} are bad ({bad / total:.1%} > "
                                f"max_bad_ratio {src.max_bad_ratio:.1%} of source {src.name}): {top}; "
                                f"see quarantine/{dataset}")
        written, late = bad_sink.commit(interval, window.start)
        result.outputs += written + late
        if not failures:
            written, late = data.commit(interval, window.start)
            result.outputs += written + late
            for hour_dir in late:
                result.add("late_partitions_updated", 1)
                log.info("source %s: rows added to earlier partition %s (late lines, or an hour not yet run)",
                         src.name, hour_dir)
    finally:
        for sink in sinks:
            sink.discard()
    return failures


def raise_on_failures(failures: list[str], stage: str) -> None:
    if failures:
        for msg in failures:
            log.error("%s", msg)
        raise BadRecordRatioExceeded(f"{stage}: bad-record ratio exceeded in {len(failures)} file(s):\n  "
                                     + "\n  ".join(failures))
