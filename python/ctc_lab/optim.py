"""The lab's optimizers as torch.optim ones, with their state converted to and from the lab's
slots (src/engine/optim/{adam,sgd}.ts):

  adam   torch.optim.Adam (no weight decay: the lab's plain Adam ignores it)   optim.m.* ↔ exp_avg, optim.v.* ↔ exp_avg_sq
  adamw  torch.optim.AdamW (decoupled decay: p ← p(1 − lr·wd) − lr·m̂/(√v̂ + ε))  same slots
  sgd    torch.optim.SGD (momentum, L2 decay added to the gradient)          optim.momentum.* ↔ momentum_buffer

β = (0.9, 0.999), ε = 1e-8 as the lab. The step count (Adam's bias correction) is the run's
training.state.step. The math is the lab's: Adam's (m/c1)/(√(v/c2) + ε) equals torch's
(m/c1)/(√v/√c2 + ε); SGD's first momentum step is g in both (the lab's slot starts at zero).
"""

from __future__ import annotations

import numpy as np
import torch

from .errors import CtcLabError
from .model_base import LabModel

SLOTS = {"adam": {"m": "exp_avg", "v": "exp_avg_sq"}, "adamw": {"m": "exp_avg", "v": "exp_avg_sq"}, "sgd": {"momentum": "momentum_buffer"}}


def make_optimizer(model: LabModel, cfg: dict) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    kind = cfg["optimizer"]
    if kind == "sgd":
        return torch.optim.SGD(params, lr=cfg["lr"], momentum=cfg["momentum"], weight_decay=cfg["weightDecay"])
    if kind == "adamw":
        return torch.optim.AdamW(params, lr=cfg["lr"], betas=(0.9, 0.999), eps=1e-8, weight_decay=cfg["weightDecay"])
    if kind == "adam":
        return torch.optim.Adam(params, lr=cfg["lr"], betas=(0.9, 0.999), eps=1e-8, weight_decay=0)
    raise CtcLabError(f"optimizer '{kind}' is unknown (adam, adamw or sgd)")


def load_slots(opt: torch.optim.Optimizer, model: LabModel, kind: str, tensors: dict[str, np.ndarray], step: int, file: str) -> None:
    """Sets the optimizer's state from the lab's slots; every slot must be there with its parameter's shape."""
    plan = []
    for lp in model.lab_params():
        shape = lp.lab_shape()
        for slot, key in SLOTS[kind].items():
            name = f"optim.{slot}.{lp.name}"
            if name not in tensors:
                raise CtcLabError(f"{file}: optimizer slot {name} is missing (was it saved with another optimizer than {kind}?)")
            if list(tensors[name].shape) != shape:
                raise CtcLabError(f"{file}: optimizer slot {name} has shape {list(tensors[name].shape)}, its parameter {shape}")
            plan.append((lp, key, tensors[name]))
    for lp, key, a in plan:
        for p, v in zip(lp.params, lp.from_lab(torch.from_numpy(np.asarray(a, dtype=np.float32)))):
            st = opt.state[p]
            st[key] = v.to(p.device, p.dtype).clone().contiguous()
            if kind != "sgd":
                st["step"] = torch.tensor(float(step))


def zero_slots(opt: torch.optim.Optimizer, model: LabModel, kind: str, step: int) -> None:
    """Fresh moments at a given step count (a run that changes optimizer, or starts from an overfit checkpoint)."""
    tensors = {}
    for lp in model.lab_params():
        for slot in SLOTS[kind]:
            tensors[f"optim.{slot}.{lp.name}"] = np.zeros(lp.lab_shape(), np.float32)
    load_slots(opt, model, kind, tensors, step, "fresh optimizer state")


def lab_slots(opt: torch.optim.Optimizer, model: LabModel, kind: str) -> dict[str, np.ndarray]:
    """The optimizer's state as the lab's slot tensors (zeros where a parameter has none yet)."""
    out = {}
    for lp in model.lab_params():
        for slot, key in SLOTS[kind].items():
            parts = [opt.state[p][key] if key in opt.state[p] and opt.state[p][key] is not None else torch.zeros_like(p) for p in lp.params]
            out[f"optim.{slot}.{lp.name}"] = np.ascontiguousarray(lp.to_lab([t.detach() for t in parts]).to("cpu", torch.float32).numpy())
    return out
