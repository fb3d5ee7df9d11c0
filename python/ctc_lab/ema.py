"""EMA of the weights, as the lab's src/engine/train/ema.ts: with emaDecay d in (0, 1), after every
applied optimizer step ema ← d·ema + (1 − d)·w (float32, in the lab's layouts), starting from the
weights the run starts with. Validation and best use the average; a checkpoint holds the average
as "model.…" and the weights the optimizer updates as "train.model.…", so the lab and the twin
continue each other's runs exactly.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch

from .errors import CtcLabError
from .model_base import LabModel

TRAIN_WEIGHTS_PREFIX = "train."


def decay_problem(decay) -> str | None:
    """The lab's emaDecayProblem: 0 (off) or a number in (0, 1)."""
    if not isinstance(decay, (int, float)) or isinstance(decay, bool) or not np.isfinite(decay) or decay < 0 or decay >= 1:
        return f"emaDecay: expected 0 (off) or a number in (0, 1), got {decay}"
    return None


class WeightEma:
    """The average of a model's lab tensors (name → float32 tensor in the lab's layout, on the model's device)."""

    def __init__(self, model: LabModel, decay: float):
        problem = decay_problem(decay)
        if problem or decay == 0:
            raise CtcLabError(problem or "emaDecay 0 is off: no average to keep")
        self.decay = float(decay)
        self.average = {lp.name: lp.to_lab([p.detach() for p in lp.params]).to(torch.float32).clone() for lp in model.lab_params()}

    @torch.no_grad()
    def update(self, model: LabModel) -> None:
        """ema ← d·ema + (1 − d)·w, each product rounded to float32 before the sum (as TF.js)."""
        d = self.decay
        for lp in model.lab_params():
            w = lp.to_lab([p.detach() for p in lp.params]).to(torch.float32)
            e = self.average[lp.name]
            self.average[lp.name] = torch.add(e * d, w * (1 - d))

    def load(self, tensors: dict[str, np.ndarray], file: str = "checkpoint") -> None:
        """The average from tensors named as the parameters (a checkpoint's "model.…"), shapes checked."""
        for name, e in self.average.items():
            a = tensors.get(name)
            if a is None or list(a.shape) != list(e.shape):
                raise CtcLabError(f"{file}: EMA tensor {name} is {list(a.shape) if a is not None else 'missing'}, the model needs {list(e.shape)}")
        for name, e in self.average.items():
            self.average[name] = torch.from_numpy(np.asarray(tensors[name], dtype=np.float32)).to(e.device).clone()

    def to(self, device) -> "WeightEma":
        self.average = {k: v.to(device) for k, v in self.average.items()}
        return self

    def lab_tensors(self) -> dict[str, np.ndarray]:
        return {k: np.ascontiguousarray(v.detach().to("cpu", torch.float32).numpy()) for k, v in self.average.items()}

    @contextlib.contextmanager
    def swapped(self, model: LabModel):
        """The average in the model's parameters while the block runs (validation), then the trained weights back."""
        trained = {k: v.copy() for k, v in model.lab_tensors().items()}  # copies: on the CPU .numpy() shares the parameters' memory
        model.load_lab_tensors(self.lab_tensors(), "EMA")
        try:
            yield
        finally:
            model.load_lab_tensors(trained, "trained weights")


def checkpoint_tensors(model: LabModel, ema: WeightEma) -> dict[str, np.ndarray]:
    """What an EMA run's checkpoint adds over the optimizer's slots: "model.…" the average, "train.model.…" the trained weights."""
    return {**ema.lab_tensors(), **{TRAIN_WEIGHTS_PREFIX + k: v for k, v in model.lab_tensors().items()}}


def trained_tensors(tensors: dict[str, np.ndarray], model: LabModel) -> dict[str, np.ndarray] | None:
    """An EMA checkpoint's trained weights under the parameters' names (None: the file has none)."""
    names = [lp.name for lp in model.lab_params()]
    if not any(TRAIN_WEIGHTS_PREFIX + n in tensors for n in names):
        return None
    return {n: tensors[TRAIN_WEIGHTS_PREFIX + n] for n in names if TRAIN_WEIGHTS_PREFIX + n in tensors}
