"""Command line: `python -m ctc_lab outputs|train|lr-find|sweep …` (also under torchrun), installed as the
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
    lf = sub.add_parser("lr-find", help="the learning-rate range test (lab's Find learning rate): ramp 1e-7 → 1, suggest the steepest descent outside the blank plateau")
    from .lr_find import add_lr_find_flags

    add_lr_find_flags(lf)
    sw = sub.add_parser("sweep", help="run a lab sweep spec with Optuna (successive halving on val WER); --storage shares a study between workers")
    from .sweep import add_sweep_flags

    add_sweep_flags(sw)
    lm = sub.add_parser("lm", help="build an interpolated modified Kneser-Ney n-gram LM (ARPA) from a dataset's transcripts")
    lm.add_argument("data", metavar="DATA", help="dataset folder or .zip")
    lm.add_argument("-o", "--output", required=True, metavar="LM.arpa")
    lm.add_argument("--order", type=int, default=3, choices=(2, 3, 4))
    lm.add_argument("--split", default="train", help="the transcripts of this split (default train)")
    d = sub.add_parser("decode", help="prefix beam search with an n-gram LM over model outputs or a checkpoint; a .tsv of hypotheses and WER")
    from .decode import add_decode_flags

    add_decode_flags(d)
    args = p.parse_args(argv)
    try:
        if args.command == "lr-find":
            from .lr_find import run_lr_find

            return run_lr_find(args)
        if args.command == "sweep":
            from .sweep import run_sweep

            return run_sweep(args)
        if args.command == "outputs":
            from .outputs import write_outputs

            return write_outputs(args.checkpoint, args.data, args.output, args.split, args.device)
        if args.command == "lm":
            from .lm import build_lm_command

            return build_lm_command(args.data, args.output, args.order, args.split)
        if args.command == "decode":
            from .decode import decode_command

            return decode_command(args)
        from .train import run_training

        return run_training(args)
    except CtcLabError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
