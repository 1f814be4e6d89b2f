"""NAB files the detector was never tuned on (2026-12-07; docs/metrics.md).

    .venv/bin/python scripts/experiments/nab_heldout.py HELDOUT_ROOT SEED [SEED ...]

HELDOUT_ROOT is a NAB-layout folder (data/, labels/combined_windows.json, config/) holding NAB
files outside the 4 dev files, plus results/numenta/ with HTM's published per-file scores for
them. Per seed: `opsradar eval nab` on the dev files (their tuned thresholds), then on the
held-out files twice: thresholds tuned there (NAB's own protocol, as every published score is)
and the dev thresholds fixed (nothing at all tuned on held-out data).
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

DEV = Path(__file__).resolve().parents[2].parent / "shared/data/nab"


def eval_nab(root: Path, seed: int, *extra: str) -> dict:
    env = {**os.environ, "OPSRADAR_METRICS__SEED": str(seed)}
    out = subprocess.run([".venv/bin/opsradar", "eval", "nab", "--nab-root", str(root), "--json", *extra],
                         env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out[out.index("{"):])


def main(heldout: Path, seeds: list[int]) -> None:
    rows = []
    for seed in seeds:
        dev = eval_nab(DEV, seed)
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump({p: r["threshold"] for p, r in dev["profiles"].items()}, f)
        tuned = eval_nab(heldout, seed, "--compare", str(heldout / "results/numenta"))
        fixed = eval_nab(heldout, seed, "--thresholds", f.name)
        os.unlink(f.name)
        rows.append({"seed": seed, "files": tuned["files"], "dev": dev["scores"], "heldout_tuned": tuned["scores"],
                     "heldout_dev_thresholds": fixed["scores"],
                     "htm_published": {p: round(r["normalized_score"], 2) for p, r in tuned["published"].items()},
                     "per_file_standard": {x["file"]: round(x["score"], 3) for x in tuned["profiles"]["standard"]["files"]}})
        print(json.dumps(rows[-1]), flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), [int(s) for s in sys.argv[2:]])
