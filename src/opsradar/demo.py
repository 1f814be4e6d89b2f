"""`opsradar demo`: sample logs -> DAG run -> Elasticsearch -> printed search.

Uses the Loghub samples in the shared dev data (`../shared/data` beside the repo, or
$OPSRADAR_DATA), a lake under ./var/demo, and the local Elasticsearch node.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

DEMO_SYSTEMS = {"HDFS": "hdfs", "BGL": "bgl", "Hadoop": "hadoop", "Spark": "spark", "Zookeeper": "zookeeper", "OpenSSH": "sshd"}
DEMO_DAY_END = datetime(2008, 11, 11, tzinfo=timezone.utc)  # the run covers 2008-11-10 (HDFS sample)


def data_dir() -> Path:
    if os.environ.get("OPSRADAR_DATA"):
        return Path(os.environ["OPSRADAR_DATA"])
    return Path(__file__).resolve().parents[3] / "shared" / "data"


def write_demo_config(workdir: Path, es_url: str) -> Path:
    loghub = data_dir() / "loghub"
    if not loghub.is_dir():
        raise SystemExit(f"sample data not found at {loghub}: set OPSRADAR_DATA to the shared data folder")
    sources = "".join(
        f'\n[[log_sources]]\nname = "{name}"\npath = "{loghub / name / f"{name}_2k.log"}"\nformat = "loghub:{name}"\nservice = "{svc}"\n'
        for name, svc in DEMO_SYSTEMS.items()
    )
    path = workdir / "opsradar.toml"
    path.write_text(f'[storage]\nroot = "{workdir / "lake"}"\n\n[es]\nurl = "{es_url}"\nindex_prefix = "opsradar-demo"\n{sources}')
    return path
