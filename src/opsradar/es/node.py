"""A real single-node Elasticsearch for tests and the demo (`opsradar es start|stop|status`).

The server is Elastic's `integ-test-zip` build from Maven Central, fetched once with
`mvn dependency:copy` into a cache. Elasticsearch refuses to run as root, so under uid 0
the node runs as an unprivileged system user on directories that user owns.
"""

from __future__ import annotations

import base64
import json
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from opsradar.config import LocalNodeConfig

ARTIFACT = "org.elasticsearch.distribution.integ-test-zip:elasticsearch:{version}:zip"


class NodeError(RuntimeError):
    pass


def default_cache_dir() -> Path:
    # /root is not traversable by the unprivileged node user, so root caches under /var.
    if os.geteuid() == 0:
        return Path("/var/cache/opsradar/elasticsearch")
    return Path("~/.cache/opsradar/elasticsearch").expanduser()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_java_home(configured: str | None) -> str:
    candidates = [configured, os.environ.get("ES_JAVA_HOME"), os.environ.get("JAVA_HOME")]
    java = shutil.which("java")
    if java:
        candidates.append(str(Path(os.path.realpath(java)).parent.parent))
    candidates += [str(p) for p in sorted(Path("/usr/lib/jvm").glob("java-17-*"))]
    for home in filter(None, candidates):
        if (Path(home) / "bin" / "java").exists():
            return home
    raise NodeError("no Java found for Elasticsearch: set ES_JAVA_HOME or es.local.java_home (Java 17+)")


@dataclass
class NodeState:
    pid: int
    port: int
    home: str
    scheme: str = "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"


class LocalNode:
    """Manages one node whose state (pid, port, dirs) lives under `home`."""

    def __init__(self, cfg: LocalNodeConfig | None = None, home: str | Path | None = None) -> None:
        self.cfg = cfg or LocalNodeConfig()
        self.cache = Path(self.cfg.cache_dir).expanduser() if self.cfg.cache_dir else default_cache_dir()
        self.home = Path(home) if home else self.cache / "node"
        self.state_file = self.home / "state.json"
        self._auth: tuple[str, str] | None = None  # set by enable_security()
        self.ca_path: Path | None = None

    # -- distribution -------------------------------------------------------------
    @property
    def dist_dir(self) -> Path:
        return self.cache / f"elasticsearch-{self.cfg.version}"

    def ensure_distribution(self) -> Path:
        if (self.dist_dir / "bin" / "elasticsearch").exists():
            return self.dist_dir
        self.cache.mkdir(parents=True, exist_ok=True)
        zip_path = self.cache / f"elasticsearch-{self.cfg.version}.zip"
        if not zip_path.exists():
            if not shutil.which("mvn"):
                raise NodeError("Maven (mvn) is needed to fetch Elasticsearch; install it (apt-get install maven)")
            cmd = [
                "mvn", "-q", "-B", "dependency:copy",
                f"-Dartifact={ARTIFACT.format(version=self.cfg.version)}",
                f"-DoutputDirectory={self.cache}", "-Dmdep.stripVersion=false",
            ]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            found = list(self.cache.glob(f"elasticsearch-{self.cfg.version}*.zip"))
            if proc.returncode != 0 or not found:
                raise NodeError(f"mvn could not fetch Elasticsearch {self.cfg.version}:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
            found[0].rename(zip_path)
        staging = Path(tempfile.mkdtemp(dir=self.cache))
        with zipfile.ZipFile(zip_path) as zf:
            for info in zf.infolist():
                extracted = Path(zf.extract(info, staging))
                mode = (info.external_attr >> 16) & 0o777
                if mode:
                    extracted.chmod(mode | 0o444 | (0o111 if extracted.is_dir() else 0))
        (staging / f"elasticsearch-{self.cfg.version}").rename(self.dist_dir)
        staging.rmdir()
        return self.dist_dir

    # -- lifecycle ----------------------------------------------------------------
    def read_state(self) -> NodeState | None:
        if not self.state_file.exists():
            return None
        state = NodeState(**json.loads(self.state_file.read_text()))
        return state if _alive(state.pid) else None

    def start(self, timeout_s: float = 180.0, settings: dict[str, str] | None = None) -> NodeState:
        running = self.read_state()
        if running and self.healthy(running.url):
            return running
        dist = self.ensure_distribution()
        port = self.cfg.port or free_port()
        conf, data, logs, tmp = (self.home / d for d in ("config", "data", "logs", "tmp"))
        for d in (data, logs, tmp):
            d.mkdir(parents=True, exist_ok=True)
        if not conf.exists():
            shutil.copytree(dist / "config", conf)
        args = {
            "discovery.type": "single-node",
            "xpack.security.enabled": "false",
            "network.host": "127.0.0.1",
            "http.port": str(port),
            "transport.port": str(free_port()),
            "path.data": str(data),
            "path.logs": str(logs),
            "cluster.name": "opsradar-local",
            "cluster.routing.allocation.disk.threshold_enabled": "false",
            "action.destructive_requires_name": "false",
            **(settings or {}),
        }
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("JAVA_TOOL", "_JAVA"))},
            "ES_JAVA_HOME": find_java_home(self.cfg.java_home),
            "ES_JAVA_OPTS": f"-Xms{self.cfg.heap} -Xmx{self.cfg.heap}",
            "ES_PATH_CONF": str(conf),
            "ES_TMPDIR": str(tmp),
        }
        cmd = [str(dist / "bin" / "elasticsearch"), *(f"-E{k}={v}" for k, v in args.items())]
        if os.geteuid() == 0:
            cmd = self._drop_privileges(cmd)
        log = open(self.home / "stdout.log", "ab")
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        scheme = "https" if str(args.get("xpack.security.http.ssl.enabled")).lower() == "true" else "http"
        state = NodeState(pid=proc.pid, port=port, home=str(self.home), scheme=scheme)
        self.state_file.write_text(json.dumps(state.__dict__))
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise NodeError(f"Elasticsearch exited with {proc.returncode}; last output:\n{self._tail()}")
            if self.healthy(state.url):
                return state
            time.sleep(1.0)
        self.stop()
        raise NodeError(f"Elasticsearch not healthy after {timeout_s:.0f}s; last output:\n{self._tail()}")

    def _drop_privileges(self, cmd: list[str]) -> list[str]:
        user = self.cfg.run_user
        try:
            pwd.getpwnam(user)
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user], check=True)
        subprocess.run(["chown", "-R", f"{user}:", str(self.home)], check=True)
        # The node user must traverse every parent of its home and of the distribution.
        for path in {*self.home.parents, *self.dist_dir.parents}:
            if str(path) != "/" and path.exists() and not (path.stat().st_mode & 0o001):
                raise NodeError(f"{path} is not traversable by user {user}; choose es.local.cache_dir / a node home outside it")
        return ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--", *cmd]

    def enable_security(self, username: str, password: str) -> dict[str, str]:
        """TLS on HTTP (a CA + node cert from elasticsearch-certutil) and a file-realm superuser.

        Returns the settings to pass to start(); the CA is at `self.ca_path` for clients.
        The password goes to elasticsearch-users on its command line, so use it for test users only.
        """
        dist = self.ensure_distribution()
        conf, certs = self.home / "config", self.home / "config" / "certs"
        if not conf.exists():
            shutil.copytree(dist / "config", conf)
        env = {**os.environ, "ES_JAVA_HOME": find_java_home(self.cfg.java_home), "ES_PATH_CONF": str(conf)}

        def tool(name: str, *args: str) -> None:
            proc = subprocess.run([str(dist / "bin" / name), *args], env=env, capture_output=True, text=True)
            if proc.returncode != 0:
                raise NodeError(f"{name} failed ({proc.returncode}): {proc.stdout[-1000:]}{proc.stderr[-1000:]}".replace(password, "***"))

        if not (certs / "instance" / "instance.crt").exists():
            certs.mkdir(parents=True, exist_ok=True)
            tool("elasticsearch-certutil", "ca", "--pem", "--silent", "--out", str(certs / "ca.zip"))
            zipfile.ZipFile(certs / "ca.zip").extractall(certs)
            tool("elasticsearch-certutil", "cert", "--pem", "--silent", "--ca-cert", str(certs / "ca" / "ca.crt"),
                 "--ca-key", str(certs / "ca" / "ca.key"), "--ip", "127.0.0.1", "--dns", "localhost", "--out", str(certs / "node.zip"))
            zipfile.ZipFile(certs / "node.zip").extractall(certs)
        users = conf / "users"
        if not (users.exists() and any(line.startswith(f"{username}:") for line in users.read_text().splitlines())):
            tool("elasticsearch-users", "useradd", username, "-p", password, "-r", "superuser")
        self._auth, self.ca_path = (username, password), certs / "ca" / "ca.crt"
        return {
            "xpack.security.enabled": "true",
            "xpack.security.http.ssl.enabled": "true",
            "xpack.security.http.ssl.key": "certs/instance/instance.key",
            "xpack.security.http.ssl.certificate": "certs/instance/instance.crt",
            "xpack.security.http.ssl.certificate_authorities": "certs/ca/ca.crt",
        }

    def healthy(self, url: str) -> bool:
        request = urllib.request.Request(f"{url}/_cluster/health?wait_for_status=yellow&timeout=1s")
        context = ssl.create_default_context(cafile=str(self.ca_path)) if url.startswith("https") and self.ca_path else None
        if self._auth:
            token = base64.b64encode(f"{self._auth[0]}:{self._auth[1]}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(request, timeout=5, context=context) as r:
                return json.load(r).get("status") in ("green", "yellow")
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def stop(self, timeout_s: float = 60.0) -> bool:
        if not self.state_file.exists():
            return False
        state = NodeState(**json.loads(self.state_file.read_text()))
        stopped = _terminate_group(state.pid, timeout_s)
        self.state_file.unlink(missing_ok=True)
        return stopped

    def status(self) -> dict[str, object]:
        state = self.read_state()
        if state is None:
            return {"running": False, "home": str(self.home)}
        return {"running": True, "healthy": self.healthy(state.url), "url": state.url, "pid": state.pid, "home": str(self.home)}

    def _tail(self, n: int = 4000) -> str:
        out = self.home / "stdout.log"
        return out.read_text(errors="replace")[-n:] if out.exists() else "(no output)"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _terminate_group(pid: int, timeout_s: float) -> bool:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return True
        try:
            os.waitpid(pid, os.WNOHANG)  # reap if it is our child
        except ChildProcessError:
            pass
        time.sleep(0.5)
    os.killpg(pid, signal.SIGKILL)
    return True
