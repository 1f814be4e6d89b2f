"""A trained log anomaly model: scores windows, explains them, saves to / loads from a folder."""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from opsradar.models.logs.batching import iter_padded
from opsradar.models.logs.calibration import Calibrator
from opsradar.models.logs.encoder import TemplateEncoder
from opsradar.models.logs.network import PAD, WindowTransformer
from opsradar.models.logs.runtime import Runtime, choose_runtime, quantize_int8
from opsradar.models.logs.settings import LogModelSettings

log = logging.getLogger(__name__)
FORMAT_VERSION = 1
TOP_TEMPLATES = 3


@dataclass
class WindowScore:
    raw: float
    score: float  # calibrated 0..100, 50 = threshold
    is_anomaly: bool
    top_templates: list[tuple[str, float]] = field(default_factory=list)  # (template id, share)


def masked_surprise(net: torch.nn.Module, table: torch.Tensor, ids: torch.Tensor, n_known: int, passes: int) -> torch.Tensor:
    """-log p(true template) at every position, each position masked in exactly one pass. (B, L), 0 at padding."""
    length = ids.shape[1]
    positions = torch.arange(length, device=ids.device)
    targets = torch.where(ids <= n_known, ids, torch.zeros_like(ids))
    surprise = torch.zeros(ids.shape, dtype=torch.float32, device=ids.device)
    for p in range(min(passes, length)):
        masked = (positions % passes == p).unsqueeze(0).expand_as(ids) & (ids != PAD)
        logits = net(table, ids, masked, n_known).float()
        nll = -torch.log_softmax(logits, dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        # A template never seen in training is at least as surprising as a uniform guess.
        nll = torch.where(ids > n_known, nll.clamp(min=float(np.log(n_known + 1))), nll)
        surprise = torch.where(masked, nll, surprise)
    return surprise


class LogAnomalyPredictor:
    def __init__(self, settings: LogModelSettings, net: WindowTransformer, vocab: list[str], texts: dict[str, str],
                 table: torch.Tensor, threshold: float = 0.0, calibrator: Calibrator | None = None,
                 info: dict[str, Any] | None = None, encoder: TemplateEncoder | None = None,
                 encoder_folder: str | None = None):
        self.settings = settings
        self.net = net.eval()
        self.vocab = list(vocab)
        self.index = {t: i + 1 for i, t in enumerate(self.vocab)}
        self.texts = dict(texts)
        self.table = table.float()  # row 0 = padding, rows 1..V = vocab
        self.threshold = float(threshold)
        self.calibrator = calibrator
        self.info = dict(info or {})
        self._encoder = encoder
        self._encoder_folder = encoder_folder
        self._extra: dict[str, torch.Tensor] = {}  # embeddings of templates unseen in training
        self.unknown_text: set[str] = set()
        self.runtime: Runtime | None = None
        self._run_net = self.net

    # -- runtime ----------------------------------------------------------------
    def to_runtime(self, device: str = "auto", precision: str = "auto") -> Runtime:
        rt = choose_runtime(device, precision)
        self.net.to(rt.device)
        self._run_net = quantize_int8(self.net) if rt.precision == "int8" else self.net
        self.runtime = rt
        return rt

    @property
    def encoder(self) -> TemplateEncoder:
        if self._encoder is None:
            s = self.settings
            self._encoder = TemplateEncoder.load(self._encoder_folder, s.train_encoder_layers, s.max_template_tokens).eval()
        return self._encoder

    # -- ids --------------------------------------------------------------------
    def _ids(self, windows: list[list[str]], texts: dict[str, str] | None) -> tuple[list[list[int]], torch.Tensor]:
        """Map template ids to table rows; encode templates unseen in training once (cached)."""
        texts = texts or {}
        new = sorted({t for w in windows for t in w if t not in self.index and t not in self._extra})
        if new:
            known_text = [t for t in new if t in texts]
            if known_text:
                emb = self.encoder.encode([texts[t] for t in known_text])
                self._extra.update({t: e for t, e in zip(known_text, emb)})
            for t in new:
                if t not in texts:
                    self.unknown_text.add(t)
                    self._extra[t] = torch.zeros(self.table.shape[1])
            log.info("encoded %d template(s) unseen in training (%d without text)", len(known_text), len(new) - len(known_text))
        extra_ids = sorted(self._extra)
        extra_index = {t: len(self.vocab) + 1 + i for i, t in enumerate(extra_ids)}
        table = torch.cat([self.table, torch.stack([self._extra[t] for t in extra_ids])]) if extra_ids else self.table
        rows = [[self.index.get(t) or extra_index[t] for t in w] for w in windows]
        return rows, table

    # -- scoring ----------------------------------------------------------------
    @torch.no_grad()
    def raw_scores(self, windows: list[list[str]], texts: dict[str, str] | None = None, explain: bool = True,
                   batch_size: int = 64) -> tuple[np.ndarray, list[list[tuple[str, float]]]]:
        rt = self.runtime or self.to_runtime()
        rows, table = self._ids(windows, texts)
        table = table.to(rt.device)
        s = self.settings
        raw = np.zeros(len(rows))
        shares: list[list[tuple[str, float]]] = [[] for _ in rows]
        max_tokens = batch_size * min(s.max_len, 128)
        for idx, ids in iter_padded(rows, batch_size, s.max_len, max_tokens):
            ids = ids.to(rt.device)
            with rt.autocast():
                if s.mode == "supervised":
                    logits = self._run_net(table, ids).float()
                    raw[idx] = logits.cpu().numpy()
                else:
                    surprise = masked_surprise(self._run_net, table, ids, len(self.vocab), s.score_passes)
                    k = min(s.top_k_surprise, surprise.shape[1])
                    lengths = (ids != PAD).sum(1).clamp(min=1)
                    top = surprise.topk(k, dim=1).values.sum(1) / lengths.clamp(max=k)
                    raw[idx] = top.cpu().numpy()
                    if explain:
                        sur = surprise.cpu().numpy()
                        for j, i in enumerate(idx):
                            shares[i] = _share(windows[i], sur[j, :len(rows[i])])
        if explain and s.mode == "supervised":
            flagged = [i for i in range(len(rows)) if raw[i] >= self.threshold]
            self._occlusion(rows, windows, table, flagged, shares, rt, batch_size)
        return raw, shares

    def _occlusion(self, rows, windows, table, flagged, shares, rt, batch_size: int = 64) -> None:
        """Supervised explanation: how much the anomaly logit drops when all events of one
        template are removed from the window (up to 16 most frequent templates). All variants
        of all flagged windows run together in length-bucketed batches."""
        owners, variants, distincts = [], [], {}
        for i in flagged:
            row = rows[i][: self.settings.max_len]
            distincts[i] = [t for t, _ in Counter(row).most_common(16)]
            for v in [row] + [[r for r in row if r != t] or [row[0]] for t in distincts[i]]:
                owners.append(i)
                variants.append(v)
        logits = np.zeros(len(variants))
        for idx, ids in iter_padded(variants, batch_size, self.settings.max_len, batch_size * min(self.settings.max_len, 128)):
            with rt.autocast():
                logits[idx] = self._run_net(table, ids.to(rt.device)).float().cpu().numpy()
        start = 0
        for i in flagged:
            n = len(distincts[i]) + 1
            own = logits[start:start + n]
            start += n
            drop = np.maximum(own[0] - own[1:], 0.0)
            total = float(drop.sum())
            if total <= 0:
                continue
            names = dict(zip(rows[i], windows[i]))
            ranked = sorted(zip(distincts[i], drop), key=lambda kv: -kv[1])[:TOP_TEMPLATES]
            shares[i] = [(names[r], round(float(d) / total, 4)) for r, d in ranked if d > 0]

    def score(self, windows: list[list[str]], texts: dict[str, str] | None = None, explain: bool = True,
              batch_size: int = 64) -> list[WindowScore]:
        raw, shares = self.raw_scores(windows, texts, explain, batch_size)
        calibrated = self.calibrator(raw) if self.calibrator else np.full(len(raw), np.nan)
        return [WindowScore(float(r), float(c), bool(r >= self.threshold), sh) for r, c, sh in zip(raw, calibrated, shares)]

    def template_text(self, template_id: str) -> str | None:
        return self.texts.get(template_id)

    # -- persistence ------------------------------------------------------------
    def save(self, folder: str | Path) -> Path:
        """Write the model folder: safetensors weights, config/metadata JSON, tokenizer, thresholds, metrics."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.encoder.save(folder / "encoder")
        save_file({k: v.detach().cpu().contiguous() for k, v in self.net.state_dict().items()}, str(folder / "sequence.safetensors"))
        save_file({"table": self.table.cpu().contiguous()}, str(folder / "templates.safetensors"))
        (folder / "config.json").write_text(json.dumps({
            "format_version": FORMAT_VERSION, "family": "log-anomaly", "settings": self.settings.to_dict(),
            "emb_dim": int(self.table.shape[1]), "vocab": [{"template_id": t, "template": self.texts.get(t, "")} for t in self.vocab],
        }, indent=1))
        (folder / "thresholds.json").write_text(json.dumps({
            "threshold": self.threshold, "calibration": {"xs": self.calibrator.xs, "ys": self.calibrator.ys} if self.calibrator else None,
            "rule": self.info.get("threshold_rule"),
        }, indent=1))
        (folder / "metrics.json").write_text(json.dumps(self.info.get("metrics", {}), indent=1))
        (folder / "training.json").write_text(json.dumps({k: v for k, v in self.info.items() if k != "metrics"}, indent=1, default=str))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> "LogAnomalyPredictor":
        folder = Path(folder)
        config = json.loads((folder / "config.json").read_text())
        if config.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{folder}: model format {config.get('format_version')} not supported (want {FORMAT_VERSION})")
        settings = LogModelSettings.from_dict(config["settings"])
        net = WindowTransformer(config["emb_dim"], settings)
        net.load_state_dict(load_file(str(folder / "sequence.safetensors")))
        thresholds = json.loads((folder / "thresholds.json").read_text())
        cal = thresholds.get("calibration")
        info = json.loads((folder / "training.json").read_text())
        info["metrics"] = json.loads((folder / "metrics.json").read_text())
        vocab = [v["template_id"] for v in config["vocab"]]
        texts = {v["template_id"]: v["template"] for v in config["vocab"]}
        table = load_file(str(folder / "templates.safetensors"))["table"]
        return cls(settings, net, vocab, texts, table, thresholds["threshold"], Calibrator(**cal) if cal else None, info,
                   encoder_folder=str(folder / "encoder"))


def _share(window: list[str], surprise: np.ndarray) -> list[tuple[str, float]]:
    """Unsupervised explanation: each template's mean surprise per event, as a share of the total
    (mean, not sum, so one unexpected event is not outweighed by a frequent, mildly surprising one)."""
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    for t, s in zip(window, surprise):
        sums[t] = sums.get(t, 0.0) + float(s)
        counts[t] = counts.get(t, 0) + 1
    means = {t: sums[t] / counts[t] for t in sums}
    total = sum(means.values())
    if total <= 0:
        return []
    ranked = sorted(means.items(), key=lambda kv: -kv[1])[:TOP_TEMPLATES]
    return [(t, round(v / total, 4)) for t, v in ranked]
