"""Writes a tiny PyTorch CTC model's outputs in the lab's model-outputs format (docs/ARCHITECTURE.md,
"Model outputs format"), and the WER it computes from them, for the import test
(src/engine/diagnose/outputs_torch.test.ts, which runs this at test time: nothing binary is
committed).

    /usr/bin/python3 tools/write_model_outputs.py OUT_DIR [--steps 50] [--seed 3]

OUT_DIR gets manifest.jsonl, vocab.txt, outputs.json, posteriors.npz (np.savez_compressed of
log_softmax outputs [T', C] per sample) and expected.json (greedy hypotheses, S/D/I and WER,
counted by the twin's ctc_lab.metrics: the lab's tie rules).
The model (two 1-D convolutions, the first with stride 2, and a linear head) is trained for a
few steps on seeded synthetic data so that its WER is neither 0 nor 100%. Debian's python3-torch
(1.13) and numpy.
"""

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))  # the twin's ctc_lab, not installed
from ctc_lab.metrics import edit_counts, greedy_decode  # noqa: E402  (the lab's tie rules, as the twin has them)

TOKENS = ["one", "two", "three", "four", "five", "six"]
FEAT = 8


def make_data(rng, templates, n):
    """Samples: each token its template vector held for 3-6 frames with noise, silence between."""
    samples = []
    for i in range(n):
        ids = [int(rng.integers(1, len(TOKENS) + 1)) for _ in range(int(rng.integers(1, 5)))]
        frames = [np.zeros((int(rng.integers(1, 4)), FEAT), np.float32)]
        for c in ids:
            frames.append(np.repeat(templates[c - 1][None], int(rng.integers(3, 7)), 0))
            frames.append(np.zeros((int(rng.integers(1, 4)), FEAT), np.float32))
        x = np.concatenate(frames) + rng.standard_normal((sum(len(f) for f in frames), FEAT)).astype(np.float32) * 0.8
        samples.append({"id": f"utt{i:03d}", "ids": ids, "x": x})
    return samples


class Tiny(nn.Module):
    subsampling = 2

    def __init__(self, classes):
        super().__init__()
        self.conv1 = nn.Conv1d(FEAT, 32, 3, stride=2, padding=1)
        self.conv2 = nn.Conv1d(32, 32, 3, padding=1)
        self.head = nn.Linear(32, classes)

    def forward(self, x):  # x: [B, T, F] → logits [B, T', C], T' = ceil(T / 2)
        h = F.relu(self.conv1(x.transpose(1, 2)))
        h = F.relu(self.conv2(h))
        return self.head(h.transpose(1, 2))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--seed", type=int, default=3)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(1)
    rng = np.random.default_rng(a.seed)
    templates = rng.standard_normal((len(TOKENS), FEAT)).astype(np.float32) * 2
    train, test = make_data(rng, templates, 64), make_data(rng, templates, 24)
    model = Tiny(len(TOKENS) + 1)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for step in range(a.steps):
        batch = [train[(step * 8 + k) % len(train)] for k in range(8)]
        T = max(len(s["x"]) for s in batch)
        x = torch.zeros(len(batch), T, FEAT)
        for k, s in enumerate(batch):
            x[k, : len(s["x"])] = torch.from_numpy(s["x"])
        lens = torch.tensor([(len(s["x"]) + 1) // 2 for s in batch])
        lp = model(x).log_softmax(-1).transpose(0, 1)  # [T', B, C]
        targets = torch.tensor([c for s in batch for c in s["ids"]])
        loss = F.ctc_loss(lp, targets, lens, torch.tensor([len(s["ids"]) for s in batch]), zero_infinity=True)
        opt.zero_grad()
        loss.backward()
        opt.step()

    # The five lines of the README: log_softmax outputs per sample into np.savez_compressed.
    model.eval()
    out = {}
    with torch.no_grad():
        for s in test:
            out[s["id"]] = model(torch.from_numpy(s["x"])[None]).log_softmax(-1)[0].numpy()  # [T', C]
    os.makedirs(a.out, exist_ok=True)
    np.savez_compressed(os.path.join(a.out, "posteriors.npz"), **out)

    with open(os.path.join(a.out, "manifest.jsonl"), "w") as f:
        for k, s in enumerate(test):
            f.write(json.dumps({"id": s["id"], "text": " ".join(TOKENS[c - 1] for c in s["ids"]), "split": "val" if k % 2 else "test", "frames": len(s["x"])}) + "\n")
    with open(os.path.join(a.out, "vocab.txt"), "w") as f:
        f.write("\n".join(TOKENS) + "\n")  # no <blank> line: the blank is class 0
    with open(os.path.join(a.out, "outputs.json"), "w") as f:
        json.dump({"kind": "log_probs", "blank": 0, "subsampling": Tiny.subsampling, "frame_shift_ms": 10, "model": f"tools/write_model_outputs.py Tiny, {a.steps} Adam steps, seed {a.seed}, torch {torch.__version__}"}, f)

    hyps, S, D, I, N = {}, 0, 0, 0, 0
    for s in test:
        h = greedy_decode(out[s["id"]].argmax(-1).tolist())
        hyps[s["id"]] = " ".join(TOKENS[c - 1] for c in h)
        s_, d_, i_ = edit_counts(s["ids"], h)
        S, D, I, N = S + s_, D + d_, I + i_, N + len(s["ids"])
    with open(os.path.join(a.out, "expected.json"), "w") as f:
        json.dump({"wer": (S + D + I) / N, "S": S, "D": D, "I": I, "N": N, "hyps": hyps, "torch": torch.__version__}, f, indent=1)
    print(f"{a.out}: {len(test)} samples, WER {(S + D + I) / N:.4f} (S {S}, D {D}, I {I}, N {N})")


if __name__ == "__main__":
    main()
