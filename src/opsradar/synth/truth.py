"""Score detections against `ground_truth.json` (incident-level recall, detection-level precision).

An incident counts as found when at least one detection on the same host (or, for a
detection without a host, the same service) overlaps its window widened by `tolerance` on
both sides; a detection is a true positive when it overlaps some incident that way, as in
NAB's window scoring. Windows are half-open [start, end), UTC.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path


@dataclass(frozen=True)
class Detection:
    start: datetime
    end: datetime
    host: str | None = None
    service: str | None = None


@dataclass
class TruthScore:
    recall: float
    precision: float
    found: list[str]  # incident ids
    missed: list[str]
    false_positives: list[Detection]
    recall_by_type: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"recall": self.recall, "precision": self.precision, "found": self.found, "missed": self.missed,
                "false_positives": len(self.false_positives), "recall_by_type": self.recall_by_type}


def parse_utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def load_incidents(path: str | Path) -> list[dict]:
    incidents = json.loads(Path(path).read_text(encoding="utf-8"))["incidents"]
    return [{**i, "start": parse_utc(i["start"]), "end": parse_utc(i["end"])} for i in incidents]


def _matches(d: Detection, inc: dict, tolerance: timedelta) -> bool:
    same_entity = d.host == inc["host"] if d.host is not None else d.service == inc["service"]
    return same_entity and d.start < inc["end"] + tolerance and inc["start"] - tolerance < d.end


def score_detections(detections: list[Detection], incidents: list[dict],
                     tolerance: timedelta = timedelta(minutes=10)) -> TruthScore:
    found: set[str] = set()
    false_positives = []
    for d in detections:
        hits = [inc["id"] for inc in incidents if _matches(d, inc, tolerance)]
        found.update(hits)
        if not hits:
            false_positives.append(d)
    by_type: dict[str, list[bool]] = defaultdict(list)
    for inc in incidents:
        by_type[inc["type"]].append(inc["id"] in found)
    n_tp = len(detections) - len(false_positives)
    return TruthScore(
        recall=len(found) / len(incidents) if incidents else 1.0,
        precision=n_tp / len(detections) if detections else 1.0,
        found=sorted(found),
        missed=sorted(inc["id"] for inc in incidents if inc["id"] not in found),
        false_positives=false_positives,
        recall_by_type={k: sum(v) / len(v) for k, v in sorted(by_type.items())},
    )
