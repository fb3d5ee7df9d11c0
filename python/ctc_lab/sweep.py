"""`python -m ctc_lab sweep SPEC.json DATA -o DIR [--storage URL] [--n-trials N]`: a lab sweep
(src/engine/tune/sweep_spec.ts: a base config, named variations, ranges, rungs, metric, seed) run
with Optuna on the twin's training.

Trial numbers come from Optuna's storage, so any number of workers on one study (`--storage
sqlite:///sweep.db` on one machine, a PostgreSQL or MySQL URL across machines: Optuna's own
distributed mode) each run different trials: trial 0 is the base, trials 1…V the spec's variations
in order, later ones points that Optuna's TPE sampler draws from the ranges (`trials` of them).
Each trial is a fresh run of the twin's training (train.py's epoch, the lab's evaluation), its
checkpoints in DIR/trials/<number>/; its metric (val WER or val loss) is reported every epoch to
Optuna's SuccessiveHalvingPruner (min_resource r, reduction_factor η: the lab's rule,
engine/tune/halving.ts, checked against it on fixtures/halving.json), which stops it at a rung when
it is not in the top 1/η there. Every ended trial is one line of DIR/trials.jsonl (its changes,
per-epoch metrics, state); at the end the best complete trial's checkpoints are copied to DIR/best/.

The spec is validated as the lab validates it (same rules, same messages), then every fixed trial's
config is built and its model checked against the dataset (trainable samples), before anything trains.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import socket
import time
from decimal import Decimal

from .batch import token_index
from .data import Dataset, open_dataset
from .errors import CtcLabError

FORMAT = "ctc-lab-sweep/1"
PRESETS = ("tcn", "tconv-bilstm", "transformer")
# The lab's SWEEP_SETTINGS: what a sweep may change and what each accepts.
SETTINGS: dict[str, dict] = {
    "lr": {"kind": "float", "min": 0, "max": 10, "minOpen": True},
    "dropout": {"kind": "float", "min": 0, "max": 1, "maxOpen": True},
    "weightDecay": {"kind": "float", "min": 0, "max": 1},
    "patience": {"kind": "int", "min": 0, "max": 10000},
    "minDelta": {"kind": "float", "min": 0, "max": 1},
    "warmupEpochs": {"kind": "float", "min": 0, "max": 10000},
    "clipNorm": {"kind": "float", "min": 0, "max": 1e6},
    "batchSize": {"kind": "int", "min": 1, "max": 4096},
    "channels": {"kind": "int", "min": 1, "max": 4096},
    "layers": {"kind": "int", "min": 1, "max": 64},
    "preset": {"kind": "choice", "choices": PRESETS},
    "subsampling": {"kind": "choice", "choices": (2, 4)},
    "optimizer": {"kind": "choice", "choices": ("adam", "adamw", "sgd")},
}
# The lab's TRAIN_DEFAULTS (src/engine/train/config.ts), the settings a base may name.
LAB_DEFAULTS = {
    "preset": "tcn", "subsampling": 2, "channels": 64, "layers": 3, "hidden": 128, "heads": 4, "dropout": 0.2, "batchSize": 8,
    "accumulationSteps": 2, "epochs": 150, "lr": 5e-4, "warmupEpochs": 5, "decay": "cosine", "optimizer": "adam", "weightDecay": 0,
    "momentum": 0.9, "clipNorm": 5, "patience": 40, "minDelta": 0.01, "monitor": "val_wer", "restoreBest": True, "evalEvery": 1,
    "seed": 1, "maxTrainSamples": 0, "checkpointMinutes": 5, "emaDecay": 0, "averageBest": 0, "targetWer": 0,
    "augment": None,  # an object in the lab (AUGMENT_OFF by default)
}
ARCH = ("channels", "layers", "hidden", "heads", "subsampling")  # Run.fresh takes these as knobs


def js_num(x) -> str:
    """A number as JavaScript writes it (`${x}`): 1 not 1.0, 0.0001 not 1e-04."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return json.dumps(x)
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e21:
        return str(int(x))
    if isinstance(x, float) and x != 0 and 1e-7 <= abs(x) < 1e21:
        return format(Decimal(repr(x)), "f")
    return repr(x)


def show(x) -> str:
    """JSON.stringify(x) for the values messages show."""
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return js_num(x)
    return json.dumps(x, ensure_ascii=False)


def refuse(field: str, what: str):
    raise CtcLabError(f"sweep spec: {field}: {what}")


def _kind(v) -> str:
    return "number" if isinstance(v, (int, float)) and not isinstance(v, bool) else "boolean" if isinstance(v, bool) else "string" if isinstance(v, str) else "object"


def check_keys(o: dict, field: str, allowed: tuple) -> None:
    for k in o:
        if k not in allowed:
            refuse(f"{field}.{k}".lstrip("."), f"unknown field (expected {', '.join(allowed)})")


def check_setting(name, field: str) -> str:
    if not isinstance(name, str) or name not in SETTINGS:
        refuse(field, f"{show(name)} is not a sweep setting ({', '.join(SETTINGS)})")
    return name


def check_value(setting: str, v, field: str):
    r = SETTINGS[setting]
    if r["kind"] == "choice":
        if isinstance(v, bool) or v not in r["choices"] or (isinstance(v, str) != isinstance(r["choices"][0], str)):
            refuse(field, f"{setting} {show(v)} is not one of {', '.join(str(c) for c in r['choices'])}")
        return v
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        refuse(field, f"{setting} must be a number, got {show(v)}")
    if r["kind"] == "int" and not float(v).is_integer():
        refuse(field, f"{setting} must be an integer, got {js_num(v)}")
    low_ok = v > r["min"] if r.get("minOpen") else v >= r["min"]
    high_ok = v < r["max"] if r.get("maxOpen") else v <= r["max"]
    if not (low_ok and high_ok):
        refuse(field, f"{setting} {js_num(v)} is outside {'(' if r.get('minOpen') else '['}{js_num(r['min'])}, {js_num(r['max'])}{')' if r.get('maxOpen') else ']'}")
    return int(v) if r["kind"] == "int" else v


def positive_int(v, field: str, low: int) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not float(v).is_integer() or v < low:
        refuse(field, f"must be an integer ≥ {low}, got {show(v)}")
    return int(v)


def parse_spec(x) -> dict:
    """The lab's parseSweepSpec: the spec with its defaults filled, or CtcLabError naming the first bad field."""
    if not isinstance(x, dict):
        refuse("(top level)", f"expected an object, got {show(x)}")
    check_keys(x, "", ("format", "base", "variations", "ranges", "trials", "rungs", "metric", "seed"))
    if x.get("format") != FORMAT:
        refuse("format", f'expected "{FORMAT}", got {show(x.get("format"))}')
    base = x.get("base", {})
    if not isinstance(base, dict):
        refuse("base", f"expected an object of training settings, got {show(base)}")
    for k, v in base.items():
        if k not in LAB_DEFAULTS:
            refuse(f"base.{k}", "not a training setting")
        if k in SETTINGS:
            check_value(k, v, f"base.{k}")
        elif _kind(v) != _kind(LAB_DEFAULTS[k]):
            refuse(f"base.{k}", f"expected a {_kind(LAB_DEFAULTS[k])}, got {show(v)}")
    variations = x.get("variations", [])
    if not isinstance(variations, list):
        refuse("variations", "expected a list")
    names: set[str] = set()
    vs = []
    for i, v in enumerate(variations):
        f = f"variations[{i}]"
        if not isinstance(v, dict):
            refuse(f, f"expected {{name, changes}}, got {show(v)}")
        check_keys(v, f, ("name", "changes"))
        name = v.get("name")
        if not isinstance(name, str) or not name.strip():
            refuse(f"{f}.name", "expected a non-empty name")
        if name in names or name == "base":
            refuse(f"{f}.name", f'{show(name)} is used twice (the base is "base")')
        names.add(name)
        ch = v.get("changes")
        if not isinstance(ch, list) or not ch:
            refuse(f"{f}.changes", "expected a non-empty list of changes")
        changes = []
        for j, c in enumerate(ch):
            cf = f"{f}.changes[{j}]"
            if not isinstance(c, dict):
                refuse(cf, f"expected {{setting, value}} or {{setting, scale}}, got {show(c)}")
            check_keys(c, cf, ("setting", "value", "scale"))
            setting = check_setting(c.get("setting"), f"{cf}.setting")
            if ("value" in c) == ("scale" in c):
                refuse(cf, "give either value or scale")
            if "scale" in c:
                if SETTINGS[setting]["kind"] == "choice":
                    refuse(f"{cf}.scale", f"{setting} takes a value, not a scale")
                s = c["scale"]
                if isinstance(s, bool) or not isinstance(s, (int, float)) or not (s > 0) or not math.isfinite(s):
                    refuse(f"{cf}.scale", f"must be a number > 0, got {show(s)}")
                changes.append({"setting": setting, "scale": s})
            else:
                changes.append({"setting": setting, "value": check_value(setting, c["value"], f"{cf}.value")})
        vs.append({"name": name, "changes": changes})
    ranges = x.get("ranges", [])
    if not isinstance(ranges, list):
        refuse("ranges", "expected a list")
    rs = []
    for i, r in enumerate(ranges):
        f = f"ranges[{i}]"
        if not isinstance(r, dict):
            refuse(f, f"expected {{setting, min, max, scale}}, got {show(r)}")
        check_keys(r, f, ("setting", "min", "max", "scale"))
        setting = check_setting(r.get("setting"), f"{f}.setting")
        if SETTINGS[setting]["kind"] == "choice":
            refuse(f"{f}.setting", f"{setting} is a choice: give it as variations")
        lo = check_value(setting, r.get("min"), f"{f}.min")
        hi = check_value(setting, r.get("max"), f"{f}.max")
        if lo > hi:
            refuse(f"{f}.min", f"min {js_num(lo)} > max {js_num(hi)}")
        scale = r.get("scale", "linear")
        if scale not in ("log", "linear"):
            refuse(f"{f}.scale", f'expected "log" or "linear", got {show(scale)}')
        if scale == "log" and lo <= 0:
            refuse(f"{f}.min", f"a log range needs min > 0, got {js_num(lo)}")
        rs.append({"setting": setting, "min": lo, "max": hi, "scale": scale})
    seen = [r["setting"] for r in rs]
    for i, s in enumerate(seen):
        if s in seen[:i]:
            refuse(f"ranges[{len(seen) - 1 - seen[::-1].index(s)}].setting", f"{s} has two ranges")
    trials = x.get("trials", 8 if rs else 0)
    positive_int(trials, "trials", 1 if rs else 0)
    if not rs and trials != 0:
        refuse("trials", f"{show(trials)} sampled trials need ranges to sample from")
    rungs_in = x.get("rungs", {})
    if not isinstance(rungs_in, dict):
        refuse("rungs", f"expected {{minEpochs, eta, maxEpochs}}, got {show(rungs_in)}")
    check_keys(rungs_in, "rungs", ("minEpochs", "eta", "maxEpochs"))
    rungs = {
        "minEpochs": positive_int(rungs_in.get("minEpochs", 1), "rungs.minEpochs", 1),
        "eta": positive_int(rungs_in.get("eta", 3), "rungs.eta", 2),
        "maxEpochs": positive_int(rungs_in.get("maxEpochs", 27), "rungs.maxEpochs", 1),
    }
    if rungs["minEpochs"] > rungs["maxEpochs"]:
        refuse("rungs.minEpochs", f"minEpochs {rungs['minEpochs']} > maxEpochs {rungs['maxEpochs']}")
    metric = x.get("metric", "val_wer")
    if metric not in ("val_wer", "val_loss"):
        refuse("metric", f'expected "val_wer" or "val_loss", got {show(metric)}')
    seed = positive_int(x.get("seed", 1), "seed", 0)
    if not vs and not rs:
        refuse("variations", "a sweep needs variations or ranges")
    return {"format": FORMAT, "base": dict(base), "variations": vs, "ranges": rs, "trials": int(trials), "rungs": rungs, "metric": metric, "seed": seed}


def dump_spec(spec: dict) -> str:
    """The spec as the lab's sweepSpecJson writes it."""
    return json.dumps(parse_spec(spec), indent=2, ensure_ascii=False) + "\n"


def rung_epochs(rungs: dict) -> list[int]:
    out, e = [], rungs["minEpochs"]
    while e < rungs["maxEpochs"]:
        out.append(e)
        e *= rungs["eta"]
    return out


def apply_changes(base: dict, changes: list[dict], field: str) -> tuple[dict, dict]:
    """The lab's applyChanges: the config with each change applied (checked), and the changes as values."""
    cfg, done = dict(base), {}
    for j, c in enumerate(changes):
        s = c["setting"]
        v = cfg[s] * c["scale"] if "scale" in c else c["value"]
        if SETTINGS[s]["kind"] == "int" and "scale" in c:
            v = round(v)
        v = check_value(s, v, f"{field}[{j}]")
        cfg[s] = v
        done[s] = v
    return cfg, done


def sweep_base(spec: dict) -> dict:
    return {**LAB_DEFAULTS, **spec["base"], "epochs": spec["rungs"]["maxEpochs"]}


def fixed_trials(spec: dict) -> list[dict]:
    """Trial 0 the base, then each variation: {name, changes, config}."""
    base = sweep_base(spec)
    out = [{"name": "base", "changes": {}, "config": base}]
    for i, v in enumerate(spec["variations"]):
        cfg, done = apply_changes(base, v["changes"], f"variations[{i}].changes")
        out.append({"name": v["name"], "changes": done, "config": cfg})
    return out


def make_run(cfg: dict, ds: Dataset):
    """A fresh twin run from a lab config (Run.fresh: the lab's initial weights for the seed)."""
    from .run import Run

    from .run import TRAIN_DEFAULTS as TWIN

    for k, v in cfg.items():  # a lab setting the twin's training does not have: refused unless at the lab's default
        if k not in TWIN and k not in ARCH and k not in ("preset", "checkpointMinutes") and v != LAB_DEFAULTS.get(k):
            raise CtcLabError(f"{k} {show(v)}: the twin's training has no {k} yet")
    overrides = {k: v for k, v in cfg.items() if k in TWIN and k not in ARCH and k != "preset"}
    knobs = {k: cfg[k] for k in ARCH if k in cfg and not (k == "subsampling" and cfg["preset"] != "tcn")}
    return Run.fresh(cfg["preset"], ds, overrides, knobs)


def check_against_dataset(spec: dict, ds: Dataset) -> list[dict]:
    """Every fixed trial's run built and its samples selected, before anything trains; refused naming the variation."""
    from .train import trainable

    trials = fixed_trials(spec)
    index = token_index(ds.vocab)
    for i, t in enumerate(trials):
        field = "base" if i == 0 else f"variations[{i - 1}]"
        try:
            run = make_run(t["config"], ds)
            trainable(ds, run.model, run.cfg, index)
        except CtcLabError as e:
            refuse(field, f"{t['name']}: {e}")
    return trials


def train_trial(trial, cfg: dict, ds: Dataset, spec: dict, out: str, device: str | None, log) -> tuple[float, list[dict], str]:
    """One trial's run, its metric reported to Optuna each epoch. → (value, epochs, how it ended); raises TrialPruned."""
    import optuna

    from .dist import Dist
    from .evaluate import evaluate
    from .train import train_epoch, trainable

    run = make_run(cfg, ds)
    index = token_index(ds.vocab)
    train, val, _ = trainable(ds, run.model, run.cfg, index)
    if not val:
        raise CtcLabError(f"{ds.root}: no validation samples: a sweep compares trials on the val split")
    d = Dist(device)
    try:
        spe = math.ceil(math.ceil(len(train) / run.cfg["batchSize"]) / run.cfg["accumulationSteps"])
        run.model.to(d.device).train()
        os.makedirs(out, exist_ok=True)
        key = "wer" if spec["metric"] == "val_wer" else "loss"
        best = math.inf
        last = spec["rungs"]["maxEpochs"]
        ended = f"finished {last} epochs"
        while run.epoch < last:
            t0 = time.time()
            tr = train_epoch(run, run.model, ds, train, ds.norm, index, d, spe)
            ev = evaluate(run.model, ds, val, ds.norm, index, ds.vocab, d.device)
            tr.pop("seconds0")
            m = {**tr, "valLoss": ev["loss"], "valWer": ev["wer"], "valCer": ev["cer"], "blankRate": ev["blankRate"], "seconds": time.time() - t0}
            run.epoch = tr["epoch"]
            run.history.append(m)
            improved, stop, judgement = run.early.update(run.epoch, ev["wer"] if run.cfg["monitor"] == "val_wer" else ev["loss"], run.history)
            run.save(os.path.join(out, "last.safetensors"))
            if improved:
                run.save(os.path.join(out, "best.safetensors"))
            value = float(ev[key])
            best = min(best, value) if math.isfinite(value) else best
            log(f"trial {trial.number} epoch {run.epoch}: val WER {ev['wer'] * 100:.1f}%, val loss {ev['loss']:.4f}")
            trial.report(value, run.epoch)
            if run.epoch < last and trial.should_prune():  # no rung at the last epoch: a trial that got there is complete
                raise optuna.TrialPruned(f"stopped at epoch {run.epoch}: {spec['metric']} {value:.4g} not in the top 1/{spec['rungs']['eta']} of its rung")
            if stop:
                ended = run.early.reason(judgement)
                break
        return best, run.history, ended
    finally:
        d.close()


def run_sweep(args: argparse.Namespace) -> int:
    import optuna
    from optuna.trial import TrialState

    try:
        with open(args.spec, encoding="utf-8") as f:
            raw = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise CtcLabError(f"{args.spec}: {e}") from None
    try:
        spec = parse_spec(raw)
    except CtcLabError as e:
        raise CtcLabError(f"{args.spec}: {e}") from None
    ds = open_dataset(args.data)
    fixed = check_against_dataset(spec, ds)
    total = len(fixed) + spec["trials"]
    out = args.output
    os.makedirs(out, exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rungs = spec["rungs"]
    pruner = optuna.pruners.SuccessiveHalvingPruner(min_resource=rungs["minEpochs"], reduction_factor=rungs["eta"], min_early_stopping_rate=0)
    name = args.study or f"ctc-lab-sweep-{os.path.splitext(os.path.basename(args.spec))[0]}"
    storage = args.storage
    study = optuna.create_study(study_name=name, storage=storage, direction="minimize", pruner=pruner, load_if_exists=True)
    # Each worker its own sampler seed (two workers with one seed would draw the same points).
    study.sampler = optuna.samplers.TPESampler(seed=spec["seed"] * 1000 + len(study.get_trials(deepcopy=False)))
    worker = f"{socket.gethostname()}:{os.getpid()}"
    log = print if not args.quiet else (lambda *a, **k: None)
    log(f"sweep {name}: {total} trials ({len(fixed)} fixed, {spec['trials']} sampled), rungs at {rung_epochs(rungs)} of {rungs['maxEpochs']} epochs, η {rungs['eta']}; worker {worker}")
    done = 0
    while args.n_trials is None or done < args.n_trials:
        if len(study.get_trials(deepcopy=False)) >= total:
            break
        trial = study.ask()
        if trial.number >= total:  # another worker took the last trial between the count and the ask
            trial.set_user_attr("surplus", True)
            study.tell(trial, state=TrialState.FAIL)
            break
        if trial.number < len(fixed):
            t = fixed[trial.number]
            name_t, changes, cfg = t["name"], t["changes"], t["config"]
        else:
            ch = []
            for r in spec["ranges"]:
                if SETTINGS[r["setting"]]["kind"] == "int":
                    v = trial.suggest_int(r["setting"], int(r["min"]), int(r["max"]), log=r["scale"] == "log")
                else:
                    v = trial.suggest_float(r["setting"], r["min"], r["max"], log=r["scale"] == "log")
                ch.append({"setting": r["setting"], "value": v})
            cfg, changes = apply_changes(sweep_base(spec), ch, "ranges")
            name_t = "sample: " + ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in changes.items())
        trial.set_user_attr("name", name_t)
        trial.set_user_attr("changes", changes)
        trial.set_user_attr("worker", worker)
        tdir = os.path.join(out, "trials", str(trial.number))
        record = {"number": trial.number, "name": name_t, "changes": changes, "worker": worker}
        try:
            value, epochs, ended = train_trial(trial, cfg, ds, spec, tdir, args.device, log)
            study.tell(trial, value)
            record.update(state="complete", value=value, reason=ended, epochs=epochs)
        except optuna.TrialPruned as e:
            study.tell(trial, state=TrialState.PRUNED)
            record.update(state="pruned", value=None, reason=str(e), epochs=_history(tdir))
        except Exception as e:  # a failing trial is recorded, never promoted; the sweep goes on
            study.tell(trial, state=TrialState.FAIL)
            record.update(state="failed", value=None, reason=f"{type(e).__name__}: {e}", epochs=_history(tdir))
        with open(os.path.join(out, "trials.jsonl"), "a", encoding="utf-8") as f:
            f.write(json.dumps(_finite(record), allow_nan=False) + "\n")
        value_txt = "" if record["value"] is None else f", {spec['metric']} {record['value']:.4g}"
        log(f"trial {trial.number} ({name_t}): {record['state']}{value_txt}")
        done += 1
    complete = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
    if complete:
        best = min(complete, key=lambda t: t.value)
        src = os.path.join(out, "trials", str(best.number))
        if os.path.isdir(src):
            shutil.copytree(src, os.path.join(out, "best"), dirs_exist_ok=True)
        log(f"best so far: trial {best.number} ({best.user_attrs.get('name')}) {spec['metric']} {best.value:.4g}; its checkpoints in {os.path.join(out, 'best')}" if os.path.isdir(src) else
            f"best so far: trial {best.number} ({best.user_attrs.get('name')}) {spec['metric']} {best.value:.4g} (ran on worker {best.user_attrs.get('worker')}: its checkpoints are there)")
    return 0


def _history(tdir: str) -> list:
    """The per-epoch metrics a trial's last checkpoint recorded (a pruned or failed trial's epochs)."""
    path = os.path.join(tdir, "last.safetensors")
    if not os.path.exists(path):
        return []
    from .checkpoint import read_checkpoint

    meta, _ = read_checkpoint(path)
    return meta.get("history", [])


def _finite(x):
    """JSON has no NaN: a non-finite number is written as null (the lab's history rows do the same)."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_finite(v) for v in x]
    return x


def add_sweep_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", metavar="SPEC.json", help="a sweep spec as the lab's Download sweep writes it (format ctc-lab-sweep/1)")
    p.add_argument("data", metavar="DATA", help="dataset folder or .zip (the lab's dataset format)")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="trials.jsonl, trials/<n>/ checkpoints, best/")
    p.add_argument("--storage", help="Optuna storage URL shared by the workers: sqlite:///sweep.db on one machine, postgresql://… or mysql://… across machines (default: in memory, this process only)")
    p.add_argument("--study", help="the study's name (default: from the spec's file name)")
    p.add_argument("--n-trials", "--n_trials", dest="n_trials", type=int, help="run at most N trials in this worker (default: until the sweep's trials are taken)")
    p.add_argument("--device", help="cpu, cuda or cuda:N")
    p.add_argument("--quiet", action="store_true")
