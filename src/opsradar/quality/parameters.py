"""Run-time values of the suites' `$PARAMETER`s, and the previous interval's row count.

    interval_start, interval_end   the data interval (tz-aware datetimes; compared with the
                                   table's UTC timestamps, end exclusive via strict_max)
    levels                         opsradar.levels.LEVELS
    template_coverage_min          quality.template_coverage_min
    row_count_min, row_count_max   previous interval's rows x quality.row_count_{min,max}_ratio;
                                   None (expectation skipped, reason recorded) without a usable
                                   previous count

The previous count comes from the layer's Parquet footers (no data read), so it is right
even when the previous interval was re-ingested or never validated.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

import pyarrow.parquet as pq

from opsradar.config import QualityConfig
from opsradar.layout import Interval, Layout, as_utc
from opsradar.levels import LEVELS


def plain_utc(ts: datetime) -> datetime:
    """A stdlib UTC datetime (Airflow hands over pendulum DateTimes); see layout.as_utc."""
    return as_utc(ts)


def previous_interval(interval: Interval) -> Interval:
    start, end = plain_utc(interval.start), plain_utc(interval.end)
    return Interval(start - (end - start), start)


def interval_row_count(layout: Layout, layer: str, dataset: str, interval: Interval) -> int | None:
    """Rows stored for the interval, from Parquet metadata; None when no partition exists."""
    dirs = layout.existing_interval_dirs(layer, dataset, interval)
    files = [f for d in dirs for f in sorted(layout.fs.glob(f"{d}/*.parquet"))]
    if not files:
        return None
    return sum(pq.read_metadata(f, filesystem=layout.fs).num_rows for f in files)


def suite_parameters(qcfg: QualityConfig, interval: Interval, previous_rows: int | None) -> tuple[dict[str, Any], dict[str, str]]:
    """(parameter values, why each None-valued parameter is unavailable)."""
    params: dict[str, Any] = {
        "interval_start": interval.start,
        "interval_end": interval.end,
        "levels": list(LEVELS),
        "template_coverage_min": qcfg.template_coverage_min,
        "row_count_min": None,
        "row_count_max": None,
    }
    prev = previous_interval(interval)
    if previous_rows is None:
        why = f"no data for the previous interval {prev} to compare the row count with"
    elif previous_rows < qcfg.row_count_min_previous:
        why = (f"previous interval {prev} has {previous_rows} rows, fewer than "
               f"quality.row_count_min_previous={qcfg.row_count_min_previous}")
    else:
        params["row_count_min"] = math.ceil(previous_rows * qcfg.row_count_min_ratio)
        params["row_count_max"] = math.floor(previous_rows * qcfg.row_count_max_ratio)
        why = None
    unavailable = {"row_count_min": why, "row_count_max": why} if why else {}
    return params, unavailable


def metric_range_expectations(qcfg: QualityConfig) -> list[dict]:
    """`quality.metric_ranges` as expectations on `value`, one per metric name."""
    out = []
    for metric, rng in sorted(qcfg.metric_ranges.items()):
        kwargs: dict[str, Any] = {"column": "value",
                                  "row_condition": {"type": "comparison", "column": {"name": "metric"},
                                                    "operator": "==", "parameter": metric}}
        if rng.min is not None:
            kwargs["min_value"] = rng.min
        if rng.max is not None:
            kwargs["max_value"] = rng.max
        if len(kwargs) > 2:
            out.append({"type": "expect_column_values_to_be_between", "kwargs": kwargs,
                        "meta": {"why": f"declared range of metric {metric!r} (quality.metric_ranges)"}})
    return out
