"""The twin's augmentation against the lab's (fixtures/augment.json, written by
src/engine/augment/twin.test.ts): the generator's raw draws bit for bit, and for each op and all of
them together the augmented batch (≤ 1e-6) and its lengths; then the settings' refusals, the identity
when off, determinism, and the train command's flags recorded in its checkpoint."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from ctc_lab import augment as A
from ctc_lab.__main__ import main
from ctc_lab.batch import Batch

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "augment.json"


@pytest.fixture(scope="module")
def lab() -> dict:
    return json.loads(FIXTURE.read_text())


def lab_batch(lab: dict) -> Batch:
    bt = lab["batch"]
    B, T, F = len(bt["frames"]), bt["T"], bt["F"]
    L = max(len(x) for x in bt["labels"])
    labels = torch.zeros(B, L, dtype=torch.int64)
    for b, q in enumerate(bt["labels"]):
        labels[b, : len(q)] = torch.tensor(q)
    x = torch.tensor(np.asarray(bt["x"], dtype=np.float32).reshape(B, T, F))
    return Batch(x, torch.tensor(bt["frames"]), labels, torch.tensor([len(q) for q in bt["labels"]]), [f"s{b}" for b in range(B)], [""] * B)


def test_draws_are_the_labs_bit_for_bit(lab: dict):
    dr = lab["draws"]
    for x, want in dr["mix32"]:
        assert A.mix32(x) == want
        assert int(A.mix32(np.array([x], dtype=np.uint64))[0]) == want
    for parts, want in dr["streamKey"]:
        assert A.stream_key(parts) == want
    k = dr["streamKey"][0][1]
    for c, want in dr["draw32"]:
        assert A.draw32(k, c) == want
        assert int(A.draw32(k, np.array([c]))[0]) == want
    for c, want in dr["uniform"]:
        assert A.uniform(k, c) == want
    got = A.normals(k, 78)
    for c, want in dr["normal"]:
        assert abs(got[c] - want) < 1e-12


@pytest.mark.parametrize("name", ["stretch", "stretch-clamped", "frame-drop", "feature-warp", "noise", "time-masks", "feature-masks", "all"])
def test_augmented_batch_equals_the_labs(lab: dict, name: str):
    case = next(c for c in lab["cases"] if c["name"] == name)
    table = lab["outFrames"][str(case["subsampling"])]
    b = A.augment_batch(lab_batch(lab), case["augment"], case["key"], lambda f: table[f])
    assert list(b.x.shape) == case["shape"], name
    assert b.lengths.tolist() == case["frames"], name
    want = np.asarray(case["y"], dtype=np.float32).reshape(case["shape"])
    err = float(np.abs(b.x.numpy() - want).max())
    assert err <= 1e-6, (name, err)


def test_off_is_the_batch_and_draws_depend_on_the_key(lab: dict):
    b0 = lab_batch(lab)
    assert A.augment_batch(b0, dict(A.AUGMENT_OFF), {"seed": 1, "epoch": 1, "batch": 0, "batchSize": 4}, lambda f: f) is b0
    assert A.augment_batch(b0, None, {"seed": 1, "epoch": 1, "batch": 0, "batchSize": 4}, lambda f: f) is b0
    a = {**A.AUGMENT_OFF, "noise": 0.1, "timeMasks": 1, "timeMaskWidth": 0.3}
    key = {"seed": 1, "epoch": 1, "batch": 0, "batchSize": 4}
    x1 = A.augment_batch(lab_batch(lab), a, key, lambda f: f).x
    assert torch.equal(x1, A.augment_batch(lab_batch(lab), a, key, lambda f: f).x)
    assert not torch.equal(x1, A.augment_batch(lab_batch(lab), a, {**key, "epoch": 2}, lambda f: f).x)


def test_settings_refused_by_field():
    assert A.problems(A.AUGMENT_OFF) == [] and A.problems(A.AUGMENT_DEFAULTS) == []
    for bad, msg in [
        ({"stretchMin": 1.2, "stretchMax": 0.9}, "augment.stretchMin: expected at most stretchMax (0.9), got 1.2"),
        ({"stretchMin": 0}, "augment.stretchMin: expected a factor above 0"),
        ({"timeMaskWidth": 1}, "augment.timeMaskWidth: expected a fraction of the frames above 0 and below 1, got 1"),
        ({"noise": -0.1}, "augment.noise: expected a σ from 0 to 10, got -0.1"),
    ]:
        p = A.problems({**A.AUGMENT_OFF, **bad})
        assert len(p) == 1 and msg in p[0], p


def test_train_flags_are_recorded_and_refused(tiny_dataset: Path, tmp_path: Path, capsys):
    from ctc_lab import read_checkpoint

    out = tmp_path / "run"
    rc = main(["train", "--preset", "tcn", "--channels", "8", "--layers", "1", str(tiny_dataset), "-o", str(out), "--epochs", "1", "--batch_size", "4",
               "--stretch", "0.8", "1.2", "--time-masks", "2", "--time-mask-width", "0.1", "--feature-masks", "1", "--feature-warp", "0.1", "--noise", "0.05", "--frame-drop", "0.1"])
    assert rc == 0, capsys.readouterr().err
    meta, _ = read_checkpoint(str(out / "last.safetensors"))
    assert meta["training"]["config"]["augment"] == {**A.AUGMENT_OFF, "stretchMin": 0.8, "stretchMax": 1.2, "timeMasks": 2, "timeMaskWidth": 0.1,
                                                     "featureMasks": 1, "featureWarp": 0.1, "noise": 0.05, "frameDrop": 0.1}
    assert math.isfinite(meta["history"][0]["trainLoss"])
    # Continuing keeps the recorded settings; a flag changes one of them.
    rc = main(["train", str(out / "last.safetensors"), str(tiny_dataset), "-o", str(tmp_path / "more"), "--epochs", "2", "--noise", "0"])
    assert rc == 0, capsys.readouterr().err
    meta2, _ = read_checkpoint(str(tmp_path / "more" / "last.safetensors"))
    assert meta2["training"]["config"]["augment"] == {**meta["training"]["config"]["augment"], "noise": 0}
    capsys.readouterr()
    rc = main(["train", "--preset", "tcn", str(tiny_dataset), "-o", str(tmp_path / "bad"), "--stretch", "1.2", "0.9"])
    assert rc == 2
    assert "augment.stretchMin: expected at most stretchMax (0.9), got 1.2" in capsys.readouterr().err
