"""The lab's learning-rate schedule (src/engine/optim/schedule.ts): linear warmup from lr/100 for
`warmupEpochs`, then cosine (to 1% of lr at the last epoch) or step decay (×0.5 every 30 epochs),
evaluated per optimizer step from (step, steps per epoch), so resuming at any step gives the same rate."""

from __future__ import annotations

import math

MIN_LR_RATIO = 0.01
STEP_EVERY = 30
STEP_GAMMA = 0.5


def learning_rate(c: dict, step: float, steps_per_epoch: int) -> float:
    epoch = step / max(steps_per_epoch, 1)  # fractional epochs done
    lr, warm = c["lr"], c["warmupEpochs"]
    if warm > 0 and epoch < warm:
        start = lr / 100
        return start + (lr - start) * (epoch / warm)
    after = epoch - warm
    span = max(c["epochs"] - warm, 1e-9)
    if c["decay"] == "cosine":
        p = min(after / span, 1)
        floor = lr * MIN_LR_RATIO
        return floor + (lr - floor) * 0.5 * (1 + math.cos(math.pi * p))
    if c["decay"] == "step":
        return lr * STEP_GAMMA ** math.floor(after / STEP_EVERY)
    return lr
