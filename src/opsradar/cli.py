"""`opsradar` command line: every stage runs alone from here, as in the DAGs."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

app = typer.Typer(help="OpsRadar: log & metrics anomaly detection.", no_args_is_help=True, pretty_exceptions_show_locals=False)
es_app = typer.Typer(help="Elasticsearch: the local node for tests/demo, and index setup.", no_args_is_help=True)
run_app = typer.Typer(help="Run one pipeline stage for one data interval.", no_args_is_help=True)
dag_app = typer.Typer(help="Run DAGs locally with Airflow's dag.test().", no_args_is_help=True)
eval_app = typer.Typer(help="Evaluate parsers and models on public benchmark data.", no_args_is_help=True)
search_app = typer.Typer(help="Search Elasticsearch (events, anomalies).", no_args_is_help=True)
app.add_typer(search_app, name="search")
app.add_typer(es_app, name="es")
app.add_typer(eval_app, name="eval")
app.add_typer(run_app, name="run")
app.add_typer(dag_app, name="dag")
console = Console(stderr=True)

ConfigOpt = Annotated[Optional[str], typer.Option("--config", "-c", help="TOML config file (else $OPSRADAR_CONFIG or ./opsradar.toml)")]


def _utc(value: str) -> datetime:
    ts = datetime.fromisoformat(value)
    return ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)


def _cfg(path: Optional[str]):
    from opsradar.config import ConfigError, load_config

    try:
        return load_config(path)
    except ConfigError as err:
        console.print(f"[red]{err}[/red]")
        raise typer.Exit(2) from None


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging")] = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")


# -- es ---------------------------------------------------------------------------
@es_app.command("start")
def es_start(config: ConfigOpt = None, timeout: Annotated[float, typer.Option(help="Seconds to wait for health")] = 180) -> None:
    """Download (once, via Maven) and start the local single-node Elasticsearch."""
    from opsradar.es.node import LocalNode

    node = LocalNode(_cfg(config).es.local)
    with console.status("starting Elasticsearch (first run downloads ~107 MB via Maven)..."):
        state = node.start(timeout_s=timeout)
    console.print(f"Elasticsearch is up at [bold]{state.url}[/bold] (pid {state.pid})")
    typer.echo(state.url)


@es_app.command("stop")
def es_stop(config: ConfigOpt = None) -> None:
    """Stop the local node."""
    from opsradar.es.node import LocalNode

    stopped = LocalNode(_cfg(config).es.local).stop()
    console.print("stopped" if stopped else "no local node was running")


@es_app.command("status")
def es_status(config: ConfigOpt = None) -> None:
    """Print the local node's state as JSON."""
    from opsradar.es.node import LocalNode

    typer.echo(json.dumps(LocalNode(_cfg(config).es.local).status()))


# -- stages -----------------------------------------------------------------------
STAGE_HELP = {
    "ingest_logs": "Parse configured log files into raw Parquet (bad lines quarantined).",
    "clean_logs": "Spark: raw -> clean log events (levels, dedup, masking, template ids from the miner).",
    "index_events": "Bulk-index clean events into Elasticsearch (idempotent ids).",
}


def _register_stage(name: str) -> None:
    def command(
        start: Annotated[str, typer.Option(help="Interval start, ISO 8601 (UTC if naive)")],
        end: Annotated[str, typer.Option(help="Interval end (exclusive)")],
        config: ConfigOpt = None,
    ) -> None:
        from opsradar.pipeline.tasks import run_stage

        typer.echo(json.dumps(run_stage(name, _utc(start), _utc(end), config), indent=2))

    command.__doc__ = STAGE_HELP[name]
    run_app.command(name.replace("_", "-"))(command)


for _stage in STAGE_HELP:
    _register_stage(_stage)


@app.command("backfill")
def backfill(
    start: Annotated[str, typer.Option("--from", help="First interval start (ISO 8601)")],
    end: Annotated[str, typer.Option("--to", help="Last interval end (exclusive)")],
    step_hours: Annotated[int, typer.Option(help="Interval length in hours")] = 24,
    stage: Annotated[Optional[list[str]], typer.Option(
        "--stage", "-s", help="Stage(s) to run, in order (repeatable; default: ingest_logs, "
        "ingest_metrics, clean_logs, index_events)")] = None,
    config: ConfigOpt = None,
) -> None:
    """Run stages for every interval in [from, to), oldest first, without a scheduler.

    Same functions as the DAG tasks, so a backfill equals the scheduled runs; re-running
    a range replaces exactly its intervals (ingest: see docs/ingest.md for late lines).
    """
    from opsradar.pipeline.tasks import STAGES, run_stage

    names = [n.replace("-", "_") for n in stage] if stage else ["ingest_logs", "ingest_metrics", *[
        n for n in STAGE_HELP if n != "ingest_logs"]]
    unknown = [n for n in names if n not in STAGES]
    if unknown:
        console.print(f"[red]unknown stage(s) {unknown}; known: {', '.join(STAGES)}[/red]")
        raise typer.Exit(2)
    starts = []
    t, stop, step = _utc(start), _utc(end), timedelta(hours=step_hours)
    while t < stop:
        starts.append(t)
        t += step
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=console) as progress:
        bars = {name: progress.add_task(name, total=len(starts)) for name in names}
        for s in starts:
            for name in names:
                summary = run_stage(name, s, min(s + step, stop), config)
                progress.console.print(f"{name} [{summary['interval_start']}, {summary['interval_end']}): "
                                       + ", ".join(f"{k}={v}" for k, v in sorted(summary["counts"].items())))
                progress.advance(bars[name])


@dag_app.command("test")
def dag_test(
    dag_id: Annotated[str, typer.Argument(help="DAG id, e.g. opsradar_logs_skeleton")],
    logical_date: Annotated[str, typer.Option(help="Logical date; a manual run's interval ends here")],
    airflow_home: Annotated[Optional[str], typer.Option(help="AIRFLOW_HOME to use (default: a temp dir)")] = None,
) -> None:
    """Run one DAG run with dag.test() on SQLite and print its summary."""
    from opsradar.airflow_harness import run_dag

    summary = run_dag(dag_id, _utc(logical_date), home=airflow_home)
    typer.echo(json.dumps(summary, indent=2))
    if summary["state"] != "success":
        raise typer.Exit(1)


# -- search -----------------------------------------------------------------------
@search_app.command("events")
def search(
    query: Annotated[str, typer.Argument(help="Query string (Lucene syntax) over events")] = "*",
    since: Annotated[Optional[str], typer.Option(help="From (ISO 8601)")] = None,
    until: Annotated[Optional[str], typer.Option(help="Until (ISO 8601)")] = None,
    size: Annotated[int, typer.Option(help="Max hits")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines")] = False,
    config: ConfigOpt = None,
) -> None:
    """Search indexed log events in Elasticsearch and print them."""
    from opsradar.es.client import EsUnavailable, connect
    from opsradar.es.search import search_events

    cfg = _cfg(config)
    try:
        es = connect(cfg.es)
        total, hits = search_events(es, cfg.es.index_prefix, query, since and _utc(since), until and _utc(until), size)
    except EsUnavailable as err:
        console.print(f"[red]{err}[/red]")
        raise typer.Exit(2) from None
    if as_json:
        for hit in hits:
            typer.echo(json.dumps(hit))
        return
    table = Table(title=f"{total} event(s) match {query!r} (showing {len(hits)})")
    for col in ("@timestamp", "source", "level", "host", "message"):
        table.add_column(col, overflow="fold")
    for h in hits:
        table.add_row(h["@timestamp"], h.get("opsradar", {}).get("source", ""), h.get("log", {}).get("level", ""),
                      h.get("host", {}).get("name", ""), h.get("message", "")[:160])
    Console().print(table)


def _register_command_modules() -> None:
    # Each opsradar.commands module: register(app, eval_app); `search_app` is exposed here too.
    import importlib
    import pkgutil

    import opsradar.commands as commands

    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda i: i.name):
        importlib.import_module(f"opsradar.commands.{info.name}").register(app, eval_app)


_register_command_modules()


def main() -> None:
    app()


@app.command("demo")
def demo(
    workdir: Annotated[str, typer.Option(help="Where the demo keeps its data, lake and Airflow home")] = "var/demo",
    loghub: Annotated[bool, typer.Option("--loghub", help="The walking skeleton on a Loghub sample day instead")] = False,
    days: Annotated[int, typer.Option(min=2, help="Synthetic days (day 1 is training history)")] = 3,
    scale: Annotated[float, typer.Option(min=0.01, help="Synthetic log volume (1.0 is ~65k lines/day)")] = 0.3,
    seed: Annotated[int, typer.Option(min=0, help="Generator seed")] = 3,
) -> None:
    """Run the demo: synthetic incidents -> full pipeline DAG -> anomalies in ES -> printed search and capacity outlook."""
    from pathlib import Path

    from opsradar.config import load_config
    from opsradar.es.node import LocalNode

    work = Path(workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    with console.status("starting Elasticsearch..."):
        state = LocalNode(load_config().es.local).start()
    console.print(f"[green]✓[/green] Elasticsearch at {state.url}")
    if loghub:
        from opsradar.demo import run_loghub_demo

        run_loghub_demo(work, state.url, console)
    else:
        from opsradar.demo import run_synthetic_demo

        run_synthetic_demo(work, state.url, console, days=days, scale=scale, seed=seed)
    console.print("Stop Elasticsearch with [bold].venv/bin/opsradar es stop[/bold]")
