"""tools/backtest_forecast.py: the forecast at one third of a run against what it reached, on
hand-checked histories, and on the committed recorded runs (its summary is what its rows say;
the targets themselves are measured in BENCHMARKS.md, not asserted)."""

from __future__ import annotations

import importlib.util
import json
import math
import statistics
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[2] / "tools" / "backtest_forecast.py"
spec = importlib.util.spec_from_file_location("backtest_forecast", TOOL)
bt = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bt)


def curve(e: int) -> float:
    return 0.1 + 0.8 / math.sqrt(e)


def run(name: str, wer, epochs: int = 30, blank: float = 0.9) -> dict:
    rows = [{"epoch": e, "valWer": wer(e), "valLoss": 3 * wer(e), "blankRate": blank} for e in range(1, epochs + 1)]
    return {"name": name, "dataset": "hand", "preset": "tcn", "epochs": epochs, "history": rows}


def test_one_run_by_hand():
    # Noise-free 0.1 + 0.8/√t up to epoch 10 (what the forecast sees), then the run ends at 50% WER:
    # projected 0.1 + 0.8/√30 = 0.246059, so 25.394 points off, and the band (no residuals) is the point.
    r = bt.backtest_run(run("late-jump", lambda e: 0.5 if e == 30 else curve(e)))
    assert (r["at"], r["lastEpoch"], r["actual"]) == (10, 30, 0.5)
    assert r["projected"] == pytest.approx(0.1 + 0.8 / math.sqrt(30), abs=1e-6)
    assert r["error"] == pytest.approx((0.5 - 0.1 - 0.8 / math.sqrt(30)) * 100, abs=1e-4)
    assert r["hi"] - r["lo"] < 1e-6 and r["covered"] is False


def test_withheld_runs_are_counted_with_their_reason():
    assert bt.backtest_run(run("blank", lambda e: 1.0, blank=1.0))["withheld"] == "blank-plateau"
    # Blank output until epoch 7: at epoch 10 only 3 evaluated epochs since the plateau.
    assert bt.backtest_run(run("late", lambda e: 1.0 if e <= 7 else curve(e - 7)))["withheld"] == "too-few-epochs"


def test_summary_by_hand():
    rows = [
        {"name": "a", "error": 1.0, "covered": True},
        {"name": "b", "error": 10.0, "covered": True},
        {"name": "c", "error": 2.0, "covered": False},
        {"name": "d", "withheld": "blank-plateau"},
        {"name": "e", "withheld": "blank-plateau"},
        {"name": "f", "withheld": "too-few-epochs"},
    ]
    assert bt.summarise(rows) == {"runs": 6, "forecasts": 3, "withheld": {"blank-plateau": 2, "too-few-epochs": 1}, "medianAbsErrorPoints": 2.0, "coverage": 2 / 3}
    assert bt.summarise(rows[3:])["medianAbsErrorPoints"] is None


def test_recorded_runs_summary_is_what_its_rows_say():
    runs = bt.load_runs()
    assert len(runs) >= 10 and {r["group"] for r in runs} == {"named", "backtest", "long"}
    runs = runs[::4]  # every 4th run (the whole list takes ~15 s on a loaded 2-core machine)
    res = bt.backtest(runs)
    made = [r for r in res["rows"] if "withheld" not in r]
    assert res["runs"] == len(runs) == len(res["rows"])
    assert res["forecasts"] == len(made) and res["forecasts"] + sum(res["withheld"].values()) == res["runs"]
    for r in made:
        assert r["error"] == pytest.approx(abs(r["projected"] - r["actual"]) * 100)
        assert r["covered"] == (r["lo"] <= r["actual"] <= r["hi"])
    if made:
        assert res["medianAbsErrorPoints"] == statistics.median(r["error"] for r in made)
        assert res["coverage"] == sum(r["covered"] for r in made) / len(made)


def test_prints_the_summary(capsys, tmp_path):
    (tmp_path / "long").mkdir()
    for name in ("x", "d"):  # x: held-out (crc32 0x8CDC1683), d: tuning
        (tmp_path / "long" / f"{name}.json").write_text(json.dumps(run(name, curve)))
    assert bt.main(["--histories", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "\nall: runs " in out and "; forecasts " in out and "; withheld " in out and "\nsplit held-out: runs " in out


def test_groups_come_from_the_folders_and_halves_from_the_name(tmp_path):
    for sub, name in (("", "a"), ("backtest", "b"), ("long", "c"), ("long", "d")):
        (tmp_path / sub).mkdir(exist_ok=True)
        (tmp_path / sub / f"{name}.json").write_text(json.dumps(run(name, curve)))
    runs = bt.load_runs(str(tmp_path))
    assert [(r["name"], r["group"]) for r in runs] == [("a", "named"), ("b", "backtest"), ("c", "long"), ("d", "long")]
    # The half is crc32(name) mod 2 (zlib's CRC-32): a 0xE8B7BE43, b 0x71BEEFF9, c 0x06B9DF6F odd; d 0x98DD4ACC even.
    assert [r["split"] for r in runs] == ["held-out", "held-out", "held-out", "tuning"]
    res = bt.backtest(runs)
    assert res["by"]["group long"]["runs"] == 2 and res["by"]["group named"]["runs"] == 1
    assert res["by"]["split tuning"]["runs"] + res["by"]["split held-out"]["runs"] == 4
