"""The files of a dataset or an output set: a folder or a .zip archive, read by relative path
(normalised, '/'), as the lab's importer sees a drop (src/data/import.ts: normalise, expandZips).
Shared by datasets (data.py) and output sets (output_set.py): the one manifest, files
named in it or beside it, and the members of .npz archives.
"""

from __future__ import annotations

import io
import os
import posixpath
import zipfile

import numpy as np

from .errors import CtcLabError


def normalise_path(path: str) -> str:
    """'a/./b/../c' → 'a/c'; backslashes as slashes; leading '..' dropped (as the lab's normalise)."""
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


class Files:
    """Relative paths (normalised, '/', sorted) → bytes, over a folder or a .zip archive."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.zip: zipfile.ZipFile | None
        if os.path.isdir(root):
            self.zip = None
            self.paths: list[str] = []
            for d, _, names in os.walk(root):
                for n in names:
                    self.paths.append(normalise_path(os.path.relpath(os.path.join(d, n), root).replace(os.sep, "/")))
        elif zipfile.is_zipfile(root):
            self.zip = zipfile.ZipFile(root)
            self.paths = [normalise_path(i.filename) for i in self.zip.infolist() if not i.is_dir() and not i.filename.startswith("__MACOSX/")]
            self.names = {normalise_path(i.filename): i.filename for i in self.zip.infolist()}
        else:
            raise CtcLabError(f"{root}: not a dataset folder or .zip archive")
        self.paths.sort()
        self.known = set(self.paths)
        self.by_base: dict[str, list[str]] = {}
        for p in self.paths:
            self.by_base.setdefault(posixpath.basename(p), []).append(p)

    def where(self, path: str) -> str:
        """The path as messages name it: archive:member, or the file's path."""
        return f"{self.root}:{path}" if self.zip else os.path.join(self.root, path)

    def read(self, path: str) -> bytes:
        if self.zip:
            return self.zip.read(self.names[path])
        with open(os.path.join(self.root, path), "rb") as f:
            return f.read()

    def find(self, path: str) -> str | None:
        """`path` if it is there, else the one file with its base name anywhere (None if none or several)."""
        if path in self.known:
            return path
        same = self.by_base.get(posixpath.basename(path), [])
        return same[0] if len(same) == 1 else None

    def open_npz(self, path: str) -> np.lib.npyio.NpzFile:
        src = io.BytesIO(self.read(path)) if self.zip else os.path.join(self.root, path)
        try:
            return np.load(src, allow_pickle=False)
        except Exception as e:
            raise CtcLabError(f"{self.where(path)}: not a readable .npz archive ({e})") from None

    def npz_members(self) -> dict[str, tuple[str, object]]:
        """Member "<id>.npy" of every .npz → (where the archive is, the open archive); an id in two
        archives is refused."""
        members: dict[str, tuple[str, object]] = {}
        for p in (p for p in self.paths if p.lower().endswith(".npz")):
            archive = self.open_npz(p)
            for key in archive.files:
                if key in members:
                    raise CtcLabError(f"{self.where(p)}: member '{key}.npy' also appears in {members[key][0]}")
                members[key] = (self.where(p), archive)
        return members


def find_manifest(files: Files, root: str, what: str = "") -> str:
    """The one manifest.jsonl / manifest.tsv of a folder or .zip (`what` names the format in the
    refusal when there is none)."""
    manifests = [p for p in files.paths if posixpath.basename(p).lower() in ("manifest.jsonl", "manifest.tsv")]
    if not manifests:
        raise CtcLabError(f"{root}: no manifest.jsonl or manifest.tsv among the {len(files.paths)} files{what}")
    if len(manifests) > 1:
        raise CtcLabError(f"{root}: more than one manifest: {', '.join(manifests)}")
    return manifests[0]
