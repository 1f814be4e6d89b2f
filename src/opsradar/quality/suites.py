"""Suites as files: GX ExpectationSuite JSON in schemas/gx, plus where each one applies.

A suite file is a plain GX 1.x suite (`name`, `expectations`, `meta`, `notes`); its
`meta.opsradar` block says which layer/datasets it validates and how hard it gates:

    "meta": {"opsradar": {"target": "clean_logs", "layer": "clean", "datasets": "logs/source=*",
                          "config_sources": "log_sources", "schema": "LOG_EVENT",
                          "id_columns": ["event_id", "file", "line_no"], "severity": "error"}}

Values known only at run time are GX suite parameters (`{"$PARAMETER": "interval_start"}`);
see `opsradar.quality.parameters`. Config (`[quality.suites.<name>]`) may override the
severity and datasets, or disable a suite.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import pyarrow as pa

from opsradar.config import QualityConfig
from opsradar.quality import TARGETS

SEVERITIES = ("error", "warning")
CONFIG_SOURCES = (None, "log_sources", "metric_sources")  # OpsRadarConfig lists of named sources
_REQUIRED_META = ("target", "layer", "datasets", "schema", "severity")


class SuiteFileError(ValueError):
    """A suite file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class SuiteSpec:
    name: str
    path: str
    target: str
    layer: str
    datasets: str  # glob under the layer, e.g. "logs/source=*"
    schema: str  # name of an Arrow schema in opsradar.schemas.arrow (empty intervals validate against it)
    severity: str  # "error" stops downstream, "warning" only logs
    id_columns: tuple[str, ...] = ()
    config_sources: str | None = None  # "log_sources"/"metric_sources": also validate every configured source, even with no data
    expectations: tuple[dict, ...] = ()
    notes: str | None = None

    def arrow_schema(self) -> pa.Schema:
        from opsradar.schemas import arrow

        schema = getattr(arrow, self.schema, None)
        if not isinstance(schema, pa.Schema):
            raise SuiteFileError(f"{self.path}: meta.opsradar.schema {self.schema!r} is not a schema in schemas/arrow.py")
        return schema


def default_suites_dir() -> Path:
    from opsradar.schemas import schema_path

    return schema_path("gx")


def load_suite_file(path: str | Path) -> SuiteSpec:
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise SuiteFileError(f"{path}: cannot read suite: {err}") from None
    meta = (doc.get("meta") or {}).get("opsradar")
    if not isinstance(meta, dict):
        raise SuiteFileError(f"{path}: missing meta.opsradar (target, layer, datasets, ...)")
    missing = [k for k in _REQUIRED_META if k not in meta]
    if missing:
        raise SuiteFileError(f"{path}: meta.opsradar lacks {', '.join(missing)}")
    if meta["target"] not in TARGETS:
        raise SuiteFileError(f"{path}: meta.opsradar.target {meta['target']!r} is not one of {', '.join(TARGETS)}")
    if meta["severity"] not in SEVERITIES:
        raise SuiteFileError(f"{path}: meta.opsradar.severity {meta['severity']!r} is not one of {', '.join(SEVERITIES)}")
    if meta.get("config_sources") not in CONFIG_SOURCES:
        raise SuiteFileError(f"{path}: meta.opsradar.config_sources must be one of {CONFIG_SOURCES}")
    if meta.get("config_sources") and meta["datasets"].count("*") != 1:
        raise SuiteFileError(f"{path}: with config_sources, datasets needs exactly one '*' (the source name)")
    expectations = doc.get("expectations")
    if not isinstance(expectations, list) or not all(isinstance(e, dict) and "type" in e for e in expectations):
        raise SuiteFileError(f"{path}: expectations must be a list of {{type, kwargs}} objects")
    return SuiteSpec(
        name=doc.get("name") or path.stem,
        path=str(path),
        target=meta["target"],
        layer=meta["layer"],
        datasets=meta["datasets"],
        schema=meta["schema"],
        severity=meta["severity"],
        id_columns=tuple(meta.get("id_columns", ())),
        config_sources=meta.get("config_sources"),
        expectations=tuple(expectations),
        notes=doc.get("notes"),
    )


def load_suites(qcfg: QualityConfig, target: str | None = None) -> list[SuiteSpec]:
    """Every enabled suite (for `target`, if given), with config overrides applied."""
    folder = Path(qcfg.suites_dir) if qcfg.suites_dir else default_suites_dir()
    if not folder.is_dir():
        raise SuiteFileError(f"quality.suites_dir {folder} is not a folder")
    specs = [load_suite_file(p) for p in sorted(folder.glob("*.json"))]
    names = [s.name for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SuiteFileError(f"{folder}: duplicate suite names {', '.join(dupes)}")
    unknown = sorted(set(qcfg.suites) - set(names))
    if unknown:
        raise SuiteFileError(f"quality.suites names unknown suite(s) {', '.join(unknown)}; known: {', '.join(names)}")
    out = []
    for spec in specs:
        policy = qcfg.suites.get(spec.name)
        if policy is not None:
            if not policy.enabled:
                continue
            spec = replace(
                spec,
                severity=policy.severity or spec.severity,
                datasets=policy.datasets or spec.datasets,
            )
        if target is None or spec.target == target:
            out.append(spec)
    return out
