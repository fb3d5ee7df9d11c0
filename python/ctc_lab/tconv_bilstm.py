"""`tconv-bilstm` preset (src/engine/model/tconv_bilstm.ts), in PyTorch.

  x [B, T, F] → 2 × [Conv1d k5 'same' + ReLU (masked) → max-pool 2, ceil]       T' = ceil(ceil(T/2)/2)
             → nn.LSTM(bidirectional, L layers, dropout between layers) on packed sequences
             → dropout → Linear 2H → V+1                       logits [B, T', V+1], class 0 = blank

Layouts: the lab keeps per layer w_ih [2, Cin, 4H], w_hh [2, H, 4H] (direction 0 forward, gate
columns i|f|g|o, PyTorch's order) and one bias [2, 4H] = PyTorch's b_ih + b_hh. nn.LSTM holds the
same gates as weight_ih_l{l}[_reverse] [4H, Cin] (transposed); the lab's bias goes to bias_ih and
bias_hh is held at zero, not trained: two trained copies of one bias would each get the full
Adam step, twice the lab's update.

Masking: packed sequences run each direction over a sample's own frames only, which is what the
lab's in-length reversal does; the ceil max-pool against a zero pad equals the unbatched result
because the masked ReLU output is ≥ 0.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .model_base import LabModel, LabParam, ceil_half, conv_param, length_mask, linear_param, masked_input

KERNEL = 5


def max_pool2(h: torch.Tensor) -> torch.Tensor:
    """[B, C, T] → [B, C, ceil(T/2)]; an odd length is padded with one zero frame (values are ≥ 0)."""
    if h.shape[2] % 2:
        h = F.pad(h, (0, 1))
    return F.max_pool1d(h, 2)


class TconvBilstm(LabModel):
    preset = "tconv-bilstm"
    subsampling = 4

    def __init__(self, config: dict) -> None:
        super().__init__(config)
        Fd, C, L, H, V = (int(config[k]) for k in ("featureDim", "channels", "layers", "hidden", "numClasses"))
        self.hidden = H
        self.conv = nn.ModuleList([nn.Conv1d(Fd, C, KERNEL, padding=KERNEL // 2), nn.Conv1d(C, C, KERNEL, padding=KERNEL // 2)])
        self.dropout = float(config["dropout"])
        self.lstm = nn.LSTM(C, H, num_layers=L, bidirectional=True, batch_first=True, dropout=self.dropout if L > 1 else 0.0)
        for name, p in self.lstm.named_parameters():
            if name.startswith("bias_hh"):
                p.requires_grad_(False)
        self.head = nn.Linear(2 * H, V)
        self.after_load()

    def after_load(self) -> None:
        with torch.no_grad():
            for name, p in self.lstm.named_parameters():
                if name.startswith("bias_hh"):
                    p.zero_()

    def lab_params(self) -> list[LabParam]:
        ps: list[LabParam] = []
        for i, c in enumerate(self.conv):
            ps += conv_param(f"model.conv.{i}", c)
        for l in range(self.lstm.num_layers):
            get = lambda kind: [getattr(self.lstm, f"{kind}_l{l}"), getattr(self.lstm, f"{kind}_l{l}_reverse")]  # noqa: E731
            two_t = (lambda t: torch.stack([t[0].t(), t[1].t()]), lambda a: [a[0].t(), a[1].t()])
            two = (lambda t: torch.stack([t[0], t[1]]), lambda a: [a[0], a[1]])
            ps += [
                LabParam(f"model.lstm.{l}.w_ih", get("weight_ih"), *two_t),
                LabParam(f"model.lstm.{l}.w_hh", get("weight_hh"), *two_t),
                LabParam(f"model.lstm.{l}.bias", get("bias_ih"), *two),
            ]
        return ps + linear_param("model.head", self.head)

    def init_spec(self) -> list[tuple[str, list[int], str, float]]:
        Fd, C, L, H, V = (int(self.config[k]) for k in ("featureDim", "channels", "layers", "hidden", "numClasses"))
        spec = []
        for i, cin in enumerate([Fd, C]):
            spec += [(f"model.conv.{i}.weight", [KERNEL, cin, C], "uniform", math.sqrt(6 / (KERNEL * cin))), (f"model.conv.{i}.bias", [C], "zeros", 0)]
        for l in range(L):
            spec += [
                (f"model.lstm.{l}.w_ih", [2, C if l == 0 else 2 * H, 4 * H], "uniform", 1 / math.sqrt(H)),
                (f"model.lstm.{l}.w_hh", [2, H, 4 * H], "uniform", 1 / math.sqrt(H)),
                (f"model.lstm.{l}.bias", [2, 4 * H], "lstm_bias", 0),
            ]
        return spec + [("model.head.weight", [2 * H, V], "uniform", 0.1 * math.sqrt(6 / (2 * H + V))), ("model.head.bias", [V], "zeros", 0)]

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        frames = lengths.to(x.device)  # per sample, at the current rate
        h = masked_input(x, frames)  # [B, F, T]
        for conv in self.conv:
            y = F.relu(conv(h)) * length_mask(frames, h.shape[2]).transpose(1, 2)
            h = max_pool2(y)
            frames = ceil_half(frames)
        T = h.shape[2]
        packed = pack_padded_sequence(h.transpose(1, 2), frames.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        h, _ = pad_packed_sequence(out, batch_first=True, total_length=T)  # [B, T', 2H], zero on padding
        h = F.dropout(h, self.dropout, self.training)
        return self.head(h), frames
