"""`python -m ctc_lab outputs CKPT DATA -o OUT.zip`: a checkpoint's per-sample log-probabilities in
the lab's model-outputs format (docs/ARCHITECTURE.md "Model outputs format"), for Import model outputs:

  manifest.jsonl   {"id", "text" (the reference), "split", "frames" (input frames)} per sample
  vocab.txt        the checkpoint's tokens in class order (class 0, the blank, not listed)
  posteriors.npz   member "<id>.npy": float32 log_softmax [T', V+1] over the sample's real output frames
  outputs.json     {"kind": "log_probs", "blank": 0, "subsampling": …, "model": "…"}

The zip is written to a temporary name and renamed at the end: a failure leaves nothing.
"""

from __future__ import annotations

import io
import json
import os
import zipfile

import numpy as np
import torch

from .batch import make_batch
from .checkpoint import load_checkpoint
from .data import Dataset, Sample, open_dataset
from .errors import CtcLabError
from .model_base import LabModel


@torch.no_grad()
def log_probs(model: LabModel, ds: Dataset, samples: list[Sample], norm: dict, device: torch.device | str = "cpu", batch_size: int = 16) -> dict[str, np.ndarray]:
    """{id: [T', V+1] float32 log-probs}, batched by length (a sample's outputs do not depend on its batch)."""
    out = {}
    order = sorted(samples, key=lambda s: s.frames)
    for i in range(0, len(order), batch_size):
        chunk = order[i : i + batch_size]
        b = make_batch(ds, chunk, norm, None)
        logits, out_frames = model(b.x.to(device), b.lengths.to(device))
        lp = logits.float().log_softmax(-1).cpu().numpy()
        for k, s in enumerate(chunk):
            out[s.id] = np.ascontiguousarray(lp[k, : int(out_frames[k])])
    return out


def write_outputs(ckpt: str, data: str, out_zip: str, split: str | None = None, device: str = "cpu") -> int:
    model, meta = load_checkpoint(ckpt, device)
    ds = open_dataset(data, require_train=False)
    fd = meta["model"]["featureDim"]
    if ds.feature_dim != fd:
        raise CtcLabError(f"{ds.samples[0].where}: the dataset has {ds.feature_dim} features per frame; the model in {ckpt} takes {fd}")
    if ds.vocab_file and ds.vocab != meta["vocab"]:
        i = next((i for i in range(max(len(ds.vocab), len(meta["vocab"]))) if i >= len(ds.vocab) or i >= len(meta["vocab"]) or ds.vocab[i] != meta["vocab"][i]), 0)
        raise CtcLabError(f"{ds.vocab_file}: the vocabulary ({len(ds.vocab)} tokens) differs from {ckpt} ({len(meta['vocab'])} tokens), first at class {i + 1}")
    samples = [s for s in ds.samples if split is None or s.split == split]
    if not samples:
        raise CtcLabError(f"{data}: no samples in split '{split}'")
    lps = log_probs(model, ds, samples, meta["normalisation"], device)
    npz = io.BytesIO()
    np.savez_compressed(npz, **{s.id: lps[s.id] for s in samples})
    manifest = "".join(json.dumps({"id": s.id, "text": s.text, "split": s.split, "frames": s.frames}, ensure_ascii=False) + "\n" for s in samples)
    desc = f"ctc_lab {meta['model']['preset']} from {os.path.basename(ckpt)} (epoch {meta.get('training', {}).get('state', {}).get('epoch', '?')})"
    info = {"kind": "log_probs", "blank": 0, "subsampling": model.subsampling, "model": desc}
    tmp = f"{out_zip}.tmp-{os.getpid()}"
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("manifest.jsonl", manifest)
            z.writestr("vocab.txt", "".join(t + "\n" for t in meta["vocab"]))
            z.writestr("outputs.json", json.dumps(info, indent=1) + "\n")
            z.writestr(zipfile.ZipInfo("posteriors.npz"), npz.getvalue())  # already compressed: stored
        os.replace(tmp, out_zip)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    print(f"{out_zip}: {len(samples)} samples, log-probs [T', {meta['model']['numClasses']}] at ×{model.subsampling} subsampling")
    return 0
