"""Fixtures: the lab-written ones (CTC_LAB_FIXTURES, made by python/twin.test.ts when `npm test`
runs) and small datasets made here. Without CTC_LAB_FIXTURES the tests that compare against the
lab are skipped, unless CI=true: then they fail."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session")
def fx() -> Path:
    d = os.environ.get("CTC_LAB_FIXTURES")
    if not d:
        msg = "CTC_LAB_FIXTURES is not set: run `npx vitest run python/twin.test.ts` (it writes the lab's fixtures, then runs pytest)"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return Path(d)


def make_dataset(root: Path, n: int = 24, dim: int = 5, seed: int = 0, words=("A", "B", "C", "D"), vocab_file: bool = False, splits: bool = False) -> Path:
    """A small dataset in the lab's format: word templates + noise, half per-sample .npy, half in an .npz."""
    rng = np.random.default_rng(seed)
    tpl = {w: rng.normal(size=(3 + i % 2, dim)) for i, w in enumerate(words)}
    (root / "feats").mkdir(parents=True, exist_ok=True)
    rows, npz = [], {}
    for i in range(n):
        seq = list(rng.choice(list(words), size=int(rng.integers(1, 4))))
        x = np.concatenate([np.concatenate([tpl[w], np.zeros((1, dim))]) for w in seq]) + 0.1 * rng.normal(size=(sum(len(tpl[w]) + 1 for w in seq), dim))
        row = {"id": f"s{i:03d}", "text": " ".join(seq)}
        if splits:
            row["split"] = "val" if i % 6 == 0 else "train"
        if i % 2:
            np.save(root / "feats" / f"s{i:03d}.npy", x.astype(np.float32))
            row["features"] = f"feats/s{i:03d}.npy"
        else:
            npz[f"s{i:03d}"] = x.astype(np.float32)
        rows.append(row)
    np.savez_compressed(root / "part.npz", **npz)
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    if vocab_file:
        (root / "vocab.txt").write_text("\n".join(sorted(words)) + "\n")
    return root


@pytest.fixture()
def tiny_dataset(tmp_path) -> Path:
    return make_dataset(tmp_path / "ds")


def make_distill_run(root: Path, data: Path, teacher_knobs: dict | None = None, student_subsampling: int = 2, settings: dict | None = None) -> tuple[Path, Path]:
    """A distillation run made here (no lab): a tcn teacher checkpoint and a tcn student checkpoint
    whose `distillation` records that teacher as the lab records it. → (student, teacher) paths."""
    from ctc_lab.data import open_dataset
    from ctc_lab.train import Run

    root.mkdir(parents=True, exist_ok=True)
    ds = open_dataset(str(data))
    knobs = {"channels": 8, "layers": 1, "subsampling": 2, **(teacher_knobs or {})}
    teacher = Run.fresh("tcn", ds, {"dropout": 0.0, "seed": 3}, knobs)  # another seed: other weights than the student's
    teacher.save(str(root / "teacher.safetensors"))
    student = Run.fresh("tcn", ds, {"dropout": 0.0, "warmupEpochs": 0, "batchSize": 4}, {"channels": 8, "layers": 1, "subsampling": student_subsampling})
    info = {"kind": "checkpoint", "id": "ck-teacher", "name": "teacher.safetensors", "model": teacher.model.config, "subsampling": teacher.model.subsampling, "params": 1}
    student.meta["distillation"] = {"kdWeight": 2, "ctcWeight": 1, "temperature": 2, "excludeBlank": True, **(settings or {}), "teacher": info}
    student.save(str(root / "student.safetensors"))
    return root / "student.safetensors", root / "teacher.safetensors"


def round_trip(fx: Path, case: str) -> tuple[tuple[dict, dict], tuple[dict, dict]]:
    """Lab → PyTorch → lab: the lab's fx/train/<case>/epoch1 checkpoint read into a Run (model and
    optimizer state) and saved as fx/py/roundtrip/<case>.safetensors, which the lab compares.
    → ((meta, tensors) read, (meta, tensors) written)."""
    from ctc_lab.checkpoint import read_checkpoint
    from ctc_lab.train import Run

    src = str(fx / "train" / case / "epoch1.safetensors")
    run, _ = Run.from_checkpoint(src, {}, [])
    out = fx / "py" / "roundtrip" / f"{case}.safetensors"
    out.parent.mkdir(parents=True, exist_ok=True)
    run.save(str(out))
    return read_checkpoint(src), read_checkpoint(str(out))
