"""Ligand preparation: an RDKit molecule -> Vina ligand PDBQT with meeko, and poses back to RDKit.

As in TargetDiff, hydrogens are added with coordinates (``Chem.AddHs(addCoords=True)``)
to molecules that have none, and meeko (``MoleculePreparation``) assigns AutoDock atom
types, Gasteiger charges and the torsion tree. meeko keeps the atom order of its input in
the PDBQT remarks, so the poses Vina returns are turned back into RDKit molecules with the
input's bonds and charges (:func:`poses_to_mols`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rdkit import Chem

from molgen.dock.errors import LigandError

#: Vina's interaction cutoff (Angstrom): a ligand with no receptor atom this close scores exactly 0.0.
CONTACT_CUTOFF = 8.0
#: Elements Vina has ligand atom types for in drug-like molecules (XS types of AutoDock Vina 1.2).
SUPPORTED_ELEMENTS = frozenset({"H", "C", "N", "O", "F", "P", "S", "Cl", "Br", "I"})


def sanitized_ligand(mol: Chem.Mol) -> Chem.Mol:
    """A sanitised copy of ``mol`` with explicit hydrogens placed in 3D, checked for what Vina needs.

    Raises :class:`LigandError` with the reason: no 3D coordinates, an element Vina cannot
    type, RDKit sanitisation failure, or several disconnected fragments.
    """
    if mol is None or mol.GetNumAtoms() == 0:
        raise LigandError("empty molecule")
    if mol.GetNumConformers() == 0:
        raise LigandError("no coordinates")
    conf = mol.GetConformer()
    if not conf.Is3D() and np.allclose(conf.GetPositions()[:, 2], 0.0):
        raise LigandError("2D coordinates only (all z = 0); docking needs a 3D pose")
    unsupported = sorted({a.GetSymbol() for a in mol.GetAtoms()} - SUPPORTED_ELEMENTS)
    if unsupported:
        supported = ", ".join(sorted(SUPPORTED_ELEMENTS))
        raise LigandError(f"unsupported element {', '.join(unsupported)} (Vina ligand types cover {supported})")
    if not np.isfinite(conf.GetPositions()).all():
        raise LigandError("non-finite coordinates")
    copy = Chem.Mol(mol)
    try:
        Chem.SanitizeMol(copy)
    except (ValueError, RuntimeError) as exc:  # RDKit's MolSanitizeException (a ValueError) or RuntimeError
        raise LigandError(f"RDKit sanitisation failed: {exc}") from exc
    n_fragments = len(Chem.GetMolFrags(copy))
    if n_fragments > 1:
        raise LigandError(f"{n_fragments} disconnected fragments (dock one molecule per record)")
    has_h = any(a.GetAtomicNum() == 1 for a in copy.GetAtoms())
    return copy if has_h and not _missing_hydrogens(copy) else Chem.AddHs(copy, addCoords=True)


def _missing_hydrogens(mol: Chem.Mol) -> bool:
    """True when some atom still carries implicit hydrogens (hydrogens only partly explicit)."""
    return any(a.GetNumImplicitHs() > 0 for a in mol.GetAtoms())


def ligand_pdbqt(mol: Chem.Mol) -> str:
    """The Vina PDBQT string of ``mol`` (sanitised, hydrogens explicit with coordinates), via meeko."""
    from meeko import MoleculePreparation, PDBQTWriterLegacy

    try:
        setups = MoleculePreparation().prepare(mol)
    except (RuntimeError, ValueError, KeyError) as exc:  # what meeko raises for molecules it cannot type
        raise LigandError(f"meeko preparation failed: {type(exc).__name__}: {exc}") from exc
    if len(setups) != 1:
        raise LigandError(f"meeko returned {len(setups)} molecule setups, expected 1")
    text, ok, error = PDBQTWriterLegacy.write_string(setups[0])
    if not ok:
        raise LigandError(f"meeko could not write the PDBQT: {error.strip()}")
    return text


def poses_to_mols(pdbqt_poses: str) -> list[Chem.Mol]:
    """RDKit molecules (hydrogens explicit) for the poses of a Vina PDBQT string written from meeko input."""
    from meeko import PDBQTMolecule, RDKitMolCreate

    pdbqt_mol = PDBQTMolecule(pdbqt_poses, skip_typing=True)
    mols = RDKitMolCreate.from_pdbqt_mol(pdbqt_mol)
    if len(mols) != 1 or mols[0] is None:
        raise LigandError("meeko could not rebuild the RDKit molecule from the Vina poses")
    mol = mols[0]
    return [Chem.Mol(mol, confId=conf.GetId()) for conf in mol.GetConformers()]


def receptor_coordinates(pdbqt: str | Path) -> np.ndarray:
    """Coordinates [N, 3] of the heavy atoms of a receptor PDBQT (ATOM/HETATM records)."""
    coords = []
    with open(pdbqt, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.startswith(("ATOM", "HETATM")) and line[77:79].strip() not in ("H", "HD", "HS"):
                coords.append((float(line[30:38]), float(line[38:46]), float(line[46:54])))
    return np.asarray(coords, dtype=float).reshape(-1, 3)


def check_in_frame(ligand: Chem.Mol, receptor: np.ndarray, box, mode: str) -> None:
    """Raise :class:`LigandError` when Vina could only score ``ligand`` as 0.0 for want of receptor atoms.

    ``score``/``minimize``: some receptor heavy atom must lie within :data:`CONTACT_CUTOFF` of a ligand
    heavy atom (else the pose is outside the receptor: no interaction term, energy exactly 0).
    ``dock``: the search ``box`` must hold a receptor heavy atom (grown by the cutoff).
    """
    if len(receptor) == 0:
        raise LigandError("the receptor has no heavy atom")
    coords = ligand.GetConformer().GetPositions()
    heavy = coords[[a.GetAtomicNum() > 1 for a in ligand.GetAtoms()]]
    if mode == "dock":
        if box.outside(receptor, tolerance=CONTACT_CUTOFF).all():
            raise LigandError(
                f"the box (centre {np.round(box.center, 2).tolist()}, size {np.round(box.size, 2).tolist()}) "
                f"holds no receptor atom within {CONTACT_CUTOFF:g} A: nothing to dock against"
            )
        return
    nearest = min(float(np.min(np.linalg.norm(receptor - x, axis=1))) for x in heavy)
    if nearest > CONTACT_CUTOFF:
        raise LigandError(
            f"ligand outside the receptor: its nearest heavy atom is {nearest:.1f} A from the receptor "
            f"(Vina's cutoff {CONTACT_CUTOFF:g} A; it would score 0.0)"
        )
