"""Quality-gate stages: validate one interval of a layer with every suite of a target.

Each writes one validation result per suite and dataset, then raises DataQualityError if
an error-severity suite failed (Airflow marks the task failed, downstream upstream_failed);
warning-severity failures are logged and returned as StageResult warnings.
"""

from __future__ import annotations

import logging
import shutil
import tempfile

import pyarrow as pa
import pyarrow.parquet as pq

from opsradar.config import OpsRadarConfig
from opsradar.layout import Interval, Layout
from opsradar.pipeline.result import StageResult
from opsradar.quality.outcome import DataQualityError, SuiteOutcome
from opsradar.quality.parameters import (interval_row_count, metric_range_expectations, plain_utc, previous_interval,
                                         suite_parameters)
from opsradar.quality.results import publish_data_docs, result_path, write_result
from opsradar.quality.suites import SuiteSpec, load_suites

log = logging.getLogger(__name__)


def datasets_for(spec: SuiteSpec, cfg: OpsRadarConfig, layout: Layout, interval: Interval) -> list[str]:
    """Datasets matching the suite's glob with data in this or the previous interval, plus configured sources."""
    base = layout.dataset_dir(spec.layer, "").rstrip("/")
    found = {p[len(base) + 1:] for p in layout.fs.glob(f"{base}/{spec.datasets}") if layout.fs.isdir(p)}
    prev = previous_interval(interval)
    found = {d for d in found if layout.existing_interval_dirs(spec.layer, d, interval)
             or layout.existing_interval_dirs(spec.layer, d, prev)}
    if spec.config_sources:
        found |= {spec.datasets.replace("*", s.name) for s in getattr(cfg, spec.config_sources)}
    return sorted(found)


def read_table(layout: Layout, layer: str, dataset: str, interval: Interval) -> pa.Table | None:
    """The interval's rows; partitions from different writers (pyarrow, Spark) may differ in nullability."""
    try:
        return layout.read_interval(layer, dataset, interval)
    except pa.ArrowInvalid:
        files = [f for d in layout.existing_interval_dirs(layer, dataset, interval) for f in sorted(layout.fs.glob(f"{d}/*.parquet"))]
        try:
            return pa.concat_tables([pq.read_table(f, filesystem=layout.fs) for f in files], promote_options="permissive")
        except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
            raise ValueError(f"{layer}/{dataset} {interval}: partitions have incompatible schemas ({', '.join(files)}): {err}") from None


def validate_dataset(spec: SuiteSpec, cfg: OpsRadarConfig, layout: Layout, interval: Interval, dataset: str) -> SuiteOutcome:
    from opsradar.quality.gx_runner import failures_of, resolve_expectations, run_suite

    qcfg = cfg.quality
    table = read_table(layout, spec.layer, dataset, interval)
    if table is None:
        table = spec.arrow_schema().empty_table()  # still checked: e.g. rows vs the previous interval
    previous = interval_row_count(layout, spec.layer, dataset, previous_interval(interval))
    params, unavailable = suite_parameters(qcfg, interval, previous)
    extra = metric_range_expectations(qcfg) if spec.target == "metrics" else []
    expectations, skipped = resolve_expectations(spec, params, unavailable, extra)
    docs_dir = tempfile.mkdtemp(prefix="opsradar-gx-docs-") if qcfg.data_docs else None
    try:
        gx_result = run_suite(spec, table.to_pandas(), expectations, params, sample_rows=qcfg.sample_rows,
                              run_name=dataset, run_time=interval.start, data_docs_dir=docs_dir)
        pages = publish_data_docs(layout, docs_dir) if docs_dir else []
    finally:
        if docs_dir:
            shutil.rmtree(docs_dir, ignore_errors=True)
    failures = failures_of(gx_result, qcfg.sample_rows, expectations)
    outcome = SuiteOutcome(
        suite=spec.name, severity=spec.severity, layer=spec.layer, dataset=dataset,
        interval_start=interval.start.isoformat(), interval_end=interval.end.isoformat(),
        success=not failures, row_count=table.num_rows, previous_row_count=previous,
        evaluated=len(expectations), parameters={k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in params.items()},
        failures=failures, skipped=skipped,
    )
    outcome.result_path = result_path(layout, spec.name, dataset, interval)
    write_result(layout, outcome.result_path,
                 {**outcome.to_dict(), "suite_file": spec.path, "data_docs": pages, "gx_result": gx_result})
    return outcome


def validate_target(cfg: OpsRadarConfig, interval: Interval, target: str) -> tuple[StageResult, list[SuiteOutcome]]:
    """Run every suite of `target`; never raises for data problems (see `gate`)."""
    interval = Interval(plain_utc(interval.start), plain_utc(interval.end))
    layout = Layout(cfg.storage.root)
    result = StageResult.begin(f"validate_{target}", interval)
    outcomes = []
    specs = load_suites(cfg.quality, target)
    if not specs:
        result.warnings.append(f"no enabled quality suite for {target}")
    for spec in specs:
        datasets = datasets_for(spec, cfg, layout, interval)
        if not datasets:
            result.warnings.append(f"suite {spec.name}: no {spec.layer}/{spec.datasets} data in {interval} or the interval before")
        for dataset in datasets:
            outcome = validate_dataset(spec, cfg, layout, interval, dataset)
            outcomes.append(outcome)
            result.outputs.append(outcome.result_path)
            result.add("rows_validated", outcome.row_count)
            result.add("suite_runs", 1)
            result.add("expectations_evaluated", outcome.evaluated)
            result.add("expectations_failed", len(outcome.failures))
            result.add("expectations_skipped", len(outcome.skipped))
            if outcome.row_count == 0:
                result.warnings.append(f"suite {spec.name}: {spec.layer}/{dataset} has no rows in {interval}")
            if outcome.success:
                result.add("suites_passed", 1)
                log.info("%s", outcome.headline())
            elif outcome.blocking:
                result.add("suites_failed", 1)
                log.error("%s", outcome.describe())
            else:
                result.add("suites_warned", 1)
                result.warnings.append(outcome.describe())
                log.warning("%s", outcome.describe())
            for reason in outcome.skipped:
                log.info("suite %s on %s: skipped %s", spec.name, dataset, reason)
    return result, outcomes


def gate(cfg: OpsRadarConfig, interval: Interval, target: str) -> StageResult:
    result, outcomes = validate_target(cfg, interval, target)
    blocking = [o for o in outcomes if o.blocking]
    if blocking:
        raise DataQualityError(blocking)
    return result


def validate_raw_logs(cfg: OpsRadarConfig, interval: Interval) -> StageResult:
    return gate(cfg, interval, "raw_logs")


def validate_clean_logs(cfg: OpsRadarConfig, interval: Interval) -> StageResult:
    return gate(cfg, interval, "clean_logs")


def validate_metrics(cfg: OpsRadarConfig, interval: Interval) -> StageResult:
    return gate(cfg, interval, "metrics")


def validate_features(cfg: OpsRadarConfig, interval: Interval) -> StageResult:
    return gate(cfg, interval, "features")
