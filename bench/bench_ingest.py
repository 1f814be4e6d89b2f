"""Ingest benchmark: peak RSS and lines/s of `ingest_logs` on generated 100 MB and 1 GB
HDFS-format files, against a bare line-count read of the same files in the same run.

    .venv/bin/python bench/bench_ingest.py [--sizes-mb 100 1024] [--out bench/results/ingest.md]

Each measurement runs in a fresh subprocess, so its peak RSS (ru_maxrss) is its own.
Files and the lake go to a temporary folder under /tmp and are deleted afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE = Path(os.environ.get("OPSRADAR_DATA", REPO.parent / "shared" / "data")) / "loghub/HDFS/HDFS_2k.log"
START = datetime(2026, 1, 1, tzinfo=timezone.utc)
LINES_PER_SECOND = 20


def generate(path: Path, size_mb: int) -> int:
    """HDFS sample lines, re-stamped to advance one second every LINES_PER_SECOND lines."""
    bodies = [ln.rstrip("\r\n")[13:] for ln in SAMPLE.open(encoding="utf-8")]
    target = size_mb << 20
    written = n = 0
    from tqdm import tqdm

    with path.open("wb", buffering=1 << 20) as fh, tqdm(total=target, unit="B", unit_scale=True, desc=f"generate {path.name}") as bar:
        while written < target:
            ts = START + timedelta(seconds=n // LINES_PER_SECOND)
            chunk = []
            for i in range(LINES_PER_SECOND):
                chunk.append(f"{ts:%y%m%d %H%M%S}{bodies[(n + i) % len(bodies)]}\n".encode())
            data = b"".join(chunk)
            fh.write(data)
            written += len(data)
            n += LINES_PER_SECOND
            bar.update(len(data))
    return n


CHILD_BASELINE = """
import resource, sys, time, json
t = time.perf_counter(); n = 0
with open(sys.argv[1], 'rb', buffering=1 << 20) as fh:
    for _ in fh: n += 1
print(json.dumps({'lines': n, 'seconds': time.perf_counter() - t,
                  'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

CHILD_INGEST = """
import resource, sys, time, json
from datetime import datetime, timedelta, timezone
from opsradar.config import OpsRadarConfig
from opsradar.layout import Interval
from opsradar.pipeline.logs import ingest_logs
path, lake, hours = sys.argv[1], sys.argv[2], int(sys.argv[3])
start = datetime(2026, 1, 1, tzinfo=timezone.utc)
cfg = OpsRadarConfig.from_dict({'storage': {'root': lake},
    'log_sources': [{'name': 'bench', 'path': path, 'format': 'loghub:HDFS', 'late_lookback_hours': 0}]})
t = time.perf_counter()
res = ingest_logs(cfg, Interval(start, start + timedelta(hours=hours)))
print(json.dumps({'lines': res.counts['lines_read'], 'events': res.counts.get('events', 0),
                  'partitions': len(res.outputs), 'seconds': time.perf_counter() - t,
                  'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def child(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes-mb", type=int, nargs="+", default=[100, 1024])
    ap.add_argument("--out", default=str(REPO / "bench/results/ingest.md"))
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="opsradar-bench-ingest-", dir="/tmp"))
    rows = []
    try:
        for size in args.sizes_mb:
            path = work / f"hdfs_{size}mb.log"
            n = generate(path, size)
            hours = n // LINES_PER_SECOND // 3600 + 2
            base = child(CHILD_BASELINE, str(path))
            print(f"{size} MB baseline: {base}", flush=True)
            ing = child(CHILD_INGEST, str(path), str(work / f"lake{size}"), str(hours))
            print(f"{size} MB ingest:   {ing}", flush=True)
            assert ing["lines"] == base["lines"] == ing["events"], (base, ing)
            rows.append((size, path.stat().st_size, base, ing))
            path.unlink()
            shutil.rmtree(work / f"lake{size}", ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write_report(Path(args.out), rows, " ".join(sys.argv[1:]))


def write_report(out: Path, rows: list, argv: str) -> None:
    small, big = rows[0], rows[-1]
    lines = [
        "# Ingest benchmark: streaming log ingest, flat memory",
        "",
        f"Command: `.venv/bin/python bench/bench_ingest.py{(' ' + argv) if argv else ''}`",
        f"Machine: 2-core VM, 24 GiB, no GPU (Python {platform.python_version()}, shared with other jobs); "
        f"date {datetime.now(timezone.utc):%Y-%m-%d}.",
        "",
        "Input: generated HDFS-format files (Loghub HDFS_2k lines re-stamped, 20 lines per second), "
        "`ingest_logs` over one interval covering the whole file: parse, ids, hourly zstd Parquet partitions, "
        "atomic commit. Baseline: a bare `for line in file` count of the same file in the same run. "
        "Each measurement is a fresh subprocess (peak RSS = its ru_maxrss).",
        "",
        "| file | lines | baseline lines/s | ingest lines/s | ingest MB/s | ingest / baseline speed | baseline peak RSS | ingest peak RSS | partitions |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size, nbytes, base, ing in rows:
        lines.append(
            f"| {nbytes / 2**20:,.0f} MiB | {ing['lines']:,} | {base['lines'] / base['seconds']:,.0f} | "
            f"{ing['lines'] / ing['seconds']:,.0f} | {nbytes / 2**20 / ing['seconds']:.1f} | "
            f"{(ing['lines'] / ing['seconds']) / (base['lines'] / base['seconds']):.3f} | "
            f"{base['peak_rss_mb']:.0f} MiB | {ing['peak_rss_mb']:.0f} MiB | {ing['partitions']} |")
    lines += [
        "",
        f"**Memory is flat:** the {big[1] / small[1]:.1f}x larger file used {big[3]['peak_rss_mb'] / small[3]['peak_rss_mb']:.2f}x "
        f"the peak RSS ({small[3]['peak_rss_mb']:.0f} -> {big[3]['peak_rss_mb']:.0f} MiB); throughput ratio "
        f"(big/small) {(big[3]['lines'] / big[3]['seconds']) / (small[3]['lines'] / small[3]['seconds']):.2f}.",
        "",
        "Memory is bounded by the row buffer (64k rows, flushed as Parquet row groups into one staged "
        "file per hour) and by `max_line_bytes`; it does not grow with the file. Ingest is CPU-bound in "
        "Python (regex + per-line row building); the baseline shows what reading alone costs.",
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(out.read_text())


if __name__ == "__main__":
    main()
