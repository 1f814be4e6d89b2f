"""Log ingest on the real Loghub samples and on deliberately bad input."""

import gzip
from datetime import datetime, timedelta, timezone

import pytest

from opsradar.ingest.formats import compile_format, get_format, loghub_formats
from opsradar.ingest.logs import ingest_log_file
from opsradar.layout import Interval

UTC = timezone.utc
EVERYTHING = Interval(datetime(1970, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize("system", sorted(loghub_formats()))
def test_every_loghub_system_parses(shared_data, system):
    path = shared_data / "loghub" / system / f"{system}_2k.log"
    # The HPC sample is a random sample of three years of lines, not in time order: widen
    # the clock-outlier tolerance for it (LogSourceConfig.time_tolerance_hours).
    tolerance = timedelta(days=4 * 365) if system == "HPC" else timedelta(days=7)
    res = ingest_log_file(str(path), system, get_format(f"loghub:{system}"), EVERYTHING, tolerance=tolerance)
    assert res.lines_read == 2000
    assert res.events.num_rows / res.lines_read >= 0.99, res.reasons
    assert res.events.num_rows + res.quarantine.num_rows == res.lines_read  # nothing silently lost
    assert len(res.events.column("event_id").unique()) == res.events.num_rows


def test_loghub_fields_match_ground_truth_content(shared_data):
    """Our Content equals the benchmark's structured Content for HDFS."""
    import csv

    system = "HDFS"
    res = ingest_log_file(str(shared_data / "loghub" / system / f"{system}_2k.log"), system, get_format(system), EVERYTHING)
    with open(shared_data / "loghub" / system / f"{system}_2k.log_structured.csv", newline="") as fh:
        truth = [r["Content"] for r in csv.DictReader(fh)]
    assert res.events.column("message").to_pylist() == [t.strip() for t in truth]
    assert set(res.events.column("level").to_pylist()) <= {"INFO", "WARN", "ERROR"}


def test_bgl_label_kept_in_labels(shared_data):
    res = ingest_log_file(str(shared_data / "loghub/BGL/BGL_2k.log"), "BGL", get_format("BGL"), EVERYTHING)
    labels = [dict(m)["label"] for m in res.events.column("labels").to_pylist()]
    assert sum(1 for x in labels if x != "-") == 143  # README: 143 alert lines


def test_interval_filter_and_stable_ids(shared_data):
    day = Interval(datetime(2008, 11, 10, tzinfo=UTC), datetime(2008, 11, 11, tzinfo=UTC))
    path = str(shared_data / "loghub/HDFS/HDFS_2k.log")
    a = ingest_log_file(path, "HDFS", get_format("HDFS"), day)
    b = ingest_log_file(path, "HDFS", get_format("HDFS"), day)
    assert a.events.num_rows == 965 and a.outside_interval == 2000 - 965
    assert a.events.equals(b.events)


def test_bad_lines_are_quarantined_with_reasons(tmp_path):
    good = b"081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 terminating\n"
    lines = [
        good,
        b"\xff\xfe garbage not utf8\n",
        b"this line does not match the format\n",
        b"\n",
        b"081109 253615 148 INFO dfs.X: hour 25 is not a time\n",
        b"081109 203616 148 INFO dfs.X: " + b"A" * 5000 + b"\n",
        good,
    ]
    path = tmp_path / "bad.log"
    path.write_bytes(b"".join(lines))
    res = ingest_log_file(str(path), "t", get_format("HDFS"), EVERYTHING, max_line_bytes=1024)
    reasons = res.quarantine.column("reason").to_pylist()
    assert reasons == ["invalid_utf8", "parse_error", "empty_line", "bad_timestamp", "line_too_long"]
    assert res.quarantine.column("line_no").to_pylist() == [2, 3, 4, 5, 6]
    assert all(len(r) <= 4096 for r in res.quarantine.column("raw").to_pylist())
    assert "bad.log:3" in res.quarantine.column("detail")[1].as_py()
    assert res.events.num_rows == 2
    assert res.events.column("line_no").to_pylist() == [1, 7]


def test_format_compiler_rejects_format_without_content():
    with pytest.raises(ValueError, match="no <Content>"):
        compile_format("<Date> <Time>")
    regex, names = compile_format(r"<Date> <Time> \[<Level>\] <Content>")
    assert names == ["Date", "Time", "Level", "Content"]
    assert regex.match("2020-01-01 10:00:00  [INFO] hello world").group("Content") == "hello world"


def test_unknown_format_lists_known():
    with pytest.raises(KeyError, match="loghub:HDFS"):
        get_format("loghub:Nope")


# -- syslog, JSON, CRI, gzip, bad input ----------------------------------------------
from types import SimpleNamespace  # noqa: E402

from opsradar.ingest.parsers import build_parser  # noqa: E402


def _source(fmt, **kw):
    return SimpleNamespace(name="s", format=fmt, field_map=kw.get("field_map"), time_format=kw.get("time_format"),
                           pattern=None, time_fields=[])


def _ingest(tmp_path, name, data: bytes, fmt="syslog", interval=EVERYTHING, **kw):
    path = tmp_path / name
    path.write_bytes(data)
    return ingest_log_file(str(path), "s", build_parser(_source(fmt, **kw)), interval, **kw.get("opts", {}))


def test_rfc5424_with_structured_data(tmp_path):
    line = (b'<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 42 ID47 '
            b'[exampleSDID@32473 iut="3" eventSource="Appl\\"ication"][meta seq="1"] \xef\xbb\xbfAn application event\n')
    res = _ingest(tmp_path, "a.log", line + b'<34>1 2003-10-11T22:14:16Z host su - - - no sd here\n', fmt="rfc5424")
    rows = res.events.to_pylist()
    assert [r["message"] for r in rows] == ["An application event", "no sd here"]
    first = rows[0]
    assert first["timestamp"] == datetime(2003, 10, 11, 22, 14, 15, 3000, tzinfo=UTC)
    assert (first["host"], first["component"], first["pid"], first["level"]) == ("mymachine.example.com", "evntslog", "42", "notice")
    labels = dict(first["labels"])
    assert labels["exampleSDID@32473.eventSource"] == 'Appl"ication' and labels["meta.seq"] == "1"
    assert labels["syslog.facility"] == "20" and labels["syslog.msgid"] == "ID47"
    assert rows[1]["level"] == "crit" and rows[1]["pid"] is None


def test_rfc3164_year_inferred_from_interval_and_timezone_applied(tmp_path):
    data = (b"<13>Dec 31 23:59:58 web1 sshd[811]: Accepted publickey for root\n"
            b"Jan  1 00:00:01 web1 cron: (root) CMD (run-parts)\n")
    # A January interval: the "Dec 31" line is from the previous year.
    jan = Interval(datetime(2025, 12, 31, 22, tzinfo=UTC), datetime(2026, 1, 1, 2, tzinfo=UTC))
    res = _ingest(tmp_path, "m.log", data, fmt="rfc3164", interval=jan)
    assert res.events.column("timestamp").to_pylist() == [
        datetime(2025, 12, 31, 23, 59, 58, tzinfo=UTC), datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC)]
    assert res.events.column("component").to_pylist() == ["sshd", "cron"]
    assert res.events.column("pid").to_pylist() == ["811", None]
    # Naive times take the configured zone: 00:00:01 in Berlin (UTC+1) is 23:00:01 UTC.
    berlin = ingest_log_file(str(tmp_path / "m.log"), "s", build_parser(_source("syslog")), jan, tz="Europe/Berlin")
    assert berlin.events.column("timestamp").to_pylist() == [
        datetime(2025, 12, 31, 22, 59, 58, tzinfo=UTC), datetime(2025, 12, 31, 23, 0, 1, tzinfo=UTC)]


def test_json_lines_with_field_map_docker_and_cri(tmp_path):
    generic = (b'{"time": "2024-05-01T10:00:00+02:00", "severity": "ERROR", "text": "disk full", "svc": {"name": "api"}, "k8s": {"pod": "p-1"}}\n'
               b'{"time": 1714550401.5, "severity": "INFO", "text": "ok", "svc": {"name": "api"}}\n'
               b'[1, 2, 3]\n{"severity": "INFO", "text": "no time"}\n{not json\n')
    res = _ingest(tmp_path, "app.jsonl", generic, fmt="jsonl",
                  field_map={"timestamp": "time", "level": "severity", "message": "text", "service": "svc.name"})
    rows = res.events.to_pylist()
    assert [(r["timestamp"], r["level"], r["message"], r["service"]) for r in rows] == [
        (datetime(2024, 5, 1, 8, 0, tzinfo=UTC), "ERROR", "disk full", "api"),
        (datetime(2024, 5, 1, 8, 0, 1, 500000, tzinfo=UTC), "INFO", "ok", "api")]
    assert dict(rows[0]["labels"]) == {"k8s": '{"pod": "p-1"}'}
    assert res.quarantine.column("reason").to_pylist() == ["parse_error", "bad_timestamp", "parse_error"]

    docker = b'{"log":"GET /health 200\\n","stream":"stdout","time":"2024-05-01T08:00:00.123456789Z"}\n'
    res = _ingest(tmp_path, "c-json.log", docker, fmt="docker")
    assert res.events.column("message").to_pylist() == ["GET /health 200"]
    assert dict(res.events.column("labels")[0].as_py()) == {"stream": "stdout"}

    cri = b"2024-05-01T08:00:00.123456789Z stderr F panic: boom\n2024-05-01T08:00:01Z stdout P part of a long \n"
    res = _ingest(tmp_path, "pod.log", cri, fmt="cri")
    assert res.events.column("message").to_pylist() == ["panic: boom", "part of a long "]
    assert dict(res.events.column("labels")[1].as_py()) == {"stream": "stdout", "partial": "true"}


SYSLOG_OK = b"<13>Nov 10 10:00:00 h app: ok line\n"


def test_gzip_plain_and_truncated(tmp_path):
    payload = SYSLOG_OK * 5000
    (tmp_path / "x.log.gz").write_bytes(gzip.compress(payload))
    day = Interval(datetime(2008, 11, 10, tzinfo=UTC), datetime(2008, 11, 11, tzinfo=UTC))
    whole = ingest_log_file(str(tmp_path / "x.log.gz"), "s", build_parser(_source("syslog")), day)
    assert whole.events.num_rows == 5000 and whole.quarantine.num_rows == 0
    # Truncated gzip: the lines before the cut are kept, the cut is quarantined (no crash).
    blob = gzip.compress(payload)
    (tmp_path / "cut.log.gz").write_bytes(blob[: len(blob) // 2])
    cut = ingest_log_file(str(tmp_path / "cut.log.gz"), "s", build_parser(_source("syslog")), day)
    assert 0 < cut.events.num_rows < 5000
    assert cut.quarantine.column("reason").to_pylist() == ["truncated_gzip"]
    assert cut.reasons == {"truncated_gzip": 1}
    assert cut.events.num_rows == cut.lines_read  # complete lines before the cut are kept
    import zlib

    readable = zlib.decompressobj(wbits=31).decompress(blob[: len(blob) // 2])
    assert cut.events.num_rows == readable.count(b"\n")  # every complete line zlib can recover


def test_binary_garbage_ten_mb_line_and_empty_file(tmp_path):
    import os
    import random

    day = Interval(datetime(2008, 11, 10, tzinfo=UTC), datetime(2008, 11, 11, tzinfo=UTC))
    parser = build_parser(_source("syslog"))
    rnd = random.Random(7)
    garbage = bytes(rnd.randrange(256) for _ in range(20000))
    (tmp_path / "g.log").write_bytes(SYSLOG_OK + garbage + b"\n" + SYSLOG_OK)
    res = ingest_log_file(str(tmp_path / "g.log"), "s", parser, day)
    reasons = set(res.quarantine.column("reason").to_pylist())
    assert res.events.num_rows == 2 and reasons <= {"binary", "invalid_utf8"} and "binary" in reasons
    assert res.events.num_rows + res.quarantine.num_rows == res.lines_read

    (tmp_path / "big.log").write_bytes(SYSLOG_OK + b"<13>Nov 10 10:00:01 h app: " + b"x" * (10 << 20) + b"\n" + SYSLOG_OK)
    res = ingest_log_file(str(tmp_path / "big.log"), "s", parser, day)  # default max_line_bytes: 1 MiB
    assert res.reasons == {"line_too_long": 1} and res.events.num_rows == 2
    assert len(res.quarantine.column("raw")[0].as_py()) == 4096
    assert res.events.column("line_no").to_pylist() == [1, 3]
    assert res.events.column("byte_offset")[1].as_py() == len(SYSLOG_OK) + 27 + (10 << 20) + 1

    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    stamp = datetime(2008, 11, 10, 12, tzinfo=UTC).timestamp()
    os.utime(empty, (stamp, stamp))  # a file without lines is attributed to its modification hour
    res = ingest_log_file(str(empty), "s", parser, day)
    assert res.reasons == {"empty_file": 1} and res.events.num_rows == 0
    assert res.quarantine.column("interval_start").to_pylist() == [datetime(2008, 11, 10, 12, tzinfo=UTC)]


def test_far_outside_timestamps_are_quarantined_once(tmp_path):
    lines = [b"081110 %02d0000 1 INFO a.B: line %d\n" % (h, h) for h in range(6)]
    lines.insert(2, b"700101 000000 1 INFO a.B: clock reset to 1970\n")
    lines.insert(4, b"991231 235959 1 INFO a.B: clock in 2099\n")
    path = tmp_path / "far.log"
    path.write_bytes(b"".join(lines))
    fmt = get_format("HDFS")
    res = ingest_log_file(str(path), "s", fmt, EVERYTHING, tolerance=timedelta(hours=6))
    assert res.quarantine.column("reason").to_pylist() == ["timestamp_out_of_range"] * 2
    assert res.quarantine.column("line_no").to_pylist() == [3, 5]
    assert "1970-01-01" in res.quarantine.column("detail")[0].as_py()
    assert res.events.num_rows == 6
    # Split into hourly intervals, each far line is quarantined in exactly one of them
    # (the hour of the last good line before it), and each good line is an event once.
    hours = [Interval(datetime(2008, 11, 10, h, tzinfo=UTC), datetime(2008, 11, 10, h + 1, tzinfo=UTC)) for h in range(6)]
    runs = [ingest_log_file(str(path), "s", fmt, i, tolerance=timedelta(hours=6)) for i in hours]
    assert [r.quarantine.num_rows for r in runs] == [0, 1, 1, 0, 0, 0]  # after the 01:00 and 02:00 lines
    assert sum(r.events.num_rows for r in runs) == 6


def test_gap_in_file_reanchors_after_three_lines(tmp_path):
    lines = [b"081110 000000 1 INFO a.B: before\n"] + [b"081120 00000%d 1 INFO a.B: after %d\n" % (i, i) for i in range(5)]
    path = tmp_path / "gap.log"
    path.write_bytes(b"".join(lines))
    res = ingest_log_file(str(path), "s", get_format("HDFS"), EVERYTHING, tolerance=timedelta(days=1))
    # a 10-day gap > tolerance: the first two lines after it are quarantined, then the timeline moves
    assert res.quarantine.column("line_no").to_pylist() == [2, 3]
    assert res.events.column("line_no").to_pylist() == [1, 4, 5, 6]


def test_fast_event_ids_match_the_shared_definition():
    from opsradar.ids import event_id
    from opsradar.ingest.logs import EventIds

    ids = EventIds("src-é", "abc123")
    assert [ids(o) for o in (0, 1, 10**12)] == [event_id("src-é", "abc123", o) for o in (0, 1, 10**12)]
