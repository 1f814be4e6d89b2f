"""Benchmark: the ES sink's bulk writer vs a raw `_bulk` loop, same documents, same node, same run.

    .venv/bin/python bench/bench_es_sink.py [--docs 200000] [--chunk 1000] [--rounds 2] [--url URL]

Both sides index the same pre-mapped anomaly documents (schemas/arrow.py ANOMALY_SCORE rows
through opsradar.es.mapper) into fresh indices made from the same templates, `index` ops with
deterministic ids, one chunk per request. The baseline hand-builds NDJSON and POSTs `_bulk`
with no retries or error handling. Rounds alternate raw/sink; the best round of each is
compared. A last run times the whole `sink_results` stage (Parquet read + mapping + bulk).
Writes bench/results/es_sink.md. Without --url a local node is started and stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from elasticsearch import Elasticsearch
from tqdm import tqdm

from opsradar.config import LocalNodeConfig, OpsRadarConfig
from opsradar.es import mapper, samples, setup
from opsradar.es.bulk import BulkWriter, Op
from opsradar.es.node import LocalNode
from opsradar.layout import Interval, Layout
from opsradar.pipeline.sink import sink_results

RESULTS = Path(__file__).parent / "results" / "es_sink.md"
START = datetime(2026, 3, 1, tzinfo=timezone.utc)


def fresh_alias(es: Elasticsearch, prefix: str) -> str:
    for index in es.indices.get(index=f"{prefix}-anomalies-logs-*", ignore_unavailable=True, allow_no_indices=True):
        es.indices.delete(index=index)
    setup.install(es, prefix, families=("anomaly.log",))
    return setup.alias_name(prefix, "anomaly.log")


def raw_bulk(es: Elasticsearch, index: str, docs: list[mapper.Document], chunk: int) -> float:
    t0 = time.perf_counter()
    for i in tqdm(range(0, len(docs), chunk), desc="raw _bulk", unit="req", leave=False):
        lines = []
        for d in docs[i:i + chunk]:
            lines.append(json.dumps({"index": {"_index": index, "_id": d.id}}))
            lines.append(json.dumps(d.source))
        resp = es.bulk(operations="\n".join(lines) + "\n")
        if resp["errors"]:
            raise RuntimeError("raw bulk had item errors")
    es.indices.refresh(index=index)
    return time.perf_counter() - t0


def sink_write(es: Elasticsearch, index: str, docs: list[mapper.Document], chunk: int) -> float:
    t0 = time.perf_counter()
    with tqdm(total=len(docs), desc="sink writer", unit="doc", leave=False) as bar:
        summary = BulkWriter(es, chunk, progress=bar.update).write(Op(d.family, index, d.id, d.source) for d in docs)
    es.indices.refresh(index=index)
    if summary.failures or summary.indexed != len(docs):
        raise RuntimeError(f"sink writer: {summary.indexed} indexed, {len(summary.failures)} failed")
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=200_000)
    ap.add_argument("--chunk", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--url", help="Existing node (default: start a local one)")
    args = ap.parse_args()

    node, home = None, None
    if args.url:
        url = args.url
    else:
        home = Path(tempfile.mkdtemp(prefix="opsradar-bench-es-"))
        node = LocalNode(LocalNodeConfig(heap="1g"), home=home)
        url = node.start().url
    es = Elasticsearch(url, request_timeout=120)
    try:
        table = samples.anomaly_scores(args.docs, START, timedelta(hours=1) - timedelta(seconds=1))
        docs = [mapper.anomaly_document(r) for r in table.to_pylist()]
        raw_times, sink_times = [], []
        for r in range(args.rounds):
            raw_times.append(raw_bulk(es, fresh_alias(es, "bench-raw"), docs, args.chunk))
            sink_times.append(sink_write(es, fresh_alias(es, "bench-sink"), docs, args.chunk))
            print(f"round {r + 1}: raw {args.docs / raw_times[-1]:,.0f} docs/s, sink {args.docs / sink_times[-1]:,.0f} docs/s",
                  flush=True)
        assert es.count(index="bench-raw-anomalies-logs")["count"] == es.count(index="bench-sink-anomalies-logs")["count"] == args.docs

        lake = Path(tempfile.mkdtemp(prefix="opsradar-bench-lake-"))
        cfg = OpsRadarConfig.from_dict({"storage": {"root": str(lake)}, "es": {"url": url, "index_prefix": "bench-stage",
                                                                                 "bulk_chunk_size": args.chunk}})
        interval = Interval(START, START + timedelta(hours=1))
        Layout(cfg.storage.root).write_interval("scores", "logs", interval, table, "window_start")
        fresh_alias(es, "bench-stage")
        t0 = time.perf_counter()
        result = sink_results(cfg, interval, es=es)
        stage_s = time.perf_counter() - t0
        shutil.rmtree(lake, ignore_errors=True)
        assert result.counts["indexed.anomaly.log"] == args.docs
    finally:
        for prefix in ("bench-raw", "bench-sink", "bench-stage"):
            es.indices.delete(index=f"{prefix}-*", ignore_unavailable=True, allow_no_indices=True)
        if node:
            node.stop()
            shutil.rmtree(home, ignore_errors=True)

    raw_best, sink_best = args.docs / min(raw_times), args.docs / min(sink_times)
    ratio = sink_best / raw_best
    stage_rate = args.docs / stage_s
    cmd = "bench/bench_es_sink.py " + " ".join(sys.argv[1:])
    lines = [
        "# Elasticsearch sink vs raw `_bulk`",
        "",
        f"- command: `.venv/bin/python {cmd.strip()}`",
        f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; machine: 2-core VM, 24 GiB, no GPU "
        f"({platform.python_implementation()} {platform.python_version()}), shared with other jobs during the run",
        f"- server: local single-node Elasticsearch 8.19.21 (integ-test build), client elasticsearch-py; "
        f"{args.docs:,} anomaly documents, {args.chunk} per request, {args.rounds} alternating rounds (best of each)",
        "",
        "| writer | docs/s (best) | rounds (docs/s) | vs raw |",
        "|---|---:|---|---:|",
        f"| raw `_bulk` loop (hand-built NDJSON, no retries) | {raw_best:,.0f} | "
        f"{', '.join(f'{args.docs / t:,.0f}' for t in raw_times)} | 1.00 |",
        f"| sink `BulkWriter` (streaming_bulk, retries, dead letters) | {sink_best:,.0f} | "
        f"{', '.join(f'{args.docs / t:,.0f}' for t in sink_times)} | **{ratio:.2f}** |",
        f"| whole `sink_results` stage (Parquet read + ECS mapping + bulk + refresh) | {stage_rate:,.0f} | 1 run | "
        f"{stage_rate / raw_best:.2f} |",
        "",
        f"Goal: sink >= 80% of raw. Measured: {ratio:.0%}. 1-minute load average at the end: {os.getloadavg()[0]:.1f}.",
        "",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
