"""Install OpsRadar's result indices: ILM policy, component + composable index templates, write aliases.

Everything is a file under schemas/elasticsearch (`{prefix}` is replaced by es.index_prefix).
`install()` is idempotent: each object is PUT only when it differs from what the cluster holds,
and the report says created / updated / unchanged per object. The node's modules decide the
variant: without ILM (`x-pack-ilm`, absent from the integ-test build) the policy and the
`index.lifecycle.*` settings are left out; everything else is the production definition.
"""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError

from opsradar.schemas import schema_path

log = logging.getLogger(__name__)

COMPONENTS = ("settings", "ecs-base", "model", "anomalies", "forecasts", "capacity", "runs")
INDEX_TEMPLATES = ("anomalies", "forecasts", "capacity-plans", "pipeline-runs")
POLICY = "results"

# result family -> (write alias suffix, index template); the alias is `{prefix}-{suffix}`.
FAMILIES: dict[str, tuple[str, str]] = {
    "anomaly.log": ("anomalies-logs", "anomalies"),
    "anomaly.metric": ("anomalies-metrics", "anomalies"),
    "forecast": ("forecasts", "forecasts"),
    "capacity_plan": ("capacity-plans", "capacity-plans"),
    "pipeline_run": ("pipeline-runs", "pipeline-runs"),
}


class MappingConflictError(RuntimeError):
    """An existing index maps a field differently from the templates; names the field(s)."""


class SetupError(RuntimeError):
    pass


@dataclass(frozen=True)
class PolicyOptions:
    rollover_max_primary_shard_size: str = "25gb"
    rollover_max_age: str = "7d"
    warm_after: str = "7d"
    retention_days: int = 90


@dataclass
class SetupReport:
    ilm: bool
    actions: dict[str, str] = field(default_factory=dict)  # object -> created | updated | unchanged | skipped

    @property
    def changed(self) -> bool:
        return any(a in ("created", "updated") for a in self.actions.values())

    def to_dict(self) -> dict[str, Any]:
        return {"ilm": self.ilm, "changed": self.changed, "actions": dict(sorted(self.actions.items()))}


def alias_name(prefix: str, family: str) -> str:
    return f"{prefix}-{FAMILIES[family][0]}"


def _load(relative: str, prefix: str, extra: dict[str, str] | None = None) -> dict:
    text = schema_path("elasticsearch", relative).read_text(encoding="utf-8")
    for key, value in {"prefix": prefix, **(extra or {})}.items():
        text = text.replace("{" + key + "}", value)
    return json.loads(text)


def load_component(name: str, prefix: str) -> dict:
    return _load(f"component/{name}.json", prefix)


def load_index_template(name: str, prefix: str) -> dict:
    return _load(f"index/{name}.json", prefix)


def load_policy(prefix: str, options: PolicyOptions = PolicyOptions()) -> dict:
    return _load("ilm/results.policy.json", prefix, {
        "rollover_max_primary_shard_size": options.rollover_max_primary_shard_size,
        "rollover_max_age": options.rollover_max_age,
        "warm_after": options.warm_after,
        "retention": f"{options.retention_days}d",
    })


def node_modules(es: Elasticsearch) -> set[str]:
    """Module and plugin names of the nodes (the integ-test build lacks x-pack-ilm and others)."""
    resp = es.nodes.info(node_id="_all", metric="plugins")
    names: set[str] = set()
    for node in resp["nodes"].values():
        names |= {m["name"] for m in node.get("modules", [])} | {p["name"] for p in node.get("plugins", [])}
    return names


def has_ilm(es: Elasticsearch) -> bool:
    return "x-pack-ilm" in node_modules(es)


def _without_lifecycle(component: dict) -> dict:
    body = copy.deepcopy(component)
    settings = body.get("template", {}).get("settings", {})
    settings.get("index", {}).pop("lifecycle", None)
    for key in [k for k in settings if k.startswith("index.lifecycle")]:
        settings.pop(key)
    return body


def composed_mappings(prefix: str, index_template: str) -> dict:
    """The mappings an index created from `index_template` gets (components merged in order)."""
    merged: dict = {"properties": {}}
    for comp in load_index_template(index_template, prefix)["composed_of"]:
        mappings = load_component(comp.removeprefix(f"{prefix}-"), prefix).get("template", {}).get("mappings", {})
        _merge_mappings(merged, mappings)
    return merged


def _merge_mappings(into: dict, add: dict) -> None:
    for key, value in add.items():
        if key == "dynamic_templates":
            into.setdefault(key, []).extend(value)
        elif isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge_mappings(into[key], value)
        else:
            into[key] = copy.deepcopy(value)


def flatten_fields(mappings: dict, path: str = "") -> dict[str, str]:
    """{'opsradar.score': 'double', ...} for every leaf field (object fields are skipped)."""
    out: dict[str, str] = {}
    for name, spec in mappings.get("properties", {}).items():
        full = f"{path}{name}"
        if "properties" in spec:
            out.update(flatten_fields(spec, f"{full}."))
        if spec.get("type", "object") not in ("object", "nested") or "properties" not in spec:
            out[full] = spec.get("type", "object")
        for sub, sub_spec in spec.get("fields", {}).items():
            out[f"{full}.{sub}"] = sub_spec.get("type", "object")
    return out


def _norm(value: Any) -> Any:
    """ES echoes settings as strings and flattens `index.*`: compare on one canonical form."""
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_norm(v) for v in value]
    if isinstance(value, bool):
        return str(value).lower()
    return str(value) if value is not None else None


def _flat_settings(settings: dict, path: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in settings.items():
        full = f"{path}{key}"
        if isinstance(value, dict):
            out.update(_flat_settings(value, f"{full}."))
        else:
            out[full if full.startswith("index.") else f"index.{full}"] = _norm(value)
    return out


def _same_template(current: dict, wanted: dict) -> bool:
    cur_t, want_t = current.get("template", {}), wanted.get("template", {})
    return (_norm({k: current.get(k) for k in ("index_patterns", "priority", "composed_of", "_meta")})
            == _norm({k: wanted.get(k) for k in ("index_patterns", "priority", "composed_of", "_meta")})
            and _flat_settings(cur_t.get("settings", {})) == _flat_settings(want_t.get("settings", {}))
            and _norm(cur_t.get("mappings", {})) == _norm(want_t.get("mappings", {})))


def install_policy(es: Elasticsearch, prefix: str, options: PolicyOptions) -> str:
    name, body = f"{prefix}-{POLICY}", load_policy(prefix, options)
    try:
        current = es.ilm.get_lifecycle(name=name)[name]["policy"]
    except NotFoundError:
        current = None
    if current is not None and _norm({k: current.get(k) for k in ("phases", "_meta")}) == _norm(body["policy"]):
        return "unchanged"
    es.ilm.put_lifecycle(name=name, policy=body["policy"])
    return "updated" if current is not None else "created"


def install_component(es: Elasticsearch, prefix: str, component: str, ilm: bool) -> str:
    name, body = f"{prefix}-{component}", load_component(component, prefix)
    if not ilm:
        body = _without_lifecycle(body)
    try:
        current = es.cluster.get_component_template(name=name)["component_templates"][0]["component_template"]
    except NotFoundError:
        current = None
    if current is not None and _same_template(current, body):
        return "unchanged"
    es.cluster.put_component_template(name=name, **body)
    return "updated" if current is not None else "created"


def install_index_template(es: Elasticsearch, prefix: str, template: str) -> str:
    name, body = f"{prefix}-{template}", load_index_template(template, prefix)
    try:
        current = es.indices.get_index_template(name=name)["index_templates"][0]["index_template"]
    except NotFoundError:
        current = None
    if current is not None and _same_template(current, body):
        return "unchanged"
    es.indices.put_index_template(name=name, **body)
    return "updated" if current is not None else "created"


def bootstrap_alias(es: Elasticsearch, prefix: str, family: str, ilm: bool) -> str:
    """Create `{alias}-000001` as the alias's write index unless the alias already exists."""
    alias = alias_name(prefix, family)
    if es.indices.exists_alias(name=alias):
        check_mapping_conflicts(es, prefix, family)
        return "unchanged"
    if es.indices.exists(index=alias):
        raise SetupError(f"{alias} is a concrete index, not an alias (something wrote before `opsradar es setup`); "
                         f"reindex it into {alias}-000001 and delete it, then run setup again")
    settings = {"index.lifecycle.rollover_alias": alias} if ilm else {}
    es.indices.create(index=f"{alias}-000001", aliases={alias: {"is_write_index": True}}, settings=settings)
    check_mapping_conflicts(es, prefix, family)
    return "created"


def check_mapping_conflicts(es: Elasticsearch, prefix: str, family: str) -> None:
    """Raise naming each field whose type in a backing index differs from the templates."""
    alias = alias_name(prefix, family)
    wanted = flatten_fields(composed_mappings(prefix, FAMILIES[family][1]))
    problems = []
    for index, body in sorted(es.indices.get_mapping(index=alias).items()):
        actual = flatten_fields(body["mappings"])
        for name in sorted(wanted.keys() & actual.keys()):
            if wanted[name] != actual[name]:
                problems.append(f"field [{name}] is [{actual[name]}] in index {index} but [{wanted[name]}] in the templates")
    if problems:
        raise MappingConflictError(f"mapping conflict for {alias}: " + "; ".join(problems)
                                   + ". Reindex into a new index (or roll the alias over) after fixing the mapping.")


def install(es: Elasticsearch, prefix: str, options: PolicyOptions = PolicyOptions(),
            families: tuple[str, ...] = tuple(FAMILIES)) -> SetupReport:
    """Install (or verify) everything the result indices need; safe to run any number of times."""
    ilm = has_ilm(es)
    report = SetupReport(ilm=ilm)
    if ilm:
        report.actions[f"ilm/{prefix}-{POLICY}"] = install_policy(es, prefix, options)
    else:
        report.actions[f"ilm/{prefix}-{POLICY}"] = "skipped"
        log.info("node has no x-pack-ilm module: installing templates without the ILM policy and index.lifecycle settings")
    for comp in COMPONENTS:
        report.actions[f"component/{prefix}-{comp}"] = install_component(es, prefix, comp, ilm)
    for tmpl in INDEX_TEMPLATES:
        report.actions[f"index_template/{prefix}-{tmpl}"] = install_index_template(es, prefix, tmpl)
    for family in families:
        report.actions[f"alias/{alias_name(prefix, family)}"] = bootstrap_alias(es, prefix, family, ilm)
    return report
