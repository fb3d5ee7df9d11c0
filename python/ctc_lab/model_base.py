"""What every preset shares: the map between PyTorch parameters and the lab's tensor names and
layouts, length masks, and loading / saving in the lab's layout.

The lab stores linear weights [in, out] and conv weights [K, Cin, Cout] (TF.js's layouts); the
PyTorch modules hold PyTorch's own ([out, in], [Cout, Cin, K], nn.LSTM's per-direction
weight_ih_l{l}[_reverse]). Each preset lists its parameters as `LabParam`s: the lab's name and
shape, the PyTorch parameter(s) behind it, and the two conversions. Optimizer moments have their
parameter's shape, so the same conversions carry Adam's m and v and SGD's momentum both ways.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from .errors import CtcLabError


@dataclass
class LabParam:
    name: str  # the lab's name, "model.…"
    params: list[nn.Parameter]  # the PyTorch parameter(s) it is made of
    to_lab: Callable[[Sequence[torch.Tensor]], torch.Tensor]  # PyTorch tensors → the lab's layout
    from_lab: Callable[[torch.Tensor], list[torch.Tensor]]  # the lab's layout → PyTorch tensors

    def lab_shape(self) -> list[int]:
        return list(self.to_lab([p.detach() for p in self.params]).shape)


def conv_param(name: str, conv: nn.Conv1d) -> list[LabParam]:
    """Conv1d weight [Cout, Cin, K] ↔ lab [K, Cin, Cout]; bias as is."""
    return [
        LabParam(f"{name}.weight", [conv.weight], lambda t: t[0].permute(2, 1, 0), lambda a: [a.permute(2, 1, 0)]),
        LabParam(f"{name}.bias", [conv.bias], lambda t: t[0], lambda a: [a]),
    ]


def linear_param(name: str, lin: nn.Linear) -> list[LabParam]:
    """Linear weight [out, in] ↔ lab [in, out]; bias as is."""
    return [
        LabParam(f"{name}.weight", [lin.weight], lambda t: t[0].t(), lambda a: [a.t()]),
        LabParam(f"{name}.bias", [lin.bias], lambda t: t[0], lambda a: [a]),
    ]


def norm_param(name: str, ln: nn.LayerNorm) -> list[LabParam]:
    """LayerNorm weight / bias ↔ lab gamma / beta."""
    return [
        LabParam(f"{name}.gamma", [ln.weight], lambda t: t[0], lambda a: [a]),
        LabParam(f"{name}.beta", [ln.bias], lambda t: t[0], lambda a: [a]),
    ]


def length_mask(lengths: torch.Tensor, T: int) -> torch.Tensor:
    """[B, T, 1] float mask, 1 on each sample's first lengths[b] frames."""
    return (torch.arange(T, device=lengths.device)[None, :] < lengths[:, None]).unsqueeze(-1).float()


def ceil_half(n: torch.Tensor) -> torch.Tensor:
    return torch.div(n + 1, 2, rounding_mode="floor")


def masked_input(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """x [B, T, F] → [B, F, T] for Conv1d, zero past each sample's end (as the lab's batches are)."""
    return (x * length_mask(lengths, x.shape[1])).transpose(1, 2)


class LabModel(nn.Module):
    """A preset: `forward(x [B, T, F], lengths [B]) → (logits [B, T', V+1], out_frames [B])`,
    T' = max(out_frames), each sample's output frames its input frames ceil-halved once per ×2 of
    `subsampling` (stride-2 convolutions and pools anchored at frame 0)."""

    preset = ""
    subsampling = 1

    def __init__(self, config: dict) -> None:
        super().__init__()
        self.config = dict(config)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def lab_params(self) -> list[LabParam]:
        raise NotImplementedError

    def out_frames(self, frames: torch.Tensor) -> torch.Tensor:
        """Output frames per sample [B] for input frames [B]."""
        n, k = frames, self.subsampling
        while k > 1:
            n, k = ceil_half(n), k // 2
        return n

    def sample_out_frames(self, frames: int) -> int:
        """One sample's output frames for its input frames."""
        return int(self.out_frames(torch.tensor([frames]))[0])

    def load_lab_tensors(self, tensors: dict[str, np.ndarray], file: str = "checkpoint") -> None:
        """Every lab tensor must be present with its exact shape, else nothing changes (as the lab)."""
        plan = []
        for lp in self.lab_params():
            if lp.name not in tensors:
                raise CtcLabError(f"{file}: tensor {lp.name} is missing (preset {self.preset} needs it)")
            a = tensors[lp.name]
            want = lp.lab_shape()
            if list(a.shape) != want:
                raise CtcLabError(f"{file}: tensor {lp.name} has shape {list(a.shape)}, the model needs {want}")
            plan.append((lp, a))
        with torch.no_grad():
            for lp, a in plan:
                for p, v in zip(lp.params, lp.from_lab(torch.from_numpy(np.asarray(a, dtype=np.float32)))):
                    p.copy_(v)
        self.after_load()

    def init_spec(self) -> list[tuple[str, list[int], str, float]]:
        """The lab's initialisation, in the order it draws: (name, lab shape, kind, limit) with kind
        "uniform" (U(−limit, limit), row-major from the seeded Rng), "zeros", "ones" or "lstm_bias"."""
        raise NotImplementedError

    def lab_init(self, seed: int) -> None:
        """The weights the lab's createModel(config, seed) starts from, bit for bit."""
        from .rng import Rng

        rng = Rng(seed)
        tensors = {}
        for name, shape, kind, limit in self.init_spec():
            n = int(np.prod(shape))
            if kind == "uniform":
                a = ((2 * rng.uniforms(n) - 1) * limit).astype(np.float32)
            elif kind == "zeros":
                a = np.zeros(n, np.float32)
            elif kind == "ones":
                a = np.ones(n, np.float32)
            else:  # lstm_bias [2, 4H]: forget-gate columns H..2H at 1 in both directions
                a = np.zeros(shape, np.float32)
                H = shape[1] // 4
                a[:, H : 2 * H] = 1
            tensors[name] = a.reshape(shape)
        self.load_lab_tensors(tensors, "initialisation")

    def after_load(self) -> None:
        """Hook: parameters the lab has no tensor for (nn.LSTM's bias_hh) are reset here."""

    def lab_tensors(self) -> dict[str, np.ndarray]:
        """The weights in the lab's names and layouts (float32, C order)."""
        return {lp.name: _np(lp.to_lab([p.detach() for p in lp.params])) for lp in self.lab_params()}


def _np(t: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(t.detach().to("cpu", torch.float32).numpy())
