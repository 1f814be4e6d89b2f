"""One parser per log format kind; each turns a decoded line into a `Parsed` or raises `LineError`.

Kinds (LogSourceConfig.format):
  loghub:<System>  declarative Loghub format from schemas/formats/loghub.toml
  pattern          your own Loghub-style format string (`pattern`, `time_fields`, `time_format`)
  rfc5424, rfc3164 syslog; `syslog` tries RFC 5424, then RFC 3164 (also with ISO timestamps)
  jsonl            one JSON object per line; `field_map` names the keys (defaults below)
  docker           Docker json-file driver lines ({"log", "stream", "time"})
  cri              Kubernetes/CRI container logs (`<RFC3339Nano> <stream> <P|F> <message>`)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from opsradar.ingest.clock import Clock
from opsradar.ingest.formats import FIELD_TO_COLUMN, LogFormat, get_format


class LineError(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(slots=True)
class Parsed:
    timestamp: Any  # aware UTC datetime
    message: str
    level: str | None = None
    component: str | None = None
    pid: str | None = None
    host: str | None = None
    service: str | None = None
    labels: dict[str, str] = field(default_factory=dict)


class Parser(Protocol):
    name: str

    def parse(self, text: str, clock: Clock) -> Parsed: ...


def _time(clock: Clock, value: Any, fmt: str | None, what: str) -> Any:
    try:
        return clock.auto(value, fmt)
    except (ValueError, OverflowError, OSError) as err:
        raise LineError("bad_timestamp", f"{what}: {err}") from None


# -- Loghub / pattern -------------------------------------------------------------
class LoghubParser:
    def __init__(self, fmt: LogFormat) -> None:
        self.fmt = fmt
        self.name = fmt.name
        self._time_fields = fmt.timestamp
        # (group name, event column or None, label key) for every header field, computed once
        self._routes = []
        taken: set[str] = set()
        for name in fmt.regex.groupindex:
            if name == "Content" or name in fmt.timestamp:
                continue
            column = FIELD_TO_COLUMN.get(name)
            if column in taken:
                column = None
            if column:
                taken.add(column)
            self._routes.append((name, column, name.lower()))

    def parse(self, text: str, clock: Clock) -> Parsed:
        m = self.fmt.regex.match(text)
        if m is None:
            raise LineError("parse_error", f"does not match format {self.fmt.name}")
        fields = m.groupdict()
        if len(self._time_fields) == 1:
            stamp = (fields[self._time_fields[0]] or "").strip()
        else:
            stamp = " ".join((fields[f] or "").strip() for f in self._time_fields)
        try:
            ts = clock.strptime(stamp, self.fmt.time_format)
        except (ValueError, OverflowError, OSError) as err:
            raise LineError("bad_timestamp", f"field(s) {'+'.join(self._time_fields)}: {err}") from None
        out = Parsed(ts, (fields["Content"] or "").strip())
        for name, column, label in self._routes:
            value = fields[name]
            if value is None:
                continue
            if column:
                setattr(out, column, value.strip())
            else:
                out.labels[label] = value.strip()
        return out


# -- syslog -----------------------------------------------------------------------
SEVERITIES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
_PRI = r"(?:<(?P<pri>\d{1,3})>)?"
_SD_ELEMENT = r'\[(?:[^\]"\\]|"(?:[^"\\]|\\.)*")*\]'
RFC5424 = re.compile(
    _PRI + r"(?P<version>\d{1,2}) (?P<ts>\S+) (?P<host>\S+) (?P<app>\S+) (?P<procid>\S+) (?P<msgid>\S+) "
    r"(?P<sd>-|(?:" + _SD_ELEMENT + r")+)(?: (?P<msg>.*))?$", re.S)
_SD_PARTS = re.compile(r'\[([^ \]]+)((?: [^ =\]"]+="(?:[^"\\]|\\.)*")*)\]')
_SD_PARAM = re.compile(r'([^ =\]"]+)="((?:[^"\\]|\\.)*)"')
RFC3164 = re.compile(
    _PRI + r"(?P<ts>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\S+) (?P<host>\S+) "
    r"(?:(?P<tag>[^\s:\[]+)(?:\[(?P<pid>[^\]]*)\])?: ?)?(?P<msg>.*)$", re.S)


def _pri(parsed: Parsed, pri: str | None) -> None:
    if pri is None:
        return
    value = int(pri)
    if value > 191:
        raise LineError("parse_error", f"syslog PRI {value} out of range 0..191")
    parsed.level = SEVERITIES[value % 8]
    parsed.labels["syslog.facility"] = str(value // 8)


def _nil(value: str | None) -> str | None:
    return None if value in (None, "-") else value


class SyslogParser:
    def __init__(self, mode: str = "syslog") -> None:
        self.name = mode
        self.mode = mode

    def parse(self, text: str, clock: Clock) -> Parsed:
        if self.mode in ("syslog", "rfc5424"):
            m = RFC5424.match(text)
            if m:
                return self._rfc5424(m, clock)
            if self.mode == "rfc5424":
                raise LineError("parse_error", "not an RFC 5424 syslog line")
        m = RFC3164.match(text)
        if m is None:
            raise LineError("parse_error", f"not an {'RFC 3164' if self.mode == 'rfc3164' else 'RFC 5424/3164'} syslog line")
        ts_text = m["ts"]
        if ts_text[0].isdigit():
            ts = _time(clock, ts_text, None, "timestamp")
        else:  # "Feb  5 17:32:18": no year, no zone
            ts = _time(clock, " ".join(ts_text.split()), "%b %d %H:%M:%S", "timestamp")
        out = Parsed(ts, m["msg"].strip(), host=m["host"], component=m["tag"], pid=m["pid"] or None)
        _pri(out, m["pri"])
        return out

    def _rfc5424(self, m: re.Match[str], clock: Clock) -> Parsed:
        if m["ts"] == "-":
            raise LineError("bad_timestamp", "RFC 5424 NILVALUE timestamp")
        ts = _time(clock, m["ts"], None, "timestamp")
        msg = (m["msg"] or "").removeprefix("\ufeff")
        out = Parsed(ts, msg.strip(), host=_nil(m["host"]), component=_nil(m["app"]), pid=_nil(m["procid"]))
        _pri(out, m["pri"])
        if _nil(m["msgid"]):
            out.labels["syslog.msgid"] = m["msgid"]
        if m["sd"] != "-":
            for sd_id, params in _SD_PARTS.findall(m["sd"]):
                for key, value in _SD_PARAM.findall(params):
                    out.labels[f"{sd_id}.{key}"] = re.sub(r'\\(["\\\]])', r"\1", value)
        return out


# -- JSON lines ---------------------------------------------------------------------
JSON_DEFAULT_FIELDS = {
    "timestamp": "ts", "message": "msg", "level": "level", "component": "logger",
    "host": "host", "service": "service", "pid": "pid",
}
DOCKER_FIELDS = {"timestamp": "time", "message": "log", "stream": "stream"}
_COLUMNS = ("level", "component", "host", "service", "pid")


def _lookup(obj: dict, dotted: str) -> Any:
    if dotted in obj:
        return obj[dotted]
    node: Any = obj
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


class JsonParser:
    def __init__(self, field_map: dict[str, str] | None = None, time_format: str | None = None, preset: str = "jsonl") -> None:
        base = DOCKER_FIELDS if preset == "docker" else JSON_DEFAULT_FIELDS
        unknown = set(field_map or {}) - set(JSON_DEFAULT_FIELDS) - {"stream"}
        if unknown:
            raise ValueError(f"field_map: unknown column(s) {sorted(unknown)}; known: {sorted(JSON_DEFAULT_FIELDS)}")
        self.fields = {**base, **(field_map or {})}
        self.time_format = time_format
        self.name = preset

    def parse(self, text: str, clock: Clock) -> Parsed:
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as err:
            raise LineError("parse_error", f"invalid JSON: {err.msg} at column {err.colno}") from None
        if not isinstance(obj, dict):
            raise LineError("parse_error", f"JSON value is a {type(obj).__name__}, not an object")
        ts_key, msg_key = self.fields["timestamp"], self.fields["message"]
        raw_ts = _lookup(obj, ts_key)
        if raw_ts is None:
            raise LineError("bad_timestamp", f"missing timestamp field {ts_key!r}")
        ts = _time(clock, raw_ts, self.time_format, f"field {ts_key!r}")
        message = _lookup(obj, msg_key)
        if message is None:
            raise LineError("parse_error", f"missing message field {msg_key!r}")
        out = Parsed(ts, str(message).rstrip("\r\n") if isinstance(message, str) else json.dumps(message))
        used = {ts_key.split(".")[0], msg_key.split(".")[0]}
        for column in _COLUMNS:
            key = self.fields.get(column)
            value = _lookup(obj, key) if key else None
            if value is not None:
                setattr(out, column, str(value))
                used.add(key.split(".")[0])
        for key, value in obj.items():  # the rest are labels (scalars as text, objects as JSON)
            if key not in used and value is not None:
                out.labels[key] = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        return out


# -- CRI (Kubernetes container runtime log files) -------------------------------------
CRI = re.compile(r"(?P<ts>\S+) (?P<stream>stdout|stderr) (?P<tag>[PF])(?::\S*)? ?(?P<msg>.*)$", re.S)


class CriParser:
    name = "cri"

    def parse(self, text: str, clock: Clock) -> Parsed:
        m = CRI.match(text)
        if m is None:
            raise LineError("parse_error", "not a CRI log line (<time> <stream> <P|F> <message>)")
        out = Parsed(_time(clock, m["ts"], None, "timestamp"), m["msg"], labels={"stream": m["stream"]})
        if m["tag"] == "P":
            out.labels["partial"] = "true"
        return out


def build_parser(source: Any) -> Parser:
    """A parser for a LogSourceConfig (or anything with the same attributes)."""
    kind = source.format
    if kind.startswith("loghub:"):
        return LoghubParser(get_format(kind))
    if kind == "pattern":
        if not source.pattern or not source.time_fields or not source.time_format:
            raise ValueError(f"log source {source.name}: format=pattern needs pattern, time_fields and time_format")
        return LoghubParser(LogFormat(name=f"{source.name}:pattern", format=source.pattern,
                                      timestamp=tuple(source.time_fields), time_format=source.time_format))
    if kind in ("syslog", "rfc3164", "rfc5424"):
        return SyslogParser(kind)
    if kind in ("jsonl", "docker"):
        return JsonParser(getattr(source, "field_map", None), getattr(source, "time_format", None), preset=kind)
    if kind == "cri":
        return CriParser()
    try:
        return LoghubParser(get_format(kind))
    except KeyError:
        raise ValueError(f"log source {getattr(source, 'name', '?')}: unknown format {kind!r}; expected "
                         "loghub:<System>, pattern, syslog, rfc3164, rfc5424, jsonl, docker or cri") from None
