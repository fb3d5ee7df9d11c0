#!/usr/bin/env python3
"""PyTorch CPU ctc_loss forward + backward on the CTC benchmark's exact inputs.

Usage: ctc_torch.py PROBLEMS.json [THREADS [REPS]]. PROBLEMS.json (written by bench/ctc_report.node.ts)
lists each problem's .npy files (logits [B, T, V] float32; labels [B, L], logit and label lengths
[B] as float64) and the fused kernel's summed loss. Checks PyTorch's loss against it before timing
and exits with status 1, naming the problem, when they differ by more than 1e-4 (relative).
Prints one JSON object per problem: median, minimum and maximum of REPS runs (default 10).
Needs Debian's python3-torch; the runners skip PyTorch where it is not importable."""
import json
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

problems = json.load(open(sys.argv[1]))
torch.set_num_threads(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
reps = int(sys.argv[3]) if len(sys.argv) > 3 else 10
for p in problems:
    files = p["files"]
    logits = torch.from_numpy(np.load(files["logits"]).astype(np.float32))
    labels = torch.from_numpy(np.load(files["labels"])).long()
    xl = torch.from_numpy(np.load(files["logitLengths"])).long()
    yl = torch.from_numpy(np.load(files["labelLengths"])).long()

    def step():
        x = logits.clone().requires_grad_(True)
        loss = F.ctc_loss(F.log_softmax(x, dim=-1).transpose(0, 1), labels, xl, yl, reduction="sum")
        loss.backward()
        return float(loss)

    value = step()
    rel = abs(value - p["fusedLoss"]) / abs(value)
    if not rel <= 1e-4:
        print(f"ctc_torch.py: problem {p['index']} ({p['name']}): PyTorch loss {value} vs fused {p['fusedLoss']} (rel. diff {rel:.2e} > 1e-4)", file=sys.stderr)
        sys.exit(1)
    ms = []
    for _ in range(reps):
        t0 = time.perf_counter()
        step()
        ms.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({"index": p["index"], "torch": torch.__version__, "threads": torch.get_num_threads(), "loss": value,
                      "relErrVsFused": rel, "ms": statistics.median(ms), "min": min(ms), "max": max(ms)}))
