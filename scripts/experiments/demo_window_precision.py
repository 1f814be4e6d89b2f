"""Metric windows the demo scored >= a threshold, inside vs outside the injected incidents.

Usage: .venv/bin/python scripts/experiments/demo_window_precision.py [DEMO_DIR] [THRESHOLD] [SLACK_MINUTES]
(defaults: var/demo 80 30). A window counts as inside when it starts on an incident's host
between 5 min before the incident and SLACK_MINUTES after its end.
"""

import json
import sys
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pyarrow.dataset as ds

demo = Path(sys.argv[1] if len(sys.argv) > 1 else "var/demo")
threshold = float(sys.argv[2]) if len(sys.argv) > 2 else 80.0
slack = timedelta(minutes=float(sys.argv[3]) if len(sys.argv) > 3 else 30)

truth = json.loads((demo / "data" / "ground_truth.json").read_text())
incidents = [(i["host"], pd.Timestamp(i["start"]) - timedelta(minutes=5), pd.Timestamp(i["end"]) + slack) for i in truth["incidents"]]
scores = ds.dataset(demo / "lake" / "scores" / "metrics", format="parquet", partitioning="hive")
hot = scores.to_table(columns=["window_start", "host", "score_normalized"]).to_pandas().query("score_normalized >= @threshold")
inside = hot.apply(lambda r: any(h == r.host and s <= r.window_start < e for h, s, e in incidents), axis=1)
print(json.dumps({"threshold": threshold, "windows": len(hot), "inside": int(inside.sum()), "outside": int((~inside).sum())}))
