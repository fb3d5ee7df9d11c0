"""ctc_lab: the PyTorch twin of CTC Lab's models, checkpoint and dataset formats.

    from ctc_lab import load_checkpoint
    model, meta = load_checkpoint("run-best.safetensors")   # eval mode
    logits, out_frames = model(x, lengths)                  # x [B, T, F] normalised, logits [B, T', V+1]

`python -m ctc_lab outputs|train …` (or the `ctc-lab` console script) runs the lab's model-outputs
export and training (torchrun / DDP).
"""

__version__ = "0.1.0"  # the one place: pyproject.toml and `--version` read it

from .checkpoint import load_checkpoint, read_checkpoint, write_checkpoint
from .errors import CtcLabError
from .models import PRESETS, build_model

__all__ = ["load_checkpoint", "read_checkpoint", "write_checkpoint", "build_model", "PRESETS", "CtcLabError", "__version__"]
