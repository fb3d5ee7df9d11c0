"""Padded batches as the lab's makeBatch builds them (src/data/batch.ts): normalised features
[B, T, F], labels [B, L] as class ids (token i of the vocabulary → class i + 1; 0 is the blank),
and lengths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from .errors import CtcLabError
from .norm import inverse_scales, normalised

if TYPE_CHECKING:
    from .data import Dataset, Sample


def token_index(vocab: list[str]) -> dict[str, int]:
    return {t: i + 1 for i, t in enumerate(vocab)}


@dataclass
class Batch:
    x: torch.Tensor  # [B, T, F] normalised, zero past each sample's end
    lengths: torch.Tensor  # [B] int64 input frames
    labels: torch.Tensor  # [B, L] int64 class ids, zero-padded (L ≥ 1)
    label_lengths: torch.Tensor  # [B] int64
    ids: list[str]
    texts: list[str]


def make_batch(ds: Dataset, samples: list[Sample], norm: dict, index: dict[str, int] | None) -> Batch:
    """The lab's makeBatch: features normalised with `norm` (float32 arithmetic, as the lab), padded.
    index None: no labels (model outputs of transcripts the vocabulary may not cover)."""
    mean = np.asarray(norm["mean"], dtype=np.float64)
    inv = inverse_scales(norm["std"])
    T = max(s.frames for s in samples)
    seqs = []
    for s in samples:
        ids = []
        for tok in s.text.split(" ") if index is not None else []:
            if tok not in index:
                raise CtcLabError(f"sample '{s.id}': token '{tok}' is not in the vocabulary")
            ids.append(index[tok])
        seqs.append(ids)
    L = max(1, max(len(q) for q in seqs))
    x = np.zeros((len(samples), T, ds.feature_dim), dtype=np.float32)
    labels = np.zeros((len(samples), L), dtype=np.int64)
    for b, s in enumerate(samples):
        x[b, : s.frames] = normalised(ds.load(s.index), mean, inv)
        labels[b, : len(seqs[b])] = seqs[b]
    return Batch(
        torch.from_numpy(x), torch.tensor([s.frames for s in samples]), torch.from_numpy(labels),
        torch.tensor([len(q) for q in seqs]), [s.id for s in samples], [s.text for s in samples],
    )
