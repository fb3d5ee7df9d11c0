"""Learning-curve forecast (issue 20), the lab's src/engine/forecast/fit.ts step for step: from a
run's history so far, val WER and val loss at the planned last epoch with an 80% interval, and the
epoch a target WER would be reached.

Two families fitted by weighted least squares, f(t) = a + b·t^(−c) (c in 0.02 … 5) and
f(t) = a + b·exp(−t/τ) (τ in 0.25 … 400), t = epoch − t0 counted from just before the fitted
segment, the evaluated epochs after the last one with val WER ≥ 0.98 (t0 = that epoch, 0 if none); for each θ on a 41-point log
grid a and b are the closed-form weighted fit (a kept in [0, 1] for WER, ≥ 0 for loss), then 60
golden-section steps on ln θ between the best grid point's neighbours; the family with the smaller
weighted residual wins. Weights w = 2^(−(t_last − t)/H), H = max(3, span / 2). Interval: the
chosen fit's residuals × √(n / (n − 3)) resampled with the lab's Rng (n indices, then one for the
observation noise, per draw), both families refitted per draw, band = the draws' type-7 quantiles.
Withheld: fewer than 5 evaluated epochs since the plateau, the last 3 evaluated epochs on the
plateau (val WER ≥ 0.98 or blank rate ≥ 0.99), or bad input (named epoch).

The draws are computed together (numpy arrays [n, draws], sums over the first axis in index order,
as the lab's loops add them); results equal the lab's to rounding (tested ≤ 1e-6 on fixtures it
writes: src/engine/forecast/fixtures/forecasts.json).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .rng import Rng

DEFAULTS = {
    "minEpochs": 5,  # evaluated epochs after the blank plateau before forecasting
    "plateauWer": 0.98,  # val WER at or above this is blank output
    "plateauBlankRate": 0.99,  # blank rate at or above this is the plateau too
    "plateauWindow": 3,  # withheld while the last this many evaluated epochs are all on it
    "level": 0.8,  # central interval
    "draws": 200,  # bootstrap refits
    "seed": 20,  # the bootstrap's RNG seed
}

GRID = 41
GOLDEN_STEPS = 60
RANGE = {"power": (0.02, 5.0), "exp": (0.25, 400.0)}
FAMILIES = ("power", "exp")


@dataclass
class Fits:
    """One fit per column: f(t) = a + b·g(t; θ) for each of D curves (arrays [D])."""

    family: np.ndarray  # 0 power, 1 exp
    a: np.ndarray
    b: np.ndarray
    theta: np.ndarray
    sse: np.ndarray

    def at(self, t: np.ndarray) -> np.ndarray:
        """Values at t ([E]) → [E, D]."""
        t = np.asarray(t, dtype=np.float64)[:, None]
        g = np.where(self.family[None, :] == 0, t ** (-self.theta[None, :]), np.exp(-t / self.theta[None, :]))
        return self.a[None, :] + self.b[None, :] * g

    def one(self, d: int) -> dict:
        return {"family": FAMILIES[int(self.family[d])], "a": float(self.a[d]), "b": float(self.b[d]), "theta": float(self.theta[d]), "sse": float(self.sse[d])}


def _basis(family: str, t: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """g(t; θ) for t [n] and θ [D] → [n, D]."""
    return t[:, None] ** (-theta[None, :]) if family == "power" else np.exp(-t[:, None] / theta[None, :])


def _linear_fit(family: str, t: np.ndarray, y: np.ndarray, w: np.ndarray, a_max: float, theta: np.ndarray):
    """Weighted fit of y [n, D] ≈ a + b·g(t; θ) per column, 0 ≤ a ≤ a_max → (a, b, sse), each [D]."""
    g = _basis(family, t, theta)
    wc = w[:, None]
    sw = 0.0
    for wi in w:  # the lab's order
        sw += wi
    gm = (wc * g).sum(axis=0) / sw
    ym = (wc * y).sum(axis=0) / sw
    sgg = (wc * (g - gm) * (g - gm)).sum(axis=0)
    sgy = (wc * (g - gm) * (y - ym)).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        b = np.where(sgg > 0, sgy / sgg, 0.0)
    a = ym - b * gm
    out = (a < 0) | (a > a_max)
    if out.any():
        a0 = np.where(a < 0, 0.0, a_max)
        sgg0 = (wc * g * g).sum(axis=0)
        sgy0 = (wc * g * (y - a0)).sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            b0 = np.where(sgg0 > 0, sgy0 / sgg0, 0.0)
        a = np.where(out, a0, a)
        b = np.where(out, b0, b)
    r = y - a - b * g
    sse = (wc * r * r).sum(axis=0)
    return a, b, sse


def fit_family(family: str, t, y, w, a_max: float):
    """Best θ per column: the log grid, then golden section on ln θ between the best point's neighbours."""
    t = np.asarray(t, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    y = y[:, None] if y.ndim == 1 else y
    w = np.asarray(w, dtype=np.float64)
    d = y.shape[1]
    lo, hi = RANGE[family]
    u0 = math.log(lo)
    du = (math.log(hi) - u0) / (GRID - 1)
    th = np.full(d, math.exp(u0))
    best_a, best_b, best_sse = _linear_fit(family, t, y, w, a_max, th)
    best_th = th
    k = np.zeros(d, dtype=np.int64)
    for j in range(1, GRID):
        th = np.full(d, math.exp(u0 + j * du))
        a, b, sse = _linear_fit(family, t, y, w, a_max, th)
        better = sse < best_sse
        best_a, best_b, best_sse, best_th = (np.where(better, a, best_a), np.where(better, b, best_b), np.where(better, sse, best_sse), np.where(better, th, best_th))
        k = np.where(better, j, k)
    ua = u0 + np.maximum(k - 1, 0) * du
    ub = u0 + np.minimum(k + 1, GRID - 1) * du
    r = (math.sqrt(5) - 1) / 2
    u1 = ub - r * (ub - ua)
    u2 = ua + r * (ub - ua)
    f1 = _linear_fit(family, t, y, w, a_max, np.exp(u1))[2]
    f2 = _linear_fit(family, t, y, w, a_max, np.exp(u2))[2]
    for _ in range(GOLDEN_STEPS):
        left = f1 <= f2
        # left: ub = u2, u2 = u1, f2 = f1, u1 = ub − r·(ub − ua) (new f1); else: ua = u1, u1 = u2, f1 = f2, u2 = ua + r·(ub − ua) (new f2)
        ub_n = np.where(left, u2, ub)
        ua_n = np.where(left, ua, u1)
        u_new = np.where(left, ub_n - r * (ub_n - ua_n), ua_n + r * (ub_n - ua_n))
        f_new = _linear_fit(family, t, y, w, a_max, np.exp(u_new))[2]
        u1, u2 = np.where(left, u_new, u2), np.where(left, u1, u_new)
        f1, f2 = np.where(left, f_new, f2), np.where(left, f1, f_new)
        ua, ub = ua_n, ub_n
    th = np.exp((ua + ub) / 2)
    a, b, sse = _linear_fit(family, t, y, w, a_max, th)
    found = sse <= best_sse
    fam = np.full(d, FAMILIES.index(family))
    return Fits(fam, np.where(found, a, best_a), np.where(found, b, best_b), np.where(found, th, best_th), np.where(found, sse, best_sse))


def fit_curve(t, y, w, a_max: float) -> Fits:
    """Both families per column; exp only where its weighted residual is smaller (power on a tie)."""
    p = fit_family("power", t, y, w, a_max)
    e = fit_family("exp", t, y, w, a_max)
    use = e.sse < p.sse
    return Fits(*(np.where(use, getattr(e, k), getattr(p, k)) for k in ("family", "a", "b", "theta", "sse")))


def recency_weights(t) -> np.ndarray:
    """w = 2^(−(t_last − t)/H), H = max(3, span / 2) epochs."""
    t = np.asarray(t, dtype=np.float64)
    last = t[-1]
    h = max(3.0, (last - t[0]) / 2)
    return np.array([2.0 ** (-(last - ti) / h) for ti in t])


def _quantile(s: np.ndarray, p: float) -> np.ndarray:
    """Type-7 quantile of rows sorted along the last axis."""
    h = (s.shape[-1] - 1) * p
    i = math.floor(h)
    return s[..., i] + (h - i) * (s[..., i + 1] - s[..., i]) if i + 1 < s.shape[-1] else s[..., i]


def _bootstrap(t, y, w, a_max: float, o: dict):
    n = len(t)
    fit = fit_curve(t, y, w, a_max)
    yhat = fit.at(t)[:, 0]
    inflate = math.sqrt(n / (n - 3))
    res = (np.asarray(y, dtype=np.float64) - yhat) * inflate
    u = Rng(o["seed"]).uniforms(o["draws"] * (n + 1)).reshape(o["draws"], n + 1)
    idx = (u * n).astype(np.int64)  # rng.int(0, n − 1): n indices for the refit, then the noise's
    ys = yhat[:, None] + res[idx[:, :n].T]  # [n, D]
    noise = res[idx[:, n]]
    return fit, fit_curve(t, ys, w, a_max), noise


def _curve(fit: Fits, draws: Fits, noise, t0: int, seg0: int, planned: int, hi: float, level: float) -> dict:
    epochs = np.arange(seg0, planned + 1)
    t = (epochs - t0).astype(np.float64)
    ds = np.sort(np.minimum(np.maximum(draws.at(t) + noise[None, :], 0), hi), axis=1)
    value = np.minimum(np.maximum(fit.at(t)[:, 0], 0), hi)
    lo_q, hi_q = _quantile(ds, (1 - level) / 2), _quantile(ds, (1 + level) / 2)
    curve = [{"epoch": int(e), "value": float(v), "lo": float(a), "hi": float(b)} for e, v, a, b in zip(epochs, value, lo_q, hi_q)]
    f = fit.one(0)
    return {"fit": f, "t0": t0, "limit": min(max(f["a"], 0.0), hi), "curve": curve, "final": curve[-1]}


def _first_at_or_below(fits: Fits, t0: int, last: int, planned: int, target: float) -> np.ndarray:
    """Per column, the first epoch in (last, planned] whose fitted WER ≤ target; inf if none."""
    if planned <= last:
        return np.full(len(fits.a), math.inf)
    epochs = np.arange(last + 1, planned + 1)
    ok = np.minimum(np.maximum(fits.at((epochs - t0).astype(np.float64)), 0), 1) <= target  # [E, D]
    return np.where(ok.any(axis=0), epochs[np.argmax(ok, axis=0)].astype(np.float64), math.inf)


def _target(fit, draws, t0, rows, planned, target, level) -> dict:
    for r in rows:
        if r["wer"] <= target:
            return {"kind": "already", "epoch": r["epoch"]}
    last = rows[-1]["epoch"]
    point = _first_at_or_below(fit, t0, last, planned, target)[0]
    ds = np.sort(_first_at_or_below(draws, t0, last, planned, target))
    if point == math.inf:
        return {"kind": "not-within", "plannedEpochs": planned, "share": float(np.isfinite(ds).sum() / len(ds))}
    lo = ds[math.floor((len(ds) - 1) * ((1 - level) / 2))]
    hi = ds[math.ceil((len(ds) - 1) * ((1 + level) / 2))]
    return {"kind": "reached", "epoch": int(point), "lo": int(lo), "hi": None if hi == math.inf else int(hi)}


def _pct(x: float) -> str:
    return f"{math.floor(x * 100 + 0.5)}%"


def _num(x) -> str:
    """A number as the lab's template strings print it (2, 0.5, NaN)."""
    if isinstance(x, float) and math.isnan(x):
        return "NaN"
    if isinstance(x, float) and math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return str(int(x)) if isinstance(x, float) and x.is_integer() else str(x)


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def _evaluated(history: list[dict]):
    """The evaluated epochs ({epoch, wer (clamped), loss, blankRate}), or the first bad row's message."""
    rows, prev = [], 0
    for row in history:
        epoch = row.get("epoch")
        if not (isinstance(epoch, (int, float)) and float(epoch).is_integer() and epoch > prev):
            return (f"epoch {_num(epoch)} follows epoch {prev}: the history must list each epoch once, in increasing order (a resumed run repeating epochs?)"
                    if prev > 0 else f"epoch {_num(epoch)} is not a whole number ≥ 1")
        epoch = int(epoch)
        prev = epoch
        wer, loss = row.get("valWer"), row.get("valLoss")
        if wer is None and loss is None:
            continue  # not validated this epoch (evalEvery > 1)
        if wer is None or loss is None:
            return f"epoch {epoch} has a val {'loss but no val WER' if wer is None else 'WER but no val loss'}"
        if not _finite(wer):
            return f"epoch {epoch}: val WER is {_num(wer)}"
        if not _finite(loss):
            return f"epoch {epoch}: val loss is {_num(loss)}"
        br = row.get("blankRate")
        if br is not None and not _finite(br):
            return f"epoch {epoch}: blank rate is {_num(br)}"
        rows.append({"epoch": epoch, "wer": min(max(float(wer), 0.0), 1.0), "loss": float(loss), "blankRate": br})
    return rows


def _withheld(reason: str, message: str) -> dict:
    return {"kind": "withheld", "reason": reason, "message": message}


def forecast(history: list[dict], planned_epochs: int, target_wer: float | None = None, **options) -> dict:
    """The lab's forecast(history, plannedEpochs, targetWer, options): a dict of the same shape."""
    o = {**DEFAULTS, **options}
    if target_wer is not None and not (_finite(target_wer) and 0 < target_wer <= 1):
        return _withheld("bad-input", f"the target WER is a fraction in (0, 1] (0.25 for 25%); got {_num(target_wer)}")
    rows = _evaluated(history)
    if isinstance(rows, str):
        return _withheld("bad-input", rows)
    if not rows:
        return _withheld("too-few-epochs", f"no evaluated epochs yet (a forecast needs {o['minEpochs']})")
    last = rows[-1]["epoch"]
    if not (_finite(planned_epochs) and float(planned_epochs).is_integer() and planned_epochs >= last):
        return _withheld("bad-input", f"the planned epochs ({_num(planned_epochs)}) must be a whole number ≥ the history's last epoch ({last})")
    planned = int(planned_epochs)

    def on_plateau(r):
        return r["wer"] >= o["plateauWer"] or (r["blankRate"] is not None and r["blankRate"] >= o["plateauBlankRate"])

    if all(on_plateau(r) for r in rows[-o["plateauWindow"]:]):
        return _withheld("blank-plateau", f"still on the blank plateau at epoch {last} (val WER {_pct(rows[-1]['wer'])}): no learning curve to extrapolate yet")
    start = 0
    for i, r in enumerate(rows):
        if r["wer"] >= o["plateauWer"]:
            start = i + 1
    seg = rows[start:]
    if len(seg) < o["minEpochs"]:
        return _withheld("too-few-epochs", f"{len(seg)} evaluated epoch(s) since the blank plateau ended; a forecast needs {o['minEpochs']}")
    t0 = rows[start - 1]["epoch"] if start > 0 else 0
    t = np.array([r["epoch"] - t0 for r in seg], dtype=np.float64)
    w = recency_weights(t)
    wer_fit, wer_draws, wer_noise = _bootstrap(t, [r["wer"] for r in seg], w, 1.0, o)
    loss_fit, loss_draws, loss_noise = _bootstrap(t, [r["loss"] for r in seg], w, math.inf, o)
    return {
        "kind": "forecast",
        "plannedEpochs": planned,
        "level": o["level"],
        "fittedEpochs": [r["epoch"] for r in seg],
        "wer": _curve(wer_fit, wer_draws, wer_noise, t0, seg[0]["epoch"], planned, 1.0, o["level"]),
        "loss": _curve(loss_fit, loss_draws, loss_noise, t0, seg[0]["epoch"], planned, math.inf, o["level"]),
        "target": None if target_wer is None else _target(wer_fit, wer_draws, t0, rows, planned, target_wer, o["level"]),
    }


def forecast_text(f: dict) -> str:
    """The lab's forecastText: 'forecast: val WER 23% at epoch 60 (18–29%)' or 'forecast withheld: …'."""
    if f["kind"] == "withheld":
        return f"forecast withheld: {f['message']}"
    fin = f["wer"]["final"]
    s = f"forecast: val WER {_pct(fin['value'])} at epoch {fin['epoch']} ({math.floor(fin['lo'] * 100 + 0.5)}–{_pct(fin['hi'])})"
    g = f["target"]
    if g and g["kind"] == "already":
        s += f"; target reached at epoch {g['epoch']}"
    if g and g["kind"] == "reached":
        hi = g["hi"] if g["hi"] is not None else f"beyond {f['plannedEpochs']}"
        s += f"; target near epoch {g['epoch']} ({g['lo']}–{hi})"
    if g and g["kind"] == "not-within":
        s += "; target not within the planned epochs"
    return s
