"""Pipeline-run documents: one per stage and interval, for the pipeline-health dashboard and rules.

`record_run()` is what an Airflow callback or a stage calls; the row follows
schemas/arrow.py PIPELINE_RUN (dag_id, stage, interval_start/end, status, counts, ...).
The `_id` is fixed per (dag, stage, interval), so the latest attempt replaces earlier ones.
"""

from __future__ import annotations

from typing import Any

from elasticsearch import Elasticsearch

from opsradar.config import OpsRadarConfig
from opsradar.es.mapper import run_document
from opsradar.es.setup import alias_name, install


def record_run(cfg: OpsRadarConfig, row: dict[str, Any], es: Elasticsearch | None = None, ensure_setup: bool = True) -> str:
    """Index one PIPELINE_RUN row now (refreshed, so dashboards and rules see it); returns its `_id`."""
    from opsradar.es.client import connect
    from opsradar.es.credentials import es_config

    es_cfg = es_config(cfg)
    es = es or connect(es_cfg)
    if ensure_setup:
        install(es, es_cfg.index_prefix, families=("pipeline_run",))
    doc = run_document(row)
    es.index(index=alias_name(es_cfg.index_prefix, "pipeline_run"), id=doc.id, document=doc.source, refresh=True)
    return doc.id
