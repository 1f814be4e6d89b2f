"""Metric formats round-trip into METRIC_POINT Parquet with their labels intact."""

import csv
import os
from datetime import datetime, timezone

from opsradar.config import OpsRadarConfig
from opsradar.layout import Interval, Layout
from opsradar.pipeline.metrics import ingest_metrics

UTC = timezone.utc
DAY = Interval(datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 5, 2, tzinfo=UTC))


def run(tmp_path, interval=DAY, **source):
    cfg = OpsRadarConfig.from_dict({"storage": {"root": str(tmp_path / "lake")},
                                    "metric_sources": [{"name": "m", **source}]})
    res = ingest_metrics(cfg, interval)
    layout = Layout(cfg.storage.root)
    return res, layout.read_interval("raw", "metrics/source=m", interval), layout.read_interval("quarantine", "metrics/source=m", interval)


def test_long_csv_round_trip_and_bad_rows(tmp_path):
    rows = [
        ("2024-05-01T10:00:00Z", "web-1", "eu", "cpu_usage", "0.5", "ratio"),
        ("2024-05-01T10:00:00Z", "web-2", "us", "cpu_usage", "0.25", "ratio"),
        ("2024-05-01 10:01:00", "web-1", "eu", "mem_bytes", "1e9", "bytes"),  # naive: the source's zone
        ("2024-05-01T10:02:00Z", "web-1", "eu", "cpu_usage", "n/a", "ratio"),
        ("not a time", "web-1", "eu", "cpu_usage", "1", "ratio"),
        ("2024-05-01T10:03:00Z", "web-1", "eu"),
    ]
    path = tmp_path / "metrics.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["timestamp", "host", "region", "metric", "value", "unit"])
        w.writerows(rows)
    res, points, bad = run(tmp_path, path=str(path), format="csv_long", unit_column="unit",
                           timezone="Europe/Berlin", labels={"env": "prod"})
    got = sorted(points.to_pylist(), key=lambda r: (r["timestamp"], r["entity"], r["metric"]))
    assert [(r["timestamp"], r["entity"], r["metric"], r["value"], r["unit"], dict(r["labels"])) for r in got] == [
        (datetime(2024, 5, 1, 8, 1, tzinfo=UTC), "env=prod,host=web-1,region=eu", "mem_bytes", 1e9, "bytes",
         {"env": "prod", "host": "web-1", "region": "eu"}),
        (datetime(2024, 5, 1, 10, 0, tzinfo=UTC), "env=prod,host=web-1,region=eu", "cpu_usage", 0.5, "ratio",
         {"env": "prod", "host": "web-1", "region": "eu"}),
        (datetime(2024, 5, 1, 10, 0, tzinfo=UTC), "env=prod,host=web-2,region=us", "cpu_usage", 0.25, "ratio",
         {"env": "prod", "host": "web-2", "region": "us"}),
    ]
    assert sorted(bad.column("reason").to_pylist()) == ["bad_timestamp", "bad_value", "parse_error"]
    assert res.counts["points"] == 3 and res.counts["quarantined.bad_value"] == 1
    assert "metrics.csv:5" in " ".join(bad.column("detail").to_pylist())


def test_wide_csv_nab_series(tmp_path, shared_data):
    src = shared_data / "nab/data/realKnownCause/machine_temperature_system_failure.csv"
    day = Interval(datetime(2013, 12, 10, tzinfo=UTC), datetime(2013, 12, 11, tzinfo=UTC))
    res, points, bad = run(tmp_path, day, path=str(src), format="csv_wide", metric="temperature", unit="degF")
    with src.open() as fh:
        expected = [(r["timestamp"], float(r["value"])) for r in csv.DictReader(fh) if r["timestamp"].startswith("2013-12-10")]
    assert len(expected) > 250 and bad is None
    assert [(t.strftime("%Y-%m-%d %H:%M:%S"), v) for t, v in zip(points.column("timestamp").to_pylist(),
                                                                  points.column("value").to_pylist())] == expected
    assert set(points.column("entity").to_pylist()) == {"series=machine_temperature_system_failure"}
    assert set(points.column("metric").to_pylist()) == {"temperature"} and set(points.column("unit").to_pylist()) == {"degF"}


PROM = """# HELP http_requests_total The total number of HTTP requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1714557600000
http_requests_total{method="post",code="400"}    3 1714557600000
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.5",service="a b, \\"c\\""} 4773
rpc_duration_seconds_sum 1.7560473e+07
this is { not valid
"""

OPENMETRICS = """# TYPE queue_depth gauge
# UNIT queue_depth messages
# HELP queue_depth Depth.
queue_depth{queue="jobs"} 12 1714557660.5
# EOF
"""


def test_prometheus_and_openmetrics_keep_labels(tmp_path):
    folder = tmp_path / "snap"
    folder.mkdir()
    (folder / "a.prom").write_text(PROM)
    (folder / "b.om").write_text(OPENMETRICS)
    snap = datetime(2024, 5, 1, 10, 5, tzinfo=UTC).timestamp()
    os.utime(folder / "a.prom", (snap, snap))  # samples without a timestamp take the file's time
    res, points, bad = run(tmp_path, path=str(folder / "*"), format="prometheus", labels={"instance": "web-1:9100"})
    got = {(r["metric"], r["entity"]): (r["timestamp"], r["value"], r["unit"]) for r in points.to_pylist()}
    assert got == {
        ("http_requests_total", "code=200,instance=web-1:9100,method=post"): (datetime(2024, 5, 1, 10, 0, tzinfo=UTC), 1027.0, None),
        ("http_requests_total", "code=400,instance=web-1:9100,method=post"): (datetime(2024, 5, 1, 10, 0, tzinfo=UTC), 3.0, None),
        ("rpc_duration_seconds", 'instance=web-1:9100,quantile=0.5,service=a b, "c"'): (datetime(2024, 5, 1, 10, 5, tzinfo=UTC), 4773.0, None),
        ("rpc_duration_seconds_sum", "instance=web-1:9100"): (datetime(2024, 5, 1, 10, 5, tzinfo=UTC), 1.7560473e7, None),
        ("queue_depth", "instance=web-1:9100,queue=jobs"): (datetime(2024, 5, 1, 10, 1, 0, 500000, tzinfo=UTC), 12.0, "messages"),
    }
    labels = {r["metric"] + str(sorted(r["labels"])) for r in points.to_pylist()}
    assert "rpc_duration_seconds" + str(sorted({"instance": "web-1:9100", "quantile": "0.5", "service": 'a b, "c"'}.items())) in labels
    assert bad.column("reason").to_pylist() == ["parse_error"] and bad.column("line_no").to_pylist() == [8]
