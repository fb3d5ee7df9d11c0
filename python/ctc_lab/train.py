"""`python -m ctc_lab train`: continues a lab run (or starts one from a preset) in PyTorch, on one
process or under torchrun with DistributedDataParallel, and writes lab checkpoints.

What it does is the lab's Trainer (src/engine/train/trainer.ts), step for step on one process:
the same training samples (train split, in vocabulary, CTC-feasible, maxTrainSamples), the same
length-bucketed batches per epoch (seed · 100003 + epoch), micro-batches accumulated per step
(loss = mean CTC loss of the step's micro-batches, PyTorch 'mean' reduction, zero_infinity off so
a non-finite batch is skipped, never applied), clipping by global norm, the lab's schedule,
validation on rank 0 every evalEvery epochs (loss, greedy WER / CER with S/D/I, blank rate),
early stopping, best / last checkpoints after each epoch.

A distillation run (the checkpoint's `distillation`) continues with its teacher, given as a lab
checkpoint (--teacher) or an output set (--teacher-outputs): the loss is the lab's
kdWeight · τ²·KL(teacher ‖ student) + ctcWeight · CTC (kd.py), the settings those recorded (the
KD flags override them), the KL term is summed per epoch (trainKd, and position.kdSum mid-epoch),
validation also gives the teacher's WER and the student–teacher agreement, and the checkpoints
written keep the record of the teacher (the lab resumes them with its own stored teacher).

With N processes (torchrun), each optimizer step takes N × accumulationSteps micro-batches of the
epoch's list: rank r trains the r-th run of accumulationSteps of them and DDP averages the
gradients, so a step's gradient is still the mean over all its micro-batches and an epoch is
N times fewer, N times larger steps. training.state.step is written in the lab's units
(the steps one process would have made), so the learning-rate schedule continues where it was
when the run comes back to the lab; Adam's bias correction counts the same number.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import math
import os
import time

import torch

from .augment import AUGMENT_OFF, augment_batch
from .average import BestWeights
from .augment import problems as augment_problems
from .batch import make_batch, token_index
from .data import Dataset, open_dataset
from .dist import Dist, log, progress_bar, tensorboard
from .checkpoint import write_checkpoint
from .ema import TRAIN_WEIGHTS_PREFIX
from .errors import CtcLabError
from .evaluate import ctc_mean, ctc_min_frames, evaluate
from .forecast import forecast, forecast_text
from .kd import SETTINGS as KD_SETTINGS
from .kd import distillation_record, kd_loss
from .loader import bucketed_batches, padding_efficiency, shard_steps
from .model_base import LabModel
from .optim import lab_slots
from .models import PRESETS
from .run import CHOICES, RECIPES, Run, check_dataset
from .schedule import learning_rate
from .teacher import CheckpointTeacher, OutputSetTeacher, teacher_problems

# Command-line flags (train_teacher.py's names) → config fields.
FLAGS = {
    "batch_size": ("batchSize", int), "learning_rate": ("lr", float), "dropout": ("dropout", float), "epochs": ("epochs", int),
    "warmup_epochs": ("warmupEpochs", float), "optimizer": ("optimizer", str), "weight_decay": ("weightDecay", float),
    "accumulation_steps": ("accumulationSteps", int), "patience": ("patience", int), "min_delta": ("minDelta", float),
    "decay": ("decay", str), "momentum": ("momentum", float), "clip_norm": ("clipNorm", float), "monitor": ("monitor", str),
    "eval_every": ("evalEvery", int), "seed": ("seed", int), "max_train_samples": ("maxTrainSamples", int),
    "ema_decay": ("emaDecay", float), "average_best": ("averageBest", int),
    "target_wer": ("targetWer", float),  # the forecast's target val WER in percent, (0, 100]; 0 = none
}
# Distillation flags → the checkpoint's `distillation` settings they override.
KD_FLAGS = {"kd_weight": ("kdWeight", float), "ctc_weight": ("ctcWeight", float), "temperature": ("temperature", float)}


# ---------------------------------------------------------------- training


def trainable(ds: Dataset, model: LabModel, cfg: dict, index: dict) -> tuple[list, list, list]:
    """The lab's sample filter: in vocabulary and CTC-feasible; train cut to maxTrainSamples."""
    excluded = []

    def ok(s, split):
        if s.split != split:
            return False
        ids = [index.get(t) for t in s.text.split(" ")]
        if any(i is None for i in ids):
            excluded.append((s.id, "token not in the vocabulary"))
            return False
        if model.sample_out_frames(s.frames) < ctc_min_frames(ids):
            excluded.append((s.id, "CTC-infeasible at this subsampling"))
            return False
        return True

    train = [s for s in ds.samples if ok(s, "train")]
    if cfg["maxTrainSamples"] > 0:
        train = train[: cfg["maxTrainSamples"]]
    val = [s for s in ds.samples if ok(s, "val")]
    if not train:
        raise CtcLabError(f"{ds.root}: no trainable samples in the training split")
    return train, val, excluded


def params_digest(model: LabModel) -> str:
    h = hashlib.sha1()
    for p in model.parameters():
        h.update(p.detach().cpu().numpy().tobytes())
    return h.hexdigest()


def train_epoch(run: Run, ddp, ds: Dataset, train: list, norm: dict, index: dict, d: Dist, spe_lab: int, sync_log=None, bar=None) -> dict:
    cfg, model = run.cfg, run.model
    epoch = run.epoch + 1
    frames = [s.frames for s in train]
    shuffle_seed = cfg["seed"] * 100003 + epoch
    batches = bucketed_batches(frames, cfg["batchSize"], shuffle_seed)
    A, N = cfg["accumulationSteps"], d.world
    kd = run.distill
    sums = {"lossSum": 0.0, "lossCount": 0, "normSum": 0.0, "skipped": 0, "seconds": 0.0, **({"kdSum": 0.0} if kd else {})}
    first = 0
    if run.position and run.position.get("epoch") == epoch:
        pos = run.position
        if pos["shuffleSeed"] != shuffle_seed:
            raise CtcLabError(f"{run.source}: training.state.position.shuffleSeed {pos['shuffleSeed']} is not this run's ({shuffle_seed}); the config changed mid-epoch")
        first = pos["batch"]
        if first > len(batches) or (first % A and first != len(batches)):
            raise CtcLabError(f"{run.source}: training.state.position.batch {first} is not a step boundary of this epoch's {len(batches)} micro-batches")
        sums.update({k: pos.get(k, 0.0) if k == "kdSum" else pos[k] for k in sums})
    run.position = None
    steps = shard_steps(batches[first:], A, d.rank, N)
    remaining_lab = math.ceil((len(batches) - first) / A)  # steps one process would make for the rest of the epoch
    step0 = run.step
    vars_ = [p for p in model.parameters() if p.requires_grad]
    sample_out = functools.lru_cache(maxsize=None)(model.sample_out_frames)  # augmentation: output frames per input length
    for j, mine in enumerate(steps):
        group = min(A * N, len(batches) - first - j * A * N)  # micro-batches in this step, all ranks
        lab_step = step0 + j * remaining_lab / len(steps)
        lr = learning_rate(cfg, lab_step, spe_lab)
        for p in vars_:
            p.grad = None
        local = local_kd = 0.0
        for k, idx in enumerate(mine):
            b = make_batch(ds, [train[i] for i in idx], norm, index)
            # Augmentation (augment.py): the lab's draws, keyed by the micro-batch's index in the epoch's list.
            b = augment_batch(b, cfg.get("augment"), {"seed": cfg["seed"], "epoch": epoch, "batch": first + j * A * N + d.rank * A + k, "batchSize": cfg["batchSize"]}, sample_out)
            torch.manual_seed(cfg["seed"] * 7919 + run.step * 131 + k + 1_000_003 * d.rank)  # dropout: a function of (seed, step, micro-batch, rank)
            sync = contextlib.nullcontext() if (k == len(mine) - 1 or N == 1) else ddp.no_sync()
            with sync:
                logits, out_frames = ddp(b.x.to(d.device), b.lengths.to(d.device))
                if kd:
                    # The lab's distillationLoss: kdWeight · τ²·KL (+ ctcWeight · CTC unless its weight is 0); the teacher outside autograd.
                    st = kd["settings"]
                    term = kd_loss(logits, kd["teacher"].logits(b, logits.shape[1], d.device), out_frames, st["temperature"], st["excludeBlank"])
                    loss = term * st["kdWeight"]
                    if st["ctcWeight"] != 0:
                        loss = loss + ctc_mean(logits, out_frames, b.labels.to(d.device), b.label_lengths.to(d.device)) * st["ctcWeight"]
                    local_kd += float(term.detach()) / group
                else:
                    loss = ctc_mean(logits, out_frames, b.labels.to(d.device), b.label_lengths.to(d.device))
                (loss * (N / group)).backward()  # DDP averages over N ranks: the step's gradient is the mean over its micro-batches
            local += float(loss.detach()) / group
        if not mine:  # this rank has no micro-batch in the epoch's last step: a zero contribution keeps DDP in step
            logits, _ = ddp(torch.zeros(1, 8, ds.feature_dim, device=d.device), torch.tensor([8], device=d.device))
            (logits.sum() * 0).backward()
        loss_all, kd_all = d.all_sum([local, local_kd])
        grads = [p.grad for p in vars_ if p.grad is not None]
        gn = float(torch.sqrt(sum((g.double() ** 2).sum() for g in grads))) if grads else 0.0
        if math.isfinite(loss_all) and math.isfinite(gn):
            scale = cfg["clipNorm"] / gn if cfg["clipNorm"] > 0 and gn > cfg["clipNorm"] else 1.0
            if scale != 1.0:
                for g in grads:
                    g.mul_(scale)
            for group_ in run.optimizer.param_groups:
                group_["lr"] = lr
            run.optimizer.step()
            if run.ema:
                run.ema.update(model)  # ema.py: after every applied step, as the lab
            sums["lossSum"] += loss_all
            sums["lossCount"] += 1
            sums["normSum"] += gn
            if kd:
                sums["kdSum"] += kd_all
        else:
            sums["skipped"] += 1
        run.step = step0 + round((j + 1) * remaining_lab / len(steps))
        if sync_log is not None:
            sync_log.write(f"{run.step} {params_digest(model)}\n")
            sync_log.flush()
        if bar is not None:
            bar(j + 1, len(steps), loss_all, lr)
    run.step = step0 + remaining_lab
    return {
        "epoch": epoch,
        "trainLoss": sums["lossSum"] / sums["lossCount"] if sums["lossCount"] else float("nan"),
        "lr": learning_rate(cfg, run.step, spe_lab),
        "gradNorm": sums["normSum"] / sums["lossCount"] if sums["lossCount"] else float("nan"),
        "skippedBatches": sums["skipped"],
        "paddingEfficiency": padding_efficiency(frames, batches),
        "seconds0": sums["seconds"],
        **({"trainKd": sums["kdSum"] / sums["lossCount"] if sums["lossCount"] else float("nan")} if kd else {}),
    }


def target_wer(cfg: dict, where: str) -> float | None:
    """The config's targetWer (percent; 0 or absent = none) as the forecast's fraction; outside [0, 100] refused, named."""
    t = cfg.get("targetWer", 0)
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or not 0 <= t <= 100:
        raise CtcLabError(f"{where}: targetWer must be 0 (none) or a val WER in percent, above 0 and at most 100; got {t}")
    return t / 100 if t > 0 else None


def run_training(args: argparse.Namespace) -> int:
    """`python -m ctc_lab train` with its parsed flags (add_train_flags); the exit status."""
    d = Dist(args.device)
    try:
        return _train(args, d)
    finally:
        d.close()


def _train(args: argparse.Namespace, d: Dist) -> int:
    overrides = {FLAGS[f][0]: getattr(args, f) for f in FLAGS if getattr(args, f) is not None}
    knobs = {k: getattr(args, k) for k in ("channels", "layers", "hidden", "heads", "subsampling") if getattr(args, k) is not None}
    kd_over = {KD_FLAGS[f][0]: getattr(args, f) for f in KD_FLAGS if getattr(args, f) is not None}
    if args.exclude_blank is not None:
        kd_over["excludeBlank"] = args.exclude_blank
    teacher_flags = [f for f, v in (("--teacher", args.teacher), ("--teacher-outputs", args.teacher_outputs)) if v is not None]
    notes: list[str] = []
    if args.recipe and not args.preset:
        raise CtcLabError(f"--recipe {args.recipe} goes with --preset (a new run); a checkpoint keeps its own settings")
    if args.preset:
        if len(args.paths) != 1:
            raise CtcLabError("with --preset give only the dataset: python -m ctc_lab train --preset tcn DATA -o DIR")
        if teacher_flags or kd_over:
            raise CtcLabError(f"{', '.join(teacher_flags) or 'the KD flags'}: distillation continues a lab distillation run (its checkpoint records the teacher and the settings); --preset starts a CTC run")
        ds = open_dataset(args.paths[0])
        run = Run.fresh(args.preset, ds, {**RECIPES[args.recipe], **overrides} if args.recipe else overrides, knobs)
        norm, vocab = ds.norm, ds.vocab
    else:
        if len(args.paths) != 2:
            raise CtcLabError("give a checkpoint and a dataset: python -m ctc_lab train CKPT DATA -o DIR (or --preset NAME DATA)")
        if knobs:
            raise CtcLabError(f"--{', --'.join(knobs)} change the architecture: they go with --preset, a checkpoint keeps its own")
        ckpt, data = args.paths
        run, meta = Run.from_checkpoint(ckpt, overrides, notes)
        ds = open_dataset(data)
        check_dataset(ds, meta, ckpt)
        norm, vocab = meta["normalisation"], meta["vocab"]
        run.distill = distillation_for(meta, ckpt, ds, args, teacher_flags, kd_over, notes)
    for n in notes:
        log(d, f"note: {n}")
    if ds.left_out:
        log(d, f"note: {len(ds.left_out)} sample(s) left out for NaN/Inf features (first: {ds.left_out[0][0]})")
    cfg, model = run.cfg, run.model
    augment_settings(cfg, args)
    target = target_wer(cfg, "--target_wer" if "targetWer" in overrides else run.source)
    index = token_index(vocab)
    train, val, excluded = trainable(ds, model, cfg, index)
    if run.distill:
        # The lab's refusal before a run starts: classes, samples without teacher outputs, frames that differ (named, by how much).
        teacher = run.distill["teacher"]
        problems = teacher_problems(teacher, model, train + val)
        if problems:
            raise CtcLabError(f"{teacher.name}: distillation cannot continue: {'; '.join(problems)}")
        teacher.to(d.device)
    spe_lab = math.ceil(math.ceil(len(train) / cfg["batchSize"]) / cfg["accumulationSteps"])
    model.to(d.device).train()
    if run.ema:
        run.ema.to(d.device)
    for st in run.optimizer.state.values():  # moments follow the parameters to the device
        for k, v in st.items():
            if torch.is_tensor(v) and k != "step":
                st[k] = v.to(d.device)
    ddp = torch.nn.parallel.DistributedDataParallel(model, device_ids=[d.device.index] if d.device.type == "cuda" else None) if d.world > 1 else model
    log(d, f"{model.preset}: {sum(p.numel() for p in model.parameters() if p.requires_grad):,} parameters, ×{model.subsampling} subsampling; "
           f"{len(train)} train / {len(val)} val samples ({len(excluded)} excluded); {d.world} process(es) on {d.device.type}; "
           f"epoch {run.epoch} → {cfg['epochs']}")
    if run.distill:
        st, teacher = run.distill["settings"], run.distill["teacher"]
        log(d, f"distilling from {teacher.kind} {teacher.name}: loss = {st['ctcWeight']:g} · CTC + {st['kdWeight']:g} · τ²·KL, τ {st['temperature']:g}, "
               f"blank {'left out of' if st['excludeBlank'] else 'in'} the KL")
    teacher_hyps: dict = {}  # the teacher's greedy decodes of the val samples (it does not change)
    out = args.output
    if d.main:
        os.makedirs(out, exist_ok=True)
    sync_log = open(f"{args.sync_log}.rank{d.rank}", "w") if args.sync_log else None  # tests: a weights digest per step and rank
    tb = tensorboard(d, out)
    reason = f"finished {cfg['epochs']} epochs"
    paused_said = False  # the plateau-aware rule's pause is announced once
    end = cfg["epochs"] if args.stop_after is None else min(cfg["epochs"], run.epoch + args.stop_after)
    best_sets = BestWeights(cfg["averageBest"]) if cfg.get("averageBest", 0) > 0 and d.main else None  # average.py
    while run.epoch < end:
        t0 = time.time()
        tr = train_epoch(run, ddp, ds, train, norm, index, d, spe_lab, sync_log, progress_bar(d, run.epoch + 1))
        epoch = tr["epoch"]
        run.changed = True
        do_eval = epoch % cfg["evalEvery"] == 0 or epoch == cfg["epochs"]
        kd_teacher = run.distill["teacher"] if run.distill else None
        with run.ema.swapped(model) if run.ema and do_eval and d.main else contextlib.nullcontext():  # validation measures the average
            ev = evaluate(model, ds, val, norm, index, vocab, d.device, teacher=kd_teacher, teacher_hyps=teacher_hyps) if do_eval and d.main else None
        seconds = tr.pop("seconds0") + time.time() - t0
        m = {**tr, **{k: (ev[k2] if ev else None) for k, k2 in (("valLoss", "loss"), ("valWer", "wer"), ("valCer", "cer"), ("S", "S"), ("D", "D"), ("I", "I"), ("N", "N"), ("blankRate", "blankRate"))}, "seconds": seconds}
        if run.distill:
            m.update(agreement=ev["agreement"] if ev else None, teacherValWer=ev["teacherWer"] if ev else None)
        run.epoch = epoch
        run.history.append(m)
        improved = stop = False
        judgement = None
        if d.main and ev:
            improved, stop, judgement = run.early.update(epoch, ev["wer"] if cfg["monitor"] == "val_wer" else ev["loss"], run.history)
            if best_sets:  # the weights validation measured: the EMA's when it is on
                best_sets.offer(epoch, ev["wer"] if cfg["monitor"] == "val_wer" else ev["loss"], run.ema.lab_tensors() if run.ema else model.lab_tensors())
            if judgement and judgement["paused"] and not paused_said:  # said once per run, as the lab's doctor does
                print(f"early stopping waits at epoch {epoch}: {judgement['message']}", flush=True)
                paused_said = True
        if d.main:
            run.save(os.path.join(out, "last.safetensors"))
            if improved:
                run.save(os.path.join(out, "best.safetensors"))
            fmt = lambda x, f="{:.4f}": "–" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f.format(x)  # noqa: E731
            kd_txt = f", KL {fmt(m['trainKd'])}, agreement {fmt(m['agreement'] * 100 if m['agreement'] is not None else None, '{:.1f}%')}" if run.distill else ""
            print(f"epoch {epoch}: train loss {fmt(m['trainLoss'])}, val loss {fmt(m['valLoss'])}, val WER {fmt(m['valWer'] * 100 if m['valWer'] is not None else None, '{:.1f}%')}, "
                  f"lr {m['lr']:.3e}, grad norm {fmt(m['gradNorm'], '{:.3f}')}{kd_txt}{', best' if improved else ''} ({seconds:.1f} s); "
                  f"{forecast_text(forecast(run.history, cfg['epochs'], target))}", flush=True)
            if tb:
                for k in ("trainLoss", "valLoss", "valWer", "valCer", "blankRate", "lr", "gradNorm", "trainKd", "agreement"):
                    if m.get(k) is not None and math.isfinite(m[k]):
                        tb.add_scalar(k, m[k], epoch)
        stop = d.broadcast(stop)
        if stop:
            reason = run.early.reason(judgement)
            break
    if run.epoch < cfg["epochs"] and not reason.startswith("early"):
        reason = f"stopped after {args.stop_after} epoch(s) of this session (--stop_after), at epoch {run.epoch} of {cfg['epochs']}"
    if sync_log:
        sync_log.close()
    if tb:
        tb.close()
    if best_sets and (run.epoch >= cfg["epochs"] or reason.startswith("early")):  # a run that ended, not one stopped by --stop_after (the lab's rule)
        reason += save_averaged(run, best_sets, ds, val, norm, index, vocab, d.device, os.path.join(out, "averaged.safetensors"))
    log(d, f"{reason}; checkpoints in {out}: last.safetensors" + (", best.safetensors" if os.path.exists(os.path.join(out, "best.safetensors")) else "")
        + (", averaged.safetensors" if best_sets and os.path.exists(os.path.join(out, "averaged.safetensors")) else ""))
    return 0


def save_averaged(run, best_sets: BestWeights, ds: Dataset, val: list, norm: dict, index: dict, vocab: list, device, path: str) -> str:
    """averageBest: the mean of the kept weight sets, evaluated on val and written as the run's averaged
    checkpoint ("model.…" the mean; an EMA run's trained weights and the optimizer's slots as in last);
    the words the run's reason gets ('' when nothing was kept)."""
    avg = best_sets.average()
    if avg is None:
        return ""
    model = run.model
    trained = {k: v.copy() for k, v in model.lab_tensors().items()}  # copies: on the CPU .numpy() shares the parameters' memory
    epochs = [e["epoch"] for e in best_sets.epochs]
    try:
        model.load_lab_tensors(avg, "averaged weights")
        ev = evaluate(model, ds, val, norm, index, vocab, device)
        meta = {**run.checkpoint_meta(), "averaged": {"epochs": epochs, "valWer": ev["wer"] if ev else None, "valLoss": ev["loss"] if ev else None}}
        slots = lab_slots(run.optimizer, model, run.cfg["optimizer"])
        if run.ema:  # an EMA run's file also holds the weights the optimizer updates, as "train.model.…"
            slots.update({TRAIN_WEIGHTS_PREFIX + k: v for k, v in trained.items()})
        write_checkpoint(path, model, meta, slots)
    finally:
        model.load_lab_tensors(trained, "trained weights")
    wer = f", val WER {ev['wer'] * 100:.1f}%" if ev else ""
    return f"; averaged the {len(epochs)} best epochs ({', '.join(map(str, epochs))}){wer}"


def distillation_for(meta: dict, ckpt: str, ds: Dataset, args: argparse.Namespace, teacher_flags: list[str], kd_over: dict, notes: list[str]) -> dict | None:
    """A distillation checkpoint's teacher and settings (None for a CTC run), checked before anything
    is written: one teacher given, the record usable, the teacher fitting the student (teacher.py)."""
    rec = meta.get("distillation")
    if not rec:
        if teacher_flags or kd_over:
            raise CtcLabError(f"{ckpt}: a CTC run, not a distillation run: {', '.join(teacher_flags) or 'the KD flags'} go with a checkpoint of a lab distillation run (it records the teacher and the settings)")
        return None
    t = rec.get("teacher") if isinstance(rec, dict) else None
    name, kind = (t.get("name", "?"), t.get("kind", "?")) if isinstance(t, dict) else ("?", "?")
    if not teacher_flags:
        how = f"--teacher {name} (download it from the lab)" if kind == "checkpoint" else f"--teacher-outputs DIR (the model-output set '{name}')"
        raise CtcLabError(f"{ckpt}: a distillation run (teacher '{name}', {'a checkpoint' if kind == 'checkpoint' else 'model outputs'}): give its teacher, {how}; "
                          "a checkpoint teacher as --teacher PATH.safetensors, model outputs as --teacher-outputs DIR")
    if len(teacher_flags) > 1:
        raise CtcLabError("give one teacher: --teacher PATH.safetensors or --teacher-outputs DIR, not both")
    settings = distillation_record(meta, ckpt, kd_over)
    if args.teacher is not None:
        teacher = CheckpointTeacher(args.teacher, meta, t if kind == "checkpoint" else None)
    else:
        teacher = OutputSetTeacher(args.teacher_outputs, ds, meta["vocab"])
    if teacher.kind != kind:
        notes.append(f"the run learned from {'a checkpoint' if kind == 'checkpoint' else 'model outputs'} ('{name}'); {teacher.name} teaches it now (its record stays)")
    for k in KD_SETTINGS:
        if k in kd_over and kd_over[k] != rec.get(k):
            notes.append(f"distillation {k} {rec.get(k)} → {kd_over[k]} (recorded in the checkpoints written)")
    return {"settings": settings, "teacher": teacher}


# Augmentation flags → the config's `augment` fields (the lab's names); --stretch takes MIN MAX.
AUGMENT_FLAGS = {"time_masks": ("timeMasks", int), "time_mask_width": ("timeMaskWidth", float), "feature_masks": ("featureMasks", int),
                 "feature_mask_width": ("featureMaskWidth", float), "feature_warp": ("featureWarp", float), "noise": ("noise", float),
                 "frame_drop": ("frameDrop", float)}


def augment_settings(cfg: dict, args: argparse.Namespace) -> None:
    """The run's augmentation: what the checkpoint recorded (none: off), the flags over it; refused by field."""
    over = {k: getattr(args, f) for f, (k, _) in AUGMENT_FLAGS.items() if getattr(args, f, None) is not None}
    if getattr(args, "stretch", None) is not None:
        over.update(stretchMin=args.stretch[0], stretchMax=args.stretch[1])
    if not over and "augment" not in cfg:
        return
    cfg["augment"] = {**AUGMENT_OFF, **(cfg.get("augment") or {}), **over}
    bad = augment_problems(cfg["augment"])
    if bad:
        raise CtcLabError(f"{'flags' if over else 'checkpoint'}: {'; '.join(bad)}")


def add_train_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="CKPT DATA", help="a lab checkpoint (.safetensors) and a dataset folder or .zip; only DATA with --preset")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="where best.safetensors and last.safetensors go")
    p.add_argument("--preset", choices=list(PRESETS), help="start a new run from this model preset instead of a checkpoint")
    p.add_argument("--recipe", choices=list(RECIPES), help="with --preset: the lab's recipe of that name (its settings, then the flags over them)")
    for k in ("channels", "layers", "hidden", "heads"):
        p.add_argument(f"--{k}", type=int, help=f"with --preset: {k} (default: the preset's)")
    p.add_argument("--subsampling", type=int, choices=(2, 4), help="with --preset tcn: time subsampling ×2 (default) or ×4")
    for flag, (key, typ) in FLAGS.items():
        p.add_argument(f"--{flag}", type=typ, choices=CHOICES.get(key), help=f"overrides the run's {key}")
    kd = p.add_argument_group("distillation (a checkpoint of a lab distillation run: its teacher and, optionally, other KD settings)")
    kd.add_argument("--teacher", metavar="PATH.safetensors", help="the teacher as a lab checkpoint (run in eval mode, no gradient)")
    kd.add_argument("--teacher-outputs", "--teacher_outputs", dest="teacher_outputs", metavar="DIR", help="the teacher as a model-outputs set (folder or .zip, the lab's format) of this dataset")
    for flag, (key, typ) in KD_FLAGS.items():
        kd.add_argument(f"--{flag}", type=typ, help=f"overrides the recorded {key}")
    blank = kd.add_mutually_exclusive_group()
    blank.add_argument("--exclude_blank", dest="exclude_blank", action="store_const", const=True, help="leave the blank out of the KL (overrides the record)")
    blank.add_argument("--include_blank", dest="exclude_blank", action="store_const", const=False, help="keep the blank in the KL (overrides the record)")
    au = p.add_argument_group("augmentation of training batches (the lab's settings; a checkpoint's recorded ones unless a flag changes them)")
    au.add_argument("--stretch", nargs=2, type=float, metavar=("MIN", "MAX"), help="time stretch: each sample's length × a factor in [MIN, MAX] (1 1 = off; 0.9 1.1; sign language 0.8 1.2)")
    for flag, (key, typ) in AUGMENT_FLAGS.items():
        au.add_argument(f"--{flag.replace('_', '-')}", f"--{flag}", dest=flag, type=typ, help=f"augment.{key}")
    p.add_argument("--stop_after", type=int, metavar="N", help="stop after N epochs of this session; the run's planned --epochs (and its schedule) stay")
    p.add_argument("--device", help="cpu, cuda or cuda:N (default: this process's GPU under torchrun, else cuda if present, else cpu)")
    p.add_argument("--sync_log", help=argparse.SUPPRESS)
