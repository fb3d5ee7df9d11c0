"""CTC loss as the lab computes it, and the lab's evaluation of a model on a split (Trainer.evaluate)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from .batch import make_batch
from .data import Dataset, Sample
from .metrics import cer, greedy_decode, ids_to_tokens, wer
from .model_base import LabModel

if TYPE_CHECKING:
    from .teacher import Teacher


def ctc_mean(logits: torch.Tensor, out_frames: torch.Tensor, labels: torch.Tensor, label_len: torch.Tensor, zero_infinity: bool = False) -> torch.Tensor:
    """PyTorch's ctc_loss 'mean' (per-sample nll / max(label length, 1), averaged), as the lab's ctcLoss."""
    lp = logits.float().log_softmax(-1).transpose(0, 1)  # [T', B, C]
    return F.ctc_loss(lp, labels, out_frames, label_len, blank=0, reduction="mean", zero_infinity=zero_infinity)


def ctc_min_frames(ids: list[int]) -> int:
    return len(ids) + sum(1 for a, b in zip(ids, ids[1:]) if a == b)


@torch.no_grad()
def evaluate(model: LabModel, ds: Dataset, samples: list[Sample], norm: dict, index: dict[str, int], vocab: list[str], device: torch.device | str, batch_size: int = 16, teacher: Teacher | None = None, teacher_hyps: dict[str, str] | None = None) -> dict | None:
    """The lab's Trainer.evaluate: val samples by length, batches of 16, mean per-token loss
    (zero_infinity), greedy decoding, WER / CER with S/D/I, blank rate over real output frames.
    With a teacher also its greedy decodes (cached in teacher_hyps by sample id: it does not
    change), its WER and the agreement (share of samples whose decodes equal the student's)."""
    if not samples:
        return None
    was = model.training
    model.eval()
    order = sorted(range(len(samples)), key=lambda i: samples[i].frames)
    refs, hyps, ids = [], [], []
    loss_sum, blanks, frames = 0.0, 0, 0
    teacher_hyps = {} if teacher_hyps is None else teacher_hyps
    for i in range(0, len(order), batch_size):
        b = make_batch(ds, [samples[j] for j in order[i : i + batch_size]], norm, index)
        logits, out_frames = model(b.x.to(device), b.lengths.to(device))
        ids += b.ids
        if teacher is not None and any(sid not in teacher_hyps for sid in b.ids):
            tbest = teacher.logits(b, logits.shape[1], device).argmax(-1).cpu()
            for k, n in enumerate(out_frames.tolist()):
                teacher_hyps[b.ids[k]] = " ".join(ids_to_tokens(greedy_decode(tbest[k, :n].tolist()), vocab))
        lp = logits.float().log_softmax(-1)
        nll = F.ctc_loss(lp.transpose(0, 1), b.labels.to(device), out_frames, b.label_lengths.to(device), blank=0, reduction="none", zero_infinity=True)
        loss_sum += float((nll.cpu().double() / b.label_lengths.clamp(min=1).double()).sum())
        best = logits.argmax(-1).cpu()
        for k, n in enumerate(out_frames.tolist()):
            seq = best[k, :n].tolist()
            blanks += seq.count(0)
            frames += n
            hyps.append(" ".join(ids_to_tokens(greedy_decode(seq), vocab)))
            refs.append(b.texts[k])
    model.train(was)
    w = wer(refs, hyps)
    out = {"loss": loss_sum / len(samples), "wer": w["rate"], "cer": cer(refs, hyps)["rate"], "S": w["S"], "D": w["D"], "I": w["I"], "N": w["N"], "blankRate": blanks / frames, "refs": refs, "hyps": hyps}
    if teacher is not None:
        th = [teacher_hyps[sid] for sid in ids]
        out.update(teacherHyps=th, teacherWer=wer(refs, th)["rate"], agreement=sum(h == t for h, t in zip(hyps, th)) / len(hyps))
    return out
