"""`opsradar validate <layer> --start --end`: the GX quality gate of one interval, as in the DAGs."""

import json
from enum import Enum
from typing import Annotated

import typer


class Target(str, Enum):
    raw_logs = "raw-logs"
    clean_logs = "clean-logs"
    metrics = "metrics"
    features = "features"


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    from opsradar.cli import ConfigOpt, _cfg, _utc, console

    @app.command("validate")
    def validate(
        layer: Annotated[Target, typer.Argument(help="What to validate (suites in schemas/gx with this target)")],
        start: Annotated[str, typer.Option(help="Interval start, ISO 8601 (UTC if naive)")],
        end: Annotated[str, typer.Option(help="Interval end (exclusive)")],
        config: ConfigOpt = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the suite outcomes as JSON")] = False,
    ) -> None:
        """Run the Great Expectations suites of a layer over one interval; exit 1 if an error-severity suite fails.

        Results go to the `validations` layer. Warning-severity failures are printed but do not fail.
        """
        from rich.console import Console
        from rich.table import Table

        from opsradar.layout import Interval
        from opsradar.quality.stages import validate_target
        from opsradar.quality.suites import SuiteFileError

        cfg = _cfg(config)
        try:
            result, outcomes = validate_target(cfg, Interval(_utc(start), _utc(end)), layer.name)
        except (SuiteFileError, ValueError) as err:
            console.print(f"[red]{err}[/red]")
            raise typer.Exit(2) from None
        if as_json:
            typer.echo(json.dumps({"stage": result.to_dict(), "outcomes": [o.to_dict() for o in outcomes]}, indent=2, default=str))
        else:
            table = Table(title=f"{layer.value} {result.interval_start} .. {result.interval_end}")
            for col in ("suite", "severity", "dataset", "rows", "failed", "skipped", "status"):
                table.add_column(col)
            for o in outcomes:
                status = "[green]passed[/green]" if o.success else ("[red]FAILED[/red]" if o.blocking else "[yellow]warning[/yellow]")
                table.add_row(o.suite, o.severity, o.dataset, str(o.row_count), str(len(o.failures)), str(len(o.skipped)), status)
            Console().print(table)
        # Details of every failure were logged above by the stage (as in an Airflow task log).
        blocking = [o for o in outcomes if o.blocking]
        for o in blocking:
            console.print(o.headline(), style="red", markup=False, highlight=False)
        if blocking:
            raise typer.Exit(1)
