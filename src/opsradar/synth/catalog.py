"""The synthetic estate: services, their hosts, their normal log templates and metric baselines.

Templates use `{field}` placeholders filled by `FIELDS` (variables such as ids, IPs,
durations); `{ms}` is a request/job duration drawn around the host's current latency,
so latency incidents show in the logs as well as in the metrics.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Template:
    level: str
    component: str
    text: str
    weight: float = 1.0


@dataclass(frozen=True)
class Service:
    name: str
    hosts: int
    lines_per_min: float  # all hosts together, at the daily peak
    rps: float  # requests (or jobs) per second per host at the daily peak
    latency_ms: float  # typical p95 latency
    cpu_idle_pct: float  # CPU at zero load
    cpu_peak_pct: float  # CPU at the daily peak
    mem_pct: float  # steady-state memory use
    templates: tuple[Template, ...] = field(default_factory=tuple)

    def host_names(self) -> list[str]:
        return [f"{self.name}-{i}" for i in range(1, self.hosts + 1)]

    def errors(self) -> tuple[Template, ...]:
        return tuple(t for t in self.templates if t.level == "ERROR")


T = Template
SERVICES: tuple[Service, ...] = (
    Service("api", hosts=2, lines_per_min=30, rps=180, latency_ms=120, cpu_idle_pct=6, cpu_peak_pct=55, mem_pct=48, templates=(
        T("INFO", "http.server", "GET /api/v1/orders/{id} 200 {ms}ms bytes={bytes} req_id={req}", 30),
        T("INFO", "http.server", "POST /api/v1/orders 201 {ms}ms bytes={bytes} req_id={req}", 10),
        T("INFO", "http.server", "GET /api/v1/users/{id}/profile 200 {ms}ms bytes={bytes} req_id={req}", 18),
        T("INFO", "http.server", "GET /healthz 200 1ms", 8),
        T("INFO", "router", "cache hit ratio {pct}% over last 60s", 2),
        T("WARN", "http.server", "GET /api/v1/search 429 rate limited client={ip} req_id={req}", 1.5),
        T("WARN", "client.payments", "retrying POST https://payments.internal/charge after {ms}ms: 503 Service Unavailable", 0.8),
        T("ERROR", "http.server", "POST /api/v1/payments 502 upstream error: connection reset by peer (upstream=payments-{small}:8443) req_id={req}", 0.4),
        T("ERROR", "client.auth", "token validation failed: upstream auth-1:9000 timed out after 2000ms req_id={req}", 0.2),
    )),
    Service("auth", hosts=1, lines_per_min=12, rps=60, latency_ms=60, cpu_idle_pct=4, cpu_peak_pct=35, mem_pct=40, templates=(
        T("INFO", "token.issuer", "issued access token for user={user} client={client} ttl=3600s", 20),
        T("INFO", "session", "session {req} refreshed for user={user}", 12),
        T("INFO", "login", "user={user} logged in from {ip} mfa={mfa}", 6),
        T("WARN", "login", "failed login for user={user} from {ip}: invalid password (attempt {small}/5)", 1.2),
        T("ERROR", "ldap", "LDAP bind failed for cn=svc-auth,ou=services: timeout after {ms}ms", 0.25),
        T("ERROR", "token.issuer", "signing key kid={hex} not found in keyring", 0.1),
    )),
    Service("db", hosts=1, lines_per_min=10, rps=400, latency_ms=12, cpu_idle_pct=8, cpu_peak_pct=60, mem_pct=70, templates=(
        T("INFO", "postgres.query", "duration: {ms} ms statement: SELECT * FROM orders WHERE id = $1", 20),
        T("INFO", "postgres.query", "duration: {ms} ms statement: UPDATE users SET last_seen = now() WHERE id = $1", 8),
        T("INFO", "checkpointer", "checkpoint complete: wrote {count} buffers ({pct}%); write={sec} s, sync={sec} s", 1.5),
        T("INFO", "autovacuum", "automatic vacuum of table \"app.public.{table}\": index scans: 1, pages removed {count}", 2),
        T("WARN", "postgres", "temporary file: path \"base/pgsql_tmp/pgsql_tmp{id}\", size {bytes}", 0.8),
        T("ERROR", "postgres", "could not serialize access due to concurrent update (xid {id})", 0.2),
        T("ERROR", "postgres", "canceling statement due to statement timeout (pid {id})", 0.1),
    )),
    Service("cache", hosts=1, lines_per_min=5, rps=1500, latency_ms=1.5, cpu_idle_pct=3, cpu_peak_pct=25, mem_pct=62, templates=(
        T("INFO", "redis.server", "DB 0: {count} keys ({small} volatile) in {count} slots HT.", 6),
        T("INFO", "redis.evict", "evicted {count} keys (maxmemory-policy allkeys-lru)", 3),
        T("INFO", "redis.net", "accepted connection from {ip}:{port}", 5),
        T("WARN", "redis.net", "client {ip}:{port} closed connection: idle timeout", 1),
        T("ERROR", "redis.persist", "background save failed: short write on rdb temp file ({bytes} bytes)", 0.1),
    )),
    Service("worker", hosts=2, lines_per_min=12, rps=15, latency_ms=900, cpu_idle_pct=5, cpu_peak_pct=65, mem_pct=35, templates=(
        T("INFO", "job.runner", "job {id} type={job} started attempt={small}", 12),
        T("INFO", "job.runner", "job {id} type={job} finished in {ms}ms", 12),
        T("INFO", "job.queue", "queue default depth={count} consumers={small}", 2),
        T("WARN", "job.retry", "job {id} type={job} failed, retrying in {small}s: timeout contacting smtp.internal:587", 0.8),
        T("ERROR", "job.runner", "job {id} type={job} failed permanently after 5 attempts: upstream returned 500", 0.25),
    )),
)
SERVICE_BY_NAME = {s.name: s for s in SERVICES}

# Never seen in normal operation: each `new_exception` incident uses one of these.
NEW_EXCEPTIONS: tuple[Template, ...] = (
    T("ERROR", "app.unhandled", "Unhandled KeyError: 'tenant_id' in billing/invoice.py:212 (handler=render_invoice)"),
    T("ERROR", "app.unhandled", "NullPointerException at com.shop.cart.CartService.merge(CartService.java:88)"),
    T("ERROR", "app.unhandled", "panic: runtime error: index out of range [3] with length 3 (goroutine {small})"),
    T("ERROR", "app.unhandled", "TLS handshake failed: x509: certificate has expired (peer {ip}:443)"),
    T("ERROR", "app.unhandled", "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff in position {small} (importer)"),
    T("ERROR", "app.unhandled", "deadlock detected: process {id} waits for ShareLock on transaction {id}"),
    T("ERROR", "app.unhandled", "OutOfMemoryError: unable to create new native thread (threads={count})"),
    T("ERROR", "app.unhandled", "schema mismatch: column \"discount_code\" of relation \"orders\" does not exist"),
)

# Incident companions (never emitted in normal operation either).
SLOW_REQUEST = T("WARN", "http.slow", "slow request: {ms}ms exceeds SLO of {slo}ms req_id={req}")
HEAP_WARNING = T("WARN", "runtime.gc", "heap usage at {pct}% of limit after full GC (reclaimed {bytes} bytes)")
OOM_KILLED = T("ERROR", "kernel.oom", "Out of memory: killed process {pid} (rss {bytes} bytes); supervisor restarting")
RESTARTED = T("INFO", "supervisor", "process started pid={pid}")
SATURATED = T("WARN", "runtime.pool", "worker pool saturated: {count} tasks queued, all {small} threads busy")

_JOBS = ("send_email", "generate_invoice", "resize_image", "sync_inventory", "export_report")
_TABLES = ("orders", "users", "sessions", "line_items", "payments")
_CLIENTS = ("web", "ios", "android", "partner-api")


def _hex(rng: random.Random) -> str:
    return f"{rng.getrandbits(64):016x}"


# Variable generators; `ctx` holds per-line state (latency in ms, pid, SLO).
FIELDS = {
    "id": lambda rng, ctx: str(rng.randint(1000, 9_999_999)),
    "req": lambda rng, ctx: _hex(rng),
    "hex": lambda rng, ctx: _hex(rng)[:8],
    "bytes": lambda rng, ctx: str(rng.randint(200, 2_000_000)),
    "ms": lambda rng, ctx: str(max(1, round(ctx["latency_ms"] * rng.lognormvariate(-0.35, 0.3)))),
    "pct": lambda rng, ctx: str(ctx.get("pct", rng.randint(40, 99))),
    "ip": lambda rng, ctx: f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
    "port": lambda rng, ctx: str(rng.randint(32768, 60999)),
    "user": lambda rng, ctx: f"u{rng.randint(1, 250_000)}",
    "client": lambda rng, ctx: rng.choice(_CLIENTS),
    "mfa": lambda rng, ctx: rng.choice(("true", "false")),
    "small": lambda rng, ctx: str(rng.randint(1, 5)),
    "count": lambda rng, ctx: str(rng.randint(10, 50_000)),
    "sec": lambda rng, ctx: f"{rng.uniform(0.001, 30):.3f}",
    "table": lambda rng, ctx: rng.choice(_TABLES),
    "job": lambda rng, ctx: rng.choice(_JOBS),
    "pid": lambda rng, ctx: str(ctx["pid"]),
    "slo": lambda rng, ctx: str(ctx["slo_ms"]),
}


def render(template: Template, rng: random.Random, ctx: dict) -> str:
    """Fill a template's placeholders (each `{field}` drawn independently)."""
    parts = template.text.split("{")
    out = [parts[0]]
    for part in parts[1:]:
        name, rest = part.split("}", 1)
        out.append(FIELDS[name](rng, ctx))
        out.append(rest)
    return "".join(out)
