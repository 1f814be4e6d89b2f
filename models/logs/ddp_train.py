"""Multi-process training under torchrun (DDP: nccl on GPUs, gloo on CPU).

    torchrun --nproc_per_node 2 -m opsradar.models.logs.ddp_train --sessions sessions.jsonl --out model/
    torchrun --nproc_per_node 4 -m opsradar.models.logs.ddp_train --config opsradar.toml --start ... --end ...

With --sessions (JSON lines: id, templates, label) rank 0 saves the model folder to --out;
with --config the pipeline's train_logs stage runs and rank 0 registers the model. Every
rank writes `rank<N>.json` (a parameter checksum) into --out so runs can be checked.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import torch
import torch.distributed as dist


def _checksum(module: torch.nn.Module) -> float:
    return float(sum(p.detach().double().sum() for p in module.parameters()))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", help="JSON lines with id, templates, label")
    ap.add_argument("--config", help="OpsRadar TOML config (pipeline train_logs)")
    ap.add_argument("--start")
    ap.add_argument("--end")
    ap.add_argument("--out", required=True, help="Output folder (model + per-rank checksums)")
    ap.add_argument("--mode", default="unsupervised", choices=["supervised", "unsupervised"])
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--encoder-layers", type=int, default=None)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--device", default="auto", help="auto | cpu | cuda")
    args = ap.parse_args(argv)

    use_cuda = args.device != "cpu" and torch.cuda.is_available()
    dist.init_process_group("nccl" if use_cuda else "gloo")
    rank, local_rank = dist.get_rank(), int(os.environ.get("LOCAL_RANK", 0))
    device = f"cuda:{local_rank}" if use_cuda else "cpu"
    if use_cuda:
        torch.cuda.set_device(local_rank)
    else:
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // dist.get_world_size()))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        if args.config:
            from opsradar.cli import _utc
            from opsradar.config import load_config
            from opsradar.layout import Interval
            from opsradar.pipeline.score_logs import train_logs

            cfg = load_config(args.config)
            cfg.log_model.device = device
            result = train_logs(cfg, Interval(_utc(args.start), _utc(args.end)))
            (out / f"rank{rank}.json").write_text(json.dumps(result.to_dict()))
        else:
            from opsradar.ids import template_id
            from opsradar.models.logs.estimator import LogAnomalyEstimator
            from opsradar.models.logs.settings import LogModelSettings

            rows = [json.loads(line) for line in Path(args.sessions).read_text(encoding="utf-8").splitlines() if line.strip()]
            texts = {template_id(t): t for r in rows for t in r["templates"]}
            windows = [[template_id(t) for t in r["templates"]] for r in rows]
            settings = LogModelSettings(mode=args.mode, epochs=args.epochs, encoder_layers=args.encoder_layers, seed=args.seed)
            predictor = LogAnomalyEstimator(settings, device=device).fit(windows, texts, [int(r["label"]) for r in rows])
            (out / f"rank{rank}.json").write_text(json.dumps({
                "rank": rank, "world_size": dist.get_world_size(), "checksum": _checksum(predictor.net),
                "n_train": predictor.info["n_train"], "epochs_run": predictor.info["metrics"]["epochs_run"]}))
            if rank == 0:
                predictor.save(out / "model")
        dist.barrier()
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
