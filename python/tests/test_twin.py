"""PyTorch against the lab, on fixtures the lab wrote at test time (python/twin.test.ts):
logits per preset, the dataset as the lab's importer read it, the lab's initial weights, one and
two training steps per optimizer, model outputs; and the files the lab checks afterwards
(round-tripped and trained checkpoints, the outputs zip)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from ctc_lab import load_checkpoint, read_checkpoint
from ctc_lab.__main__ import main
from ctc_lab.data import open_dataset
from ctc_lab.ema import TRAIN_WEIGHTS_PREFIX, WeightEma
from ctc_lab.loader import bucketed_batches
from ctc_lab.models import build_model

from conftest import round_trip

MODEL_CASES = ["tcn", "tconv-bilstm", "transformer", "tcn-x4"]
TRAIN_CASES = ["tcn-adam", "tcn4-adamw", "tcn-sgd", "tconv-bilstm-adam", "transformer-adam", "tcn-ema"]
# Metrics the lab writes per epoch that must agree (the rest: wall time, and equal by construction).
METRICS = ["trainLoss", "gradNorm", "lr", "valLoss", "valWer", "valCer", "blankRate", "S", "D", "I", "N", "skippedBatches", "paddingEfficiency"]


def rel_err(a: np.ndarray, b: np.ndarray, floor: float = 1e-12) -> float:
    """max |a − b| over max |b| (at least `floor`): the error relative to the tensor's scale."""
    return float(np.abs(a - b).max() / max(np.abs(b).max(), floor))


@pytest.mark.parametrize("case", MODEL_CASES)
def test_logits_equal_the_labs(fx: Path, case: str):
    d = fx / "models" / case
    model, meta = load_checkpoint(str(d / "checkpoint.safetensors"))
    assert not model.training
    x = torch.from_numpy(np.load(d / "x.npy"))
    lengths = torch.tensor(json.loads((d / "lengths.json").read_text()))
    want = np.load(d / "logits.npy")
    with torch.no_grad():
        logits, out_frames = model(x, lengths)
    assert list(out_frames) == [model.sample_out_frames(int(n)) for n in lengths]
    assert logits.shape == want.shape
    assert rel_err(logits.numpy(), want) < 1e-4, case
    # A sample's outputs do not depend on its batch (each alone, at its own length).
    for b, n in enumerate(lengths.tolist()):
        with torch.no_grad():
            alone, _ = model(x[b : b + 1, :n], lengths[b : b + 1])
        assert rel_err(alone[0].numpy(), logits[b, : alone.shape[1]].numpy()) < 1e-5


def test_dataset_reads_as_the_labs_importer_read_it(fx: Path):
    facts = json.loads((fx / "dataset_facts.json").read_text())
    ds = open_dataset(str(fx / "dataset"))
    assert [(s.id, s.split, s.frames) for s in ds.samples] == [(s["id"], s["split"], s["frames"]) for s in facts["samples"]]
    assert ds.vocab == facts["vocab"]
    assert [i for i, _ in ds.left_out] == facts["leftOut"]
    for k in ("mean", "std"):
        assert np.allclose(ds.norm[k], facts["norm"][k], rtol=1e-9, atol=1e-12)
    b = facts["bucketed"]
    assert bucketed_batches(b["frames"], b["batchSize"], b["seed"]) == b["batches"]


@pytest.mark.parametrize("case", TRAIN_CASES)
def test_a_fresh_model_starts_from_the_labs_weights(fx: Path, case: str):
    meta, tensors = read_checkpoint(str(fx / "train" / case / "epoch0.safetensors"))
    model = build_model(meta["model"])
    model.lab_init(meta["training"]["state"]["seed"])
    for name, a in model.lab_tensors().items():
        assert np.array_equal(a, tensors[name]), name


def compare_runs(py: str, lab: str, case: str, epoch: int, metrics: list[str] = METRICS) -> dict:
    """Asserts the two checkpoints agree; returns the largest relative differences seen (weights, moments, metrics)."""
    pm, pt = read_checkpoint(py)
    lm, lt = read_checkpoint(lab)
    assert pm["training"]["state"]["epoch"] == lm["training"]["state"]["epoch"] == epoch
    assert pm["training"]["state"]["step"] == lm["training"]["state"]["step"]
    assert pm["training"]["state"]["earlyStopping"] == pytest.approx(lm["training"]["state"]["earlyStopping"], rel=1e-4)
    assert sorted(pt) == sorted(lt)
    lr = lm["training"]["config"]["lr"]
    seen = {"weights": 0.0, "moments": 0.0, "metrics": 0.0}
    for name in lt:
        a, b = pt[name], lt[name]
        if name.endswith(".attn.qkv.bias"):
            # The key bias has a zero gradient in exact arithmetic (softmax is shift-invariant), so
            # Adam turns each side's float noise into steps of up to lr: that third is only checked
            # to stay within lr per step of the lab's; q and v are compared as everything else.
            d = b.shape[0] // 3
            assert np.abs(a[d : 2 * d] - b[d : 2 * d]).max() <= 2 * lr * epoch + 1e-7, f"{case} epoch {epoch}: {name} (k)"
            a, b = np.concatenate([a[:d], a[2 * d :]]), np.concatenate([b[:d], b[2 * d :]])
        # Weights relative to their scale, at least 0.01: a zero-initialised bias is still at the
        # scale of lr after a step or two, where Adam's ε turns the float noise of a near-zero
        # gradient into a 1e-4·lr difference. The moments (the step's gradients) have no floor.
        weights = name.startswith(("model.", "train.model."))  # train.model.…: an EMA run's trained weights (ema.py)
        e = rel_err(a, b, 1e-2 if weights else 1e-12)
        assert e < 1e-4, f"{case} epoch {epoch}: {name}"
        key = "weights" if weights else "moments"
        seen[key] = max(seen[key], e)
    for ph, lh in zip(pm["history"], lm["history"], strict=True):
        for k in metrics:
            assert ph[k] == pytest.approx(lh[k], rel=1e-4, abs=1e-7), f"{case} epoch {ph['epoch']}: {k}"
            if isinstance(lh[k], float) and lh[k] != 0:
                seen["metrics"] = max(seen["metrics"], abs(ph[k] - lh[k]) / abs(lh[k]))
    return seen


@pytest.mark.parametrize("case", TRAIN_CASES)
def test_training_steps_equal_the_labs(fx: Path, case: str):
    """One optimizer step (two micro-batches of unequal lengths, clipped), then a resumed second one."""
    d, out = fx / "train" / case, fx / "py" / "train" / case
    assert main(["train", str(d / "epoch0.safetensors"), str(fx / "dataset"), "-o", str(out / "e1")]) == 0
    compare_runs(str(out / "e1" / "last.safetensors"), str(d / "epoch1.safetensors"), case, 1)
    lm, _ = read_checkpoint(str(d / "epoch1.safetensors"))
    assert lm["history"][0]["gradNorm"] > lm["training"]["config"]["clipNorm"]  # clipping was exercised
    assert main(["train", str(out / "e1" / "last.safetensors"), str(fx / "dataset"), "-o", str(out), "--epochs", "2"]) == 0
    compare_runs(str(out / "last.safetensors"), str(d / "epoch2.safetensors"), case, 2)


def test_the_ema_after_a_step_equals_the_labs(fx: Path):
    """The lab's EMA run: from its weights before the step (the average starts there) and its trained weights
    after it, ema.py's update gives the average the lab wrote (≤ 1e-6), and a resumed PyTorch epoch keeps it going."""
    d = fx / "train" / "tcn-ema"
    m0, t0 = read_checkpoint(str(d / "epoch0.safetensors"))
    m1, t1 = read_checkpoint(str(d / "epoch1.safetensors"))
    decay = m1["training"]["config"]["emaDecay"]
    model = build_model(m0["model"])
    model.load_lab_tensors({k[len(TRAIN_WEIGHTS_PREFIX):]: v for k, v in t0.items() if k.startswith(TRAIN_WEIGHTS_PREFIX)})
    ema = WeightEma(model, decay)
    assert all(np.array_equal(ema.lab_tensors()[k], t0[k]) for k in ema.average)  # epoch 0: the average is the weights
    model.load_lab_tensors({k[len(TRAIN_WEIGHTS_PREFIX):]: v for k, v in t1.items() if k.startswith(TRAIN_WEIGHTS_PREFIX)})
    ema.update(model)
    for k, a in ema.lab_tensors().items():
        assert rel_err(a, t1[k]) <= 1e-6, k
        assert not np.array_equal(t1[k], t1[TRAIN_WEIGHTS_PREFIX + k])  # the average is not the trained weights


def test_a_mid_epoch_checkpoint_continues_its_epoch_as_the_lab_does(fx: Path):
    d, out = fx / "train" / "mid-epoch", fx / "py" / "train" / "mid-epoch"
    meta, _ = read_checkpoint(str(d / "step1.safetensors"))
    assert meta["training"]["state"]["position"]["batch"] == 2 and meta["training"]["state"]["epoch"] == 0
    assert main(["train", str(d / "step1.safetensors"), str(fx / "dataset"), "-o", str(out)]) == 0
    compare_runs(str(out / "last.safetensors"), str(d / "epoch1.safetensors"), "mid-epoch", 1)


@pytest.mark.parametrize("case", TRAIN_CASES)
def test_round_trip_writes_what_it_read(fx: Path, case: str):
    """Lab → PyTorch (model + optimizer state) → lab: the lab compares the file it gets back."""
    (_, t0), (_, t1) = round_trip(fx, case)
    assert sorted(t0) == sorted(t1)
    for k in t0:
        assert np.array_equal(t0[k], t1[k]), k


def test_outputs_equal_the_labs_log_probs(fx: Path):
    """The lab has no model-outputs export yet: the reference is the lab model's log_softmax, computed in Node."""
    out = fx / "py" / "outputs" / "val.zip"
    out.parent.mkdir(parents=True, exist_ok=True)
    assert main(["outputs", str(fx / "outputs" / "overfit.safetensors"), str(fx / "dataset"), "-o", str(out), "--split", "val"]) == 0
    lab = np.load(fx / "outputs" / "lab_logprobs.npz")
    with zipfile.ZipFile(out) as z:
        assert sorted(z.namelist()) == ["manifest.jsonl", "outputs.json", "posteriors.npz", "vocab.txt"]
        info = json.loads(z.read("outputs.json"))
        rows = [json.loads(line) for line in z.read("manifest.jsonl").decode().splitlines()]
        mine = np.load(io.BytesIO(z.read("posteriors.npz")))
        meta, _ = read_checkpoint(str(fx / "outputs" / "overfit.safetensors"))
        assert z.read("vocab.txt").decode().split("\n")[:-1] == meta["vocab"]
    assert info["kind"] == "log_probs" and info["blank"] == 0 and info["subsampling"] == 2
    assert sorted(r["id"] for r in rows) == sorted(lab.files)
    for r in rows:
        assert r["split"] == "val" and r["frames"] > 0
        assert mine[r["id"]].shape == lab[r["id"]].shape
        assert rel_err(mine[r["id"]], lab[r["id"]]) < 1e-4, r["id"]


def test_an_overfit_checkpoint_starts_a_new_run(fx: Path, tmp_path, capsys):
    assert main(["train", str(fx / "outputs" / "overfit.safetensors"), str(fx / "dataset"), "-o", str(tmp_path), "--epochs", "1"]) == 0
    assert "overfit-test checkpoint" in capsys.readouterr().out
    meta, _ = read_checkpoint(str(tmp_path / "last.safetensors"))
    assert meta["training"]["config"]["mode"] == "train" and meta["training"]["state"]["epoch"] == 1
