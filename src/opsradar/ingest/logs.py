"""Stream a log file into event rows for one data interval, quarantining bad lines.

Lines are read as bytes with their offsets, so every event has a stable id
(source, file fingerprint, byte offset) and every bad line a precise reference.
A line that cannot be parsed has no time of its own: it is attributed to the
interval of the last parsed line before it (the first parsed line, at the top of
a file), so each bad line is quarantined in exactly one interval.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import fsspec
import pyarrow as pa

from opsradar.ids import event_id
from opsradar.ingest.formats import FIELD_TO_COLUMN, LogFormat
from opsradar.layout import Interval
from opsradar.schemas.arrow import LOG_EVENT, QUARANTINE

RAW_CAP = 4096  # bytes of a bad line kept in quarantine
MAX_LINE_BYTES = 1 << 20


@dataclass
class IngestResult:
    events: pa.Table
    quarantine: pa.Table
    lines_read: int = 0
    outside_interval: int = 0
    reasons: Counter[str] = field(default_factory=Counter)


def file_fingerprint(fs: fsspec.AbstractFileSystem, path: str, chunk: int = 1 << 16) -> str:
    """Content identity (size + head + tail): renaming a file keeps its event ids."""
    size = fs.size(path)
    h = hashlib.blake2b(digest_size=12)
    h.update(str(size).encode())
    with fs.open(path, "rb") as fh:
        h.update(fh.read(chunk))
        if size > chunk:
            fh.seek(max(size - chunk, chunk))
            h.update(fh.read(chunk))
    return h.hexdigest()


def _iter_lines(fh, max_bytes: int) -> Iterator[tuple[int, int, bytes, bool]]:
    """(line_no, byte_offset, line without EOL, too_long) with bounded memory."""
    offset = 0
    line_no = 0
    while True:
        line = fh.readline(max_bytes + 1)
        if not line:
            return
        line_no += 1
        too_long = len(line) > max_bytes and not line.endswith(b"\n")
        start = offset
        offset += len(line)
        if too_long:  # skip the rest of the oversized line
            while True:
                rest = fh.readline(max_bytes)
                offset += len(rest)
                if not rest or rest.endswith(b"\n"):
                    break
        yield line_no, start, line.rstrip(b"\r\n"), too_long


def _year_for(interval: Interval) -> int:
    return interval.start.year


def ingest_log_file(
    path: str,
    source: str,
    fmt: LogFormat,
    interval: Interval,
    tz: str = "UTC",
    host: str | None = None,
    service: str | None = None,
    ingest_time: datetime | None = None,
    max_line_bytes: int = MAX_LINE_BYTES,
) -> IngestResult:
    fs, fs_path = fsspec.core.url_to_fs(path)
    zone = ZoneInfo(tz)
    # Ingest time is the run's logical time (interval end), so re-runs are byte-identical;
    # wall-clock run times are recorded with the pipeline run, not in every row.
    ingest_time = ingest_time or interval.end
    fingerprint = file_fingerprint(fs, fs_path)
    display = os.path.basename(fs_path)
    cols: dict[str, list] = {f.name: [] for f in LOG_EVENT}
    bad: dict[str, list] = {f.name: [] for f in QUARANTINE}
    pending_bad: list[tuple[int, int, bytes, str, str]] = []
    last_ts: datetime | None = None
    result_reasons: Counter[str] = Counter()
    lines_read = outside = 0

    def quarantine(line_no: int, offset: int, raw: bytes, reason: str, detail: str) -> None:
        result_reasons[reason] += 1
        for k, v in (("source", source), ("file", fs_path), ("line_no", line_no), ("byte_offset", offset),
                     ("reason", reason), ("detail", detail), ("raw", raw[:RAW_CAP]),
                     ("ingest_time", ingest_time), ("interval_start", interval.start)):
            bad[k].append(v)

    def flush_pending(ts: datetime | None) -> None:
        if ts is not None and interval.start <= ts < interval.end:
            for item in pending_bad:
                quarantine(*item)
        pending_bad.clear()

    with fs.open(fs_path, "rb") as fh:
        for line_no, offset, raw, too_long in _iter_lines(fh, max_line_bytes):
            lines_read += 1
            where = f"{display}:{line_no}"
            if too_long:
                pending_bad.append((line_no, offset, raw, "line_too_long", f"{where}: longer than {max_line_bytes} bytes"))
            elif not raw.strip():
                pending_bad.append((line_no, offset, raw, "empty_line", f"{where}: empty line"))
            else:
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as err:
                    pending_bad.append((line_no, offset, raw, "invalid_utf8", f"{where}: {err.reason} at byte {err.start}"))
                else:
                    m = fmt.regex.match(text)
                    if m is None:
                        pending_bad.append((line_no, offset, raw, "parse_error", f"{where}: does not match format {fmt.name}"))
                    else:
                        fields = m.groupdict()
                        try:
                            ts = fmt.parse_time(fields, zone, _year_for(interval))
                        except (ValueError, OverflowError) as err:
                            pending_bad.append((line_no, offset, raw, "bad_timestamp", f"{where}: field(s) {'+'.join(fmt.timestamp)}: {err}"))
                        else:
                            flush_pending(last_ts if last_ts is not None else ts)
                            last_ts = ts
                            if not (interval.start <= ts < interval.end):
                                outside += 1
                                continue
                            _append_event(cols, fields, fmt, ts, source, fingerprint, fs_path, line_no, offset,
                                          ingest_time, host, service)
                            continue
            if last_ts is not None:
                flush_pending(last_ts)
    flush_pending(last_ts)
    return IngestResult(
        events=pa.Table.from_pydict(cols, schema=LOG_EVENT),
        quarantine=pa.Table.from_pydict(bad, schema=QUARANTINE),
        lines_read=lines_read,
        outside_interval=outside,
        reasons=result_reasons,
    )


def _append_event(cols, fields, fmt, ts, source, fingerprint, path, line_no, offset, ingest_time, host, service) -> None:
    row = {"host": host, "service": service, "level": None, "component": None, "pid": None}
    labels = {}
    for name, value in fields.items():
        if name == "Content" or name in fmt.timestamp or value is None:
            continue
        column = FIELD_TO_COLUMN.get(name)
        if column and row.get(column) is None:
            row[column] = value.strip()
        else:
            labels[name.lower()] = value.strip()
    cols["event_id"].append(event_id(source, fingerprint, offset))
    cols["timestamp"].append(ts)
    cols["ingest_time"].append(ingest_time)
    cols["source"].append(source)
    for k in ("host", "service", "level", "component", "pid"):
        cols[k].append(row[k])
    cols["message"].append(fields["Content"].strip())
    cols["file"].append(path)
    cols["line_no"].append(line_no)
    cols["byte_offset"].append(offset)
    cols["labels"].append(list(labels.items()))
