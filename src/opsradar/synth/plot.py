"""`overview.png` of a generated data set: metrics per host and log volume, incidents shaded."""

from __future__ import annotations

import json
from pathlib import Path

COLORS = {"error_burst": "tab:red", "new_exception": "tab:purple", "latency_spike": "tab:orange",
          "memory_leak": "tab:brown", "cpu_saturation": "tab:olive"}


def _log_counts(folder: Path):
    import pandas as pd

    rows = []
    for path in sorted(folder.glob("logs/*/*.log")):
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                rows.append((line[:15], path.parent.name, line.split(" ", 4)[3] == "ERROR"))  # minute/10
    frame = pd.DataFrame(rows, columns=["bucket", "service", "error"])
    frame["bucket"] = pd.to_datetime(frame["bucket"] + "0", format="%Y-%m-%d %H:%M", utc=True)
    return frame


def plot_overview(folder: str | Path, path: str | Path | None = None) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    import pandas as pd

    folder = Path(folder)
    truth = json.loads((folder / "ground_truth.json").read_text(encoding="utf-8"))
    metrics = pd.concat(pd.read_csv(p) for p in sorted(folder.glob("metrics/*.csv")))
    metrics["timestamp"] = pd.to_datetime(metrics["timestamp"], utc=True)
    logs = _log_counts(folder)
    fig, axes = plt.subplots(5, 1, figsize=(14, 14), sharex=True)
    for ax, metric, label in zip(axes, ("cpu_pct", "mem_pct", "latency_p95_ms"), ("CPU %", "memory %", "p95 latency (ms, log)")):
        for host, series in metrics[metrics.metric == metric].groupby("host"):
            ax.plot(series.timestamp, series.value, lw=0.7, label=host)
        ax.set_ylabel(label)
    axes[2].set_yscale("log")
    axes[0].legend(ncol=7, fontsize=7, loc="upper left")
    for ax, frame, label in ((axes[3], logs, "log lines / 10 min"), (axes[4], logs[logs.error], "ERROR lines / 10 min")):
        counts = frame.groupby(["bucket", "service"]).size().unstack(fill_value=0)
        for service in counts.columns:
            ax.plot(counts.index, counts[service], lw=0.8, label=service)
        ax.set_ylabel(label)
        ax.legend(ncol=5, fontsize=7, loc="upper left")
    for inc in truth["incidents"]:
        start, end = pd.Timestamp(inc["start"]), pd.Timestamp(inc["end"])
        for ax in axes:
            ax.axvspan(start, end, color=COLORS[inc["type"]], alpha=0.2, lw=0)
    handles = [Patch(color=c, alpha=0.4, label=k) for k, c in COLORS.items()]
    fig.legend(handles=handles, ncol=len(handles), loc="lower center", fontsize=8, title="injected incidents")
    fig.suptitle(f"Synthetic data, seed {truth['seed']}: {truth['start']} .. {truth['end']} "
                 f"({len(truth['incidents'])} injected incidents shaded)")
    fig.tight_layout(rect=(0, 0.05, 1, 0.98))
    out = Path(path) if path else folder / "overview.png"
    fig.savefig(out, dpi=90, metadata={"Software": None})
    plt.close(fig)
    return out
