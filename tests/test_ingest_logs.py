"""Log ingest on the real Loghub samples and on deliberately bad input."""

import gzip
from datetime import datetime, timezone

import pytest

from opsradar.ingest.formats import compile_format, get_format, loghub_formats
from opsradar.ingest.logs import ingest_log_file
from opsradar.layout import Interval

UTC = timezone.utc
EVERYTHING = Interval(datetime(1970, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize("system", sorted(loghub_formats()))
def test_every_loghub_system_parses(shared_data, system):
    path = shared_data / "loghub" / system / f"{system}_2k.log"
    res = ingest_log_file(str(path), system, get_format(f"loghub:{system}"), EVERYTHING)
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
