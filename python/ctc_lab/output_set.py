"""Reads the lab's model-outputs format (docs/ARCHITECTURE.md "Model outputs format"; what Import model outputs
reads and Export model outputs / `python -m ctc_lab outputs` write): a folder or .zip holding

  manifest.jsonl | manifest.tsv   id, text (reference), optional split, frames (input frames), posteriors (a .npy path)
  vocab.txt                       classes in order; a '<blank>' line marks the blank, else the blank is
                                  class `blank` (outputs.json, default 0) and the lines fill the others
  posteriors.npz | <path>.npy     per sample [T', C] float16/32/64
  outputs.json                    optional {"kind", "blank", "subsampling", "frame_shift_ms", "model"}

as src/data/outputs_manifest.ts and outputs_import.ts do: every refusal names the file and the line
or sample. Each sample's rows are told apart as the lab's importer tells them (every finite row's
logsumexp ≈ 0: log-probs; non-negative rows summing to 1: probabilities; else logits) and turned
into float32 log-probabilities the same way (float64 per row). Arrays are scanned once (shape,
NaN/+Inf, kind) and read again when asked for, so memory holds a batch, not the set.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .errors import CtcLabError
from .files import Files, find_manifest, normalise_path
from .manifest import check_sample_fields, json_object, manifest_rows, parse_vocab
from .npy import read_npy

BLANK_TOKEN = "<blank>"
KNOWN_KEYS = ("kind", "blank", "subsampling", "frame_shift_ms", "model")


@dataclass
class OutputSetRow:
    id: str
    text: str
    split: str | None
    frames: int | None  # input frames before subsampling
    posteriors: str | None
    line: int


@dataclass
class OutputSetSample:
    id: str
    text: str
    frames: int | None
    out_frames: int  # T'
    kind: str  # detected: log_probs | probs | logits
    where: str  # file (or archive:member)
    line: int


@dataclass
class OutputSet:
    root: str
    manifest: str  # where the manifest is, for messages
    classes: list[str]  # class names in the file's order; classes[blank] = '<blank>'
    blank: int
    subsampling: int | None  # outputs.json's, else inferred from frames and T'
    model: str
    samples: dict[str, OutputSetSample]
    loaders: dict[str, Callable[..., np.ndarray]] = field(default_factory=dict, repr=False)

    def log_probs(self, sample_id: str) -> np.ndarray:
        """[T', C] float32 log-probabilities of one sample, in the file's class order."""
        s = self.samples[sample_id]
        return to_log_probs(self.loaders[sample_id](), s.kind)


def _check_row(raw: dict, file: str, line: int) -> OutputSetRow:
    where = f"{file}, line {line}"
    rid, text, split = check_sample_fields(raw, where, "the reference: space-separated tokens", "empty reference")
    frames, post = raw.get("frames"), raw.get("posteriors")
    f = None
    if frames not in (None, ""):
        f = frames
        if isinstance(frames, str):  # a TSV cell: Number(frames), as the lab reads it
            try:
                f = float(frames)
            except ValueError:
                f = None
        if isinstance(f, float) and f.is_integer():
            f = int(f)
        if not isinstance(f, int) or isinstance(f, bool) or f < 1:
            raise CtcLabError(f"{where}: sample '{rid}': 'frames' (input frames) must be a positive integer, got {json.dumps(frames)}")
    if post is not None and not isinstance(post, str):
        raise CtcLabError(f"{where}: sample '{rid}': 'posteriors' must be a relative path string")
    return OutputSetRow(rid, text, split, f, post or None, line)


def parse_outputs_manifest(text: str, file: str) -> list[OutputSetRow]:
    return manifest_rows(text, file, _check_row)


def parse_outputs_json(text: str, file: str) -> dict:
    o = json_object(text, file, "must be one JSON object")
    for k in o:
        if k not in KNOWN_KEYS:
            raise CtcLabError(f"{file}: unknown key '{k}' (known: {', '.join(KNOWN_KEYS)})")
    kind, blank, sub, shift, model = (o.get(k) for k in KNOWN_KEYS)
    if kind is not None and kind not in ("log_probs", "logits", "probs"):
        raise CtcLabError(f"{file}: 'kind' must be \"log_probs\", \"logits\" or \"probs\", got {json.dumps(kind)}")
    for k, v in (("blank", blank), ("subsampling", sub)):
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < (0 if k == "blank" else 1)):
            raise CtcLabError(f"{file}: '{k}' must be {'a class index (an integer ≥ 0)' if k == 'blank' else 'a positive integer (input frames per output frame)'}, got {json.dumps(v)}")
    if shift is not None and (not isinstance(shift, (int, float)) or isinstance(shift, bool) or not shift > 0):
        raise CtcLabError(f"{file}: 'frame_shift_ms' must be a positive number, got {json.dumps(shift)}")
    if model is not None and not isinstance(model, str):
        raise CtcLabError(f"{file}: 'model' must be a string, got {json.dumps(model)}")
    return {"kind": kind, "blank": blank, "subsampling": sub, "model": model or ""}


def parse_outputs_vocab(text: str, file: str, blank_json: int | None, json_file: str = "outputs.json") -> tuple[list[str], int]:
    """(classes, blank): with a '<blank>' line the lines are the classes; without one the blank is
    class blank_json (default 0) and the lines fill the other classes in order."""
    tokens = parse_vocab(text, file)
    if BLANK_TOKEN in tokens:
        at = tokens.index(BLANK_TOKEN)
        if blank_json is not None and blank_json != at:
            raise CtcLabError(f"{json_file}: 'blank' is {blank_json}, but {file} puts '{BLANK_TOKEN}' at class {at} (line {at + 1})")
        if len(tokens) < 2:
            raise CtcLabError(f"{file}: has only the '{BLANK_TOKEN}' line; a CTC model needs at least one token")
        return tokens, at
    blank = 0 if blank_json is None else blank_json
    if blank > len(tokens):
        raise CtcLabError(f"{json_file}: 'blank' is {blank}, but {file} has {len(tokens)} tokens, so the classes are 0..{len(tokens)}")
    return tokens[:blank] + [BLANK_TOKEN] + tokens[blank:], blank


def row_kind(x: np.ndarray, tol: float) -> tuple[str, tuple[int, int] | None]:
    """The lab's rowFacts: (kind, first NaN/+Inf (frame, class) or None). Rows holding NaN/+Inf are
    left out of the detection; −Inf is a probability of 0."""
    x64 = x.astype(np.float64)
    bad = np.isnan(x64) | (x64 == np.inf)
    first = None
    if bad.any():
        t, c = np.argwhere(bad)[0]
        first = (int(t), int(c))
    rows = x64[~bad.any(1)]
    if rows.shape[0] == 0:
        return "log_probs", first
    m = rows.max(1)
    ok = np.isfinite(m)  # a row of −Inf only has logsumexp −Inf
    lse = np.full(rows.shape[0], -np.inf)
    lse[ok] = m[ok] + np.log(np.exp(rows[ok] - m[ok, None]).sum(1))
    if np.all(np.abs(lse) <= tol):
        return "log_probs", first
    if not (rows < 0).any() and np.all(np.abs(rows.sum(1) - 1) <= tol):
        return "probs", first
    return "logits", first


def to_log_probs(x: np.ndarray, kind: str) -> np.ndarray:
    """The lab's toLogProbs on float32 values: as they are, log(p), or log_softmax, float64 per row → float32."""
    x = np.asarray(x, dtype=np.float32)
    if kind == "log_probs":
        return x
    x64 = x.astype(np.float64)
    with np.errstate(divide="ignore"):
        if kind == "probs":
            return np.log(x64).astype(np.float32)
        m = x64.max(1, keepdims=True)
        lse = m + np.log(np.exp(x64 - m).sum(1, keepdims=True))
    return (x64 - lse).astype(np.float32)


def _check_array(a: np.ndarray, where: str, sid: str, C: int, vocab_file: str) -> np.ndarray:
    if a.dtype.kind != "f" or a.dtype.itemsize not in (2, 4, 8):
        raise CtcLabError(f"{where}: sample '{sid}': dtype '{a.dtype.str}': outputs must be float16, float32 or float64")
    if a.ndim != 2:
        hint = "; the batch axis was saved: save out[0] (or out[b, :length_b] per sample)" if a.ndim == 3 and a.shape[0] == 1 else ""
        raise CtcLabError(f"{where}: sample '{sid}': shape ({', '.join(map(str, a.shape))}) must be [output frames, classes]{hint}")
    if a.shape[1] != C:
        raise CtcLabError(f"{where}: sample '{sid}': has {a.shape[1]} classes per frame (shape {a.shape[0]}x{a.shape[1]}), but {vocab_file} names {C} classes")
    if a.shape[0] == 0:
        raise CtcLabError(f"{where}: sample '{sid}': has 0 output frames")
    return a


def read_output_set(root: str) -> OutputSet:
    """Reads and checks an output set (one pass over the arrays); refusals name the file and
    the line or sample. NaN/+Inf values are refused too (a teacher's outputs must be finite)."""
    files = Files(root)
    mpath = find_manifest(files, root, " (the lab's model-outputs format)")
    mfile = files.where(mpath)
    rows = parse_outputs_manifest(files.read(mpath).decode("utf-8"), mfile)
    base = posixpath.dirname(mpath)

    def sibling(name: str) -> str | None:
        return files.find(posixpath.join(base, name))

    jpath = sibling("outputs.json")
    info = parse_outputs_json(files.read(jpath).decode("utf-8"), files.where(jpath)) if jpath else {"kind": None, "blank": None, "subsampling": None, "model": ""}
    vpath = sibling("vocab.txt")
    if vpath is None:
        raise CtcLabError(f"{root}: no vocab.txt (one token per line in class order, a <blank> line where the blank is; without it the classes cannot be named)")
    vfile = files.where(vpath)
    classes, blank = parse_outputs_vocab(files.read(vpath).decode("utf-8"), vfile, info["blank"], files.where(jpath) if jpath else "outputs.json")
    C = len(classes)

    npz = files.npz_members()

    loaders = {}
    for r in rows:
        if r.posteriors:
            path = files.find(normalise_path(posixpath.join(base, r.posteriors)))
            if path is None:
                raise CtcLabError(f"{mfile}, line {r.line}: sample '{r.id}': posteriors file '{r.posteriors}' was not found in {root}")
            loaders[r.id] = (files.where(path), lambda path=path: read_npy(files.read(path), files.where(path)))
        elif r.id in npz:
            where, archive = npz[r.id]
            loaders[r.id] = (f"{where}:{r.id}.npy", lambda archive=archive, key=r.id: archive[key])
        else:
            raise CtcLabError(f"{mfile}, line {r.line}: sample '{r.id}': no 'posteriors' path and no '{r.id}.npy' in any .npz")

    samples: dict[str, OutputSetSample] = {}
    kept = {}
    for r in rows:
        where, load = loaders[r.id]
        a = _check_array(load(), where, r.id, C, vfile)
        kind, bad = row_kind(a.astype(np.float32), 2e-2 if a.dtype.itemsize == 2 else 1e-3)
        if bad is not None:
            v = a[bad]
            raise CtcLabError(f"{where}: sample '{r.id}': {'NaN' if np.isnan(v) else '+Inf'} at frame {bad[0]}, class {bad[1]}; a teacher's outputs must be finite")
        samples[r.id] = OutputSetSample(r.id, r.text, r.frames, int(a.shape[0]), kind, where, r.line)
        kept[r.id] = lambda load=load, where=where, sid=r.id: _check_array(load(), where, sid, C, vfile)
    sub = info["subsampling"]
    if sub is None:
        ratios = sorted(s.frames / s.out_frames for s in samples.values() if s.frames is not None)
        if ratios:
            mid = len(ratios) // 2
            med = ratios[mid] if len(ratios) % 2 else (ratios[mid - 1] + ratios[mid]) / 2
            sub = max(1, int(np.floor(med + 0.5)))
    return OutputSet(root, mfile, classes, blank, sub, info["model"], samples, kept)
