"""Clean-layer and metric tables built from the public dev data, for tests and benchmarks.

Loghub `*_log_structured.csv` files carry the ground-truth template of every line, so a
clean table with `template`/`template_id` columns can be built without a parser:
events come from opsradar.ingest (the real ingest code), templates join by line number.
HDFS_5k has no structured file: its lines are matched against the HDFS_2k templates.
"""

from __future__ import annotations

import csv
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from opsradar.ids import template_id
from opsradar.ingest.formats import get_format
from opsradar.ingest.logs import ingest_log_file
from opsradar.layout import Interval
from opsradar.levels import LEVEL_ALIASES
from opsradar.schemas.arrow import METRIC_POINT


def _with_templates(events: pa.Table, templates: list[str | None]) -> pa.Table:
    """Normalise levels like the clean job and append `template_id`, `template` (by line_no)."""
    line_nos = events.column("line_no").to_pylist()
    texts = [templates[n - 1] if n - 1 < len(templates) else None for n in line_nos]
    levels = [LEVEL_ALIASES.get((lv or "").strip().upper(), "UNKNOWN") for lv in events.column("level").to_pylist()]
    events = events.set_column(events.schema.get_field_index("level"), "level", pa.array(levels, pa.string()))
    events = events.append_column("template_id", pa.array([template_id(t) if t else None for t in texts], pa.string()))
    return events.append_column("template", pa.array(texts, pa.string()))


def loghub_clean_events(data: Path, system: str, interval: Interval, source: str | None = None) -> pa.Table:
    """Clean events of `loghub/<system>/<system>_2k.log` with ground-truth templates."""
    folder = Path(data) / "loghub" / system
    with open(folder / f"{system}_2k.log_structured.csv", newline="", encoding="utf-8") as fh:
        templates = [row["EventTemplate"] for row in csv.DictReader(fh)]
    events = ingest_log_file(str(folder / f"{system}_2k.log"), source or system, get_format(system), interval).events
    return _with_templates(events, templates)


def _template_regex(template: str) -> re.Pattern[str]:
    parts = [re.escape(p) for p in template.split("<*>")]
    return re.compile("(?:.*?)".join(parts) + r"\s*$")


def hdfs5k_clean_events(data: Path, interval: Interval, source: str = "HDFS") -> pa.Table:
    """Clean events of `hdfs/HDFS_5k.log`, templates matched from the HDFS_2k ground truth."""
    with open(Path(data) / "loghub/HDFS/HDFS_2k.log_templates.csv", newline="", encoding="utf-8") as fh:
        known = [(row["EventTemplate"], _template_regex(row["EventTemplate"])) for row in csv.DictReader(fh)]
    events = ingest_log_file(str(Path(data) / "hdfs/HDFS_5k.log"), source, get_format("HDFS"), interval).events
    by_line: dict[int, str | None] = {}
    for n, message in zip(events.column("line_no").to_pylist(), events.column("message").to_pylist()):
        by_line[n] = next((t for t, rx in known if rx.match(message)), None)
    return _with_templates(events, [by_line.get(i + 1) for i in range(max(by_line, default=0))])


def nab_metric_points(data: Path, series: str, source: str = "nab", entity: str | None = None,
                      metric: str = "value", drop_rows: slice | None = None) -> pa.Table:
    """METRIC_POINT rows of one NAB series (`<category>/<name>`); `drop_rows` removes rows to make gaps."""
    path = Path(data) / "nab" / "data" / f"{series}.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if drop_rows is not None:
        del rows[drop_rows]
    stamps = [datetime.strptime(r["timestamp"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc) for r in rows]
    n = len(rows)
    return pa.Table.from_pydict({
        "timestamp": stamps,
        "source": [source] * n,
        "entity": [entity or series.split("/")[-1]] * n,
        "metric": [metric] * n,
        "value": [float(r["value"]) for r in rows],
        "unit": [None] * n,
        "labels": [None] * n,
    }, schema=METRIC_POINT)


def covering_interval(table: pa.Table, column: str = "timestamp") -> Interval:
    """The smallest hour-aligned interval that holds every row of `table`."""
    lo, hi = pc.min(table.column(column)).as_py(), pc.max(table.column(column)).as_py()
    start = lo.replace(minute=0, second=0, microsecond=0)
    return Interval(start, hi.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1))
