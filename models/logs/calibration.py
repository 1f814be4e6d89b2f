"""Threshold choice and the raw-score -> 0..100 mapping, both fitted on validation data."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def prf(pred: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Precision, recall and F1 of the anomalous class (label 1)."""
    pred, labels = np.asarray(pred, bool), np.asarray(labels, bool)
    tp = int((pred & labels).sum())
    fp = int((pred & ~labels).sum())
    fn = int((~pred & labels).sum())
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f1, "tp": tp, "fp": fp, "fn": fn, "tn": int((~pred & ~labels).sum())}


def best_f1_threshold(scores: np.ndarray, labels: np.ndarray) -> float:
    """The cut (midway between adjacent scores) that maximises validation F1; ties -> the higher cut."""
    scores, labels = np.asarray(scores, float), np.asarray(labels, bool)
    values = np.unique(scores)
    cuts = np.concatenate([(values[:-1] + values[1:]) / 2, [values[-1] + 1e-6]]) if len(values) > 1 else values
    best, best_f1 = float(cuts[-1]), -1.0
    for cut in cuts:
        f1 = prf(scores >= cut, labels)["f1"]
        if f1 >= best_f1:
            best, best_f1 = float(cut), f1
    return best


def quantile_threshold(scores: np.ndarray, q: float) -> float:
    return float(np.quantile(np.asarray(scores, float), q)) + 1e-9


@dataclass
class Calibrator:
    """Monotone piecewise-linear map: validation scores below the threshold spread over
    [0, 50), the threshold maps to 50, scores above it over (50, 100]. So 50 is the
    alert line and the number reads as "how far into normal / anomalous territory"."""

    xs: list[float]
    ys: list[float]

    @classmethod
    def fit(cls, scores: np.ndarray, threshold: float, knots: int = 20) -> "Calibrator":
        scores = np.asarray(scores, float)
        low, high = scores[scores < threshold], scores[scores >= threshold]
        lo_x = np.quantile(low, np.linspace(0, 1, knots + 1)) if len(low) else np.array([threshold - 1.0])
        spread = max(threshold - float(lo_x[0]), 1e-6)
        hi_x = np.quantile(high, np.linspace(0, 1, knots + 1)) if len(high) else np.array([threshold + spread])
        if hi_x[-1] <= threshold:
            hi_x = np.array([threshold + spread])
        lo_y = np.linspace(0, 50, len(lo_x) + 1)[:-1]
        hi_y = np.linspace(50, 100, len(hi_x) + 1)[1:]
        xs = np.concatenate([lo_x[lo_x < threshold], [threshold], hi_x[hi_x > threshold]])
        ys = np.concatenate([lo_y[lo_x < threshold], [50.0], hi_y[hi_x > threshold]])
        xs = np.maximum.accumulate(xs + np.arange(len(xs)) * 1e-12)  # strictly increasing for interp
        return cls([float(x) for x in xs], [float(y) for y in ys])

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        return np.clip(np.interp(np.asarray(raw, float), self.xs, self.ys), 0.0, 100.0)
