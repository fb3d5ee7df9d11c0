"""Manifests and vocabularies of the lab's formats (docs/ARCHITECTURE.md "Dataset format", "Model
outputs format"): `manifest.jsonl` or `manifest.tsv` (header row), one checked row per sample, ids unique;
`vocab.txt`, one token per line. As src/data/manifest.ts reads them; bad input raises CtcLabError
naming the file and line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable, TypeVar

from .errors import CtcLabError

SPLITS = ("train", "val", "test")
R = TypeVar("R")  # a row as one format checks it


@dataclass
class Row:
    id: str
    text: str
    split: str | None
    features: str | None
    line: int


def check_sample_fields(raw: dict, where: str, text_hint: str, empty: str) -> tuple[str, str, str | None]:
    """(id, text with runs of whitespace as one space, split or None) of a manifest row, the fields
    datasets and output sets share; `text_hint` says what 'text' holds, `empty` how an empty
    one is refused."""
    rid, text, split = raw.get("id"), raw.get("text"), raw.get("split")
    if not isinstance(rid, str) or rid.strip() == "":
        raise CtcLabError(f"{where}: missing or empty 'id' (a non-empty string)")
    if not isinstance(text, str):
        raise CtcLabError(f"{where}: sample '{rid}': missing 'text' ({text_hint})")
    if text.strip() == "":
        raise CtcLabError(f"{where}: sample '{rid}': {empty}")
    if split not in (None, "") and split not in SPLITS:
        raise CtcLabError(f"{where}: sample '{rid}': split must be train, val or test, got {json.dumps(split)}")
    return rid, " ".join(text.split()), split or None


def _check_row(raw: dict, file: str, line: int) -> Row:
    where = f"{file}, line {line}"
    rid, text, split = check_sample_fields(raw, where, "a string of space-separated tokens", "empty transcript")
    feats = raw.get("features")
    if feats is not None and not isinstance(feats, str):
        raise CtcLabError(f"{where}: sample '{rid}': 'features' must be a relative path string")
    return Row(rid, text, split, feats or None, line)


def _check_unique(rows: list[Row], file: str) -> list[Row]:
    seen: dict[str, int] = {}
    for r in rows:
        if r.id in seen:
            raise CtcLabError(f"{file}, line {r.line}: duplicate id '{r.id}' (first on line {seen[r.id]})")
        seen[r.id] = r.line
    if not rows:
        raise CtcLabError(f"{file}: has no samples")
    return rows


def json_object(text: str, where: str, must: str) -> dict:
    """One JSON object; refused at `where` when it is not valid JSON or (`must` says how) not an object."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise CtcLabError(f"{where}: not valid JSON ({e.msg})") from None
    if not isinstance(obj, dict):
        raise CtcLabError(f"{where}: {must}")
    return obj


def manifest_rows(text: str, file: str, check_row: Callable[[dict, str, int], R]) -> list[R]:
    """The rows of a manifest (`.tsv` with a header row, else JSONL), each checked by
    `check_row(raw: dict, file, line)`, ids unique; the one reader of datasets' and model outputs'
    manifests (src/data/manifest.ts's jsonlRows / tsvRows)."""
    rows = []
    lines = text.splitlines()
    if file.lower().endswith(".tsv"):
        header = [h.strip() for h in (lines[0] if lines else "").split("\t")]
        for col in ("id", "text"):
            if col not in header:
                raise CtcLabError(f"{file}, line 1: header row lacks the '{col}' column (found: {', '.join(header) or 'nothing'})")
        for i, raw in enumerate(lines[1:], start=2):
            if raw.strip() == "":
                continue
            cells = raw.split("\t")
            if len(cells) != len(header):
                raise CtcLabError(f"{file}, line {i}: has {len(cells)} columns, the header has {len(header)}")
            rows.append(check_row(dict(zip(header, cells)), file, i))
    else:
        for i, raw in enumerate(lines, start=1):
            if raw.strip() == "":
                continue
            rows.append(check_row(json_object(raw, f"{file}, line {i}", "each line must be a JSON object"), file, i))
    return _check_unique(rows, file)


def parse_manifest(text: str, file: str) -> list[Row]:
    return manifest_rows(text, file, _check_row)


def parse_vocab(text: str, file: str) -> list[str]:
    tokens, seen = [], set()
    for i, raw in enumerate(text.splitlines(), start=1):
        t = raw.strip()
        if t == "":
            continue
        if any(c.isspace() for c in t):
            raise CtcLabError(f"{file}, line {i}: token '{t}' contains whitespace")
        if t in seen:
            raise CtcLabError(f"{file}, line {i}: duplicate token '{t}'")
        seen.add(t)
        tokens.append(t)
    if not tokens:
        raise CtcLabError(f"{file}: is empty")
    return tokens
