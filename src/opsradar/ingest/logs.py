"""Stream a log file into event and quarantine rows, with bounded memory.

Lines are read as bytes with their offsets, so every event has a stable id
(source, file identity, byte offset) and every bad line a precise reference.
Which interval owns a row is decided by `opsradar.ingest.timeline` from the file
alone, so each line is an event or a quarantine row in exactly one interval.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import IO

import pyarrow as pa

from opsradar.ingest.clock import Clock
from opsradar.ingest.formats import LogFormat
from opsradar.ingest.parsers import LineError, LoghubParser, Parser
from opsradar.ingest.sources import InputFile, describe
from opsradar.ingest.timeline import Timeline
from opsradar.layout import Interval
from opsradar.schemas.arrow import LOG_EVENT, QUARANTINE

RAW_CAP = 4096  # bytes of a bad line kept in quarantine
MAX_LINE_BYTES = 1 << 20
DEFAULT_TOLERANCE = timedelta(days=7)
_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x1f\x7f]")

REASONS = (
    "invalid_utf8", "binary", "parse_error", "empty_line", "empty_file", "bad_timestamp",
    "line_too_long", "timestamp_out_of_range", "truncated_gzip", "corrupt_gzip",
)


@dataclass
class Bad:
    line_no: int | None
    offset: int | None
    raw: bytes
    reason: str
    detail: str


@dataclass
class FileStats:
    """What one file contributed to one run (only rows owned by the run's window)."""

    lines_read: int = 0
    events: int = 0
    outside_interval: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    @property
    def quarantined(self) -> int:
        return sum(self.reasons.values())


def _iter_lines(fh: IO[bytes], max_bytes: int) -> Iterator[tuple[int, int, bytes, str | None]]:
    """(line_no, byte_offset, line without EOL, problem) with bounded memory.

    problem: None, "line_too_long", or a gzip failure ("truncated_gzip"/"corrupt_gzip"),
    which ends the file (the lines before it are kept).
    """
    offset = 0
    line_no = 0
    while True:
        try:
            line = fh.readline(max_bytes + 1)
        except EOFError:
            yield line_no + 1, offset, b"", "truncated_gzip"
            return
        except (OSError, zlib.error) as err:
            yield line_no + 1, offset, str(err).encode(), "corrupt_gzip"
            return
        if not line:
            return
        line_no += 1
        start = offset
        offset += len(line)
        too_long = len(line) > max_bytes and not line.endswith(b"\n")
        if too_long:  # skip the rest of the oversized line without holding it
            while True:
                try:
                    rest = fh.readline(1 << 16)
                except (EOFError, OSError, zlib.error):
                    break
                offset += len(rest)
                if not rest or rest.endswith(b"\n"):
                    break
        yield line_no, start, line.rstrip(b"\r\n"), "line_too_long" if too_long else None


def _looks_binary(raw: bytes) -> bool:
    if b"\x00" in raw:
        return True
    if _CONTROL.search(raw) is None:
        return False
    return len(_CONTROL.findall(raw)) > max(1, len(raw) // 10)


def read_log_file(
    f: InputFile,
    source: str,
    parser: Parser,
    clock: Clock,
    tolerance: timedelta = DEFAULT_TOLERANCE,
    max_line_bytes: int = MAX_LINE_BYTES,
) -> Iterator[tuple[str, datetime | None, object]]:
    """Yield ("line", None, None) per line read, ("event", ts, (Parsed, line_no, offset))
    and ("bad", owner_time, Bad) in file order (bad rows may be delayed until their owner is known)."""
    timeline = Timeline(tolerance)
    where = f.name
    any_line = False
    with f.open() as fh:
        for line_no, offset, raw, problem in _iter_lines(fh, max_line_bytes):
            if problem in ("truncated_gzip", "corrupt_gzip"):
                what = "compressed file ended before its end marker" if problem == "truncated_gzip" else raw.decode(errors="replace")
                for owner, bad in timeline.bad(Bad(line_no, offset, b"", problem, f"{where}: {what} after {offset} bytes")):
                    yield "bad", owner, bad
                break
            any_line = True
            yield "line", None, None
            bad: Bad | None = None
            if problem == "line_too_long":
                bad = Bad(line_no, offset, raw, problem, f"{where}:{line_no}: longer than {max_line_bytes} bytes")
            elif not raw.strip():
                bad = Bad(line_no, offset, raw, "empty_line", f"{where}:{line_no}: empty line")
            elif _looks_binary(raw):
                bad = Bad(line_no, offset, raw, "binary", f"{where}:{line_no}: binary data (NUL/control bytes)")
            else:
                try:
                    parsed = parser.parse(raw.decode("utf-8"), clock)
                except UnicodeDecodeError as err:
                    bad = Bad(line_no, offset, raw, "invalid_utf8", f"{where}:{line_no}: {err.reason} at byte {err.start}")
                except LineError as err:
                    bad = Bad(line_no, offset, raw, err.reason, f"{where}:{line_no}: {err.detail}")
                else:
                    accepted, owner, flushed = timeline.observe(parsed.timestamp)
                    for item in flushed:
                        yield "bad", *item
                    if accepted:
                        yield "event", parsed.timestamp, (parsed, line_no, offset)
                    else:
                        yield "bad", owner, Bad(line_no, offset, raw, "timestamp_out_of_range",
                                                f"{where}:{line_no}: {parsed.timestamp.isoformat()} is more than "
                                                f"{tolerance} away from the file's timeline ({owner.isoformat()})")
                    continue
            for item in timeline.bad(bad):
                yield "bad", *item
    if not any_line and f.size == 0:
        for item in timeline.bad(Bad(None, 0, b"", "empty_file", f"{where}: empty file")):
            yield "bad", *item
    for item in timeline.finish(f.mtime):
        yield "bad", *item


class EventIds:
    """`opsradar.ids.event_id(source, identity, offset)`, with the constant prefix hashed once."""

    def __init__(self, source: str, identity: str) -> None:
        import hashlib

        self._base = hashlib.blake2b(digest_size=16)
        for part in ("event", source, identity):
            data = part.encode("utf-8", "surrogateescape")
            self._base.update(len(data).to_bytes(8, "little") + data)

    def __call__(self, offset: int) -> str:
        h = self._base.copy()
        data = str(offset).encode()
        h.update(len(data).to_bytes(8, "little") + data)
        return h.hexdigest()


_ID_CACHE: dict[tuple[str, str], EventIds] = {}


def _ids(source: str, identity: str) -> EventIds:
    key = (source, identity)
    if key not in _ID_CACHE:
        if len(_ID_CACHE) > 1024:
            _ID_CACHE.clear()
        _ID_CACHE[key] = EventIds(source, identity)
    return _ID_CACHE[key]


def event_row(parsed, f: InputFile, source: str, line_no: int, offset: int, ingest_time: datetime,
              host: str | None, service: str | None) -> dict:
    return {
        "event_id": _ids(source, f.identity)(offset),
        "timestamp": parsed.timestamp,
        "ingest_time": ingest_time,
        "source": source,
        "host": parsed.host or host,
        "service": parsed.service or service,
        "level": parsed.level,
        "component": parsed.component,
        "pid": parsed.pid,
        "message": parsed.message,
        "file": f.url,
        "line_no": line_no,
        "byte_offset": offset,
        "labels": sorted(parsed.labels.items()) or None,
    }


def quarantine_row(bad: Bad, f: InputFile, source: str, owner: datetime, ingest_time: datetime) -> dict:
    return {
        "source": source, "file": f.url, "line_no": bad.line_no, "byte_offset": bad.offset,
        "reason": bad.reason, "detail": bad.detail, "raw": bad.raw[:RAW_CAP], "ingest_time": ingest_time,
        # the hour the row is attributed to (see timeline.py), whatever the run's interval length
        "interval_start": owner.replace(minute=0, second=0, microsecond=0),
    }


def ingest_into(f: InputFile, source: str, parser: Parser, clock: Clock, window: Interval, ingest_time: datetime,
                emit_event, emit_bad, host: str | None = None, service: str | None = None,
                tolerance: timedelta = DEFAULT_TOLERANCE, max_line_bytes: int = MAX_LINE_BYTES,
                fallback_owner: datetime | None = None) -> FileStats:
    """Route one file's rows owned by `window` to the two callbacks; count the rest."""
    stats = FileStats()
    for kind, ts, payload in read_log_file(f, source, parser, clock, tolerance, max_line_bytes):
        if kind == "line":
            stats.lines_read += 1
        elif kind == "event":
            if window.start <= ts < window.end:
                parsed, line_no, offset = payload
                emit_event(event_row(parsed, f, source, line_no, offset, ingest_time, host, service))
                stats.events += 1
            else:
                stats.outside_interval += 1
        else:
            owner = ts or fallback_owner
            if owner is not None and window.start <= owner < window.end:
                emit_bad(quarantine_row(payload, f, source, owner, ingest_time))
                stats.reasons[payload.reason] += 1
    return stats


@dataclass
class IngestResult:
    events: pa.Table
    quarantine: pa.Table
    lines_read: int = 0
    outside_interval: int = 0
    reasons: Counter[str] = field(default_factory=Counter)


def ingest_log_file(
    path: str,
    source: str,
    fmt: LogFormat | Parser,
    interval: Interval,
    tz: str = "UTC",
    host: str | None = None,
    service: str | None = None,
    ingest_time: datetime | None = None,
    max_line_bytes: int = MAX_LINE_BYTES,
    tolerance: timedelta = DEFAULT_TOLERANCE,
    year_reference: datetime | None = None,
) -> IngestResult:
    """One file, one interval, into in-memory tables (small files, tests, notebooks).

    `year_reference` (default: the interval's midpoint) decides years missing from timestamps.
    """
    import fsspec

    fs, fs_path = fsspec.core.url_to_fs(path)
    f = describe(fs, fs_path)
    parser = LoghubParser(fmt) if isinstance(fmt, LogFormat) else fmt
    clock = Clock(tz, year_reference or interval.start + (interval.end - interval.start) / 2)
    # Ingest time is the run's logical time (interval end), so re-runs are byte-identical.
    ingest_time = ingest_time or interval.end
    events: list[dict] = []
    bad: list[dict] = []
    stats = ingest_into(f, source, parser, clock, interval, ingest_time, events.append, bad.append, host, service,
                        tolerance, max_line_bytes, fallback_owner=interval.start)
    return IngestResult(
        events=pa.Table.from_pylist(events, schema=LOG_EVENT),
        quarantine=pa.Table.from_pylist(bad, schema=QUARANTINE),
        lines_read=stats.lines_read,
        outside_interval=stats.outside_interval,
        reasons=stats.reasons,
    )
