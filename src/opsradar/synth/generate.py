"""Write N days of synthetic logs, metrics and the incidents' ground truth to a folder.

    {out}/logs/{service}/{YYYY-MM-DD}.log     format OpsRadarSynth (schemas/formats/synth.toml)
    {out}/metrics/{YYYY-MM-DD}.csv            long CSV: timestamp,host,service,metric,value,unit
    {out}/ground_truth.json                   incidents: type, service, host, [start, end)
    {out}/opsradar.sources.toml               [[log_sources]] for these files

Everything derives from the seed: same arguments, byte-identical files.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from opsradar.synth.catalog import SERVICES
from opsradar.synth.incidents import Incident, plan_incidents
from opsradar.synth.logs import service_log_lines, stable_int
from opsradar.synth.model import METRICS, host_series

DEFAULT_START = datetime(2026, 1, 5, tzinfo=timezone.utc)  # a Monday
LOG_FORMAT = "OpsRadarSynth"
METRICS_HEADER = "timestamp,host,service,metric,value,unit"


@dataclass(frozen=True)
class SynthResult:
    out: Path
    log_files: list[Path]
    metric_files: list[Path]
    log_lines: int
    metric_rows: int
    incidents: list[Incident]


def _day_name(start: datetime, day: int) -> str:
    return (start + timedelta(days=day)).strftime("%Y-%m-%d")


def _write_metrics(out: Path, start: datetime, days: int, seed: int, step_s: int,
                   incidents: list[Incident]) -> tuple[list[Path], int]:
    t_s = np.arange(0, days * 86400, step_s, dtype=np.float64)
    stamps = [(start + timedelta(seconds=float(t))).strftime("%Y-%m-%dT%H:%M:%SZ") for t in t_s]
    per_host = []
    for service in SERVICES:
        for host in service.host_names():
            rng = np.random.default_rng([seed, stable_int(host), 2])
            series = host_series(service, host, incidents, start, t_s, rng)
            per_host.append((host, service.name, series))
    per_day = 86400 // step_s
    files, rows = [], 0
    (out / "metrics").mkdir(parents=True, exist_ok=True)
    for day in range(days):
        lines = [METRICS_HEADER]
        for k in range(day * per_day, (day + 1) * per_day):
            for host, service, series in per_host:
                for metric, unit in METRICS.items():
                    lines.append(f"{stamps[k]},{host},{service},{metric},{series[metric][k]:.3f},{unit}")
        path = out / "metrics" / f"{_day_name(start, day)}.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files.append(path)
        rows += len(lines) - 1
    return files, rows


def _sources_toml(out: Path) -> str:
    """[[log_sources]] (format=pattern, from schemas/formats/synth.toml) and a csv_long [[metric_sources]]."""
    from opsradar.synth import log_format

    fmt = log_format()
    root = out.resolve()
    blocks = [
        f'[[log_sources]]\nname = "synth-{s.name}"\npath = "{root / "logs" / s.name}/*.log"\nformat = "pattern"\n'
        f"pattern = '{fmt.format}'\ntime_fields = {json.dumps(list(fmt.timestamp))}\n"
        f'time_format = "{fmt.time_format}"\nservice = "{s.name}"\n'
        for s in SERVICES
    ]
    blocks.append(f'[[metric_sources]]\nname = "synth-hosts"\npath = "{root / "metrics"}/*.csv"\nformat = "csv_long"\n'
                  'unit_column = "unit"\nlabel_columns = ["host", "service"]\n')
    return "# Sources of the synthetic data (written by `opsradar generate`).\n\n" + "\n".join(blocks)


def generate(out: str | Path, days: int = 1, seed: int = 0, start: datetime = DEFAULT_START, scale: float = 1.0,
             metric_step_s: int = 60, incidents_per_kind: int | None = None, warmup_hours: float = 6.0,
             progress: Callable[[str], None] | None = None) -> SynthResult:
    """Generate the data set; `progress(step)` is called after each service and for the metrics."""
    if days < 1:
        raise ValueError(f"days must be >= 1, got {days}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    if scale <= 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    if metric_step_s <= 0 or 86400 % metric_step_s:
        raise ValueError(f"metric step must divide a day (86400 s), got {metric_step_s}")
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware (UTC)")
    start = start.astimezone(timezone.utc)
    out = Path(out)
    incidents = plan_incidents(start, days, seed, incidents_per_kind, warmup_hours)
    log_files: list[Path] = []
    n_lines = 0
    for service in SERVICES:
        by_day = service_log_lines(service, incidents, start, days, seed, scale)
        folder = out / "logs" / service.name
        folder.mkdir(parents=True, exist_ok=True)
        for day in range(days):
            lines = by_day.get(day, [])
            path = folder / f"{_day_name(start, day)}.log"
            path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
            log_files.append(path)
            n_lines += len(lines)
        if progress:
            progress(f"logs/{service.name}")
    metric_files, n_rows = _write_metrics(out, start, days, seed, metric_step_s, incidents)
    if progress:
        progress("metrics")
    truth = {
        "generator": "opsradar.synth",
        "seed": seed,
        "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end": (start + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "days": days,
        "scale": scale,
        "metric_step_s": metric_step_s,
        "log_format": LOG_FORMAT,
        "intervals": "half-open [start, end), UTC",
        "services": {s.name: s.host_names() for s in SERVICES},
        "metrics": METRICS,
        "incidents": [i.to_dict() for i in incidents],
    }
    (out / "ground_truth.json").write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
    (out / "opsradar.sources.toml").write_text(_sources_toml(out), encoding="utf-8")
    return SynthResult(out, log_files, metric_files, n_lines, n_rows, incidents)
