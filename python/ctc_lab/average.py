"""Average of the N best evaluated weight sets (the config's averageBest N; 0 = off), as the lab's
src/engine/train/average.ts and as ESPnet averages its 10 best checkpoints: after each evaluated
epoch the run offers the weights validation measured (the EMA's when it is on) with the monitored
metric; the N with the lowest metric are kept (a later epoch with an equal metric does not evict an
earlier one), and at the run's end their element-wise float32 mean is evaluated and written as
DIR/averaged.safetensors, its metadata's `averaged` {epochs, valWer, valLoss} as the lab records it.

Kept sets live in memory (CPU, float32, in the lab's layouts): N × 4 bytes per parameter. A twin
session averages the epochs it evaluated itself; a run continued from a checkpoint starts its kept
sets afresh (the lab keeps its sets as records beside the run, which a checkpoint file does not carry).
"""

from __future__ import annotations

import math

import numpy as np
import torch


def average_weights(sets: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The element-wise float32 mean of weight sets with the same names and shapes (the lab's
    averageWeights: the sum of the sets, then divided by their number)."""
    if not sets:
        raise ValueError("average_weights: no weight sets to average")
    out = {}
    for name, first in sets[0].items():
        for k, s in enumerate(sets):
            t = s.get(name)
            if t is None or list(t.shape) != list(first.shape):
                raise ValueError(f"average_weights: set {k} has {list(t.shape) if t is not None else 'no'} {name}")
        total = torch.zeros(first.shape, dtype=torch.float32)
        for s in sets:
            total = total + torch.from_numpy(np.asarray(s[name], dtype=np.float32))
        out[name] = (total / len(sets)).numpy()
    return out


class BestWeights:
    """The N best weight sets seen so far by a metric where lower is better (the lab's BestWeights)."""

    def __init__(self, n: int):
        self.n = n
        self.kept: list[dict] = []  # {"epoch", "metric", "weights"}

    def offer(self, epoch: int, metric: float, weights: dict[str, np.ndarray]) -> bool:
        """Keeps a copy of `weights` when `metric` is among the N lowest so far; True when kept."""
        if metric is None or not math.isfinite(metric) or self.n < 1:
            return False
        if len(self.kept) >= self.n:
            highest = max(k["metric"] for k in self.kept)
            worst = next(i for i, k in enumerate(self.kept) if k["metric"] == highest)  # the first of the worst, as the lab's reduce
            if not metric < self.kept[worst]["metric"]:
                return False
            self.kept.pop(worst)
        self.kept.append({"epoch": epoch, "metric": metric, "weights": {k: np.array(v, dtype=np.float32, copy=True) for k, v in weights.items()}})
        return True

    @property
    def epochs(self) -> list[dict]:
        """The kept epochs, best first ({"epoch", "metric"})."""
        return sorted(({"epoch": k["epoch"], "metric": k["metric"]} for k in self.kept), key=lambda e: (e["metric"], e["epoch"]))

    def average(self) -> dict[str, np.ndarray] | None:
        """The mean of the kept sets; None when none was kept."""
        return average_weights([k["weights"] for k in self.kept]) if self.kept else None
