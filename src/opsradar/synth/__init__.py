"""Synthetic logs and metrics with injected incidents and their ground truth (`opsradar generate`)."""

from opsradar.synth.generate import DEFAULT_START, LOG_FORMAT, SynthResult, generate
from opsradar.synth.incidents import KINDS, Incident, plan_incidents

__all__ = ["DEFAULT_START", "KINDS", "LOG_FORMAT", "Incident", "SynthResult", "generate", "log_format", "plan_incidents"]


def log_format():
    """The `OpsRadarSynth` LogFormat, read from schemas/formats/synth.toml."""
    import tomllib

    from opsradar.ingest.formats import LogFormat
    from opsradar.schemas import schema_path

    spec = tomllib.loads(schema_path("formats", "synth.toml").read_text(encoding="utf-8"))[LOG_FORMAT]
    return LogFormat(name=LOG_FORMAT, format=spec["format"], timestamp=tuple(spec["timestamp"]),
                     time_format=spec["time_format"], label_field=spec.get("label_field"))
