"""Training: windows of template ids (+ optional labels) -> LogAnomalyPredictor.

Works in one process or under torchrun / torch.distributed (DDP, gloo on CPU, nccl on
GPU): every rank sees the same validation data, trains on its shard of the batches,
and gradients are averaged, so all ranks end with the same weights.
"""

from __future__ import annotations

import copy
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from opsradar.models.logs.batching import length_batches, pad
from opsradar.models.logs.calibration import Calibrator, best_f1_threshold, prf, quantile_threshold
from opsradar.models.logs.encoder import TemplateEncoder
from opsradar.models.logs.network import PAD, WindowTransformer
from opsradar.models.logs.predictor import LogAnomalyPredictor
from opsradar.models.logs.runtime import choose_runtime
from opsradar.models.logs.settings import LogModelSettings

log = logging.getLogger(__name__)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class _TrainModule(nn.Module):
    """Encoder top layers + sequence model in one module, so DDP syncs both."""

    def __init__(self, encoder: TemplateEncoder, net: WindowTransformer):
        super().__init__()
        self.encoder, self.net = encoder, net

    def table(self, states: torch.Tensor, token_mask: torch.Tensor) -> torch.Tensor:
        emb = self.encoder.pooled(states, token_mask)
        return torch.cat([torch.zeros(1, emb.shape[1], dtype=emb.dtype, device=emb.device), emb])

    def forward(self, states: torch.Tensor, token_mask: torch.Tensor, ids: torch.Tensor, masked: torch.Tensor | None = None,
                table: torch.Tensor | None = None):
        return self.net(self.table(states, token_mask) if table is None else table, ids, masked)


@dataclass
class FitData:
    windows: list[list[str]]
    labels: list[int | None] | None = None


def split_validation(n: int, labels: Sequence[int | None] | None, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random split, stratified by label when labels exist."""
    rng = np.random.default_rng(seed)
    groups = [np.arange(n)] if labels is None else [np.array([i for i in range(n) if (labels[i] or 0) == c]) for c in (0, 1)]
    train, valid = [], []
    for g in groups:
        g = rng.permutation(g)
        k = int(round(len(g) * fraction)) if len(g) > 1 else 0
        valid += list(g[:k])
        train += list(g[k:])
    return np.sort(np.array(train, dtype=int)), np.sort(np.array(valid, dtype=int))


class LogAnomalyEstimator:
    def __init__(self, settings: LogModelSettings | None = None, device: str = "auto",
                 progress: Callable[[int, int, dict[str, float]], None] | None = None):
        self.settings = settings or LogModelSettings()
        self.device = device
        self.progress = progress

    def fit(self, windows: list[list[str]], texts: dict[str, str], labels: Sequence[int | None] | None = None,
            info: dict[str, Any] | None = None) -> LogAnomalyPredictor:
        s = self.settings
        started = time.perf_counter()
        seed_everything(s.seed)
        if s.mode == "supervised" and (labels is None or not any(l == 1 for l in labels)):
            raise ValueError("supervised mode needs labels with at least one anomalous window; use mode=unsupervised")
        if s.mode == "supervised" and any(l is None for l in labels):
            keep = [i for i, l in enumerate(labels) if l is not None]
            log.warning("supervised: %d window(s) without a label left out of training", len(labels) - len(keep))
            windows, labels = [windows[i] for i in keep], [labels[i] for i in keep]
        windows = [list(w)[: s.max_len] for w in windows]
        labels_known = labels is not None and all(l is not None for l in labels)
        tr_idx, va_idx = split_validation(len(windows), labels if labels_known else None, s.valid_fraction, s.seed)
        train_w = [windows[i] for i in tr_idx]
        train_y = np.array([(labels[i] or 0) for i in tr_idx]) if labels is not None else np.zeros(len(tr_idx), int)
        if s.mode == "unsupervised":  # train on presumed-normal windows only
            keep = train_y == 0
            train_w, train_y = [w for w, k in zip(train_w, keep) if k], train_y[keep]
        valid_w = [windows[i] for i in va_idx]
        valid_y = np.array([(labels[i] if labels[i] is not None else -1) for i in va_idx]) if labels is not None else np.full(len(va_idx), -1)
        vocab = sorted({t for w in train_w for t in w})
        missing = [t for t in vocab if t not in texts]
        if missing:
            raise ValueError(f"{len(missing)} template id(s) have no text in the template store, e.g. {missing[:3]}")
        index = {t: i + 1 for i, t in enumerate(vocab)}

        rt = choose_runtime(self.device, "auto")
        world, rank = (dist.get_world_size(), dist.get_rank()) if dist.is_initialized() else (1, 0)
        encoder = TemplateEncoder(s.encoder_path, s.encoder_layers, s.train_encoder_layers, s.max_template_tokens).to(rt.device)
        encoder.eval()  # dropout off in MiniLM; its top layers still learn
        states, token_mask = encoder.frozen_states([texts[t] for t in vocab])
        net = WindowTransformer(encoder.dim, s).to(rt.device)
        module = _TrainModule(encoder, net)
        model: nn.Module = module
        if world > 1:
            model = nn.parallel.DistributedDataParallel(
                module, device_ids=[rt.device.index] if rt.device.type == "cuda" else None,
                find_unused_parameters=s.mode == "supervised")  # the mask vector is unused when supervised
        params = [
            {"params": [p for p in encoder.parameters() if p.requires_grad], "lr": s.encoder_lr},
            {"params": list(net.parameters()), "lr": s.lr},
        ]
        optim = torch.optim.AdamW([g for g in params if g["params"]], weight_decay=s.weight_decay)
        scaler = torch.amp.GradScaler("cuda", enabled=rt.precision == "fp16")

        def rows(ws: list[list[str]]) -> list[list[int]]:
            return [[index.get(t, 0) for t in w if t in index] or [0] for w in ws]  # unseen -> dropped for loss

        tr_rows, va_rows = rows(train_w), rows(valid_w)
        pos = float(train_y.sum())
        pos_weight = torch.tensor(min(50.0, (len(train_y) - pos) / pos) if pos else 1.0, device=rt.device)

        def loss_of(batch_rows: list[list[int]], batch_y: np.ndarray, gen: torch.Generator, net_model: nn.Module,
                    table: torch.Tensor | None = None) -> torch.Tensor:
            ids = pad(batch_rows, s.max_len).to(rt.device)
            with rt.autocast():
                if s.mode == "supervised":
                    logits = net_model(states, token_mask, ids, table=table).float()
                    y = torch.tensor(batch_y, dtype=torch.float32, device=rt.device)
                    return nn.functional.binary_cross_entropy_with_logits(logits, y, pos_weight=pos_weight)
                real = ids != PAD
                masked = (torch.rand(ids.shape, generator=gen).to(rt.device) < s.mask_ratio) & real
                first = real.float().argmax(1)  # at least one masked position per window
                masked[torch.arange(len(ids)), first] |= ~masked.any(1)
                logits = net_model(states, token_mask, ids, masked, table=table).float()
                return nn.functional.cross_entropy(logits[masked], ids[masked])

        def valid_loss() -> float:
            if s.mode == "supervised":
                use = [i for i, y in enumerate(valid_y) if y >= 0]
            else:
                use = [i for i, y in enumerate(valid_y) if y != 1]
            if not use:
                return float("nan")
            module.eval()
            gen = torch.Generator().manual_seed(s.seed + 7)
            total, n = 0.0, 0
            with torch.no_grad():
                table = module.table(states, token_mask)
                for b in length_batches([len(va_rows[i]) for i in use], s.batch_size):
                    sel = [use[j] for j in b]
                    total += float(loss_of([va_rows[i] for i in sel], np.maximum(valid_y[sel], 0), gen, module, table)) * len(sel)
                    n += len(sel)
            return total / n

        best_state, best_loss, best_epoch, bad_epochs, history = None, float("inf"), 0, 0, []
        rng = np.random.default_rng(s.seed)
        epoch = 0
        for epoch in range(1, s.epochs + 1):
            model.train()
            encoder.eval()
            batches = length_batches([len(r) for r in tr_rows], s.batch_size, rng=rng)
            per_rank = max(1, len(batches) // world)
            mine = batches[rank::world][:per_rank] if len(batches) >= world else batches[:1]
            gen = torch.Generator().manual_seed(s.seed * 1000 + epoch * 10 + rank)
            train_loss = 0.0
            for b in mine:
                loss = loss_of([tr_rows[i] for i in b], train_y[b], gen, model)
                optim.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.unscale_(optim)
                nn.utils.clip_grad_norm_(module.parameters(), 1.0)
                scaler.step(optim)
                scaler.update()
                train_loss += float(loss.detach()) / len(mine)
            vloss = valid_loss()
            history.append({"epoch": epoch, "train_loss": round(train_loss, 5), "valid_loss": round(vloss, 5)})
            if self.progress:
                self.progress(epoch, s.epochs, history[-1])
            log.info("epoch %d: train %.4f valid %.4f", epoch, train_loss, vloss)
            if np.isnan(vloss) or vloss < best_loss - 1e-4:
                best_loss, best_epoch, bad_epochs = vloss, epoch, 0
                best_state = copy.deepcopy(module.state_dict())
            else:
                bad_epochs += 1
                if bad_epochs >= s.patience:
                    log.info("early stop at epoch %d (best %d)", epoch, best_epoch)
                    break
        if best_state is not None:
            module.load_state_dict(best_state)

        module.eval()
        with torch.no_grad():
            table = torch.cat([torch.zeros(1, encoder.dim), module.encoder.pooled(states, token_mask).cpu()])
        predictor = LogAnomalyPredictor(s, net.cpu(), vocab, {t: texts[t] for t in vocab}, table, encoder=encoder.cpu().eval())
        predictor.to_runtime(self.device, "fp32")
        va_raw, _ = predictor.raw_scores(valid_w, texts, explain=False) if valid_w else (np.zeros(0), [])
        labelled = valid_y >= 0
        has_both = labelled.any() and set(valid_y[labelled]) == {0, 1}
        if has_both:
            threshold, rule = best_f1_threshold(va_raw[labelled], valid_y[labelled]), "max validation F1"
        elif len(va_raw):
            threshold, rule = quantile_threshold(va_raw, s.threshold_quantile), f"validation quantile {s.threshold_quantile}"
        else:
            threshold, rule = 0.0, "default 0 (no validation windows)"
        predictor.threshold = threshold
        predictor.calibrator = Calibrator.fit(va_raw if len(va_raw) else np.array([threshold]), threshold)
        metrics: dict[str, Any] = {"valid_loss": best_loss, "best_epoch": best_epoch, "epochs_run": epoch, "history": history}
        if has_both:
            metrics["valid"] = prf(va_raw[labelled] >= threshold, valid_y[labelled] == 1)
        predictor.info = {
            **(info or {}), "mode": s.mode, "seed": s.seed, "threshold_rule": rule, "n_train": len(train_w),
            "n_valid": len(valid_w), "vocab_size": len(vocab), "world_size": world,
            "train_precision": rt.precision, "train_device": str(rt.device),
            "train_seconds": round(time.perf_counter() - started, 2), "metrics": metrics,
        }
        return predictor
