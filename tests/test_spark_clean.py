"""The clean job on a real local SparkSession."""

from datetime import datetime, timezone

import pyarrow as pa
import pytest

from opsradar.config import OpsRadarConfig
from opsradar.ingest.formats import get_format
from opsradar.ingest.logs import ingest_log_file
from opsradar.jobs.clean_logs import clean_logs
from opsradar.layout import Interval, Layout

pytestmark = pytest.mark.slow
UTC = timezone.utc
DAY = Interval(datetime(2008, 11, 10, tzinfo=UTC), datetime(2008, 11, 11, tzinfo=UTC))


def test_clean_dedups_normalises_and_reruns_identically(spark, shared_data, tmp_path):
    cfg = OpsRadarConfig.from_dict({"storage": {"root": str(tmp_path)},
                                    "log_sources": [{"name": "HDFS", "path": "x", "format": "loghub:HDFS"}]})
    layout = Layout(cfg.storage.root)
    raw = ingest_log_file(str(shared_data / "loghub/HDFS/HDFS_2k.log"), "HDFS", get_format("HDFS"), DAY).events
    # Duplicate 10 events (same event_id) and lower-case a level: the job must fix both.
    dup = raw.slice(0, 10)
    levels = pa.array(["warn"] * 10)
    dup = dup.set_column(dup.schema.get_field_index("level"), "level", levels)
    layout.write_interval("raw", "logs/source=HDFS", DAY, pa.concat_tables([raw, dup]), "timestamp")

    first = clean_logs(spark, cfg, DAY)
    assert {k: first.counts[k] for k in ("events_in", "events_out", "duplicates_removed")} == {
        "events_in": 975, "events_out": 965, "duplicates_removed": 10}
    out = layout.read_interval("clean", "logs/source=HDFS", DAY)
    assert out.num_rows == 965
    assert set(out.column("level").to_pylist()) <= {"INFO", "WARN", "ERROR", "UNKNOWN"}
    assert sorted(out.column("event_id").to_pylist()) == sorted(raw.column("event_id").to_pylist())

    again = clean_logs(spark, cfg, DAY)
    stable = {k: v for k, v in first.counts.items() if k not in ("templates_created", "mined_messages")}
    assert {k: again.counts[k] for k in stable} == stable
    assert again.counts["templates_created"] == 0 and again.counts["mined_messages"] == 0
    assert layout.read_interval("clean", "logs/source=HDFS", DAY).sort_by("event_id").equals(out.sort_by("event_id"))
