"""Readers for the ``crossdocked_pocket10`` release of CrossDocked2020 (Francoeur et al. 2020).

As distributed by the SBDD / Pocket2Mol / TargetDiff authors:

* ``crossdocked_pocket10/index.pkl``: list of ``(pocket_fn, ligand_fn, protein_fn, rmsd)``
  with paths relative to ``crossdocked_pocket10/`` (``pocket_fn`` is ``None`` for pairs
  whose pocket could not be cut);
* ``split_by_name.pt``: ``{"train": [(pocket_fn, ligand_fn), ...], "test": [...]}``
  (100,000 / 100 pairs);
* TargetDiff's ``crossdocked_pocket10_pose_split.pt``: ``{"train": [int], "val": [int], "test": [int]}``,
  indices into ``index.pkl``.

Pure parsing only; the pairs are featurised by :mod:`molgen.data.crossdocked`.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import torch

from molgen.errors import MolgenInputError, UnsafeFileError, read_text
from molgen.safe_load import load_pickle, load_tensors


class CrossDockedFormatError(MolgenInputError):
    """An index or split file that does not follow the published structure."""


@dataclass(frozen=True)
class PairEntry:
    """One (pocket, ligand) pair of the index, paths relative to the ``crossdocked_pocket10`` root."""

    index: int
    pocket_fn: str
    ligand_fn: str
    protein_fn: str
    rmsd: float

    @property
    def key(self) -> tuple[str, str]:
        return (self.pocket_fn, self.ligand_fn)


def load_index(path: Path) -> list[PairEntry | None]:
    """``index.pkl`` as entries; positions are kept (``None`` where the pocket is missing)."""
    try:
        raw = load_pickle(path)  # restricted: builtin containers, numbers and strings only; no code runs
    except UnsafeFileError as err:
        raise CrossDockedFormatError(str(err)) from None
    if not isinstance(raw, list):
        raise CrossDockedFormatError(f"{path}: expected a list of (pocket, ligand, protein, rmsd) tuples")
    entries: list[PairEntry | None] = []
    for k, item in enumerate(raw):
        if not isinstance(item, tuple | list) or len(item) != 4:
            raise CrossDockedFormatError(f"{path}: entry {k} is {item!r}, expected (pocket, ligand, protein, rmsd)")
        pocket_fn, ligand_fn, protein_fn, rmsd = item
        if pocket_fn is None or ligand_fn is None:
            entries.append(None)
            continue
        for name in (pocket_fn, ligand_fn):
            if not isinstance(name, str) or not confined(name):
                raise CrossDockedFormatError(f"{path}: entry {k} names {name!r}, not a file inside the raw folder "
                                             "(absolute paths and '..' are refused)")
        try:
            entries.append(PairEntry(k, pocket_fn, ligand_fn, str(protein_fn), float(rmsd)))
        except (TypeError, ValueError):
            raise CrossDockedFormatError(f"{path}: entry {k}: rmsd {rmsd!r} is not a number") from None
    return entries


def confined(name: str) -> bool:
    """Whether the relative path ``name`` stays inside the folder it is relative to (no root, no '..')."""
    from pathlib import PurePosixPath, PureWindowsPath

    parts = PurePosixPath(name).parts
    return (bool(name) and "\0" not in name and not PurePosixPath(name).is_absolute()
            and not PureWindowsPath(name).drive and ".." not in parts and ".." not in PureWindowsPath(name).parts)


def load_name_split(path: Path) -> dict[str, list[tuple[str, str]]]:
    """``split_by_name.pt`` (or a TSV/CSV with ``Protein``/``Ligand`` columns, one split named by the file stem).

    The ``.pt`` file holds only lists of string pairs, so it is read with ``weights_only=True``.
    """
    path = Path(path)
    if path.suffix in (".tsv", ".csv"):
        delimiter = "\t" if path.suffix == ".tsv" else ","
        rows = list(csv.reader(io.StringIO(read_text(path, "split file", delimiter=delimiter), newline=""),
                               delimiter=delimiter))
        if not rows or [c.lower() for c in rows[0][:2]] != ["protein", "ligand"]:
            raise CrossDockedFormatError(f"{path}:1: expected header 'Protein<TAB>Ligand'")
        pairs = []
        for lineno, row in enumerate(rows[1:], start=2):
            if len(row) < 2:
                raise CrossDockedFormatError(f"{path}:{lineno}: expected two columns, got {row!r}")
            pairs.append((row[0], row[1]))
        return {"test" if "test" in path.stem else path.stem: pairs}
    raw = _load_split_file(path)
    if not isinstance(raw, dict):
        raise CrossDockedFormatError(f"{path}: expected a dict of split name -> list of (pocket, ligand)")
    out = {}
    for split, pairs in raw.items():
        if not all(isinstance(p, tuple | list) and len(p) == 2 for p in pairs):
            raise CrossDockedFormatError(f"{path}: split {split!r} must list (pocket_fn, ligand_fn) pairs")
        out[str(split)] = [(str(p), str(l)) for p, l in pairs]
    return out


def _load_split_file(path: Path) -> object:
    """A ``.pt`` split file (lists of strings or indices), read weights-only: no code runs from it."""
    try:
        return load_tensors(path, "split file")
    except UnsafeFileError as err:
        raise CrossDockedFormatError(str(err)) from None


def load_pose_split(path: Path) -> dict[str, list[int]]:
    """TargetDiff's pose split: split name -> indices into ``index.pkl``."""
    raw = _load_split_file(path)
    if not isinstance(raw, dict):
        raise CrossDockedFormatError(f"{path}: expected a dict of split name -> list of indices")
    out = {}
    for split, idx in raw.items():
        values = idx.tolist() if isinstance(idx, torch.Tensor) else list(idx)
        if not all(isinstance(v, int) for v in values):
            raise CrossDockedFormatError(f"{path}: split {split!r} must hold integer indices")
        out[str(split)] = values
    return out


def assign_splits(entries: list[PairEntry | None], name_split: dict[str, list[tuple[str, str]]] | None = None,
                  pose_split: dict[str, list[int]] | None = None,
                  default: str | None = "train") -> dict[str, list[PairEntry]]:
    """Group index entries by split.

    With a name split, pairs are matched by (pocket_fn, ligand_fn); with a pose split, by index.
    Entries named by no split go to ``default`` (``None`` drops them). Split members that the
    index lacks are ignored here and counted by the caller as missing.
    """
    if name_split is not None and pose_split is not None:
        raise CrossDockedFormatError("give either a name split or a pose split, not both")
    present = [e for e in entries if e is not None]
    lookup: dict[tuple[str, str] | int, str] = {}
    if name_split is not None:
        lookup = {pair: split for split, pairs in name_split.items() for pair in pairs}
    if pose_split is not None:
        lookup = {i: split for split, idx in pose_split.items() for i in idx}
    out: dict[str, list[PairEntry]] = {}
    for entry in present:
        split = lookup.get(entry.key if name_split is not None else entry.index, default)
        if split is not None:
            out.setdefault(split, []).append(entry)
    return out
