"""Install index templates from schemas/elasticsearch idempotently."""

from __future__ import annotations

import json

from elasticsearch import Elasticsearch

from opsradar.schemas import schema_path


def load_template(name: str, prefix: str) -> dict:
    text = schema_path("elasticsearch", f"{name}.index-template.json").read_text(encoding="utf-8")
    return json.loads(text.replace("{prefix}", prefix))


def install_template(es: Elasticsearch, name: str, prefix: str) -> bool:
    """PUT the template only when it differs; returns True when it changed."""
    body = load_template(name, prefix)
    template_name = f"{prefix}-{name}"
    if es.indices.exists_index_template(name=template_name):
        current = es.indices.get_index_template(name=template_name)["index_templates"][0]["index_template"]
        if _same(current, body):
            return False
    es.indices.put_index_template(name=template_name, **body)
    return True


def _same(current: dict, wanted: dict) -> bool:
    # ES echoes settings as strings under "index"; compare the parts we own.
    norm = lambda t: json.dumps({k: t.get(k) for k in ("index_patterns", "priority", "_meta")}, sort_keys=True)  # noqa: E731
    return norm(current) == norm(wanted) and current.get("template", {}).get("mappings") == wanted["template"]["mappings"]
