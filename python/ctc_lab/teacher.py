"""A distillation run's teacher in PyTorch, as the lab's src/engine/distill/teacher.ts and
src/worker/distill.ts build it:

  CheckpointTeacher  a lab checkpoint (--teacher PATH.safetensors): its model in eval mode, dropout 0,
                     no gradient, run on the student's own batch (same features, same normalisation)
  OutputSetTeacher   an output set (--teacher-outputs DIR|ZIP, the model-outputs format): per-sample
                     log-probs, columns reordered to the student's classes (blank 0, then the
                     vocabulary), padded with zeros to the batch's T' (masked out of the KL anyway)

Both must fit the student: the same classes (vocabulary), a checkpoint the same feature dim and
normalisation, and per sample the student's output frames (teacher_problems, before anything is
written). Every refusal names the teacher's file.
"""

from __future__ import annotations

import numpy as np
import torch

from .checkpoint import read_checkpoint
from .batch import Batch
from .data import Dataset, Sample
from .errors import CtcLabError
from .model_base import LabModel
from .models import build_model
from .output_set import read_output_set

# Model config fields that make a teacher the one a run recorded (dropout aside: eval mode).
IDENTITY = ("preset", "featureDim", "numClasses", "channels", "layers", "hidden", "heads", "kernel", "subsampling")


class CheckpointTeacher:
    kind = "checkpoint"

    def __init__(self, path: str, student_meta: dict, recorded: dict | None = None) -> None:
        meta, tensors = read_checkpoint(path)
        self.path = path
        vocab, sv = meta["vocab"], student_meta["vocab"]
        if vocab != sv:
            i = next((i for i in range(max(len(vocab), len(sv))) if i >= len(vocab) or i >= len(sv) or vocab[i] != sv[i]), 0)
            raise CtcLabError(
                f"{path}: the teacher's vocabulary differs from the student's ({len(vocab)} vs {len(sv)} tokens; first difference at class {i + 1}: "
                f"'{vocab[i] if i < len(vocab) else '(none)'}' vs '{sv[i] if i < len(sv) else '(none)'}')"
            )
        fd, sfd = meta["model"]["featureDim"], student_meta["model"]["featureDim"]
        if fd != sfd:
            raise CtcLabError(f"{path}: the teacher reads {fd} feature dims, the student (and its dataset) {sfd}")
        for key in ("mean", "std"):
            a, b = meta["normalisation"][key], student_meta["normalisation"][key]
            d = next((i for i, (x, y) in enumerate(zip(a, b)) if abs(x - y) > 1e-6 * max(1, abs(x))), None)
            if d is not None:
                raise CtcLabError(f"{path}: the teacher was trained with another feature normalisation than the student ({key} of dim {d}: {a[d]} vs {b[d]}); use a checkpoint of the student's dataset")
        rec = (recorded or {}).get("model")
        if isinstance(rec, dict):
            diff = [k for k in IDENTITY if k in rec and k in meta["model"] and rec[k] != meta["model"][k]]
            if diff:
                k = diff[0]
                raise CtcLabError(
                    f"{path}: not the run's teacher: the run learned from '{recorded.get('name', '?')}' ({rec.get('preset')}, {k} {rec[k]}); "
                    f"this file holds a {meta['model']['preset']} with {k} {meta['model'][k]}"
                )
        self.model: LabModel = build_model({**meta["model"], "dropout": 0})
        self.model.load_lab_tensors(tensors, path)
        self.model.eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.num_classes = meta["model"]["numClasses"]
        self.subsampling = self.model.subsampling
        self.name = path

    def to(self, device: torch.device | str) -> CheckpointTeacher:
        self.model.to(device)
        return self

    def out_frames(self, s: Sample) -> int | None:
        return self.model.sample_out_frames(s.frames)

    @torch.no_grad()
    def logits(self, b: Batch, max_out_frames: int, device: torch.device | str) -> torch.Tensor:
        """[B, T', C] teacher logits for the student's batch (eval mode, no gradient)."""
        y, _ = self.model(b.x.to(device), b.lengths.to(device))
        if y.shape[1] != max_out_frames:
            raise CtcLabError(f"{self.path}: the teacher gives {y.shape[1]} output frames for a batch where the student gives {max_out_frames}")
        return y.float()


class OutputSetTeacher:
    kind = "outputs"

    def __init__(self, root: str, ds: Dataset, vocab: list[str]) -> None:
        oset = read_output_set(root)
        self.set, self.path, self.name = oset, root, root
        classes = oset.classes
        cols = [oset.blank] + [classes.index(t) if t in classes else -1 for t in vocab]
        missing = [t for t, c in zip(vocab, cols[1:]) if c < 0]
        if missing:
            raise CtcLabError(f"{root}: the teacher's outputs have no class for {len(missing)} of the student's tokens: {', '.join(missing[:8])}{', …' if len(missing) > 8 else ''}")
        vs = set(vocab)
        extra = [c for i, c in enumerate(classes) if i != oset.blank and c not in vs]
        if extra:
            raise CtcLabError(
                f"{root}: the teacher's outputs have {len(extra)} classes that are not in the student's vocabulary ({', '.join(extra[:8])}{', …' if len(extra) > 8 else ''}): "
                "its distribution cannot be compared with the student's"
            )
        self.cols = np.asarray(cols)
        # The set must be of this dataset (the lab attaches it): each id known, same reference, same input frames.
        by_id = {s.id: s for s in ds.samples}
        left_out = {i for i, _ in ds.left_out}
        for o in oset.samples.values():
            s = by_id.get(o.id)
            if s is None:
                if o.id in left_out:
                    continue
                raise CtcLabError(f"{oset.manifest}, line {o.line}: sample '{o.id}' is not in the dataset {ds.root} (a teacher's outputs have the dataset's ids)")
            if s.text != o.text:
                raise CtcLabError(f"{oset.manifest}, line {o.line}: sample '{o.id}': reference '{o.text}' differs from the dataset's ('{s.text}')")
            if o.frames is not None and o.frames != s.frames:
                raise CtcLabError(f"{oset.manifest}, line {o.line}: sample '{o.id}': frames {o.frames}, but the dataset has {s.frames} input frames")
        self.num_classes = len(vocab) + 1
        self.subsampling = oset.subsampling

    def to(self, device: torch.device | str) -> OutputSetTeacher:
        return self

    def out_frames(self, s: Sample) -> int | None:
        o = self.set.samples.get(s.id)
        return None if o is None else o.out_frames

    def rows(self, sample_id: str) -> np.ndarray:
        """[T', V+1] float32 log-probs of one sample in the student's class order."""
        return self.set.log_probs(sample_id)[:, self.cols]

    def logits(self, b: Batch, max_out_frames: int, device: torch.device | str) -> torch.Tensor:
        """[B, T', V+1] the set's log-probs in the student's class order, zero past each sample's frames."""
        out = np.zeros((len(b.ids), max_out_frames, self.num_classes), dtype=np.float32)
        for k, sid in enumerate(b.ids):
            r = self.rows(sid)
            out[k, : min(len(r), max_out_frames)] = r[:max_out_frames]
        return torch.from_numpy(out).to(device)


Teacher = CheckpointTeacher | OutputSetTeacher  # what a distillation run learns from


def teacher_problems(teacher: Teacher, student: LabModel, samples: list[Sample], show: int = 8) -> list[str]:
    """The lab's teacherProblems: class count, samples without teacher outputs, samples whose
    teacher frames differ from the student's output frames (named, with by how much)."""
    out = []
    name = teacher.name
    if teacher.num_classes != student.config["numClasses"]:
        out.append(f"the teacher '{name}' has {teacher.num_classes} output classes, the student {student.config['numClasses']} (blank + vocabulary)")
    missing, differ, n_differ = [], [], 0
    for s in samples:
        t = teacher.out_frames(s)
        mine = student.sample_out_frames(s.frames)
        if t is None:
            missing.append(s.id)
        elif t != mine:
            n_differ += 1
            if len(differ) < show:
                differ.append(f"{s.id} (teacher {t}, student {mine}: {f'{t - mine} more' if t > mine else f'{mine - t} fewer'})")

    def more(n: int) -> str:
        return f", and {n - show} more" if n > show else ""

    if missing:
        out.append(f"the teacher '{name}' has no outputs for {len(missing)} of {len(samples)} samples: {', '.join(missing[:show])}{more(len(missing))}")
    if n_differ:
        out.append(
            f"teacher frames differ from the student's output frames for {n_differ} of {len(samples)} samples: {', '.join(differ)}{more(n_differ)}"
            f" — choose a student with the teacher's time subsampling (×{teacher.subsampling or '?'})"
        )
    return out
