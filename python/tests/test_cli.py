"""The package's command line: the `ctc-lab` console script pyproject.toml declares is the function
`python -m ctc_lab` runs, and both print the one version (ctc_lab.__version__, which pyproject.toml
reads too). No install needed: pyproject.toml is read as text."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import ctc_lab
import ctc_lab.__main__ as cli

PYTHON_DIR = Path(__file__).resolve().parents[1]
tomllib = pytest.importorskip("tomllib")  # Python ≥ 3.11


def pyproject() -> dict:
    return tomllib.loads((PYTHON_DIR / "pyproject.toml").read_text())


def test_the_console_script_is_what_python_m_ctc_lab_runs():
    target = pyproject()["project"]["scripts"]["ctc-lab"]
    module, _, name = target.partition(":")
    assert getattr(importlib.import_module(module), name) is cli.main
    # `python -m ctc_lab` runs __main__.py, whose entry is that function.
    assert (PYTHON_DIR / "ctc_lab" / "__main__.py").read_text().rstrip().endswith("sys.exit(main())")


def test_the_version_is_written_once():
    p = pyproject()
    assert "version" not in p["project"] and "version" in p["project"]["dynamic"]
    assert p["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "ctc_lab.__version__"}
    assert "py.typed" in p["tool"]["setuptools"]["package-data"]["ctc_lab"] and (PYTHON_DIR / "ctc_lab" / "py.typed").exists()


def test_version_flag_prints_the_one_version(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.split() == ["python", "-m", "ctc_lab", ctc_lab.__version__]
    r = subprocess.run([sys.executable, "-m", "ctc_lab", "--version"], cwd=PYTHON_DIR, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.split()[-1] == ctc_lab.__version__, r.stderr
