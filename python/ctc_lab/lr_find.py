"""`python -m ctc_lab lr-find [CKPT | --preset P] DATA -o lr.json`: the lab's learning-rate range
test (src/engine/tune/lr_find.ts) in PyTorch. The learning rate is ramped exponentially from 1e-7 to
1 over at most 100 optimizer steps of the run's own batches (the lab's length-bucketed batches,
epoch after epoch, micro-batches accumulated, clipping); it stops when the bias-corrected EMA of
the loss exceeds 4× its best (or the loss is not finite). Each step records its rate, loss,
smoothed loss, and the blank rate and greedy output length of its forward pass; the suggestion is
the rate at the steepest descent of the smoothed loss against log10(lr), skipping the first 10 and
the last point (Lightning's skip_begin / skip_end) and any point whose slope touches a step where the model emits only blanks (the CTC blank
plateau, where the loss falls while nothing is learned). The model and optimizer are restored
afterwards. The pure functions are the lab's line for line; python/tests/test_lr_find.py checks
them against src/engine/tune/fixtures/lr_find.json, which the lab writes."""

from __future__ import annotations

import argparse
import copy
import json
import math
import os

import torch

from .batch import make_batch, token_index
from .data import open_dataset
from .errors import CtcLabError
from .evaluate import ctc_mean
from .loader import bucketed_batches
from .models import PRESETS
from .run import Run, check_dataset

DEFAULTS = {"startLr": 1e-7, "endLr": 1.0, "steps": 100, "divergeFactor": 4.0, "beta": 0.98, "blankOnlyRate": 0.995, "skipBegin": 10, "skipEnd": 1}


def js_exp(x: float, digits: int = 2) -> str:
    """JavaScript's Number.toExponential(digits): '1.00e+0' (Python writes '1.00e+00')."""
    m, e = f"{x:.{digits}e}".split("e")
    return f"{m}e{'+' if int(e) >= 0 else '-'}{abs(int(e))}"


def js_prec(x: float, digits: int) -> str:
    """JavaScript's Number.toPrecision(digits) for the magnitudes the messages show."""
    if x == 0:
        return "0." + "0" * (digits - 1) if digits > 1 else "0"
    e = math.floor(math.log10(abs(x)))
    if e < -6 or e >= digits:
        m, ee = f"{x:.{digits - 1}e}".split("e")
        return f"{m}e{'+' if int(ee) >= 0 else '-'}{abs(int(ee))}"
    return f"{x:.{max(digits - 1 - e, 0)}f}"


def ramp_lr(i: int, s: dict = DEFAULTS) -> float:
    """The rate of step i: exponential from startLr (step 0) to endLr (step steps − 1)."""
    return s["startLr"] * (s["endLr"] / s["startLr"]) ** (i / max(s["steps"] - 1, 1))


def smooth_losses(losses: list[float], beta: float = DEFAULTS["beta"]) -> list[float]:
    """The bias-corrected EMA of the losses (fastai's SmoothenValue)."""
    avg, out = 0.0, []
    for i, loss in enumerate(losses):
        avg = beta * avg + (1 - beta) * loss
        out.append(avg / (1 - beta ** (i + 1)))
    return out


def stop_reason(points: list[dict], s: dict = DEFAULTS) -> str | None:
    """Why the test stops after these points (None: go on)."""
    if not points:
        return None
    last = points[-1]
    if not math.isfinite(last["loss"]):
        return f"the loss became {'NaN' if math.isnan(last['loss']) else ('Infinity' if last['loss'] > 0 else '-Infinity')} at lr {js_exp(last['lr'])}"
    best = min(p["smoothed"] for p in points)
    if last["smoothed"] > s["divergeFactor"] * best:
        return f"the smoothed loss {js_prec(last['smoothed'], 4)} exceeded {s['divergeFactor']:g}× its best ({js_prec(best, 4)}) at lr {js_exp(last['lr'])}"
    if len(points) >= s["steps"]:
        return f"reached lr {js_exp(last['lr'])} after {len(points)} steps"
    return None


def blank_only(p: dict, s: dict = DEFAULTS) -> bool:
    return p["outputLength"] == 0 or p["blankRate"] >= s["blankOnlyRate"]


def suggest_lr(points: list[dict], s: dict = DEFAULTS) -> dict:
    """The rate at the steepest descent of the smoothed loss against log10(lr) (the lab's suggestLr)."""
    def usable(p):
        return math.isfinite(p["loss"]) and math.isfinite(p["smoothed"]) and not blank_only(p, s)

    best = None
    skipped = 0
    first, last = max(1, s["skipBegin"]), max(1, s["skipEnd"])
    for i in range(first, len(points) - last):
        a, b, c = points[i - 1], points[i], points[i + 1]
        if not all(usable(p) for p in (a, b, c)):
            if any(blank_only(p, s) for p in (a, b, c)):
                skipped += 1
            continue
        slope = (c["smoothed"] - a["smoothed"]) / (math.log10(c["lr"]) - math.log10(a["lr"]))
        if slope < 0 and (best is None or slope < best[1]):
            best = (i, slope)
    if len(points) < first + last + 1:
        return {"lr": None, "index": None, "slope": None, "reason": f"{len(points)} point(s): the suggestion needs at least {first + last + 1}"}
    if best is None:
        why = f"; {skipped} point(s) skipped where the model emits only blanks" if skipped else ""
        return {"lr": None, "index": None, "slope": None, "reason": f"the smoothed loss never falls between point {first} and the last {last}{why}"}
    note = f" ({skipped} point(s) of the blank plateau skipped)" if skipped else ""
    i, slope = best
    return {"lr": points[i]["lr"], "index": i, "slope": slope, "reason": f"steepest descent of the smoothed loss at step {i}: {js_prec(slope, 3)} per decade of lr{note}"}


def greedy_stats(best: torch.Tensor, out_frames: torch.Tensor) -> tuple[int, int, int, int]:
    """(blank frames, real frames, greedy tokens, samples) of one micro-batch's argmax [B, T']."""
    blanks = frames = tokens = 0
    for b in range(best.shape[0]):
        seq = best[b, : int(out_frames[b])].tolist()
        prev = -1
        for c in seq:
            if c == 0:
                blanks += 1
            elif c != prev:
                tokens += 1
            prev = c
        frames += len(seq)
    return blanks, frames, tokens, best.shape[0]


def range_test(run: Run, ds, train: list, norm: dict, index: dict, device: torch.device, s: dict = DEFAULTS, on_point=None) -> dict:
    """The range test on the run's model and optimizer, both restored afterwards (weights, moments, step)."""
    cfg, model, opt = run.cfg, run.model, run.optimizer
    saved_model = copy.deepcopy(model.state_dict())
    saved_opt = copy.deepcopy(opt.state_dict())
    A = cfg["accumulationSteps"]
    frames = [x.frames for x in train]
    steps: list[list[list[int]]] = []
    epoch = 0
    points: list[dict] = []
    reason = None
    vars_ = [p for p in model.parameters() if p.requires_grad]
    model.to(device).train()
    try:
        for i in range(s["steps"]):
            while len(steps) <= i:  # the run's steps in order: epoch 1's buckets A at a time, then epoch 2's, …
                epoch += 1
                b = bucketed_batches(frames, cfg["batchSize"], cfg["seed"] * 100003 + epoch)
                steps.extend(b[k : k + A] for k in range(0, len(b), A))
            group = steps[i]
            lr = ramp_lr(i, s)
            for p in vars_:
                p.grad = None
            loss_sum = 0.0
            stats = [0, 0, 0, 0]
            for k, idx in enumerate(group):
                batch = make_batch(ds, [train[j] for j in idx], norm, index)
                torch.manual_seed(cfg["seed"] * 7919 + i * 131 + k)
                logits, out_frames = model(batch.x.to(device), batch.lengths.to(device))
                loss = ctc_mean(logits, out_frames, batch.labels.to(device), batch.label_lengths.to(device))
                (loss / len(group)).backward()
                loss_sum += float(loss.detach()) / len(group)
                for j, v in enumerate(greedy_stats(logits.detach().argmax(-1).cpu(), out_frames.cpu())):
                    stats[j] += v
            grads = [p.grad for p in vars_ if p.grad is not None]
            gn = float(torch.sqrt(sum((g.double() ** 2).sum() for g in grads))) if grads else 0.0
            finite = math.isfinite(loss_sum) and math.isfinite(gn)
            if finite:
                scale = cfg["clipNorm"] / gn if cfg["clipNorm"] > 0 and gn > cfg["clipNorm"] else 1.0
                if scale != 1.0:
                    for g in grads:
                        g.mul_(scale)
                for pg in opt.param_groups:
                    pg["lr"] = lr
                opt.step()
            loss_v = loss_sum if finite else float("nan")
            smoothed = smooth_losses([p["loss"] for p in points] + [loss_v], s["beta"])[-1]
            p = {"step": i, "lr": lr, "loss": loss_v, "smoothed": smoothed,
                 "blankRate": stats[0] / stats[1] if stats[1] else float("nan"), "outputLength": stats[2] / stats[3] if stats[3] else float("nan")}
            points.append(p)
            if on_point:
                on_point(p)
            reason = stop_reason(points, s)
            if reason is not None:
                break
    finally:
        model.load_state_dict(saved_model)
        opt.load_state_dict(saved_opt)
    return {"points": points, "stopReason": reason or f"reached lr {js_exp(points[-1]['lr'])}", "suggestion": suggest_lr(points, s), "settings": dict(s)}


def run_lr_find(args: argparse.Namespace) -> int:
    overrides = {k: v for k, v in (("batchSize", args.batch_size), ("accumulationSteps", args.accumulation_steps), ("dropout", args.dropout), ("seed", args.seed), ("maxTrainSamples", args.max_train_samples)) if v is not None}
    knobs = {k: getattr(args, k) for k in ("channels", "layers") if getattr(args, k) is not None}
    notes: list[str] = []
    if args.preset:
        if len(args.paths) != 1:
            raise CtcLabError("with --preset give only the dataset: python -m ctc_lab lr-find --preset tcn DATA -o lr.json")
        ds = open_dataset(args.paths[0])
        run = Run.fresh(args.preset, ds, overrides, knobs)
        norm, vocab = ds.norm, ds.vocab
    else:
        if len(args.paths) != 2:
            raise CtcLabError("give a checkpoint and a dataset: python -m ctc_lab lr-find CKPT DATA -o lr.json (or --preset NAME DATA)")
        if knobs:
            raise CtcLabError(f"--{', --'.join(knobs)} change the architecture: they go with --preset, a checkpoint keeps its own")
        run, meta = Run.from_checkpoint(args.paths[0], overrides, notes)
        ds = open_dataset(args.paths[1])
        check_dataset(ds, meta, args.paths[0])
        norm, vocab = meta["normalisation"], meta["vocab"]
    from .train import trainable  # the Trainer's sample filter

    index = token_index(vocab)
    train, _, _ = trainable(ds, run.model, run.cfg, index)
    s = {**DEFAULTS, **({"steps": args.steps} if args.steps else {})}
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    for n in notes:
        print(f"note: {n}", flush=True)
    r = range_test(run, ds, train, norm, index, device, s, on_point=lambda p: print(
        f"step {p['step']}: lr {p['lr']:.2e}, loss {p['loss']:.4f}, smoothed {p['smoothed']:.4f}, blank rate {p['blankRate'] * 100:.1f}%, output length {p['outputLength']:.2f}", flush=True) if args.verbose else None)
    r["trainSamples"] = len(train)
    out = {**r, "points": [{k: (v if not isinstance(v, float) or math.isfinite(v) else None) for k, v in p.items()} for p in r["points"]]}
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    sug = r["suggestion"]
    lr = "none" if sug["lr"] is None else f"{sug['lr']:.3g}"
    print(f"{len(r['points'])} steps; {r['stopReason']}; suggestion: {lr} ({sug['reason']}); written to {args.output}", flush=True)
    return 0


def add_lr_find_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="CKPT DATA", help="a lab checkpoint and a dataset folder or .zip; only DATA with --preset")
    p.add_argument("-o", "--output", required=True, metavar="lr.json", help="the points, the stop reason and the suggestion")
    p.add_argument("--preset", choices=list(PRESETS), help="a new model from this preset instead of a checkpoint")
    for k in ("channels", "layers"):
        p.add_argument(f"--{k}", type=int, help=f"with --preset: {k}")
    p.add_argument("--batch_size", type=int)
    p.add_argument("--accumulation_steps", type=int)
    p.add_argument("--dropout", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--max_train_samples", type=int)
    p.add_argument("--steps", type=int, help="at most this many steps (default 100)")
    p.add_argument("--device", help="cpu or cuda (default: cuda if present)")
    p.add_argument("--verbose", action="store_true", help="print every step")
