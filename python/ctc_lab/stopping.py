"""Plateau-aware early stopping: the lab's src/engine/forecast/stopping.ts line for line (read its
header for the rule and the reasons behind its numbers). For an epoch that did not improve the
monitored metric: patience is paused while the run is in CTC's blank plateau (blank rate ≥ 0.99, or
val WER ≥ 0.98 at blank rate ≥ 0.9) and the loss (val loss, train loss when there is none) over the
last 8 evaluated epochs is falling by more than noise: least-squares slope b of ln(loss) on the
epoch with b + 2·se < 0 and e^b − 1 < −0.1%/epoch (beyond noise but slower: "slow", counts). Otherwise the epoch counts. Histories that are
too short or broken are not judged (a message, patience counts). src/engine/forecast/fixtures/stopping.json
holds the lab's decisions on the recorded histories; python/tests/test_stopping.py asserts them."""

from __future__ import annotations

import math

STOPPING_DEFAULTS = {"window": 8, "minEpochs": 4, "z": 2, "minRate": 0.001, "plateauWer": 0.98, "plateauBlankRate": 0.99, "emittingBlankRate": 0.9}


def js_str(v) -> str:
    """A value as JavaScript's template string writes it (the lab's messages)."""
    if v is None:
        return "null"
    if isinstance(v, float) and math.isnan(v):
        return "NaN"
    if isinstance(v, float) and math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    if isinstance(v, float) and v == int(v) and abs(v) < 1e21:
        return str(int(v))
    return repr(v)


def _fixed(x: float, digits: int) -> str:
    """JavaScript's toFixed (−0 prints as 0)."""
    s = f"{x:.{digits}f}"
    return s[1:] if s.startswith("-") and float(s) == 0 else s


def _abs(x: float) -> str:
    """Percent per epoch: one decimal from 1%, two below."""
    return f"{_fixed(abs(x * 100), 1 if abs(x) >= 0.01 else 2)}%"


def _pct(x: float) -> str:
    sign = "−" if x < 0 else "+" if x > 0 else ""
    return f"{sign}{_abs(x)}"


def trend_text(j: dict) -> str:
    """The trend phrase: "val loss falling (−1.2%/epoch ± 0.3%)"."""
    if j["signal"] is None or j["rate"] is None or j["band"] is None:
        return j["message"]
    what = "flat within noise" if j["trend"] == "flat" else f"falling slower than {_abs(j['minRate'])}/epoch" if j["trend"] == "slow" else j["trend"]
    return f"{j['signal']} {what} ({_pct(j['rate'])}/epoch ± {_abs(j['band'])})"


def _unjudged(message: str, min_rate: float) -> dict:
    return {"paused": False, "signal": None, "trend": None, "rate": None, "band": None, "minRate": min_rate, "plateauSince": None, "message": message}


def _slope(x: list, y: list) -> tuple[float, float]:
    n = len(x)
    mx, my = sum(x) / n, sum(y) / n
    sxx = sxy = 0.0
    for i in range(n):
        sxx += (x[i] - mx) ** 2
        sxy += (x[i] - mx) * (y[i] - my)
    b = sxy / sxx
    ssr = 0.0
    for i in range(n):
        ssr += (y[i] - my - b * (x[i] - mx)) ** 2
    return b, math.sqrt(ssr / (n - 2) / sxx)


def judge_stall(history: list, options: dict | None = None) -> dict:
    """Judges the history's last epoch (rows as the checkpoint stores them)."""
    o = {**STOPPING_DEFAULTS, **(options or {})}
    for i in range(1, len(history)):
        if not history[i]["epoch"] > history[i - 1]["epoch"]:
            return _unjudged(f"cannot judge the trend: epoch {history[i]['epoch']} follows epoch {history[i - 1]['epoch']} (a resumed run's repeated epochs?); patience counts", o["minRate"])
    evaluated = [r for r in history if r.get("valLoss") is not None or r.get("valWer") is not None]
    use_val = len(evaluated) > 0 and all(r.get("valLoss") is not None for r in evaluated)
    signal = "val loss" if use_val else "train loss"
    key = "valLoss" if use_val else "trainLoss"
    rows = (evaluated if use_val else history)[-o["window"]:]
    for r in rows:
        v = r.get(key)
        if v is None or not math.isfinite(v) or v <= 0:
            return _unjudged(f"cannot judge the trend: epoch {r['epoch']} has {signal} {js_str(v)}; patience counts", o["minRate"])
    if len(rows) < o["minEpochs"]:
        return _unjudged(f"too short to judge the trend: {len(rows)} epochs with {signal}, {o['minEpochs']} needed; patience counts", o["minRate"])
    b, se = _slope([r["epoch"] for r in rows], [math.log(r[key]) for r in rows])
    rate, band = math.expm1(b), o["z"] * se
    trend = ("falling" if rate < -o["minRate"] else "slow") if b + band < 0 else "rising" if b - band > 0 else "flat"

    def on_plateau(r: dict) -> bool:
        br, wer = r.get("blankRate"), r.get("valWer")
        return (br is not None and br >= o["plateauBlankRate"]) or (wer is not None and wer >= o["plateauWer"] and (br is None or br >= o["emittingBlankRate"]))

    plateau_since = None
    for r in reversed(evaluated):
        if not on_plateau(r):
            break
        plateau_since = r["epoch"]
    paused = plateau_since is not None and trend == "falling"
    j = {"paused": paused, "signal": signal, "trend": trend, "rate": rate, "band": band, "minRate": o["minRate"], "plateauSince": plateau_since, "message": ""}
    last = evaluated[-1] if evaluated else None
    if plateau_since is not None:
        where = f"in the blank plateau since epoch {plateau_since}"
    elif last is not None and last.get("valWer") is not None:
        where = f"past the blank plateau (val WER {_fixed(last['valWer'] * 100, 0)}%)"
    else:
        where = "no val WER to place the blank plateau"
    j["message"] = f"{where}, {signal} {_pct(rate)}/epoch: patience paused" if paused else f"{where}, {trend_text(j)}: patience counts"
    return j
