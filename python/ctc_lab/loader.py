"""Which samples go into which batch, as the lab's src/data/loader.ts decides: length-bucketed
batches (seeded shuffle, pools sorted by length, batch order shuffled), their padding efficiency,
and one epoch's batches shared out over DDP ranks.
"""

from __future__ import annotations

from .rng import Rng


def bucketed_batches(frames: list[int], batch_size: int, seed: int, pool_batches: int = 50) -> list[list[int]]:
    """The lab's bucketedBatches: seeded shuffle, pools of `pool_batches` batches sorted by length,
    chunked into batches, batch order shuffled. Same seed → the same batches in the same order."""
    rng = Rng(seed)
    idx = rng.shuffle(list(range(len(frames))))
    batches = []
    pool = batch_size * pool_batches
    for p in range(0, len(idx), pool):
        chunk = sorted(idx[p : p + pool], key=lambda i: (frames[i], i))
        batches += [chunk[b : b + batch_size] for b in range(0, len(chunk), batch_size)]
    return rng.shuffle(batches)


def padding_efficiency(frames: list[int], batches: list[list[int]]) -> float:
    real = sum(frames[i] for b in batches for i in b)
    padded = sum(max(frames[i] for i in b) * len(b) for b in batches if b)
    return real / padded if padded else 1.0


def shard_steps(batches: list, per_step: int, rank: int, world: int) -> list[list]:
    """DistributedSampler-like split of one epoch's batches: each optimizer step takes the next
    per_step · world micro-batches; rank r gets the r-th run of per_step of them (the last step may
    leave a rank with fewer, or none). One entry per step, the same count on every rank."""
    group = per_step * world
    return [batches[i + rank * per_step : i + (rank + 1) * per_step] for i in range(0, len(batches), group)]
