"""Package conventions: no private (`_name`) name of one ctc_lab module is imported by another, and
every public function of the API says its types (load_checkpoint, build_model, the presets'
forward, the readers, the command line's entry points)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import ctc_lab
from ctc_lab.__main__ import main
from ctc_lab.data import open_dataset
from ctc_lab.model_base import LabModel
from ctc_lab.models import PRESETS, build_model
from ctc_lab.output_set import read_output_set
from ctc_lab.outputs import write_outputs
from ctc_lab.train import add_train_flags, run_training

PACKAGE = Path(ctc_lab.__file__).parent


def test_no_private_name_is_imported_across_modules():
    found = []
    for f in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level > 0:
                found += [f"{f.name}:{node.lineno} {a.name}" for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
    assert found == []


def test_the_public_api_is_typed():
    api = [ctc_lab.load_checkpoint, ctc_lab.read_checkpoint, ctc_lab.write_checkpoint, build_model, open_dataset, read_output_set, main, run_training, add_train_flags, write_outputs]
    api += [getattr(cls, name) for cls in (LabModel, *PRESETS.values()) for name in ("__init__", "forward") if name in vars(cls)]
    untyped = []
    for fn in api:
        sig = inspect.signature(fn)
        params = [p for p in sig.parameters.values() if p.name not in ("self", "cls")]
        if sig.return_annotation is inspect.Signature.empty or any(p.annotation is inspect.Parameter.empty for p in params):
            untyped.append(fn.__qualname__)
    assert untyped == []
