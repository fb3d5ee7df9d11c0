"""The lab's dataset format (docs/ARCHITECTURE.md "Dataset format") in Python: a folder or .zip with
manifest.jsonl / manifest.tsv, one .npy per sample or .npz archives of "<id>.npy" members,
optional vocab.txt. Rules as the lab's importer (src/data/import.ts, prepare.ts):

- rows without a split get the lab's seeded 90/10 train/val split (mulberry32, seed 1234, the
  same shuffle: the same samples land in val as in the browser);
- samples with NaN/Inf features are left out (the lab's import report leaves them out too);
- vocabulary: vocab.txt, else the sorted set of training tokens (sorted by UTF-16 code units,
  as JavaScript sorts); class 0 is the blank, token i is class i + 1;
- normalisation per dimension (x − mean) / std over the training frames (float64, Chan's merge
  of per-sample statistics); a dimension with std ≤ 1e-8 is centred, not scaled.

Bad input raises CtcLabError naming the file, line or sample and what is wrong. The parts live
beside it as in src/data/: files.py (folder or .zip), npy.py, manifest.py, prepare.py (splits,
vocabulary order, statistics), norm.py, batch.py (make_batch), loader.py (bucketed batches).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .errors import CtcLabError
from .files import Files, find_manifest, normalise_path
from .manifest import parse_manifest, parse_vocab
from .npy import check_features, read_features
from .prepare import SPLIT_SEED, FeatureStats, assign_splits, js_sorted


@dataclass
class Sample:
    index: int  # position among the kept samples (the lab's dataset index)
    id: str
    text: str
    split: str
    frames: int
    where: str  # file (or archive:member) its features come from


@dataclass
class Dataset:
    """A dataset as the lab stores it: kept samples in manifest order, splits, vocabulary, norm."""

    root: str
    samples: list[Sample]
    feature_dim: int
    vocab: list[str]
    vocab_file: str | None
    norm: dict  # {"mean": [F], "std": [F]} over the training split
    left_out: list[tuple[str, str]] = field(default_factory=list)  # (id, why): NaN/Inf samples
    loaders: list[Callable[..., np.ndarray]] = field(default_factory=list, repr=False)

    def load(self, index: int) -> np.ndarray:
        """Raw (not normalised) features [T, F] float32 of sample `index`."""
        return self.loaders[index]()

    def split(self, name: str) -> list[Sample]:
        return [s for s in self.samples if s.split == name]


def open_dataset(root: str, split_seed: int = SPLIT_SEED, progress: Callable[[int, int], None] | None = None, require_train: bool = True) -> Dataset:
    """Reads and checks everything once (one pass over the features: dims, NaN/Inf, statistics).
    require_train=False (model outputs of a test set): no training split needed; the vocabulary is
    then vocab.txt's, or empty when there is none (the checkpoint brings its own)."""
    files = Files(root)
    mpath = find_manifest(files, root)
    rows = parse_manifest(files.read(mpath).decode("utf-8"), files.where(mpath))
    base = posixpath.dirname(mpath)
    npz_members = files.npz_members()  # .npz archives: members "<id>.npy"

    vocab_path = files.find(posixpath.join(base, "vocab.txt"))
    vocab_file = files.where(vocab_path) if vocab_path else None
    file_vocab = parse_vocab(files.read(vocab_path).decode("utf-8"), vocab_file) if vocab_path else None

    # Resolve every row before reading any: a missing file fails at once.
    loaders = []
    for row in rows:
        if row.features:
            path = files.find(normalise_path(posixpath.join(base, row.features)))
            if path is None:
                raise CtcLabError(f"{files.where(mpath)}, line {row.line}: sample '{row.id}': features file '{row.features}' was not found in {root}")
            loaders.append((files.where(path), lambda path=path: read_features(files.read(path), files.where(path))))
        else:
            if row.id not in npz_members:
                raise CtcLabError(f"{files.where(mpath)}, line {row.line}: sample '{row.id}': no 'features' path and no '{row.id}.npy' in any .npz")
            where, archive = npz_members[row.id]
            loaders.append((f"{where}:{row.id}.npy", lambda archive=archive, key=row.id, w=f"{where}:{row.id}.npy": check_features(archive[key], w)))

    splits = assign_splits([r.split for r in rows], split_seed)
    samples: list[Sample] = []
    kept_loaders = []
    left_out = []
    dim, dim_from = None, ""
    stats = None
    for i, (row, (where, load)) in enumerate(zip(rows, loaders)):
        x = load()
        if dim is None:
            dim, dim_from = x.shape[1], where
            stats = FeatureStats(dim)
        elif x.shape[1] != dim:
            raise CtcLabError(f"{where}, sample '{row.id}': has {x.shape[1]} features per frame, but {dim_from} has {dim}")
        if not np.isfinite(x).all():
            left_out.append((row.id, f"NaN/Inf features ({where})"))
            continue
        if splits[i] == "train":
            stats.add(x)
        samples.append(Sample(len(samples), row.id, row.text, splits[i], x.shape[0], where))
        kept_loaders.append(load)
        if progress:
            progress(i + 1, len(rows))
    if not samples:
        raise CtcLabError(f"{root}: every sample has NaN/Inf features (first: {left_out[0][1]})")
    train = [s for s in samples if s.split == "train"]
    if not train and not require_train:
        return Dataset(root, samples, dim, file_vocab or [], vocab_file, {"mean": [], "std": []}, left_out, kept_loaders)
    if not train:
        raise CtcLabError(f"{root}: no training samples (every sample is in val or test)")
    if file_vocab is not None:
        vocab = file_vocab
        vs = set(vocab)
        for s in train:
            bad = next((t for t in s.text.split(" ") if t not in vs), None)
            if bad is not None:
                raise CtcLabError(f"{vocab_file}: token '{bad}' of training sample '{s.id}' is not in the vocabulary")
    else:
        vocab = js_sorted({t for s in train for t in s.text.split(" ")})
    return Dataset(root, samples, dim, vocab, vocab_file, {"mean": stats.mean.tolist(), "std": stats.std().tolist()}, left_out, kept_loaders)
