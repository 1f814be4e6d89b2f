"""Where and in which precision to run: GPU with bf16/fp16 autocast, else CPU fp32 or dynamic int8."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

import torch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Runtime:
    device: torch.device
    precision: str  # bf16 | fp16 | fp32 | int8

    @property
    def autocast_dtype(self) -> torch.dtype | None:
        return {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.precision)

    def autocast(self):
        dtype = self.autocast_dtype
        if dtype is None or self.device.type != "cuda":
            return contextlib.nullcontext()
        return torch.autocast("cuda", dtype=dtype)


def choose_runtime(device: str = "auto", precision: str = "auto") -> Runtime:
    """auto: CUDA if present (bf16 where supported, else fp16), else CPU fp32.

    On CPU `precision="int8"` quantises the sequence model's Linear layers dynamically.
    """
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    if dev.type == "cuda":
        if precision in ("auto", "bf16", "fp16"):
            chosen = "bf16" if precision == "auto" and torch.cuda.is_bf16_supported() else ("fp16" if precision == "auto" else precision)
        else:
            chosen = "fp32"
    else:
        if precision in ("bf16", "fp16"):
            log.warning("precision %s requested on CPU: using fp32", precision)
        chosen = "int8" if precision == "int8" else "fp32"
    rt = Runtime(dev, chosen)
    log.info("log model runtime: device=%s precision=%s", rt.device, rt.precision)
    return rt


def quantize_int8(module: torch.nn.Module) -> torch.nn.Module:
    return torch.ao.quantization.quantize_dynamic(module, {torch.nn.Linear}, dtype=torch.qint8)
