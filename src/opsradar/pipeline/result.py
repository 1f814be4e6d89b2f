"""What every stage returns: small, loggable, JSON-serialisable."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from opsradar.layout import Interval


@dataclass
class StageResult:
    stage: str
    interval_start: str
    interval_end: str
    counts: dict[str, int] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def begin(cls, stage: str, interval: Interval) -> "StageResult":
        return cls(stage, interval.start.isoformat(), interval.end.isoformat())

    def add(self, key: str, n: int) -> None:
        self.counts[key] = self.counts.get(key, 0) + int(n)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        counts = ", ".join(f"{k}={v}" for k, v in sorted(self.counts.items()))
        return f"{self.stage} [{self.interval_start}, {self.interval_end}): {counts}"
