"""Where and when incidents happen: a seeded, non-overlapping plan (the ground truth).

The span after a warm-up is cut into equal slots, one incident per slot, so incidents
never overlap and every detector sees clean normal data first. The last slot always
holds a CPU saturation that is still ongoing when the data ends (what a capacity
outlook should flag).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from opsradar.synth.catalog import NEW_EXCEPTIONS, SERVICE_BY_NAME

KINDS = ("error_burst", "new_exception", "latency_spike", "memory_leak", "cpu_saturation")
DURATION_MIN = {  # (shortest, longest) in minutes
    "error_burst": (10, 30),
    "new_exception": (15, 45),
    "latency_spike": (10, 30),
    "memory_leak": (120, 360),
    "cpu_saturation": (180, 480),
}
# Services a kind may hit (latency spikes need a request path).
ELIGIBLE = {
    "error_burst": ("api", "auth", "db", "cache", "worker"),
    "new_exception": ("api", "auth", "db", "cache", "worker"),
    "latency_spike": ("api", "auth", "db", "cache"),
    "memory_leak": ("api", "auth", "worker"),
    "cpu_saturation": ("api", "db", "worker"),
}
SIGNAL = {  # what in the data shows the incident
    "error_burst": {"logs": "ERROR-level lines of the service's known error templates"},
    "new_exception": {"logs": "a template never seen before"},
    "latency_spike": {"metric": "latency_p95_ms", "logs": "slow request warnings, longer durations"},
    "memory_leak": {"metric": "mem_pct", "logs": "heap warnings, then an OOM kill and restart at the end"},
    "cpu_saturation": {"metric": "cpu_pct", "logs": "worker pool saturated warnings near the top"},
}


@dataclass(frozen=True)
class Incident:
    id: str
    type: str
    service: str
    host: str
    start: datetime
    end: datetime
    details: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        iso = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
        return {"id": self.id, "type": self.type, "service": self.service, "host": self.host,
                "start": iso(self.start), "end": iso(self.end), "signal": SIGNAL[self.type], **self.details}


def default_per_kind(days: int) -> int:
    return max(1, math.ceil(days / 3))


def plan_incidents(start: datetime, days: int, seed: int, per_kind: int | None = None,
                   warmup_hours: float = 6.0) -> list[Incident]:
    rng = random.Random(f"opsradar-synth:{seed}:incidents")
    per_kind = default_per_kind(days) if per_kind is None else per_kind
    if per_kind < 1:
        return []
    total_min = days * 1440
    warmup = int(warmup_hours * 60)
    kinds = [k for k in KINDS for _ in range(per_kind)]
    kinds.remove("cpu_saturation")
    rng.shuffle(kinds)
    kinds.append("cpu_saturation")  # the last slot: ongoing at the end of the data
    slot = (total_min - warmup) // len(kinds)
    if slot < 40:
        raise ValueError(f"{len(kinds)} incidents do not fit in {days} day(s) after a {warmup_hours} h warm-up; "
                         "use more days or fewer incidents per kind")
    exceptions = list(NEW_EXCEPTIONS)
    rng.shuffle(exceptions)
    incidents: list[Incident] = []
    for i, kind in enumerate(kinds):
        lo, hi = DURATION_MIN[kind]
        longest = min(hi, int(slot * 0.8))
        duration = rng.randint(min(lo, longest), longest)
        slot_start = warmup + i * slot
        last = i == len(kinds) - 1
        offset = total_min - duration if last else slot_start + rng.randint(0, slot - duration)
        service = SERVICE_BY_NAME[rng.choice(ELIGIBLE[kind])]
        host = rng.choice(service.host_names())
        details: dict = {}
        if kind == "new_exception":
            n = len([x for x in incidents if x.type == kind])
            template = exceptions[n % len(exceptions)]
            text = template.text if n < len(exceptions) else f"{template.text} [variant {n // len(exceptions)}]"
            details = {"template": text, "component": template.component}
        elif kind == "latency_spike":
            details = {"factor": round(rng.uniform(5.0, 8.0), 2)}
        elif kind == "cpu_saturation":
            details = {"ongoing": last}
        t0 = start + timedelta(minutes=offset)
        incidents.append(Incident(f"inc-{i + 1:03d}", kind, service.name, host, t0, t0 + timedelta(minutes=duration), details))
    return incidents
