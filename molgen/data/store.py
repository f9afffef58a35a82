"""The processed on-disk molecule store: a folder of flat, memory-mapped arrays.

Why this format: it must hold up to ~100M molecules (PubChem3D) without ever
loading a dataset into RAM, give O(1) random access for a DataLoader, be
written in one streaming pass with bounded memory, and be concatenated cheaply
when shards are processed on different machines. Flat little-endian binary
columns read with ``np.memmap`` do all four with numpy alone: a molecule is two
slices (atoms, bonds) located by offset arrays, appends are plain file appends,
and merging is a byte copy plus an offset shift. (A pickle/torch file per
dataset would need RAM for the whole set; LMDB/HDF5 would add a dependency
and still pickle per record.)

Layout of a store folder::

    meta.json              format version, counts, dtypes/shapes of every column
    pos.bin                float32 [N_total, 3]   concatenated coordinates (Angstrom)
    atom_types.bin         int8    [N_total]      vocabulary index
    charges.bin            int8    [N_total]      formal charge
    is_aromatic.bin, is_in_ring.bin, hybridization.bin   int8 [N_total] (optional features)
    bond_index.bin         int32   [B_total, 2]   atom pairs, local to their molecule, i < j
    bond_types.bin         int8    [B_total]      bond class 1..4
    atom_ptr.bin           int64   [M + 1]        molecule m owns atoms atom_ptr[m]:atom_ptr[m+1]
    bond_ptr.bin           int64   [M + 1]        ... and bonds bond_ptr[m]:bond_ptr[m+1]
    names.bin / names_ptr.bin, smiles.bin / smiles_ptr.bin, props.bin / props_ptr.bin
                           utf-8 bytes + int64 [M + 1] offsets (props are one JSON object each)

A store is written by :class:`StoreWriter` into a hidden temporary folder next
to the target and renamed into place on :meth:`StoreWriter.close`; an exception
inside ``with StoreWriter(...)`` removes the temporary folder, so a store either
exists complete or not at all.

Shape symbols: N atoms, B bonds; M molecules in the store.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from molgen.safe_write import replace_dir, temp_sibling, write_text_atomic
from molgen.chem.molgraph import MolGraph
from molgen.errors import MolgenInputError

FORMAT_VERSION = 1
OPTIONAL_FEATURES: tuple[str, ...] = ("is_aromatic", "is_in_ring", "hybridization")
#: column name -> (numpy dtype, trailing shape)
_ATOM_COLUMNS: dict[str, tuple[str, tuple[int, ...]]] = {
    "pos": ("<f4", (3,)), "atom_types": ("i1", ()), "charges": ("i1", ()),
    "is_aromatic": ("i1", ()), "is_in_ring": ("i1", ()), "hybridization": ("i1", ()),
}
_BOND_COLUMNS: dict[str, tuple[str, tuple[int, ...]]] = {"bond_index": ("<i4", (2,)), "bond_types": ("i1", ())}
_TEXT_COLUMNS: tuple[str, ...] = ("names", "smiles", "props")


class StoreError(MolgenInputError):
    """A store folder that is missing, incomplete or inconsistent."""


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic | torch.Tensor):
        return value.tolist() if getattr(value, "ndim", 0) else value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"property value {value!r} of type {type(value).__name__} is not JSON-serialisable")


class _Columns:
    """Append-only binary column files plus their running lengths (shared by writer and merge)."""

    def __init__(self, folder: Path, features: tuple[str, ...]):
        self.folder = folder
        self.features = features
        names = ["pos", "atom_types", "charges", *features, "bond_index", "bond_types", "atom_ptr", "bond_ptr"]
        names += [n for t in _TEXT_COLUMNS for n in (t, f"{t}_ptr")]
        self.files = {n: open(folder / f"{n}.bin", "wb") for n in names}  # noqa: SIM115 - closed in close()
        self.num_molecules = 0
        self.num_atoms = 0
        self.num_bonds = 0
        self.text_sizes = dict.fromkeys(_TEXT_COLUMNS, 0)
        for n in ("atom_ptr", "bond_ptr", *(f"{t}_ptr" for t in _TEXT_COLUMNS)):
            self.files[n].write(np.zeros(1, dtype="<i8").tobytes())

    def write(self, name: str, array: np.ndarray) -> None:
        self.files[name].write(np.ascontiguousarray(array).tobytes())

    def add_pointers(self, name: str, lengths: np.ndarray, start: int) -> int:
        """Append cumulative offsets for ``lengths`` continuing from ``start``; return the new end."""
        ends = start + np.cumsum(lengths, dtype=np.int64)
        self.write(name, ends.astype("<i8"))
        return int(ends[-1]) if ends.size else start

    def finish(self) -> dict[str, Any]:
        for f in self.files.values():
            f.close()
        columns = {n: list(spec) for n, spec in _ATOM_COLUMNS.items() if n in ("pos", "atom_types", "charges")}
        columns.update({n: list(_ATOM_COLUMNS[n]) for n in self.features})
        columns.update({n: list(spec) for n, spec in _BOND_COLUMNS.items()})
        return {
            "format_version": FORMAT_VERSION,
            "num_molecules": self.num_molecules,
            "num_atoms": self.num_atoms,
            "num_bonds": self.num_bonds,
            "features": list(self.features),
            "columns": columns,
        }


class StoreWriter:
    """Stream :class:`MolGraph` objects into a new store with bounded memory.

    Use as a context manager::

        with StoreWriter(path) as writer:
            for graph in graphs:
                writer.append(graph)

    Args:
        path: the store folder to create.
        features: optional atom features to keep (subset of ``OPTIONAL_FEATURES``);
            ``None`` takes those present on the first molecule. Every molecule must have them.
        overwrite: replace an existing store at ``path`` (only once the new one is complete).
        chunk_atoms: flush buffered molecules to disk once this many atoms are buffered.
    """

    def __init__(self, path: str | os.PathLike, *, features: Iterable[str] | None = None,
                 overwrite: bool = False, chunk_atoms: int = 200_000):
        self.path = Path(path)
        if self.path.exists() and not overwrite:
            raise FileExistsError(f"store {self.path} already exists (pass overwrite=True to replace it)")
        self.overwrite = overwrite
        self.chunk_atoms = chunk_atoms
        self._features = None if features is None else tuple(features)
        if self._features is not None and not set(self._features) <= set(OPTIONAL_FEATURES):
            raise ValueError(f"unknown features {self._features}; choose from {OPTIONAL_FEATURES}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = temp_sibling(self.path)
        self._tmp.mkdir()
        self._cols: _Columns | None = None
        self._buffer: list[dict[str, Any]] = []
        self._buffered_atoms = 0
        self._closed = False

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __len__(self) -> int:
        done = self._cols.num_molecules if self._cols else 0
        return done + len(self._buffer)

    def append(self, graph: MolGraph) -> None:
        """Validate one molecule and buffer it as compact column pieces; flush at ``chunk_atoms`` atoms."""
        if self._closed:
            raise RuntimeError(f"StoreWriter for {self.path} is already closed")
        graph.validate()
        if self._features is None:
            self._features = tuple(k for k in OPTIONAL_FEATURES if getattr(graph, k) is not None)
        missing = [k for k in self._features if getattr(graph, k) is None]
        if missing:
            raise ValueError(f"molecule {graph.name!r} lacks features {missing} that this store keeps")
        piece = {
            "pos": graph.pos.detach().cpu().numpy().astype("<f4"),  # [N, 3]
            "bond_index": graph.bond_index.T.cpu().numpy().astype("<i4"),  # [B, 2]
            "bond_types": graph.bond_types.cpu().numpy().astype("i1"),  # [B]
            "names": graph.name.encode("utf-8"),
            "smiles": (graph.smiles or "").encode("utf-8"),
            "props": json.dumps(graph.props, default=_json_default, sort_keys=True).encode("utf-8"),
        }
        for name in ("atom_types", "charges", *self._features):
            piece[name] = getattr(graph, name).cpu().numpy().astype("i1")  # [N]
        self._buffer.append(piece)
        self._buffered_atoms += graph.num_atoms
        if self._buffered_atoms >= self.chunk_atoms:
            self.flush()

    def flush(self) -> None:
        """Write buffered molecules to the column files."""
        if self._cols is None:
            self._cols = _Columns(self._tmp, self._features or ())
        if not self._buffer:
            return
        cols, pieces = self._cols, self._buffer
        for name in ("pos", "atom_types", "charges", *cols.features, "bond_index", "bond_types"):
            cols.write(name, np.concatenate([p[name] for p in pieces]))
        atoms = np.array([len(p["atom_types"]) for p in pieces], dtype=np.int64)
        bonds = np.array([len(p["bond_types"]) for p in pieces], dtype=np.int64)
        cols.num_atoms = cols.add_pointers("atom_ptr", atoms, cols.num_atoms)
        cols.num_bonds = cols.add_pointers("bond_ptr", bonds, cols.num_bonds)
        for key in _TEXT_COLUMNS:
            encoded = [p[key] for p in pieces]
            cols.write(key, np.frombuffer(b"".join(encoded), dtype=np.uint8))
            lengths = np.array([len(b) for b in encoded], dtype=np.int64)
            cols.text_sizes[key] = cols.add_pointers(f"{key}_ptr", lengths, cols.text_sizes[key])
        cols.num_molecules += len(pieces)
        self._buffer, self._buffered_atoms = [], 0

    def close(self) -> Path:
        """Flush, write ``meta.json`` and move the finished store into place; return its path."""
        if self._closed:
            return self.path
        try:
            self.flush()
            assert self._cols is not None
            meta = self._cols.finish()
            _write_json(self._tmp / "meta.json", meta)
            _replace_dir(self._tmp, self.path, self.overwrite)
        except BaseException:
            self.abort()
            raise
        self._closed = True
        return self.path

    def abort(self) -> None:
        """Discard everything written so far (the target path is left untouched)."""
        if self._cols is not None:
            for f in self._cols.files.values():
                f.close()
        shutil.rmtree(self._tmp, ignore_errors=True)
        self._closed = True


def _write_json(path: Path, obj: Any) -> None:
    write_text_atomic(path, json.dumps(obj, indent=2, default=_json_default) + "\n")


def _replace_dir(src: Path, dst: Path, overwrite: bool) -> None:
    """Rename the finished folder ``src`` to ``dst`` (refusing to replace one that appeared meanwhile)."""
    if dst.exists() and not overwrite:
        raise FileExistsError(f"{dst} appeared while it was being written")
    replace_dir(src, dst)


class MolStore:
    """Read-only random access to a store folder; arrays are memory-mapped, nothing is loaded eagerly.

    ``store[i]`` returns molecule ``i`` as a :class:`MolGraph` (long/bool tensors, float32 pos).
    Safe to pickle into DataLoader workers (each reopens its own memory maps).
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        meta_path = self.path / "meta.json"
        if not meta_path.is_file():
            raise StoreError(f"{self.path} is not a molgen store (no meta.json)")
        self.meta: dict[str, Any] = json.loads(meta_path.read_text())
        if self.meta.get("format_version") != FORMAT_VERSION:
            raise StoreError(f"{meta_path}: format_version {self.meta.get('format_version')} != {FORMAT_VERSION}")
        self.features: tuple[str, ...] = tuple(self.meta["features"])
        self._arrays: dict[str, np.ndarray] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "meta": self.meta, "features": self.features, "_arrays": {}}

    def __len__(self) -> int:
        return int(self.meta["num_molecules"])

    @property
    def num_atoms_total(self) -> int:
        return int(self.meta["num_atoms"])

    def array(self, name: str) -> np.ndarray:
        """The memory-mapped column ``name`` (e.g. ``"pos"`` [N_total, 3], ``"atom_ptr"`` [M + 1])."""
        if name not in self._arrays:
            self._arrays[name] = self._open(name)
        return self._arrays[name]

    def _open(self, name: str) -> np.ndarray:
        columns = self.meta["columns"]
        if name in columns:
            dtype, tail = columns[name][0], tuple(columns[name][1])
            rows = self.meta["num_bonds" if name in _BOND_COLUMNS else "num_atoms"]
        elif name in ("atom_ptr", "bond_ptr") or name.endswith("_ptr"):
            dtype, tail, rows = "<i8", (), len(self) + 1
        elif name in _TEXT_COLUMNS:
            dtype, tail, rows = "u1", (), None
        else:
            raise KeyError(f"store {self.path} has no column {name!r}")
        file = self.path / f"{name}.bin"
        if not file.is_file():
            raise StoreError(f"store {self.path} is incomplete: {file.name} is missing")
        itemsize = np.dtype(dtype).itemsize * math.prod(tail)
        size = file.stat().st_size
        if rows is None:
            rows = size // itemsize
        if size != rows * itemsize:
            raise StoreError(f"{file}: {size} bytes, expected {rows * itemsize} for {rows} rows")
        if rows == 0:
            return np.zeros((0, *tail), dtype=dtype)
        # a plain-ndarray view of the map: same zero-copy pages, without np.memmap's slow Python __getitem__
        return np.memmap(file, dtype=dtype, mode="r", shape=(rows, *tail)).view(np.ndarray)

    def num_atoms(self) -> np.ndarray:
        """[M] atoms per molecule (int64)."""
        return np.diff(self.array("atom_ptr"))

    def _text(self, key: str, i: int) -> str:
        ptr = self.array(f"{key}_ptr")
        return bytes(self.array(key)[ptr[i]:ptr[i + 1]]).decode("utf-8")

    def __getitem__(self, i: int) -> MolGraph:
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"molecule index {i} out of range for store of {n}")
        i = i % n
        a0, a1 = (int(x) for x in self.array("atom_ptr")[i:i + 2])
        b0, b1 = (int(x) for x in self.array("bond_ptr")[i:i + 2])
        extra: dict[str, torch.Tensor] = {}
        for k in self.features:
            values = torch.from_numpy(np.array(self.array(k)[a0:a1], dtype=np.int64))
            extra[k] = values.bool() if k != "hybridization" else values
        smiles = self._text("smiles", i)
        return MolGraph(
            pos=torch.from_numpy(np.array(self.array("pos")[a0:a1], dtype=np.float32)),  # [N, 3]
            atom_types=torch.from_numpy(np.array(self.array("atom_types")[a0:a1], dtype=np.int64)),
            charges=torch.from_numpy(np.array(self.array("charges")[a0:a1], dtype=np.int64)),
            bond_index=torch.from_numpy(np.array(self.array("bond_index")[b0:b1], dtype=np.int64).T.copy()),
            bond_types=torch.from_numpy(np.array(self.array("bond_types")[b0:b1], dtype=np.int64)),
            name=self._text("names", i),
            smiles=smiles or None,
            props=json.loads(self._text("props", i)),
            **extra,
        )

    def __iter__(self) -> Iterator[MolGraph]:
        for i in range(len(self)):
            yield self[i]


def merge_stores(paths: Iterable[str | os.PathLike], out: str | os.PathLike, *, overwrite: bool = False,
                 block_bytes: int = 64 << 20) -> Path:
    """Concatenate stores (e.g. shards processed on different machines) into one new store at ``out``.

    Streams each column in blocks of ``block_bytes``; molecule order is shard order.
    All inputs must keep the same optional features. Atomic like :class:`StoreWriter`.
    """
    stores = [MolStore(p) for p in paths]
    if not stores:
        raise ValueError("merge_stores needs at least one input store")
    features = stores[0].features
    for s in stores[1:]:
        if s.features != features:
            raise StoreError(f"cannot merge {s.path} (features {s.features}) with {stores[0].path} ({features})")
    out = Path(out)
    if out.exists() and not overwrite:
        raise FileExistsError(f"store {out} already exists (pass overwrite=True to replace it)")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_sibling(out)
    tmp.mkdir()
    try:
        cols = _Columns(tmp, features)
        for s in stores:
            for name in ("pos", "atom_types", "charges", *features, "bond_index", "bond_types", *_TEXT_COLUMNS):
                _copy_file(s.path / f"{name}.bin", cols.files[name], block_bytes)
            cols.num_atoms = cols.add_pointers("atom_ptr", s.num_atoms(), cols.num_atoms)
            cols.num_bonds = cols.add_pointers("bond_ptr", np.diff(s.array("bond_ptr")), cols.num_bonds)
            for key in _TEXT_COLUMNS:
                lengths = np.diff(s.array(f"{key}_ptr"))
                cols.text_sizes[key] = cols.add_pointers(f"{key}_ptr", lengths, cols.text_sizes[key])
            cols.num_molecules += len(s)
        _write_json(tmp / "meta.json", cols.finish())
        _replace_dir(tmp, out, overwrite)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _copy_file(src: Path, dst, block_bytes: int) -> None:
    with open(src, "rb") as f:
        while block := f.read(block_bytes):
            dst.write(block)
