"""The capacity plan as Markdown (one table + one plot per entity and resource)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path


def _f(v, digits: int = 2) -> str:
    return "—" if v is None else f"{v:,.{digits}f}"


def write_report(path: Path, plan_date: datetime, sections: list[tuple[dict, str, float | None]], settings) -> Path:
    short, long_ = min(settings.plan_horizon_days), max(settings.plan_horizon_days)
    lines = [
        f"# Capacity plan — {plan_date:%Y-%m-%d}",
        "",
        f"Forecasts: p95 band of the metric forecaster; requests sized so the {short}-day p95 peak sits at "
        f"{settings.target_utilization:.0%} utilisation, limits at the {long_}-day p95 peak + {settings.limit_headroom:.0%}. "
        "Costs are per 30 days against today's allocation.",
        "",
        f"| status | entity | resource | current p95 | peak p95 {short}d | peak p95 {long_}d | capacity | days to saturation | "
        "request | limit | replicas | over-prov. cost | under-prov. cost |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    order = {"critical": 0, "warning": 1, "ok": 2}
    sections = sorted(sections, key=lambda s: (order.get(s[0]["status"], 3), s[0]["entity"], s[0]["resource"]))
    for row, _png, capacity in sections:
        lines.append(
            f"| {row['status']} | {row['source']}/{row['entity']} | {row['resource']} ({row['unit']}) | {_f(row['current_p95'])} | "
            f"{_f(row['forecast_peak_p95_7d'])} | {_f(row['forecast_peak_p95_30d'])} | {_f(capacity)} | "
            f"{_f(row['days_to_saturation'], 1)} | {_f(row['recommended_request'])} | {_f(row['recommended_limit'])} | "
            f"{row['recommended_replicas'] if row['recommended_replicas'] is not None else '—'} | "
            f"{_f(row['over_provisioning_cost'])} | {_f(row['under_provisioning_cost'])} |"
        )
    lines.append("")
    for row, png, _capacity in sections:
        lines += [f"## {row['source']}/{row['entity']} — {row['resource']}", "", f"![{row['resource']} forecast]({png})", ""]
    if sections:
        lines.append(f"Model: {sections[0][0]['model_name']} {sections[0][0]['model_version']}.")
    else:
        lines.append("No entity had usage metrics matching `metrics.resources` in this interval.")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
