"""Windows -> padded id tensors, in length-bucketed batches (little padding, stable order)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch


def length_batches(lengths: Sequence[int], batch_size: int, max_tokens: int | None = None,
                   rng: np.random.Generator | None = None) -> list[np.ndarray]:
    """Indices grouped so each batch holds windows of similar length.

    Sorted by length (stable), cut into batches of `batch_size` windows or fewer when
    `max_tokens` (padded batch size x longest) would be exceeded; shuffled batch order
    when `rng` is given (training).
    """
    order = np.argsort(np.asarray(lengths), kind="stable")
    batches, current, longest = [], [], 0
    for i in order:
        n = max(int(lengths[i]), 1)
        if current and (len(current) >= batch_size or (max_tokens and max(longest, n) * (len(current) + 1) > max_tokens)):
            batches.append(np.array(current))
            current, longest = [], 0
        current.append(int(i))
        longest = max(longest, n)
    if current:
        batches.append(np.array(current))
    if rng is not None:
        rng.shuffle(batches)
    return batches


def pad(rows: Sequence[Sequence[int]], max_len: int) -> torch.Tensor:
    width = max(1, min(max_len, max((len(r) for r in rows), default=1)))
    out = torch.zeros(len(rows), width, dtype=torch.long)
    for i, row in enumerate(rows):
        row = list(row)[:width]
        if row:
            out[i, :len(row)] = torch.tensor(row, dtype=torch.long)
    return out


def iter_padded(rows: Sequence[Sequence[int]], batch_size: int, max_len: int,
                max_tokens: int | None = None) -> Iterator[tuple[np.ndarray, torch.Tensor]]:
    for idx in length_batches([min(len(r), max_len) for r in rows], batch_size, max_tokens):
        yield idx, pad([rows[i] for i in idx], max_len)
