"""Kibana objects as code: render schemas/kibana/*, send them through Kibana's HTTP APIs.

- saved-objects.ndjson (data views, saved searches, Lens visualizations, the dashboard) goes
  to `POST /api/saved_objects/_import?overwrite=true` (multipart, field `file`).
- rules/*.rule.json go to the alerting API: `POST /api/alerting/rule/{id}` creates,
  `PUT /api/alerting/rule/{id}` updates (the id is fixed, so importing twice is idempotent).
`{prefix}` in the files becomes es.index_prefix; rule thresholds come from the kibana section.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests

from opsradar.config import KibanaConfig
from opsradar.schemas import schema_path

SAVED_OBJECTS = "saved-objects.ndjson"
KQL_FIELD = re.compile(r"([A-Za-z0-9_@][A-Za-z0-9_@.]*)\s*:")


class KibanaError(RuntimeError):
    pass


def load_saved_objects(prefix: str) -> list[dict]:
    text = schema_path("kibana", SAVED_OBJECTS).read_text(encoding="utf-8")
    objects = []
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                objects.append(json.loads(line.replace("{prefix}", prefix)))
            except json.JSONDecodeError as err:
                raise KibanaError(f"schemas/kibana/{SAVED_OBJECTS} line {n}: {err}") from None
    return objects


def to_ndjson(objects: list[dict]) -> bytes:
    return "".join(json.dumps(o, separators=(",", ":")) + "\n" for o in objects).encode("utf-8")


def _fill(value: Any, values: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    if isinstance(value, str):
        whole = re.fullmatch(r"\{(\w+)\}", value)
        if whole and whole.group(1) in values and not isinstance(values[whole.group(1)], str):
            return values[whole.group(1)]  # a number placeholder stays a number
        return re.sub(r"\{(\w+)\}", lambda m: str(values.get(m.group(1), m.group(0))), value)
    return value


def load_rules(prefix: str, cfg: KibanaConfig = KibanaConfig()) -> list[dict]:
    """Rule bodies ready for the alerting API (esQuery serialised as Kibana wants it)."""
    rules = []
    for path in sorted(schema_path("kibana", "rules").glob("*.rule.json")):
        raw = json.loads(path.read_text(encoding="utf-8"))
        base = {"prefix": prefix, "threshold": cfg.anomaly_threshold, "quarantine_threshold": cfg.quarantine_spike_threshold,
                "service_suffix": "", "service_title": " (per service)"}
        if path.name == "anomaly-score.rule.json" and cfg.services:
            for service in cfg.services:
                rule = _fill(copy.deepcopy(raw), {**base, "service_suffix": "-" + re.sub(r"[^a-z0-9_-]+", "-", service.lower()),
                                                  "service_title": f" on {service}"})
                rule["params"]["esQuery"]["query"]["bool"]["filter"].append({"term": {"service.name": service}})
                rule["params"].update({"groupBy": "all"})
                for key in ("termField", "termSize"):
                    rule["params"].pop(key, None)
                rules.append(rule)
        else:
            rules.append(_fill(raw, base))
    for rule in rules:
        rule["params"]["esQuery"] = json.dumps(rule["params"]["esQuery"])
    return rules


# -- fields each object uses (checked against the real mappings in tests) ---------------------
def _query_fields(query: Any) -> Iterator[str]:
    if isinstance(query, dict):
        for key, value in query.items():
            if key in ("term", "terms", "range", "match", "match_phrase", "prefix", "wildcard") and isinstance(value, dict):
                yield from (k for k in value if k not in ("boost",))
            elif key == "exists" and isinstance(value, dict):
                yield value["field"]
            else:
                yield from _query_fields(value)
    elif isinstance(query, list):
        for item in query:
            yield from _query_fields(item)


def kql_fields(kql: str) -> set[str]:
    return set(KQL_FIELD.findall(kql or ""))


def referenced_fields(objects: list[dict], rules: list[dict]) -> dict[str, set[str]]:
    """{index pattern: fields} for every field a data view, search, Lens layer or rule uses."""
    patterns = {o["id"]: o["attributes"]["title"] for o in objects if o["type"] == "index-pattern"}
    out: dict[str, set[str]] = {p: set() for p in patterns.values()}
    for o in objects:
        attrs, refs = o["attributes"], {r["name"]: r["id"] for r in o.get("references", [])}
        if o["type"] == "index-pattern":
            out[attrs["title"]].add(attrs["timeFieldName"])
        elif o["type"] == "search":
            pattern = patterns[refs["kibanaSavedObjectMeta.searchSourceJSON.index"]]
            source = json.loads(attrs["kibanaSavedObjectMeta"]["searchSourceJSON"])
            out[pattern] |= set(attrs["columns"]) | {s[0] for s in attrs["sort"]} | kql_fields(source["query"]["query"])
        elif o["type"] == "lens":
            state = attrs["state"]
            for layer_id, layer in state["datasourceStates"]["formBased"]["layers"].items():
                pattern = patterns[refs[f"indexpattern-datasource-layer-{layer_id}"]]
                out[pattern] |= {c["sourceField"] for c in layer["columns"].values() if c.get("sourceField") != "___records___"}
                out[pattern] |= kql_fields(state["query"]["query"])
    for rule in rules:
        params = rule["params"]
        for pattern in params["index"]:
            fields = {params["timeField"], *_query_fields(json.loads(params["esQuery"]))}
            fields |= {params[k] for k in ("termField", "aggField") if params.get(k)}
            fields |= {s["searchPath"] for s in params.get("sourceFields", [])}
            out.setdefault(pattern, set()).update(fields)
    return out


# -- HTTP ----------------------------------------------------------------------------------------
@dataclass
class KibanaClient:
    cfg: KibanaConfig

    def __post_init__(self) -> None:
        if not self.cfg.url:
            raise KibanaError("kibana.url is not set (OPSRADAR_KIBANA__URL)")
        self.base = self.cfg.url.rstrip("/") + (f"/s/{self.cfg.space}" if self.cfg.space else "")
        self.session = requests.Session()
        self.session.headers.update({"kbn-xsrf": "opsradar", "Accept": "application/json"})
        if self.cfg.api_key is not None:
            self.session.headers["Authorization"] = f"ApiKey {self.cfg.api_key.get_secret_value()}"
        elif self.cfg.username and self.cfg.password is not None:
            self.session.auth = (self.cfg.username, self.cfg.password.get_secret_value())
        self.session.verify = self.cfg.ca_certs or self.cfg.verify_certs

    def _prepare(self, method: str, path: str, **kwargs: Any) -> requests.PreparedRequest:
        return self.session.prepare_request(requests.Request(method, self.base + path, **kwargs))

    def import_request(self, objects: list[dict]) -> requests.PreparedRequest:
        return self._prepare("POST", "/api/saved_objects/_import", params={"overwrite": "true"},
                             files={"file": ("opsradar.ndjson", to_ndjson(objects), "application/ndjson")})

    def rule_requests(self, rule: dict, exists: bool) -> requests.PreparedRequest:
        rule_id = rule["id"]
        body = {k: v for k, v in rule.items() if k != "id"}
        if exists:  # the update API takes no rule_type_id/consumer/enabled
            body = {k: v for k, v in body.items() if k in ("name", "tags", "schedule", "params", "actions", "notify_when", "throttle")}
            return self._prepare("PUT", f"/api/alerting/rule/{rule_id}", json=body)
        return self._prepare("POST", f"/api/alerting/rule/{rule_id}", json=body)

    def _send(self, request: requests.PreparedRequest, ok: tuple[int, ...] = (200,)) -> requests.Response:
        resp = self.session.send(request, timeout=60)
        if resp.status_code not in ok:
            raise KibanaError(f"{request.method} {request.path_url.split('?')[0]}: HTTP {resp.status_code}: {resp.text[:500]}")
        return resp

    def import_all(self, objects: list[dict], rules: list[dict]) -> dict[str, Any]:
        report: dict[str, Any] = {}
        body = self._send(self.import_request(objects)).json()
        if not body.get("success", False):
            raise KibanaError(f"saved objects import failed: {json.dumps(body.get('errors', body))[:1000]}")
        report["saved_objects"] = body.get("successCount", 0)
        report["rules"] = {}
        for rule in rules:
            exists = self._send(self._prepare("GET", f"/api/alerting/rule/{rule['id']}"), ok=(200, 404)).status_code == 200
            self._send(self.rule_requests(rule, exists))
            report["rules"][rule["id"]] = "updated" if exists else "created"
        return report
