"""Command line: `python -m ctc_lab outputs|train …` (also under torchrun), installed as the
`ctc-lab` console script (pyproject.toml [project.scripts] names this `main`)."""

from __future__ import annotations

import argparse
import os
import sys

from . import __version__
from .errors import CtcLabError


def main(argv: list[str] | None = None) -> int:
    """Runs one command; the exit status (0, or 2 after a refusal printed as `error: …`)."""
    prog = "ctc-lab" if os.path.basename(sys.argv[0]) == "ctc-lab" else "python -m ctc_lab"
    p = argparse.ArgumentParser(prog=prog, description="CTC Lab's models, checkpoints and datasets in PyTorch.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    o = sub.add_parser("outputs", help="write a checkpoint's log-probs in the lab's model-outputs format (.zip)")
    o.add_argument("checkpoint", metavar="CKPT")
    o.add_argument("data", metavar="DATA", help="dataset folder or .zip (the lab's dataset format)")
    o.add_argument("-o", "--output", required=True, metavar="OUT.zip")
    o.add_argument("--split", choices=("train", "val", "test"), help="only this split (default: every sample)")
    o.add_argument("--device", default="cpu")
    t = sub.add_parser("train", help="continue a lab run (or start one with --preset); works under torchrun")
    from .train import add_train_flags

    add_train_flags(t)
    args = p.parse_args(argv)
    try:
        if args.command == "outputs":
            from .outputs import write_outputs

            return write_outputs(args.checkpoint, args.data, args.output, args.split, args.device)
        from .train import run_training

        return run_training(args)
    except CtcLabError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
