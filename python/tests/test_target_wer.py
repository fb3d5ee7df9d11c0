"""The target WER (issue 20) in the twin: the lab's config field targetWer (percent; 0 = none) read
from a checkpoint or --target_wer, handed to the per-epoch forecast as a fraction; outside [0, 100]
refused naming the field and where it came from, before anything trains."""

from __future__ import annotations

import math

import pytest

from ctc_lab.__main__ import main
from ctc_lab.checkpoint import read_checkpoint
from ctc_lab.data import open_dataset
from ctc_lab.errors import CtcLabError
from ctc_lab.train import Run, target_wer

from conftest import make_dataset


def test_the_config_value_becomes_the_forecasts_fraction():
    assert target_wer({}, "x") is None  # a checkpoint written before the field: none
    assert target_wer({"targetWer": 0}, "x") is None
    assert target_wer({"targetWer": 25}, "x") == 0.25
    assert target_wer({"targetWer": 100}, "x") == 1.0
    assert target_wer({"targetWer": 0.5}, "x") == 0.005


@pytest.mark.parametrize("bad", [150, -1, math.inf, math.nan, "25", True, None])
def test_outside_0_to_100_is_refused_naming_the_field(bad):
    with pytest.raises(CtcLabError) as e:
        target_wer({"targetWer": bad}, "run.safetensors")
    assert str(e.value).startswith("run.safetensors: targetWer must be 0 (none) or a val WER in percent, above 0 and at most 100; got ")


def test_the_flag_is_refused_before_training_and_kept_in_the_checkpoints(tmp_path, capsys):
    data = make_dataset(tmp_path / "ds")
    out = tmp_path / "out"
    assert main(["train", "--preset", "tcn", "--channels", "8", "--layers", "1", str(data), "-o", str(out), "--epochs", "1", "--target_wer", "150"]) == 2
    assert "--target_wer: targetWer must be 0 (none) or a val WER in percent" in capsys.readouterr().err
    assert not out.exists()
    # A lab checkpoint's stored targetWer is read back, and a good flag overrides it.
    run = Run.fresh("tcn", open_dataset(str(data)), {"channels": 8, "layers": 1, "targetWer": 30}, {})
    run.save(str(tmp_path / "t.safetensors"))
    assert read_checkpoint(str(tmp_path / "t.safetensors"))[0]["training"]["config"]["targetWer"] == 30
    assert main(["train", str(tmp_path / "t.safetensors"), str(data), "-o", str(out), "--epochs", "1", "--target_wer", "20", "--device", "cpu"]) == 0
    assert read_checkpoint(str(out / "last.safetensors"))[0]["training"]["config"]["targetWer"] == 20
