"""ctc_lab: the PyTorch twin of CTC Lab's models, checkpoint and dataset formats.

    from ctc_lab import load_checkpoint
    model, meta = load_checkpoint("run-best.safetensors")   # eval mode
    logits, out_lengths = model(x, lengths)                 # x [B, T, F] normalised, logits [B, T', V+1]

`python -m ctc_lab outputs|train …` runs the lab's model-outputs export and training (torchrun / DDP).
"""

from .checkpoint import load_checkpoint, read_checkpoint, write_checkpoint
from .errors import CtcLabError
from .models import PRESETS, build_model

__all__ = ["load_checkpoint", "read_checkpoint", "write_checkpoint", "build_model", "PRESETS", "CtcLabError"]
__version__ = "0.1.0"
