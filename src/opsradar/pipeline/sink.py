"""Stage `sink_results`: the interval's scores, forecasts, capacity plans and run records -> Elasticsearch.

Inputs (Layout layer/dataset, partitioned on the time column; contracts in schemas/arrow.py):
  scores/logs, scores/metrics     ANOMALY_SCORE   on window_start
  forecasts/demand                FORECAST_POINT  on issued_at
  reports/capacity_plans          CAPACITY_PLAN   on plan_date
  runs/stages                     PIPELINE_RUN    on interval_start
Rows that break their contract and documents Elasticsearch refuses go to
deadletter/es/<family> (ES_DEADLETTER) with the reason; a re-run replaces that interval's
dead letters. The stage ends with a refresh and records its own run in the pipeline-runs index.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pyarrow.compute as pc

from opsradar.config import OpsRadarConfig
from opsradar.es.bulk import BulkWriter, Failure, Op, RetryPolicy, failure_rows
from opsradar.es.mapper import FAMILY_OF_SCORE, MAPPERS, Document, InvalidRow
from opsradar.ids import stable_id
from opsradar.layout import Interval, Layout
from opsradar.pipeline.result import StageResult
from opsradar.schemas import arrow as contracts

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SinkInput:
    mapper: str  # key of opsradar.es.mapper.MAPPERS
    layer: str
    dataset: str
    time_column: str
    schema: pa.Schema


SINK_INPUTS = (
    SinkInput("anomaly", "scores", "logs", "window_start", contracts.ANOMALY_SCORE),
    SinkInput("anomaly", "scores", "metrics", "window_start", contracts.ANOMALY_SCORE),
    SinkInput("forecast", "forecasts", "demand", "issued_at", contracts.FORECAST_POINT),
    SinkInput("capacity_plan", "reports", "capacity_plans", "plan_date", contracts.CAPACITY_PLAN),
    SinkInput("pipeline_run", "runs", "stages", "interval_start", contracts.PIPELINE_RUN),
)
DEADLETTER_FAMILIES = ("anomaly.log", "anomaly.metric", "forecast", "capacity_plan", "pipeline_run")


class ContractError(ValueError):
    pass


def check_contract(table: pa.Table, inp: SinkInput) -> None:
    """Missing required columns make a whole dataset unusable: fail naming them."""
    missing = [f.name for f in inp.schema if not f.nullable and f.name not in table.column_names]
    if missing:
        raise ContractError(f"{inp.layer}/{inp.dataset}: column(s) {', '.join(missing)} required by "
                            f"schemas/arrow.py are missing (has: {', '.join(table.column_names)})")


def load_inputs(layout: Layout, interval: Interval, result: StageResult) -> list[tuple[SinkInput, pa.Table]]:
    """Every input table of the interval, contract-checked before anything is written."""
    loaded = []
    for inp in SINK_INPUTS:
        table = layout.read_interval(inp.layer, inp.dataset, interval)
        if table is None:
            continue
        check_contract(table, inp)
        times = table.column(inp.time_column)
        inside = pc.and_(pc.greater_equal(times, pa.scalar(interval.start, times.type)),
                         pc.less(times, pa.scalar(interval.end, times.type)))
        outside = len(table) - (pc.sum(inside).as_py() or 0)
        if outside:  # rows of a neighbouring interval that shares an hour partition: theirs to index
            result.add(f"outside_interval.{inp.layer}.{inp.dataset}", outside)
        table = table.filter(inside)
        result.add(f"read.{inp.layer}.{inp.dataset}", len(table))
        loaded.append((inp, table))
    return loaded


def families_of(loaded: list[tuple[SinkInput, pa.Table]]) -> set[str]:
    families = {"pipeline_run"}  # the sink's own run record
    for inp, table in loaded:
        if inp.mapper == "anomaly":
            families |= {FAMILY_OF_SCORE[f] for f in pc.unique(table.column("family")).to_pylist() if f in FAMILY_OF_SCORE}
        elif len(table):
            families.add(inp.mapper)
    return families


def documents(loaded: list[tuple[SinkInput, pa.Table]], invalid: list[tuple[str, InvalidRow, dict]]) -> Iterator[Document]:
    for inp, table in loaded:
        mapper = MAPPERS[inp.mapper]
        for batch in table.to_batches(max_chunksize=10_000):
            for row in batch.to_pylist():
                try:
                    yield mapper(row)
                except InvalidRow as err:
                    family = FAMILY_OF_SCORE.get(row.get("family"), "anomaly.log") if inp.mapper == "anomaly" else inp.mapper
                    invalid.append((family, err, row))


def write_deadletter(layout: Layout, cfg: OpsRadarConfig, interval: Interval, failures: list[Failure],
                     invalid: list[tuple[str, InvalidRow, dict]], prefix: str) -> list[str]:
    """One Parquet per family and interval; written even when empty so a clean re-run clears it."""
    from opsradar.es.setup import alias_name

    rows = failure_rows(failures)
    for family, err, row in invalid:
        rows.append({"doc_id": stable_id("invalid_row", _json(row)), "index": alias_name(prefix, family), "family": family,
                     "reason": "invalid_row",
                     "error_type": "InvalidRow", "status": None, "detail": str(err), "attempts": 0,
                     "document": _json(row)})
    outputs = []
    for family in DEADLETTER_FAMILIES:
        part = [dict(r, interval_start=interval.start) for r in rows if r["family"] == family]
        table = pa.Table.from_pylist(part, schema=contracts.ES_DEADLETTER)
        outputs += layout.write_interval("deadletter", f"es/{family}", interval, table, "interval_start",
                                         cfg.storage.parquet_compression)
    return outputs


def _json(row: dict) -> str:
    return json.dumps(row, sort_keys=True, default=str)


def sink_results(cfg: OpsRadarConfig, interval: Interval, es=None) -> StageResult:
    from opsradar.es.client import connect
    from opsradar.es.credentials import es_config
    from opsradar.es.runs import record_run
    from opsradar.es.setup import FAMILIES, PolicyOptions, alias_name, install

    started = datetime.now(timezone.utc)
    t0 = time.monotonic()
    layout = Layout(cfg.storage.root)
    result = StageResult.begin("sink_results", interval)
    es_cfg = es_config(cfg)
    es = es or connect(es_cfg)
    prefix = es_cfg.index_prefix
    sink = cfg.es_sink
    loaded = load_inputs(layout, interval, result)
    families = tuple(f for f in FAMILIES if f in families_of(loaded))
    install(es, prefix, PolicyOptions(sink.rollover_max_primary_shard_size, sink.rollover_max_age,
                                      sink.warm_after, sink.retention_days), families=families)
    invalid: list[tuple[str, InvalidRow, dict]] = []
    ops = (Op(d.family, alias_name(prefix, d.family), d.id, d.source) for d in documents(loaded, invalid))
    writer = BulkWriter(es, es_cfg.bulk_chunk_size, RetryPolicy(sink.max_attempts, sink.initial_backoff_s, sink.max_backoff_s))
    summary = writer.write(ops)
    es.indices.refresh(index=",".join(alias_name(prefix, f) for f in families))  # visible when the interval is done

    for family, n in sorted(summary.by_family.items()):
        result.add(f"indexed.{family}", n)
    result.add("indexed", summary.indexed)
    result.add("retried", summary.retried)
    result.add("duplicates_in_input", summary.duplicates_in_input)
    for f in summary.failures:
        result.add(f"failed.{f.reason}", 1)
    for _, err, _ in invalid:
        result.add("failed.invalid_row", 1)
    failed = len(summary.failures) + len(invalid)
    result.add("failed", failed)
    result.outputs += write_deadletter(layout, cfg, interval, summary.failures, invalid, prefix)
    for f in summary.failures[:5]:
        result.warnings.append(f"{f.op.family} {f.op.id}: {f.reason}: {f.detail[:300]}")
    for _, err, _ in invalid[:5]:
        result.warnings.append(f"invalid row: {err}")
    if failed:
        log.warning("%d document(s) dead-lettered under deadletter/es/ for %s", failed, interval)

    # the sink's own run record, so operators see it in the pipeline-health dashboard
    record_run(cfg, {
        "dag_id": "opsradar", "stage": "sink_results", "interval_start": interval.start, "interval_end": interval.end,
        "status": "partial" if failed else "success", "started_at": started,
        "ended_at": started + timedelta(seconds=time.monotonic() - t0), "records_in": sum(v for k, v in result.counts.items() if k.startswith("read.")),
        "records_out": summary.indexed, "failed": failed, "counts": dict(result.counts),
    }, es=es, ensure_setup=False)
    return result
