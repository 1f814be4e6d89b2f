"""Declarative log formats: a Loghub-style format string becomes one compiled regex."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cache
from zoneinfo import ZoneInfo

from opsradar.schemas import schema_path

_PLACEHOLDER = re.compile(r"<([A-Za-z_][A-Za-z0-9_]*)>")
# Header fields mapped onto event columns; anything else lands in `labels`.
FIELD_TO_COLUMN = {
    "Level": "level", "Component": "component", "Pid": "pid", "PID": "pid",
    "Node": "host", "User": "host", "Location": "host",
}


def compile_format(fmt: str) -> tuple[re.Pattern[str], list[str]]:
    """`<Date> <Time> <Level>: <Content>` -> anchored regex with named groups.

    As in the Loghub benchmark: literal spaces match any run of whitespace, header
    fields are lazy, and `Content` takes the rest of the line.
    """
    names: list[str] = []
    pattern = ""
    pos = 0
    for m in _PLACEHOLDER.finditer(fmt):
        pattern += re.sub(" +", r"\\s+", fmt[pos : m.start()])
        name = m.group(1)
        names.append(name)
        pattern += f"(?P<{name}>.*)" if name == "Content" else f"(?P<{name}>.*?)"
        pos = m.end()
    pattern += re.sub(" +", r"\\s+", fmt[pos:])
    if "Content" not in names:
        raise ValueError(f"log format {fmt!r} has no <Content> field")
    return re.compile(f"^{pattern}$"), names


@dataclass(frozen=True)
class LogFormat:
    name: str
    format: str
    timestamp: tuple[str, ...]
    time_format: str
    label_field: str | None = None
    regex: re.Pattern[str] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "regex", compile_format(self.format)[0])

    @property
    def has_year(self) -> bool:
        return self.time_format == "epoch" or any(d in self.time_format for d in ("%Y", "%y"))

    def parse_time(self, fields: dict[str, str], tz: ZoneInfo, year: int) -> datetime:
        text = " ".join(fields[f].strip() for f in self.timestamp)
        if self.time_format == "epoch":
            return datetime.fromtimestamp(float(text), tz=timezone.utc)
        if self.has_year:
            naive = datetime.strptime(text, self.time_format)
        else:  # strptime without a year rejects Feb 29: parse with the year given
            naive = datetime.strptime(f"{year} {text}", f"%Y {self.time_format}")
        return naive.replace(tzinfo=tz).astimezone(timezone.utc)


def _formats_file(file: str) -> dict[str, LogFormat]:
    data = tomllib.loads(schema_path("formats", file).read_text(encoding="utf-8"))
    return {
        name: LogFormat(name=name, format=spec["format"], timestamp=tuple(spec["timestamp"]),
                        time_format=spec["time_format"], label_field=spec.get("label_field"))
        for name, spec in data.items()
    }


@cache
def loghub_formats() -> dict[str, LogFormat]:
    return _formats_file("loghub.toml")


@cache
def other_formats() -> dict[str, LogFormat]:
    """Named formats of the other schemas/formats/*.toml files (e.g. the synthetic generator's)."""
    files = sorted(f.name for f in schema_path("formats").glob("*.toml") if f.name != "loghub.toml")
    return {name: fmt for file in files for name, fmt in _formats_file(file).items()}


def get_format(name: str) -> LogFormat:
    """`loghub:HDFS` (or just `HDFS`), or a named format of another formats file -> its LogFormat."""
    key = name.split(":", 1)[1] if name.startswith("loghub:") else name
    formats = loghub_formats() | (other_formats() if not name.startswith("loghub:") else {})
    if key not in formats:
        raise KeyError(f"unknown log format {name!r}; known: {', '.join('loghub:' + k for k in loghub_formats())}, "
                       f"{', '.join(other_formats())}")
    return formats[key]
