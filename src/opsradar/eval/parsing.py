"""Log-parsing accuracy on Loghub ground truth (`*_structured.csv`).

Metrics exactly as Loghub (Zhu et al., ICSE-SEIP 2019, logparser `evaluator.py`) and
Loghub-2.0 (Jiang et al., ISSTA 2024) define them:

- GA, grouping accuracy: a line is correct when the set of lines sharing its predicted
  group equals the set of lines sharing its ground-truth group; GA = correct / lines.
- PA, parsing accuracy: a line is correct when its predicted template text equals the
  ground-truth `EventTemplate` exactly; PA = correct / lines. Our typed placeholders
  (`<NUM>`, `<IP>`, ...) are written as `<*>` for this comparison.
"""

from __future__ import annotations

import csv
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from opsradar.parsing.masking import PLACEHOLDER_RE
from opsradar.parsing.miner import TemplateMiner


def grouping_accuracy(truth: Sequence[Hashable], predicted: Sequence[Hashable]) -> float:
    if len(truth) != len(predicted):
        raise ValueError(f"{len(truth)} ground-truth labels but {len(predicted)} predictions")
    if not truth:
        return 0.0
    truth_sizes = Counter(truth)
    members: dict[Hashable, list[int]] = defaultdict(list)
    for i, group in enumerate(predicted):
        members[group].append(i)
    correct = 0
    for lines in members.values():
        truth_ids = {truth[i] for i in lines}
        if len(truth_ids) == 1 and truth_sizes[next(iter(truth_ids))] == len(lines):
            correct += len(lines)
    return correct / len(truth)


def as_benchmark_template(template: str) -> str:
    """Typed placeholders as the benchmark's `<*>`, whitespace normalised."""
    return re.sub(r"\s+", " ", PLACEHOLDER_RE.sub("<*>", template)).strip()


def parsing_accuracy(truth_templates: Sequence[str], predicted_templates: Sequence[str]) -> float:
    if len(truth_templates) != len(predicted_templates):
        raise ValueError(f"{len(truth_templates)} ground-truth templates but {len(predicted_templates)} predictions")
    if not truth_templates:
        return 0.0
    correct = sum(
        re.sub(r"\s+", " ", t).strip() == as_benchmark_template(p) for t, p in zip(truth_templates, predicted_templates)
    )
    return correct / len(truth_templates)


@dataclass
class SystemScore:
    system: str
    lines: int
    truth_templates: int
    predicted_templates: int
    grouping_accuracy: float
    parsing_accuracy: float
    seconds: float


def read_ground_truth(path: Path) -> tuple[list[str], list[str], list[str]]:
    """(messages, event ids, templates) of a Loghub `*_structured.csv`; rows without an EventId are skipped."""
    contents, ids, templates = [], [], []
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {"Content", "EventId", "EventTemplate"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        for row in reader:
            if not row["EventId"]:
                continue
            contents.append(row["Content"])
            ids.append(row["EventId"])
            templates.append(row["EventTemplate"])
    return contents, ids, templates


def find_systems(data_dir: Path) -> dict[str, Path]:
    found = {}
    for path in sorted(data_dir.glob("**/*_structured.csv")):
        found[path.name.split("_")[0]] = path
    return found


def evaluate_system(system: str, path: Path, miner: TemplateMiner) -> SystemScore:
    contents, ids, templates = read_ground_truth(path)
    start = time.perf_counter()
    predicted = miner.fit_transform(contents)
    seconds = time.perf_counter() - start
    return SystemScore(
        system=system,
        lines=len(contents),
        truth_templates=len(set(ids)),
        predicted_templates=len(set(predicted)),
        grouping_accuracy=grouping_accuracy(ids, predicted),
        parsing_accuracy=parsing_accuracy(templates, predicted),
        seconds=seconds,
    )


def evaluate_loghub(
    data_dir: Path,
    miner_for: Callable[[str], TemplateMiner],
    systems: Sequence[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Score every system with ground truth under `data_dir`; returns per-system scores and averages."""
    available = find_systems(data_dir)
    if not available:
        raise FileNotFoundError(f"no *_structured.csv ground truth under {data_dir}")
    chosen = systems or list(available)
    unknown = [s for s in chosen if s not in available]
    if unknown:
        raise ValueError(f"no ground truth for {', '.join(unknown)} under {data_dir} (have: {', '.join(available)})")
    scores = []
    for system in chosen:
        if progress:
            progress(system)
        scores.append(evaluate_system(system, available[system], miner_for(system)))
    n = len(scores)
    return {
        "systems": [asdict(s) for s in scores],
        "average": {
            "grouping_accuracy": sum(s.grouping_accuracy for s in scores) / n,
            "parsing_accuracy": sum(s.parsing_accuracy for s in scores) / n,
            "systems": n,
            "lines": sum(s.lines for s in scores),
            "seconds": sum(s.seconds for s in scores),
        },
    }
