"""`opsradar es setup`, `opsradar kibana import|render`, `opsradar search anomalies`, `opsradar run sink-results`."""


import json
from pathlib import Path
from typing import Annotated, Optional

import typer

kibana_app = typer.Typer(help="Kibana objects as code: data views, searches, dashboard, alert rules.", no_args_is_help=True)


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    from opsradar.cli import ConfigOpt, _cfg, _utc, console, es_app, run_app, search_app

    app.add_typer(kibana_app, name="kibana")

    def _connect(cfg):
        from opsradar.es.client import EsUnavailable, connect
        from opsradar.es.credentials import es_config

        try:
            es_cfg = es_config(cfg)
            return connect(es_cfg), es_cfg
        except EsUnavailable as err:
            console.print(f"[red]{err}[/red]")
            raise typer.Exit(2) from None

    @es_app.command("setup")
    def es_setup(config: ConfigOpt = None, as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False) -> None:
        """Install ILM policy, component/index templates and write aliases (idempotent)."""
        from opsradar.es.credentials import redact
        from opsradar.es.setup import MappingConflictError, PolicyOptions, SetupError, install

        cfg = _cfg(config)
        es, es_cfg = _connect(cfg)
        s = cfg.es_sink
        try:
            report = install(es, es_cfg.index_prefix, PolicyOptions(s.rollover_max_primary_shard_size, s.rollover_max_age,
                                                                    s.warm_after, s.retention_days))
        except (MappingConflictError, SetupError) as err:
            console.print(f"[red]{redact(str(err), es_cfg)}[/red]")
            raise typer.Exit(1) from None
        if as_json:
            typer.echo(json.dumps(report.to_dict(), indent=2))
            return
        for name, action in sorted(report.actions.items()):
            colour = {"created": "green", "updated": "yellow"}.get(action, "dim")
            console.print(f"[{colour}]{action:9}[/{colour}] {name}")
        console.print("ILM: " + ("installed" if report.ilm else "not available on this cluster (policy skipped)"))

    @kibana_app.command("import")
    def kibana_import(config: ConfigOpt = None) -> None:
        """Import saved objects and create/update alert rules through Kibana's HTTP APIs."""
        from opsradar.es.kibana import KibanaClient, KibanaError, load_rules, load_saved_objects

        cfg = _cfg(config)
        prefix = cfg.es.index_prefix
        try:
            report = KibanaClient(cfg.kibana).import_all(load_saved_objects(prefix), load_rules(prefix, cfg.kibana))
        except (KibanaError, OSError) as err:
            from opsradar.es.credentials import redact

            console.print(f"[red]{redact(str(err), cfg.kibana)}[/red]")
            raise typer.Exit(1) from None
        typer.echo(json.dumps(report, indent=2))

    @kibana_app.command("render")
    def kibana_render(out: Annotated[Path, typer.Option(help="Folder to write saved-objects.ndjson and rules/ into")],
                      config: ConfigOpt = None) -> None:
        """Write the rendered objects (prefix and thresholds filled in), e.g. for Kibana's UI import."""
        from opsradar.es.kibana import load_rules, load_saved_objects, to_ndjson

        cfg = _cfg(config)
        (out / "rules").mkdir(parents=True, exist_ok=True)
        (out / "saved-objects.ndjson").write_bytes(to_ndjson(load_saved_objects(cfg.es.index_prefix)))
        for rule in load_rules(cfg.es.index_prefix, cfg.kibana):
            (out / "rules" / f"{rule['id']}.json").write_text(json.dumps(rule, indent=2))
        console.print(f"wrote {out}")

    @search_app.command("anomalies")
    def search_anomalies_cmd(
        since: Annotated[Optional[str], typer.Option(help="From (ISO 8601, UTC if naive)")] = None,
        until: Annotated[Optional[str], typer.Option(help="Until, exclusive")] = None,
        service: Annotated[Optional[str], typer.Option(help="service.name")] = None,
        host: Annotated[Optional[str], typer.Option(help="host.name")] = None,
        min_score: Annotated[Optional[float], typer.Option(help="Minimum opsradar.score_normalized (0-100)")] = None,
        query: Annotated[Optional[str], typer.Option(help="Query string over message, example lines, templates")] = None,
        family: Annotated[Optional[str], typer.Option(help="log or metric")] = None,
        size: Annotated[int, typer.Option(help="Max hits")] = 20,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines")] = False,
        config: ConfigOpt = None,
    ) -> None:
        """Anomalies from Elasticsearch, highest score first."""
        from rich.console import Console
        from rich.table import Table

        from opsradar.es.search import search_anomalies

        cfg = _cfg(config)
        es, es_cfg = _connect(cfg)
        total, hits = search_anomalies(es, es_cfg.index_prefix, since and _utc(since), until and _utc(until), service, host,
                                       min_score, query, family, size)
        if as_json:
            for hit in hits:
                typer.echo(json.dumps(hit))
            return
        table = Table(title=f"{total} anomal{'y' if total == 1 else 'ies'} (showing {len(hits)})")
        for col in ("@timestamp", "score", "family", "service", "host", "entity", "why"):
            table.add_column(col, overflow="fold")
        for h in hits:
            ops = h.get("opsradar", {})
            why = ops.get("top_template") or ops.get("top_driver") or ""
            table.add_row(h["@timestamp"], f"{ops.get('score_normalized', 0):.1f}", ops.get("family", ""),
                          h.get("service", {}).get("name", ""), h.get("host", {}).get("name", ""), ops.get("entity", ""), why[:120])
        Console().print(table)

    @run_app.command("sink-results")
    def run_sink(start: Annotated[str, typer.Option(help="Interval start, ISO 8601 (UTC if naive)")],
                 end: Annotated[str, typer.Option(help="Interval end (exclusive)")], config: ConfigOpt = None) -> None:
        """Index the interval's scores, forecasts, capacity plans and run records into Elasticsearch."""
        from opsradar.pipeline.tasks import run_stage

        typer.echo(json.dumps(run_stage("sink_results", _utc(start), _utc(end), config), indent=2))
