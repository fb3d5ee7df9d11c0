"""The lab's dataset format (README "Dataset format") in Python: a folder or .zip with
manifest.jsonl / manifest.tsv, one .npy per sample or .npz archives of "<id>.npy" members,
optional vocab.txt. Rules as the lab's importer (src/data/import.ts, prepare.ts):

- rows without a split get the lab's seeded 90/10 train/val split (mulberry32, seed 1234, the
  same shuffle: the same samples land in val as in the browser);
- samples with NaN/Inf features are left out (the lab's import report leaves them out too);
- vocabulary: vocab.txt, else the sorted set of training tokens (sorted by UTF-16 code units,
  as JavaScript sorts); class 0 is the blank, token i is class i + 1;
- normalisation per dimension (x − mean) / std over the training frames (float64, Chan's merge
  of per-sample statistics); a dimension with std ≤ 1e-8 is centred, not scaled.

Bad input raises CtcLabError naming the file, line or sample and what is wrong.
"""

from __future__ import annotations

import io
import os
import posixpath
import zipfile
from dataclasses import dataclass, field

import numpy as np
import torch

from .errors import CtcLabError
from .manifest import parse_manifest, parse_vocab
from .rng import Rng

SPLIT_SEED = 1234  # the lab's streamImport default
MIN_STD = 1e-8


def assign_splits(splits: list[str | None], seed: int = SPLIT_SEED) -> list[str]:
    """The lab's assignSplits: rows without a split, shuffled with the seed; the first 10% (≥ 1 when
    there are ≥ 2) go to val, the rest to train."""
    missing = [i for i, s in enumerate(splits) if not s]
    Rng(seed).shuffle(missing)
    n_val = max(1, round_half_up(len(missing) * 0.1)) if len(missing) >= 2 else 0
    out = list(splits)
    for k, i in enumerate(missing):
        out[i] = "val" if k < n_val else "train"
    return out  # type: ignore[return-value]


def round_half_up(x: float) -> int:
    """JavaScript's Math.round (halves go up; Python's round goes to even)."""
    return int(np.floor(x + 0.5))


def js_sorted(tokens) -> list[str]:
    """Sorted by UTF-16 code units, as Array.prototype.sort compares strings."""
    return sorted(tokens, key=lambda s: s.encode("utf-16-be"))


# ---------------------------------------------------------------- files: a folder or a .zip


class _Files:
    """Relative paths (normalised, '/') → bytes, over a folder or a .zip archive."""

    def __init__(self, root: str):
        self.root = root
        if os.path.isdir(root):
            self.zip = None
            self.paths = []
            for d, _, names in os.walk(root):
                for n in names:
                    self.paths.append(_normalise(os.path.relpath(os.path.join(d, n), root).replace(os.sep, "/")))
        elif zipfile.is_zipfile(root):
            self.zip = zipfile.ZipFile(root)
            self.paths = [_normalise(i.filename) for i in self.zip.infolist() if not i.is_dir() and not i.filename.startswith("__MACOSX/")]
            self._names = {_normalise(i.filename): i.filename for i in self.zip.infolist()}
        else:
            raise CtcLabError(f"{root}: not a dataset folder or .zip archive")
        self.paths.sort()

    def where(self, path: str) -> str:
        return f"{self.root}:{path}" if self.zip else os.path.join(self.root, path)

    def read(self, path: str) -> bytes:
        if self.zip:
            return self.zip.read(self._names[path])
        with open(os.path.join(self.root, path), "rb") as f:
            return f.read()

    def open_npz(self, path: str):
        src = io.BytesIO(self.read(path)) if self.zip else os.path.join(self.root, path)
        try:
            return np.load(src, allow_pickle=False)
        except Exception as e:
            raise CtcLabError(f"{self.where(path)}: not a readable .npz archive ({e})") from None


def _normalise(path: str) -> str:
    out: list[str] = []
    for part in path.replace("\\", "/").split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if out:
                out.pop()
        else:
            out.append(part)
    return "/".join(out)


def check_features(a: np.ndarray, where: str) -> np.ndarray:
    """[T, F] float32 from an array as stored ([T, a, b, …] flattened); refused as the lab refuses."""
    if a.dtype.kind != "f" or a.dtype.itemsize not in (2, 4, 8):
        raise CtcLabError(f"{where}: dtype '{a.dtype.str}': only float16, float32 or float64 features are supported")
    if a.ndim < 2:
        raise CtcLabError(f"{where}: shape {tuple(a.shape)} must be [frames, features, ...]; got {a.ndim}-D")
    if a.shape[0] == 0:
        raise CtcLabError(f"{where}: has 0 frames")
    dim = int(np.prod(a.shape[1:]))
    if dim == 0:
        raise CtcLabError(f"{where}: has 0 features per frame")
    return np.ascontiguousarray(a.reshape(a.shape[0], dim), dtype=np.float32)


# ---------------------------------------------------------------- the dataset


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
    _loaders: list = field(default_factory=list, repr=False)

    def load(self, index: int) -> np.ndarray:
        """Raw (not normalised) features [T, F] float32 of sample `index`."""
        return self._loaders[index]()

    def split(self, name: str) -> list[Sample]:
        return [s for s in self.samples if s.split == name]


def open_dataset(root: str, split_seed: int = SPLIT_SEED, progress=None, require_train: bool = True) -> Dataset:
    """Reads and checks everything once (one pass over the features: dims, NaN/Inf, statistics).
    require_train=False (model outputs of a test set): no training split needed; the vocabulary is
    then vocab.txt's, or empty when there is none (the checkpoint brings its own)."""
    files = _Files(root)
    mpath = find_manifest(files, root)
    rows = parse_manifest(files.read(mpath).decode("utf-8"), files.where(mpath))
    base = posixpath.dirname(mpath)
    by_base: dict[str, list[str]] = {}
    for p in files.paths:
        by_base.setdefault(posixpath.basename(p), []).append(p)
    known = set(files.paths)

    # .npz archives: members "<id>.npy".
    npz_members: dict[str, tuple[str, object]] = {}
    for p in (p for p in files.paths if p.lower().endswith(".npz")):
        archive = files.open_npz(p)
        for key in archive.files:
            if key in npz_members:
                raise CtcLabError(f"{files.where(p)}: member '{key}.npy' also appears in {npz_members[key][0]}")
            npz_members[key] = (files.where(p), archive)

    vocab_path = posixpath.join(base, "vocab.txt") if posixpath.join(base, "vocab.txt") in known else (by_base["vocab.txt"][0] if len(by_base.get("vocab.txt", [])) == 1 else None)
    vocab_file = files.where(vocab_path) if vocab_path else None
    file_vocab = parse_vocab(files.read(vocab_path).decode("utf-8"), vocab_file) if vocab_path else None

    # Resolve every row before reading any: a missing file fails at once.
    loaders = []
    for row in rows:
        if row.features:
            want = _normalise(posixpath.join(base, row.features))
            path = want if want in known else (by_base[posixpath.basename(want)][0] if len(by_base.get(posixpath.basename(want), [])) == 1 else None)
            if path is None:
                raise CtcLabError(f"{files.where(mpath)}, line {row.line}: sample '{row.id}': features file '{row.features}' was not found in {root}")
            loaders.append((files.where(path), lambda path=path: _load_npy(files.read(path), files.where(path))))
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
            stats = _Stats(dim)
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


def read_npy(data: bytes, where: str) -> np.ndarray:
    """One .npy file's array (no pickles); refusals name the file."""
    try:
        a = np.load(io.BytesIO(data), allow_pickle=False)
    except Exception as e:
        raise CtcLabError(f"{where}: not a readable .npy file ({e})") from None
    if isinstance(a, np.lib.npyio.NpzFile):
        raise CtcLabError(f"{where}: is an .npz archive, expected a .npy file")
    return a


def _load_npy(data: bytes, where: str) -> np.ndarray:
    return check_features(read_npy(data, where), where)


def find_manifest(files: _Files, root: str, what: str = "") -> str:
    """The one manifest.jsonl / manifest.tsv of a folder or .zip (`what` names the format in the
    refusal when there is none)."""
    manifests = [p for p in files.paths if posixpath.basename(p).lower() in ("manifest.jsonl", "manifest.tsv")]
    if not manifests:
        raise CtcLabError(f"{root}: no manifest.jsonl or manifest.tsv among the {len(files.paths)} files{what}")
    if len(manifests) > 1:
        raise CtcLabError(f"{root}: more than one manifest: {', '.join(manifests)}")
    return manifests[0]


class _Stats:
    """Per-dimension mean / population std, merged one sample at a time (Chan et al.), float64."""

    def __init__(self, dim: int):
        self.n = 0
        self.mean = np.zeros(dim)
        self.m2 = np.zeros(dim)

    def add(self, x: np.ndarray) -> None:
        x = x.astype(np.float64)
        k = x.shape[0]
        sm = x.mean(0)
        sq = ((x - sm) ** 2).sum(0)
        n = self.n + k
        delta = sm - self.mean
        self.mean = self.mean + delta * k / n
        self.m2 = self.m2 + sq + delta * delta * self.n * k / n
        self.n = n

    def std(self) -> np.ndarray:
        return np.sqrt(self.m2 / max(self.n, 1))


# ---------------------------------------------------------------- batches


def token_index(vocab: list[str]) -> dict[str, int]:
    return {t: i + 1 for i, t in enumerate(vocab)}


def inverse_scales(std) -> np.ndarray:
    std = np.asarray(std, dtype=np.float64)
    return np.where(std > MIN_STD, 1 / np.where(std > MIN_STD, std, 1), 1.0)


@dataclass
class Batch:
    x: torch.Tensor  # [B, T, F] normalised, zero past each sample's end
    lengths: torch.Tensor  # [B] int64 input frames
    labels: torch.Tensor  # [B, L] int64 class ids, zero-padded (L ≥ 1)
    label_lengths: torch.Tensor  # [B] int64
    ids: list[str]
    texts: list[str]


def make_batch(ds: Dataset, samples: list[Sample], norm: dict, index: dict[str, int] | None) -> Batch:
    """The lab's makeBatch: features normalised with `norm` (float32 arithmetic, as the lab), padded.
    index None: no labels (model outputs of transcripts the vocabulary may not cover)."""
    mean = np.asarray(norm["mean"], dtype=np.float64)
    inv = inverse_scales(norm["std"])
    T = max(s.frames for s in samples)
    seqs = []
    for s in samples:
        ids = []
        for tok in s.text.split(" ") if index is not None else []:
            if tok not in index:
                raise CtcLabError(f"sample '{s.id}': token '{tok}' is not in the vocabulary")
            ids.append(index[tok])
        seqs.append(ids)
    L = max(1, max(len(q) for q in seqs))
    x = np.zeros((len(samples), T, ds.feature_dim), dtype=np.float32)
    labels = np.zeros((len(samples), L), dtype=np.int64)
    for b, s in enumerate(samples):
        # (float32 x − float64 mean) · float64 scale, rounded to float32: the lab's arithmetic.
        x[b, : s.frames] = ((ds.load(s.index).astype(np.float64) - mean) * inv).astype(np.float32)
        labels[b, : len(seqs[b])] = seqs[b]
    return Batch(
        torch.from_numpy(x), torch.tensor([s.frames for s in samples]), torch.from_numpy(labels),
        torch.tensor([len(q) for q in seqs]), [s.id for s in samples], [s.text for s in samples],
    )


def bucketed_batches(frames: list[int], batch_size: int, seed: int, pool_batches: int = 50) -> list[list[int]]:
    """The lab's bucketedBatches: seeded shuffle, pools of `pool_batches` batches sorted by length,
    chunked into batches, batch order shuffled. Same seed → the same batches in the same order."""
    rng = Rng(seed)
    idx = rng.shuffle(list(range(len(frames))))
    batches = []
    pool = batch_size * pool_batches
    for p in range(0, len(idx), pool):
        chunk = sorted(idx[p : p + pool], key=lambda i: (frames[i], i))
        batches += [chunk[b : b + batch_size] for b in range(0, len(chunk), batch_size)]
    return rng.shuffle(batches)


def padding_efficiency(frames: list[int], batches: list[list[int]]) -> float:
    real = sum(frames[i] for b in batches for i in b)
    padded = sum(max(frames[i] for i in b) * len(b) for b in batches if b)
    return real / padded if padded else 1.0


def shard_steps(batches: list, per_step: int, rank: int, world: int) -> list[list]:
    """DistributedSampler-like split of one epoch's batches: each optimizer step takes the next
    per_step · world micro-batches; rank r gets the r-th run of per_step of them (the last step may
    leave a rank with fewer, or none). One entry per step, the same count on every rank."""
    group = per_step * world
    return [batches[i + rank * per_step : i + (rank + 1) * per_step] for i in range(0, len(batches), group)]
