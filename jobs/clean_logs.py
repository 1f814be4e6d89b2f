"""Spark job: raw log events -> clean, parsed events for one interval.

1. Normalise: exact duplicate events removed by event id, messages trimmed, levels mapped
   to the fixed vocabulary, optional PII hashing of messages (salted SHA-256, Spark SQL).
2. Mask variables with typed placeholders in Spark SQL (`regexp_replace`, no Python UDF).
3. Mine templates on the DISTINCT masked messages only, one pandas group per source in
   parallel (`applyInPandas`), against the persisted template store (opsradar.parsing.store).
4. Join back: every clean event gets `template_id`, `template` and `template_first_seen`;
   the store is merged and saved. New templates are counted (`new_templates`).

Bad input never stops the job: empty messages get the `<EMPTY>` template, messages made
only of variables get an all-placeholder template, messages longer than
`parsing.max_message_chars` are truncated for mining only (the event keeps the whole
message), and messages with U+FFFD / control characters are mined with those removed.
Each is counted in the StageResult.

Runs from the CLI (`opsradar run clean-logs`), an Airflow task, or
`spark-submit jobs/clean_logs.py --start ... --end ...`.
"""

from __future__ import annotations

import argparse
import logging
import re
from datetime import datetime, timezone

from opsradar.config import OpsRadarConfig, load_config
from opsradar.layout import Interval, Layout
from opsradar.levels import LEVEL_ALIASES
from opsradar.pipeline.result import StageResult

PART = "_source_part"  # partition column for the one Spark write; the files keep `source`
MINED = "_mined"  # masked, truncated text that mining sees
WRITE_ORDER = [PART, "dt", "hour", "timestamp", "event_id"]  # row order in the files: same on every re-run
ONLY_VARIABLES_RE = re.compile(r"^[\s\W]*((<\*>|<[A-Z][A-Z0-9_]*(:[0-9a-f]+)?>)[\s\W]*)+$")
ODD_CHARS = "[\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F\\x7F\\uFFFD]"  # Java regex: control chars, U+FFFD
RESOLVED_SCHEMA = (
    "kind string, source string, _mined string, template_id string, template string, "
    "template_first_seen timestamp, count long, tokens array<string>, seq long, mined_messages long, "
    "variable_only_lines long, mining_failed long"
)


def _resolver(miner_configs: dict, stores: dict):
    """The pandas function run once per source on the executors (closure is pickled)."""

    def resolve(pdf):
        import pandas as pd

        from opsradar.parsing import EMPTY_TEMPLATE, TemplateMiner
        from opsradar.parsing.store import fallback_resolution, resolve_templates

        source = pdf["source"].iloc[0]
        pdf = pdf.sort_values(MINED, kind="stable")
        times = [t.to_pydatetime() for t in pd.to_datetime(pdf["first_ts"], utc=True)]
        texts, weights = pdf[MINED].tolist(), pdf["n"].astype("int64").tolist()
        failed = 0
        try:
            res = resolve_templates(TemplateMiner(miner_configs[source]), source, stores.get(source, []), texts, weights, times)
        except Exception:  # never lose the interval: each distinct masked message becomes its own template
            logging.getLogger(__name__).exception("template mining failed for source %s", source)
            failed = len(texts)
            res = fallback_resolution(source, stores.get(source, []), texts, weights, times)
        only_vars = sum(w for w, t in zip(weights, res.assigned)
                        if t.template != EMPTY_TEMPLATE and ONLY_VARIABLES_RE.match(t.template))
        mapping = pd.DataFrame({
            "kind": "map", "source": source, MINED: pdf[MINED].to_numpy(),
            "template_id": [t.template_id for t in res.assigned], "template": [t.template for t in res.assigned],
            "template_first_seen": [t.first_seen for t in res.assigned], "tokens": [None] * len(res.assigned),
        })
        store = pd.DataFrame({
            "kind": "store", "source": source, "template_id": [t.template_id for t in res.store],
            "template": [t.template for t in res.store], "template_first_seen": [t.first_seen for t in res.store],
            "count": [t.count for t in res.store], "tokens": [list(t.tokens) for t in res.store],
            "seq": [t.seq for t in res.store], "mined_messages": res.mined_messages,
            "variable_only_lines": only_vars, "mining_failed": failed,
        })
        out = pd.concat([mapping, store], ignore_index=True)
        for col in ("count", "seq", "mined_messages", "variable_only_lines", "mining_failed"):
            out[col] = out[col].astype("Int64")
        out["template_first_seen"] = pd.to_datetime(out["template_first_seen"], utc=True)
        return out[[c.split()[0] for c in RESOLVED_SCHEMA.split(", ")]]

    return resolve


def with_mining_text(df, message_column: str, miner_cfg):
    """`df` plus `MINED`: what the miner sees of a message (control chars dropped, truncated, masked).

    In PII mode the message itself is hashed first (the event keeps only hashed values), and
    the mined text derives from it, so the hashing runs once per line.
    """
    from pyspark.sql import functions as F

    from opsradar.parsing.masking import Masker, spark_mask, spark_pii_column

    masker = miner_cfg.masker()
    if masker.pii:
        df = df.withColumn(message_column, spark_pii_column(F.col(message_column), masker.pii_patterns, masker.pii_salt))
    limit = miner_cfg.max_message_chars
    df = df.withColumn(MINED, F.regexp_replace(F.substring(message_column, 1, limit), ODD_CHARS, ""))
    return spark_mask(df, MINED, Masker(masker.masks)).withColumn(MINED, F.substring(MINED, 1, limit))


def clean_logs(spark, cfg: OpsRadarConfig, interval: Interval) -> StageResult:
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_schema

    from opsradar.parsing import miner_config
    from opsradar.schemas.arrow import LOG_EVENT

    layout = Layout(cfg.storage.root)
    result = StageResult.begin("clean_logs", interval)
    level_map = F.create_map(*[F.lit(x) for kv in LEVEL_ALIASES.items() for x in kv])
    staging = layout.new_staging_dir()
    raw_schema = from_arrow_schema(LOG_EVENT)
    try:
        frames, miner_cfgs, n_raw = [], {}, {}
        for source in cfg.log_sources:
            dataset = f"logs/source={source.name}"
            dirs = layout.existing_interval_dirs("raw", dataset, interval)
            if not dirs:
                continue
            mcfg = miner_cfgs[source.name] = miner_config(cfg.parsing, source.name)
            n_raw[source.name] = _parquet_rows(layout, dirs)
            # The declared schema: no footer-reading inference job per source.
            raw = spark.read.schema(raw_schema).option("basePath", layout.spark_path(layout.dataset_dir("raw", dataset))).parquet(
                *[layout.spark_path(d) for d in dirs]
            ).drop("dt", "hour")
            message = F.trim(F.coalesce(F.col("message"), F.lit("")))
            frames.append(with_mining_text(raw.withColumn(PART, F.lit(source.name)).withColumn("message", message),
                                           "message", mcfg))
        if frames:
            _clean_and_parse(spark, cfg, layout, interval, frames, miner_cfgs, n_raw, staging, result, level_map)
        for source in cfg.log_sources:  # every configured source: a re-run never keeps stale partitions
            result.outputs += layout.commit_staging(
                "clean", f"logs/source={source.name}", interval, f"{staging}/{PART}={source.name}"
            )
    finally:
        layout.discard_staging(staging)
    return result


def _parquet_rows(layout: Layout, dirs: list[str]) -> int:
    """Rows in the raw files, from their footers (no Spark pass)."""
    import pyarrow.parquet as pq

    return sum(pq.read_metadata(f, filesystem=layout.fs).num_rows for d in dirs for f in layout.fs.glob(f"{d}/*.parquet"))


def _clean_and_parse(spark, cfg, layout, interval, frames, miner_cfgs, n_raw, staging, result, level_map) -> None:
    from functools import reduce

    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    from opsradar.parsing.store import StoredTemplate, TemplateStore

    raw = reduce(lambda a, b: a.unionByName(b, allowMissingColumns=True), frames)
    # The one shuffle of the events: by output partition. An event id names one raw line,
    # hence one timestamp, so deduplicating on (partition, timestamp, event id) needs no
    # other exchange, and its sort is the order the write wants (no second sort).
    clean = (
        raw.withColumn("dt", F.date_format("timestamp", "yyyy-MM-dd"))
        .withColumn("hour", F.date_format("timestamp", "HH"))
        .repartition(PART, "dt", "hour")
        .dropDuplicates(WRITE_ORDER)
        .withColumn("level", F.coalesce(level_map[F.upper(F.trim("level"))], F.lit("UNKNOWN")))
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    long_msg = F.length("message") > F.lit(cfg.parsing.max_message_chars)
    distinct = clean.groupBy(F.col(PART).alias("source"), MINED).agg(
        F.count(F.lit(1)).alias("n"),
        F.min("timestamp").alias("first_ts"),
        F.sum((F.length("message") == 0).cast("long")).alias("empty"),
        F.sum(long_msg.cast("long")).alias("long"),
        F.sum(F.col("message").rlike(ODD_CHARS).cast("long")).alias("odd"),
    ).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        stats = {r["source"]: r.asDict() for r in distinct.groupBy("source").agg(
            F.sum("n").alias("events_out"), F.count(F.lit(1)).alias("distinct_masked"),
            F.sum("empty").alias("empty_messages"), F.sum("long").alias("truncated_for_mining"),
            F.sum("odd").alias("non_utf8_or_control_messages")).collect()}
        stores = {name: TemplateStore(layout, name).load() for name in miner_cfgs}
        resolved = distinct.select("source", MINED, "n", "first_ts").groupBy("source").applyInPandas(
            _resolver(miner_cfgs, stores), RESOLVED_SCHEMA
        ).persist(StorageLevel.MEMORY_AND_DISK)
        try:
            store_rows = resolved.where(F.col("kind") == "store").collect()
            mapping = resolved.where(F.col("kind") == "map").select(
                F.col("source").alias(PART), MINED, "template_id", "template", "template_first_seen"
            )
            if sum(s["distinct_masked"] for s in stats.values()) <= cfg.parsing.broadcast_max_templates:
                mapping = F.broadcast(mapping)  # distinct messages are few: no shuffle of the events for the join
            out = clean.join(mapping, [PART, MINED], "left").drop(MINED)
            (
                out.sortWithinPartitions(*WRITE_ORDER)  # already so sorted: Spark drops this sort
                .write.partitionBy(PART, "dt", "hour")
                .option("compression", cfg.storage.parquet_compression)
                .parquet(layout.spark_path(staging))
            )
        finally:
            resolved.unpersist()
    finally:
        distinct.unpersist()
        clean.unpersist()

    by_source: dict[str, list] = {}
    scalars: dict[str, dict] = {}
    for r in store_rows:
        by_source.setdefault(r["source"], []).append(
            StoredTemplate(r["template_id"], r["template"], r["source"], _utc(r["template_first_seen"]), r["count"],
                           tuple(r["tokens"]), r["seq"])
        )
        scalars[r["source"]] = {k: r[k] for k in ("mined_messages", "variable_only_lines", "mining_failed")}
    for name in miner_cfgs:
        before = {t.template_id for t in TemplateStore(layout, name).load()}
        merged = by_source.get(name, [])
        TemplateStore(layout, name).save(merged)
        s, x = stats.get(name, {}), scalars.get(name, {})
        result.add("events_in", n_raw.get(name, 0))
        result.add("events_out", s.get("events_out") or 0)
        result.add("duplicates_removed", n_raw.get(name, 0) - (s.get("events_out") or 0))
        result.add("distinct_masked_messages", s.get("distinct_masked") or 0)
        result.add("templates", len(merged))
        # First seen inside this interval: the same on a re-run (data time, not run time).
        result.add("new_templates", sum(interval.start <= t.first_seen < interval.end for t in merged))
        result.add("templates_created", len({t.template_id for t in merged} - before))  # 0 on a re-run
        result.add("mined_messages", x.get("mined_messages") or 0)  # distinct messages no stored template matched
        result.add("variable_only_messages", x.get("variable_only_lines") or 0)
        for key in ("empty_messages", "truncated_for_mining", "non_utf8_or_control_messages"):
            result.add(key, s.get(key) or 0)
        if x.get("mining_failed"):
            result.add("mining_failed_messages", x["mining_failed"])
            result.warnings.append(f"{name}: template mining failed; {x['mining_failed']} distinct message(s) "
                                   "kept their masked text as template (see the executor log)")


def _utc(ts: datetime) -> datetime:
    # PySpark collects timestamps as naive local times.
    return ts.astimezone(timezone.utc) if ts.tzinfo is None else ts


def main(argv: list[str] | None = None) -> None:
    from opsradar.spark import spark_session

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--start", required=True, type=datetime.fromisoformat)
    parser.add_argument("--end", required=True, type=datetime.fromisoformat)
    parser.add_argument("--config")
    args = parser.parse_args(argv)
    cfg = load_config(args.config)
    print(clean_logs(spark_session(cfg.spark), cfg, Interval(args.start, args.end)).summary())


if __name__ == "__main__":
    main()
