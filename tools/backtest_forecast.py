"""Backtest of the learning-curve forecast (issue 20): for each recorded run, the forecast made at
one third of its epochs (the twin's ctc_lab.forecast, equal to the lab's engine/forecast/fit.ts)
against the val WER the run actually reached at its last epoch.

Runs: the recorded twin histories in src/engine/forecast/fixtures/histories/*.json (group "named"),
histories/backtest/*.json (group "backtest": the first, short runs, 30–45 epochs) and
histories/long/*.json (group "long": 60–120 epochs) (tools/record_histories.py writes them:
{"name", "dataset", "preset", "settings", "epochs", "history": [rows with epoch, valLoss, valWer,
blankRate, …]}). Each run also has a fixed half: "tuning" when zlib.crc32 of its name is even,
else "held-out" (fixed before any change to the forecast was tried: a change is chosen on the
tuning half and judged on the held-out half). A run is
forecast from its rows up to epoch ⌊epochs / 3⌋ with the planned epochs = its `epochs`; the
projection compared is the forecast curve's point (and 80% interval) at the run's last evaluated
epoch, against that epoch's val WER clamped to [0, 1] as the forecast's are.

Prints one line per run, then: runs, forecasts made, withheld (by reason), the median absolute
error in WER points and the interval's coverage over the forecasts made; then the same per group
and per half.

  /usr/bin/python3 tools/backtest_forecast.py                  # the committed histories, at 1/3
  /usr/bin/python3 tools/backtest_forecast.py --fraction 0.5   # at one half
  /usr/bin/python3 tools/backtest_forecast.py --group long --split held-out
  /usr/bin/python3 tools/backtest_forecast.py --json           # the summary as JSON
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import statistics
import sys
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))

from ctc_lab.forecast import forecast  # noqa: E402

HISTORIES = os.path.join(ROOT, "src", "engine", "forecast", "fixtures", "histories")


GROUPS = {"named": "", "backtest": "backtest", "long": "long"}  # group → sub-folder


def split_of(name: str) -> str:
    """The run's fixed half: "tuning" when crc32(name) is even, else "held-out"."""
    return "tuning" if zlib.crc32(name.encode("utf-8")) % 2 == 0 else "held-out"


def load_runs(folder: str = HISTORIES) -> list[dict]:
    """The recorded runs, named histories first, each folder in name order, each with its group and half."""
    runs = []
    for group, sub in GROUPS.items():
        for f in sorted(glob.glob(os.path.join(folder, sub, "*.json"))):
            run = json.load(open(f))
            runs.append({**run, "group": group, "split": split_of(run["name"])})
    return runs


def backtest_run(run: dict, fraction: float = 1 / 3) -> dict:
    """One run's forecast at ⌊epochs · fraction⌋ against what it reached."""
    planned = int(run["epochs"])
    at = math.floor(planned * fraction)
    evaluated = [r for r in run["history"] if r.get("valWer") is not None]
    last = evaluated[-1]
    actual = min(max(float(last["valWer"]), 0.0), 1.0)
    out = {"name": run["name"], "group": run.get("group"), "split": run.get("split"), "dataset": run.get("dataset"), "preset": run.get("preset"),
           "epochs": planned, "at": at, "lastEpoch": last["epoch"], "actual": actual}
    f = forecast([r for r in run["history"] if r["epoch"] <= at], planned)
    if f["kind"] == "withheld":
        return {**out, "withheld": f["reason"], "message": f["message"]}
    p = next(c for c in f["wer"]["curve"] if c["epoch"] == last["epoch"])
    return {**out, "projected": p["value"], "lo": p["lo"], "hi": p["hi"], "error": abs(p["value"] - actual) * 100, "covered": p["lo"] <= actual <= p["hi"]}


def summarise(rows: list[dict]) -> dict:
    made = [r for r in rows if "withheld" not in r]
    withheld: dict[str, int] = {}
    for r in rows:
        if "withheld" in r:
            withheld[r["withheld"]] = withheld.get(r["withheld"], 0) + 1
    return {
        "runs": len(rows),
        "forecasts": len(made),
        "withheld": dict(sorted(withheld.items())),
        "medianAbsErrorPoints": statistics.median(r["error"] for r in made) if made else None,
        "coverage": sum(r["covered"] for r in made) / len(made) if made else None,
    }


def backtest(runs: list[dict], fraction: float = 1 / 3) -> dict:
    rows = [backtest_run(r, fraction) for r in runs]
    by = {f"{k} {v}": summarise([r for r in rows if r.get(k) == v]) for k, vs in (("group", GROUPS), ("split", ("tuning", "held-out"))) for v in vs}
    return {**summarise(rows), "by": {k: v for k, v in by.items() if v["runs"]}, "rows": rows}


def summary_line(s: dict) -> str:
    w = ", ".join(f"{k} {v}" for k, v in s["withheld"].items()) or "none"
    line = f"runs {s['runs']}; forecasts {s['forecasts']}; withheld {s['runs'] - s['forecasts']} ({w})"
    if s["forecasts"]:
        line += (f"; median absolute error {s['medianAbsErrorPoints']:.2f} WER points; 80% interval coverage {s['coverage'] * 100:.0f}% "
                 f"({round(s['coverage'] * s['forecasts'])}/{s['forecasts']})")
    return line


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--histories", default=HISTORIES, help="folder of recorded runs (and its backtest/)")
    p.add_argument("--fraction", type=float, default=1 / 3, help="share of the epochs the forecast sees (1/3)")
    p.add_argument("--group", choices=tuple(GROUPS), help="these runs only")
    p.add_argument("--split", choices=("tuning", "held-out"), help="this half only")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    a = p.parse_args(argv)
    runs = [r for r in load_runs(a.histories) if (a.group is None or r["group"] == a.group) and (a.split is None or r["split"] == a.split)]
    res = backtest(runs, a.fraction)
    if a.json:
        print(json.dumps(res, indent=1))
        return 0
    for r in res["rows"]:
        head = f"{r['name']:<38} {r['split']:<8} {r['dataset'] or '':<16} {r['preset'] or '':<13} at {r['at']:>2}/{r['epochs']:<3}"
        if "withheld" in r:
            print(f"{head} withheld ({r['withheld']}): {r['message']}")
        else:
            print(f"{head} projected {r['projected'] * 100:5.1f}% ({r['lo'] * 100:.1f}–{r['hi'] * 100:.1f}%), reached {r['actual'] * 100:5.1f}%: "
                  f"error {r['error']:.1f} points{'' if r['covered'] else ', outside the interval'}")
    print(f"\nall: {summary_line(res)}")
    for k, s in res["by"].items():
        print(f"{k}: {summary_line(s)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
