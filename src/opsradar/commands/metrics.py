"""Metric model commands: eval nab / eval forecast, train / score metrics, forecast, plan."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer
from rich.console import Console

console = Console(stderr=True)
ConfigOpt = Annotated[Optional[str], typer.Option("--config", "-c", help="TOML config file")]


def _group(app: typer.Typer, name: str, help_text: str) -> typer.Typer:
    """The `opsradar <name>` group, shared with other areas (created by whoever registers first)."""
    for info in app.registered_groups:
        if info.name == name and info.typer_instance is not None:
            return info.typer_instance
    group = typer.Typer(help=help_text, no_args_is_help=True)
    app.add_typer(group, name=name)
    return group


def _cfg(path: Optional[str]):
    from opsradar.config import ConfigError, load_config

    try:
        return load_config(path)
    except ConfigError as err:
        console.print(f"[red]{err}[/red]")
        raise typer.Exit(2) from None


def _progress():
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console)


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    train_app = _group(app, "train", "Train models and register them in the model registry.")
    score_app = _group(app, "score", "Score data with the production models.")

    @eval_app.command("nab")
    def eval_nab(
        nab_root: Annotated[str, typer.Option(help="NAB-layout directory (data/, labels/combined_windows.json, config/profiles.json)")],
        as_json: Annotated[bool, typer.Option("--json", help="Print the full result as JSON")] = False,
        thresholds: Annotated[Optional[str], typer.Option(help="JSON file profile->threshold (default: tuned as NAB's optimizer does)")] = None,
        plot: Annotated[Optional[str], typer.Option(help="Write a PNG of scores vs. windows here")] = None,
        compare: Annotated[Optional[str], typer.Option(help="A published detector's NAB results/<detector>/ folder: "
                                                       "its score on the same files, beside ours")] = None,
        config: ConfigOpt = None,
    ) -> None:
        """Run our detector over every NAB series and score it with the NAB rules (0-100)."""
        from opsradar.eval.nab import Corpus, published_scores, score_corpus
        from opsradar.pipeline.metrics_model import nab_detector_scores

        cfg = _cfg(config).metrics
        corpus = Corpus.load(nab_root)
        published = published_scores(corpus, compare) if compare else None  # fails before the long run
        with _progress() as progress:
            task = progress.add_task("NAB", total=len(corpus.series) + 1 + len(cfg.nab_retrain_at))
            scores = nab_detector_scores(corpus, cfg, lambda msg: progress.update(task, description=msg, advance=1))
        fixed = json.loads(open(thresholds).read()) if thresholds else None
        results = score_corpus(corpus, scores, fixed, refractory=cfg.nab_refractory_points)
        summary = {p: round(r.normalized_score, 2) for p, r in results.items()}
        if plot:
            from opsradar.planning.plots import plot_nab

            plot_nab(corpus, scores, {p: r.threshold for p, r in results.items()}, plot, refractory=cfg.nab_refractory_points)
        if as_json:
            typer.echo(json.dumps({"detector": "opsradar-patchtst", "files": len(corpus.series), "scores": summary,
                                   "refractory_points": cfg.nab_refractory_points, "seed": cfg.seed,
                                   "ensemble_size": cfg.ensemble_size, "retrain_at": cfg.nab_retrain_at,
                                   "short_window": cfg.nab_short_window, "range_tolerance": cfg.nab_range_tolerance,
                                   "seasonal_min_correlation": cfg.nab_seasonal_min_correlation,
                                   "profiles": {p: r.to_dict() for p, r in results.items()},
                                   **({"published": published} if published is not None else {})}, indent=2))
            return
        for p, r in results.items():
            console.print(f"{p:>20}: {r.normalized_score:6.2f}  (raw {r.raw_score:.3f}, threshold {r.threshold:.3f}, "
                          f"refractory {cfg.nab_refractory_points} points)")
        for p, r in (published or {}).items():
            console.print(f"{p:>20}: {r['normalized_score']:6.2f}  {r['detector']} as published (threshold {r['threshold']:.3f})")

    @eval_app.command("forecast")
    def eval_forecast(
        data: Annotated[str, typer.Option(help="Folder of Bitbrains-format VM traces (*.csv)")],
        as_json: Annotated[bool, typer.Option("--json", help="Print the full result as JSON")] = False,
        origins: Annotated[int, typer.Option(help="Test days per series (the last N days; one 24 h origin a day)")] = 3,
        short_origin_step: Annotated[int, typer.Option(help="1 h origins every N 5-minute steps (12: hourly; 288: daily)")] = 12,
        context_length: Annotated[int, typer.Option(help="PatchTST context (5-minute steps)")] = 288,
        epochs: Annotated[int, typer.Option(help="Fine-tuning epochs")] = 10,
        max_series: Annotated[Optional[int], typer.Option(help="Use only the first N series")] = None,
        seed: Annotated[int, typer.Option(help="Training seed (report the spread over a few)")] = 0,
        distribution: Annotated[str, typer.Option(help="Forecast head: quantile | normal | student_t")] = "quantile",
        scaling: Annotated[str, typer.Option(help="Context normalization: robust | std")] = "robust",
        calibration_fraction: Annotated[float, typer.Option(help="Share of each training series' end held out to calibrate the quantiles (0: off)")] = 0.0,
        pipeline_model: Annotated[bool, typer.Option("--pipeline-model", help="Evaluate the model that makes the pipeline's forecasts ([metrics] settings: the forecaster, or the detector with forecaster.enabled = false; 1 h only when its horizon is shorter than 24 h)")] = False,
        config: ConfigOpt = None,
    ) -> None:
        """Rolling-origin backtest (CPU, memory; 1 h, 24 h): MASE and pinball p50/p90 vs. baselines."""
        from opsradar.eval.forecast import ForecastEvalConfig, run_backtest

        cfg = ForecastEvalConfig(n_origins=origins, short_origin_step=short_origin_step, context_length=context_length, finetune_epochs=epochs, max_series=max_series,
                                 seed=seed, distribution=distribution, scaling=scaling,
                                 calibration_fraction=calibration_fraction)
        model = None
        if pipeline_model:
            from opsradar.pipeline.metrics_model import model_config

            metrics = _cfg(config).metrics  # the model that makes the pipeline's forecasts
            model = model_config(metrics, forecaster=metrics.forecaster.enabled)
        with console.status("backtesting...") as status:
            report = run_backtest(data, cfg, progress=lambda msg: status.update(msg), model=model)
        summary = report.summary()
        if as_json:
            typer.echo(json.dumps({"summary": summary, "config": report.config, "rows": [r.__dict__ for r in report.rows]}, indent=2))
            return
        for model, by_h in summary.items():
            for h, m in by_h.items():
                console.print(f"{model:>16} {h:>4}: MASE {m['mase']:.3f}  pinball p50 {m['pinball_p50']:.3f}  p90 {m['pinball_p90']:.3f}  p90 coverage {m['coverage_p90']:.2f}")

    @train_app.command("metrics")
    def train_metrics(
        start: Annotated[str, typer.Option(help="Training interval start (ISO 8601, UTC if naive)")],
        end: Annotated[str, typer.Option(help="Training interval end (exclusive)")],
        promote: Annotated[bool, typer.Option(help="Make the new version production")] = True,
        config: ConfigOpt = None,
    ) -> None:
        """Pretrain + fine-tune the metric model on metric points in [start, end) and register it."""
        from opsradar.cli import _utc
        from opsradar.pipeline.metrics_model import train_metrics

        typer.echo(json.dumps(_run(train_metrics, _cfg(config), _utc(start), _utc(end), promote=promote), indent=2))

    @score_app.command("metrics")
    def score_metrics(
        start: Annotated[str, typer.Option(help="Interval start (ISO 8601)")],
        end: Annotated[str, typer.Option(help="Interval end (exclusive)")],
        config: ConfigOpt = None,
    ) -> None:
        """Score metric points in [start, end) with the production model (scores/metric_anomalies)."""
        from opsradar.cli import _utc
        from opsradar.pipeline.metrics_model import score_metrics

        typer.echo(json.dumps(_run(score_metrics, _cfg(config), _utc(start), _utc(end)), indent=2))

    @app.command("forecast")
    def forecast(
        start: Annotated[str, typer.Option(help="Interval start (ISO 8601)")],
        end: Annotated[str, typer.Option(help="Interval end (exclusive); forecasts start here")],
        config: ConfigOpt = None,
    ) -> None:
        """Forecast p50/p90/p95 for every entity/metric after `end` (forecasts/demand)."""
        from opsradar.cli import _utc
        from opsradar.pipeline.metrics_model import forecast_metrics

        typer.echo(json.dumps(_run(forecast_metrics, _cfg(config), _utc(start), _utc(end)), indent=2))

    @app.command("plan")
    def plan(
        start: Annotated[str, typer.Option(help="History start (ISO 8601)")],
        end: Annotated[str, typer.Option(help="History end (exclusive); the plan looks ahead from here")],
        config: ConfigOpt = None,
    ) -> None:
        """Capacity plan per entity/resource: Markdown report + PNG plots in the reports layer."""
        from opsradar.cli import _utc
        from opsradar.pipeline.metrics_model import plan_capacity

        typer.echo(json.dumps(_run(plan_capacity, _cfg(config), _utc(start), _utc(end)), indent=2))


def _run(stage, cfg, start, end, **kwargs) -> dict:
    from opsradar.layout import Interval

    result = stage(cfg, Interval(start, end), **kwargs)
    for w in result.warnings:
        console.print(f"[yellow]warning:[/yellow] {w}")
    return result.to_dict()
