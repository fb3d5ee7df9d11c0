"""The built-in safetensors reader / writer: the public layout, and refusals that name the file."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from ctc_lab.errors import CtcLabError
from ctc_lab.safetensors_io import encode_safetensors, parse_safetensors


def test_layout_and_round_trip():
    t = {"model.b": np.arange(3, dtype=np.float32), "model.a": np.arange(6, dtype=np.int32).reshape(2, 3)}
    data = encode_safetensors(t, {"ctc_lab": '{"x":1}'})
    (n,) = struct.unpack("<Q", data[:8])
    assert (8 + n) % 8 == 0
    header = json.loads(data[8 : 8 + n])
    assert header["__metadata__"] == {"ctc_lab": '{"x":1}'}
    assert header["model.a"] == {"dtype": "I32", "shape": [2, 3], "data_offsets": [0, 24]}  # sorted by name
    assert header["model.b"] == {"dtype": "F32", "shape": [3], "data_offsets": [24, 36]}
    back, meta = parse_safetensors(data, "x")
    assert meta == {"ctc_lab": '{"x":1}'}
    for k in t:
        assert np.array_equal(back[k], t[k]) and back[k].dtype == t[k].dtype


@pytest.mark.parametrize(
    "mutate,message",
    [
        (lambda d: d[:4], "x.safetensors: too short"),
        (lambda d: struct.pack("<Q", 10**6) + d[8:], "header length 1000000 does not fit"),
        (lambda d: d[:-4], "x.safetensors: tensor w offsets"),
        (lambda d: d[:8] + d[8:].replace(b'"F32"', b'"Q99"', 1), 'unsupported dtype "Q99"'),
        (lambda d: d[:8] + b"[" + d[9:], "x.safetensors: header is not valid UTF-8 JSON"),
    ],
)
def test_bad_files_are_refused_by_name(mutate, message):
    data = encode_safetensors({"w": np.zeros(4, np.float32)}, {"k": "v"})
    with pytest.raises(CtcLabError, match=message):
        parse_safetensors(mutate(data), "x.safetensors")
