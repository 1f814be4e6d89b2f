"""Log lines of one service (all its hosts), in the `OpsRadarSynth` format.

Per host and minute: a Poisson number of lines from the service's normal template mix
(rate follows the load curve), plus the lines incidents add. Lines come back sorted by
time and grouped by day.
"""

from __future__ import annotations

import random
import zlib
from collections import defaultdict
from datetime import datetime, timedelta

import numpy as np

from opsradar.synth import catalog
from opsradar.synth.catalog import Service, Template
from opsradar.synth.incidents import Incident
from opsradar.synth.model import host_series

MS_PER_DAY = 86_400_000


def _incident_lines(inc: Incident, service: Service, peak_per_host: float, scale: float,
                    minute_of: callable, series: dict, rng: np.random.Generator):
    """(minute, offset_ms, template, ctx overrides) the incident adds on top of normal traffic."""
    m0, m1 = minute_of(inc.start), minute_of(inc.end)
    minutes = np.arange(m0, m1)
    out = []

    def poisson(rate: float, ms: np.ndarray, templates, weights=None, ctx=None):
        counts = rng.poisson(rate, len(ms))
        for m, c in zip(ms, counts):
            for _ in range(int(c)):
                i = 0 if weights is None else int(rng.choice(len(templates), p=weights))
                out.append((int(m), int(rng.integers(0, 60_000)), templates[i], ctx(int(m)) if ctx else {}))

    if inc.type == "error_burst":
        errors = service.errors()
        w = np.array([t.weight for t in errors])
        poisson(max(3.0, 0.6 * peak_per_host * scale), minutes, errors, w / w.sum())
    elif inc.type == "new_exception":
        tmpl = Template("ERROR", inc.details["component"], inc.details["template"])
        poisson(max(1.0, 0.15 * peak_per_host * scale), minutes, [tmpl])
    elif inc.type == "latency_spike":
        slo = max(1, round(service.latency_ms * 3))
        poisson(max(1.0, 0.3 * peak_per_host * scale), minutes, [catalog.SLOW_REQUEST],
                ctx=lambda m: {"slo_ms": slo})
    elif inc.type == "memory_leak":
        tail = minutes[int(len(minutes) * 0.7):]
        poisson(1.0, tail, [catalog.HEAP_WARNING], ctx=lambda m: {"pct": int(series["mem_pct"][m])})
        out.append((m1 - 1, 58_000, catalog.OOM_KILLED, {}))
        out.append((m1 - 1, 59_000, catalog.RESTARTED, {"restart": True}))
    elif inc.type == "cpu_saturation":
        hot = minutes[int(len(minutes) * 0.6):]
        poisson(1.0, hot, [catalog.SATURATED])
    return out


def service_log_lines(service: Service, incidents: list[Incident], start: datetime, days: int, seed: int,
                      scale: float = 1.0) -> dict[int, list[str]]:
    """day index -> the service's lines for that day, time-ordered."""
    n_min = days * 1440
    t_s = np.arange(n_min, dtype=np.float64) * 60.0
    peak_per_host = service.lines_per_min / service.hosts
    weights = np.array([t.weight for t in service.templates])
    probs = weights / weights.sum()
    prefixes = [(start + timedelta(minutes=m)).strftime("%Y-%m-%d %H:%M:") for m in range(n_min)]
    minute_of = lambda t: int((t - start).total_seconds() // 60)  # noqa: E731
    keyed: list[tuple[int, int, int, str]] = []
    for h, host in enumerate(service.host_names()):
        rng = np.random.default_rng([seed, stable_int(host), 1])
        fields = random.Random(f"opsradar-synth:{seed}:{host}:fields")
        series = host_series(service, host, incidents, start, t_s, rng)
        counts = rng.poisson(peak_per_host * scale * series["load"])
        total = int(counts.sum())
        rows = list(zip(np.repeat(np.arange(n_min), counts).tolist(), rng.integers(0, 60_000, total).tolist(),
                        (service.templates[i] for i in rng.choice(len(probs), size=total, p=probs)),
                        [{}] * total))
        for inc in incidents:
            if inc.host == host:
                rows.extend(_incident_lines(inc, service, peak_per_host, scale, minute_of, series, rng))
        rows.sort(key=lambda r: (r[0], r[1]))
        pid = fields.randint(1000, 65000)
        for seq, (m, off, tmpl, extra) in enumerate(rows):
            if extra.get("restart"):
                pid = fields.randint(1000, 65000)
            ctx = {"latency_ms": service.latency_ms * series["latency_factor"][m], "pid": pid, **extra}
            sec, ms = divmod(off, 1000)
            line = (f"{prefixes[m]}{sec:02d}.{ms:03d} {host} {tmpl.level} {tmpl.component}[{pid}]: "
                    f"{catalog.render(tmpl, fields, ctx)}")
            keyed.append((m * 60_000 + off, h, seq, line))
    keyed.sort()
    by_day: dict[int, list[str]] = defaultdict(list)
    for ms_total, _, _, line in keyed:
        by_day[ms_total // MS_PER_DAY].append(line)
    return by_day


def stable_int(name: str) -> int:
    """A process-independent integer for a name (Python's hash() is salted)."""
    return zlib.crc32(name.encode())
