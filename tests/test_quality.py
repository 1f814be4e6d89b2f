"""GX quality gates on real data: Loghub HDFS events, NAB metrics, HDFS block windows, each corrupted on purpose.

Every expectation is shown to pass on the real data first (so a failure below is the
corruption's doing) and then to catch one realistic violation, naming the expectation,
the column and sample rows/values.
"""

from __future__ import annotations

import csv
import json
import math
import re
from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from opsradar.config import OpsRadarConfig
from opsradar.ids import template_id, window_id
from opsradar.ingest.formats import get_format
from opsradar.ingest.logs import ingest_log_file
from opsradar.layout import Interval, Layout
from opsradar.levels import LEVELS
from opsradar.quality.outcome import DataQualityError
from opsradar.quality.stages import validate_clean_logs, validate_features, validate_metrics, validate_raw_logs
from opsradar.schemas.arrow import LOG_WINDOW, METRIC_FEATURE, METRIC_POINT

UTC = timezone.utc
LOGS = "logs/source=HDFS"


def day(d: int, month: int = 11, year: int = 2008) -> Interval:
    start = datetime(year, month, d, tzinfo=UTC)
    return Interval(start, start + timedelta(days=1))


@pytest.fixture(scope="module")
def hdfs(shared_data):
    """HDFS_2k ingested per day (150 / 965 / 885 events on Nov 9 / 10 / 11), with ground-truth templates."""
    path = shared_data / "loghub/HDFS/HDFS_2k.log"
    with open(shared_data / "loghub/HDFS/HDFS_2k.log_structured.csv", newline="") as fh:
        templates = {int(r["LineId"]): r["EventTemplate"] for r in csv.DictReader(fh)}
    out = {}
    for d in (9, 10, 11):
        events = ingest_log_file(str(path), "HDFS", get_format("HDFS"), day(d)).events
        texts = [templates[n] for n in events.column("line_no").to_pylist()]
        out[d] = (events
                  .append_column("template_id", pa.array([template_id(t) for t in texts]))
                  .append_column("template", pa.array(texts)))
    assert [out[d].num_rows for d in (9, 10, 11)] == [150, 965, 885]
    return out


def make_cfg(tmp_path, **quality) -> OpsRadarConfig:
    return OpsRadarConfig.from_dict({
        "storage": {"root": str(tmp_path / "lake")},
        "log_sources": [{"name": "HDFS", "path": "unused.log", "format": "loghub:HDFS"}],
        "quality": quality,
    })


def write(cfg: OpsRadarConfig, layer: str, dataset: str, interval: Interval, table: pa.Table, time_column: str = "timestamp"):
    Layout(cfg.storage.root).write_interval(layer, dataset, interval, table, time_column)


def set_values(table: pa.Table, column: str, rows: dict[int, object]) -> pa.Table:
    values = table.column(column).to_pylist()
    for i, v in rows.items():
        values[i] = v
    idx = table.schema.get_field_index(column)
    return table.set_column(idx, table.schema.field(idx).with_nullable(True), pa.array(values, table.schema.field(idx).type))


def result_doc(cfg, suite: str, dataset: str, interval: Interval) -> dict:
    from opsradar.quality.results import read_result

    doc = read_result(Layout(cfg.storage.root), suite, dataset, interval)
    assert doc is not None, f"no validation result for {suite} {dataset} {interval}"
    return doc


# -- logs: the real data passes ----------------------------------------------------------
def test_real_hdfs_passes_raw_and_clean_suites_with_row_count_check(tmp_path, hdfs):
    cfg = make_cfg(tmp_path)
    for d in (9, 10):
        write(cfg, "raw", LOGS, day(d), hdfs[d].drop_columns(["template_id", "template"]))
        write(cfg, "clean", LOGS, day(d), hdfs[d])
    raw = validate_raw_logs(cfg, day(10))
    clean = validate_clean_logs(cfg, day(10))
    assert raw.counts["suites_passed"] == 1 and clean.counts["suites_passed"] == 2, (raw.warnings, clean.warnings)
    assert raw.counts["expectations_failed"] == clean.counts["expectations_failed"] == 0
    assert raw.counts["expectations_skipped"] == 0  # 150 previous rows >= row_count_min_previous: checked
    assert not clean.warnings
    doc = result_doc(cfg, "clean_logs", LOGS, day(10))
    assert doc["success"] is True and doc["row_count"] == 965 and doc["previous_row_count"] == 150
    assert doc["parameters"]["row_count_min"] == 15 and doc["parameters"]["row_count_max"] == 1500
    assert doc["gx_result"]["success"] is True and len(doc["gx_result"]["results"]) == doc["evaluated"]
    assert doc["parameters"]["levels"] == list(LEVELS)


# -- logs: each expectation catches a real violation ----------------------------------------
def _null_message(t):
    return set_values(t, "message", {3: None, 7: None}), ("expect_column_values_to_not_be_null", "message", "line_no=")


def _duplicate_event_id(t):
    dup = t.column("event_id")[10].as_py()
    return set_values(t, "event_id", {11: dup}), ("expect_column_values_to_be_unique", "event_id", dup)


def _unmapped_level(t):
    return set_values(t, "level", {5: "WARNING", 17: "Info"}), ("expect_column_values_to_be_in_set", "level", "'WARNING'")


def _untrimmed_message(t):
    msg = t.column("message")[2].as_py()
    return set_values(t, "message", {2: msg + "  "}), ("expect_column_values_to_not_match_regex", "message", f"{msg[-12:]}  '")


CLEAN_VIOLATIONS = {"null_message": _null_message, "duplicate_event_id": _duplicate_event_id,
                    "unmapped_level": _unmapped_level, "untrimmed_message": _untrimmed_message}


@pytest.mark.parametrize("name", sorted(CLEAN_VIOLATIONS))
def test_clean_suite_catches_violation(tmp_path, hdfs, name):
    cfg = make_cfg(tmp_path)
    bad, (expectation, column, sample) = CLEAN_VIOLATIONS[name](hdfs[10])
    write(cfg, "clean", LOGS, day(10), bad)
    with pytest.raises(DataQualityError) as err:
        validate_clean_logs(cfg, day(10))
    msg = str(err.value)
    assert f"{expectation}(column='{column}'" in msg, msg
    assert sample in msg, msg
    assert "clean_logs FAILED (error)" in msg and "HDFS_2k.log" in msg  # names the suite and the file of sample rows
    doc = result_doc(cfg, "clean_logs", LOGS, day(10))  # written before raising
    assert doc["success"] is False
    assert [(f["expectation"], f["column"]) for f in doc["failures"]] == [(expectation, column)]


def test_timestamps_outside_the_interval_are_caught(tmp_path, hdfs):
    """A writer with a time-zone bug puts next-day rows into this day's partition (Layout itself refuses)."""
    cfg = make_cfg(tmp_path)
    lay = Layout(cfg.storage.root)
    write(cfg, "clean", LOGS, day(10), hdfs[10])
    hour = datetime(2008, 11, 10, 23, tzinfo=UTC)
    part = f"{lay.partition_dir('clean', LOGS, hour)}/part-00000.parquet"
    rows = pq.read_table(part, filesystem=lay.fs)
    assert rows.num_rows > 0
    shifted = rows.set_column(rows.schema.get_field_index("timestamp"), "timestamp",
                              pc.add(rows.column("timestamp"), pa.scalar(timedelta(hours=8))))
    pq.write_table(shifted, part, filesystem=lay.fs)
    with pytest.raises(DataQualityError) as err:
        validate_clean_logs(cfg, day(10))
    msg = str(err.value)
    assert "expect_column_values_to_be_between(column='timestamp'" in msg, msg
    assert f"{rows.num_rows} of 965 rows unexpected" in msg
    assert "2008-11-11T07:" in msg  # a sample value: 23:xx + 8 h


def test_raw_suite_catches_duplicate_event_ids_from_a_file_ingested_twice(tmp_path, hdfs, shared_data):
    """Event ids hash the file's content identity, so a copied/rotated file ingested again duplicates them."""
    cfg = make_cfg(tmp_path)
    events = hdfs[10].drop_columns(["template_id", "template"])
    copy = tmp_path / "HDFS_2k.log.1"
    copy.write_bytes((shared_data / "loghub/HDFS/HDFS_2k.log").read_bytes())
    again = ingest_log_file(str(copy), "HDFS", get_format("HDFS"), day(10)).events
    write(cfg, "raw", LOGS, day(10), pa.concat_tables([events, again]))
    with pytest.raises(DataQualityError) as err:
        validate_raw_logs(cfg, day(10))
    msg = str(err.value)
    assert "expect_column_values_to_be_unique(column='event_id')" in msg and "1930 of 1930 rows unexpected" in msg
    assert "HDFS_2k.log.1" in msg  # sample rows point at the second copy


# -- template coverage (warning severity until the clean job writes template columns) ------
def test_low_template_coverage_warns_without_stopping(tmp_path, hdfs):
    cfg = make_cfg(tmp_path, template_coverage_min=0.95)
    t = hdfs[10]
    missed = {i: None for i in range(0, t.num_rows, 8)}  # 121 of 965 lines left unparsed: 87.5% coverage
    write(cfg, "clean", LOGS, day(10), set_values(t, "template_id", missed))
    result = validate_clean_logs(cfg, day(10))  # does not raise
    assert result.counts["suites_warned"] == 1 and result.counts["suites_passed"] == 1
    (warning,) = result.warnings
    assert "clean_logs_templates FAILED (warning)" in warning
    assert "expect_column_values_to_not_be_null(column='template_id', mostly=0.95)" in warning
    assert f"{len(missed)} of 965 rows unexpected" in warning
    assert result_doc(cfg, "clean_logs_templates", LOGS, day(10))["success"] is False

    strict = make_cfg(tmp_path, template_coverage_min=0.95, suites={"clean_logs_templates": {"severity": "error"}})
    with pytest.raises(DataQualityError, match="template_id"):
        validate_clean_logs(strict, day(10))
    assert validate_clean_logs(make_cfg(tmp_path, template_coverage_min=0.85), day(10)).counts["suites_passed"] == 2


def test_missing_template_columns_fail_clearly(tmp_path, hdfs):
    cfg = make_cfg(tmp_path)
    write(cfg, "clean", LOGS, day(10), hdfs[10].drop_columns(["template_id", "template"]))
    result = validate_clean_logs(cfg, day(10))
    (warning,) = result.warnings
    assert "column 'template_id' is missing" in warning and "column 'template' is missing" in warning
    assert 'The column "template_id" in BatchData does not exist' in warning  # the coverage check says why it could not run


# -- row-count change vs the previous interval ---------------------------------------------
def test_row_count_jump_and_drop_vs_previous_interval(tmp_path, hdfs):
    cfg = make_cfg(tmp_path, row_count_max_ratio=5.0)
    for d in (9, 10):
        write(cfg, "clean", LOGS, day(d), hdfs[d])
    with pytest.raises(DataQualityError) as err:  # 150 -> 965 rows is 6.4x
        validate_clean_logs(cfg, day(10))
    msg = str(err.value)
    assert "expect_table_row_count_to_be_between(min_value=15, max_value=750)" in msg and "observed 965" in msg

    dropped = hdfs[11].filter(pc.equal(pc.bit_wise_and(pc.cast(hdfs[11].column("line_no"), pa.int64()), 15), 0))
    write(cfg, "clean", LOGS, day(11), dropped)  # a collector lost most lines: 55 of 885 vs 965 the day before
    with pytest.raises(DataQualityError, match=rf"min_value=97, max_value=4825\).*observed {dropped.num_rows}"):
        validate_clean_logs(cfg, day(11))


def test_empty_interval_after_a_busy_one_fails_and_first_interval_skips(tmp_path, hdfs):
    cfg = make_cfg(tmp_path)
    write(cfg, "clean", LOGS, day(11), hdfs[11])
    with pytest.raises(DataQualityError, match=r"expect_table_row_count_to_be_between\(min_value=89.*observed 0"):
        validate_clean_logs(cfg, day(12))  # the configured source wrote nothing on Nov 12
    result = validate_clean_logs(cfg, day(11))  # nothing before Nov 11 in this lake: skipped, and said so
    assert result.counts["expectations_skipped"] == 1
    doc = result_doc(cfg, "clean_logs", LOGS, day(11))
    assert doc["success"] is True and "no data for the previous interval" in doc["skipped"][0]


# -- metrics: real NAB CPU series ----------------------------------------------------------
@pytest.fixture(scope="module")
def nab_day(shared_data):
    """One day of NAB's ec2_cpu_utilization_5f5533 (percent) as METRIC_POINT rows."""
    with open(shared_data / "nab/data/realAWSCloudwatch/ec2_cpu_utilization_5f5533.csv", newline="") as fh:
        rows = [(datetime.fromisoformat(r["timestamp"]).replace(tzinfo=UTC), float(r["value"])) for r in csv.DictReader(fh)]
    interval = day(20, month=2, year=2014)
    rows = [r for r in rows if interval.start <= r[0] < interval.end]
    table = pa.table({
        "timestamp": [r[0] for r in rows], "source": ["nab"] * len(rows), "entity": ["instance=5f5533"] * len(rows),
        "metric": ["cpu_utilization"] * len(rows), "value": [r[1] for r in rows], "unit": ["percent"] * len(rows),
        "labels": [[("instance", "5f5533")]] * len(rows),
    }, schema=METRIC_POINT)
    assert table.num_rows == 288
    return interval, table


METRIC_VIOLATIONS = {
    "nan": ({7: math.nan}, "expect_column_values_to_not_be_null(column='value'"),
    "infinite": ({9: math.inf}, "expect_column_values_to_be_between(column='value', min_value=-1.79"),
    "percent_out_of_range": ({11: 180.0}, "expect_column_values_to_be_between(column='value', row_condition=unit == 'percent', min_value=0.0, max_value=100.0"),
}


@pytest.mark.parametrize("name", sorted(METRIC_VIOLATIONS))
def test_metric_values_finite_and_in_declared_range(tmp_path, nab_day, name):
    interval, table = nab_day
    cfg = make_cfg(tmp_path)
    write(cfg, "raw", "metrics/source=nab", interval, table)
    assert validate_metrics(cfg, interval).counts["suites_passed"] == 1  # the real series passes
    rows, expectation = METRIC_VIOLATIONS[name]
    write(cfg, "raw", "metrics/source=nab", interval, set_values(table, "value", rows))
    with pytest.raises(DataQualityError) as err:
        validate_metrics(cfg, interval)
    msg = str(err.value)
    assert expectation in msg and "1 of 288 rows unexpected" in msg and "entity='instance=5f5533'" in msg, msg


def test_metric_ranges_from_config_and_duplicate_samples(tmp_path, nab_day):
    interval, table = nab_day
    limit = sorted(table.column("value").to_pylist())[-10]  # declare a range the day's 9 highest samples exceed
    cfg = make_cfg(tmp_path, metric_ranges={"cpu_utilization": {"min": 0, "max": limit}})
    write(cfg, "raw", "metrics/source=nab", interval, table)
    with pytest.raises(DataQualityError) as err:
        validate_metrics(cfg, interval)
    assert f"row_condition=metric == 'cpu_utilization', min_value=0.0, max_value={limit}" in str(err.value)
    assert "9 of 288 rows unexpected" in str(err.value)
    assert "declared range of metric 'cpu_utilization'" in str(err.value)

    cfg = make_cfg(tmp_path)
    write(cfg, "raw", "metrics/source=nab", interval, pa.concat_tables([table, table.slice(0, 3)]))
    with pytest.raises(DataQualityError, match=r"expect_compound_columns_to_be_unique\(column_list=\['source', 'entity'"):
        validate_metrics(cfg, interval)


def test_configured_metric_source_that_stops_writing_fails(tmp_path, nab_day):
    interval, table = nab_day
    cfg = OpsRadarConfig.from_dict({"storage": {"root": str(tmp_path / "lake")},
                                    "metric_sources": [{"name": "nab", "path": "unused.csv", "format": "csv_wide"}]})
    write(cfg, "raw", "metrics/source=nab", interval, table)
    next_day = Interval(interval.end, interval.end + timedelta(days=1))
    with pytest.raises(DataQualityError) as err:  # nothing written on the next day
        validate_metrics(cfg, next_day)
    assert "raw/metrics/source=nab" in str(err.value)
    assert re.search(r"expect_table_row_count_to_be_between\(min_value=29, max_value=2880\).*: observed 0", str(err.value))


# -- features: HDFS block sessions as LOG_WINDOW rows --------------------------------------
@pytest.fixture(scope="module")
def hdfs_windows(hdfs):
    """Day-10 HDFS events grouped into block-id sessions, the way the log models read them."""
    sessions: dict[str, list[dict]] = {}
    for row in hdfs[10].to_pylist():
        for blk in dict.fromkeys(re.findall(r"blk_-?\d+", row["message"])):
            sessions.setdefault(blk, []).append(row)
    rows = []
    for blk, events in sorted(sessions.items()):
        start, end = events[0]["timestamp"], events[-1]["timestamp"] + timedelta(seconds=1)
        rows.append({
            "window_id": window_id("HDFS", "session", blk, start.isoformat(), end.isoformat()), "source": "HDFS",
            "grouping": "session", "entity": blk, "window_start": start, "window_end": end, "n_events": len(events),
            "template_ids": [e["template_id"] for e in events], "sequence_cap": 256, "sequence_truncated": False,
            "error_ratio": sum(e["level"] in ("WARN", "ERROR") for e in events) / len(events),
        })
    return pa.Table.from_pylist(rows, schema=LOG_WINDOW)


FEATURE_VIOLATIONS = {
    "error_ratio": ("error_ratio", {4: 1.5}, "expect_column_values_to_be_between(column='error_ratio'"),
    "empty_window": ("n_events", {6: 0}, "expect_column_values_to_be_between(column='n_events', min_value=1"),
    "grouping": ("grouping", {8: "sessions"}, "expect_column_values_to_be_in_set(column='grouping'"),
    "duplicate_window": ("window_id", {3: None}, "expect_column_values_to_be_unique(column='window_id')"),
}


@pytest.mark.parametrize("name", sorted(FEATURE_VIOLATIONS))
def test_feature_suite_catches_violation(tmp_path, hdfs_windows, name):
    cfg = make_cfg(tmp_path)
    dataset = "log_windows/source=HDFS"
    write(cfg, "features", dataset, day(10), hdfs_windows, "window_start")
    assert validate_features(cfg, day(10)).counts["suites_passed"] == 1
    column, rows, expectation = FEATURE_VIOLATIONS[name]
    if name == "duplicate_window":
        rows = {3: hdfs_windows.column("window_id")[2].as_py()}
    write(cfg, "features", dataset, day(10), set_values(hdfs_windows, column, rows), "window_start")
    with pytest.raises(DataQualityError) as err:
        validate_features(cfg, day(10))
    assert expectation in str(err.value) and "entity='blk_" in str(err.value), str(err.value)


def test_window_end_before_start_is_caught(tmp_path, hdfs_windows):
    cfg = make_cfg(tmp_path)
    t = hdfs_windows
    ends = t.column("window_end").to_pylist()
    ends[0] = t.column("window_start")[0].as_py() - timedelta(minutes=1)
    write(cfg, "features", "log_windows/source=HDFS", day(10),
          t.set_column(t.schema.get_field_index("window_end"), "window_end", pa.array(ends, t.schema.field("window_end").type)),
          "window_start")
    with pytest.raises(DataQualityError, match=r"expect_column_pair_values_a_to_be_greater_than_b\(column_A='window_end'"):
        validate_features(cfg, day(10))


@pytest.fixture(scope="module")
def nab_features(nab_day):
    """The NAB day as 5-minute METRIC_FEATURE steps, with two real gaps (samples removed, value null)."""
    interval, points = nab_day
    rows = []
    for i, p in enumerate(points.to_pylist()):
        gap = i in (50, 51)
        rows.append({"timestamp": p["timestamp"], "step_s": 300, "source": p["source"], "entity": p["entity"],
                     "metric": p["metric"], "value": None if gap else p["value"], "n_samples": 0 if gap else 1,
                     "is_gap": gap, "rate_of_change": None, "rolling": [], "hour_of_day": p["timestamp"].hour,
                     "day_of_week": p["timestamp"].isoweekday()})
    return interval, pa.Table.from_pylist(rows, schema=METRIC_FEATURE)


METRIC_FEATURE_VIOLATIONS = {
    "forward_filled_gap": ("value", {50: 42.0}, "expect_column_values_to_be_null(column='value', row_condition=is_gap == True)"),
    "missing_value": ("value", {60: None}, "expect_column_values_to_not_be_null(column='value', row_condition=is_gap == False)"),
    "hour_of_day": ("hour_of_day", {70: 24}, "expect_column_values_to_be_between(column='hour_of_day', min_value=0.0, max_value=23.0)"),
}


@pytest.mark.parametrize("name", sorted(METRIC_FEATURE_VIOLATIONS))
def test_metric_feature_suite_catches_violation(tmp_path, nab_features, name):
    interval, table = nab_features
    cfg = make_cfg(tmp_path)
    write(cfg, "features", "metrics/source=nab", interval, table)
    assert validate_features(cfg, interval).counts["suites_passed"] == 1  # real series with real gaps passes
    column, rows, expectation = METRIC_FEATURE_VIOLATIONS[name]
    write(cfg, "features", "metrics/source=nab", interval, set_values(table, column, rows))
    with pytest.raises(DataQualityError) as err:
        validate_features(cfg, interval)
    msg = str(err.value)
    assert "suite metric_features FAILED (error) on features/metrics/source=nab" in msg
    assert expectation in msg and "1 of " in msg and "entity='instance=5f5533'" in msg, msg


# -- suites as files, results, CLI ----------------------------------------------------------
def test_every_suite_file_is_a_valid_gx_suite():
    import great_expectations as gx

    from opsradar.quality import TARGETS
    from opsradar.quality.gx_runner import resolve_expectations
    from opsradar.quality.parameters import suite_parameters
    from opsradar.quality.suites import load_suites

    qcfg = OpsRadarConfig().quality
    specs = load_suites(qcfg)
    assert {s.target for s in specs} == set(TARGETS)
    params, unavailable = suite_parameters(qcfg, day(10), previous_rows=1000)
    assert not unavailable
    for spec in specs:
        expectations, skipped = resolve_expectations(spec, params)
        assert not skipped and len(expectations) == len(spec.expectations)
        suite = gx.ExpectationSuite(name=spec.name, expectations=expectations)  # GX parses every type and kwarg
        assert len(suite.expectations) == len(spec.expectations)
        spec.arrow_schema()


def test_config_overrides_are_checked(tmp_path):
    from opsradar.quality.suites import SuiteFileError, load_suites

    with pytest.raises(SuiteFileError, match="unknown suite.*clean_log"):
        load_suites(make_cfg(tmp_path, suites={"clean_log": {"severity": "warning"}}).quality)
    specs = load_suites(make_cfg(tmp_path, suites={"clean_logs_templates": {"enabled": False}}).quality, "clean_logs")
    assert [s.name for s in specs] == ["clean_logs"]


def test_bad_suite_files_fail_clearly(tmp_path, hdfs):
    from opsradar.quality.suites import SuiteFileError, default_suites_dir

    suites = tmp_path / "suites"
    suites.mkdir()
    doc = json.loads((default_suites_dir() / "clean_logs.json").read_text())
    doc["expectations"].append({"type": "expect_column_values_to_be_between",
                                "kwargs": {"column": "line_no", "max_value": {"$PARAMETER": "max_line"}}})
    (suites / "clean_logs.json").write_text(json.dumps(doc))
    cfg = make_cfg(tmp_path, suites_dir=str(suites))
    write(cfg, "clean", LOGS, day(10), hdfs[10])
    with pytest.raises(ValueError, match=r"clean_logs.json: expect_column_values_to_be_between uses unknown parameter\(s\) max_line"):
        validate_clean_logs(cfg, day(10))
    del doc["meta"]["opsradar"]["layer"]
    (suites / "clean_logs.json").write_text(json.dumps(doc))
    with pytest.raises(SuiteFileError, match=r"clean_logs.json: meta.opsradar lacks layer"):
        validate_clean_logs(cfg, day(10))


def test_rerun_overwrites_the_same_result_and_data_docs(tmp_path, hdfs):
    cfg = make_cfg(tmp_path, data_docs=True)
    write(cfg, "clean", LOGS, day(10), hdfs[10])
    first = validate_clean_logs(cfg, day(10)).outputs
    second = validate_clean_logs(cfg, day(10)).outputs
    assert first == second and len(first) == 2
    lake = tmp_path / "lake" / "validations"
    assert sorted(p.name for p in lake.rglob("*.json")) == ["20081110T000000Z_20081111T000000Z.json"] * 2
    pages = list((lake / "_data_docs" / "validations").rglob("*.html"))
    assert {p.relative_to(lake / "_data_docs" / "validations").parts[0] for p in pages} == {"clean_logs", "clean_logs_templates"}
    assert len(pages) == 2  # deterministic run ids: a re-run replaces its page


def test_cli_validate_exit_codes(tmp_path, hdfs, caplog):
    from typer.testing import CliRunner

    from opsradar.cli import app

    cfg_file = tmp_path / "opsradar.toml"
    cfg_file.write_text(f'[storage]\nroot = "{tmp_path / "lake"}"\n[[log_sources]]\nname = "HDFS"\npath = "x"\nformat = "loghub:HDFS"\n')
    cfg = make_cfg(tmp_path)
    write(cfg, "clean", LOGS, day(10), hdfs[10])
    runner = CliRunner()
    args = ["validate", "clean-logs", "--start", "2008-11-10", "--end", "2008-11-11", "-c", str(cfg_file)]
    ok = runner.invoke(app, [*args, "--json"])
    assert ok.exit_code == 0, ok.output
    outcomes = json.loads(ok.stdout)["outcomes"]
    assert [(o["suite"], o["success"]) for o in outcomes] == [("clean_logs", True), ("clean_logs_templates", True)]
    write(cfg, "clean", LOGS, day(10), set_values(hdfs[10], "level", {0: "NOTICE"}))
    bad = runner.invoke(app, args)
    assert bad.exit_code == 1
    assert "suite clean_logs FAILED (error) on clean/logs/source=HDFS" in bad.output
    assert "expect_column_values_to_be_in_set(column='level'" in caplog.text and "'NOTICE'" in caplog.text  # the stage's log
