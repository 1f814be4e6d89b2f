"""The one module that owns the storage layout.

    {root}/{layer}/{dataset}/dt=YYYY-MM-DD/hour=HH/part-*.parquet

`root` is a local path or an fsspec URI. Writes go to `{root}/_staging/<uuid>/` and are
moved into place, so a killed task never leaves a partial partition, and re-running an
interval replaces exactly that interval's hour partitions.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import fsspec
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

LAYERS = (
    "raw", "quarantine", "clean", "templates", "features", "scores",
    "forecasts", "deadletter", "validations", "reports", "runs",
)
HOUR = timedelta(hours=1)


def as_utc(ts: datetime) -> datetime:
    """A plain stdlib UTC datetime (Airflow's pendulum DateTimes are converted too)."""
    if ts.tzinfo is None:
        raise ValueError(f"naive datetime {ts!r}: interval bounds must be timezone-aware")
    ts = ts.astimezone(timezone.utc)
    return datetime(ts.year, ts.month, ts.day, ts.hour, ts.minute, ts.second, ts.microsecond, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Interval:
    """A half-open data interval [start, end), always UTC."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", as_utc(self.start))
        object.__setattr__(self, "end", as_utc(self.end))
        if self.end <= self.start:
            raise ValueError(f"empty interval: end {self.end} is not after start {self.start}")

    def hours(self) -> Iterator[datetime]:
        """Every hour partition the interval touches."""
        hour = self.start.replace(minute=0, second=0, microsecond=0)
        while hour < self.end:
            yield hour
            hour += HOUR

    def __str__(self) -> str:
        return f"[{self.start.isoformat()}, {self.end.isoformat()})"


class Layout:
    def __init__(self, root: str) -> None:
        self.fs, self.root = fsspec.core.url_to_fs(root)
        self.root = self.root.rstrip("/")
        self.uri = root

    def dataset_dir(self, layer: str, dataset: str) -> str:
        if layer not in LAYERS:
            raise ValueError(f"unknown layer {layer!r}; expected one of {', '.join(LAYERS)}")
        return f"{self.root}/{layer}/{dataset}"

    def partition_dir(self, layer: str, dataset: str, hour: datetime) -> str:
        hour = as_utc(hour)
        return f"{self.dataset_dir(layer, dataset)}/dt={hour:%Y-%m-%d}/hour={hour:%H}"

    def interval_dirs(self, layer: str, dataset: str, interval: Interval) -> list[str]:
        return [self.partition_dir(layer, dataset, h) for h in interval.hours()]

    def existing_interval_dirs(self, layer: str, dataset: str, interval: Interval) -> list[str]:
        return [d for d in self.interval_dirs(layer, dataset, interval) if self.fs.exists(d)]

    def write_interval(
        self,
        layer: str,
        dataset: str,
        interval: Interval,
        table: pa.Table,
        time_column: str,
        compression: str = "zstd",
        row_group_rows: int = 128 * 1024,
    ) -> list[str]:
        """Replace the interval's hour partitions with `table`, split by `time_column`.

        Rows are sorted by (time_column, first column) so re-runs write identical files.
        Rows outside the interval are a caller bug and raise.
        """
        if interval.start.minute or interval.start.second or interval.end.minute or interval.end.second:
            raise ValueError(f"interval {interval} is not hour-aligned; partitions are hourly")
        times = table.column(time_column)
        if len(table) and (pc.min(times).as_py() < interval.start or pc.max(times).as_py() >= interval.end):
            raise ValueError(f"{layer}/{dataset}: rows outside interval {interval}")
        staging = self.new_staging_dir()
        table = table.sort_by([(time_column, "ascending"), (table.column_names[0], "ascending")])
        hour_keys = pc.floor_temporal(table.column(time_column), unit="hour")
        try:
            for hour in interval.hours():
                part = table.filter(pc.equal(hour_keys, pa.scalar(hour, hour_keys.type)))
                if len(part) == 0:
                    continue
                tmp = f"{staging}/dt={hour:%Y-%m-%d}/hour={hour:%H}"
                self.fs.makedirs(tmp, exist_ok=True)
                with self.fs.open(f"{tmp}/part-00000.parquet", "wb") as fh:
                    pq.write_table(part, fh, compression=compression, row_group_size=row_group_rows)
            return self.commit_staging(layer, dataset, interval, staging)
        finally:
            self.discard_staging(staging)

    def new_staging_dir(self) -> str:
        """A private folder to write into before `commit_staging` moves it into place."""
        return f"{self.root}/_staging/{uuid.uuid4().hex}"

    def commit_staging(self, layer: str, dataset: str, interval: Interval, staging: str) -> list[str]:
        """Swap the interval's hour partitions for `staging/dt=../hour=..` (Spark's layout too).

        Hours with no staged data end up empty, so a re-run never keeps stale rows.
        """
        written: list[str] = []
        for hour in interval.hours():
            final = self.partition_dir(layer, dataset, hour)
            tmp = f"{staging}/dt={hour:%Y-%m-%d}/hour={hour:%H}"
            if self.fs.exists(final):
                self.fs.rm(final, recursive=True)
            if self.fs.exists(tmp) and self.fs.glob(f"{tmp}/*.parquet"):
                self.fs.makedirs(final.rsplit("/", 1)[0], exist_ok=True)
                self.fs.mv(tmp, final, recursive=True)
                written.append(final)
        return written

    def discard_staging(self, staging: str) -> None:
        if self.fs.exists(staging):
            self.fs.rm(staging, recursive=True)

    def spark_path(self, path: str) -> str:
        """A path Spark can open (local paths stay plain; remote keep their scheme)."""
        protocol = self.fs.protocol if isinstance(self.fs.protocol, str) else self.fs.protocol[0]
        return path if protocol in ("file", "local") else f"{protocol}://{path}"

    def read_interval(self, layer: str, dataset: str, interval: Interval) -> pa.Table | None:
        dirs = self.existing_interval_dirs(layer, dataset, interval)
        if not dirs:
            return None
        tables = [pq.read_table(f, filesystem=self.fs) for d in dirs for f in sorted(self.fs.glob(f"{d}/*.parquet"))]
        # Writers differ in nullability (pyarrow vs Spark): promote to a common schema.
        return pa.concat_tables(tables, promote_options="permissive") if tables else None
