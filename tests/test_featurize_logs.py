"""Log featurization on real Spark: HDFS block sessions, BGL 100-line windows, interval invariance."""

from __future__ import annotations

import csv
import re
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from opsradar.config import OpsRadarConfig
from opsradar.features.devdata import hdfs5k_clean_events, loghub_clean_events
from opsradar.ids import window_id
from opsradar.jobs.featurize_logs import featurize_logs
from opsradar.layout import Interval, Layout
from opsradar.schemas.arrow import LOG_WINDOW

pytestmark = pytest.mark.slow
UTC = timezone.utc
BLK = r"blk_-?\d+"
HDFS_SPAN = Interval(datetime(2008, 11, 9, tzinfo=UTC), datetime(2008, 11, 11, tzinfo=UTC))


def _cfg(root, logs, **features) -> OpsRadarConfig:
    return OpsRadarConfig.from_dict({"storage": {"root": str(root)}, "features": {"logs": logs, **features}})


def _ordered(events: pa.Table) -> list[dict]:
    return sorted(events.to_pylist(), key=lambda r: (r["timestamp"], r["file"], r["line_no"], r["event_id"]))


def _grouping(table: pa.Table, name: str) -> list[dict]:
    return table.filter(pc.equal(table["grouping"], name)).to_pylist()


@pytest.fixture(scope="module")
def hdfs_events(shared_data):
    return hdfs5k_clean_events(shared_data, HDFS_SPAN)


def test_hdfs_block_sessions_and_time_windows(spark, shared_data, hdfs_events, tmp_path):
    layout = Layout(str(tmp_path))
    layout.write_interval("clean", "logs/source=HDFS", HDFS_SPAN, hdfs_events, "timestamp")
    cfg = _cfg(tmp_path, [{"source": "HDFS", "label_file": str(shared_data / "hdfs/anomaly_label.csv"),
                           "groupings": [{"mode": "session", "key_regex": BLK, "anchor": "7d"},
                                         {"mode": "time", "window": "5m", "step": "1m"}]}], sequence_cap=32)
    result = featurize_logs(spark, cfg, HDFS_SPAN)
    out = layout.read_interval("features", "log_windows/source=HDFS", HDFS_SPAN)
    assert [(f.name, str(f.type)) for f in out.cast(LOG_WINDOW).schema] == [(f.name, str(f.type)) for f in LOG_WINDOW]

    # Sessions: one per block, label from anomaly_label.csv, sequence = template ids of every line naming the block.
    with open(shared_data / "hdfs/anomaly_label.csv", newline="") as fh:
        truth = {r["BlockId"]: int(r["Label"] == "Anomaly") for r in csv.DictReader(fh)}
    sessions = {w["entity"]: w for w in _grouping(out, "session")}
    assert result.counts["HDFS.windows.session"] == len(sessions) == len(truth) == 110
    keyless = sum(not re.search(BLK, m) for m in hdfs_events["message"].to_pylist())
    assert result.counts["HDFS.session.events_without_key"] == keyless
    assert {k: w["label"] for k, w in sessions.items()} == truth
    assert sum(truth.values()) == 10
    expected_seq, expected_levels = defaultdict(list), defaultdict(Counter)
    for row in _ordered(hdfs_events):
        for block in dict.fromkeys(re.findall(BLK, row["message"])):  # a line can name several blocks
            expected_seq[block].append(row["template_id"] or "unknown")
            expected_levels[block][row["level"]] += 1
    for block, w in sessions.items():
        seq = expected_seq[block]
        assert w["n_events"] == len(seq)
        assert w["template_ids"] == seq[:32] and w["sequence_cap"] == 32
        assert w["sequence_truncated"] == (len(seq) > 32)
        assert dict(w["template_counts"]) == dict(Counter(seq))
        assert dict(w["level_counts"]) == dict(expected_levels[block])
        assert 1 <= len(w["example_lines"]) <= 6 and block in w["example_lines"][0]
        assert w["window_id"] == window_id("HDFS", "session", block, w["window_start"].isoformat(), w["window_end"].isoformat())
    assert any(w["sequence_truncated"] for w in sessions.values())

    # Sliding 5-minute windows every minute: each counts exactly the events in [start, start + 5 min).
    stamps = sorted(r["timestamp"] for r in hdfs_events.to_pylist())
    windows = _grouping(out, "time")
    assert windows and result.counts["HDFS.windows.time"] == len(windows)
    for w in windows:
        assert w["window_end"] - w["window_start"] == timedelta(minutes=5) and w["window_start"].second == 0
        assert w["n_events"] == sum(w["window_start"] <= t < w["window_end"] for t in stamps)
        assert sum(dict(w["template_counts"]).values()) == w["n_events"]
    covering = {w["window_start"] for w in windows}
    minute = stamps[0].replace(second=0)
    assert {minute - timedelta(minutes=k) for k in range(5)} <= covering  # the first event is in 5 windows

    # Log-derived service metrics: events/s per minute add up to all events of the interval.
    metrics = layout.read_interval("features", "log_metrics/source=HDFS", HDFS_SPAN)
    rates = metrics.filter(pc.equal(metrics["metric"], "log.events_per_s"))
    assert round(pc.sum(rates["value"]).as_py() * 60) == hdfs_events.num_rows

    # Re-running the interval replaces it with identical rows (no duplicates).
    featurize_logs(spark, cfg, HDFS_SPAN)
    again = layout.read_interval("features", "log_windows/source=HDFS", HDFS_SPAN)
    assert again.sort_by("window_id").equals(out.sort_by("window_id"))


def test_bgl_100_line_windows_carry_line_labels(spark, shared_data, tmp_path):
    span = Interval(datetime(2005, 6, 3, tzinfo=UTC), datetime(2006, 1, 4, tzinfo=UTC))
    events = loghub_clean_events(shared_data, "BGL", span)
    assert events.num_rows >= 1999  # ingest quarantines the last line (a 7-day jump in the timeline)
    layout = Layout(str(tmp_path))
    layout.write_interval("clean", "logs/source=BGL", span, events, "timestamp")
    # One anchor period holding the whole sample = the literature's global 100-line windows.
    cfg = _cfg(tmp_path, [{"source": "BGL", "groupings": [{"mode": "count", "lines": 100, "entity_fields": [],
                                                            "anchor": "1024d"}]}])
    featurize_logs(spark, cfg, span)
    windows = sorted(_grouping(layout.read_interval("features", "log_windows/source=BGL", span), "count"),
                     key=lambda w: w["window_start"])
    rows = _ordered(events)
    chunks = [rows[i:i + 100] for i in range(0, len(rows), 100)]
    assert len(windows) == len(chunks) == 20
    expected_labels = [int(any(r["labels"] and dict(r["labels"])["label"] != "-" for r in c)) for c in chunks]
    assert [w["label"] for w in windows] == expected_labels
    assert 0 < sum(expected_labels) < 20
    for w, chunk in zip(windows, chunks):
        assert w["n_events"] == len(chunk) and w["entity"] == "BGL"
        assert (w["window_start"], w["window_end"]) == (chunk[0]["timestamp"], chunk[-1]["timestamp"])
        assert w["template_ids"] == [r["template_id"] for r in chunk]
        errors = sum(r["level"] in ("ERROR", "FATAL") for r in chunk)
        assert w["error_ratio"] == pytest.approx(errors / len(chunk))
        assert w["distinct_hosts"] == len({r["host"] for r in chunk})
        if errors:
            assert any(" FATAL " in x or " ERROR " in x for x in w["example_lines"])


def test_consecutive_intervals_equal_one_long_run(spark, hdfs_events, tmp_path):
    logs = [{"source": "HDFS", "groupings": [
        {"mode": "session", "key_regex": BLK, "anchor": "6h"},
        {"mode": "time", "name": "sliding", "window": "5m", "step": "1m"},
        {"mode": "count", "lines": 100, "entity_fields": [], "anchor": "6h"}]}]
    day = Interval(datetime(2008, 11, 9, 18, tzinfo=UTC), datetime(2008, 11, 10, 12, tzinfo=UTC))
    cuts = [day.start, datetime(2008, 11, 9, 21, tzinfo=UTC), day.end]  # HDFS_5k is busiest 20:35-21:59
    tables = {}
    for name, intervals in {"long": [day], "backfill": [Interval(a, b) for a, b in zip(cuts, cuts[1:])]}.items():
        layout = Layout(str(tmp_path / name))
        layout.write_interval("clean", "logs/source=HDFS", HDFS_SPAN, hdfs_events, "timestamp")
        for interval in intervals:
            featurize_logs(spark, _cfg(tmp_path / name, logs), interval)
        tables[name] = layout.read_interval("features", "log_windows/source=HDFS", day).sort_by("window_id")
    long, backfill = tables["long"], tables["backfill"]
    assert long.num_rows > 0 and backfill.equals(long)
    # The cuts really do split windows: some start before a cut and end after it.
    spans = list(zip(long["window_start"].to_pylist(), long["window_end"].to_pylist(), long["grouping"].to_pylist()))
    straddling = {g for s, e, g in spans for cut in cuts[1:-1] if s < cut < e}
    assert {"session", "sliding", "count"} <= straddling
