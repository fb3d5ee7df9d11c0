"""Augmentation of training batches as the lab does it (src/engine/augment/): the same plan from the
same counter-based draws (plan.ts), applied with the same float32 operations (augment.ts), so a batch
augmented here equals the lab's (python/tests/test_augment.py, on the lab-written fixture).

Draws are hashes of (seed, epoch, the sample's place in the epoch's order, stream, counter); the
place is micro-batch index · batchSize + slot. Ops, in order: time stretch (length × a factor drawn in
[stretchMin, stretchMax], linear interpolation, clamped so the labels still fit the output frames),
frame dropping (up to frameDrop of the frames), feature-axis warp (±featureWarp), Gaussian noise (σ),
time and feature masks (to 0, the normalised mean). Every op at its neutral value is off.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

# The lab's AUGMENT_OFF and AUGMENT_DEFAULTS (settings.ts).
AUGMENT_OFF = {"stretchMin": 1, "stretchMax": 1, "timeMasks": 0, "timeMaskWidth": 0.05, "featureMasks": 0, "featureMaskWidth": 0.15,
               "featureWarp": 0, "noise": 0, "frameDrop": 0}
AUGMENT_DEFAULTS = {**AUGMENT_OFF, "stretchMin": 0.9, "stretchMax": 1.1, "timeMasks": 2, "featureMasks": 2}
MAX_MASKS, MAX_STRETCH = 20, 4

_M = 0xFFFFFFFF
_GOLDEN = 0x9E3779B9
STREAM = {"scalars": 1, "drop": 2, "noise": 3}
_C = {"stretch": 0, "drop": 1, "warp": 2, "masks": 3}


def active(a: dict | None) -> bool:
    return bool(a) and (a["stretchMin"] != 1 or a["stretchMax"] != 1 or a["timeMasks"] > 0 or a["featureMasks"] > 0
                        or a["featureWarp"] > 0 or a["noise"] > 0 or a["frameDrop"] > 0)


def problems(a: dict) -> list[str]:
    """The lab's augmentProblems: each bad field named."""
    out = []

    def num(k, ok, want):
        x = a.get(k)
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x) or not ok(x):
            out.append(f"augment.{k}: expected {want}, got {x}")

    num("stretchMin", lambda x: 0 < x <= MAX_STRETCH, f"a factor above 0 and at most {MAX_STRETCH}")
    num("stretchMax", lambda x: 0 < x <= MAX_STRETCH, f"a factor above 0 and at most {MAX_STRETCH}")
    if not out and a["stretchMin"] > a["stretchMax"]:
        out.append(f"augment.stretchMin: expected at most stretchMax ({a['stretchMax']}), got {a['stretchMin']}")
    num("timeMasks", lambda x: float(x).is_integer() and 0 <= x <= MAX_MASKS, f"an integer from 0 to {MAX_MASKS}")
    num("timeMaskWidth", lambda x: 0 < x < 1, "a fraction of the frames above 0 and below 1")
    num("featureMasks", lambda x: float(x).is_integer() and 0 <= x <= MAX_MASKS, f"an integer from 0 to {MAX_MASKS}")
    num("featureMaskWidth", lambda x: 0 < x < 1, "a fraction of the feature dim above 0 and below 1")
    num("featureWarp", lambda x: 0 <= x < 1, "a fraction from 0 to below 1")
    num("noise", lambda x: 0 <= x <= 10, "a σ from 0 to 10")
    num("frameDrop", lambda x: 0 <= x < 1, "a fraction from 0 to below 1")
    return out


# ---------------------------------------------------------------- the counter-based generator (plan.ts)


def mix32(x):
    """lowbias32 on Python ints or numpy uint64 arrays (values < 2³²)."""
    if isinstance(x, np.ndarray):
        m = np.uint64(_M)
        x = x & m
        x ^= x >> np.uint64(16)
        x = (x * np.uint64(0x7FEB352D)) & m
        x ^= x >> np.uint64(15)
        x = (x * np.uint64(0x846CA68B)) & m
        x ^= x >> np.uint64(16)
        return x
    x &= _M
    x ^= x >> 16
    x = (x * 0x7FEB352D) & _M
    x ^= x >> 15
    x = (x * 0x846CA68B) & _M
    x ^= x >> 16
    return x


def stream_key(parts) -> int:
    h = 0x243F6A88
    for p in parts:
        h = mix32(((h ^ (int(p) % 2**32)) + _GOLDEN) & _M)
    return h


def draw32(key: int, counter):
    if isinstance(counter, np.ndarray):
        c = counter.astype(np.uint64)
        return mix32((mix32(np.uint64(key) ^ c) + np.uint64(_GOLDEN)) & np.uint64(_M))
    return mix32((mix32(key ^ counter) + _GOLDEN) & _M)


def uniform(key: int, counter):
    d = draw32(key, counter)
    return d.astype(np.float64) / 4294967296.0 if isinstance(d, np.ndarray) else d / 4294967296


def normals(key: int, n: int) -> np.ndarray:
    """Box–Muller on draws 2c, 2c + 1 for c < n, as the lab's normal(key, c)."""
    c = np.arange(n, dtype=np.uint64)
    u1 = (draw32(key, 2 * c).astype(np.float64) + 0.5) / 4294967296.0
    u2 = draw32(key, 2 * c + 1).astype(np.float64) / 4294967296.0
    return np.sqrt(-2 * np.log(u1)) * np.cos(2 * math.pi * u2)


# ---------------------------------------------------------------- the plan (plan.ts)


def _masks(keep: np.ndarray, n: int, count: int, frac: float, key: int, c0: int) -> None:
    max_w = math.floor(frac * n)
    for m in range(count):
        w = min(max_w, math.floor(uniform(key, c0 + 2 * m) * (max_w + 1)))
        s = min(n - w, math.floor(uniform(key, c0 + 2 * m + 1) * (n - w + 1)))
        keep[s : s + w] = 0


def plan_augmentation(a: dict, key: dict, T: int, F: int, frames: list[int], min_frames: list[int], out_frames: Callable[[int], int]) -> dict:
    """The lab's planAugmentation: lengths, interpolation rows, noise and keep masks (numpy)."""
    B = len(frames)
    keys = []
    for b in range(B):
        n = key["batch"] * key["batchSize"] + b
        keys.append({s: stream_key([key["seed"], key["epoch"], n, STREAM[s]]) for s in STREAM})
    time_on = a["stretchMin"] != 1 or a["stretchMax"] != 1 or a["frameDrop"] > 0
    new_frames = list(frames)
    stretch = [1.0] * B
    clamped = [False] * B
    rows: list[list[tuple[int, float]]] = []
    if time_on:
        for b in range(B):
            Tb, need = int(frames[b]), int(min_frames[b])
            f = a["stretchMin"] + (a["stretchMax"] - a["stretchMin"]) * uniform(keys[b]["scalars"], _C["stretch"])
            n = max(1, math.floor(Tb * f + 0.5))
            if n < Tb and out_frames(n) < need:
                while n < Tb and out_frames(n) < need:
                    n += 1
                clamped[b] = True
            stretch[b] = n / Tb
            r = []
            for j in range(n):
                p = (j * (Tb - 1)) / (n - 1) if n > 1 else 0.0
                i0 = min(math.floor(p), Tb - 1)
                r.append((i0, 0.0 if i0 >= Tb - 1 else p - i0))
            D = math.floor(a["frameDrop"] * uniform(keys[b]["scalars"], _C["drop"]) * n)
            while D > 0 and out_frames(n - D) < need:
                D -= 1
                clamped[b] = True
            if D > 0:
                u = uniform(keys[b]["drop"], np.arange(n))
                gone = set(sorted(range(n), key=lambda j: (u[j], j))[:D])
                r = [x for j, x in enumerate(r) if j not in gone]
            rows.append(r)
            new_frames[b] = len(r)
    T2 = max(new_frames) if time_on else T
    time = None
    if time_on:
        i0s, i1s = np.zeros(B * T2, np.int64), np.zeros(B * T2, np.int64)
        wa, wb = np.zeros(B * T2, np.float32), np.zeros(B * T2, np.float32)
        for b in range(B):
            Tb = int(frames[b])
            for j in range(T2):
                o = b * T2 + j
                if j >= len(rows[b]):
                    i0s[o] = i1s[o] = b * T
                    continue
                i0, w = rows[b][j]
                i0s[o], i1s[o] = b * T + i0, b * T + min(i0 + 1, Tb - 1)
                wa[o], wb[o] = 1 - w, w
        time = (i0s, i1s, wa, wb)
    warp = None
    if a["featureWarp"] > 0:
        i0s, i1s = np.zeros(B * F, np.int64), np.zeros(B * F, np.int64)
        wa, wb = np.zeros(B * F, np.float32), np.zeros(B * F, np.float32)
        for b in range(B):
            s = 1 + a["featureWarp"] * (2 * uniform(keys[b]["scalars"], _C["warp"]) - 1)
            for d in range(F):
                q = min(d / s, F - 1)
                i0 = math.floor(q)
                o = b * F + d
                i0s[o], i1s[o] = b * F + i0, b * F + min(i0 + 1, F - 1)
                wa[o], wb[o] = 1 - (q - i0), q - i0
        warp = (i0s, i1s, wa, wb)
    noise = None
    if a["noise"] > 0:
        noise = np.zeros((B, T2 * F), np.float32)
        for b in range(B):
            noise[b, : new_frames[b] * F] = (a["noise"] * normals(keys[b]["noise"], new_frames[b] * F)).astype(np.float32)
        noise = noise.reshape(B, T2, F)
    keep_t = None
    if a["timeMasks"] > 0:
        keep_t = np.ones((B, T2), np.float32)
        for b in range(B):
            _masks(keep_t[b], new_frames[b], int(a["timeMasks"]), a["timeMaskWidth"], keys[b]["scalars"], _C["masks"])
    keep_f = None
    if a["featureMasks"] > 0:
        keep_f = np.ones((B, F), np.float32)
        for b in range(B):
            _masks(keep_f[b], F, int(a["featureMasks"]), a["featureMaskWidth"], keys[b]["scalars"], _C["masks"] + 2 * int(a["timeMasks"]))
    return {"B": B, "T": T, "F": F, "T2": T2, "frames": new_frames, "stretch": stretch, "clamped": clamped,
            "time": time, "warp": warp, "noise": noise, "keepT": keep_t, "keepF": keep_f}


# ---------------------------------------------------------------- applying it (augment.ts), float32 torch


def _lerp_rows(src: torch.Tensor, lerp: tuple) -> torch.Tensor:
    i0, i1, wa, wb = lerp
    dev = src.device
    a = src[torch.from_numpy(i0).to(dev)]
    b = src[torch.from_numpy(i1).to(dev)]
    return a * torch.from_numpy(wa).to(dev)[:, None] + b * torch.from_numpy(wb).to(dev)[:, None]


def apply_plan(p: dict, x: torch.Tensor) -> torch.Tensor:
    """x [B, T, F] float32 → [B, T2, F], the same operations in the same order as the lab."""
    B, T, F, T2 = p["B"], p["T"], p["F"], p["T2"]
    y = x
    if p["time"] is not None:
        y = _lerp_rows(y.reshape(B * T, F), p["time"]).reshape(B, T2, F)
    if p["warp"] is not None:
        rows = y.transpose(1, 2).reshape(B * F, T2)
        y = _lerp_rows(rows, p["warp"]).reshape(B, F, T2).transpose(1, 2)
    if p["noise"] is not None:
        y = y + torch.from_numpy(p["noise"]).to(y.device)
    if p["keepT"] is not None:
        y = y * torch.from_numpy(p["keepT"]).to(y.device)[:, :, None]
    if p["keepF"] is not None:
        y = y * torch.from_numpy(p["keepF"]).to(y.device)[:, None, :]
    return y.contiguous()


def augment_batch(batch, a: dict | None, key: dict, out_frames: Callable[[int], int]):
    """A training batch (batch.py's Batch) augmented as the lab's augmentedBatchTensors; the batch itself when every op is off."""
    if not active(a):
        return batch
    from .evaluate import ctc_min_frames

    need = [ctc_min_frames(batch.labels[b, : int(batch.label_lengths[b])].tolist()) for b in range(batch.x.shape[0])]
    p = plan_augmentation(a, key, batch.x.shape[1], batch.x.shape[2], [int(n) for n in batch.lengths], need, out_frames)
    batch.x = apply_plan(p, batch.x)
    batch.lengths = torch.tensor(p["frames"], dtype=batch.lengths.dtype)
    return batch
