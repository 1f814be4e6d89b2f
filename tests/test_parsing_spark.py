"""The clean job's masking + template mining on a real local Spark over Loghub samples."""

from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from opsradar.config import OpsRadarConfig
from opsradar.eval.parsing import read_ground_truth
from opsradar.ids import template_id
from opsradar.ingest.formats import get_format
from opsradar.ingest.logs import ingest_log_file
from opsradar.jobs.clean_logs import MINED, clean_logs, with_mining_text
from opsradar.layout import Interval, Layout
from opsradar.parsing import MinerConfig
from opsradar.parsing.store import TemplateStore

pytestmark = pytest.mark.slow
UTC = timezone.utc
DAY1 = Interval(datetime(2008, 11, 10, tzinfo=UTC), datetime(2008, 11, 11, tzinfo=UTC))
DAY2 = Interval(datetime(2008, 11, 11, tzinfo=UTC), datetime(2008, 11, 12, tzinfo=UTC))
BAD = ["", "12 0x1f 10.0.0.1", "y" * 50_000, "broken \ufffd\ufffd bytes \x01 here"]


def _ids(layout: Layout, interval: Interval) -> dict[str, str]:
    t = layout.read_interval("clean", "logs/source=HDFS", interval)
    return dict(zip(t.column("event_id").to_pylist(), t.column("template_id").to_pylist()))


def test_spark_masking_matches_the_python_masker(spark, shared_data):
    messages = []
    for system in ("HDFS", "OpenSSH", "Android", "Windows"):
        messages += read_ground_truth(shared_data / f"loghub/{system}/{system}_2k.log_structured.csv")[0]
    for cfg in (MinerConfig(), MinerConfig(pii=True, pii_salt="salt")):
        masker = cfg.masker()
        df = spark.createDataFrame([(m,) for m in messages], "message string")
        rows = with_mining_text(df, "message", cfg).select("message", MINED).collect()
        assert [r[MINED] for r in rows] == [masker.mask(m) for m in messages]
        assert [r["message"] for r in rows] == [masker.hash_pii(m) if cfg.pii else m for m in messages]


def test_clean_job_parses_and_keeps_template_ids_stable(spark, shared_data, tmp_path):
    cfg = OpsRadarConfig.from_dict({"storage": {"root": str(tmp_path)}, "parsing": {"max_message_chars": 2000},
                                    "log_sources": [{"name": "HDFS", "path": "x", "format": "loghub:HDFS"}]})
    layout = Layout(cfg.storage.root)
    log = str(shared_data / "loghub/HDFS/HDFS_2k.log")
    day1 = ingest_log_file(log, "HDFS", get_format("HDFS"), DAY1).events
    # Bad input appended as extra events (new ids, same day): must be parsed and counted, never crash.
    bad = [{**row, "event_id": f"bad{i}", "message": BAD[i]} for i, row in enumerate(day1.slice(0, len(BAD)).to_pylist())]
    bad = pa.Table.from_pylist(bad, schema=day1.schema)
    layout.write_interval("raw", "logs/source=HDFS", DAY1, pa.concat_tables([day1, bad]), "timestamp")
    layout.write_interval("raw", "logs/source=HDFS", DAY2, ingest_log_file(log, "HDFS", get_format("HDFS"), DAY2).events,
                          "timestamp")

    first = clean_logs(spark, cfg, DAY1)
    c = first.counts
    assert c["events_out"] == 965 + len(BAD) and "mining_failed_messages" not in c
    assert c["empty_messages"] == 1 and c["truncated_for_mining"] == 1 and c["non_utf8_or_control_messages"] == 1
    assert c["variable_only_messages"] >= 1
    assert c["templates"] == c["templates_created"] == c["new_templates"] > 5
    out = layout.read_interval("clean", "logs/source=HDFS", DAY1)
    assert out.column("message").to_pylist().count("y" * 50_000) == 1  # the original is kept whole
    rows = out.select(["message", "template_id", "template"]).to_pylist()
    responder = {(r["template_id"], r["template"]) for r in rows
                 if r["message"].startswith("PacketResponder") and r["message"].endswith("terminating")}
    text = "PacketResponder <*> for block <*> terminating"
    assert responder == {(template_id(text), text)}
    assert all(r["template_id"] == template_id(r["template"]) for r in rows)

    store = TemplateStore(layout, "HDFS").load()
    assert {t.template_id for t in store} == set(out.column("template_id").to_pylist())
    assert all(DAY1.start <= t.first_seen < DAY1.end for t in store)

    ids1 = _ids(layout, DAY1)
    second = clean_logs(spark, cfg, DAY2)  # the next day reuses the stored templates
    assert second.counts["templates_created"] < second.counts["templates"]
    ids2 = _ids(layout, DAY2)
    out2 = layout.read_interval("clean", "logs/source=HDFS", DAY2)
    day2_responder = {t for m, t in zip(out2.column("message").to_pylist(), out2.column("template_id").to_pylist())
                      if m.startswith("PacketResponder") and m.endswith("terminating")}
    assert day2_responder == {template_id(text)}
    # Templates first seen on day 2 are flagged as new there; day-1 templates are not.
    new2 = {t.template_id for t in TemplateStore(layout, "HDFS").load() if DAY2.start <= t.first_seen}
    assert second.counts["new_templates"] == len(new2) == second.counts["templates_created"]

    rerun = clean_logs(spark, cfg, DAY1)  # re-run after a later day: identical ids, nothing new
    assert _ids(layout, DAY1) == ids1 and rerun.counts["templates_created"] == 0
    assert rerun.counts["new_templates"] == c["new_templates"]
    assert set(ids2) and not set(ids2) & set(ids1)
    assert pc.count_distinct(layout.read_interval("clean", "logs/source=HDFS", DAY1).column("event_id")).as_py() == len(ids1)
