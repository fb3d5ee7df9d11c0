"""Reading .npy arrays as the lab reads them (src/data/npy.ts): no pickles; features are float16,
float32 or float64, shape [T, F] or [T, a, b, …] (flattened to [T, a·b·…]). Every refusal names
the file (or archive:member).
"""

from __future__ import annotations

import io

import numpy as np

from .errors import CtcLabError


def read_npy(data: bytes, where: str) -> np.ndarray:
    """One .npy file's array (no pickles); refusals name the file."""
    try:
        a = np.load(io.BytesIO(data), allow_pickle=False)
    except Exception as e:
        raise CtcLabError(f"{where}: not a readable .npy file ({e})") from None
    if isinstance(a, np.lib.npyio.NpzFile):
        raise CtcLabError(f"{where}: is an .npz archive, expected a .npy file")
    return a


def check_features(a: np.ndarray, where: str) -> np.ndarray:
    """[T, F] float32 from an array as stored ([T, a, b, …] flattened); refused as the lab refuses."""
    if a.dtype.kind != "f" or a.dtype.itemsize not in (2, 4, 8):
        raise CtcLabError(f"{where}: dtype '{a.dtype.str}': only float16, float32 or float64 features are supported")
    if a.ndim < 2:
        raise CtcLabError(f"{where}: shape {tuple(a.shape)} must be [frames, features, ...]; got {a.ndim}-D")
    if a.shape[0] == 0:
        raise CtcLabError(f"{where}: has 0 frames")
    dim = int(np.prod(a.shape[1:]))
    if dim == 0:
        raise CtcLabError(f"{where}: has 0 features per frame")
    return np.ascontiguousarray(a.reshape(a.shape[0], dim), dtype=np.float32)


def read_features(data: bytes, where: str) -> np.ndarray:
    """A features .npy file → [T, F] float32."""
    return check_features(read_npy(data, where), where)
