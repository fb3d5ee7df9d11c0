"""The lab's seeded PRNG (mulberry32, src/lib/rng.ts), bit for bit: splits, shuffles and
length-bucketed batches come out in the same order as in the browser."""

from __future__ import annotations

_M32 = 0xFFFFFFFF


def _imul(a: int, b: int) -> int:
    """Math.imul: 32-bit wrapping multiply (the sign does not matter below: results go through >>> 0)."""
    return (a * b) & _M32


class Rng:
    def __init__(self, seed: int | float):
        # JS `seed >>> 0`: ToUint32 (truncate towards zero, then modulo 2^32).
        self.state = int(seed) % 2**32

    def next(self) -> float:
        """Uniform in [0, 1), the same double the lab draws."""
        self.state = (self.state + 0x6D2B79F5) & _M32
        t = self.state
        t = _imul(t ^ (t >> 15), t | 1)
        t ^= (t + _imul(t ^ (t >> 7), t | 61)) & _M32
        return ((t ^ (t >> 14)) & _M32) / 4294967296

    def int(self, lo: int, hi: int) -> int:
        return lo + int(self.next() * (hi - lo + 1))

    def shuffle(self, xs: list) -> list:
        """Fisher-Yates in place, as the lab's Rng.shuffle."""
        for i in range(len(xs) - 1, 0, -1):
            j = int(self.next() * (i + 1))
            xs[i], xs[j] = xs[j], xs[i]
        return xs

    def uniforms(self, n: int):
        """The next n draws of `next()` at once (numpy float64): the state only ever advances by a
        constant, so draw i is a pure function of state + (i + 1)·0x6D2B79F5."""
        import numpy as np

        m = np.uint64(_M32)
        s = (np.uint64(self.state) + np.arange(1, n + 1, dtype=np.uint64) * np.uint64(0x6D2B79F5)) & m
        t = ((s ^ (s >> np.uint64(15))) * (s | np.uint64(1))) & m
        t ^= (t + (((t ^ (t >> np.uint64(7))) * (t | np.uint64(61))) & m)) & m
        out = ((t ^ (t >> np.uint64(14))) & m).astype(np.float64) / 4294967296.0
        self.state = (self.state + n * 0x6D2B79F5) & _M32
        return out
