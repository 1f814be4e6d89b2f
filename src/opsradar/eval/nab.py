"""The Numenta Anomaly Benchmark scorer, exactly as NAB 1.x defines it (nab/sweeper.py).

Per data file and profile (cost matrix):
- the first `min(floor(0.15 * n), 0.15 * 5000)` rows are probationary and never scored;
- each row gets a sweep score: inside a window `[t1, t2]` (inclusive) the row at index
  i scores `tpWeight * S(-(right - i + 1) / width) / S(-1)` (earliest = tpWeight, the
  right edge ~0); outside every window it scores `fpWeight * S(d)` where d is the
  distance past the preceding window's right edge in window widths minus one (3.0 if
  no window precedes it), with `S(x) = 2 * sigmoid(-5x) - 1` (and -1 for x >= 3);
- a row is a detection when its anomaly score >= threshold; the file's raw score is
  `sum(sweep score of detections outside windows)` plus, per window, the best (i.e.
  earliest) detection's sweep score, or `-fnWeight` when the window has none.
The corpus score is normalised to 0-100 with the null detector (no detections) at 0
and the perfect detector (a detection on every window's first row) at 100.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

PROBATION_PERCENT = 0.15
PROFILES = ("standard", "reward_low_FP_rate", "reward_low_FN_rate")


def scaled_sigmoid(position: np.ndarray | float) -> np.ndarray:
    """NAB's S(x) = 2 * sigmoid(-5x) - 1, with S(x) = -1 from x >= 3 (far past a window)."""
    x = np.asarray(position, dtype=float)
    return np.where(x >= 3.0, -1.0, 2.0 / (1.0 + np.exp(5.0 * x)) - 1.0)


def probationary_length(n_rows: int, percent: float = PROBATION_PERCENT) -> float:
    return min(math.floor(percent * n_rows), percent * 5000)


@dataclass(frozen=True)
class CostMatrix:
    tp: float
    fp: float
    fn: float
    tn: float = 1.0

    @classmethod
    def from_nab(cls, d: dict) -> "CostMatrix":
        m = d.get("CostMatrix", d)
        return cls(tp=float(m["tpWeight"]), fp=float(m["fpWeight"]), fn=float(m["fnWeight"]), tn=float(m.get("tnWeight", 1.0)))


@dataclass
class FileScore:
    file: str
    profile: str
    threshold: float
    score: float
    tp: int
    tn: int
    fp: int
    fn: int
    total: int


class LabeledSeries:
    """One NAB data file: timestamps plus its anomaly windows, with the per-row sweep weights."""

    def __init__(self, name: str, timestamps: Iterable, windows: list[tuple[str, str]]) -> None:
        self.name = name
        self.timestamps = pd.to_datetime(pd.Series(list(timestamps))).to_numpy()
        n = len(self.timestamps)
        self.n = n
        self.scorable = np.arange(n) >= probationary_length(n)
        # window -> (left index, right index); NAB enters/leaves a window on exact timestamp matches.
        self.windows: list[tuple[int, int]] = []
        for start, end in windows:
            lo = int(np.searchsorted(self.timestamps, np.datetime64(pd.Timestamp(start)), side="left"))
            hi = int(np.searchsorted(self.timestamps, np.datetime64(pd.Timestamp(end)), side="right")) - 1
            if lo > hi or lo >= n:
                raise ValueError(f"{name}: window [{start}, {end}] matches no rows")
            self.windows.append((lo, hi))
        self.window_id = np.full(n, -1)
        for w, (lo, hi) in enumerate(self.windows):
            self.window_id[lo:hi + 1] = w
        self._unit = self._unweighted_sweep()

    def _unweighted_sweep(self) -> tuple[np.ndarray, np.ndarray]:
        """(in-window S / S(-1), out-of-window S) per row, before profile weights."""
        idx = np.arange(self.n, dtype=float)
        in_win = np.zeros(self.n)
        out_win = np.full(self.n, -1.0)  # before any window: position 3.0 -> S = -1
        max_tp = float(scaled_sigmoid(-1.0))
        prev_right, prev_width = None, None
        bounds = [*self.windows, (self.n, self.n)]
        cursor = 0
        for lo, hi in bounds:
            gap = slice(cursor, lo)  # rows after the previous window, before this one
            if prev_right is not None:
                # NAB divides by (width - 1); a one-row window would divide by zero there.
                out_win[gap] = scaled_sigmoid(np.abs(prev_right - idx[gap]) / max(prev_width - 1.0, 1.0))
            if lo >= self.n:
                break
            width = float(hi - lo + 1)
            in_win[lo:hi + 1] = scaled_sigmoid(-(hi - idx[lo:hi + 1] + 1) / width) / max_tp
            prev_right, prev_width, cursor = hi, width, hi + 1
        return in_win, out_win

    def sweep_scores(self, cost: CostMatrix) -> np.ndarray:
        """NAB's per-row `S(t)_<profile>` column."""
        in_win, out_win = self._unit
        return np.where(self.window_id >= 0, in_win * cost.tp, out_win * cost.fp)

    def row_scores(self, anomaly_scores: np.ndarray, threshold: float, cost: CostMatrix) -> np.ndarray:
        """NAB's `S(t)_<profile>` results column: each false positive's score on its row and
        each window's contribution (earliest detection, or -fnWeight) on the window's first
        row; zero elsewhere. Sums to the file's raw score."""
        scores = np.asarray(anomaly_scores, dtype=float)
        detected = self.scorable & (scores >= threshold)
        sweep = self.sweep_scores(cost)
        out = np.where(detected & (self.window_id < 0), sweep, 0.0)
        for lo, hi in self.windows:
            rows = np.arange(lo, hi + 1)
            rows = rows[self.scorable[rows]]
            if len(rows):
                hits = rows[detected[rows]]
                out[lo] = max(sweep[hits[0]], -cost.fn) if len(hits) else -cost.fn
        return out

    def score(self, anomaly_scores: np.ndarray, threshold: float, cost: CostMatrix, profile: str = "") -> FileScore:
        scores = np.asarray(anomaly_scores, dtype=float)
        if len(scores) != self.n:
            raise ValueError(f"{self.name}: {len(scores)} anomaly scores for {self.n} rows")
        return self.score_curve(scores, np.array([threshold]), cost, profile)[0]

    def score_curve(self, anomaly_scores: np.ndarray, thresholds: np.ndarray, cost: CostMatrix, profile: str = "") -> list[FileScore]:
        """File score at each threshold (detection = anomaly score >= threshold), vectorised."""
        scores = np.nan_to_num(np.asarray(anomaly_scores, dtype=float), nan=-np.inf)
        sweep = self.sweep_scores(cost)
        th = np.asarray(thresholds, dtype=float)
        outside = self.scorable & (self.window_id < 0)
        out_scores = np.sort(scores[outside])[::-1]
        out_sweep = sweep[outside][np.argsort(-scores[outside], kind="stable")]
        fp_cum = np.concatenate([[0.0], np.cumsum(out_sweep)])
        n_fp = np.searchsorted(-out_scores, -th, side="right")  # count of out-of-window scores >= t
        total = fp_cum[n_fp]
        n_tp = np.zeros(len(th), dtype=int)
        n_in = 0
        for lo, hi in self.windows:
            rows = np.arange(lo, hi + 1)
            rows = rows[self.scorable[rows]]
            if len(rows) == 0:
                continue
            n_in += len(rows)
            prefix_max = np.maximum.accumulate(scores[rows])
            first = np.searchsorted(prefix_max, th, side="left")  # earliest row with score >= t
            hit = first < len(rows)
            best = np.where(hit, sweep[rows[np.minimum(first, len(rows) - 1)]], -cost.fn)
            total = total + np.maximum(best, -cost.fn)
            in_sorted = np.sort(scores[rows])
            n_tp += len(rows) - np.searchsorted(in_sorted, th, side="left")
        n_out = int(outside.sum())
        return [
            FileScore(self.name, profile, float(t), float(s), int(tp), int(n_out - fp), int(fp), int(n_in - tp), self.n)
            for t, s, tp, fp in zip(th, total, n_tp, n_fp)
        ]


@dataclass
class Corpus:
    """A NAB-layout directory: data/<category>/<series>.csv, labels/combined_windows.json, config/."""

    root: Path
    series: dict[str, LabeledSeries] = field(default_factory=dict)
    values: dict[str, np.ndarray] = field(default_factory=dict)
    profiles: dict[str, CostMatrix] = field(default_factory=dict)

    @classmethod
    def load(cls, root: str | Path, only: Iterable[str] | None = None) -> "Corpus":
        root = Path(root)
        labels_path = root / "labels" / "combined_windows.json"
        profiles_path = root / "config" / "profiles.json"
        for p in (labels_path, profiles_path):
            if not p.is_file():
                raise FileNotFoundError(f"not a NAB directory: {p} is missing")
        windows = json.loads(labels_path.read_text())
        corpus = cls(root, profiles={k: CostMatrix.from_nab(v) for k, v in json.loads(profiles_path.read_text()).items()})
        wanted = set(only) if only else None
        for name in sorted(windows):
            if wanted is not None and name not in wanted:
                continue
            csv = root / "data" / name
            if not csv.is_file():
                continue  # labels cover the full corpus; the data dir may hold a subset
            frame = pd.read_csv(csv)
            if list(frame.columns[:2]) != ["timestamp", "value"]:
                raise ValueError(f"{csv}: expected header timestamp,value, got {list(frame.columns)}")
            corpus.series[name] = LabeledSeries(name, frame["timestamp"], [tuple(w) for w in windows[name]])
            corpus.values[name] = frame["value"].to_numpy(dtype=float)
        if not corpus.series:
            raise FileNotFoundError(f"{root}/data holds none of the labelled NAB files")
        return corpus

    def n_windows(self) -> int:
        return sum(len(s.windows) for s in self.series.values())


def null_and_perfect(corpus: Corpus, cost: CostMatrix) -> tuple[float, float]:
    """Raw corpus scores of NAB's null (never alarms) and perfect (first row of each window) detectors."""
    null = perfect = 0.0
    for s in corpus.series.values():
        never = np.zeros(s.n)
        null += s.score(never, 0.5, cost).score
        first_rows = np.zeros(s.n)
        for lo, hi in s.windows:
            rows = [i for i in range(lo, hi + 1) if s.scorable[i]]
            if rows:
                first_rows[rows[0]] = 1.0
        perfect += s.score(first_rows, 0.5, cost).score
    return null, perfect


def normalise(raw: float, null: float, perfect: float) -> float:
    return 100.0 * (raw - null) / (perfect - null)


@dataclass
class ProfileResult:
    profile: str
    threshold: float
    raw_score: float
    null_score: float
    perfect_score: float
    normalized_score: float
    files: list[FileScore]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["files"] = [asdict(f) for f in self.files]
        return d


def score_corpus(
    corpus: Corpus,
    anomaly_scores: dict[str, np.ndarray],
    thresholds: dict[str, float] | None = None,
    grid: np.ndarray | None = None,
    refractory: int = 0,
) -> dict[str, ProfileResult]:
    """Score a detector's per-file anomaly scores for every profile.

    With `thresholds` (profile -> threshold, as in NAB's config/thresholds.json) those are
    used; otherwise the threshold is tuned per profile to maximise the corpus score, which
    is what NAB's optimizer does (so NAB scores are scores at the best threshold).
    With `refractory` > 0 the detections at a threshold are `suppress_repeats` alarms (no
    second alarm within that many rows of the last), scored as NAB's binary detections.
    """
    missing = set(corpus.series) - set(anomaly_scores)
    if missing:
        raise ValueError(f"no anomaly scores for: {', '.join(sorted(missing))}")
    if refractory > 0:
        return _score_corpus_refractory(corpus, anomaly_scores, thresholds, grid, refractory)
    grid = np.linspace(0.0, 1.0, 1001) if grid is None else np.asarray(grid, dtype=float)
    out: dict[str, ProfileResult] = {}
    for profile, cost in corpus.profiles.items():
        if thresholds and profile in thresholds:
            best = float(thresholds[profile])
        else:
            totals = sum(
                np.array([f.score for f in s.score_curve(anomaly_scores[name], grid, cost)])
                for name, s in corpus.series.items()
            )
            best = float(grid[int(np.argmax(totals))])
        files = [s.score(anomaly_scores[name], best, cost, profile) for name, s in corpus.series.items()]
        out[profile] = _profile_result(corpus, profile, cost, best, files)
    return out


def _profile_result(corpus: Corpus, profile: str, cost: CostMatrix, threshold: float, files: list[FileScore]) -> ProfileResult:
    raw = sum(f.score for f in files)
    null, perfect = null_and_perfect(corpus, cost)
    return ProfileResult(profile, threshold, raw, null, perfect, normalise(raw, null, perfect), files)


def _score_corpus_refractory(corpus: Corpus, anomaly_scores: dict[str, np.ndarray], thresholds: dict[str, float] | None,
                             grid: np.ndarray | None, refractory: int) -> dict[str, ProfileResult]:
    """score_corpus for thresholded-then-suppressed alarms: alarms depend on the threshold in a
    path-dependent way, so every grid threshold is scored on its own alarm vector (0.005 grid)."""
    from opsradar.models.metrics.anomaly import suppress_repeats

    grid = np.linspace(0.0, 1.0, 201) if grid is None else np.asarray(grid, dtype=float)

    def alarms_at(th: float) -> dict[str, np.ndarray]:
        return {n: suppress_repeats(anomaly_scores[n], th, refractory).astype(float) for n in corpus.series}

    def files_at(th: float, alarms: dict[str, np.ndarray], cost: CostMatrix, profile: str) -> list[FileScore]:
        return [replace(s.score(alarms[n], 0.5, cost, profile), threshold=float(th)) for n, s in corpus.series.items()]

    best: dict[str, tuple[float, float]] = {}
    tuned = [p for p in corpus.profiles if not (thresholds and p in thresholds)]
    if tuned:
        for th in grid:
            alarms = alarms_at(th)
            for p in tuned:
                raw = sum(f.score for f in files_at(th, alarms, corpus.profiles[p], p))
                if p not in best or raw > best[p][1]:
                    best[p] = (float(th), raw)
    out: dict[str, ProfileResult] = {}
    for profile, cost in corpus.profiles.items():
        th = float(thresholds[profile]) if thresholds and profile in thresholds else best[profile][0]
        out[profile] = _profile_result(corpus, profile, cost, th, files_at(th, alarms_at(th), cost, profile))
    return out


def run_detector(corpus: Corpus, detector: Callable[[np.ndarray, np.ndarray], np.ndarray], progress: Callable[[str], None] | None = None) -> dict[str, np.ndarray]:
    """Anomaly scores in [0, 1] for every series: detector(timestamps, values) -> scores."""
    out = {}
    for name, s in corpus.series.items():
        if progress:
            progress(name)
        scores = np.asarray(detector(s.timestamps, corpus.values[name]), dtype=float)
        if scores.shape != (s.n,):
            raise ValueError(f"detector returned {scores.shape} scores for {name} ({s.n} rows)")
        out[name] = scores
    return out


def published_scores(corpus: Corpus, results_dir: str | Path) -> dict[str, dict]:
    """A published NAB detector's score on exactly this corpus's files.

    `results_dir` is NAB's results/<detector>/ folder with `<detector>_<profile>_scores.csv`
    (per-file raw scores at the detector's published, corpus-tuned threshold). The per-file
    scores of our files are summed and normalised against this corpus's null and perfect
    detectors, as NAB normalises its totals, so a subset of NAB compares like for like.
    """
    results_dir = Path(results_dir)
    out: dict[str, dict] = {}
    for profile, cost in corpus.profiles.items():
        tables = sorted(results_dir.glob(f"*_{profile}_scores.csv"))
        if not tables:
            continue
        table = pd.read_csv(tables[0]).dropna(subset=["File"]).set_index("File")
        missing = sorted(set(corpus.series) - set(table.index))
        if missing:
            raise ValueError(f"{tables[0]}: no row for {missing[0]}" + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
        rows = table.loc[sorted(corpus.series)]
        raw = float(rows["Score"].sum())
        null, perfect = null_and_perfect(corpus, cost)
        out[profile] = {"detector": str(rows["Detector"].iloc[0]), "threshold": float(rows["Threshold"].iloc[0]),
                        "raw_score": raw, "normalized_score": normalise(raw, null, perfect)}
    if not out:
        raise FileNotFoundError(f"{results_dir}: no <detector>_<profile>_scores.csv for any of {', '.join(corpus.profiles)}")
    return out
