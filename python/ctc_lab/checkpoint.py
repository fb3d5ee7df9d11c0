"""Lab checkpoints (docs/ARCHITECTURE.md "Checkpoint format"): one .safetensors file, model tensors "model.…",
optimizer slots "optim.<slot>.model.…", and __metadata__.ctc_lab, a JSON string (format
"ctc-lab/1", model config, subsampling, vocab, blank, normalisation, training config and state,
history, dataset). Read without executing anything; written in the same layout.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import numpy as np

from .errors import CtcLabError
from .model_base import LabModel
from .models import build_model, parse_model_config
from .safetensors_io import read_safetensors, write_safetensors

FORMAT = "ctc-lab/1"


def read_checkpoint(path: str) -> tuple[dict, dict[str, np.ndarray]]:
    """(metadata, tensors) of a lab checkpoint, checked: format, model config, vocabulary, normalisation."""
    tensors, metadata = read_safetensors(path)
    if "ctc_lab" not in metadata:
        raise CtcLabError(f"{path}: no __metadata__.ctc_lab; not a CTC Lab checkpoint")
    try:
        meta = json.loads(metadata["ctc_lab"])
    except json.JSONDecodeError as e:
        raise CtcLabError(f"{path}: __metadata__.ctc_lab is not valid JSON ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        got = meta.get("format") if isinstance(meta, dict) else None
        raise CtcLabError(f"{path}: checkpoint format '{got}', expected '{FORMAT}'")
    meta["model"] = parse_model_config(meta.get("model"), path)
    vocab = meta.get("vocab")
    if not isinstance(vocab, list) or not all(isinstance(t, str) for t in vocab):
        raise CtcLabError(f"{path}: metadata field vocab is not a list of tokens")
    if meta["model"]["numClasses"] != len(vocab) + 1:
        raise CtcLabError(f"{path}: the model has {meta['model']['numClasses']} classes but the vocabulary {len(vocab)} tokens (+1 blank)")
    norm = meta.get("normalisation")
    fd = meta["model"]["featureDim"]
    if not isinstance(norm, dict) or any(not isinstance(norm.get(k), list) or len(norm[k]) != fd for k in ("mean", "std")):
        raise CtcLabError(f"{path}: metadata field normalisation needs mean and std with {fd} values (the model's feature dim)")
    return meta, tensors


def load_checkpoint(path: str, device: str = "cpu") -> tuple[LabModel, dict]:
    """The checkpoint's model (preset and sizes from its metadata, weights loaded, eval mode) and its metadata.

    model(x [B, T, F] float32, lengths [B]) → (logits [B, T', V+1], out_frames [B]); class 0 is
    the blank. Features must be normalised as meta["normalisation"] says (ctc_lab.batch.make_batch does it).
    """
    meta, tensors = read_checkpoint(path)
    model = build_model(meta["model"])
    model.load_lab_tensors(tensors, path)
    return model.to(device).eval(), meta


def new_meta(**parts) -> dict:
    """The metadata with its constant fields (format, blank) and a creation time, as checkpointMeta."""
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return {"format": FORMAT, "createdAt": now, "blank": 0, **parts}


def write_checkpoint(path: str, model: LabModel, meta: dict, slots: dict[str, np.ndarray] | None = None) -> None:
    """Model tensors in the lab's layout, optimizer slots as given (already in the lab's layout)."""
    tensors = {**model.lab_tensors(), **(slots or {})}
    write_safetensors(path, tensors, {"ctc_lab": json.dumps(json_safe(meta), ensure_ascii=False, allow_nan=False), "format": "pt"})


def json_safe(x):
    """NaN / ±Inf → null, as JSON.stringify writes them (history rows hold NaN when nothing was measured)."""
    if isinstance(x, float) and not np.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [json_safe(v) for v in x]
    if isinstance(x, np.generic):
        return json_safe(x.item())
    return x
