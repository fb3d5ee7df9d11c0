#!/usr/bin/env python3
"""PyTorch CPU ctc_loss forward+backward on the benchmark's exact inputs (read from a JSON file
written by bench/run.mjs). Checks the loss against CTC Lab's fused kernel before timing.
Prints one JSON object per shape. Needs Debian's python3-torch; skipped by run.mjs otherwise."""
import base64
import json
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

problems = json.load(open(sys.argv[1]))
torch.set_num_threads(int(sys.argv[2]) if len(sys.argv) > 2 else torch.get_num_threads())
for p in problems:
    B, T, V, L = p["B"], p["T"], p["V"], p["L"]
    logits = torch.from_numpy(np.frombuffer(base64.b64decode(p["logitsF32Base64"]), dtype="<f4").reshape(B, T, V).copy())
    labels = torch.tensor(p["labels"], dtype=torch.long).reshape(B, L)
    xl = torch.tensor(p["logitLengths"], dtype=torch.long)
    yl = torch.tensor(p["labelLengths"], dtype=torch.long)

    def step():
        x = logits.clone().requires_grad_(True)
        loss = F.ctc_loss(F.log_softmax(x, dim=-1).transpose(0, 1), labels, xl, yl, reduction="sum")
        loss.backward()
        return float(loss)

    value = step()
    ms = []
    for _ in range(10):
        t0 = time.perf_counter()
        step()
        ms.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({"name": p["name"], "torch": torch.__version__, "threads": torch.get_num_threads(),
                      "loss": value, "relErrVsFused": abs(value - p["fusedLoss"]) / abs(value),
                      "ms": statistics.median(ms)}))
