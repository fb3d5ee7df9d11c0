"""`tcn` preset (src/engine/model/tcn.ts), in PyTorch.

  x [B, T, F] → Conv1d k3 stride 2 pad 1 (F→C) + ReLU          T' = ceil(T/2)
             [→ Conv1d k3 stride 2 pad 1 (C→C) + ReLU]        subsampling 4 only: T' = ceil(ceil(T/2)/2)
             → L × residual [Conv1d k3 dilation 2^i 'same' (C→C) + ReLU + dropout]   (masked)
             → Linear C → V+1                                 logits [B, T', V+1], class 0 = blank

The lab pads symmetrically then runs a 'valid' stride-2 conv, which is Conv1d(padding=1,
stride=2): the stride grid is anchored at frame 0 whatever the batch's padded length. Every block's
output is masked at the output rate (the half rate too with subsampling 4), so a sample's outputs
do not depend on its batch.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .model_base import LabModel, LabParam, ceil_half, conv_param, length_mask, linear_param, masked_input


class Tcn(LabModel):
    preset = "tcn"

    def __init__(self, config: dict) -> None:
        super().__init__(config)
        Fd, C, K, L, V = (int(config[k]) for k in ("featureDim", "channels", "kernel", "layers", "numClasses"))
        self.subsampling = int(config.get("subsampling", 2))
        half = (K - 1) // 2
        self.subsample = nn.Conv1d(Fd, C, K, stride=2, padding=half)
        self.subsample2 = nn.Conv1d(C, C, K, stride=2, padding=half) if self.subsampling == 4 else None
        self.blocks = nn.ModuleList(nn.Conv1d(C, C, K, dilation=2**i, padding=half * 2**i) for i in range(L))
        self.head = nn.Linear(C, V)
        self.dropout = float(config["dropout"])

    def lab_params(self) -> list[LabParam]:
        ps = conv_param("model.subsample", self.subsample)
        if self.subsample2 is not None:
            ps += conv_param("model.subsample2", self.subsample2)
        for i, b in enumerate(self.blocks):
            ps += conv_param(f"model.blocks.{i}", b)
        return ps + linear_param("model.head", self.head)

    def init_spec(self) -> list[tuple[str, list[int], str, float]]:
        Fd, C, K, L, V = (int(self.config[k]) for k in ("featureDim", "channels", "kernel", "layers", "numClasses"))
        # He-uniform for ReLU layers; the head ×0.1 of Glorot (the first loss sits at the uniform baseline).
        spec = [("model.subsample.weight", [K, Fd, C], "uniform", math.sqrt(6 / (K * Fd))), ("model.subsample.bias", [C], "zeros", 0)]
        if self.subsampling == 4:
            spec += [("model.subsample2.weight", [K, C, C], "uniform", math.sqrt(6 / (K * C))), ("model.subsample2.bias", [C], "zeros", 0)]
        for i in range(L):
            spec += [(f"model.blocks.{i}.weight", [K, C, C], "uniform", math.sqrt(6 / (K * C))), (f"model.blocks.{i}.bias", [C], "zeros", 0)]
        return spec + [("model.head.weight", [C, V], "uniform", 0.1 * math.sqrt(6 / (C + V))), ("model.head.bias", [V], "zeros", 0)]

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        lengths = lengths.to(x.device)
        h = F.relu(self.subsample(masked_input(x, lengths)))  # [B, C, T1]
        if self.subsample2 is not None:
            h = h * length_mask(ceil_half(lengths), h.shape[2]).transpose(1, 2)
            h = F.relu(self.subsample2(h))
        out_frames = self.out_frames(lengths)
        mask = length_mask(out_frames, h.shape[2]).transpose(1, 2)  # [B, 1, T']
        h = h * mask
        for block in self.blocks:
            y = F.dropout(F.relu(block(h)), self.dropout, self.training)
            h = (h + y) * mask
        return self.head(h.transpose(1, 2)), out_frames
