#!/usr/bin/env python3
"""One line per twin run folder (python -m ctc_lab train … -o DIR): its last epoch's val WER with
train / val loss, and its best val WER, the epoch and the losses there (read from DIR/last.safetensors's
history), and, when DIR/averaged.safetensors exists, what it averages and its val WER. For BENCHMARKS.md.

    /usr/bin/python3 tools/run_summary.py /tmp/cure/w2v-plain /tmp/cure/w2v-gen
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "python"))

from ctc_lab.checkpoint import read_checkpoint  # noqa: E402


def summary(d: str) -> str:
    meta, _ = read_checkpoint(os.path.join(d, "last.safetensors"))
    h = [x for x in meta["history"] if x.get("valWer") is not None]
    if not h:
        return f"{d}: no evaluated epoch"
    b, last = min(h, key=lambda x: (x["valWer"], x["epoch"])), h[-1]
    line = (f"{d}: {last['epoch']} epochs, last val WER {last['valWer'] * 100:.1f}% (train loss {last['trainLoss']:.3f} / val loss {last['valLoss']:.3f}); "
            f"best {b['valWer'] * 100:.1f}% at epoch {b['epoch']} (train loss {b['trainLoss']:.3f} / val loss {b['valLoss']:.3f})")
    avg = os.path.join(d, "averaged.safetensors")
    if os.path.exists(avg):
        a = read_checkpoint(avg)[0]["averaged"]
        line += f"; averaged epochs {a['epochs']}: val WER {a['valWer'] * 100:.1f}%"
    return line


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for d in sys.argv[1:]:
        print(summary(d))
