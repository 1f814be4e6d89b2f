from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from opsradar.layout import Interval, Layout

UTC = timezone.utc


def _table(times):
    return pa.table({"id": [f"e{i}" for i in range(len(times))], "ts": pa.array(times, pa.timestamp("us", tz="UTC"))})


def test_partition_paths_and_hours(tmp_path):
    layout = Layout(str(tmp_path))
    iv = Interval(datetime(2026, 1, 2, 22, tzinfo=UTC), datetime(2026, 1, 3, 1, tzinfo=UTC))
    assert [h.hour for h in iv.hours()] == [22, 23, 0]
    assert layout.partition_dir("raw", "logs/source=a", iv.start).endswith("raw/logs/source=a/dt=2026-01-02/hour=22")
    with pytest.raises(ValueError, match="unknown layer"):
        layout.dataset_dir("nope", "x")
    with pytest.raises(ValueError, match="naive"):
        Interval(datetime(2026, 1, 1), datetime(2026, 1, 2))
    with pytest.raises(ValueError, match="empty interval"):
        Interval(iv.end, iv.start)


def test_rerun_replaces_exactly_the_interval(tmp_path):
    layout = Layout(str(tmp_path))
    day1 = Interval(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC))
    day2 = Interval(day1.end, day1.end + timedelta(days=1))
    t0 = day1.start
    layout.write_interval("raw", "d", day1, _table([t0, t0 + timedelta(hours=1), t0 + timedelta(hours=1, minutes=5)]), "ts")
    layout.write_interval("raw", "d", day2, _table([day2.start]), "ts")
    first = layout.read_interval("raw", "d", day1)
    # Re-run day 1 with fewer rows: hour 01 disappears, day 2 is untouched.
    layout.write_interval("raw", "d", day1, _table([t0]), "ts")
    assert layout.read_interval("raw", "d", day1).num_rows == 1
    assert layout.read_interval("raw", "d", day2).num_rows == 1
    assert first.num_rows == 3
    assert not (tmp_path / "_staging").exists() or not any((tmp_path / "_staging").iterdir())


def test_identical_rerun_is_byte_identical(tmp_path):
    layout = Layout(str(tmp_path))
    iv = Interval(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 2, tzinfo=UTC))
    rows = _table([iv.start + timedelta(minutes=m) for m in (70, 3, 20)])
    [p1] = [p for p in layout.write_interval("raw", "d", iv, rows, "ts") if p.endswith("hour=00")]
    before = open(f"{p1}/part-00000.parquet", "rb").read()
    layout.write_interval("raw", "d", iv, rows.take([2, 0, 1]), "ts")  # same rows, other order
    after = open(f"{p1}/part-00000.parquet", "rb").read()
    assert before == after
    assert pq.read_table(f"{p1}/part-00000.parquet").column("ts").to_pylist() == sorted(
        pq.read_table(f"{p1}/part-00000.parquet").column("ts").to_pylist())


def test_rows_outside_interval_and_unaligned_interval_raise(tmp_path):
    layout = Layout(str(tmp_path))
    iv = Interval(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="outside interval"):
        layout.write_interval("raw", "d", iv, _table([iv.end]), "ts")
    with pytest.raises(ValueError, match="hour-aligned"):
        layout.write_interval("raw", "d", Interval(iv.start, iv.start + timedelta(minutes=30)), _table([iv.start]), "ts")
