"""torchrun --nproc_per_node 2 (gloo on the CPU): one epoch; both ranks hold identical weights after
every step; the result equals one process accumulating 2× the micro-batches (DDP's averaged
gradient is the mean over the step's micro-batches, the last step's uneven share included); the
checkpoint it writes is left for the lab to decode (python/twin.test.ts) when fixtures are there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from ctc_lab import load_checkpoint, read_checkpoint
from ctc_lab.__main__ import main
from ctc_lab.batch import token_index
from ctc_lab.data import open_dataset
from ctc_lab.train import Run, evaluate

from conftest import make_dataset

PYTHON_DIR = Path(__file__).resolve().parents[1]


def start(tmp_path: Path) -> tuple[str, str, Path]:
    """(checkpoint, dataset, output dir): the lab's epoch-0 checkpoint and dataset when the lab wrote
    fixtures, else a fresh tcn run on a dataset made here."""
    fx = os.environ.get("CTC_LAB_FIXTURES")
    if fx:
        return f"{fx}/train/tcn-adam/epoch0.safetensors", f"{fx}/dataset", Path(fx) / "py" / "ddp"
    data = make_dataset(tmp_path / "ds", n=40)
    run = Run.fresh("tcn", open_dataset(str(data)), {"warmupEpochs": 0, "dropout": 0.0, "batchSize": 4, "channels": 8, "layers": 2}, {})
    run.save(str(tmp_path / "epoch0.safetensors"))
    return str(tmp_path / "epoch0.safetensors"), str(data), tmp_path / "ddp"


def train_both_ways(tmp_path: Path, ckpt: str, data: str, out: Path, flags: list[str]):
    """`ctc_lab train` under torchrun (2 processes, gloo) into `out`, then on one process accumulating
    2× the micro-batches into tmp_path/single. Both ranks hold identical weights after every step.
    → (torchrun's stdout, its step count, the start checkpoint's metadata, (meta, tensors) of the
    DDP run's last checkpoint, (meta, tensors) of the single process's)."""
    cmd = [sys.executable, "-m", "ctc_lab.torchrun", "--standalone", "--nproc_per_node", "2", "-m", "ctc_lab", "train", ckpt, data, "-o", str(out), *flags, "--sync_log", str(tmp_path / "sync")]
    r = subprocess.run(cmd, cwd=PYTHON_DIR, capture_output=True, text=True, timeout=150, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    logs = [(tmp_path / f"sync.rank{k}").read_text().splitlines() for k in (0, 1)]
    assert len(logs[0]) >= 2 and logs[0] == logs[1]
    meta, _ = read_checkpoint(ckpt)
    A = meta["training"]["config"]["accumulationSteps"]
    assert main(["train", ckpt, data, "-o", str(tmp_path / "single"), *flags, "--accumulation_steps", str(2 * A)]) == 0
    return r.stdout, len(logs[0]), meta, read_checkpoint(str(out / "last.safetensors")), read_checkpoint(str(tmp_path / "single" / "last.safetensors"))


def test_torchrun_two_processes(tmp_path):
    ckpt, data, out = start(tmp_path)
    flags = ["--epochs", "1", "--max_train_samples", "0", "--decay", "none"]
    # Identical weights on both ranks after every step, and the same as one process accumulating
    # both ranks' micro-batches.
    stdout, n_steps, meta, (dm, dt), (sm, st) = train_both_ways(tmp_path, ckpt, data, out, flags)
    assert "2 process(es) on cpu" in stdout
    assert sorted(dt) == sorted(st)
    for k in st:
        assert np.abs(dt[k] - st[k]).max() <= 1e-5 * max(np.abs(st[k]).max(), 1e-12), k
    for key in ("trainLoss", "gradNorm", "valLoss", "valWer"):
        assert abs(dm["history"][-1][key] - sm["history"][-1][key]) <= 1e-5 * max(abs(sm["history"][-1][key]), 1), key
    # Steps are counted in the lab's units (what one process with this config makes per epoch).
    assert dm["training"]["state"]["step"] - meta["training"]["state"]["step"] >= n_steps

    # Greedy decodes of the val split, for the lab to reproduce from the checkpoint.
    model, m = load_checkpoint(str(out / "last.safetensors"))
    ds = open_dataset(data)
    val = ds.split("val")
    ev = evaluate(model, ds, val, m["normalisation"], token_index(m["vocab"]), m["vocab"], "cpu")
    by_len = sorted(range(len(val)), key=lambda i: val[i].frames)
    (out / "decodes.json").write_text(json.dumps({val[i].id: h for i, h in zip(by_len, ev["hyps"])}))


def test_torchrun_two_processes_continue_a_distillation_run(tmp_path):
    """The lab's distillation run (or one made here) under torchrun with its teacher checkpoint: both
    ranks in step, the same weights, loss and KL term as one process accumulating 2× the micro-batches."""
    fx = os.environ.get("CTC_LAB_FIXTURES")
    if fx:
        ckpt, teacher, data = f"{fx}/train/kd-checkpoint/epoch0.safetensors", f"{fx}/distill/teacher.safetensors", f"{fx}/dataset"
    else:
        from conftest import make_distill_run

        data = str(make_dataset(tmp_path / "ds", n=40))
        s, t = make_distill_run(tmp_path / "run", Path(data))
        ckpt, teacher = str(s), str(t)
    flags = ["--epochs", "1", "--max_train_samples", "0", "--decay", "none", "--teacher", teacher]
    stdout, _, meta, (dm, dt), (sm, st) = train_both_ways(tmp_path, ckpt, data, tmp_path / "ddp", flags)
    assert "distilling from checkpoint" in stdout
    assert dm["distillation"] == meta["distillation"]
    for k in st:
        assert np.abs(dt[k] - st[k]).max() <= 1e-5 * max(np.abs(st[k]).max(), 1e-12), k
    for key in ("trainLoss", "trainKd", "gradNorm", "valLoss", "agreement", "teacherValWer"):
        assert abs(dm["history"][-1][key] - sm["history"][-1][key]) <= 1e-5 * max(abs(sm["history"][-1][key]), 1), key
    assert sm["history"][-1]["trainKd"] > 0
