"""The PyTorch presets on their own: lab layouts both ways, batch independence with random biases,
output lengths, parameter counts, the LSTM's second bias staying out of training."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ctc_lab.models import build_model, model_config
from ctc_lab.optim import lab_slots, load_slots, make_optimizer

TINY = {"tcn": dict(channels=8, layers=2, hidden=8, heads=2), "tconv-bilstm": dict(channels=8, layers=2, hidden=6, heads=2), "transformer": dict(channels=16, layers=2, hidden=8, heads=2)}
CASES = [("tcn", 2), ("tcn", 4), ("tconv-bilstm", 4), ("transformer", 4)]


def tiny(preset: str, sub: int = 2, dropout: float = 0.0):
    knobs = {"preset": preset, **TINY[preset], "dropout": dropout, **({"subsampling": sub} if preset == "tcn" else {})}
    m = build_model(model_config(knobs, 5, 4))
    torch.manual_seed(0)
    with torch.no_grad():
        for p in m.parameters():
            if p.requires_grad:
                p.normal_(0, 0.3)  # random biases too: zero biases hide masking bugs
    return m.eval()


@pytest.mark.parametrize("preset,sub", CASES)
def test_lab_layout_round_trips(preset, sub):
    m = tiny(preset, sub)
    t = m.lab_tensors()
    m2 = build_model(m.config)
    m2.load_lab_tensors(t)
    for k, v in m2.lab_tensors().items():
        assert np.array_equal(v, t[k]), k
    # Every trained PyTorch parameter is in exactly one lab tensor, and the counts agree.
    assert sum(v.size for v in t.values()) == sum(p.numel() for p in m.parameters() if p.requires_grad)


@pytest.mark.parametrize("preset,sub", CASES)
def test_outputs_do_not_depend_on_the_batch(preset, sub):
    m = tiny(preset, sub)
    torch.manual_seed(1)
    lengths = torch.tensor([17, 1, 9, 12])
    x = torch.randn(4, 17, 5)
    with torch.no_grad():
        y, out_frames = m(x, lengths)
        y_long, _ = m(torch.cat([x, torch.randn(4, 6, 5)], 1), lengths)  # different padding content and length
    expect = [m.sample_out_frames(n) for n in lengths.tolist()]
    assert out_frames.tolist() == expect
    for b, n in enumerate(expect):
        with torch.no_grad():
            alone, _ = m(x[b : b + 1, : lengths[b]], lengths[b : b + 1])
        assert torch.allclose(alone[0], y[b, :n], atol=1e-5), (preset, b)
        assert torch.allclose(y_long[b, :n], y[b, :n], atol=1e-5), (preset, b)


@pytest.mark.parametrize("preset,sub", CASES)
def test_out_frames(preset, sub):
    m = tiny(preset, sub)
    for T in (1, 2, 3, 4, 5, 8, 9, 31):
        with torch.no_grad():
            y, n = m(torch.randn(1, T, 5), torch.tensor([T]))
        half = -(-T // 2)
        assert y.shape[1] == n.item() == (half if sub == 2 else -(-half // 2))


def test_missing_or_misshaped_tensor_is_named():
    m = tiny("tcn")
    t = m.lab_tensors()
    with pytest.raises(Exception, match="x.safetensors: tensor model.head.bias is missing"):
        m.load_lab_tensors({k: v for k, v in t.items() if k != "model.head.bias"}, "x.safetensors")
    with pytest.raises(Exception, match=r"model.head.weight has shape \[4, 8\], the model needs \[8, 4\]"):
        m.load_lab_tensors({**t, "model.head.weight": t["model.head.weight"].T}, "x.safetensors")


@pytest.mark.parametrize("kind", ["adam", "adamw", "sgd"])
def test_optimizer_slots_round_trip_and_the_lstm_bias_hh_stays_zero(kind):
    m = tiny("tconv-bilstm").train()
    opt = make_optimizer(m, {"optimizer": kind, "lr": 1e-2, "momentum": 0.9, "weightDecay": 0.01})
    y, n = m(torch.randn(2, 11, 5), torch.tensor([11, 6]))
    y.square().mean().backward()
    opt.step()
    slots = lab_slots(opt, m, kind)
    assert any(np.abs(v).max() > 0 for v in slots.values())
    for name, p in m.lstm.named_parameters():
        if name.startswith("bias_hh"):
            assert not p.requires_grad and torch.count_nonzero(p) == 0
    opt2 = make_optimizer(m, {"optimizer": kind, "lr": 1e-2, "momentum": 0.9, "weightDecay": 0.01})
    load_slots(opt2, m, kind, slots, 1, "slots")
    back = lab_slots(opt2, m, kind)
    for k in slots:
        assert np.array_equal(back[k], slots[k]), k
