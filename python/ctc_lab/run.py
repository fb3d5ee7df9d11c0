"""A run as the lab stores it, in PyTorch: the model, its optimizer and their state from a lab
checkpoint (or a new run from a preset), early stopping, and the checks that a config and a
dataset fit the checkpoint before anything trains."""

from __future__ import annotations

import math
import os

from .checkpoint import new_meta, read_checkpoint, write_checkpoint
from .augment import AUGMENT_DEFAULTS
from .data import Dataset
from .ema import WeightEma, checkpoint_tensors, decay_problem, trained_tensors
from .errors import CtcLabError
from .model_base import LabModel
from .models import PRESET_DEFAULTS, build_model, model_config
from .optim import SLOTS, lab_slots, load_slots, make_optimizer, zero_slots
from .stopping import js_str, judge_stall, trend_text

# The lab's TRAIN_DEFAULTS (src/engine/train/config.ts): one flat object, camelCase as stored.
TRAIN_DEFAULTS = {
    "preset": "tcn", "subsampling": 2, "channels": 64, "layers": 3, "hidden": 128, "heads": 4, "dropout": 0.2,
    "batchSize": 8, "accumulationSteps": 2, "epochs": 150, "lr": 5e-4, "warmupEpochs": 5, "decay": "cosine",
    "optimizer": "adam", "weightDecay": 0, "momentum": 0.9, "clipNorm": 5,
    "patience": 40, "minDelta": 0.01, "monitor": "val_wer", "restoreBest": True, "evalEvery": 1, "seed": 1, "maxTrainSamples": 0,
    "emaDecay": 0, "averageBest": 0,
}

# The lab's RECIPES (src/engine/train/config.ts; src/engine/train/fixtures/recipes.json, compared by test_recipes.py):
# `train --preset P --recipe R` starts from TRAIN_DEFAULTS, the preset's size, then these, then the flags.
RECIPES = {
    "fresh": {"lr": 5e-4, "dropout": 0.2, "epochs": 150, "warmupEpochs": 5, "optimizer": "adam", "weightDecay": 0, "accumulationSteps": 2, "patience": 40, "batchSize": 8},
    "continue": {"lr": 3e-4, "dropout": 0.3, "epochs": 150, "warmupEpochs": 5, "optimizer": "adamw", "weightDecay": 1e-4, "accumulationSteps": 2, "patience": 30, "batchSize": 8},
    "debug": {"maxTrainSamples": 40, "lr": 1e-3, "dropout": 0.1, "epochs": 30, "warmupEpochs": 0, "patience": 0, "accumulationSteps": 1, "batchSize": 8},
    "generalise": {
        "augment": dict(AUGMENT_DEFAULTS),
        "emaDecay": 0.99,
    },
}

CHOICES = {"optimizer": ("adam", "adamw", "sgd"), "decay": ("cosine", "step", "none"), "monitor": ("val_wer", "val_loss")}


class EarlyStopping:
    """The lab's rule (src/engine/train/early_stopping.ts): improved when metric < best − minDelta; stop after
    `patience` epochs without (0 = never). Given the history so far, an epoch without improvement counts only when
    the plateau-aware rule (stopping.py) does not pause patience; the decision is a function of the history the
    checkpoint keeps, so a resumed run decides as the uninterrupted one."""

    def __init__(self, cfg: dict, state: dict | None):
        self.cfg = cfg
        self.state = dict(state) if state else {"best": None, "bestEpoch": 0, "counter": 0}

    def update(self, epoch: int, metric: float, history: list | None = None) -> tuple[bool, bool, dict | None]:
        s = self.state
        improved = math.isfinite(metric) and (s["best"] is None or metric < s["best"] - self.cfg["minDelta"])
        judgement = None
        if improved:
            s.update(best=metric, bestEpoch=epoch, counter=0)
        else:
            judgement = judge_stall(history) if history is not None and self.cfg["patience"] > 0 else None
            if not (judgement and judgement["paused"]):
                s["counter"] += 1
        return improved, self.cfg["patience"] > 0 and s["counter"] >= self.cfg["patience"], judgement

    def reason(self, judgement: dict | None) -> str:
        """Why the run stopped: the plain rule's words, then the signal that showed it stuck."""
        c, s = self.cfg, self.state
        best = "undefined" if s["best"] is None else f"{s['best']:.4f}"
        plain = f"early stopping: no {c['monitor']} improvement > {js_str(c['minDelta'])} for {c['patience']} epochs (best {best} at epoch {s['bestEpoch']})"
        return f"{plain}; {trend_text(judgement)}" if judgement else plain


class Run:
    """A run's model, optimizer and state, loaded from and saved to the lab's checkpoint format."""

    def __init__(self, model: LabModel, cfg: dict, meta: dict, state: dict, history: list, source: str):
        self.model = model
        self.cfg = cfg
        self.meta = meta  # the metadata it came with (unknown fields are kept on save)
        self.epoch, self.step = state["epoch"], state["step"]
        self.position = state.get("position")
        self.early = EarlyStopping(cfg, state.get("earlyStopping"))
        self.history = list(history)
        self.source = source
        self.optimizer = make_optimizer(model, cfg)
        self.changed = False
        self.distill: dict | None = None  # distillation: {"settings": the record (teacher + KD settings), "teacher": a teacher}
        self.ema: WeightEma | None = WeightEma(model, cfg["emaDecay"]) if cfg.get("emaDecay", 0) > 0 else None  # ema.py

    @classmethod
    def from_checkpoint(cls, path: str, overrides: dict, notes: list[str]) -> tuple["Run", dict]:
        meta, tensors = read_checkpoint(path)
        stored = meta.get("training", {}).get("config", {})
        overfit = stored.get("mode") == "overfit"
        mc = dict(meta["model"])
        # The lab's Import checkpoint: TRAIN_DEFAULTS, the stored config, then the model's own knobs.
        cfg = {**TRAIN_DEFAULTS, **({} if overfit else stored)}
        cfg.update({k: mc[k] for k in ("channels", "layers", "hidden", "heads", "dropout", "subsampling") if k in mc}, preset=mc["preset"])
        cfg.update(overrides)
        check_config(cfg, path)
        if "dropout" in overrides:
            mc["dropout"] = overrides["dropout"]
        model = build_model(mc)
        trained = trained_tensors(tensors, model)  # an EMA run: model.… is the average, train.model.… the trained weights
        model.load_lab_tensors(trained if trained is not None else tensors, path)
        state = meta.get("training", {}).get("state", {})
        if overfit:
            notes.append(f"{path} is an overfit-test checkpoint: its weights start a new run (epoch 0, fresh optimizer state)")
            state, history = {"epoch": 0, "step": 0}, []
        else:
            state, history = dict(state), meta.get("history", [])
        run = cls(model, cfg, {**meta, "model": mc}, state, history, path)
        if run.ema and not overfit:
            run.ema.load(tensors, path)  # the file's average (one without train.model.…: its weights, where the average starts)
        if cfg["averageBest"] > 0:
            notes.append(f"averageBest {cfg['averageBest']}: the kept weight sets start afresh in this session (the lab keeps them beside its run, not in the file); averaged.safetensors averages the best of the epochs trained here")
        stored_opt = stored.get("optimizer", "adam")
        if not overfit and SLOTS.get(stored_opt) == SLOTS[cfg["optimizer"]]:
            load_slots(run.optimizer, model, cfg["optimizer"], tensors, run.step, path)
        else:
            if not overfit:
                notes.append(f"optimizer {stored_opt} → {cfg['optimizer']}: its moments start at zero")
            zero_slots(run.optimizer, model, cfg["optimizer"], run.step)
        return run, meta

    @classmethod
    def fresh(cls, preset: str, ds: Dataset, overrides: dict, knobs: dict) -> "Run":
        cfg = {**TRAIN_DEFAULTS, **PRESET_DEFAULTS[preset], "preset": preset, **overrides}
        cfg.update(knobs)
        check_config(cfg, "flags")
        mc = model_config(cfg, ds.feature_dim, len(ds.vocab) + 1)
        model = build_model(mc)
        model.lab_init(cfg["seed"])  # the lab's createModel(config, seed): the same starting weights
        name = os.path.basename(os.path.normpath(ds.root))
        meta = new_meta(model=mc, subsampling=model.subsampling, vocab=ds.vocab, normalisation=ds.norm, training={}, history=[], dataset={"id": f"python:{name}"[:200], "name": name})
        run = cls(model, cfg, meta, {"epoch": 0, "step": 0}, [], "flags")
        zero_slots(run.optimizer, model, cfg["optimizer"], 0)
        run.changed = True
        return run

    def checkpoint_meta(self) -> dict:
        state = {"epoch": self.epoch, "step": self.step, "seed": self.cfg["seed"], "earlyStopping": dict(self.early.state)}
        if self.position and not self.changed:
            state["position"] = self.position
        meta = {**self.meta, "model": self.model.config, "subsampling": self.model.subsampling, "training": {"config": {"mode": "train", **self.cfg}, "state": state}, "history": self.history}
        if self.distill:
            meta["distillation"] = self.distill["settings"]  # the teacher as the lab recorded it, the KD settings as trained
        if self.changed:
            meta["createdAt"] = new_meta()["createdAt"]
        return meta

    def save(self, path: str) -> None:
        slots = lab_slots(self.optimizer, self.model, self.cfg["optimizer"])
        if self.ema:
            slots.update(checkpoint_tensors(self.model, self.ema))  # model.… the average (over the trained weights), train.model.… those
        write_checkpoint(path, self.model, self.checkpoint_meta(), slots)


def check_config(cfg: dict, where: str) -> None:
    for k, choices in CHOICES.items():
        if cfg[k] not in choices:
            raise CtcLabError(f"{where}: {k} '{cfg[k]}' is not one of {', '.join(choices)}")
    for k in ("batchSize", "accumulationSteps", "epochs", "evalEvery"):
        if not isinstance(cfg[k], int) or cfg[k] < 1:
            raise CtcLabError(f"{where}: {k} must be an integer ≥ 1, got {cfg[k]}")
    if not 0 <= cfg["dropout"] < 1:
        raise CtcLabError(f"{where}: dropout must be in [0, 1), got {cfg['dropout']}")
    problem = decay_problem(cfg.get("emaDecay", 0))
    if problem:
        raise CtcLabError(f"{where}: {problem}")
    ab = cfg.get("averageBest", 0)
    if not isinstance(ab, int) or isinstance(ab, bool) or not 0 <= ab <= 50:
        raise CtcLabError(f"{where}: averageBest: expected 0 (off) or an integer from 1 to 50, got {ab}")


def check_dataset(ds: Dataset, meta: dict, ckpt: str, need_vocab: bool = True) -> None:
    """The lab's Import checkpoint checks: feature dim and vocabulary must be the checkpoint's."""
    fd = meta["model"]["featureDim"]
    if ds.feature_dim != fd:
        first = ds.samples[0].where
        raise CtcLabError(f"{first}: the dataset has {ds.feature_dim} features per frame; the model in {ckpt} takes {fd}")
    if need_vocab and ds.vocab != meta["vocab"]:
        cv, dv = meta["vocab"], ds.vocab
        i = next((i for i in range(max(len(cv), len(dv))) if i >= len(cv) or i >= len(dv) or cv[i] != dv[i]), 0)
        src = ds.vocab_file or f"the training transcripts of {ds.root} (no vocab.txt)"
        raise CtcLabError(
            f"{src}: the vocabulary ({len(dv)} tokens) differs from {ckpt} ({len(cv)} tokens), first at class {i + 1}: "
            f"'{dv[i] if i < len(dv) else '∅'}' vs '{cv[i] if i < len(cv) else '∅'}'"
        )
