"""Run one suite over one pandas DataFrame with Great Expectations 1.x, from plain Python.

An ephemeral context (in-memory stores, analytics and progress bars off) per run; the
suite's `$PARAMETER`s are filled from the run's parameters. Expectations whose
parameter is unavailable (e.g. no previous interval to compare row counts with) are
skipped and reported as such, never silently passed.
"""

from __future__ import annotations

import logging
import os
import re
from datetime import datetime
from typing import Any

import pandas as pd

from opsradar.quality.outcome import ExpectationFailure
from opsradar.quality.suites import SuiteSpec

log = logging.getLogger(__name__)
logging.getLogger("great_expectations").setLevel(logging.WARNING)  # its INFO chatter drowns task logs

GX_SEVERITY = {"error": "critical", "warning": "warning"}
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")


def _parameter_names(value: Any) -> list[str]:
    if isinstance(value, dict):
        if "$PARAMETER" in value:
            return [value["$PARAMETER"]]
        return [n for v in value.values() for n in _parameter_names(v)]
    return []


def resolve_expectations(spec: SuiteSpec, parameters: dict[str, Any], unavailable: dict[str, str] | None = None,
                         extra: list[dict] = ()) -> tuple[list[dict], list[str]]:
    """The suite's expectations that can run with `parameters`, and why the others were skipped."""
    runnable, skipped = [], []
    for exp in [*spec.expectations, *extra]:
        names = _parameter_names(exp.get("kwargs", {}))
        unknown = [n for n in names if n not in parameters]
        if unknown:
            raise ValueError(f"{spec.path}: {exp['type']} uses unknown parameter(s) {', '.join(unknown)}; "
                             f"available: {', '.join(sorted(parameters))}")
        missing = [n for n in names if parameters[n] is None]
        if missing:
            column = _column_of(exp.get("kwargs", {}))
            reason = (unavailable or {}).get(missing[0], f"no value for parameter {missing[0]}")
            skipped.append(f"{exp['type']}{f'(column={column!r})' if column else ''}: {reason}")
            continue
        runnable.append({**exp, "severity": GX_SEVERITY[spec.severity]})
    return runnable, skipped


def _column_of(kwargs: dict) -> str | None:
    if "column" in kwargs:
        return kwargs["column"]
    if "column_list" in kwargs:
        return ",".join(kwargs["column_list"])
    if "column_A" in kwargs:
        return f"{kwargs['column_A']},{kwargs['column_B']}"
    return None


def _context(data_docs_dir: str | None):
    import great_expectations as gx
    from great_expectations.data_context.types.base import DataContextConfig, InMemoryStoreBackendDefaults, ProgressBarsConfig

    sites = {}
    if data_docs_dir:
        sites["opsradar"] = {
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": data_docs_dir},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
    config = DataContextConfig(
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),  # no tqdm bars in task logs
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        data_docs_sites=sites,
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def run_suite(
    spec: SuiteSpec,
    frame: pd.DataFrame,
    expectations: list[dict],
    parameters: dict[str, Any],
    *,
    sample_rows: int,
    run_name: str,
    run_time: datetime,
    data_docs_dir: str | None = None,
) -> dict:
    """Validate `frame`; returns GX's ExpectationSuiteValidationResult as a JSON dict."""
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    context = _context(data_docs_dir)
    id_columns = [c for c in spec.id_columns if c in frame.columns]
    result_format: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": max(sample_rows, 20)}
    if id_columns:
        result_format["unexpected_index_column_names"] = id_columns
    batch_definition = (context.data_sources.add_pandas("opsradar").add_dataframe_asset(spec.layer)
                        .add_batch_definition_whole_dataframe("interval"))
    suite = gx.ExpectationSuite(name=spec.name, expectations=expectations, meta={"opsradar_run": run_name}, notes=spec.notes)
    if data_docs_dir:
        suite = context.suites.add(suite)
        definition = context.validation_definitions.add(gx.ValidationDefinition(data=batch_definition, suite=suite, name=spec.name))
        checkpoint = context.checkpoints.add(gx.Checkpoint(
            name=spec.name, validation_definitions=[definition], result_format=result_format,
            actions=[gx.checkpoint.UpdateDataDocsAction(name="data_docs")]))
        run_id = RunIdentifier(run_name=re.sub(r"[^A-Za-z0-9_.=-]+", "_", run_name), run_time=run_time)
        checkpoint_result = checkpoint.run(batch_parameters={"dataframe": frame}, expectation_parameters=parameters, run_id=run_id)
        result = next(iter(checkpoint_result.run_results.values()))
    else:
        batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
        result = batch.validate(suite, expectation_parameters=parameters, result_format=result_format)
    return result.to_json_dict()


def failures_of(gx_result: dict, sample_rows: int, expectations: list[dict] = ()) -> list[ExpectationFailure]:
    """The failed expectations of a GX result (in suite order), with sample values and rows."""
    order = [(e["type"], _column_of(e.get("kwargs", {}))) for e in expectations]
    out = []
    for res in sorted(gx_result["results"], key=lambda r: _position(order, r["expectation_config"])):
        if res["success"]:
            continue
        config = res["expectation_config"]
        kwargs = {k: v for k, v in config["kwargs"].items() if k != "batch_id"}
        detail = res.get("result") or {}
        exc = res.get("exception_info") or {}
        if "raised_exception" not in exc:  # keyed by metric id when a metric raised
            exc = next(iter(exc.values()), {})
        values = [c["value"] for c in detail.get("partial_unexpected_counts", [])] or detail.get("partial_unexpected_list", [])
        out.append(ExpectationFailure(
            expectation=config["type"],
            column=_column_of(kwargs),
            kwargs=kwargs,
            why=(config.get("meta") or {}).get("why"),
            element_count=detail.get("element_count"),
            unexpected_count=detail.get("unexpected_count"),
            observed_value=detail.get("observed_value"),
            sample_values=_plain(list(values)[:sample_rows]),
            sample_rows=_plain(list(detail.get("partial_unexpected_index_list") or [])[:sample_rows]),
            exception=exc.get("exception_message") if exc.get("raised_exception") else None,
        ))
    return out


def _position(order: list[tuple[str, str | None]], config: dict) -> int:
    key = (config["type"], _column_of(config["kwargs"]))
    return order.index(key) if key in order else len(order)


def _plain(value: Any) -> Any:
    """numpy scalars -> Python values, recursively (readable messages, JSON-safe results)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    return value
