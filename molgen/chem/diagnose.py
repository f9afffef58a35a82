"""Why an input file or record is unreadable, in words that name the line (RDKit only, no torch).

Used by the one SDF reader, :mod:`molgen.chem.sdf_records` (datasets, evaluation and docking),
which must not import torch.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

from rdkit import Chem

from molgen.errors import MolgenInputError


class TruncatedFileError(MolgenInputError):
    """A compressed file that ends or breaks before its end (a cut download, a killed writer)."""


def truncated_gzip(path: Path, index: int, exc: BaseException) -> TruncatedFileError:
    """The error for a ``.gz`` file that ends or breaks inside record ``index``."""
    return TruncatedFileError(f"{path}: truncated or corrupt gzip file (stops in record {index}: {exc})")


def diagnose_atom_block(block: str) -> tuple[str, str]:
    """Why RDKit rejected a V2000 block: ``(reason, detail)`` from its counts line and atom lines."""
    lines = block.splitlines()
    try:
        n_atoms = int(lines[3][:3])
    except (IndexError, ValueError):
        return "unparseable molfile block", _counts_line(block)
    elements = _element_symbols()
    for k, line in enumerate(lines[4:4 + n_atoms]):
        where = f"atom line {k + 1} (line {k + 5} of the record)"
        symbol = line[31:34].strip()
        if symbol and symbol not in ("R#", "*", "A", "Q", "L") and symbol not in elements:
            return "unknown element symbol", f"{symbol!r} on {where}"
        try:
            coords = [float(line[c:c + 10]) for c in (0, 10, 20)]
        except ValueError:
            return "unparseable molfile block", f"coordinates {line[:30]!r} on {where}"
        for axis, value in zip("xyz", coords, strict=True):
            if not math.isfinite(value):
                return "NaN or infinite coordinates", f"{axis} = {value} in {line[:30]!r} on {where}"
            if abs(value) > MAX_COORDINATE:
                return "coordinate out of range", _out_of_range(axis, value, where)
    return "unparseable molfile block", _counts_line(block)


#: The widest coordinate a V2000 atom line holds (``%10.4f``), Angstrom; a larger one is no molecule's.
MAX_COORDINATE = 99999.9999


def _out_of_range(axis: str, value: float, where: str) -> str:
    return f"{axis} = {value:g} on {where}; a molfile coordinate is at most {MAX_COORDINATE} in magnitude"


def coordinate_problem(mol: Chem.Mol, block: str) -> tuple[str, str] | None:
    """``(reason, detail)`` for the first atom of the parsed ``mol`` with a NaN, infinite or out-of-range
    coordinate (a V3000 block, whose fields have no width, lets RDKit read 1e300 or nan), or None."""
    import numpy as np

    if mol.GetNumConformers() == 0:
        return None
    pos = mol.GetConformer().GetPositions()  # [N, 3]
    bad = ~np.isfinite(pos) | (np.abs(np.nan_to_num(pos, nan=0.0)) > MAX_COORDINATE)
    if not bad.any():
        return None
    atom, column = (int(v) for v in np.argwhere(bad)[0])
    where = f"atom {atom + 1} (line {_atom_line(block, atom)} of the record)"
    value = float(pos[atom, column])
    if not math.isfinite(value):
        return "NaN or infinite coordinates", f"{'xyz'[column]} = {value} on {where}"
    return "coordinate out of range", _out_of_range("xyz"[column], value, where)


def _atom_line(block: str, atom: int) -> int:
    """The line number (1-based, in the record) of atom ``atom`` (0-based) of a V2000 or V3000 block."""
    lines = block.splitlines()
    for k, line in enumerate(lines):
        if line.startswith("M  V30 BEGIN ATOM"):
            return k + 2 + atom
    return 5 + atom


@functools.cache
def _element_symbols() -> frozenset[str]:
    table = Chem.GetPeriodicTable()
    return frozenset(table.GetElementSymbol(z) for z in range(1, 119))


def _counts_line(block: str) -> str:
    lines = block.splitlines()
    return f"counts line: {lines[3].strip()!r}" if len(lines) > 3 else f"only {len(lines)} lines"


#: Most bonds per atom handed to RDKit: it dies with SIGSEGV on some graphs with far more (a sampled
#: 500-atom graph with atom degree 59), and no real molecule has an atom with more than 8 bonds.
RDKIT_MAX_DEGREE = 8


def block_max_degree(block: str) -> int:
    """The largest number of bonds on one atom in a V2000 or V3000 mol block, read without RDKit (0 if none)."""
    lines = block.splitlines()
    pairs: list[tuple[str, str]] = []
    if "V3000" in block:
        inside = False
        for line in lines:
            if line.startswith("M  V30 BEGIN BOND"):
                inside = True
            elif line.startswith("M  V30 END BOND"):
                break
            elif inside and len(fields := line.split()) >= 6:
                pairs.append((fields[4], fields[5]))
    elif len(lines) > 3 and lines[3][:6].replace(" ", "").isdigit():
        n_atoms, n_bonds = int(lines[3][:3]), int(lines[3][3:6])
        pairs = [(line[:3], line[3:6]) for line in lines[4 + n_atoms:4 + n_atoms + n_bonds]]
    counts: dict[str, int] = {}
    for a, b in pairs:
        for atom in (a.strip(), b.strip()):
            counts[atom] = counts.get(atom, 0) + 1
    return max(counts.values(), default=0)


def rdkit_degree_problem(block: str) -> str:
    """Why ``block`` must not be parsed by RDKit (``""`` when it may be)."""
    degree = block_max_degree(block)
    return f"atom degree {degree} > {RDKIT_MAX_DEGREE} (not given to RDKit)" if degree > RDKIT_MAX_DEGREE else ""
