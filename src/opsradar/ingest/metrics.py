"""Metric files -> METRIC_POINT rows, streamed, bad rows quarantined like log lines.

Formats (MetricSourceConfig.format):
  csv_long    timestamp, entity label columns, metric, value[, unit]: one point per row
  csv_wide    timestamp plus one column per metric (NAB style `timestamp,value`); the
              entity is `series=<file stem>` plus the source's static labels
  prometheus  Prometheus text exposition or OpenMetrics snapshots (a file ending in
              `# EOF`), parsed sample by sample with prometheus_client; labels are kept.
              Samples without a timestamp take the file's modification time.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from opsradar.ingest.clock import Clock
from opsradar.ingest.logs import Bad, _iter_lines
from opsradar.ingest.sources import InputFile
from opsradar.ingest.timeline import Timeline


def entity_of(labels: dict[str, str], default: str) -> str:
    """The canonical entity string: sorted `k=v` pairs joined by commas."""
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or default


def _point(ts: datetime, source: str, metric: str, value: float, unit: str | None, labels: dict[str, str]) -> dict:
    return {"timestamp": ts, "source": source, "entity": entity_of(labels, source), "metric": metric,
            "value": value, "unit": unit, "labels": sorted(labels.items()) or None}


def _float(text: str, column: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"column {column!r}: {text!r} is not a number") from None


def _split(text: str, delimiter: str) -> list[str]:
    return [c.strip() for c in next(csv.reader([text], delimiter=delimiter))]


def _csv_points(f: InputFile, cfg: Any, clock: Clock, text: str, header: list[str], where: str) -> list[dict]:
    cells = _split(text, cfg.delimiter)
    if len(cells) != len(header):
        raise _RowError("parse_error", f"{where}: {len(cells)} fields, header has {len(header)}")
    row = dict(zip(header, cells))
    try:
        ts = clock.auto(row[cfg.time_column], cfg.time_format)
    except (ValueError, OverflowError, OSError) as err:
        raise _RowError("bad_timestamp", f"{where}: column {cfg.time_column!r}: {err}") from None
    try:
        if cfg.format == "csv_long":
            labels = {c: row[c] for c in (cfg.label_columns or [c for c in header if c not in
                      {cfg.time_column, cfg.metric_column, cfg.value_column, cfg.unit_column}])}
            labels.update(cfg.labels)
            unit = row.get(cfg.unit_column) if cfg.unit_column else cfg.unit
            return [_point(ts, cfg.name, row[cfg.metric_column], _float(row[cfg.value_column], cfg.value_column),
                           unit or None, labels)]
        labels = {"series": os.path.splitext(f.name.removesuffix(".gz"))[0], **cfg.labels}
        values = [c for c in header if c != cfg.time_column]
        return [_point(ts, cfg.name, cfg.metric if cfg.metric and len(values) == 1 else c, _float(row[c], c),
                       cfg.unit, labels) for c in values]
    except ValueError as err:
        raise _RowError("bad_value", f"{where}: {err}") from None


class _RowError(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail


def _is_openmetrics(f: InputFile) -> bool:
    with f.open() as fh:
        try:
            tail = fh.read()[-64:] if f.compressed else _tail(fh, f.size)
        except (EOFError, OSError):
            return False
    return tail.rstrip().endswith(b"# EOF")


def _tail(fh, size: int) -> bytes:
    fh.seek(max(0, size - 64))
    return fh.read()


class _PromState:
    def __init__(self, openmetrics: bool) -> None:
        from prometheus_client.openmetrics.parser import text_string_to_metric_families as om
        from prometheus_client.parser import text_string_to_metric_families as prom

        self.parse, self.openmetrics = (om, True) if openmetrics else (prom, False)
        self.types: dict[str, str] = {}
        self.units: dict[str, str] = {}

    def samples(self, text: str):
        if text.startswith("#"):
            parts = text.split(None, 3)
            if len(parts) >= 4 and parts[1] == "TYPE":
                self.types[parts[2]] = parts[3].strip()
            elif len(parts) >= 4 and parts[1] == "UNIT":
                self.units[parts[2]] = parts[3].strip()
            return []
        name = text.split("{", 1)[0].split(None, 1)[0]
        family = max((n for n in self.types if name == n or name.startswith(n + "_")), key=len, default=None)
        doc = f"# TYPE {family} {self.types[family]}\n" if family else ""
        doc += text + "\n" + ("# EOF\n" if self.openmetrics else "")
        return [(fam, s) for fam in self.parse(doc) for s in fam.samples]


def read_metric_file(f: InputFile, cfg: Any, clock: Clock, tolerance: timedelta,
                     max_line_bytes: int = 1 << 20) -> Iterator[tuple[str, datetime | None, object]]:
    """Yield ("line", None, None), ("point", ts, row) and ("bad", owner_time, Bad) in file order."""
    timeline = Timeline(tolerance)
    header: list[str] | None = None
    prom = _PromState(_is_openmetrics(f)) if cfg.format == "prometheus" else None
    any_line = False
    with f.open() as fh:
        for line_no, offset, raw, problem in _iter_lines(fh, max_line_bytes):
            if problem in ("truncated_gzip", "corrupt_gzip"):
                for item in timeline.bad(Bad(line_no, offset, b"", problem, f"{f.name}: {problem} after {offset} bytes")):
                    yield "bad", *item
                break
            any_line = True
            yield "line", None, None
            where = f"{f.name}:{line_no}"
            try:
                if problem:
                    raise _RowError(problem, f"{where}: longer than {max_line_bytes} bytes")
                try:
                    text = raw.decode("utf-8").strip()
                except UnicodeDecodeError as err:
                    raise _RowError("invalid_utf8", f"{where}: {err.reason} at byte {err.start}") from None
                if not text:
                    if prom is None:
                        raise _RowError("empty_line", f"{where}: empty line")
                    continue
                if prom is not None:
                    points = _prom_points(prom, text, cfg, clock, f, where)
                elif header is None:
                    header = _split(text, cfg.delimiter)
                    missing = [c for c in (cfg.time_column,) + ((cfg.metric_column, cfg.value_column)
                               if cfg.format == "csv_long" else ()) if c not in header]
                    if missing:
                        raise _RowError("parse_error", f"{where}: header lacks column(s) {missing}")
                    continue
                else:
                    points = _csv_points(f, cfg, clock, text, header, where)
            except _RowError as err:
                for item in timeline.bad(Bad(line_no, offset, raw, err.reason, err.detail)):
                    yield "bad", *item
                continue
            for point in points:
                accepted, owner, flushed = timeline.observe(point["timestamp"])
                for item in flushed:
                    yield "bad", *item
                if accepted:
                    yield "point", point["timestamp"], point
                else:
                    yield "bad", owner, Bad(line_no, offset, raw, "timestamp_out_of_range",
                                            f"{where}: {point['timestamp'].isoformat()} is more than {tolerance} "
                                            f"away from the file's timeline ({owner.isoformat()})")
    if not any_line and f.size == 0:
        for item in timeline.bad(Bad(None, 0, b"", "empty_file", f"{f.name}: empty file")):
            yield "bad", *item
    for item in timeline.finish(f.mtime):
        yield "bad", *item


def _prom_points(prom: _PromState, text: str, cfg: Any, clock: Clock, f: InputFile, where: str) -> list[dict]:
    if text == "# EOF":
        return []
    try:
        samples = prom.samples(text)
    except (ValueError, IndexError, KeyError) as err:
        raise _RowError("parse_error", f"{where}: {err}") from None
    points = []
    for family, s in samples:
        if s.timestamp is not None:
            stamp = s.timestamp
            ts = clock.epoch(float(stamp.sec + stamp.nsec / 1e9) if hasattr(stamp, "sec") else float(stamp))
        elif f.mtime is not None:
            ts = f.mtime
        else:
            raise _RowError("bad_timestamp", f"{where}: sample has no timestamp and the file no modification time")
        value = float(s.value)
        unit = prom.units.get(family.name) or family.unit or cfg.unit
        points.append(_point(ts, cfg.name, s.name, None if math.isnan(value) else value, unit or None,
                             {**{k: str(v) for k, v in s.labels.items()}, **cfg.labels}))
    return points
