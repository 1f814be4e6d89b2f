"""PNG plots (matplotlib, Agg backend): capacity forecasts and NAB detections."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_capacity(path: str | Path, title: str, hist_t: np.ndarray, hist_y: np.ndarray, fc_t: np.ndarray,
                  p50: np.ndarray, p95: np.ndarray, capacity: float | None, saturation: float, unit: str) -> Path:
    """History, forecast p50 with the p50-p95 band, capacity and saturation lines."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10, 3.6), dpi=100)
    ax.plot(hist_t, hist_y, lw=0.8, color="#333", label="usage")
    ax.plot(fc_t, p50, lw=1.0, color="#1f77b4", label="forecast p50")
    ax.fill_between(fc_t, p50, p95, color="#1f77b4", alpha=0.25, label="p50-p95")
    if capacity:
        ax.axhline(capacity, color="#2ca02c", ls="--", lw=1, label="capacity")
        ax.axhline(saturation * capacity, color="#d62728", ls=":", lw=1.2, label=f"saturation {saturation:.0%}")
    ax.set_title(title)
    ax.set_ylabel(unit)
    ax.legend(loc="upper left", fontsize=7, ncol=5)
    fig.autofmt_xdate()
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def plot_nab(corpus, scores: dict[str, np.ndarray], thresholds: dict[str, float], path: str | Path, refractory: int = 0) -> Path:
    """One panel per series: values, windows shaded, alarms at the standard threshold."""
    from opsradar.models.metrics.anomaly import suppress_repeats

    plt = _plt()
    names = list(corpus.series)
    fig, axes = plt.subplots(len(names), 1, figsize=(11, 2.4 * len(names)), dpi=90, squeeze=False)
    th = thresholds.get("standard", 0.5)
    for ax, name in zip(axes[:, 0], names):
        s, v = corpus.series[name], corpus.values[name]
        ax.plot(s.timestamps, v, lw=0.6, color="#333")
        for lo, hi in s.windows:
            ax.axvspan(s.timestamps[lo], s.timestamps[hi], color="#ff7f0e", alpha=0.2)
        hits = np.nonzero(suppress_repeats(scores[name], th, refractory) & s.scorable)[0]
        ax.scatter(s.timestamps[hits], v[hits], color="#d62728", s=10, zorder=3)
        ax.set_title(name, fontsize=9)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out
