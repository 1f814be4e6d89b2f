"""Ingest commands: `opsradar run ingest-metrics` and `opsradar ingest check` (try a format on a file)."""


import json
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

console = Console(stderr=True)


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    from opsradar.cli import ConfigOpt, _utc, run_app

    @run_app.command("ingest-metrics")
    def ingest_metrics_cmd(
        start: Annotated[str, typer.Option(help="Interval start, ISO 8601 (UTC if naive)")],
        end: Annotated[str, typer.Option(help="Interval end (exclusive)")],
        config: ConfigOpt = None,
    ) -> None:
        """Parse configured metric files (CSV long/wide, Prometheus/OpenMetrics) into raw Parquet."""
        from opsradar.pipeline.tasks import run_stage

        typer.echo(json.dumps(run_stage("ingest_metrics", _utc(start), _utc(end), config), indent=2))

    ingest_app = typer.Typer(help="Log and metric ingest helpers.", no_args_is_help=True)
    app.add_typer(ingest_app, name="ingest")

    @ingest_app.command("check")
    def check(
        path: Annotated[str, typer.Argument(help="Log file (local path or fsspec URL; plain or .gz)")],
        fmt: Annotated[str, typer.Option("--format", "-f", help="loghub:<System>, syslog, rfc3164, rfc5424, jsonl, docker, cri")],
        tz: Annotated[str, typer.Option(help="Time zone of naive timestamps")] = "UTC",
        field_map: Annotated[Optional[list[str]], typer.Option(help="jsonl: column=json.key (repeatable)")] = None,
        show: Annotated[int, typer.Option(help="How many quarantined lines to show")] = 5,
        year: Annotated[Optional[int], typer.Option(help="Year for timestamps without one (default: this year)")] = None,
    ) -> None:
        """Parse a whole file with a format (no interval filter) and report what would be quarantined."""
        from datetime import datetime, timezone
        from types import SimpleNamespace

        from opsradar.ingest.logs import ingest_log_file
        from opsradar.ingest.parsers import build_parser
        from opsradar.layout import Interval

        mapping = dict(item.split("=", 1) for item in field_map or [])
        parser = build_parser(SimpleNamespace(name="check", format=fmt, field_map=mapping, time_format=None,
                                              pattern=None, time_fields=[]))
        everything = Interval(datetime(1970, 1, 1, tzinfo=timezone.utc), datetime(2200, 1, 1, tzinfo=timezone.utc))
        with console.status(f"parsing {path} as {fmt}..."):
            year = year or datetime.now(timezone.utc).year
            res = ingest_log_file(path, "check", parser, everything, tz=tz,
                                  year_reference=datetime(year, 7, 2, tzinfo=timezone.utc))
        ok = res.events.num_rows
        console.print(f"{path}: {res.lines_read} line(s), {ok} parsed "
                      f"({ok / max(res.lines_read, 1):.1%}), {res.quarantine.num_rows} quarantined")
        table = Table(title="quarantine reasons")
        table.add_column("reason")
        table.add_column("count", justify="right")
        for reason, n in res.reasons.most_common():
            table.add_row(reason, str(n))
        Console().print(table)
        for detail in res.quarantine.column("detail").to_pylist()[:show]:
            console.print(f"  {detail}")
