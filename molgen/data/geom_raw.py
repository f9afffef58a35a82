"""Readers for the two official GEOM releases (Axelrod & Gomez-Bombarelli, Sci. Data 2022).

* ``rdkit_folder``: ``summary_drugs.json`` maps each SMILES to a summary entry whose
  ``pickle_path`` names ``drugs/<name>.pickle``; the pickle is a dict with
  ``conformers: [{rd_mol, geom_id, set, totalenergy, relativeenergy, boltzmannweight, degeneracy}]``.
* ``drugs_crude.msgpack``: a stream of msgpack dicts ``{smiles: {..., conformers: [{xyz: [[Z, x, y, z], ...],
  totalenergy, relativeenergy, geom_id, ...}]}}``; bonds must be perceived from the coordinates.

Everything here is pure parsing into plain records; nothing is featurised.
Errors name the file and the molecule they come from.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgpack
import numpy as np

from molgen.errors import MolgenInputError, UnsafeFileError
from molgen.safe_load import load_pickle

#: Conformer fields copied into ``MolGraph.props`` (those present in the source).
CONFORMER_FIELDS = ("geom_id", "set", "confnum", "totalenergy", "relativeenergy", "boltzmannweight", "degeneracy")


class GeomFormatError(MolgenInputError):
    """A GEOM file or entry that does not follow the published schema."""


@dataclass
class GeomConformer:
    """One conformer: an RDKit molecule (rdkit_folder) or atomic numbers + coordinates (msgpack)."""

    meta: dict[str, Any]
    rd_mol: Any = None
    numbers: np.ndarray | None = None  # [N] atomic numbers
    pos: np.ndarray | None = None  # [N, 3] Angstrom


@dataclass
class GeomMolecule:
    """A molecule (one SMILES) with the conformers kept for it."""

    smiles: str
    conformers: list[GeomConformer] = field(default_factory=list)
    source: str = ""


def conformer_meta(raw: dict[str, Any]) -> dict[str, Any]:
    """Plain-python copy of the known conformer fields present in ``raw``."""
    out = {}
    for key in CONFORMER_FIELDS:
        if key in raw and raw[key] is not None:
            value = raw[key]
            out[key] = value.item() if isinstance(value, np.generic) else value
    return out


def lowest_energy(conformers: list[dict[str, Any]], k: int, where: str) -> list[dict[str, Any]]:
    """The ``k`` conformers of lowest ``totalenergy`` (ties keep file order); ``k <= 0`` keeps all."""
    def energy(c: dict[str, Any]) -> float:
        for key in ("totalenergy", "relativeenergy"):
            if c.get(key) is not None:
                return float(c[key])
        raise GeomFormatError(f"{where}: conformer has neither 'totalenergy' nor 'relativeenergy'")

    ranked = sorted(conformers, key=energy)
    return ranked if k <= 0 else ranked[:k]


# --------------------------------------------------------------------------- rdkit_folder


def iter_summary(path: Path, chunk_chars: int = 1 << 20) -> Iterator[tuple[str, dict[str, Any]]]:
    """Stream ``(smiles, entry)`` pairs of ``summary_drugs.json`` without loading the whole object.

    The file is one JSON object; it is decoded entry by entry from a sliding text buffer,
    so memory stays bounded by the largest entry, not by the ~300k-molecule summary.
    """
    decoder = json.JSONDecoder()
    with open(path, encoding="utf-8") as handle:
        buf, pos, eof = "", 0, False

        def more() -> bool:
            nonlocal buf, pos, eof
            text = handle.read(chunk_chars)
            buf, pos, eof = buf[pos:] + text, 0, not text
            return bool(text)

        def token(skip: str = " \t\r\n") -> str:
            nonlocal pos
            while True:
                while pos < len(buf) and buf[pos] in skip:
                    pos += 1
                if pos < len(buf) or not more():
                    return buf[pos] if pos < len(buf) else ""

        def value() -> Any:
            nonlocal pos
            while True:
                try:
                    obj, end = decoder.raw_decode(buf, pos)
                    if end < len(buf) or eof:
                        pos = end
                        return obj
                except json.JSONDecodeError as err:
                    if eof:
                        raise GeomFormatError(f"{path}: invalid JSON near character {err.pos} of the buffer "
                                              f"({err.msg})") from err
                more()

        if token() != "{":
            raise GeomFormatError(f"{path}: expected a JSON object mapping SMILES to entries")
        pos += 1
        while True:
            first = token(" \t\r\n,")
            if first == "}":
                return
            key = value()
            if not isinstance(key, str) or token() != ":":
                raise GeomFormatError(f"{path}: expected '\"SMILES\": {{...}}' pairs, got key {key!r}")
            pos += 1
            token()
            entry = value()
            if not isinstance(entry, dict):
                raise GeomFormatError(f"{path}: entry for {key!r} is not an object")
            yield key, entry


def resolve_pickle_path(root: Path, pickle_path: str) -> Path:
    """Locate a summary's ``pickle_path`` under ``root``.

    The official release stores paths relative to ``rdkit_folder`` (``drugs/x.pickle``);
    re-packed copies may carry absolute paths from another machine, so the last two
    and the last path components are tried under ``root`` as well.
    """
    given = Path(pickle_path)
    candidates = [given] if given.is_absolute() else [root / given]
    candidates += [root / Path(*given.parts[-2:]), root / given.name]
    for cand in candidates:
        if cand.is_file():
            return cand
    raise FileNotFoundError(f"pickle {pickle_path!r} not found under {root}")


def read_rdkit_pickle(path: Path, smiles: str, k: int) -> GeomMolecule:
    """Read one ``drugs/*.pickle`` and keep its ``k`` lowest-energy conformers."""
    try:
        record = load_pickle(path)  # restricted: RDKit molecules, builtin containers, numpy only; no code runs
    except UnsafeFileError as err:
        raise GeomFormatError(str(err)) from None
    where = f"{path} ({smiles})"
    if not isinstance(record, dict) or not isinstance(record.get("conformers"), list):
        raise GeomFormatError(f"{where}: expected a dict with a 'conformers' list")
    kept = []
    for raw in lowest_energy(record["conformers"], k, where):
        if raw.get("rd_mol") is None:
            raise GeomFormatError(f"{where}: conformer without 'rd_mol'")
        kept.append(GeomConformer(meta=conformer_meta(raw), rd_mol=raw["rd_mol"]))
    return GeomMolecule(smiles=smiles, conformers=kept, source=str(path))


# --------------------------------------------------------------------------- msgpack


def iter_msgpack_chunks(path: Path) -> Iterator[dict[str, dict[str, Any]]]:
    """Stream the top-level msgpack objects (dicts of ``{smiles: entry}``) one at a time."""
    with open(path, "rb") as handle:
        unpacker = msgpack.Unpacker(handle, raw=False, strict_map_key=False, max_buffer_size=2**31 - 1)
        for k, chunk in enumerate(unpacker):
            if not isinstance(chunk, dict):
                raise GeomFormatError(f"{path}: object {k} is a {type(chunk).__name__}, expected a dict of molecules")
            yield chunk


def msgpack_molecule(smiles: str, entry: dict[str, Any], k: int, source: str) -> GeomMolecule:
    """Parse one msgpack molecule entry, keeping its ``k`` lowest-energy conformers."""
    where = f"{source} ({smiles})"
    if not isinstance(entry, dict) or not isinstance(entry.get("conformers"), list):
        raise GeomFormatError(f"{where}: expected an entry with a 'conformers' list")
    kept = []
    for raw in lowest_energy(entry["conformers"], k, where):
        xyz = np.asarray(raw.get("xyz", []), dtype=np.float64)
        if xyz.ndim != 2 or xyz.shape[1] != 4 or len(xyz) == 0:
            raise GeomFormatError(f"{where}: conformer 'xyz' must be a non-empty [[Z, x, y, z], ...] list")
        numbers = xyz[:, 0].astype(np.int64)
        if not np.array_equal(numbers, xyz[:, 0]):
            raise GeomFormatError(f"{where}: non-integer atomic number in 'xyz'")
        kept.append(GeomConformer(meta=conformer_meta(raw), numbers=numbers, pos=xyz[:, 1:]))
    return GeomMolecule(smiles=smiles, conformers=kept, source=source)
