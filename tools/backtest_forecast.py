"""Backtest of the learning-curve forecast (issue 20): for each recorded run, the forecast made at
one third of its epochs (the twin's ctc_lab.forecast, equal to the lab's engine/forecast/fit.ts)
against the val WER the run actually reached at its last epoch.

Runs: the recorded twin histories in src/engine/forecast/fixtures/histories/*.json and
histories/backtest/*.json (tools/record_histories.py writes them: {"name", "dataset", "preset",
"settings", "epochs", "history": [rows with epoch, valLoss, valWer, blankRate, …]}). A run is
forecast from its rows up to epoch ⌊epochs / 3⌋ with the planned epochs = its `epochs`; the
projection compared is the forecast curve's point (and 80% interval) at the run's last evaluated
epoch, against that epoch's val WER clamped to [0, 1] as the forecast's are.

Prints one line per run, then: runs, forecasts made, withheld (by reason), the median absolute
error in WER points and the interval's coverage over the forecasts made.

  /usr/bin/python3 tools/backtest_forecast.py            # the committed histories
  /usr/bin/python3 tools/backtest_forecast.py --json     # the summary as JSON
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import statistics
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))

from ctc_lab.forecast import forecast  # noqa: E402

HISTORIES = os.path.join(ROOT, "src", "engine", "forecast", "fixtures", "histories")


def load_runs(folder: str = HISTORIES) -> list[dict]:
    """The recorded runs, named histories first, each folder in name order."""
    files = sorted(glob.glob(os.path.join(folder, "*.json"))) + sorted(glob.glob(os.path.join(folder, "backtest", "*.json")))
    return [json.load(open(f)) for f in files]


def backtest_run(run: dict, fraction: float = 1 / 3) -> dict:
    """One run's forecast at ⌊epochs · fraction⌋ against what it reached."""
    planned = int(run["epochs"])
    at = math.floor(planned * fraction)
    evaluated = [r for r in run["history"] if r.get("valWer") is not None]
    last = evaluated[-1]
    actual = min(max(float(last["valWer"]), 0.0), 1.0)
    out = {"name": run["name"], "dataset": run.get("dataset"), "preset": run.get("preset"), "epochs": planned, "at": at, "lastEpoch": last["epoch"], "actual": actual}
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
    return {**summarise(rows), "rows": rows}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--histories", default=HISTORIES, help="folder of recorded runs (and its backtest/)")
    p.add_argument("--fraction", type=float, default=1 / 3, help="share of the epochs the forecast sees (1/3)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    a = p.parse_args(argv)
    res = backtest(load_runs(a.histories), a.fraction)
    if a.json:
        print(json.dumps(res, indent=1))
        return 0
    for r in res["rows"]:
        head = f"{r['name']:<38} {r['dataset'] or '':<16} {r['preset'] or '':<13} at {r['at']:>2}/{r['epochs']:<3}"
        if "withheld" in r:
            print(f"{head} withheld ({r['withheld']}): {r['message']}")
        else:
            print(f"{head} projected {r['projected'] * 100:5.1f}% ({r['lo'] * 100:.1f}–{r['hi'] * 100:.1f}%), reached {r['actual'] * 100:5.1f}%: "
                  f"error {r['error']:.1f} points{'' if r['covered'] else ', outside the interval'}")
    w = ", ".join(f"{k} {v}" for k, v in res["withheld"].items()) or "none"
    print(f"\nruns {res['runs']}; forecasts {res['forecasts']}; withheld {res['runs'] - res['forecasts']} ({w})")
    if res["forecasts"]:
        print(f"median absolute error {res['medianAbsErrorPoints']:.2f} WER points; 80% interval coverage {res['coverage'] * 100:.0f}% "
              f"({sum(r['covered'] for r in res['rows'] if 'covered' in r)}/{res['forecasts']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
