"""`opsradar eval parsing`: GA/PA of the template miner on Loghub ground truth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

ConfigOpt = Annotated[Optional[str], typer.Option("--config", "-c", help="TOML config file (else $OPSRADAR_CONFIG or ./opsradar.toml)")]


def parsing_config_for_eval(cfg, profiles: str):
    """`cfg.parsing` with the declared Loghub profiles ('loghub') or without any ('none')."""
    from opsradar.config import ParsingProfile
    from opsradar.parsing.profiles import LOGHUB_PROFILES

    if profiles == "none":
        return cfg.parsing.model_copy(update={"profiles": {}})
    if profiles == "config":
        return cfg.parsing
    builtin = {name: ParsingProfile(**values) for name, values in LOGHUB_PROFILES.items()}
    return cfg.parsing.model_copy(update={"profiles": {**builtin, **cfg.parsing.profiles}})


def plot_scores(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["systems"]
    names = [r["system"] for r in rows]
    x = range(len(rows))
    fig, ax = plt.subplots(figsize=(11, 4))
    ax.bar([i - 0.2 for i in x], [r["grouping_accuracy"] for r in rows], width=0.4, label="GA")
    ax.bar([i + 0.2 for i in x], [r["parsing_accuracy"] for r in rows], width=0.4, label="PA")
    ax.axhline(report["average"]["grouping_accuracy"], color="C0", ls="--", lw=1,
               label=f"mean GA {report['average']['grouping_accuracy']:.3f}")
    ax.set_xticks(list(x), names, rotation=45, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_title(f"Template mining on Loghub-2k (profiles: {report['profiles']})")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.32), ncol=3, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    @eval_app.command("parsing")
    def eval_parsing(
        data: Annotated[Path, typer.Option("--data", help="Loghub folder (searched for *_structured.csv)")],
        as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON only")] = False,
        profiles: Annotated[str, typer.Option(help="loghub: declared per-system settings | config: only "
                                                   "parsing.profiles from the config | none: one setting for all")] = "loghub",
        system: Annotated[Optional[list[str]], typer.Option("--system", help="Only these systems (repeatable)")] = None,
        plot: Annotated[Optional[Path], typer.Option(help="Also write a PNG bar chart here")] = None,
        config: ConfigOpt = None,
    ) -> None:
        """Grouping accuracy (GA) and parsing accuracy (PA) per system and averaged (Loghub definitions)."""
        from rich.console import Console
        from rich.table import Table

        from opsradar.cli import _cfg
        from opsradar.eval.parsing import evaluate_loghub
        from opsradar.parsing import TemplateMiner, miner_config

        if profiles not in ("loghub", "config", "none"):
            raise typer.BadParameter("expected loghub, config or none", param_hint="--profiles")
        if not data.is_dir():
            raise typer.BadParameter(f"{data} is not a folder", param_hint="--data")
        parsing = parsing_config_for_eval(_cfg(config), profiles)
        err = Console(stderr=True)
        try:
            with err.status("parsing...") as status:
                report = evaluate_loghub(data, lambda s: TemplateMiner(miner_config(parsing, s)), system,
                                         progress=lambda s: status.update(f"parsing {s}..."))
        except (FileNotFoundError, ValueError) as exc:
            err.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
        report["profiles"] = profiles
        if plot:
            plot_scores(report, plot)
        if as_json:
            typer.echo(json.dumps(report, indent=2))
            return
        table = Table(title=f"Log parsing accuracy (Loghub GA/PA; profiles: {profiles})")
        for col in ("system", "lines", "templates (truth)", "templates (ours)", "GA", "PA", "seconds"):
            table.add_column(col, justify="left" if col == "system" else "right")
        for r in report["systems"]:
            table.add_row(r["system"], str(r["lines"]), str(r["truth_templates"]), str(r["predicted_templates"]),
                          f"{r['grouping_accuracy']:.3f}", f"{r['parsing_accuracy']:.3f}", f"{r['seconds']:.2f}")
        avg = report["average"]
        table.add_section()
        table.add_row("average", str(avg["lines"]), "", "", f"[bold]{avg['grouping_accuracy']:.3f}[/bold]",
                      f"[bold]{avg['parsing_accuracy']:.3f}[/bold]", f"{avg['seconds']:.2f}")
        Console().print(table)
        if plot:
            err.print(f"plot: {plot}")
