"""Validation results in the `validations` layer, one JSON file per suite, dataset and interval.

    {root}/validations/{suite}/{dataset}/dt=YYYY-MM-DD/hour=HH/{start}_{end}.json

Keyed on the interval, so re-running an interval overwrites its result; written to the
staging area first and moved into place.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from opsradar.layout import Interval, Layout


def result_path(layout: Layout, suite: str, dataset: str, interval: Interval) -> str:
    folder = layout.partition_dir("validations", f"{suite}/{dataset}", interval.start)
    return f"{folder}/{interval.start:%Y%m%dT%H%M%SZ}_{interval.end:%Y%m%dT%H%M%SZ}.json"


def write_result(layout: Layout, path: str, doc: dict[str, Any]) -> str:
    staging = layout.new_staging_dir()
    try:
        layout.fs.makedirs(staging, exist_ok=True)
        tmp = f"{staging}/result.json"
        with layout.fs.open(tmp, "w") as fh:
            json.dump(doc, fh, indent=1, sort_keys=True, default=str)
        layout.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        layout.fs.mv(tmp, path)
    finally:
        layout.discard_staging(staging)
    return path


def read_result(layout: Layout, suite: str, dataset: str, interval: Interval) -> dict[str, Any] | None:
    path = result_path(layout, suite, dataset, interval)
    if not layout.fs.exists(path):
        return None
    with layout.fs.open(path, "r") as fh:
        return json.load(fh)


def publish_data_docs(layout: Layout, built: str) -> list[str]:
    """Copy a GX data-docs build into {root}/validations/_data_docs; returns the validation pages.

    GX's site builder drops pages its (in-memory) stores do not know, so each run builds
    into a temporary folder and only its pages are merged into the lake's site; static
    assets are copied once. GX's index.html lists a single run, so it is not copied.
    """
    site = f"{layout.root}/validations/_data_docs"
    pages = []
    for local in sorted(Path(built).rglob("*")):
        rel = local.relative_to(built).as_posix()
        if not local.is_file() or rel == "index.html" or (rel.startswith("static/") and layout.fs.exists(f"{site}/{rel}")):
            continue
        target = f"{site}/{rel}"
        layout.fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
        layout.fs.put_file(str(local), target)
        if rel.startswith("validations/"):
            pages.append(target)
    return pages
