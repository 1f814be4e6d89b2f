"""Log events -> LOG_WINDOW rows: sessions, time windows and line-count windows (Spark).

Interval rule (why a backfill of consecutive intervals equals one long run): every
window belongs to the interval that contains its `window_start`, and is computed from
all of its events, read with a margin around the interval:

- time windows (epoch-aligned, length W, step S): events of [start, end + W);
- sessions and count windows live inside one epoch-aligned `anchor` period (a session
  is every line naming the key within the period; count windows number the entity's
  lines from the period start), so the job reads the whole periods the interval touches;
- "new template" looks back `novelty_lookback` before the earliest event it needs.

A window therefore never depends on where a run's interval begins or ends. Lookahead
hours that are not cleaned yet are reported as a warning; re-run the interval once they
are (runs are idempotent).

Skew: nothing collects an unbounded list per group. Positions inside a group come from a
two-level numbering (row_number inside (group, minute) plus the counts of earlier
minutes), sequences and examples are collected only for positions below their caps, and
counts are plain aggregations with partial (map-side) aggregation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd  # module level: pandas_udf resolves its type hints here

from opsradar.config import FeaturesConfig, LogFeaturesConfig, LogGroupingConfig
from opsradar.features.io import epoch_ceil, epoch_floor
from opsradar.layout import Interval
from opsradar.levels import LEVELS

ORDER = ("timestamp", "file", "line_no", "event_id")  # a deterministic total order of events
EVENT_COLUMNS = ("event_id", "timestamp", "host", "service", "level", "component", "message", "file", "line_no",
                 "labels", "template_id")
ERROR_LEVELS = ("ERROR", "FATAL")
UNKNOWN_TEMPLATE = "unknown"


@dataclass(frozen=True)
class ReadRange:
    start: datetime
    end: datetime


def grouping_range(g: LogGroupingConfig, interval: Interval) -> ReadRange:
    """The events a grouping needs to compute every window that starts inside `interval`."""
    if g.mode == "time":
        return ReadRange(interval.start, interval.end + g.window)
    return ReadRange(epoch_floor(interval.start, g.anchor), epoch_ceil(interval.end, g.anchor))


def source_range(src: LogFeaturesConfig, feats: FeaturesConfig, interval: Interval) -> ReadRange:
    ranges = [grouping_range(g, interval) for g in src.groupings]
    return ReadRange(min(r.start for r in ranges) - feats.novelty_lookback, max(r.end for r in ranges))


def _micros(col):
    from pyspark.sql import functions as F

    return F.unix_micros(F.col(col))


def prepare_events(df, src: LogFeaturesConfig, feats: FeaturesConfig):
    """Add the per-event columns every grouping aggregates (template, error, label, novelty, example)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    for name in ("template_id", "labels", "component", "host", "service"):
        if name not in df.columns:  # older clean tables: treat as unknown rather than fail
            df = df.withColumn(name, F.lit(None).cast("map<string,string>" if name == "labels" else "string"))
    df = df.withColumn("tid", F.coalesce("template_id", F.lit(UNKNOWN_TEMPLATE)))
    df = df.withColumn("is_error", F.col("level").isin(*ERROR_LEVELS))
    if src.line_label_key:
        raw = F.col("labels")[src.line_label_key]
        df = df.withColumn("line_label", F.when(raw.isNull(), None)
                           .when(raw.isin(*src.normal_line_labels), F.lit(0)).otherwise(F.lit(1)).cast("tinyint"))
    else:
        df = df.withColumn("line_label", F.lit(None).cast("tinyint"))
    ts = _micros("timestamp")
    by_template = Window.partitionBy("tid").orderBy(*ORDER)
    gap = ts - F.lag(ts).over(by_template)
    lookback_us = int(feats.novelty_lookback / timedelta(microseconds=1))
    df = df.withColumn("novel", gap.isNull() | (gap > F.lit(lookback_us)))
    where = F.concat(F.regexp_extract("file", r"([^/]*)$", 1), F.lit(":"), F.col("line_no").cast("string"))
    text = F.concat_ws(" ", where, F.coalesce("level", F.lit("-")), F.coalesce("component", F.lit("-")), "message")
    return df.withColumn("example", F.substring(text, 1, feats.example_chars))


def entity_column(fields: list[str], source: str):
    """Canonical entity string: sorted `k=v` pairs of the non-null fields, or the source name."""
    from pyspark.sql import functions as F

    if not fields:
        return F.lit(source)
    joined = F.concat_ws(",", *[F.when(F.col(f).isNotNull(), F.concat(F.lit(f"{f}="), F.col(f))) for f in sorted(fields)])
    return F.when(joined == "", F.lit(source)).otherwise(joined)


def line_index(df, group_cols: list[str], name: str):
    """0-based index of each event within a (possibly huge) group, in ORDER, computed in parallel.

    Two levels, so no single task sorts a whole hot entity's period: row_number inside
    (group, minute), plus the event counts of the group's earlier minutes.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    df = df.withColumn("_minute", F.floor(_micros("timestamp") / F.lit(60_000_000)))
    per_minute = df.groupBy(*group_cols, "_minute").agg(F.count(F.lit(1)).alias("_n"))
    earlier = Window.partitionBy(*group_cols).orderBy("_minute").rowsBetween(Window.unboundedPreceding, -1)
    offsets = per_minute.withColumn("_offset", F.coalesce(F.sum("_n").over(earlier), F.lit(0))).drop("_n")
    within = Window.partitionBy(*group_cols, "_minute").orderBy(*ORDER)
    return (df.join(offsets, [*group_cols, "_minute"])
            .withColumn(name, F.col("_offset") + F.row_number().over(within) - 1)
            .drop("_minute", "_offset"))


def with_position(df, group_cols: list[str]):
    """`pos`: 0-based position within the group. One shuffle by the group key; the aggregations
    that follow reuse that partitioning. A hot group stays in one task, but WindowExec spills
    its buffer to disk, so memory stays bounded."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    return df.withColumn("pos", F.row_number().over(Window.partitionBy(*group_cols).orderBy(*ORDER)) - 1)


def _anchor_col(anchor: timedelta):
    from pyspark.sql import functions as F

    size = int(anchor / timedelta(microseconds=1))
    return F.floor(_micros("timestamp") / F.lit(size)) * F.lit(size)


def memberships(ev, g: LogGroupingConfig, source: str):
    """(event, group) rows with `entity`, group key columns, `pos`, and window bounds columns.

    Returns (df, group_cols, bounds) where bounds says how window_start/end are derived.
    """
    from pyspark.sql import functions as F

    if g.mode == "session":
        keys = F.array_distinct(F.regexp_extract_all("message", F.lit(g.key_regex), F.lit(0)))
        df = ev.withColumn("entity", F.explode(keys)).withColumn("_anchor", _anchor_col(g.anchor))
        group = ["entity", "_anchor"]
        return with_position(df, group), group
    if g.mode == "count":
        df = ev.withColumn("entity", entity_column(g.entity_fields, source)).withColumn("_anchor", _anchor_col(g.anchor))
        df = line_index(df, ["entity", "_anchor"], "_idx")
        df = df.withColumn("_win", F.floor(F.col("_idx") / g.lines)).withColumn("pos", F.col("_idx") % g.lines)
        return df.drop("_idx"), ["entity", "_anchor", "_win"]
    step = g.step or g.window
    step_us = int(step / timedelta(microseconds=1))
    n = int(g.window / step)
    base = F.floor(_micros("timestamp") / F.lit(step_us)) * F.lit(step_us)
    df = (ev.withColumn("entity", entity_column(g.entity_fields, source))
          .withColumn("_k", F.explode(F.sequence(F.lit(0), F.lit(n - 1))))
          .withColumn("_ws", base - F.col("_k") * F.lit(step_us)).drop("_k"))
    group = ["entity", "_ws"]
    return with_position(df, group), group


def aggregate_windows(m, group_cols: list[str], g: LogGroupingConfig, feats: FeaturesConfig):
    """One row per group with the LOG_WINDOW measures (bounded memory per group)."""
    from pyspark.sql import functions as F

    cap, k = feats.sequence_cap, feats.example_lines
    pos = F.col("pos")
    main = m.groupBy(*group_cols).agg(
        F.count(F.lit(1)).alias("n_events"),
        F.min("timestamp").alias("_first"),
        F.max("timestamp").alias("_last"),
        F.array_sort(F.collect_list(F.when(pos < cap, F.struct(pos.alias("p"), F.col("tid").alias("t"))))).alias("_seq"),
        F.count_if("is_error").alias("_errors"),
        # sets bounded by the fleet's hosts/components, not by the group's line count
        F.size(F.collect_set("host")).alias("distinct_hosts"),
        F.size(F.collect_set("component")).alias("distinct_components"),
        F.max("line_label").alias("_line_label"),
        F.array_sort(F.collect_list(F.when(pos < k, F.struct(pos.alias("p"), F.col("example").alias("e"))))).alias("_head"),
        F.min_by(F.struct(pos.alias("p"), F.col("example").alias("e")), F.when(F.col("is_error"), pos), max(k, 1)).alias("_errs"),
        *[F.count_if(F.col("level") == lvl).alias(f"_lvl_{lvl}") for lvl in LEVELS],
    )
    counts = (m.groupBy(*group_cols, "tid").agg(F.count(F.lit(1)).cast("int").alias("_c"),
                                                F.max(F.col("novel").cast("int")).alias("_novel"))
              .groupBy(*group_cols)
              .agg(F.map_from_entries(F.array_sort(F.collect_list(F.struct("tid", "_c")))).alias("template_counts"),
                   F.sum("_novel").alias("new_templates")))
    out = main.join(counts, group_cols)
    levels = F.map_from_entries(F.filter(F.array(*[F.struct(F.lit(lvl).alias("k"), F.col(f"_lvl_{lvl}").cast("int").alias("v"))
                                                   for lvl in LEVELS]), lambda e: e["v"] > 0))
    examples = F.slice(F.array_distinct(F.concat(
        F.transform("_head", lambda e: e["e"]),
        F.transform(F.coalesce("_errs", F.array()).cast("array<struct<p:bigint,e:string>>"), lambda e: e["e"]))), 1, 2 * k)
    if g.mode == "time":
        size = int(g.window / timedelta(microseconds=1))
        start, end = F.timestamp_micros("_ws"), F.timestamp_micros(F.col("_ws") + F.lit(size))
    else:
        start, end = F.col("_first"), F.col("_last")
    return out.select(
        "entity",
        start.alias("window_start"),
        end.alias("window_end"),
        F.col("n_events").cast("long").alias("n_events"),
        F.transform("_seq", lambda e: e["t"]).alias("template_ids"),
        F.lit(cap).cast("int").alias("sequence_cap"),
        (F.col("n_events") > cap).alias("sequence_truncated"),
        "template_counts",
        levels.alias("level_counts"),
        (F.col("_errors") / F.col("n_events")).cast("double").alias("error_ratio"),
        F.col("new_templates").cast("int").alias("new_templates"),
        F.col("distinct_hosts").cast("int").alias("distinct_hosts"),
        F.col("distinct_components").cast("int").alias("distinct_components"),
        (examples if k else F.array().cast("array<string>")).alias("example_lines"),
        F.col("_line_label").alias("label"),
    )


def read_session_labels(spark, src: LogFeaturesConfig):
    """(entity, file_label) from a Loghub anomaly_label.csv-style file; unknown values -> null."""
    from pyspark.sql import functions as F

    df = spark.read.option("header", True).csv(src.label_file)
    value = F.trim(F.col(src.label_column))
    return df.select(F.trim(F.col(src.label_key_column)).alias("entity"),
                     F.when(value.isin(*src.anomaly_values), F.lit(1)).when(value.isNotNull(), F.lit(0))
                     .cast("tinyint").alias("file_label")).dropDuplicates(["entity"])


def add_window_ids(df, source: str, grouping: str):
    """window_id = opsradar.ids.window_id(source, grouping, entity, start ISO, end ISO), computed in Arrow batches."""
    from pyspark.sql import functions as F

    from opsradar.ids import window_id

    @F.pandas_udf("string")
    def ids(entity: pd.Series, start: pd.Series, end: pd.Series) -> pd.Series:
        return pd.Series([window_id(source, grouping, e, _iso(s), _iso(t)) for e, s, t in zip(entity, start, end)])

    return df.withColumn("window_id", ids("entity", "window_start", "window_end"))


def _iso(ts) -> str:
    """ISO 8601 of a pandas timestamp as Python's datetime.isoformat() writes it for a UTC datetime."""
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.to_pydatetime().isoformat()
