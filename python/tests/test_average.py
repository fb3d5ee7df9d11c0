"""averageBest in the twin (ctc_lab/average.py, the lab's engine/train/average.ts): the kept-set rule on
hand-worked sequences, the float32 mean against a float64 one, and a run's averaged.safetensors
against the float64 mean of the epochs' own weights (read from checkpoints of the same run)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ctc_lab import read_checkpoint
from ctc_lab.__main__ import main
from ctc_lab.average import BestWeights, average_weights

from conftest import make_dataset


def test_the_mean_equals_a_float64_mean():
    rng = np.random.default_rng(3)
    sets = [{"a": rng.normal(size=(4, 3)).astype(np.float32), "b": rng.normal(size=7).astype(np.float32) * 1e3} for _ in range(5)]
    got = average_weights(sets)
    for k in ("a", "b"):
        ref = np.mean(np.stack([s[k].astype(np.float64) for s in sets]), axis=0)
        assert got[k].dtype == np.float32
        np.testing.assert_allclose(got[k], ref, rtol=1e-6, atol=1e-6 * np.abs(ref).max())
    with pytest.raises(ValueError, match="set 1 has \\[3\\] a"):
        average_weights([{"a": np.zeros(2, np.float32)}, {"a": np.zeros(3, np.float32)}])
    with pytest.raises(ValueError, match="no weight sets"):
        average_weights([])


def test_the_n_lowest_are_kept_ties_keep_the_earlier():
    b = BestWeights(2)
    w = lambda x: {"w": np.full(2, x, np.float32)}  # noqa: E731
    assert b.offer(1, 0.5, w(1))
    assert not b.offer(2, float("nan"), w(2))  # not finite: never kept
    assert b.offer(3, 0.4, w(3))
    assert not b.offer(4, 0.5, w(4))  # equal to the worst kept: the earlier stays
    assert b.offer(5, 0.3, w(5))  # evicts epoch 1 (0.5)
    assert [e["epoch"] for e in b.epochs] == [5, 3]
    np.testing.assert_array_equal(b.average()["w"], np.full(2, 4, np.float32))
    assert BestWeights(1).average() is None
    one = BestWeights(1)
    src = {"w": np.ones(2, np.float32)}
    one.offer(1, 1.0, src)
    src["w"][:] = 9  # the kept set is a copy
    assert one.average()["w"].tolist() == [1, 1]


def test_a_run_writes_the_mean_of_its_best_epochs(tmp_path: Path):
    data = make_dataset(tmp_path / "d", n=18, splits=True)
    common = ["--preset", "tcn", "--channels", "8", "--layers", "1", "--epochs", "3", "--patience", "0", "--monitor", "val_loss", str(data)]
    # The same run, stopped after each epoch (same plan, same schedule): its weights at epochs 1, 2, 3.
    for k in (1, 2):
        assert main(["train", *common, "-o", str(tmp_path / f"e{k}"), "--stop_after", str(k)]) == 0
    assert main(["train", *common, "-o", str(tmp_path / "full"), "--average_best", "3"]) == 0
    assert not (tmp_path / "e1" / "averaged.safetensors").exists()  # a session stopped by --stop_after does not average
    epochs = [read_checkpoint(str(tmp_path / d / "last.safetensors")) for d in ("e1", "e2", "full")]
    meta, avg = read_checkpoint(str(tmp_path / "full" / "averaged.safetensors"))
    assert sorted(meta["averaged"]["epochs"]) == [1, 2, 3]
    hist = {h["epoch"]: h["valLoss"] for h in epochs[2][0]["history"]}
    assert meta["averaged"]["epochs"] == sorted(hist, key=lambda e: (hist[e], e))  # best first
    assert np.isfinite(meta["averaged"]["valLoss"]) and 0 <= meta["averaged"]["valWer"]
    names = [k for k in epochs[0][1] if k.startswith("model.")]
    assert names
    for k in names:
        ref = np.mean(np.stack([t[k].astype(np.float64) for _, t in epochs]), axis=0)
        np.testing.assert_allclose(avg[k], ref, rtol=1e-5, atol=1e-6)
    assert not np.array_equal(avg[names[0]], epochs[2][1][names[0]])
    # The optimizer's slots and the run's state are the last epoch's; last.safetensors keeps the trained weights.
    for k in epochs[2][1]:
        if not k.startswith("model."):
            np.testing.assert_array_equal(avg[k], epochs[2][1][k])
    assert meta["training"]["state"]["epoch"] == 3


def test_n_two_keeps_the_two_lowest_and_an_ema_run_keeps_its_trained_weights(tmp_path: Path):
    data = make_dataset(tmp_path / "d", n=18, splits=True)
    out = tmp_path / "o"
    assert main(["train", "--preset", "tcn", "--channels", "8", "--layers", "1", "--epochs", "3", "--patience", "0", "--monitor", "val_loss",
                 "--average_best", "2", "--ema_decay", "0.5", str(data), "-o", str(out)]) == 0
    meta, avg = read_checkpoint(str(out / "averaged.safetensors"))
    hist = {h["epoch"]: h["valLoss"] for h in meta["history"]}
    assert meta["averaged"]["epochs"] == sorted(hist, key=lambda e: (hist[e], e))[:2]
    _, last = read_checkpoint(str(out / "last.safetensors"))
    trained = [k for k in last if k.startswith("train.model.")]
    assert trained and all(np.array_equal(avg[k], last[k]) for k in trained)
