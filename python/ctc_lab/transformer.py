"""`transformer` preset (src/engine/model/transformer.ts), in PyTorch.

  x [B, T, F] → Conv1d k3 s2 p1 (F→d) + ReLU → Conv1d k3 s2 p1 (d→d) + ReLU  (masked at each rate)
                                                       T' = ceil(ceil(T/2)/2)
             → + sinusoidal positions (sin on even, cos on odd channels)
             → L × [h += dropout(MHSA(LN(h)));  h += dropout(FF(LN(h)))]   FF: d → 4d ReLU → d
             → LN → Linear d → V+1, × output mask          logits [B, T', V+1], class 0 = blank

Attention as the lab computes it: q scaled by 1/√(d/heads) before q·kᵀ, an additive −1e9 bias on
padded keys (a real frame attends to real frames only), qkv one Linear d → 3d (q | k | v, heads
contiguous in each: nn.MultiheadAttention's in_proj layout).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .model_base import LabModel, LabParam, ceil_half, conv_param, length_mask, linear_param, masked_input, norm_param


def positions(T: int, d: int) -> torch.Tensor:
    """[T, d] sinusoidal positions, computed in float64 and rounded to float32 as the lab does."""
    t = np.arange(T, dtype=np.float64)[:, None]
    i = np.arange(0, d, 2, dtype=np.float64)[None, :]
    a = t / 10000 ** (i / d)
    pe = np.empty((T, d), dtype=np.float64)
    pe[:, 0::2] = np.sin(a)
    pe[:, 1::2] = np.cos(a)
    return torch.from_numpy(pe.astype(np.float32))


class EncoderLayer(nn.Module):
    def __init__(self, d: int, heads: int):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(d, eps=1e-5)
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d, eps=1e-5)
        self.ff1 = nn.Linear(d, 4 * d)
        self.ff2 = nn.Linear(4 * d, d)

    def lab_params(self, p: str) -> list[LabParam]:
        return (
            norm_param(f"{p}.ln1", self.ln1) + linear_param(f"{p}.attn.qkv", self.qkv) + linear_param(f"{p}.attn.out", self.out)
            + norm_param(f"{p}.ln2", self.ln2) + linear_param(f"{p}.ff.1", self.ff1) + linear_param(f"{p}.ff.2", self.ff2)
        )

    def forward(self, s: torch.Tensor, key_bias: torch.Tensor, dropout: float, training: bool) -> torch.Tensor:
        B, T, d = s.shape
        dh = d // self.heads
        heads = lambda t: t.reshape(B, T, self.heads, dh).transpose(1, 2)  # noqa: E731  [B, heads, T, dh]
        q, k, v = (heads(t) for t in self.qkv(self.ln1(s)).split(d, dim=-1))
        scores = (q * (1 / math.sqrt(dh))) @ k.transpose(-1, -2) + key_bias  # [B, heads, T, T]
        ctx = (scores.softmax(-1) @ v).transpose(1, 2).reshape(B, T, d)
        s = s + F.dropout(self.out(ctx), dropout, training)
        return s + F.dropout(self.ff2(F.relu(self.ff1(self.ln2(s)))), dropout, training)


class Transformer(LabModel):
    preset = "transformer"
    subsampling = 4

    def __init__(self, config: dict) -> None:
        super().__init__(config)
        Fd, d, L, heads, V = (int(config[k]) for k in ("featureDim", "channels", "layers", "heads", "numClasses"))
        if d % 2 or d % heads:
            raise ValueError(f"transformer: d_model {d} must be even and divisible by the {heads} heads")
        self.d = d
        self.subsample = nn.ModuleList([nn.Conv1d(Fd, d, 3, stride=2, padding=1), nn.Conv1d(d, d, 3, stride=2, padding=1)])
        self.layers = nn.ModuleList(EncoderLayer(d, heads) for _ in range(L))
        self.ln_final = nn.LayerNorm(d, eps=1e-5)
        self.head = nn.Linear(d, V)
        self.dropout = float(config["dropout"])

    def lab_params(self) -> list[LabParam]:
        ps: list[LabParam] = []
        for i, c in enumerate(self.subsample):
            ps += conv_param(f"model.subsample.{i}", c)
        for i, layer in enumerate(self.layers):
            ps += layer.lab_params(f"model.layers.{i}")
        return ps + norm_param("model.ln_final", self.ln_final) + linear_param("model.head", self.head)

    def init_spec(self) -> list[tuple[str, list[int], str, float]]:
        Fd, d, L, V = (int(self.config[k]) for k in ("featureDim", "channels", "layers", "numClasses"))
        linear = lambda name, i, o: [(f"{name}.weight", [i, o], "uniform", math.sqrt(6 / (i + o))), (f"{name}.bias", [o], "zeros", 0)]  # noqa: E731
        norm = lambda name: [(f"{name}.gamma", [d], "ones", 0), (f"{name}.beta", [d], "zeros", 0)]  # noqa: E731
        spec = []
        for i, cin in enumerate([Fd, d]):
            spec += [(f"model.subsample.{i}.weight", [3, cin, d], "uniform", math.sqrt(6 / (3 * cin))), (f"model.subsample.{i}.bias", [d], "zeros", 0)]
        for i in range(L):
            p = f"model.layers.{i}"
            spec += norm(f"{p}.ln1") + linear(f"{p}.attn.qkv", d, 3 * d) + linear(f"{p}.attn.out", d, d)
            spec += norm(f"{p}.ln2") + linear(f"{p}.ff.1", d, 4 * d) + linear(f"{p}.ff.2", 4 * d, d)
        spec += norm("model.ln_final")
        return spec + [("model.head.weight", [d, V], "uniform", 0.1 * math.sqrt(6 / (d + V))), ("model.head.bias", [V], "zeros", 0)]

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        frames = lengths.to(x.device)  # per sample, at the current rate
        h = masked_input(x, frames)  # [B, F, T]
        for conv in self.subsample:
            frames = ceil_half(frames)
            h = F.relu(conv(h))
            h = h * length_mask(frames, h.shape[2]).transpose(1, 2)
        h = h.transpose(1, 2)  # [B, T', d]
        B, T, d = h.shape
        mask = length_mask(frames, T)  # [B, T', 1]
        s = h + positions(T, d).to(h.device, h.dtype)
        key_bias = ((1 - mask) * -1e9).reshape(B, 1, 1, T)
        for layer in self.layers:
            s = layer(s, key_bias, self.dropout, self.training)
        return self.head(self.ln_final(s)) * mask, frames
