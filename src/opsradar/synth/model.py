"""Host behaviour over time: load (daily + weekly seasonality, growth trend) and the
resource series it drives, with incident effects applied. Vectorised with numpy.

Times are seconds since the data start; every array has one value per time step.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

from opsradar.synth.catalog import Service
from opsradar.synth.incidents import Incident

PEAK_HOUR_UTC = 15.0
GROWTH_PER_DAY = 0.01  # traffic grows ~7% a week
WEEKEND_FACTOR = 0.75
METRICS = {"cpu_pct": "percent", "mem_pct": "percent", "latency_p95_ms": "ms", "throughput_rps": "1/s"}


def load_curve(start: datetime, t_s: np.ndarray) -> np.ndarray:
    """Relative traffic in (0, ~1.1]: trough ~0.3 around 03:00 UTC, peak 1.0 at 15:00, trend on top."""
    hours = start.hour + start.minute / 60 + t_s / 3600.0
    daily = 0.3 + 0.7 * (0.5 + 0.5 * np.cos(2 * np.pi * (hours - PEAK_HOUR_UTC) / 24.0))
    weekday = (start.weekday() + np.floor(hours / 24.0)) % 7
    weekly = np.where(weekday >= 5, WEEKEND_FACTOR, 1.0)
    trend = 1.0 + GROWTH_PER_DAY * t_s / 86400.0
    return daily * weekly * trend


def _window(inc: Incident, start: datetime, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(inside mask, progress 0..1 through the incident) on the grid."""
    a = (inc.start - start).total_seconds()
    b = (inc.end - start).total_seconds()
    inside = (t_s >= a) & (t_s < b)
    return inside, np.clip((t_s - a) / (b - a), 0.0, 1.0)


def host_series(service: Service, host: str, incidents: list[Incident], start: datetime, t_s: np.ndarray,
                rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The four metrics of one host, plus `latency_factor` (latency / normal) for the logs."""
    n = len(t_s)
    load = load_curve(start, t_s) * (1.0 + 0.03 * rng.standard_normal(n))
    throughput = service.rps * load
    cpu = service.cpu_idle_pct + (service.cpu_peak_pct - service.cpu_idle_pct) * load + rng.normal(0, 1.5, n)
    hours = t_s / 3600.0
    mem = service.mem_pct + 1.5 * np.sin(2 * np.pi * hours / 24.0) + rng.normal(0, 0.4, n)
    latency_factor = (0.8 + 0.3 * load) * np.exp(rng.normal(0, 0.08, n))
    for inc in incidents:
        if inc.host != host:
            continue
        inside, progress = _window(inc, start, t_s)
        if inc.type == "latency_spike":
            latency_factor = np.where(inside, latency_factor * inc.details["factor"], latency_factor)
            throughput = np.where(inside, throughput * 0.85, throughput)
        elif inc.type == "memory_leak":  # linear ramp to ~96%, then the OOM kill resets it
            mem = np.where(inside, mem + (96.0 - service.mem_pct) * progress, mem)
        elif inc.type == "cpu_saturation":  # convex climb that flattens against 100%
            target = cpu + (99.0 - cpu) * progress**1.5
            cpu = np.where(inside, target + rng.normal(0, 0.5, n) * progress, cpu)
    cpu = np.clip(cpu, 0.0, 100.0)
    # Queueing: latency climbs steeply once CPU passes ~85%.
    latency_factor = latency_factor * (1.0 + 4.0 * np.clip(cpu - 85.0, 0.0, None) / 15.0)
    return {
        "cpu_pct": cpu,
        "mem_pct": np.clip(mem, 0.0, 100.0),
        "latency_p95_ms": service.latency_ms * latency_factor,
        "throughput_rps": np.clip(throughput, 0.0, None),
        "latency_factor": latency_factor,
        "load": load,
    }
