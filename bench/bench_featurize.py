"""Benchmark: featurize jobs' rows/s against Spark's bare read of the same input, same run.

Logs: HDFS_5k (clean, ground-truth templates) replicated `--copies` times (block ids and
host renamed per copy, so sessions stay distinct), featurized with sessions by block id,
5-minute/1-minute sliding windows per host and 100-line windows. Metrics: the NAB
machine_temperature series (22,695 points) resampled to 5 minutes with 1h/1d horizons.
Baseline: `spark.read.parquet(<same partitions>)` materialised with the `noop` writer.

    .venv/bin/python bench/bench_featurize.py --copies 8 --repeat 2 --out bench/results/featurize.md
"""

from __future__ import annotations

import argparse
import platform
import re
import shutil
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from opsradar.config import OpsRadarConfig, SparkConfig
from opsradar.features.devdata import covering_interval, hdfs5k_clean_events, nab_metric_points
from opsradar.features.io import read_range
from opsradar.ids import stable_id
from opsradar.jobs.featurize_logs import featurize_logs
from opsradar.jobs.featurize_metrics import featurize_metrics
from opsradar.layout import Interval, Layout
from opsradar.spark import spark_session

UTC = timezone.utc
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SPAN = Interval(datetime(2008, 11, 9, tzinfo=UTC), datetime(2008, 11, 11, tzinfo=UTC))


def replicated_hdfs(copies: int) -> pa.Table:
    base = hdfs5k_clean_events(DATA, SPAN)
    parts = []
    for k in range(copies):
        msgs = [re.sub(r"blk_(-?)(\d+)", lambda m: f"blk_{m[1]}{k}{m[2]}", x) for x in base["message"].to_pylist()]
        ids = [stable_id(e, k) for e in base["event_id"].to_pylist()]
        t = base.set_column(base.schema.get_field_index("message"), "message", pa.array(msgs))
        t = t.set_column(t.schema.get_field_index("event_id"), "event_id", pa.array(ids))
        t = t.set_column(t.schema.get_field_index("host"), "host", pa.array([f"dn{k}"] * len(t), pa.string()))
        parts.append(t)
    return pa.concat_tables(parts)


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--out", default="bench/results/featurize.md")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="opsradar-bench-featurize-"))
    spark = spark_session(SparkConfig(shuffle_partitions=2))
    spark.sparkContext.setLogLevel("ERROR")
    try:
        layout = Layout(str(root))
        events = replicated_hdfs(args.copies)
        layout.write_interval("clean", "logs/source=HDFS", SPAN, events, "timestamp")
        points = nab_metric_points(DATA, "realKnownCause/machine_temperature_system_failure", source="nab")
        mspan = covering_interval(points)
        mspan = Interval(mspan.start.replace(hour=0), mspan.end)
        layout.write_interval("raw", "metrics/source=nab", mspan, points, "timestamp")
        cfg = OpsRadarConfig.from_dict({"storage": {"root": str(root)}, "features": {
            "logs": [{"source": "HDFS", "groupings": [
                {"mode": "session", "key_regex": r"blk_-?\d+", "anchor": "7d"},
                {"mode": "time", "window": "5m", "step": "1m", "entity_fields": ["host"]},
                {"mode": "count", "lines": 100, "entity_fields": ["host"]}]}],
            "metrics": [{"source": "nab", "step": "5m", "horizons": ["1h", "1d"]}]}})

        def bare(layer, dataset, start, end):
            read_range(spark, layout, layer, dataset, start, end).write.format("noop").mode("overwrite").save()

        featurize_logs(spark, cfg, SPAN)  # warm-up (JIT, Python workers)
        rows = []
        t_read = best_of(args.repeat, lambda: bare("clean", "logs/source=HDFS", SPAN.start, SPAN.end))
        t_feat = best_of(args.repeat, lambda: featurize_logs(spark, cfg, SPAN))
        windows = layout.read_interval("features", "log_windows/source=HDFS", SPAN)
        rows.append(("featurize_logs (session + sliding time + count)", events.num_rows, t_read, t_feat,
                     f"{windows.num_rows:,} windows"))
        t_read = best_of(args.repeat, lambda: bare("raw", "metrics/source=nab", mspan.start, mspan.end))
        t_feat = best_of(args.repeat, lambda: featurize_metrics(spark, cfg, mspan))
        steps = layout.read_interval("features", "metrics/source=nab", mspan)
        rows.append(("featurize_metrics (5m step, 1h/1d rolling)", points.num_rows, t_read, t_feat,
                     f"{steps.num_rows:,} steps, {pc.sum(steps['is_gap']).as_py()} gaps"))
    finally:
        spark.stop()
        shutil.rmtree(root, ignore_errors=True)

    lines = [
        "# Featurize benchmark",
        "",
        f"Command: `.venv/bin/python bench/bench_featurize.py --copies {args.copies} --repeat {args.repeat}`  ",
        f"Machine: 2-core VM, 24 GiB, no GPU (shared with other jobs; absolute times are noisy, the ratio is the figure)  ",
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; Python {platform.python_version()}, Spark local[2], "
        f"best of {args.repeat}.",
        "",
        "Baseline: Spark's bare read of the same partitions (`read.parquet` materialised with the `noop` writer).",
        "",
        "| job | input rows | bare read s | rows/s (read) | featurize s | rows/s (featurize) | featurize / read time | output |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, n, t_read, t_feat, output in rows:
        lines.append(f"| {name} | {n:,} | {t_read:.2f} | {n / t_read:,.0f} | {t_feat:.2f} | {n / t_feat:,.0f} | "
                     f"{t_feat / t_read:.1f}x | {output} |")
    lines += [
        "",
        "Notes: inputs are tiny, so fixed per-stage and per-file costs dominate. The log job runs three groupings",
        "(each a shuffle plus aggregations), a novelty window, window ids in Arrow batches, a partitioned write",
        "and the log-derived metrics; the metric input spans ~1,900 hour partitions (80 days), so even the bare",
        "read pays per-file overhead. Re-run with more `--copies` to see the ratio on larger inputs.",
    ]
    text = "\n".join(lines) + "\n"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
