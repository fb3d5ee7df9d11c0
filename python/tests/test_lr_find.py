"""The twin's LR range test (ctc_lab/lr_find.py) against the lab's (src/engine/tune/lr_find.ts): the
smoothing, the stop rule and the suggestion on the curves the lab wrote to
src/engine/tune/fixtures/lr_find.json; and the range test itself on a tiny dataset (the model and
optimizer restored exactly, the command's output)."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest
import torch

from ctc_lab.__main__ import main
from ctc_lab.lr_find import DEFAULTS, ramp_lr, range_test, smooth_losses, stop_reason, suggest_lr

FIXTURE = json.loads((Path(__file__).resolve().parents[2] / "src" / "engine" / "tune" / "fixtures" / "lr_find.json").read_text())


def nan(x):
    return float("nan") if x is None else x


@pytest.mark.parametrize("name", sorted(FIXTURE))
def test_equals_the_lab_on_its_curves(name):
    c = FIXTURE[name]
    loss = [nan(x) for x in c["loss"]]
    smoothed = smooth_losses(loss)
    for mine, lab in zip(smoothed, c["smoothed"]):
        if lab is None:
            assert not math.isfinite(mine)
        else:
            assert mine == pytest.approx(lab, rel=1e-12)
    points = [{"step": i, "lr": c["lr"][i], "loss": loss[i], "smoothed": smoothed[i], "blankRate": c["blankRate"][i], "outputLength": c["outputLength"][i]} for i in range(len(loss))]
    stop, reason = len(points), None
    for k in range(1, len(points) + 1):
        reason, stop = stop_reason(points[:k]), k
        if reason is not None:
            break
    assert (stop, reason) == (c["stop"], c["reason"])
    s = suggest_lr(points[:stop])
    assert s["index"] == c["suggestion"]["index"]
    assert s["reason"] == c["suggestion"]["reason"]
    if s["lr"] is not None:
        assert s["lr"] == pytest.approx(c["suggestion"]["lr"], rel=1e-12)
        assert s["slope"] == pytest.approx(c["suggestion"]["slope"], rel=1e-9)


def test_the_fixture_has_a_plateau_and_a_divergence():
    assert "blank plateau skipped" in FIXTURE["plateau"]["suggestion"]["reason"]
    assert FIXTURE["diverges"]["stop"] < 100 and "exceeded 4×" in FIXTURE["diverges"]["reason"]


def test_ramp():
    assert ramp_lr(0) == pytest.approx(1e-7, rel=1e-12)
    assert ramp_lr(99) == pytest.approx(1.0, rel=1e-12)


def test_range_test_restores_the_model_and_optimizer(tiny_dataset):
    from ctc_lab.batch import token_index
    from ctc_lab.data import open_dataset
    from ctc_lab.run import Run
    from ctc_lab.train import trainable

    ds = open_dataset(str(tiny_dataset))
    run = Run.fresh("tcn", ds, {"batchSize": 4, "accumulationSteps": 1, "dropout": 0.1}, {"channels": 8, "layers": 1})
    index = token_index(ds.vocab)
    train, _, _ = trainable(ds, run.model, run.cfg, index)
    # a real step first, so the moments are not zero
    for p in run.model.parameters():
        p.grad = torch.ones_like(p) * 0.01
    run.optimizer.step()
    before_w = {k: v.clone() for k, v in run.model.state_dict().items()}
    before_o = copy.deepcopy(run.optimizer.state_dict())
    s = {**DEFAULTS, "steps": 30}
    r = range_test(run, ds, train, ds.norm, index, torch.device("cpu"), s)
    assert len(r["points"]) >= 3
    assert [p["lr"] for p in r["points"]] == [ramp_lr(i, s) for i in range(len(r["points"]))]
    for k, v in run.model.state_dict().items():
        assert torch.equal(v, before_w[k]), k
    after_o = run.optimizer.state_dict()
    assert after_o["param_groups"] == before_o["param_groups"]
    assert before_o["state"] and after_o["state"].keys() == before_o["state"].keys()
    for i, st in before_o["state"].items():
        for k, v in st.items():
            assert torch.equal(torch.as_tensor(after_o["state"][i][k]), torch.as_tensor(v)), (i, k)
    for p in r["points"]:
        assert 0 <= p["blankRate"] <= 1 and p["outputLength"] >= 0


def test_command_writes_points_and_suggestion(tiny_dataset, tmp_path, capsys):
    out = tmp_path / "lr.json"
    rc = main(["lr-find", "--preset", "tcn", "--channels", "8", "--layers", "1", "--batch_size", "4", "--accumulation_steps", "1", "--steps", "25", str(tiny_dataset), "-o", str(out)])
    assert rc == 0
    r = json.loads(out.read_text())
    assert 3 <= len(r["points"]) <= 25 and r["trainSamples"] > 0
    assert set(r["suggestion"]) == {"lr", "index", "slope", "reason"}
    assert "suggestion:" in capsys.readouterr().out


def test_command_refuses_bad_paths(tiny_dataset, tmp_path, capsys):
    assert main(["lr-find", "--preset", "tcn", str(tiny_dataset), str(tiny_dataset), "-o", str(tmp_path / "x.json")]) == 2
    assert "with --preset give only the dataset" in capsys.readouterr().err
