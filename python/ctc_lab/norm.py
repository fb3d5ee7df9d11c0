"""Feature normalisation as the lab's trainer applies it (src/data/norm.ts): per dimension
(x − mean) / std, where a dimension whose std is (near) zero is centred, not scaled.
"""

from __future__ import annotations

import numpy as np

MIN_STD = 1e-8


def inverse_scales(std: list[float] | np.ndarray) -> np.ndarray:
    """What each dimension is multiplied by after centring (float64)."""
    std = np.asarray(std, dtype=np.float64)
    return np.where(std > MIN_STD, 1 / np.where(std > MIN_STD, std, 1), 1.0)


def normalised(x: np.ndarray, mean: np.ndarray, inv: np.ndarray) -> np.ndarray:
    """(float32 x − float64 mean) · float64 scale, rounded to float32: the lab's arithmetic."""
    return ((x.astype(np.float64) - mean) * inv).astype(np.float32)
