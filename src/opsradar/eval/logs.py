"""`opsradar eval logs`: the literature's log anomaly detection protocols, end to end.

- HDFS: sessions by block id (a line naming several blocks joins each session), labels
  from anomaly_label.csv; 80/20 split, reported both random (seeded, stratified as in
  loglizer's "uniform" split) and chronological (by each session's first line).
- BGL / Thunderbird / any Loghub format with a label field: fixed 100-line windows in
  file order, chronological 80/20, a window is anomalous if any of its lines is.
- Pre-parsed sessions (JSON lines: id, templates, label, optional split): the given
  split, else a seeded random 80/20.
Metrics are precision, recall and F1 of the anomalous class on the test part.
"""

from __future__ import annotations

import csv
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from opsradar.ids import template_id

BLOCK_RE = re.compile(r"blk_-?\d+")
_MASKS = [
    (re.compile(r"blk_-?\d+"), "<*>"),
    (re.compile(r"(/?\d{1,3}\.){3}\d{1,3}(:\d+)?"), "<*>"),
    (re.compile(r"(/[\w.\-]+)+/?"), "<*>"),
    (re.compile(r"\b0x[0-9a-fA-F]+\b"), "<*>"),
    (re.compile(r"\b[0-9a-fA-F]*\d[0-9a-fA-F]*\b"), "<*>"),
    (re.compile(r"\b\w*\d\w*\b"), "<*>"),
]


class MaskingTemplater:
    """Fallback when opsradar.parsing's miner is unavailable: mask variable-looking tokens."""

    def fit_transform(self, messages: Sequence[str]) -> list[str]:
        out = []
        for m in messages:
            for pattern, repl in _MASKS:
                m = pattern.sub(repl, m)
            out.append(re.sub(r"(<\*>[\s,:]*){2,}", "<*> ", m).strip())
        return out


def make_templater() -> tuple[Any, str]:
    """(templater, name): the project's TemplateMiner when importable, else the masking fallback."""
    try:
        from opsradar.parsing import TemplateMiner  # type: ignore[attr-defined]
    except ImportError:
        try:
            from opsradar.parsing.miner import TemplateMiner
        except ImportError:
            return MaskingTemplater(), "masking fallback (opsradar.eval.logs.MaskingTemplater)"
    return TemplateMiner(), "opsradar.parsing.TemplateMiner"


@dataclass
class Windows:
    ids: list[str]
    templates: list[list[str]]  # template texts, in order
    labels: list[int]
    examples: list[list[str]] = field(default_factory=list)
    splits: list[str] | None = None
    notes: dict[str, Any] = field(default_factory=dict)


@dataclass
class ParsedLog:
    contents: list[str]
    labels: list[str | None]
    bad_lines: list[int]


def parse_log(path: str | Path, fmt_name: str) -> ParsedLog:
    """Split raw lines into message + label with the Loghub format; unparsable lines are counted, not hidden."""
    from opsradar.ingest.formats import get_format

    fmt = get_format(fmt_name)
    contents, labels, bad = [], [], []
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        for n, line in enumerate(fh, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            m = fmt.regex.match(line)
            if not m:
                bad.append(n)
                continue
            contents.append(m.group("Content"))
            labels.append(m.group(fmt.label_field) if fmt.label_field else None)
    return ParsedLog(contents, labels, bad)


def hdfs_sessions(path: str | Path, labels_csv: str | Path, templater) -> Windows:
    parsed = parse_log(path, "loghub:HDFS")
    templates = templater.fit_transform(parsed.contents)
    order: dict[str, int] = {}
    seqs: dict[str, list[str]] = {}
    examples: dict[str, list[str]] = {}
    for content, tpl in zip(parsed.contents, templates):
        for blk in dict.fromkeys(BLOCK_RE.findall(content)):
            order.setdefault(blk, len(order))
            seqs.setdefault(blk, []).append(tpl)
            if len(examples.setdefault(blk, [])) < 3:
                examples[blk].append(content)
    with open(labels_csv, newline="") as fh:
        label_of = {row["BlockId"]: int(row["Label"].strip() == "Anomaly") for row in csv.DictReader(fh)}
    blocks = sorted(seqs, key=order.get)
    unlabelled = [b for b in blocks if b not in label_of]
    blocks = [b for b in blocks if b in label_of]
    return Windows(blocks, [seqs[b] for b in blocks], [label_of[b] for b in blocks], [examples[b] for b in blocks],
                   notes={"unparsed_lines": len(parsed.bad_lines), "sessions_without_label": len(unlabelled), "lines": len(parsed.contents)})


def line_windows(path: str | Path, fmt_name: str, templater, size: int = 100, normal: Sequence[str] = ("-",)) -> Windows:
    parsed = parse_log(path, fmt_name)
    if all(l is None for l in parsed.labels):
        raise ValueError(f"format {fmt_name} has no per-line label field; pass --labels or use --sessions")
    templates = templater.fit_transform(parsed.contents)
    ids, seqs, labels, examples = [], [], [], []
    for start in range(0, len(templates), size):
        end = min(start + size, len(templates))
        ids.append(f"lines {start + 1}-{end}")
        seqs.append(templates[start:end])
        bad = [i for i in range(start, end) if parsed.labels[i] not in normal]
        labels.append(int(bool(bad)))
        examples.append([parsed.contents[i] for i in (bad or range(start, end))[:3]])
    return Windows(ids, seqs, labels, examples, notes={"unparsed_lines": len(parsed.bad_lines), "lines": len(parsed.contents),
                                                       "window_lines": size, "anomalous_lines": sum(l not in normal for l in parsed.labels)})


def load_sessions(path: str | Path) -> Windows:
    ids, seqs, labels, splits = [], [], [], []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                ids.append(str(row["id"]))
                seqs.append([str(t) for t in row["templates"]])
                labels.append(int(row["label"]))
                splits.append(row.get("split"))
            except (ValueError, KeyError, TypeError) as err:
                raise ValueError(f"{path}:{n}: not a session row ({err!r}); want id, templates, label[, split]") from None
    given = [s for s in splits if s is not None]
    if given and (len(given) != len(splits) or set(given) - {"train", "test"}):
        raise ValueError(f"{path}: `split` must be train/test on every row or on none")
    return Windows(ids, seqs, labels, splits=splits if given else None)


def random_split(labels: Sequence[int], seed: int, train_ratio: float = 0.8) -> tuple[np.ndarray, np.ndarray]:
    """Seeded, stratified: train_ratio of the anomalous and of the normal windows go to train."""
    rng = np.random.default_rng(seed)
    y = np.asarray(labels)
    train = []
    for c in (0, 1):
        idx = rng.permutation(np.flatnonzero(y == c))
        train += list(idx[: int(round(len(idx) * train_ratio))])
    train = np.sort(np.array(train, dtype=int))
    return train, np.setdiff1d(np.arange(len(y)), train)


def chrono_split(n: int, train_ratio: float = 0.8) -> tuple[np.ndarray, np.ndarray]:
    cut = int(n * train_ratio)
    return np.arange(cut), np.arange(cut, n)


def _duplicates_of_normal(w: Windows, train: np.ndarray, test: np.ndarray) -> int:
    """Test anomalies whose template sequence is identical to a normal training window:
    no model of template sequences can tell them apart (a property of the data)."""
    normal = {tuple(w.templates[i]) for i in train if w.labels[i] == 0}
    return sum(1 for i in test if w.labels[i] == 1 and tuple(w.templates[i]) in normal)


def run_protocol(w: Windows, train: np.ndarray, test: np.ndarray, settings, device: str = "auto",
                 progress: Callable | None = None) -> dict[str, Any]:
    from opsradar.models.logs.calibration import prf
    from opsradar.models.logs.estimator import LogAnomalyEstimator

    texts = {template_id(t): t for seq in w.templates for t in seq}
    ids = [[template_id(t) for t in seq] for seq in w.templates]
    y = np.asarray(w.labels)
    started = time.perf_counter()
    predictor = LogAnomalyEstimator(settings, device=device, progress=progress).fit(
        [ids[i] for i in train], texts, [int(y[i]) for i in train])
    trained = time.perf_counter()
    scores = predictor.score([ids[i] for i in test], texts, explain=False)
    done = time.perf_counter()
    pred = np.array([s.is_anomaly for s in scores])
    metrics = prf(pred, y[test] == 1)
    return {
        **{k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items()},
        "train_windows": int(len(train)), "train_anomalies": int(y[train].sum()),
        "test_windows": int(len(test)), "test_anomalies": int(y[test].sum()),
        "test_anomalies_identical_to_a_normal_train_window": _duplicates_of_normal(w, train, test),
        "threshold_rule": predictor.info["threshold_rule"], "epochs_run": predictor.info["metrics"]["epochs_run"],
        "vocab_size": predictor.info["vocab_size"],
        "train_seconds": round(trained - started, 2), "test_seconds": round(done - trained, 3),
    }


def evaluate(w: Windows, protocol: str, settings, seed: int, device: str = "auto", progress: Callable | None = None) -> dict[str, Any]:
    """protocol: hdfs (random + chronological), lines (chronological), sessions (given split or random)."""
    results: dict[str, Any] = {}
    if protocol == "hdfs":
        splits = {"random": random_split(w.labels, seed), "chronological": chrono_split(len(w.labels))}
    elif protocol == "lines":
        splits = {"chronological": chrono_split(len(w.labels))}
    elif w.splits is not None:
        s = np.array(w.splits)
        splits = {"given": (np.flatnonzero(s == "train"), np.flatnonzero(s == "test"))}
    else:
        splits = {"random": random_split(w.labels, seed)}
    for name, (train, test) in splits.items():
        results[name] = run_protocol(w, train, test, settings, device, progress)
    return results
