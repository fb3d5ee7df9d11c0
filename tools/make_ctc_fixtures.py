#!/usr/bin/env python3
"""Writes src/engine/ctc/fixtures/torch_ctc.json: CTC losses and gradients from PyTorch.

Run with Debian's PyTorch (apt-get install python3-torch): /usr/bin/python3 tools/make_ctc_fixtures.py
CI does not need PyTorch: the JSON is committed. Every case is computed in float64 on
log_softmax(logits) exactly as torch.nn.functional.ctc_loss documents, for each reduction and
zero_infinity setting; the gradient is w.r.t. the raw logits (through log_softmax).
"""
import json
import pathlib

import torch
import torch.nn.functional as F

torch.manual_seed(1759)  # tensorflow/tfjs#1759: "CTC loss"


def case(name, B, T, V, label_lists, logit_lengths):
    L = max(1, max(len(x) for x in label_lists))
    logits = (torch.randn(B, T, V) * 2).float()
    labels = torch.zeros(B, L, dtype=torch.long)
    for b, lab in enumerate(label_lists):
        if lab:
            labels[b, : len(lab)] = torch.tensor(lab)
    label_lengths = torch.tensor([len(x) for x in label_lists], dtype=torch.long)
    logit_lengths_t = torch.tensor(logit_lengths, dtype=torch.long)
    results = []
    for reduction in ("none", "sum", "mean"):
        for zero_infinity in (False, True):
            x = logits.double().clone().requires_grad_(True)
            lp = F.log_softmax(x, dim=-1).transpose(0, 1)  # [T, B, V]
            loss = F.ctc_loss(lp, labels, logit_lengths_t, label_lengths, blank=0,
                              reduction=reduction, zero_infinity=zero_infinity)
            total = loss.sum() if reduction == "none" else loss
            finite = bool(torch.isfinite(total))
            grad = None
            if finite:
                total.backward()
                grad = x.grad.flatten().tolist()
            value = loss.tolist() if reduction == "none" else float(loss)
            results.append({
                "reduction": reduction,
                "zeroInfinity": zero_infinity,
                "loss": json.loads(json.dumps(value).replace("Infinity", '"inf"')) if not finite else value,
                "grad": grad,
            })
    return {
        "name": name, "B": B, "T": T, "V": V, "L": L,
        "logits": logits.flatten().double().tolist(),
        "labels": labels.flatten().tolist(),
        "logitLengths": logit_lengths,
        "labelLengths": [len(x) for x in label_lists],
        "results": results,
    }


cases = [
    case("single sample", 1, 6, 4, [[1, 2, 3]], [6]),
    case("repeated labels", 2, 8, 3, [[1, 1, 2], [2, 2]], [8, 5]),
    case("empty label", 2, 5, 4, [[], [3]], [5, 2]),
    case("at the feasibility limit", 2, 5, 3, [[1, 1, 1], [1, 2, 1, 2, 1]], [5, 5]),
    case("padded batch", 4, 12, 6, [[1, 2, 3, 4], [5], [2, 2, 2], [1, 3, 5, 3, 1]], [12, 3, 9, 10]),
    case("infeasible sample in batch", 3, 6, 4, [[1, 1, 1, 1], [1, 2], [3]], [6, 4, 2]),
    case("longer sequence", 2, 40, 8, [[1, 2, 3, 4, 5, 6, 7, 1, 2, 3], [7, 7, 6, 6]], [40, 31]),
]

out = pathlib.Path(__file__).resolve().parent.parent / "src/engine/ctc/fixtures/torch_ctc.json"
out.write_text(json.dumps({"torch": torch.__version__, "cases": cases}, separators=(",", ":")) + "\n")
print(f"wrote {out} ({out.stat().st_size} bytes, {len(cases)} cases, torch {torch.__version__})")
