"""The synthetic data generator: deterministic, parseable by our ingest, and every
injected incident is in the data exactly where the ground truth says (and nowhere else)."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from opsradar.ingest.formats import get_format
from opsradar.ingest.logs import ingest_log_file
from opsradar.layout import Interval
from opsradar.synth import KINDS, LOG_FORMAT, generate, log_format
from opsradar.synth.catalog import SERVICES

UTC = timezone.utc
SEED = 11


def _digest(root: Path) -> dict[str, str]:
    files = sorted([*root.glob("logs/*/*.log"), *root.glob("metrics/*.csv"), root / "ground_truth.json"])
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def _ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    """One day of data, its ground truth, the parsed log events and the metrics."""
    out = tmp_path_factory.mktemp("synth")
    result = generate(out, days=1, seed=SEED)
    truth = json.loads((out / "ground_truth.json").read_text())
    day = Interval(datetime.fromisoformat(truth["start"]), datetime.fromisoformat(truth["end"]))
    parsed, events = {}, []
    for path in result.log_files:
        service = path.parent.name
        res = ingest_log_file(str(path), f"synth-{service}", log_format(), day, service=service)
        parsed[path] = res
        events.append(res.events.select(["timestamp", "host", "service", "level", "component", "pid", "message"]).to_pandas())
    metrics = pd.concat(pd.read_csv(p, parse_dates=["timestamp"]) for p in result.metric_files)
    return out, result, truth, parsed, pd.concat(events, ignore_index=True), metrics


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    a = generate(tmp_path / "a", days=1, seed=5, scale=0.2)
    b = generate(tmp_path / "b", days=1, seed=5, scale=0.2)
    c = generate(tmp_path / "c", days=1, seed=6, scale=0.2)
    assert _digest(a.out) == _digest(b.out)
    assert len(_digest(a.out)) == len(SERVICES) + 2
    differing = {k for k, v in _digest(a.out).items() if _digest(c.out)[k] != v}
    assert differing == set(_digest(a.out))  # every file depends on the seed


def test_logs_parse_with_our_ingest(synth):
    _, result, _, parsed, events, _ = synth
    total = sum(r.lines_read for r in parsed.values())
    assert total == result.log_lines > 10_000
    for path, res in parsed.items():
        assert res.lines_read > 0, path
        assert res.events.num_rows / res.lines_read >= 0.99, (path, res.reasons)
        assert res.events.num_rows + res.quarantine.num_rows == res.lines_read
        assert res.outside_interval == 0, path  # each day's file holds that day only
    hosts = {s.name: set(s.host_names()) for s in SERVICES}
    for service, group in events.groupby("service"):
        assert set(group["host"]) == hosts[service]
    assert set(events["level"]) == {"INFO", "WARN", "ERROR"}
    assert events["pid"].str.fullmatch(r"\d+").all()
    assert (events["level"] == "ERROR").mean() < 0.05  # errors are rare in normal operation


def test_registry_format_matches_when_loaded():
    """Once opsradar.ingest.formats loads schemas/formats/synth.toml, it must be the same format."""
    try:
        registered = get_format(LOG_FORMAT)
    except KeyError:
        pytest.skip("opsradar.ingest.formats does not load schemas/formats/synth.toml yet")
    assert registered.regex.pattern == log_format().regex.pattern


def test_daily_seasonality_in_logs_and_metrics(synth):
    *_, events, metrics = synth
    per_hour = events.groupby(events["timestamp"].dt.hour).size()
    assert per_hour.idxmax() in range(12, 19) and per_hour.idxmin() in range(0, 7)
    assert per_hour.max() / per_hour.min() > 2.0
    rps = metrics[(metrics.metric == "throughput_rps") & (metrics.host == "api-1")].set_index("timestamp")["value"]
    hourly = rps.groupby(rps.index.hour).mean()
    assert hourly.idxmax() in range(12, 19) and hourly.max() / hourly.min() > 2.0


def test_metrics_are_complete_long_csv(synth):
    out, result, truth, *_ , metrics = synth
    header = (out / "metrics" / result.metric_files[0].name).read_text().splitlines()[0]
    assert header == "timestamp,host,service,metric,value,unit"
    n_hosts = sum(s.hosts for s in SERVICES)
    assert len(metrics) == result.metric_rows == n_hosts * len(truth["metrics"]) * 1440
    assert metrics.groupby(["host", "metric"]).size().eq(1440).all()
    assert np.isfinite(metrics["value"]).all()
    pct = metrics[metrics.unit == "percent"]["value"]
    assert pct.between(0, 100).all()


def test_ground_truth_plan(synth):
    *_, truth, _, _, _ = synth
    incidents = truth["incidents"]
    assert {i["type"] for i in incidents} == set(KINDS)
    start, end = _ts(truth["start"]), _ts(truth["end"])
    spans = sorted((_ts(i["start"]), _ts(i["end"])) for i in incidents)
    assert all(s >= start + timedelta(hours=6) and e <= end and s < e for s, e in spans)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))  # no overlaps
    last = incidents[-1]
    assert last["type"] == "cpu_saturation" and last["ongoing"] and _ts(last["end"]) == end


def _inside(frame: pd.DataFrame, inc: dict) -> pd.Series:
    return (frame["timestamp"] >= _ts(inc["start"])) & (frame["timestamp"] < _ts(inc["end"]))


def _metric(metrics: pd.DataFrame, host: str, name: str) -> pd.Series:
    m = metrics[(metrics.host == host) & (metrics.metric == name)]
    return m.set_index("timestamp")["value"].sort_index()


def _window(series: pd.Series, a, b) -> pd.Series:
    return series[(series.index >= a) & (series.index < b)]


def test_every_incident_is_in_the_data_where_the_truth_says(synth):
    *_, truth, _, events, metrics = synth
    minutes = lambda inc: (_ts(inc["end"]) - _ts(inc["start"])).total_seconds() / 60  # noqa: E731
    for inc in truth["incidents"]:
        host_events = events[events.host == inc["host"]]
        inside = _inside(host_events, inc)
        s, e = _ts(inc["start"]), _ts(inc["end"])
        if inc["type"] == "error_burst":
            errors = host_events.level == "ERROR"
            rate_in = (errors & inside).sum() / minutes(inc)
            rate_out = (errors & ~inside).sum() / (1440 - minutes(inc))
            assert rate_in > 10 * rate_out and rate_in >= 2, inc
        elif inc["type"] == "new_exception":
            pattern = re.escape(inc["template"])
            pattern = re.sub(r"\\\{[a-z_]+\\\}", r"\\S+", pattern)
            hits = events[events.message.str.fullmatch(pattern)]
            assert len(hits) >= 5, inc
            assert set(hits.host) == {inc["host"]} and _inside(hits, inc).all(), inc  # new, and only there
        elif inc["type"] == "latency_spike":
            lat = _metric(metrics, inc["host"], "latency_p95_ms")
            before = _window(lat, s - timedelta(hours=2), s).median()
            assert _window(lat, s, e).median() > 3 * before, inc
            slow = host_events[host_events.message.str.startswith("slow request:")]
            assert len(slow) > 0 and _inside(slow, inc).all(), inc
        elif inc["type"] == "memory_leak":
            mem = _metric(metrics, inc["host"], "mem_pct")
            inside_mem = _window(mem, s, e)
            assert inside_mem.iloc[-10:].mean() - inside_mem.iloc[:10].mean() > 25, inc
            assert abs(_window(mem, e, e + timedelta(minutes=30)).mean() - _window(mem, s - timedelta(hours=1), s).mean()) < 5
            oom = host_events[host_events.message.str.startswith("Out of memory: killed process")]
            assert len(oom) == 1 and (e - timedelta(minutes=1) <= oom.timestamp.iloc[0] < e), inc
            after = host_events[host_events.timestamp >= e]
            assert oom.message.iloc[0].split()[5] not in set(after.pid)  # restarted under a new pid
        elif inc["type"] == "cpu_saturation":
            cpu = _metric(metrics, inc["host"], "cpu_pct")
            inside_cpu = _window(cpu, s, e)
            tail = inside_cpu.iloc[-max(10, len(inside_cpu) // 10):]
            assert tail.mean() > 90 and _window(cpu, s - timedelta(hours=1), s).mean() < 75, inc
            slope = np.polyfit(np.arange(len(inside_cpu)), inside_cpu.to_numpy(), 1)[0]
            assert slope > 0, inc


def test_no_anomaly_outside_the_ground_truth(synth):
    """Precision of the truth: the extreme values only occur inside their incidents."""
    *_, truth, _, events, metrics = synth
    for host, frame in metrics.groupby("host"):
        incs = [i for i in truth["incidents"] if i["host"] == host]
        labelled = np.zeros(len(frame), dtype=bool)
        for inc in incs:
            labelled |= _inside(frame, inc).to_numpy()
        normal = frame[~labelled]
        wide = normal.pivot(index="timestamp", columns="metric", values="value")
        assert wide["cpu_pct"].max() < 85 and wide["mem_pct"].max() < 80, host
        service = next(s for s in SERVICES if host in s.host_names())
        assert wide["latency_p95_ms"].max() < 2.5 * service.latency_ms, host
    # No error burst outside the incidents: ERROR lines per host and 10 minutes stay low.
    for host, frame in events.groupby("host"):
        labelled = np.zeros(len(frame), dtype=bool)
        for inc in (i for i in truth["incidents"] if i["host"] == host):
            labelled |= _inside(frame, inc).to_numpy()
        errors = frame[~labelled & (frame.level == "ERROR")]
        assert errors.groupby(errors.timestamp.dt.floor("10min")).size().max() < 15, host
    # Incident-only templates never appear in normal operation.
    known = {t.component for s in SERVICES for t in s.templates}
    special = events[~events.component.isin(known)]
    for _, row in special.iterrows():
        incs = [i for i in truth["incidents"] if i["host"] == row.host]
        assert any(_ts(i["start"]) <= row.timestamp < _ts(i["end"]) for i in incs), row.to_dict()


def test_cli_generate_and_bad_arguments(tmp_path):
    import typer

    from opsradar.commands import synth as synth_commands

    app = typer.Typer()  # only this area's commands: a broken sibling module must not fail this test
    app.callback()(lambda: None)
    synth_commands.register(app, typer.Typer())
    runner = CliRunner()
    res = runner.invoke(app, ["generate", "--days", "1", "--out", str(tmp_path / "o"), "--seed", "2", "--scale", "0.1"])
    assert res.exit_code == 0, res.output
    truth = json.loads((tmp_path / "o" / "ground_truth.json").read_text())
    assert truth["seed"] == 2 and len(truth["incidents"]) == len(KINDS)
    assert "injected incident" in res.output
    png = (tmp_path / "o" / "overview.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    sources = (tmp_path / "o" / "opsradar.sources.toml").read_text()
    assert sources.count("[[log_sources]]") == len(SERVICES) and 'format = "pattern"' in sources
    res = runner.invoke(app, ["generate", "--days", "1", "--out", str(tmp_path / "x"), "--incidents-per-kind", "9", "--no-plot"])
    assert res.exit_code == 2 and "do not fit" in res.output


def test_sources_snippet_is_a_valid_config_for_the_pipeline_parser(synth):
    """`opsradar.sources.toml` loads as OpsRadar config and the pipeline's parser reads the files."""
    from opsradar.config import load_config
    from opsradar.ingest.clock import Clock
    from opsradar.ingest.parsers import build_parser

    out, result, truth, *_ = synth
    cfg = load_config(out / "opsradar.sources.toml", environ={})
    assert {s.service for s in cfg.log_sources} == {s.name for s in SERVICES}
    clock = Clock("UTC", datetime.fromisoformat(truth["start"]))
    for source in cfg.log_sources:
        parser = build_parser(source)
        path = next(p for p in result.log_files if p.parent.name == source.service)
        lines = path.read_text().splitlines()[:200]
        parsed = [parser.parse(line, clock) for line in lines]
        assert all(p.host in {h for s in SERVICES for h in s.host_names()} for p in parsed)
    (metric_source,) = cfg.metric_sources
    assert metric_source.format == "csv_long" and metric_source.label_columns == ["host", "service"]


def test_multi_day_files_and_trend(tmp_path):
    result = generate(tmp_path, days=3, seed=4, scale=0.1, metric_step_s=300)
    assert len(result.metric_files) == 3 and len(result.log_files) == 3 * len(SERVICES)
    m = pd.concat(pd.read_csv(p, parse_dates=["timestamp"]) for p in result.metric_files)
    rps = m[(m.metric == "throughput_rps") & (m.host == "cache-1")].set_index("timestamp")["value"]
    daily = rps.groupby(rps.index.date).mean().to_numpy()
    assert daily[2] > daily[0]  # growth trend (Mon..Wed, no weekend dip)
    assert m.groupby(["host", "metric"]).size().eq(3 * 288).all()


def test_scoring_against_the_ground_truth(synth):
    from opsradar.synth.truth import Detection, load_incidents, score_detections

    out, *_ = synth
    incidents = load_incidents(out / "ground_truth.json")
    minute = timedelta(minutes=1)
    perfect = [Detection(i["start"] + minute, i["start"] + 2 * minute, host=i["host"]) for i in incidents]
    s = score_detections(perfect, incidents)
    assert (s.recall, s.precision, s.missed) == (1.0, 1.0, [])
    assert set(s.recall_by_type) == set(KINDS) and all(v == 1.0 for v in s.recall_by_type.values())
    # Wrong host, or far from any window: false positives, and the incident is missed.
    first = incidents[0]
    other = next(h for s_ in SERVICES for h in s_.host_names() if h != first["host"])
    wrong = [Detection(first["start"], first["end"], host=other),
             Detection(first["start"] - timedelta(hours=5), first["start"] - timedelta(hours=4), host=first["host"])]
    s = score_detections(wrong + perfect[1:], incidents)
    assert s.missed == [first["id"]] and s.recall == (len(incidents) - 1) / len(incidents)
    assert len(s.false_positives) == 2 and s.precision == (len(incidents) - 1) / (len(incidents) + 1)
    # Tolerance: a detection just after the end counts within it, not beyond it; service-level detections match too.
    late = Detection(first["end"] + 5 * minute, first["end"] + 6 * minute, service=first["service"])
    assert score_detections([late], incidents, tolerance=timedelta(minutes=10)).found == [first["id"]]
    assert score_detections([late], incidents, tolerance=timedelta(minutes=1)).found == []
