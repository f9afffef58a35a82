"""The Vina search box: from a reference ligand (TargetDiff protocol), or given explicitly.

A box is a centre and an edge length per axis, in Angstrom, in the receptor's frame.
TargetDiff's ``VinaDockingTask`` centres the box on the middle of the ligand's bounding box,
``(max + min) / 2``, and sizes it to the ligand's extent plus a 5 A buffer per axis,
``(max - min) + 5``; :func:`box_around` does exactly that.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rdkit import Chem

from molgen.dock.errors import DockingInputError, LigandError
from molgen.errors import text_lines

#: Angstrom added to the ligand's extent on each axis (TargetDiff's ``buffer=5.0``).
PADDING = 5.0
#: Largest edge (Angstrom) and volume (A^3) of a box: Vina's grids grow with the volume (0.375 A spacing,
#: one map per atom type) and a far larger box ends in std::bad_alloc inside Vina.
MAX_EDGE = 126.0
MAX_VOLUME = 80.0 ** 3


@dataclass(frozen=True)
class Box:
    """An axis-aligned search box: ``center`` [3] and ``size`` [3] (full edge lengths), Angstrom."""

    center: tuple[float, float, float]
    size: tuple[float, float, float]

    def __post_init__(self) -> None:
        if len(self.center) != 3 or len(self.size) != 3:
            raise DockingInputError(f"a box needs 3 centre and 3 size values, got {self.center} and {self.size}")
        if not all(np.isfinite(self.center)) or not all(s > 0 and np.isfinite(s) for s in self.size):
            raise DockingInputError(f"box centre must be finite and sizes positive, got {self.center} and {self.size}")
        if problem := size_problem(self.size):
            raise DockingInputError(problem)

    def outside(self, coords: np.ndarray, tolerance: float = 0.0) -> np.ndarray:
        """Boolean mask [N] of the points ``coords`` [N, 3] lying outside the box (grown by ``tolerance``)."""
        half = np.asarray(self.size) / 2 + tolerance
        return (np.abs(np.asarray(coords, float) - np.asarray(self.center)) > half).any(axis=1)

    def as_dict(self) -> dict:
        return {"center": [round(c, 4) for c in self.center], "size": [round(s, 4) for s in self.size]}


def size_problem(size) -> str | None:
    """Why a box of edges ``size`` is too large for Vina (None if it is not)."""
    volume = float(np.prod(size))
    if max(size) > MAX_EDGE or volume > MAX_VOLUME:
        return (f"box size {[round(float(s), 3) for s in size]} A is too large for Vina's grids (at most "
                f"{MAX_EDGE:g} A per edge and {MAX_VOLUME:g} A^3; got {volume:.3g} A^3): use a box around the site")
    return None


def box_around(coords: np.ndarray, padding: float = PADDING) -> Box:
    """The TargetDiff box around points ``coords`` [N, 3]: bounding-box middle, extent + ``padding`` per axis.

    A box too large for Vina (a molecule spread over more than :data:`MAX_EDGE`) is a :class:`LigandError`.
    """
    coords = np.asarray(coords, float)
    low, high = coords.min(axis=0), coords.max(axis=0)
    if not np.isfinite(coords).all():
        raise LigandError("coordinates are not finite numbers")
    if problem := size_problem(high - low + padding):
        raise LigandError(f"the box around this molecule: {problem}")
    return Box(tuple(float(x) for x in (low + high) / 2), tuple(float(x) for x in high - low + padding))


def read_reference_ligand(path: str | Path) -> Chem.Mol:
    """The first record of the SDF (or MOL) file ``path`` as written (through the one SDF reader, so a NaN or 1e300
    coordinate is refused naming its line); :class:`DockingInputError` naming the file and record if unreadable."""
    from molgen.chem.records import BadRecordError
    from molgen.chem.sdf_records import iter_sdf_blocks, mol_from_sdf_block

    path = Path(path)
    if not path.is_file():
        raise DockingInputError(f"{path}: reference ligand file not found")
    index, block = next(iter(iter_sdf_blocks(path)), (0, ""))
    try:
        mol = mol_from_sdf_block(block, str(path), index, sanitize=False)
    except BadRecordError as exc:
        raise DockingInputError(f"{path}: record {index} is not a readable molecule ({exc.record.message})") from None
    if mol.GetNumConformers() == 0:
        raise DockingInputError(f"{path}: record {index} has no 3D coordinates")
    return mol


def box_from_ligand_file(path: str | Path, padding: float = PADDING) -> Box:
    """The TargetDiff box around the first molecule of the SDF (or MOL) file ``path``, hydrogens added in 3D."""
    mol = read_reference_ligand(path)
    # TargetDiff boxes the ligand with hydrogens added in 3D; a reference RDKit cannot sanitise is boxed as written
    if Chem.SanitizeMol(mol, catchErrors=True) == Chem.SanitizeFlags.SANITIZE_NONE:
        mol = Chem.AddHs(mol, addCoords=True)
    return box_around(mol.GetConformer().GetPositions(), padding)


def read_box_file(path: str | Path) -> Box:
    """A box from Vina's config format (``center_x = ...`` ... ``size_z = ...``, one key per line)."""
    path = Path(path)
    if not path.is_file():
        raise DockingInputError(f"{path}: box file not found")
    values = {}
    for number, line in enumerate(text_lines(path), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("=")
        try:
            values[key.strip()] = float(value)
        except ValueError:
            raise DockingInputError(f"{path}: line {number}: expected 'key = number', got {line.strip()!r}") from None
        if not sep:
            raise DockingInputError(f"{path}: line {number}: expected 'key = number', got {line.strip()!r}")
        if not np.isfinite(values[key.strip()]):
            raise DockingInputError(f"{path}: line {number}: {key.strip()} must be a finite number, got "
                                    f"{value.strip()!r}")
    keys = [f"{kind}_{axis}" for kind in ("center", "size") for axis in "xyz"]
    missing = [k for k in keys if k not in values]
    if missing:
        raise DockingInputError(f"{path}: missing {', '.join(missing)}")
    return Box(tuple(values[f"center_{a}"] for a in "xyz"), tuple(values[f"size_{a}"] for a in "xyz"))


def check_inside(mol: Chem.Mol, box: Box) -> None:
    """Raise :class:`LigandError` when a heavy atom of ``mol`` lies outside ``box`` (Vina would score NaN)."""
    coords = mol.GetConformer().GetPositions()
    heavy = np.array([a.GetAtomicNum() > 1 for a in mol.GetAtoms()])
    out = box.outside(coords[heavy])
    if out.any():
        center = coords[heavy].mean(axis=0)
        raise LigandError(
            f"ligand outside the box: {int(out.sum())} of {int(heavy.sum())} heavy atoms lie outside "
            f"(ligand centre {np.round(center, 2).tolist()}, box centre {np.round(box.center, 2).tolist()}, "
            f"size {np.round(box.size, 2).tolist()})"
        )
