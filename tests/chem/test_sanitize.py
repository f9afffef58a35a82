"""One hydrogen rule for SMILES and heavy-atom graphs: attached H implicit, stray or charged H kept."""

from __future__ import annotations

import pytest
from rdkit import Chem

from molgen.chem.sanitize import canonical_smiles, sanitized_copy, without_hydrogens
from molgen.eval.reading import read_sdf


def _unsanitized(smiles: str) -> Chem.Mol:
    mol = Chem.MolFromSmiles(smiles, sanitize=False)
    mol.UpdatePropertyCache(strict=False)
    return mol


@pytest.mark.parametrize(("smiles", "expected"), [
    ("[H]C([H])([H])[H]", "C"),
    ("[2H]C", "C"),  # an isotope label on an attached H does not make another graph
    ("F/C([H])=C/F", "FC=CF"),  # nor does an H that defines double-bond stereo
    ("C.[H]", "C.[H]"),  # a free H atom is a fragment of its own: never hidden
    ("[H][H]", "[H][H]"),
    ("C[H-]", "[H-]C"),  # a hydride keeps its charge
])
def test_hydrogen_rule(smiles: str, expected: str) -> None:
    assert canonical_smiles(_unsanitized(smiles)) == expected


def test_explicit_hydrogens_of_a_3d_imine_do_not_change_its_smiles(shared_data):
    """gdb_58 (an amidine, H on the imine N): read from the SDF as written, same SMILES as with implicit H."""
    read = read_sdf(shared_data / "qm9" / "gdb9_first100" / "gdb9.sdf")
    mol = sanitized_copy(read.mols[read.indices.index(57)])
    assert canonical_smiles(mol) == canonical_smiles(Chem.MolFromSmiles("N#CC(=N)N")) == "N#CC(=N)N"
    assert Chem.MolToSmiles(without_hydrogens(mol)) == "N#CC(=N)N"
