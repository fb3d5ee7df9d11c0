"""Command line: `python -m ctc_lab outputs|train …` (also under torchrun)."""

from __future__ import annotations

import argparse
import sys

from .errors import CtcLabError


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ctc_lab", description="CTC Lab's models, checkpoints and datasets in PyTorch.")
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
