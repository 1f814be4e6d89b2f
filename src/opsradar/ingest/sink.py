"""Stream rows into hourly Parquet partitions in staging, then commit them atomically.

Memory stays bounded: rows are buffered up to `buffer_rows`, then appended as row
groups to one staged file per hour. Commit rules (see docs/ingest.md, "late lines"):
- the run's own hours are replaced exactly (hours with no rows end up empty);
- earlier hours inside the late-lookback window are rewritten only when the staged
  rows are a strict superset of what is stored (late lines arrived); they are never
  shrunk or deleted, so rotating old files away cannot erase history.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from opsradar.layout import Interval, Layout

HOUR = timedelta(hours=1)
MAX_OPEN_WRITERS = 64  # staged hour files open at once; more hours -> more part files


class HourlySink:
    def __init__(self, layout: Layout, layer: str, dataset: str, schema: pa.Schema, time_column: str,
                 key_columns: tuple[str, ...], compression: str = "zstd", row_group_rows: int = 128 * 1024,
                 buffer_rows: int = 64 * 1024) -> None:
        self.layout, self.layer, self.dataset = layout, layer, dataset
        self.schema, self.time_column, self.key_columns = schema, time_column, key_columns
        self.compression = None if compression == "none" else compression
        self.row_group_rows = row_group_rows
        self.buffer_rows = min(buffer_rows, row_group_rows)
        self.staging = layout.new_staging_dir()
        self.buffer: list[dict] = []
        self.rows = 0
        self._writers: dict[datetime, tuple[pq.ParquetWriter, object]] = {}
        self._parts: dict[datetime, int] = {}

    def append(self, row: dict) -> None:
        self.buffer.append(row)
        self.rows += 1
        if len(self.buffer) >= self.buffer_rows:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        table = pa.Table.from_pylist(self.buffer, schema=self.schema)
        self.buffer = []
        hours = pc.floor_temporal(table.column(self.time_column), unit="hour")
        for hour in pc.unique(hours).to_pylist():
            part = table.filter(pc.equal(hours, pa.scalar(hour, hours.type)))
            self._writer(hour).write_table(part, row_group_size=self.row_group_rows)

    def _writer(self, hour: datetime) -> pq.ParquetWriter:
        if hour in self._writers:
            self._writers[hour] = self._writers.pop(hour)  # most recently used last
        else:
            if len(self._writers) >= MAX_OPEN_WRITERS:  # a file spanning many hours: close the oldest
                old_hour = next(iter(self._writers))
                writer, fh = self._writers.pop(old_hour)
                writer.close()
                fh.close()
            part = self._parts.get(hour, -1) + 1
            self._parts[hour] = part
            folder = f"{self.staging}/dt={hour:%Y-%m-%d}/hour={hour:%H}"
            self.layout.fs.makedirs(folder, exist_ok=True)
            fh = self.layout.fs.open(f"{folder}/part-{part:05d}.parquet", "wb")
            self._writers[hour] = (pq.ParquetWriter(fh, self.schema, compression=self.compression), fh)
        return self._writers[hour][0]

    def close(self) -> None:
        self.flush()
        for writer, fh in self._writers.values():
            writer.close()
            fh.close()
        self._writers.clear()

    def commit(self, own: Interval, window_start: datetime) -> tuple[list[str], list[str]]:
        """Replace the own hours; add late rows to earlier hours. Returns (written, late_hours)."""
        self.close()
        written = self.layout.commit_staging(self.layer, self.dataset, own, self.staging)
        late: list[str] = []
        hour = window_start
        while hour < own.start:
            staged = f"{self.staging}/dt={hour:%Y-%m-%d}/hour={hour:%H}"
            if self.layout.fs.exists(staged) and self._adds_rows(staged, hour):
                late += self.layout.commit_staging(self.layer, self.dataset, Interval(hour, hour + HOUR), self.staging)
            hour += HOUR
        return written, late

    def _keys(self, folder: str) -> set:
        files = sorted(self.layout.fs.glob(f"{folder}/*.parquet"))
        keys: set = set()
        for f in files:
            t = pq.read_table(f, columns=list(self.key_columns), filesystem=self.layout.fs)
            keys.update(zip(*(t.column(c).to_pylist() for c in self.key_columns)))
        return keys

    def _adds_rows(self, staged: str, hour: datetime) -> bool:
        final = self.layout.partition_dir(self.layer, self.dataset, hour)
        new = self._keys(staged)
        if not self.layout.fs.exists(final):
            return bool(new)
        old = self._keys(final)
        return new > old

    def discard(self) -> None:
        try:
            self.close()
        finally:
            self.layout.discard_staging(self.staging)
