"""A user's pocket for pocket-conditioned sampling: a receptor PDB and where the ligand should go.

The pocket is cut exactly as for training (:mod:`molgen.data.crossdocked`): protein heavy
atoms (ATOM records, first model and altloc, no waters or hetero groups), whole residues having
an atom within ``cutoff`` (7 A) of the reference ligand's heavy atoms. Given a centre instead of
a ligand, residues with an atom within ``radius`` of the point are taken (default 10 A: a
drug-sized ligand reaches about 3-5 A from its centre, plus the 7 A of the training pockets).
Coordinates stay in the PDB's frame, so generated ligands come out ready for ``molgen dock``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from molgen.chem.molgraph import MolGraph
from molgen.chem.sdf_records import iter_sdf_blocks, mol_from_sdf_block
from molgen.chem.vocab import VocabularyError
from molgen.data.pocket import DEFAULT_POCKET_CUTOFF, parse_pdb, pocket_graph, select_pocket
from molgen.errors import MolgenInputError, check_regular_file
from molgen.generate.options import DEFAULT_CENTER_RADIUS


def reference_ligand_positions(path: str | Path) -> np.ndarray:
    """[L, 3] heavy-atom coordinates of the first record of an SDF (hydrogens ignored)."""
    check_regular_file(path, "reference ligand SDF")
    blocks = iter(iter_sdf_blocks(path))
    index, block = next(blocks, (0, ""))
    if not block.strip():
        raise MolgenInputError(f"{path}: empty file, expected a reference ligand SDF record")
    mol = mol_from_sdf_block(block, str(path), index, sanitize=False)
    if mol.GetNumConformers() == 0:
        raise MolgenInputError(f"{path}: record {index} has no 3D coordinates")
    heavy = [a.GetIdx() for a in mol.GetAtoms() if a.GetAtomicNum() > 1]
    return mol.GetConformer().GetPositions()[heavy or list(range(mol.GetNumAtoms()))]


def pocket_from_pdb(pdb: str | Path, ref_ligand: str | Path | None = None, center: Sequence[float] | None = None,
                    cutoff: float = DEFAULT_POCKET_CUTOFF, radius: float = DEFAULT_CENTER_RADIUS) -> MolGraph:
    """The pocket of ``pdb`` around ``ref_ligand`` (an SDF) or around ``center`` (x, y, z), as a MolGraph."""
    if (ref_ligand is None) == (center is None):
        raise MolgenInputError("give the pocket's place: either --ref-ligand LIG.sdf or --center X Y Z")
    check_regular_file(pdb, "receptor PDB")
    atoms = parse_pdb(Path(pdb), hetero=False, hydrogens=False)
    if ref_ligand is not None:
        around, distance, what = reference_ligand_positions(ref_ligand), cutoff, f"the ligand in {ref_ligand}"
    else:
        if len(center) != 3 or not all(np.isfinite(center)):
            raise MolgenInputError(f"--center needs three finite numbers X Y Z, got {list(center)}")
        around, distance, what = np.asarray(center, dtype=np.float64)[None, :], radius, f"the centre {list(center)}"
    pocket = select_pocket(atoms, around, distance)
    if len(pocket) == 0:
        raise MolgenInputError(f"{pdb}: no protein residue within {distance} A of {what}; is it the right receptor "
                               "and frame?")
    try:
        return pocket_graph(pocket, name=Path(pdb).name)
    except VocabularyError as err:
        raise MolgenInputError(f"{pdb}: pocket atom outside molgen's vocabulary ({err})") from None
