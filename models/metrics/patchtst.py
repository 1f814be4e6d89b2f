"""PatchTST metric model: masked-patch pretraining, probabilistic fine-tuning, GluonTS-style
estimator -> predictor, registry save/load. Only torch, transformers and numpy.

Input series are float arrays of shape (time, channels); channels are the metrics of
one entity (1 channel = univariate). NaNs are treated as unobserved.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch

from opsradar.models.metrics.calibration import CALIBRATED_LEVELS, QuantileCalibration, calibration_windows
from opsradar.models.registry import load_model_folder, save_model_folder

MODEL_FAMILY = "patchtst-metrics"
QUANTILES = (0.5, 0.9, 0.95)


@dataclass
class MetricModelConfig:
    context_length: int = 128
    prediction_length: int = 24
    num_channels: int = 1
    channel_names: list[str] = field(default_factory=lambda: ["value"])
    patch_length: int = 16
    patch_stride: int = 8
    d_model: int = 64
    num_layers: int = 2
    num_heads: int = 4
    ffn_dim: int = 128
    dropout: float = 0.1
    # "quantile": a pinball-loss head over `quantile_levels` (median-optimal p50, no shape assumed);
    # "normal" (NLL, exact quantiles) or "student_t" (NLL, sampled quantiles): transformers' heads.
    distribution: str = "quantile"
    quantile_levels: list[float] = field(default_factory=lambda: [0.02, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.98])
    # Instance normalization of each context window: "robust" (median / mean absolute deviation
    # from it, so a burst does not drag the level; quantile head only) or "std" (mean / std).
    scaling: str = "robust"
    # Quantile head only: add a learned per-step weight times the last observed value (in
    # scaled units), so short leads can follow persistence and long ones the robust level.
    # The weights start at exp(-step / persistence_decay_steps) (12 = an hour of 5-min steps).
    persistence_skip: bool = True
    persistence_decay_steps: float = 12.0
    # Members trained from different seeds (member k uses seed * ensemble_size + k, so the
    # ensembles of two seeds share no member); each quantile is the median over members.
    ensemble_size: int = 1
    # Share of each series' end held out of training to calibrate the quantile band by split
    # conformal prediction (calibration.py); 0 = off. p50 is never changed by it.
    calibration_fraction: float = 0.0
    calibration_windows: int = 1024
    mask_ratio: float = 0.4
    pretrain_epochs: int = 2
    finetune_epochs: int = 4
    windows_per_epoch: int = 2048
    batch_size: int = 64
    learning_rate: float = 1e-3
    num_samples: int = 200
    seed: int = 0
    device: str = "auto"  # "auto" | "cpu" | "cuda"

    def patchtst(self, pretraining: bool) -> "PatchTSTConfig":
        from transformers import PatchTSTConfig  # lazy: importing the modeling code pulls in torch._dynamo

        return PatchTSTConfig(
            num_input_channels=self.num_channels,
            context_length=self.context_length,
            prediction_length=self.prediction_length,
            patch_length=self.patch_length,
            patch_stride=self.patch_stride,
            d_model=self.d_model,
            num_hidden_layers=self.num_layers,
            num_attention_heads=self.num_heads,
            ffn_dim=self.ffn_dim,
            attention_dropout=self.dropout,
            ff_dropout=self.dropout,
            head_dropout=self.dropout,
            scaling=None if self.robust_scaling else "std",
            loss="nll",
            distribution_output="normal" if self.distribution == "quantile" else self.distribution,
            num_parallel_samples=self.num_samples,
            do_mask_input=pretraining,
            mask_type="random",
            random_mask_ratio=self.mask_ratio,
        )

    @property
    def robust_scaling(self) -> bool:
        return self.scaling == "robust" and self.distribution == "quantile"

    @classmethod
    def from_dict(cls, d: dict) -> "MetricModelConfig":
        known = {f.name for f in fields(cls)}
        # Models saved before these settings existed were std-scaled and had no persistence skip.
        d = {"scaling": "std", "persistence_skip": False} | d
        return cls(**{k: v for k, v in d.items() if k in known})


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _as_2d(series: np.ndarray) -> np.ndarray:
    arr = np.asarray(series, dtype=np.float32)
    return arr[:, None] if arr.ndim == 1 else arr


def robust_scale(past: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per window and channel: loc = median of observed points, scale = their mean absolute
    deviation from it (floored, so flat series stay finite). Returns (scaled past, loc, scale),
    loc/scale shaped (batch, 1, channels) like transformers' scalers."""
    observed = mask.bool()
    filled = torch.where(observed, past, torch.full_like(past, float("nan")))
    loc = torch.nanmedian(filled, dim=1, keepdim=True).values.nan_to_num(0.0)
    dev = torch.where(observed, (past - loc).abs(), torch.zeros_like(past)).sum(1, keepdim=True)
    scale = dev / observed.sum(1, keepdim=True).clamp(min=1)
    scale = torch.maximum(scale, 1e-3 * loc.abs() + 1e-5)
    return torch.where(observed, (past - loc) / scale, torch.zeros_like(past)), loc, scale


def _exact_quantiles(dist, qs: Sequence[float]) -> list[torch.Tensor] | None:
    """Inverse-CDF quantiles of transformers' output distribution: an affine transform of an
    `Independent` base, which has no `icdf` of its own (so `dist.icdf` raises and would fall
    back to sampling); unwrap it and apply the transforms. None where the base has no icdf."""
    base = getattr(dist, "base_dist", dist)
    inner = getattr(base, "base_dist", base)  # Independent -> e.g. Normal
    levels = []
    for q in qs:
        try:
            value = inner.icdf(torch.full_like(inner.mean, q))
        except NotImplementedError:
            return None
        for transform in getattr(dist, "transforms", []):
            value = transform(value)
        levels.append(value)
    return levels


def _observed(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mask = np.isfinite(x)
    return np.where(mask, x, 0.0).astype(np.float32), mask


class QuantileForecaster(torch.nn.Module):
    """PatchTST backbone + a linear head emitting every quantile level for every step.

    Trained with the pinball (quantile) loss in the backbone's scaled space, so the p50 is
    the conditional median (what MASE/MAE reward) and p90/p95 are calibrated without a
    distributional assumption. Levels are sorted per step (monotone rearrangement), so
    quantiles never cross."""

    def __init__(self, config: "PatchTSTConfig", levels: Sequence[float], robust: bool = False,
                 persistence_decay_steps: float | None = None) -> None:
        from transformers import PatchTSTModel

        super().__init__()
        self.config = config
        self.robust = robust  # robust_scale() the context here; the backbone then does no scaling
        self.model = PatchTSTModel(config)
        self.register_buffer("levels", torch.tensor(sorted(levels), dtype=torch.float32))
        head_dim = config.d_model * self.model.patchifier.num_patches
        self.dropout = torch.nn.Dropout(config.head_dropout)
        self.projection = torch.nn.Linear(head_dim, config.prediction_length * len(levels))
        if robust:  # start at the context's median: the head learns departures from a robust level
            torch.nn.init.zeros_(self.projection.weight)
            torch.nn.init.zeros_(self.projection.bias)
        self.persistence = None  # per-step weight of the last observed value (None: no skip)
        if persistence_decay_steps:
            steps = torch.arange(config.prediction_length, dtype=torch.float32)
            self.persistence = torch.nn.Parameter(torch.exp(-steps / persistence_decay_steps))

    def forward(self, past_values: torch.Tensor, past_observed_mask: torch.Tensor | None = None,
                future_values: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        if past_observed_mask is None:
            past_observed_mask = torch.ones_like(past_values)
        if self.robust:
            past_values, loc, scale = robust_scale(past_values, past_observed_mask)
        out = self.model(past_values=past_values, past_observed_mask=past_observed_mask)
        if not self.robust:
            loc, scale = out.loc, out.scale
        emb = self.dropout(out.last_hidden_state.flatten(2))  # (batch, channels, patches * d_model)
        batch, channels = emb.shape[:2]
        raw = self.projection(emb).view(batch, channels, self.config.prediction_length, len(self.levels))
        if self.persistence is not None:
            last = self._last_scaled(past_values if self.robust else (past_values - loc) / scale, past_observed_mask)
            raw = raw + self.persistence[None, None, :, None] * last.transpose(1, 2)[..., None]
        scaled = torch.sort(raw.float(), dim=-1).values.permute(0, 2, 1, 3)  # (batch, horizon, channels, levels)
        result = {"scaled": scaled, "loc": loc, "scale": scale}  # loc/scale: (batch, 1, channels)
        if future_values is not None:
            target = ((future_values - loc) / scale).unsqueeze(-1)
            diff = target - scaled
            result["loss"] = torch.maximum(self.levels * diff, (self.levels - 1) * diff).mean()
        return result

    @staticmethod
    def _last_scaled(scaled_past: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(batch, 1, channels): the last observed point of each channel (0, the level, if none)."""
        observed = mask.bool()
        steps = torch.arange(scaled_past.shape[1], device=scaled_past.device)[None, :, None]
        last_idx = torch.where(observed, steps, torch.full_like(steps, -1)).amax(1, keepdim=True)
        value = scaled_past.gather(1, last_idx.clamp(min=0))
        return torch.where(last_idx >= 0, value, torch.zeros_like(value))

    @torch.no_grad()
    def quantiles(self, past_values: torch.Tensor, past_observed_mask: torch.Tensor, qs: Sequence[float]) -> list[torch.Tensor]:
        """Requested quantiles, linearly interpolated between the trained levels (clamped outside them)."""
        out = self(past_values, past_observed_mask)
        values = out["scaled"] * out["scale"].unsqueeze(-1) + out["loc"].unsqueeze(-1)
        levels = self.levels.tolist()
        result = []
        for q in qs:
            hi = min(max(1, int(np.searchsorted(levels, q))), len(levels) - 1)
            w = float(np.clip((q - levels[hi - 1]) / (levels[hi] - levels[hi - 1]), 0.0, 1.0))
            result.append((1 - w) * values[..., hi - 1] + w * values[..., hi])
        return result


class EnsembleForecaster(torch.nn.Module):
    """Forecasters of one architecture trained from different seeds (see MetricModelConfig)."""

    def __init__(self, members: Sequence[torch.nn.Module]) -> None:
        super().__init__()
        self.members = torch.nn.ModuleList(members)
        self.config = members[0].config


def _build_member(cfg: MetricModelConfig) -> torch.nn.Module:
    if cfg.distribution == "quantile":
        return QuantileForecaster(cfg.patchtst(pretraining=False), cfg.quantile_levels, robust=cfg.robust_scaling,
                                  persistence_decay_steps=cfg.persistence_decay_steps if cfg.persistence_skip else None)
    from transformers import PatchTSTForPrediction

    return PatchTSTForPrediction(cfg.patchtst(pretraining=False))


def build_forecaster(cfg: MetricModelConfig) -> torch.nn.Module:
    if cfg.ensemble_size > 1:
        return EnsembleForecaster([_build_member(cfg) for _ in range(cfg.ensemble_size)])
    return _build_member(cfg)


class _Windows:
    """Random (context, future) windows drawn from a list of (time, channels) series."""

    def __init__(self, series: Sequence[np.ndarray], context: int, horizon: int, rng: np.random.Generator) -> None:
        self.series = [_as_2d(s) for s in series]
        self.context, self.horizon, self.rng = context, horizon, rng
        span = context + horizon
        self.starts = [(i, t) for i, s in enumerate(self.series) for t in range(0, len(s) - span + 1)]
        # A window is usable for fine-tuning only if its future is fully observed (NLL on NaN is undefined).
        if not self.starts:
            raise ValueError(f"no series is long enough for context {context} + horizon {horizon}")

    def sample(self, n: int, with_future: bool) -> list[tuple[np.ndarray, ...]]:
        picks = self.rng.choice(len(self.starts), size=min(n, len(self.starts)), replace=len(self.starts) < n)
        out = []
        for k in picks:
            i, t = self.starts[k]
            s = self.series[i]
            past = s[t:t + self.context]
            if with_future:
                future = s[t + self.context:t + self.context + self.horizon]
                if not np.isfinite(future).all():
                    continue
                out.append((past, future))
            else:
                out.append((past,))
        return out


def _batches(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


class MetricEstimator:
    """Trains a MetricPredictor: self-supervised masked-patch pretraining, then NLL fine-tuning."""

    def __init__(self, config: MetricModelConfig, progress: Callable[[str, int, int, float], None] | None = None) -> None:
        self.config = config
        self.progress = progress

    def train(self, series: Sequence[np.ndarray]) -> "MetricPredictor":
        cfg = self.config
        device = pick_device(cfg.device)
        series = [_as_2d(s) for s in series]
        fit_series, holdouts = self._split_calibration(series)
        data = _Windows(fit_series, cfg.context_length, cfg.prediction_length, np.random.default_rng(cfg.seed))
        n_channels = data.series[0].shape[1]
        if any(s.shape[1] != n_channels for s in data.series) or n_channels != cfg.num_channels:
            raise ValueError(f"every series needs {cfg.num_channels} channel(s); got {[s.shape[1] for s in data.series]}")
        size = max(cfg.ensemble_size, 1)
        members, histories = [], []
        for k in range(size):  # one member (seed * 1 + 0 = seed) unless ensemble_size > 1
            seed = cfg.seed * size + k
            data.rng = np.random.default_rng(seed)
            model, history = self._train_member(data, seed, device, f"member {k + 1}/{size} " if size > 1 else "")
            members.append(model.cpu())
            histories.append(history)
        training = {"history": histories[0], "windows": len(data.starts)}
        if size == 1:
            predictor = MetricPredictor(members[0], cfg, training=training)
        else:
            predictor = MetricPredictor(EnsembleForecaster(members), cfg, training=training | {"member_histories": histories})
        if cfg.calibration_fraction > 0:
            predictor.calibrate(series, holdouts)
        return predictor

    def _split_calibration(self, series: list[np.ndarray]) -> tuple[list[np.ndarray], list[int]]:
        """Series to train on, and per series how many end points are held out (0: too short to spare)."""
        cfg = self.config
        span = cfg.context_length + cfg.prediction_length
        holdouts = []
        for s in series:
            hold = int(len(s) * cfg.calibration_fraction)
            holdouts.append(hold if hold >= cfg.prediction_length and len(s) - hold >= span else 0)
        return [s[:len(s) - h] for s, h in zip(series, holdouts)], holdouts

    def _train_member(self, data: "_Windows", seed: int, device: torch.device, label: str) -> tuple[torch.nn.Module, dict]:
        cfg = self.config
        torch.manual_seed(seed)
        random.seed(seed)
        from transformers import PatchTSTForPretraining

        history: dict[str, list[float]] = {"pretrain_loss": [], "finetune_loss": []}
        pre = PatchTSTForPretraining(cfg.patchtst(pretraining=True)).to(device)
        if cfg.pretrain_epochs:
            history["pretrain_loss"] = self._fit(pre, data, cfg.pretrain_epochs, with_future=False, stage=f"{label}pretrain", device=device)
        model = _build_member(cfg).to(device)
        model.model.load_state_dict(pre.model.state_dict())  # pretrained backbone, fresh head
        history["finetune_loss"] = self._fit(model, data, cfg.finetune_epochs, with_future=True, stage=f"{label}finetune", device=device)
        return model.eval(), history

    def _fit(self, model: torch.nn.Module, data: _Windows, epochs: int, with_future: bool, stage: str, device: torch.device) -> list[float]:
        cfg = self.config
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.learning_rate, weight_decay=1e-4)
        steps = max(1, epochs * math.ceil(cfg.windows_per_epoch / cfg.batch_size))
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.learning_rate, total_steps=steps)
        losses, step = [], 0
        model.train()
        for epoch in range(epochs):
            total, count = 0.0, 0
            for batch in _batches(data.sample(cfg.windows_per_epoch, with_future), cfg.batch_size):
                if step >= steps or not batch:
                    continue
                past, mask = _observed(np.stack([b[0] for b in batch]))
                kwargs = {"past_values": torch.from_numpy(past).to(device), "past_observed_mask": torch.from_numpy(mask).to(device)}
                if not with_future and cfg.robust_scaling:  # pretrain on the inputs the forecaster will see
                    kwargs["past_values"] = robust_scale(kwargs["past_values"], kwargs["past_observed_mask"])[0]
                if with_future:
                    kwargs["future_values"] = torch.from_numpy(np.stack([b[1] for b in batch])).to(device)
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                    out = model(**kwargs)
                loss = out["loss"] if isinstance(out, dict) else out.loss
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                sched.step()
                step += 1
                total, count = total + loss.item() * len(batch), count + len(batch)
            losses.append(total / max(count, 1))
            if self.progress:
                self.progress(stage, epoch + 1, epochs, losses[-1])
        return losses


class MetricPredictor:
    """Forecasts quantiles for the next `prediction_length` steps from a context window."""

    def __init__(self, model: torch.nn.Module, config: MetricModelConfig, name: str = MODEL_FAMILY,
                 version: str = "unregistered", training: dict | None = None,
                 calibration: QuantileCalibration | None = None) -> None:
        self.model = model.eval()
        self.config = config
        self.name = name
        self.version = version
        self.training = training or {}
        self.calibration: QuantileCalibration | None = calibration
        self.device = torch.device("cpu")

    def to(self, device: str | torch.device) -> "MetricPredictor":
        self.device = pick_device(device) if isinstance(device, str) else device
        self.model.to(self.device)
        return self

    @torch.no_grad()
    def forecast(self, context: np.ndarray, quantiles: Sequence[float] = QUANTILES, batch_size: int = 256,
                 calibrated: bool = True) -> dict[float, np.ndarray]:
        """context (batch, context_length, channels) -> {q: (batch, prediction_length, channels)}."""
        ctx = np.asarray(context, dtype=np.float32)
        if ctx.ndim == 2:
            ctx = ctx[None]
        if ctx.shape[1:] != (self.config.context_length, self.config.num_channels):
            raise ValueError(f"context shape {ctx.shape[1:]} != ({self.config.context_length}, {self.config.num_channels})")
        calibration = self.calibration if calibrated else None
        qs = sorted(set(quantiles) | ({0.5} if calibration else set()))
        outs: dict[float, list[np.ndarray]] = {q: [] for q in qs}
        for lo in range(0, len(ctx), batch_size):
            past, mask = _observed(ctx[lo:lo + batch_size])
            for q, arr in zip(qs, self._quantiles(torch.from_numpy(past), torch.from_numpy(mask), qs)):
                outs[q].append(arr)
        raw = {q: np.concatenate(v) for q, v in outs.items()}
        if calibration:
            levels = np.maximum.accumulate(np.stack([calibration.apply(raw[0.5], q, raw[q]) for q in qs]), axis=0)
            raw = dict(zip(qs, levels))
        return {q: raw[q] for q in sorted(quantiles)}

    def calibrate(self, series: Sequence[np.ndarray], holdouts: Sequence[int]) -> None:
        """Fit the band's split-conformal factors on windows whose futures lie in the held-out ends."""
        cfg = self.config
        per_series = [calibration_windows([_as_2d(s)], cfg.context_length, cfg.prediction_length, h, cfg.calibration_windows)
                      for s, h in zip(series, holdouts) if h]
        if not per_series:
            self.calibration = None
            self.training["calibration"] = "skipped: no series long enough to hold out its end"
            return
        contexts = np.concatenate([c for c, _ in per_series])
        futures = np.concatenate([f for _, f in per_series])
        if len(contexts) > cfg.calibration_windows:  # evenly over all series' windows
            keep = np.unique(np.linspace(0, len(contexts) - 1, cfg.calibration_windows).round().astype(int))
            contexts, futures = contexts[keep], futures[keep]
        raw = self.forecast(contexts, quantiles=(0.5, *CALIBRATED_LEVELS), calibrated=False)
        self.calibration = QuantileCalibration.fit(raw[0.5], raw, futures)
        self.training["calibration"] = {"windows": len(contexts), "held_out_points": int(sum(holdouts))}

    def _quantiles(self, past: torch.Tensor, mask: torch.Tensor, qs: list[float]) -> list[np.ndarray]:
        past, mask = past.to(self.device), mask.to(self.device)
        if isinstance(self.model, EnsembleForecaster):
            per_member = torch.stack([torch.stack(self._member_quantiles(m, past, mask, qs)) for m in self.model.members])
            levels = per_member.median(dim=0).values  # (levels, batch, horizon, channels)
        else:
            levels = torch.stack(self._member_quantiles(self.model, past, mask, qs))
        # Monotone by construction; cummax guards against float ties.
        return [s.cpu().numpy() for s in torch.cummax(levels, dim=0).values]

    def _member_quantiles(self, model: torch.nn.Module, past: torch.Tensor, mask: torch.Tensor, qs: list[float]) -> list[torch.Tensor]:
        if isinstance(model, QuantileForecaster):
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.device.type == "cuda"):
                return [level.float() for level in model.quantiles(past, mask, qs)]
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.device.type == "cuda"):
            out = model(past_values=past, past_observed_mask=mask)
        params = tuple(p.float() for p in out.prediction_outputs)
        dist = model.distribution_output.distribution(params, loc=out.loc, scale=out.scale)
        levels = _exact_quantiles(dist, qs)
        if levels is None:  # student_t: quantiles of seeded samples
            gen_state = torch.random.get_rng_state()
            torch.manual_seed(self.config.seed)
            samples = dist.sample((self.config.num_samples,))
            torch.random.set_rng_state(gen_state)
            levels = list(torch.quantile(samples, torch.tensor(qs, device=samples.device), dim=0))
        return [level.float() for level in levels]

    # -- persistence -------------------------------------------------------------
    def save(self, folder: str | Path) -> Path:
        return save_model_folder(
            folder,
            self.model.state_dict(),
            {"model_config": asdict(self.config), "patchtst": self.model.config.to_dict(),
             "calibration": self.calibration.to_dict() if self.calibration else None},
            {"name": self.name, "family": MODEL_FAMILY, "version": self.version, "training": self.training},
        )

    @classmethod
    def load(cls, folder: str | Path, device: str = "cpu") -> "MetricPredictor":
        tensors, config, metadata = load_model_folder(folder)
        cfg = MetricModelConfig.from_dict(config["model_config"])
        model = build_forecaster(cfg)
        model.load_state_dict(tensors)
        folder_name = Path(folder).name
        version = folder_name if re.fullmatch(r"v\d{4,}", folder_name) else metadata.get("version", "unregistered")
        calibration = QuantileCalibration.from_dict(config["calibration"]) if config.get("calibration") else None
        return cls(model, cfg, name=metadata.get("name", MODEL_FAMILY), version=version, training=metadata.get("training"),
                   calibration=calibration).to(device)
