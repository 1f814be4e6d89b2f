"""Log anomaly model commands: `opsradar eval logs`, `opsradar train logs`, `opsradar score logs`."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer

ConfigOpt = Annotated[Optional[str], typer.Option("--config", "-c", help="TOML config file (else $OPSRADAR_CONFIG or ./opsradar.toml)")]


def group(app: typer.Typer, name: str, help_text: str) -> typer.Typer:
    """The `opsradar <name>` sub-app, shared with other areas (created by whoever registers first)."""
    for info in app.registered_groups:
        if info.name == name and info.typer_instance is not None:
            return info.typer_instance
    sub = typer.Typer(help=help_text, no_args_is_help=True)
    app.add_typer(sub, name=name)
    return sub


def _progress_bar():
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from opsradar.cli import console

    return Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total} epochs"),
                    TextColumn("{task.fields[info]}"), TimeElapsedColumn(), console=console, transient=True)


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    train_app = group(app, "train", "Train models (logs, metrics).")
    score_app = group(app, "score", "Score feature tables with registered models.")

    @train_app.command("logs")
    def train_logs(
        end: Annotated[str, typer.Option(help="Training data end (exclusive), ISO 8601 (UTC if naive)")],
        start: Annotated[Optional[str], typer.Option(help="Training data start (default: end - log_model.train_days)")] = None,
        config: ConfigOpt = None,
    ) -> None:
        """Train the log anomaly model on [start, end) windows and register it (see docs/log_model.md).

        Multi-GPU / multi-process: `torchrun --nproc_per_node N -m opsradar.models.logs.ddp_train ...`."""
        from datetime import timedelta

        from opsradar.cli import _cfg, _utc
        from opsradar.pipeline.tasks import run_stage

        stop = _utc(end)
        begin = _utc(start) if start else stop - timedelta(days=_cfg(config).log_model.train_days)
        typer.echo(json.dumps(run_stage("train_logs", begin, stop, config), indent=2))

    @score_app.command("logs")
    def score_logs(
        start: Annotated[str, typer.Option(help="Interval start, ISO 8601 (UTC if naive)")],
        end: Annotated[str, typer.Option(help="Interval end (exclusive)")],
        config: ConfigOpt = None,
    ) -> None:
        """Score the interval's log windows with the registry's production model -> scores/ (idempotent)."""
        from opsradar.cli import _utc
        from opsradar.pipeline.tasks import run_stage

        typer.echo(json.dumps(run_stage("score_logs", _utc(start), _utc(end), config), indent=2))

    @eval_app.command("logs")
    def eval_logs(
        fmt: Annotated[Optional[str], typer.Option("--format", help="HDFS | BGL | Thunderbird | any Loghub format (loghub:X)")] = None,
        log: Annotated[Optional[str], typer.Option("--log", help="Raw log file")] = None,
        labels: Annotated[Optional[str], typer.Option("--labels", help="HDFS anomaly_label.csv (BlockId,Label)")] = None,
        sessions: Annotated[Optional[str], typer.Option("--sessions", help="Pre-parsed sessions JSONL (id, templates, label[, split])")] = None,
        mode: Annotated[str, typer.Option(help="supervised | unsupervised")] = "unsupervised",
        window_lines: Annotated[int, typer.Option(help="Lines per window for line-labelled formats")] = 100,
        epochs: Annotated[int, typer.Option(help="Max epochs (early stopping on validation)")] = 30,
        encoder_layers: Annotated[Optional[int], typer.Option(help="Keep only the first N MiniLM layers (default all 6)")] = None,
        seed: Annotated[int, typer.Option(help="Seed for splits and training")] = 42,
        device: Annotated[str, typer.Option(help="auto | cpu | cuda")] = "auto",
        as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON")] = False,
    ) -> None:
        """Run the literature's protocol (HDFS sessions; BGL 100-line windows; or given sessions) and print P/R/F1."""
        import time

        from opsradar.cli import console
        from opsradar.eval import logs as ev
        from opsradar.models.logs.settings import LogModelSettings

        started = time.perf_counter()
        templater_name = None
        try:
            if sessions:
                windows, protocol = ev.load_sessions(sessions), "sessions"
            elif fmt and log:
                name = fmt.split(":", 1)[-1]
                templater, templater_name = ev.make_templater()
                if name == "HDFS":
                    if not labels:
                        raise ValueError("--format HDFS needs --labels anomaly_label.csv")
                    windows, protocol = ev.hdfs_sessions(log, labels, templater), "hdfs"
                else:
                    windows, protocol = ev.line_windows(log, f"loghub:{name}", templater, window_lines), "lines"
            else:
                raise ValueError("give --sessions FILE, or --format and --log")
            settings = LogModelSettings(mode=mode, epochs=epochs, encoder_layers=encoder_layers, seed=seed)
        except (ValueError, KeyError, OSError) as err:
            console.print(f"[red]{err}[/red]")
            raise typer.Exit(2) from None
        if sum(windows.labels) == 0:
            console.print("[red]the data has no anomalous windows: precision/recall/F1 are undefined[/red]")
            raise typer.Exit(2)
        with _progress_bar() as bar:
            task = bar.add_task("training", total=epochs, info="")
            results = ev.evaluate(windows, protocol, settings, seed, device,
                                  progress=lambda e, n, h: bar.update(task, completed=e, info=f"valid loss {h['valid_loss']:.4f}"))
        out = {"format": fmt, "protocol": protocol, "mode": mode, "templater": templater_name, "windows": len(windows.labels),
               "anomalies": int(sum(windows.labels)), "data_notes": windows.notes, "splits": results,
               "seconds": round(time.perf_counter() - started, 2)}
        if as_json:
            typer.echo(json.dumps(out, indent=2))
            return
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"log anomaly detection, {protocol} protocol, {mode} ({out['windows']} windows, {out['anomalies']} anomalous)")
        for col in ("split", "precision", "recall", "F1", "train (anom.)", "test (anom.)", "train s", "test s"):
            table.add_column(col)
        for split, r in results.items():
            table.add_row(split, f"{r['precision']:.3f}", f"{r['recall']:.3f}", f"{r['f1']:.3f}",
                          f"{r['train_windows']} ({r['train_anomalies']})", f"{r['test_windows']} ({r['test_anomalies']})",
                          f"{r['train_seconds']:.1f}", f"{r['test_seconds']:.2f}")
        Console().print(table)
        if templater_name:
            console.print(f"templates: {templater_name}")
