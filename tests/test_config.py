import pytest

from opsradar.config import ConfigError, OpsRadarConfig, load_config


def test_defaults_then_toml_then_env(tmp_path):
    toml = tmp_path / "c.toml"
    toml.write_text('[storage]\nroot = "/data/lake"\n[spark]\nmaster = "spark://m:7077"\nshuffle_partitions = 8\n')
    cfg = load_config(toml, environ={"OPSRADAR_SPARK__SHUFFLE_PARTITIONS": "16", "OPSRADAR_ES__LOCAL__PORT": "9333"})
    assert cfg.storage.root == "/data/lake"          # file beats default
    assert cfg.spark.master == "spark://m:7077"
    assert cfg.spark.shuffle_partitions == 16         # env beats file
    assert cfg.es.local.port == 9333                  # nested env
    assert cfg.es.index_prefix == "opsradar"          # default kept


def test_env_json_list_of_sources():
    env = {"OPSRADAR_LOG_SOURCES": '[{"name": "hdfs", "path": "/x.log", "format": "loghub:HDFS"}]'}
    cfg = load_config(None, environ=env)
    assert [s.name for s in cfg.log_sources] == ["hdfs"]


def test_invalid_value_names_field_and_env_var():
    with pytest.raises(ConfigError) as err:
        load_config(None, environ={"OPSRADAR_SPARK__SHUFFLE_PARTITIONS": "zero"})
    msg = str(err.value)
    assert "spark.shuffle_partitions" in msg and "OPSRADAR_SPARK__SHUFFLE_PARTITIONS" in msg and "environment" in msg


@pytest.mark.parametrize("size", ["0", "17"])
def test_metric_ensemble_size_out_of_bounds_is_rejected(size):
    with pytest.raises(ConfigError) as err:
        load_config(None, environ={"OPSRADAR_METRICS__ENSEMBLE_SIZE": size})
    assert "metrics.ensemble_size" in str(err.value) and "OPSRADAR_METRICS__ENSEMBLE_SIZE" in str(err.value)
    assert load_config(None, environ={}).metrics.ensemble_size == 3


@pytest.mark.parametrize("fraction", ["-0.1", "0.9"])
def test_metric_calibration_fraction_out_of_bounds_is_rejected(fraction):
    with pytest.raises(ConfigError) as err:
        load_config(None, environ={"OPSRADAR_METRICS__CALIBRATION_FRACTION": fraction})
    assert "metrics.calibration_fraction" in str(err.value)
    assert load_config(None, environ={"OPSRADAR_METRICS__CALIBRATION_FRACTION": "0"}).metrics.calibration_fraction == 0.0


def test_unknown_key_and_bad_toml_are_clear(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[storage]\nrooot = 'x'\n")
    with pytest.raises(ConfigError, match="storage.rooot"):
        load_config(bad, environ={})
    broken = tmp_path / "broken.toml"
    broken.write_text("[storage\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(broken, environ={})
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml", environ={})


def test_duplicate_source_names_rejected():
    src = {"name": "a", "path": "/x", "format": "loghub:HDFS"}
    with pytest.raises(ConfigError, match="duplicate log source names: a"):
        OpsRadarConfig.from_dict({"log_sources": [src, src]})


def test_secrets_masked_in_dict_and_round_trip():
    cfg = load_config(None, environ={"OPSRADAR_ES__PASSWORD": "hunter2", "OPSRADAR_ES__USERNAME": "u"})
    dumped = cfg.to_dict()
    assert "hunter2" not in str(dumped) and "hunter2" not in repr(cfg)
    assert cfg.es.password.get_secret_value() == "hunter2"
    assert OpsRadarConfig.from_dict(dumped | {"es": dumped["es"] | {"password": None}}).spark == cfg.spark


@pytest.mark.parametrize("fractions", ["[0.1]", "[0.6, 0.4]", "[1.0]"])
def test_nab_retrain_fractions_must_increase_after_the_probationary_period(fractions):
    with pytest.raises(ConfigError) as err:
        load_config(None, environ={"OPSRADAR_METRICS__NAB_RETRAIN_AT": fractions})
    assert "metrics.nab_retrain_at" in str(err.value) and "increasing fractions" in str(err.value)
    assert load_config(None, environ={"OPSRADAR_METRICS__NAB_RETRAIN_AT": "[]"}).metrics.nab_retrain_at == []
