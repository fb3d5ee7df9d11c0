#!/usr/bin/env python3
"""Does the LR range test's suggestion land near the best learning rate? (issue 22)

For each dataset: the twin's range test (ctc_lab.lr_find, the lab's rule) on a new tcn of the
settings below gives a suggestion; then the same model is trained for EPOCHS epochs at each of a
five-point learning-rate grid (half-decade steps, warmup 1 epoch, cosine decay, no early stopping)
and the best val WER of each run is read from its checkpoint's history. Reported: the suggestion,
the grid's best rate, their ratio (the issue's target: within 3×), and each grid run's best WER.

    /usr/bin/python3 tools/lr_find_benchmark.py --data digits=/tmp/digits --data words=/tmp/words -o /tmp/lrbench

The datasets come from tools/make_spoken_dataset.py (--kind digits / --kind words --mels 80 --snr
10:30): spoken words with held-out voices. The lab's own demo set is generated in TypeScript only.
Writes OUT/results.json and prints a Markdown table (BENCHMARKS.md)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))

GRID = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2]
SETTINGS = {"channels": 64, "layers": 3, "batch_size": 8, "accumulation_steps": 1, "max_train_samples": 300, "seed": 1}


def lr_find(data: str, out: str) -> dict:
    path = os.path.join(out, "lr.json")
    cmd = [sys.executable, "-m", "ctc_lab", "lr-find", "--preset", "tcn", data, "-o", path, "--device", "cpu"]
    for k, v in SETTINGS.items():
        cmd += [f"--{k}", str(v)]
    subprocess.run(cmd, check=True, env={**os.environ, "PYTHONPATH": os.path.join(ROOT, "python")})
    with open(path) as f:
        return json.load(f)


def train(data: str, lr: float, epochs: int, out: str) -> dict:
    from ctc_lab.checkpoint import read_checkpoint

    d = os.path.join(out, f"lr{lr:g}")
    cmd = [sys.executable, "-m", "ctc_lab", "train", "--preset", "tcn", data, "-o", d, "--device", "cpu", "--learning_rate", str(lr), "--epochs", str(epochs),
           "--warmup_epochs", "1", "--patience", "0", "--channels", str(SETTINGS["channels"]), "--layers", str(SETTINGS["layers"]),
           "--batch_size", str(SETTINGS["batch_size"]), "--accumulation_steps", str(SETTINGS["accumulation_steps"]),
           "--max_train_samples", str(SETTINGS["max_train_samples"]), "--seed", str(SETTINGS["seed"])]
    t0 = time.time()
    subprocess.run(cmd, check=True, env={**os.environ, "PYTHONPATH": os.path.join(ROOT, "python")}, stdout=subprocess.DEVNULL)
    meta, _ = read_checkpoint(os.path.join(d, "last.safetensors"))
    wers = [h["valWer"] for h in meta["history"] if h.get("valWer") is not None]
    return {"lr": lr, "bestValWer": min(wers), "lastValWer": wers[-1], "epochs": len(meta["history"]), "seconds": time.time() - t0}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", action="append", required=True, metavar="NAME=PATH")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--epochs", type=int, default=20)
    a = p.parse_args()
    results = []
    for item in a.data:
        name, path = item.split("=", 1)
        out = os.path.join(a.output, name)
        os.makedirs(out, exist_ok=True)
        t0 = time.time()
        r = lr_find(path, out)
        find_s = time.time() - t0
        sug = r["suggestion"]["lr"]
        grid = [train(path, lr, a.epochs, out) for lr in GRID]
        best = min(grid, key=lambda g: g["bestValWer"])
        ratio = None if sug is None else max(sug / best["lr"], best["lr"] / sug)
        at_sug = min(grid, key=lambda g: abs(__import__("math").log(g["lr"] / sug))) if sug else None
        res = {"dataset": name, "path": path, "suggestion": sug, "reason": r["suggestion"]["reason"], "stopReason": r["stopReason"], "rangeSteps": len(r["points"]),
               "rangeSeconds": find_s, "grid": grid, "bestLr": best["lr"], "ratio": ratio, "within3x": ratio is not None and ratio <= 3,
               "nearestGridToSuggestion": at_sug["lr"] if at_sug else None}
        results.append(res)
        print(json.dumps(res), flush=True)
    with open(os.path.join(a.output, "results.json"), "w") as f:
        json.dump({"settings": SETTINGS, "epochs": a.epochs, "grid": GRID, "results": results}, f, indent=1)
    print("\n| dataset | suggestion | grid best lr | ratio | within 3× | best val WER per grid lr (" + ", ".join(f"{g:g}" for g in GRID) + ") | range test |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        sug = "none" if r["suggestion"] is None else f"{r['suggestion']:.2e}"
        ratio = "–" if r["ratio"] is None else f"{r['ratio']:.2f}×"
        wers = ", ".join(f"{g['bestValWer'] * 100:.1f}%" for g in r["grid"])
        print(f"| {r['dataset']} | {sug} | {r['bestLr']:g} | {ratio} | {'yes' if r['within3x'] else 'no'} | {wers} | {r['rangeSteps']} steps, {r['rangeSeconds']:.0f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
