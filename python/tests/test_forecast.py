"""The twin's learning-curve forecast (ctc_lab/forecast.py) against the lab's
(src/engine/forecast/fit.ts): the forecasts the lab wrote to src/engine/forecast/fixtures/forecasts.json
(recorded and synthetic histories, gaps, a plateau), equal to 1e-6, the one-line text word for word."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from ctc_lab.forecast import fit_family, forecast, forecast_text, recency_weights

FIXTURE = Path(__file__).resolve().parents[2] / "src" / "engine" / "forecast" / "fixtures" / "forecasts.json"
CASES = json.loads(FIXTURE.read_text())


def same(a, b, path: str = "") -> None:
    """Structures equal; numbers within 1e-6 (absolute, or relative for large ones)."""
    if isinstance(b, dict):
        assert isinstance(a, dict) and a.keys() == b.keys(), f"{path}: keys {sorted(a)} vs {sorted(b)}"
        for k in b:
            same(a[k], b[k], f"{path}.{k}")
    elif isinstance(b, list):
        assert isinstance(a, list) and len(a) == len(b), f"{path}: length"
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{path}[{i}]")
    elif isinstance(b, (int, float)) and not isinstance(b, bool):
        assert isinstance(a, (int, float)) and abs(a - b) <= 1e-6 * max(1.0, abs(b)), f"{path}: {a} vs {b}"
    else:
        assert a == b, f"{path}: {a!r} vs {b!r}"


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_equals_the_lab(case):
    f = forecast(case["history"], case["plannedEpochs"], case["targetWer"])
    same(f, case["result"], case["name"])
    assert forecast_text(f) == case["text"]


def test_fixtures_cover_each_outcome():
    kinds = {c["result"]["kind"] for c in CASES}
    targets = {c["result"]["target"]["kind"] for c in CASES if c["result"]["kind"] == "forecast" and c["result"]["target"]}
    assert kinds == {"forecast", "withheld"} and targets == {"already", "reached", "not-within"}


def test_recovers_a_noise_free_power_law():
    t = list(range(1, 21))
    y = [0.15 + 0.7 * ti**-0.6 for ti in t]
    f = fit_family("power", t, y, recency_weights(t), 1.0).one(0)
    assert f["a"] == pytest.approx(0.15, rel=1e-6) and f["b"] == pytest.approx(0.7, rel=1e-6) and f["theta"] == pytest.approx(0.6, rel=1e-6)


def test_refusals_name_the_epoch():
    rows = [{"epoch": e, "valWer": 0.9 / e**0.5, "valLoss": 2.0 / e, "blankRate": 0.9} for e in range(1, 11)]
    assert forecast(rows, 30, 1.5)["message"] == "the target WER is a fraction in (0, 1] (0.25 for 25%); got 1.5"
    assert forecast(rows[:6] + rows[4:], 30)["message"].startswith("epoch 5 follows epoch 6")
    bad = [dict(r, valWer=math.nan) if r["epoch"] == 7 else r for r in rows]
    assert forecast(bad, 30) == {"kind": "withheld", "reason": "bad-input", "message": "epoch 7: val WER is NaN"}
    assert forecast(rows, 30)["kind"] == "forecast"
