"""The 1iep crystal ligand (imatinib) of AutoDock Vina's example, and rigid shifts of it (tests only)."""

from __future__ import annotations

from pathlib import Path

from rdkit import Chem


def crystal(vina_1iep: Path) -> Chem.Mol:
    """Imatinib as crystallised in 1iep, hydrogens kept."""
    return Chem.MolFromMolFile(str(vina_1iep / "1iep_ligand.sdf"), removeHs=False)


def shifted(mol: Chem.Mol, dx: float) -> Chem.Mol:
    """A copy of ``mol`` moved by ``dx`` Angstrom along x."""
    out = Chem.Mol(mol)
    conf = out.GetConformer()
    for i in range(out.GetNumAtoms()):
        p = conf.GetAtomPosition(i)
        conf.SetAtomPosition(i, (p.x + dx, p.y, p.z))
    return out
