"""What a dataset's parsed samples become, as the lab's src/data/prepare.ts makes it: splits for
rows without one (seeded, 90/10), the vocabulary's order, normalisation statistics.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from .rng import Rng

SPLIT_SEED = 1234  # the lab's streamImport default


def assign_splits(splits: list[str | None], seed: int = SPLIT_SEED) -> list[str]:
    """The lab's assignSplits: rows without a split, shuffled with the seed; the first 10% (≥ 1 when
    there are ≥ 2) go to val, the rest to train."""
    missing = [i for i, s in enumerate(splits) if not s]
    Rng(seed).shuffle(missing)
    n_val = max(1, round_half_up(len(missing) * 0.1)) if len(missing) >= 2 else 0
    out = list(splits)
    for k, i in enumerate(missing):
        out[i] = "val" if k < n_val else "train"
    return out  # type: ignore[return-value]


def round_half_up(x: float) -> int:
    """JavaScript's Math.round (halves go up; Python's round goes to even)."""
    return int(np.floor(x + 0.5))


def js_sorted(tokens: Iterable[str]) -> list[str]:
    """Sorted by UTF-16 code units, as Array.prototype.sort compares strings."""
    return sorted(tokens, key=lambda s: s.encode("utf-16-be"))


class FeatureStats:
    """Per-dimension mean / population std, merged one sample at a time (Chan et al.), float64
    (the lab's FeatureStats)."""

    def __init__(self, dim: int) -> None:
        self.n = 0
        self.mean = np.zeros(dim)
        self.m2 = np.zeros(dim)

    def add(self, x: np.ndarray) -> None:
        x = x.astype(np.float64)
        k = x.shape[0]
        sm = x.mean(0)
        sq = ((x - sm) ** 2).sum(0)
        n = self.n + k
        delta = sm - self.mean
        self.mean = self.mean + delta * k / n
        self.m2 = self.m2 + sq + delta * delta * self.n * k / n
        self.n = n

    def std(self) -> np.ndarray:
        return np.sqrt(self.m2 / max(self.n, 1))
