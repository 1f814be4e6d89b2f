"""The ingest_logs stage: idempotent partitions, duplicates, late lines, bad-ratio, fsspec URLs."""

import gzip
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from opsradar.config import OpsRadarConfig
from opsradar.ingest.stage import BadRecordRatioExceeded
from opsradar.layout import Interval, Layout
from opsradar.pipeline.logs import ingest_logs

UTC = timezone.utc


def hour(h: int, day: int = 10) -> datetime:
    return datetime(2008, 11, day, h, tzinfo=UTC)


def cfg_for(tmp_path: Path, path: str, fmt: str = "loghub:HDFS", **source) -> OpsRadarConfig:
    return OpsRadarConfig.from_dict({
        "storage": {"root": str(tmp_path / "lake")},
        "log_sources": [{"name": "app", "path": path, "format": fmt, **source}],
    })


def lake_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.parquet"))}


def hdfs_line(h: int, m: int, text: str) -> bytes:
    return b"081110 %02d%02d00 1 INFO dfs.DataNode: %s\n" % (h, m, text.encode())


def test_rerun_is_byte_identical_and_counts_are_reported(tmp_path, shared_data):
    cfg = cfg_for(tmp_path, str(shared_data / "loghub/HDFS/HDFS_2k.log"))
    day = Interval(hour(0), hour(0, 11))
    first = ingest_logs(cfg, day)
    before = lake_bytes(tmp_path / "lake")
    again = ingest_logs(cfg, day)
    assert lake_bytes(tmp_path / "lake") == before
    # the first run also filled the lookback hours (2008-11-09 20:00-23:00); the second adds nothing
    assert first.counts.pop("late_partitions_updated") == 4 and "late_partitions_updated" not in again.counts
    assert first.counts == again.counts
    assert first.counts["events"] == 965 and first.counts["lines_read"] == 2000
    own = Layout(cfg.storage.root).read_interval("raw", "logs/source=app", day)
    assert own.num_rows == 965 and len(own.column("event_id").unique()) == 965
    meta = pq.ParquetFile(next((tmp_path / "lake/raw/logs/source=app/dt=2008-11-10").rglob("*.parquet"))).metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"


def test_duplicate_files_are_detected_and_ingested_once(tmp_path):
    logs = tmp_path / "in"
    logs.mkdir()
    body = b"".join(hdfs_line(10, m, f"line {m}") for m in range(60))
    (logs / "a.log").write_bytes(body)
    (logs / "b.log").write_bytes(body)  # same content, another name
    (logs / "c.log.gz").write_bytes(gzip.compress(body))  # same content, compressed
    (logs / "d.log").write_bytes(body[: len(body) // 2].rsplit(b"\n", 1)[0] + b"\n")  # an older, shorter copy
    res = ingest_logs(cfg_for(tmp_path, str(logs / "*")), Interval(hour(10), hour(11)))
    assert res.counts["duplicate_files"] == 3 and res.counts["events"] == 60 and res.counts["files"] == 1
    assert sum("duplicate file" in w for w in res.warnings) == 3
    assert any("is a prefix" in w and "d.log" in w for w in res.warnings)


def test_bad_ratio_fails_with_the_file_name_after_quarantining(tmp_path):
    logs = tmp_path / "in"
    logs.mkdir()
    (logs / "ok.log").write_bytes(b"".join(hdfs_line(10, m, "fine") for m in range(30)))
    (logs / "junk.log").write_bytes(hdfs_line(10, 0, "first") + b"not a log line\n" * 40)
    cfg = cfg_for(tmp_path, str(logs / "*.log"), max_bad_ratio=0.2)
    with pytest.raises(BadRecordRatioExceeded, match=r"junk\.log: 40 of 41 records .* parse_error=40") as err:
        ingest_logs(cfg, Interval(hour(10), hour(11)))
    assert "ok.log" not in str(err.value)
    layout = Layout(cfg.storage.root)
    bad = layout.read_interval("quarantine", "logs/source=app", Interval(hour(10), hour(11)))
    assert bad.num_rows == 40 and set(bad.column("reason").to_pylist()) == {"parse_error"}
    assert layout.read_interval("raw", "logs/source=app", Interval(hour(10), hour(11))) is None  # nothing half-done


def test_late_lines_land_in_their_event_time_partition(tmp_path):
    """Rule (docs/ingest.md): a row belongs to the hour of its event time. A run replaces
    its own hours and, within `late_lookback_hours`, adds late rows to earlier hours
    (never removing any); older late rows wait for a re-run of their interval."""
    log = tmp_path / "app.log"
    log.write_bytes(b"".join(hdfs_line(9, m, f"nine {m}") for m in range(0, 60, 2))
                    + b"".join(hdfs_line(10, m, f"ten {m}") for m in range(0, 60, 2)))
    cfg = cfg_for(tmp_path, str(log), late_lookback_hours=2)
    layout = Layout(cfg.storage.root)
    ingest_logs(cfg, Interval(hour(9), hour(10)))
    ingest_logs(cfg, Interval(hour(10), hour(11)))
    nine = layout.read_interval("raw", "logs/source=app", Interval(hour(9), hour(10)))
    assert nine.num_rows == 30
    # Late lines arrive in the live file during hour 11: one from 09:xx (inside the
    # lookback), one from 07:xx (outside it), and the regular 11:xx lines.
    with log.open("ab") as fh:
        fh.write(hdfs_line(9, 59, "late nine") + hdfs_line(7, 30, "very late seven") + hdfs_line(11, 5, "eleven"))
    res = ingest_logs(cfg, Interval(hour(11), hour(12)))
    assert res.counts["events"] == 1 and res.counts["late_partitions_updated"] == 1
    nine_after = layout.read_interval("raw", "logs/source=app", Interval(hour(9), hour(10)))
    assert nine_after.num_rows == 31 and "late nine" in nine_after.column("message").to_pylist()
    # ids of earlier rows did not change (file identity = its first KiB), so nothing is duplicated
    assert set(nine.column("event_id").to_pylist()) < set(nine_after.column("event_id").to_pylist())
    assert layout.read_interval("raw", "logs/source=app", Interval(hour(7), hour(8))) is None
    # The 07:xx line lands when its own interval is (re)run, e.g. by a backfill:
    ingest_logs(cfg, Interval(hour(7), hour(8)))
    seven = layout.read_interval("raw", "logs/source=app", Interval(hour(7), hour(8)))
    assert seven.column("message").to_pylist() == ["very late seven"]
    # Idempotent: re-running these intervals keeps the same rows (ingest_time is the
    # writing run's interval end, so a re-run of 09:00 stamps the late row 10:00 again).
    def rows():
        t = layout.read_interval("raw", "logs/source=app", Interval(hour(7), hour(12)))
        return sorted(t.drop_columns(["ingest_time"]).to_pylist(), key=lambda r: r["event_id"])

    snapshot = rows()
    for h in (9, 10, 11):
        ingest_logs(cfg, Interval(hour(h), hour(h + 1)))
    assert rows() == snapshot and len(snapshot) == 63
    before = lake_bytes(tmp_path / "lake")
    ingest_logs(cfg, Interval(hour(11), hour(12)))
    assert lake_bytes(tmp_path / "lake") == before


def test_fsspec_url_input_and_gzip(tmp_path):
    import fsspec

    fs = fsspec.filesystem("memory")
    body = b"".join(hdfs_line(10, m, f"mem {m}") for m in range(10))
    with fs.open("/opsradar-test/app.log.gz", "wb") as fh:
        fh.write(gzip.compress(body))
    try:
        res = ingest_logs(cfg_for(tmp_path, "memory://opsradar-test/*.gz"), Interval(hour(10), hour(11)))
        assert res.counts["events"] == 10
        table = Layout(str(tmp_path / "lake")).read_interval("raw", "logs/source=app", Interval(hour(10), hour(11)))
        assert table.column("file")[0].as_py() == "memory:///opsradar-test/app.log.gz"
    finally:
        fs.rm("/opsradar-test", recursive=True)


def test_syslog_source_with_timezone_through_the_stage(tmp_path):
    log = tmp_path / "messages"
    log.write_bytes(b"Nov 10 11:15:00 web1 sshd[1]: local time in Berlin\n")
    cfg = cfg_for(tmp_path, str(log), fmt="rfc3164", timezone="Europe/Berlin")
    res = ingest_logs(cfg, Interval(hour(10), hour(11)))  # 11:15 CET == 10:15 UTC
    assert res.counts["events"] == 1
    shutil.rmtree(tmp_path / "lake")
    assert os.listdir(tmp_path) == ["messages"]


def test_sink_with_more_hours_than_open_writers_keeps_every_row(tmp_path):
    from datetime import timedelta

    from opsradar.ingest.sink import MAX_OPEN_WRITERS, HourlySink
    from opsradar.schemas.arrow import METRIC_POINT

    layout = Layout(str(tmp_path / "lake"))
    start = datetime(2024, 1, 1, tzinfo=UTC)
    n_hours = MAX_OPEN_WRITERS + 36
    span = Interval(start, start + timedelta(hours=n_hours))
    sink = HourlySink(layout, "raw", "metrics/source=x", METRIC_POINT, "timestamp", ("entity", "metric", "timestamp"),
                      buffer_rows=10)
    rows = [{"timestamp": start + timedelta(hours=(i * 7) % n_hours, seconds=i), "source": "x", "entity": "e",
             "metric": "m", "value": float(i), "unit": None, "labels": None} for i in range(3 * n_hours)]
    for row in rows:  # out of order across all hours: writers get closed and reopened
        sink.append(row)
    try:
        sink.commit(span, span.start)
    finally:
        sink.discard()
    back = layout.read_interval("raw", "metrics/source=x", span)
    assert sorted(back.column("value").to_pylist()) == [r["value"] for r in rows]
    assert len(list((tmp_path / "lake/raw").rglob("part-00001.parquet"))) > 0
    assert not list((tmp_path / "lake/_staging").rglob("*.parquet"))


def test_cli_backfill_without_scheduler_equals_separate_runs(tmp_path, shared_data):
    from typer.testing import CliRunner

    from opsradar.cli import app

    cfg_file = tmp_path / "bf.toml"
    cfg_file.write_text(f'[storage]\nroot = "{tmp_path / "lake-bf"}"\n[[log_sources]]\nname = "app"\n'
                        f'path = "{shared_data / "loghub/HDFS/HDFS_2k.log"}"\nformat = "loghub:HDFS"\n')
    out = CliRunner().invoke(app, ["backfill", "--from", "2008-11-10T00:00", "--to", "2008-11-10T03:00",
                                   "--step-hours", "1", "-s", "ingest_logs", "-c", str(cfg_file)])
    assert out.exit_code == 0, out.output
    cfg = cfg_for(tmp_path, str(shared_data / "loghub/HDFS/HDFS_2k.log"))
    for h in range(3):
        ingest_logs(cfg, Interval(hour(h), hour(h + 1)))
    span = Interval(hour(0, 9), hour(3))
    a = Layout(str(tmp_path / "lake-bf")).read_interval("raw", "logs/source=app", span)
    b = Layout(cfg.storage.root).read_interval("raw", "logs/source=app", span)
    assert a.num_rows > 100 and a.equals(b)
    bad = CliRunner().invoke(app, ["backfill", "--from", "2008-11-10", "--to", "2008-11-11", "-s", "nope", "-c", str(cfg_file)])
    assert bad.exit_code == 2 and "unknown stage" in bad.output
