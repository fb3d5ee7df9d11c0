"""The twin's plateau-aware early stopping (ctc_lab/stopping.py, run.py's EarlyStopping) against the lab's
(src/engine/forecast/stopping.ts): on the recorded histories (real twin runs: a plateau that ends, one that never
ends, a healthy run, an overfitting one), the lab's judgement of every epoch and its decisions under patience
15/40/10/5 and both monitors (src/engine/forecast/fixtures/stopping.json, written by stopping.test.ts): the stop
epoch, the epochs with patience paused, the first pause's message and the stop reason, word for word."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from ctc_lab.run import EarlyStopping
from ctc_lab.stopping import judge_stall

ROOT = Path(__file__).resolve().parents[2] / "src" / "engine" / "forecast" / "fixtures"
FIXTURE = json.loads((ROOT / "stopping.json").read_text())
HISTORIES = {n: json.loads((ROOT / "histories" / f"{n}.json").read_text())["history"] for n in FIXTURE["judgements"]}


def same(a, b, path=""):
    if isinstance(b, dict):
        assert a.keys() == b.keys(), path
        for k in b:
            same(a[k], b[k], f"{path}.{k}")
    elif isinstance(b, float):
        assert abs(a - b) <= 1e-9 * max(1.0, abs(b)), f"{path}: {a} vs {b}"
    else:
        assert a == b, f"{path}: {a!r} vs {b!r}"


def replay(history, cfg, es=None, start=0):
    es = es or EarlyStopping(cfg, None)
    paused, first = [], None
    for i in range(start, len(history)):
        r = history[i]
        if r.get("valLoss") is None and r.get("valWer") is None:
            continue
        _, stop, j = es.update(r["epoch"], r["valWer"] if cfg["monitor"] == "val_wer" else r["valLoss"], history[: i + 1])
        if j and j["paused"]:
            paused.append(r["epoch"])
            first = first or j["message"]
        if stop:
            return {"stop": r["epoch"], "reason": es.reason(j), "paused": paused, "firstPause": first}
    return {"stop": None, "reason": None, "paused": paused, "firstPause": first}


@pytest.mark.parametrize("name", sorted(FIXTURE["judgements"]))
def test_judgements_equal_the_lab(name):
    h = HISTORIES[name]
    for i, want in enumerate(FIXTURE["judgements"][name]):
        same(judge_stall(h[: i + 1]), want, f"{name}[{i + 1}]")


@pytest.mark.parametrize("d", FIXTURE["decisions"], ids=[f"{d['name']}-p{d['patience']}-{d['monitor']}" for d in FIXTURE["decisions"]])
def test_decisions_equal_the_lab(d):
    cfg = {"patience": d["patience"], "minDelta": 0.01, "monitor": d["monitor"], "restoreBest": True}
    got = replay(HISTORIES[d["name"]], cfg)
    assert got == {k: d[k] for k in ("stop", "reason", "paused", "firstPause")}


def test_resume_decides_as_the_whole_run():
    h = HISTORIES["plateau-never-ends"]
    cfg = {"patience": 15, "minDelta": 0.01, "monitor": "val_wer", "restoreBest": True}
    whole = replay(h, cfg)
    es = EarlyStopping(cfg, None)
    first = replay(h[:12], cfg, es)
    resumed = replay(h, cfg, EarlyStopping(cfg, json.loads(json.dumps(es.state))), 12)
    assert resumed["stop"] == whole["stop"] == 26 and resumed["reason"] == whole["reason"]
    assert first["paused"] + resumed["paused"] == whole["paused"]


def test_bad_input_is_not_judged():
    rows = [{"epoch": e, "trainLoss": 3.0, "valLoss": 3 * 0.98**e, "valWer": 1.0, "blankRate": 1.0} for e in range(1, 11)]
    assert judge_stall(rows[:2])["message"] == "too short to judge the trend: 2 epochs with val loss, 4 needed; patience counts"
    j = judge_stall(rows + rows[8:])
    assert not j["paused"] and j["message"] == "cannot judge the trend: epoch 9 follows epoch 10 (a resumed run's repeated epochs?); patience counts"
    nan = [dict(r, valLoss=math.nan) if r["epoch"] == 7 else r for r in rows]
    assert judge_stall(nan)["message"] == "cannot judge the trend: epoch 7 has val loss NaN; patience counts"
    assert judge_stall(rows)["message"] == "in the blank plateau since epoch 1, val loss −2.0%/epoch: patience paused"
