"""The presets by name, their default sizes (src/engine/model/presets.ts), and building one from a
stored model config, checked as the lab's parseModelConfig checks it."""

from __future__ import annotations

import math

from .errors import CtcLabError
from .model_base import LabModel
from .tcn import Tcn
from .tconv_bilstm import TconvBilstm
from .transformer import Transformer

PRESETS: dict[str, type[LabModel]] = {"tcn": Tcn, "tconv-bilstm": TconvBilstm, "transformer": Transformer}

# Default sizes per preset (the lab's PRESET_DEFAULTS): channels, layers, hidden, heads.
PRESET_DEFAULTS = {
    "tcn": {"channels": 64, "layers": 3, "hidden": 128, "heads": 4},
    "tconv-bilstm": {"channels": 128, "layers": 2, "hidden": 128, "heads": 4},
    "transformer": {"channels": 128, "layers": 4, "hidden": 128, "heads": 4},
}
TCN_KERNEL = 3

# Fields each preset's config needs; tcn's subsampling may be absent (older checkpoints: 2).
REQUIRED = {
    "tcn": ["featureDim", "numClasses", "channels", "layers", "kernel", "dropout"],
    "tconv-bilstm": ["featureDim", "numClasses", "channels", "layers", "hidden", "dropout"],
    "transformer": ["featureDim", "numClasses", "channels", "layers", "heads", "dropout"],
}


def model_config(knobs: dict, feature_dim: int, num_classes: int) -> dict:
    """The lab's modelConfig(knobs, featureDim, numClasses): what a checkpoint stores as `model`."""
    p = knobs["preset"]
    base = {"preset": p, "featureDim": feature_dim, "numClasses": num_classes, "channels": knobs["channels"], "layers": knobs["layers"]}
    if p == "tcn":
        return {**base, "kernel": TCN_KERNEL, "dropout": knobs["dropout"], "subsampling": knobs.get("subsampling", 2)}
    if p == "tconv-bilstm":
        return {**base, "hidden": knobs["hidden"], "dropout": knobs["dropout"]}
    return {**base, "heads": knobs["heads"], "dropout": knobs["dropout"]}


def parse_model_config(raw: object, file: str) -> dict:
    if not isinstance(raw, dict):
        raise CtcLabError(f"{file}: no model config in the metadata")
    preset = raw.get("preset")
    if preset not in PRESETS:
        raise CtcLabError(f"{file}: model preset '{preset}' is unknown (this lab has {', '.join(PRESETS)})")
    for k in REQUIRED[preset]:
        if k not in raw:
            raise CtcLabError(f"{file}: model config has no field {k} (needed by preset {preset})")
    for k, v in raw.items():
        if k != "preset" and (not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v)):
            raise CtcLabError(f"{file}: model config field {k} is {v!r}, expected a number")
    if preset == "tcn" and raw.get("subsampling", 2) not in (2, 4):
        raise CtcLabError(f"{file}: model config field subsampling is {raw['subsampling']}, expected 2 or 4 (tcn)")
    return dict(raw)


def build_model(config: dict) -> LabModel:
    return PRESETS[config["preset"]](config)
