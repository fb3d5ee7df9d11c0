"""tools/make_spoken_dataset.py: a tiny espeak-ng dataset in the lab's format, read back with the
twin's reader; the manifest, feature shapes, the voice split (no val/test voice, nor variant, in
train) and determinism (the same seed gives byte-identical features). Skipped without espeak-ng
(CI machines do not install it)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "make_spoken_dataset.py"

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (apt-get install espeak-ng); tools/make_spoken_dataset.py needs it")


def generate(out: Path, *args: str) -> Path:
    r = subprocess.run([sys.executable, str(SCRIPT), "--train", "6", "--val", "2", "--test", "2", "-o", str(out), *args], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture(scope="module")
def digits(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("spoken") / "digits", "--kind", "digits", "--seed", "5")


def rows_of(root: Path) -> list[dict]:
    return [json.loads(line) for line in (root / "manifest.jsonl").read_text().splitlines()]


def test_manifest_and_features(digits):
    rows = rows_of(digits)
    assert [r["split"] for r in rows] == ["train"] * 6 + ["val"] * 2 + ["test"] * 2
    assert len({r["id"] for r in rows}) == 10
    vocab = (digits / "vocab.txt").read_text().split()
    assert sorted(vocab) == vocab and set(vocab) == {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "oh"}
    for r in rows:
        words = r["text"].split(" ")
        assert 1 <= len(words) <= 7 and set(words) <= set(vocab)
        x = np.load(digits / r["features"])
        assert x.dtype == np.float32 and x.ndim == 2 and x.shape[1] == 40
        assert x.shape[0] >= 20 and np.isfinite(x).all()  # ≥ 0.2 s at 10 ms frames
    assert sorted(p.name for p in (digits / "feats").iterdir()) == sorted(Path(r["features"]).name for r in rows)


def test_twin_reads_it(digits):
    from ctc_lab.data import open_dataset

    ds = open_dataset(str(digits))
    assert [s.split for s in ds.samples].count("train") == 6 and len(ds.samples) == 10 and not ds.left_out
    assert len(ds.vocab) == 11 and ds.load(0).shape[1] == 40


def test_voice_split(digits):
    info = json.loads((digits / "voices.json").read_text())
    voices, variants = info["voices"], info["variants"]
    for held_out in ("val", "test"):
        assert not set(voices[held_out]) & set(voices["train"])
        assert not set(variants[held_out]) & set(variants["train"])
    assert not set(variants["val"]) & set(variants["test"])
    for r in rows_of(digits):
        assert r["voice"] in voices[r["split"]]
        assert r["voice"].split("+")[1] in variants[r["split"]]
    assert info["settings"]["seed"] == 5 and info["settings"]["counts"] == {"train": 6, "val": 2, "test": 2}


def test_deterministic(digits, tmp_path):
    again = generate(tmp_path / "again", "--kind", "digits", "--seed", "5", "--jobs", "1")
    for name in ("manifest.jsonl", "vocab.txt", "voices.json"):
        assert (again / name).read_text() == (digits / name).read_text()
    for r in rows_of(digits):
        assert (again / r["features"]).read_bytes() == (digits / r["features"]).read_bytes()
    other = generate(tmp_path / "other", "--kind", "digits", "--seed", "6")
    assert rows_of(other) != rows_of(digits)


def test_words_80_mels_with_noise(tmp_path):
    root = generate(tmp_path / "words", "--kind", "words", "--mels", "80", "--snr", "10:20")
    vocab = set((root / "vocab.txt").read_text().split())
    assert 30 <= len(vocab) <= 60
    for r in rows_of(root):
        assert 2 <= len(r["text"].split(" ")) <= 6 and set(r["text"].split(" ")) <= vocab
        assert 10 <= r["snr_db"] <= 20
        assert np.load(root / r["features"]).shape[1] == 80


def test_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    r = subprocess.run([sys.executable, str(SCRIPT), "--train", "1", "--val", "0", "--test", "0", "-o", str(tmp_path / "x")], capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "not empty" in r.stderr
    assert (tmp_path / "x" / "keep.txt").read_text() == "mine"


def test_few_training_voices(tmp_path):
    root = generate(tmp_path / "few", "--kind", "words", "--train-variants", "f1,m1", "--train-accents", "2")
    info = json.loads((root / "voices.json").read_text())
    assert info["variants"]["train"] == ["m1", "f1"] and info["settings"]["train_accents"] == ["en-gb", "en-us"]
    assert sorted(info["voices"]["train"]) == sorted(f"{a}+{v}" for a in ("en-gb", "en-us") for v in ("m1", "f1"))
    assert len(info["voices"]["val"]) == 48  # the held-out splits keep all their voices
    for r in rows_of(root):
        assert r["voice"] in info["voices"][r["split"]]
    r = subprocess.run([sys.executable, str(SCRIPT), "--train-variants", "m6", "-o", str(tmp_path / "bad")], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "--train-variants: m6 not among" in r.stderr  # a val variant is refused
