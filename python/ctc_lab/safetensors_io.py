"""safetensors files as the lab writes them: 8-byte little-endian header length N, N bytes of
JSON header ({name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}),
then the raw little-endian tensor bytes (https://github.com/huggingface/safetensors).

The `safetensors` package is used when it is installed; otherwise this module reads and writes
the format itself (it is that small). Either way the same checks run, and errors name the file
and the tensor or field (src/engine/checkpoint/safetensors.ts refuses the same things).
"""

from __future__ import annotations

import json
import os
import struct

import numpy as np

from .errors import CtcLabError

# dtype names ↔ little-endian numpy dtypes (the lab writes F32 and I32, reads F16/F64 too).
DTYPES = {"F32": np.dtype("<f4"), "F16": np.dtype("<f2"), "F64": np.dtype("<f8"), "I32": np.dtype("<i4"), "I64": np.dtype("<i8")}
_NAMES = {v: k for k, v in DTYPES.items()}
# The safetensors crate refuses headers over 100 MB; so do the lab and this reader.
MAX_HEADER = 100_000_000


def _use_package() -> bool:
    if os.environ.get("CTC_LAB_OWN_SAFETENSORS"):  # tests force the built-in reader/writer
        return False
    try:
        import safetensors  # noqa: F401
    except ImportError:
        return False
    return True


def read_safetensors(path: str) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Tensors (name → numpy array, native byte order) and the string metadata of a file."""
    if _use_package():
        return _read_with_package(path)
    with open(path, "rb") as f:
        data = f.read()
    return parse_safetensors(data, path)


def _read_with_package(path: str) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    from safetensors import safe_open

    try:
        with safe_open(path, framework="np") as f:
            metadata = dict(f.metadata() or {})
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # the package's own error types differ between versions
        raise CtcLabError(f"{path}: not a readable safetensors file ({e})") from None
    return tensors, metadata


def parse_safetensors(data: bytes, file: str = "checkpoint") -> tuple[dict[str, np.ndarray], dict[str, str]]:
    if len(data) < 8:
        raise CtcLabError(f"{file}: too short to be a safetensors file ({len(data)} bytes)")
    (n,) = struct.unpack("<Q", data[:8])
    if n <= 0 or n > MAX_HEADER or 8 + n > len(data):
        raise CtcLabError(f"{file}: header length {n} does not fit in {len(data)} bytes; not a safetensors file")
    try:
        header = json.loads(data[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CtcLabError(f"{file}: header is not valid UTF-8 JSON ({e})") from None
    if not isinstance(header, dict):
        raise CtcLabError(f"{file}: header is {type(header).__name__}, expected a JSON object")
    body = memoryview(data)[8 + n :]
    tensors: dict[str, np.ndarray] = {}
    metadata: dict[str, str] = {}
    for name, v in header.items():
        if name == "__metadata__":
            if not isinstance(v, dict):
                raise CtcLabError(f"{file}: __metadata__ must be an object of strings")
            for k, s in v.items():
                if not isinstance(s, str):
                    raise CtcLabError(f"{file}: __metadata__.{k} is {json.dumps(s)[:40]}, expected a string")
                metadata[k] = s
            continue
        where = f"{file}: tensor {name}"
        if not isinstance(v, dict):
            raise CtcLabError(f"{where}: expected {{dtype, shape, data_offsets}}, got {json.dumps(v)[:40]}")
        dtype, shape, off = v.get("dtype"), v.get("shape"), v.get("data_offsets")
        if dtype not in DTYPES:
            raise CtcLabError(f"{where} has unsupported dtype {json.dumps(dtype)[:20]} ({', '.join(DTYPES)})")
        is_count = lambda x: isinstance(x, int) and not isinstance(x, bool) and x >= 0  # noqa: E731
        if not isinstance(shape, list) or not all(is_count(d) for d in shape):
            raise CtcLabError(f"{where}: shape {json.dumps(shape)[:40]} is not a list of non-negative integers")
        if not isinstance(off, list) or len(off) != 2 or not all(is_count(x) for x in off):
            raise CtcLabError(f"{where}: data_offsets {json.dumps(off)[:40]} is not [begin, end] in bytes")
        b, e = off
        dt = DTYPES[dtype]
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if not (b <= e <= len(body) and e - b == count * dt.itemsize):
            raise CtcLabError(f"{where} offsets [{b}, {e}] do not match shape {shape} {dtype} in {len(body)} data bytes")
        arr = np.frombuffer(body[b:e], dtype=dt).reshape(shape)
        tensors[name] = arr.astype(dt.newbyteorder("="), copy=True)
    return tensors, metadata


def write_safetensors(path: str, tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> None:
    """Writes atomically: a temporary file next to `path`, then a rename (a crash leaves the old file)."""
    arrays = {}
    for name, a in tensors.items():
        a = np.ascontiguousarray(a)
        dt = a.dtype.newbyteorder("<")
        if dt not in _NAMES:
            raise CtcLabError(f"{path}: tensor {name} has dtype {a.dtype}, which the lab does not read")
        arrays[name] = a.astype(dt, copy=False)
    tmp = f"{path}.tmp-{os.getpid()}"
    if _use_package():
        from safetensors.numpy import save_file

        save_file(arrays, tmp, metadata=metadata)
    else:
        with open(tmp, "wb") as f:
            f.write(encode_safetensors(arrays, metadata))
    os.replace(tmp, path)


def encode_safetensors(tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> bytes:
    """The lab's layout: names sorted, data in that order, header padded with spaces to 8 bytes."""
    names = sorted(tensors)
    header: dict[str, object] = {}
    if metadata:
        header["__metadata__"] = metadata
    offset = 0
    for name in names:
        a = tensors[name]
        header[name] = {"dtype": _NAMES[a.dtype.newbyteorder("<")], "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    hb = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    hb += b" " * ((8 - len(hb) % 8) % 8)
    parts = [struct.pack("<Q", len(hb)), hb]
    parts += [np.ascontiguousarray(tensors[n]).astype(tensors[n].dtype.newbyteorder("<"), copy=False).tobytes() for n in names]
    return b"".join(parts)
