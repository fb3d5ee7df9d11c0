"""Forecast variants on the backtest (issue 20), for choosing a change to the learning-curve forecast
on one fixed half of the recorded runs and judging it on the other (tools/backtest_forecast.py's
halves: crc32 of the run's name even = "tuning", odd = "held-out"). Nothing here is used by the lab
or the twin: each variant patches ctc_lab.forecast in this process only.

Variants (names on the command line):
  base     the forecast as it is: the family (power law or exponential saturation) with the smaller
           weighted residual
  Hx       recency half-life H = max(3, span · x) instead of span / 2 (e.g. H0.25, H1)
  Kx       exponential saturation only where its weighted residual < x · the power law's (K0: power only)
  AICq     both families, averaged with tempered Akaike weights: w_power = 1 / (1 + (SSE_p / SSE_e)^(q·n/2)),
           in the fit and in every bootstrap draw (q = 1: plain Akaike weights; on a noise-free curve
           the family that made it still gets all the weight)
  AVG      both families averaged with equal weights (does not recover a noise-free curve exactly)

  /usr/bin/python3 tools/forecast_variants.py tuning base H0.25 K0.5 AIC1 AIC0.2 AIC0.05 AVG
  /usr/bin/python3 tools/forecast_variants.py held-out base AIC0.05
  /usr/bin/python3 tools/forecast_variants.py tuning --runs base AIC0.05     # per run, at 1/3
"""

from __future__ import annotations

import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import backtest_forecast as bt  # noqa: E402
import ctc_lab.forecast as F  # noqa: E402

ORIG = {k: getattr(F, k) for k in ("recency_weights", "fit_curve")}


class Mix:
    """Two fits (power p, exp e) averaged per column with weight wp on the power law."""

    def __init__(self, p, e, wp):
        self.p, self.e, self.wp = p, e, wp
        self.a = wp * p.a + (1 - wp) * e.a
        self.family, self.b, self.theta = p.family, p.b, p.theta
        self.sse = wp * p.sse + (1 - wp) * e.sse

    def at(self, t):
        return self.wp[None, :] * self.p.at(t) + (1 - self.wp[None, :]) * self.e.at(t)

    def one(self, d):
        return {**self.p.one(d), "a": float(self.a[d])}


def use(name: str) -> None:
    for k, v in ORIG.items():
        setattr(F, k, v)
    if name.startswith("H"):
        x = float(name[1:])

        def rw(t):
            t = np.asarray(t, dtype=np.float64)
            h = max(3.0, (t[-1] - t[0]) * x)
            return np.array([2.0 ** (-(t[-1] - ti) / h) for ti in t])

        F.recency_weights = rw
    elif name.startswith("K"):
        k = float(name[1:])

        def fc(t, y, w, a_max):
            p, e = F.fit_family("power", t, y, w, a_max), F.fit_family("exp", t, y, w, a_max)
            pick = e.sse < k * p.sse
            return F.Fits(*(np.where(pick, getattr(e, q), getattr(p, q)) for q in ("family", "a", "b", "theta", "sse")))

        F.fit_curve = fc
    elif name.startswith("AIC") or name == "AVG":
        q = float(name[3:]) if name.startswith("AIC") else 0.0

        def fc(t, y, w, a_max):
            p, e = F.fit_family("power", t, y, w, a_max), F.fit_family("exp", t, y, w, a_max)
            with np.errstate(divide="ignore", invalid="ignore"):
                r = q * (len(t) / 2) * (np.log(e.sse) - np.log(p.sse))  # > 0: the power law fits better
            r = np.clip(np.nan_to_num(r, nan=0.0, posinf=700.0, neginf=-700.0), -700, 700)
            return Mix(p, e, 1 / (1 + np.exp(-r)))

        F.fit_curve = fc
    elif name != "base":
        raise SystemExit(f"unknown variant {name}")


def main(argv: list[str]) -> int:
    split, *names = argv
    per_run = "--runs" in names
    names = [n for n in names if n != "--runs"]
    runs = [r for r in bt.load_runs() if split == "all" or r["split"] == split]
    if per_run:
        rows = {}
        for n in names:
            use(n)
            rows[n] = {r["name"]: r for r in bt.backtest(runs)["rows"]}
        for k, r in rows[names[0]].items():
            if "withheld" not in r:
                cells = [f"{n} {rows[n][k]['projected'] * 100:5.1f} ({rows[n][k]['lo'] * 100:.0f}–{rows[n][k]['hi'] * 100:.0f}){'' if rows[n][k]['covered'] else ' out'}" for n in names]
                print(f"{k:40} reached {r['actual'] * 100:5.1f}  " + "  ".join(cells))
        return 0
    for n in names:
        use(n)
        cells = []
        for fr in (1 / 3, 1 / 2, 2 / 3):
            s = bt.backtest(runs, fr)
            med = s["medianAbsErrorPoints"]
            cells.append(f"{fr:.2f}: {s['forecasts']}/{s['runs']} median {med:.2f}, coverage {100 * s['coverage']:.0f}%" if s["forecasts"] else f"{fr:.2f}: none")
        print(f"{n:8} {split:8} " + " | ".join(cells), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
