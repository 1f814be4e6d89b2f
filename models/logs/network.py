"""The sequence model: a small transformer over a window's template embeddings.

Token ids index a table of template embeddings: 0 is padding, 1..V the training
vocabulary, ids above V are templates first seen at scoring time (encoded by the
fine-tuned MiniLM, so they still carry meaning). For masked-template prediction the
classes are 0 = "not a training template" and 1..V (weights tied to the embeddings).
"""

from __future__ import annotations

import torch
from torch import nn

from opsradar.models.logs.settings import LogModelSettings

PAD = 0


class Block(nn.Module):
    """Pre-norm transformer block from plain Linear layers (so dynamic int8 can quantise all of them)."""

    def __init__(self, d: int, heads: int, dropout: float):
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.out = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.ff = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Dropout(dropout), nn.Linear(4 * d, d))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        allowed = (~pad)[:, None, None, :]
        attn = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=allowed, dropout_p=self.dropout if self.training else 0.0)
        x = x + self.drop(self.out(attn.transpose(1, 2).reshape(b, n, d)))
        return x + self.drop(self.ff(self.norm2(x)))


class WindowTransformer(nn.Module):
    def __init__(self, emb_dim: int, s: LogModelSettings):
        super().__init__()
        self.mode = s.mode
        d = s.d_model
        self.proj = nn.Sequential(nn.Linear(emb_dim, d), nn.LayerNorm(d))
        self.cls = nn.Parameter(torch.randn(d) * 0.02)
        self.mask = nn.Parameter(torch.randn(d) * 0.02)
        self.pos = nn.Embedding(s.max_len + 1, d)
        self.blocks = nn.ModuleList(Block(d, s.n_heads, s.dropout) for _ in range(s.n_layers))
        self.norm = nn.LayerNorm(d)
        if s.mode == "supervised":
            self.head = nn.Sequential(nn.Linear(2 * d, d), nn.GELU(), nn.Linear(d, 1))
        else:
            self.head = nn.Linear(d, d)
            self.unseen = nn.Parameter(torch.randn(d) * 0.02)
            self.scale = d ** -0.5  # dot products of LayerNorm'd vectors grow with d

    def forward(self, table: torch.Tensor, ids: torch.Tensor, masked: torch.Tensor | None = None,
                n_known: int | None = None) -> torch.Tensor:
        """table: (T, emb_dim) with row 0 = padding; ids: (B, L); masked: (B, L) bool.

        supervised -> (B,) anomaly logits; unsupervised -> (B, L, 1 + n_known) class logits.
        """
        tokens = self.proj(table)
        x = tokens[ids]
        if masked is not None:
            x = torch.where(masked.unsqueeze(-1), self.mask.to(x.dtype), x)
        b, length = ids.shape
        x = torch.cat([self.cls.to(x.dtype).expand(b, 1, -1), x], dim=1)
        x = x + self.pos(torch.arange(length + 1, device=ids.device)).to(x.dtype)
        pad = torch.cat([torch.zeros(b, 1, dtype=torch.bool, device=ids.device), ids == PAD], dim=1)
        for block in self.blocks:
            x = block(x, pad)
        h = self.norm(x)
        if self.mode == "supervised":
            keep = (~pad[:, 1:]).unsqueeze(-1).to(h.dtype)
            mean = (h[:, 1:] * keep).sum(1) / keep.sum(1).clamp(min=1.0)
            return self.head(torch.cat([h[:, 0], mean], dim=-1)).squeeze(-1)
        n_known = tokens.shape[0] - 1 if n_known is None else n_known
        classes = torch.cat([self.unseen.unsqueeze(0).to(tokens.dtype), tokens[1:n_known + 1]], dim=0)
        return (self.head(h[:, 1:]) @ classes.T) * self.scale
