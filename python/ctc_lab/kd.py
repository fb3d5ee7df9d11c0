"""The distillation term and settings, as the lab's src/engine/distill/ (kd_loss.ts, settings.ts, loss.ts):

    kd = τ² · KL(softmax(teacher/τ) ‖ softmax(student/τ))   per valid output frame,
         averaged over each sample's valid output frames, then over the batch ('mean');
    loss = kdWeight · kd + ctcWeight · CTC 'mean'            (CTC left out when its weight is 0).

With excludeBlank the blank's column is dropped from both and each distribution renormalised
over the other classes. The teacher may hold logits or log-probs (softmax ignores a per-frame
shift); padded frames contribute nothing (zeroed before the softmax, so NaN/Inf there cannot
leak into the value or the gradient). Autograd gives the lab's closed form τ·w·(q − p).
"""

from __future__ import annotations

import math

import torch

from .errors import CtcLabError

# The lab's DISTILL_DEFAULTS (VAC's SeqKD): τ 8, blank left out, distillation weight 25, CTC weight 1.
DISTILL_DEFAULTS = {"kdWeight": 25.0, "ctcWeight": 1.0, "temperature": 8.0, "excludeBlank": True}
SETTINGS = ("kdWeight", "ctcWeight", "temperature", "excludeBlank")


def kd_loss(student: torch.Tensor, teacher: torch.Tensor, out_frames: torch.Tensor, temperature: float, exclude_blank: bool, blank: int = 0, reduction: str = "mean") -> torch.Tensor:
    """student, teacher: [B, T', C]; out_frames: [B] valid output frames. → [B] ('none') or their mean.
    Differentiable w.r.t. the student only (the teacher is detached)."""
    B, T, C = student.shape
    tau = float(temperature)
    if not (math.isfinite(tau) and tau > 0):
        raise ValueError(f"kd_loss: temperature must be a positive number, got {temperature}")
    if tuple(teacher.shape) != (B, T, C):
        raise ValueError(f"kd_loss: teacher shape {list(teacher.shape)} differs from the student's {[B, T, C]}")
    if not 0 <= blank < C:
        raise ValueError(f"kd_loss: blank {blank} outside [0, {C})")
    if exclude_blank and C < 2:
        raise ValueError("kd_loss: excluding the blank leaves no class")
    valid = torch.arange(T, device=student.device)[None, :] < out_frames.to(student.device)[:, None]  # [B, T']
    m = valid.float()
    w = m / m.sum(1, keepdim=True).clamp(min=1)  # [B, T']: 1 / valid frames of the sample
    s, t = student.float(), teacher.detach().float()
    if exclude_blank:
        keep = torch.tensor([c for c in range(C) if c != blank], device=student.device)
        s, t = s.index_select(2, keep), t.index_select(2, keep)
    zero = torch.zeros((), device=student.device)
    s = torch.where(valid[..., None], s, zero)
    t = torch.where(valid[..., None], t, zero)
    logp = torch.log_softmax(t / tau, -1)
    p = logp.exp()
    logq = torch.log_softmax(s / tau, -1)
    terms = torch.where(p > 0, p * (logp - logq), zero)  # 0·log 0 = 0, also for a −∞ teacher log-prob
    per_sample = (terms.sum(2) * w).sum(1) * (tau * tau)  # [B]
    return per_sample if reduction == "none" else per_sample.mean()


def distill_settings_problems(s: dict) -> list[str]:
    """The lab's distillSettingsProblems: one sentence per unusable setting (empty when usable)."""
    out = []
    for k in ("kdWeight", "ctcWeight"):
        v = s.get(k)
        if not (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0):
            out.append(f"{k} must be a number ≥ 0, got {v}")
    t = s.get("temperature")
    if not (isinstance(t, (int, float)) and not isinstance(t, bool) and math.isfinite(t) and t > 0):
        out.append(f"temperature must be a number > 0, got {t}")
    if not isinstance(s.get("excludeBlank"), bool):
        out.append(f"excludeBlank must be true or false, got {s.get('excludeBlank')}")
    if out:
        return out
    if s["kdWeight"] == 0 and s["ctcWeight"] == 0:
        out.append("kdWeight and ctcWeight are both 0: the loss would be 0")
    if s["ctcWeight"] == 0 and s["excludeBlank"] and s["kdWeight"] > 0:
        out.append("ctcWeight 0 with the blank excluded from the KL leaves the blank with no training signal: include the blank or give CTC a weight")
    return out


def distillation_record(meta: dict, path: str, overrides: dict) -> dict:
    """A checkpoint's `distillation` (the teacher and the four settings), the overrides applied and
    checked; refused naming the file and the field."""
    rec = meta.get("distillation")
    if not isinstance(rec, dict):
        raise CtcLabError(f"{path}: metadata field distillation is not an object {{kdWeight, ctcWeight, temperature, excludeBlank, teacher}}")
    teacher = rec.get("teacher")
    if not isinstance(teacher, dict) or teacher.get("kind") not in ("checkpoint", "outputs") or not isinstance(teacher.get("name"), str):
        raise CtcLabError(f"{path}: metadata field distillation.teacher is not a teacher {{kind: 'checkpoint' | 'outputs', id, name}}")
    out = {**rec, **overrides}
    problems = distill_settings_problems(out)
    if problems:
        src = "the command line" if any(k in overrides for k in SETTINGS) else f"{path}: metadata field distillation"
        raise CtcLabError(f"{src}: {'; '.join(problems)}")
    return out
