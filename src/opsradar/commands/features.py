"""`opsradar featurize logs|metrics|entities`: run one Spark featurize stage over an interval."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Annotated, Optional

import typer

ConfigOpt = Annotated[Optional[str], typer.Option("--config", "-c", help="TOML config file")]
STAGES = {"logs": "featurize_logs", "metrics": "featurize_metrics", "entities": "featurize_entities"}


def _utc(value: str) -> datetime:
    ts = datetime.fromisoformat(value)
    return ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    group = typer.Typer(help="Spark feature jobs: log windows/sessions, metric features, entity x window join.", no_args_is_help=True)
    app.add_typer(group, name="featurize")

    def make(kind: str, stage: str) -> None:
        def command(
            start: Annotated[str, typer.Option(help="Interval start, ISO 8601 (UTC if naive), hour-aligned")],
            end: Annotated[str, typer.Option(help="Interval end (exclusive)")],
            config: ConfigOpt = None,
        ) -> None:
            from opsradar.pipeline.tasks import run_stage

            typer.echo(json.dumps(run_stage(stage, _utc(start), _utc(end), config), indent=2))

        command.__doc__ = f"Run stage {stage} for [start, end) (idempotent; see docs/features.md)."
        group.command(kind)(command)

    for kind, stage in STAGES.items():
        make(kind, stage)
