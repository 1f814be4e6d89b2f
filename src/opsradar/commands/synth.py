"""`opsradar generate`: synthetic logs + metrics with injected incidents and ground truth."""

from __future__ import annotations

from typing import Annotated, Optional

import typer


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    @app.command("generate")
    def generate_cmd(
        out: Annotated[str, typer.Option("--out", help="Output folder (logs/, metrics/, ground_truth.json)")],
        days: Annotated[int, typer.Option("--days", min=1, help="Number of days to generate")] = 1,
        seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed; same seed, same bytes")] = 0,
        start: Annotated[str, typer.Option(help="First day, ISO date (UTC)")] = "2026-01-05",
        scale: Annotated[float, typer.Option(min=0.001, help="Log volume multiplier (1.0 is ~65k lines/day)")] = 1.0,
        metric_step: Annotated[int, typer.Option(help="Seconds between metric samples")] = 60,
        incidents_per_kind: Annotated[Optional[int], typer.Option(help="Incidents of each kind (default: ceil(days/3))")] = None,
        warmup_hours: Annotated[float, typer.Option(help="Incident-free hours at the start")] = 6.0,
        plot: Annotated[bool, typer.Option(help="Also write overview.png (metrics, log volume, incidents)")] = True,
    ) -> None:
        """Write N days of realistic logs (5 services) and host metrics with injected incidents."""
        from datetime import datetime, timezone

        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
        from rich.table import Table

        from opsradar.synth import generate
        from opsradar.synth.catalog import SERVICES

        console = Console(stderr=True)
        first = datetime.fromisoformat(start)
        first = first if first.tzinfo else first.replace(tzinfo=timezone.utc)
        with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                      TimeElapsedColumn(), console=console) as progress:
            task = progress.add_task(f"generating {days} day(s)", total=len(SERVICES) + 1)
            try:
                result = generate(out, days=days, seed=seed, start=first, scale=scale, metric_step_s=metric_step,
                                  incidents_per_kind=incidents_per_kind, warmup_hours=warmup_hours,
                                  progress=lambda step: progress.update(task, advance=1, description=step))
            except ValueError as err:
                console.print(f"[red]{err}[/red]")
                raise typer.Exit(2) from None
        if plot:
            from opsradar.synth.plot import plot_overview

            with console.status("plotting overview.png..."):
                console.print(f"plot: {plot_overview(result.out)}")
        table = Table(title=f"{len(result.incidents)} injected incident(s) — {result.out / 'ground_truth.json'}")
        for col in ("id", "type", "host", "start (UTC)", "end"):
            table.add_column(col, no_wrap=True)
        for inc in result.incidents:
            table.add_row(inc.id, inc.type, inc.host, f"{inc.start:%Y-%m-%d %H:%M}", f"{inc.end:%Y-%m-%d %H:%M}")
        Console().print(table)
        console.print(f"{result.log_lines:,} log lines in {len(result.log_files)} files, "
                      f"{result.metric_rows:,} metric rows in {len(result.metric_files)} files under {result.out}")
