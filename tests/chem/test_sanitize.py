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


def test_an_aromatic_bond_outside_a_ring_is_not_sanitised_however_it_arrives(tmp_path):
    """A model's aromatic bond between chain atoms: molgen's writer (graph -> RDKit) cannot kekulise it; RDKit
    reading the written file would accept it. Evaluation agrees with the writer (issue 20: 5 written molecules
    sanitised, 17 'valid')."""
    import torch

    from molgen.chem.molgraph import MolGraph
    from molgen.chem.vocab import element_index
    from molgen.eval import evaluate_molecules
    from molgen.generate.writing import write_samples

    c = element_index("C")
    chain = MolGraph(pos=torch.tensor([[0.0, 0, 0], [1.4, 0, 0], [2.8, 0, 0]]), atom_types=torch.full((3,), c),
                     charges=torch.zeros(3, dtype=torch.long), bond_index=torch.tensor([[0, 1], [1, 2]]),
                     bond_types=torch.tensor([4, 1]))
    out = tmp_path / "chain.sdf"
    assert write_samples([chain], out)["sanitized"] == 0
    read = Chem.MolFromMolFile(str(out), sanitize=False, removeHs=False)
    assert read.GetBondWithIdx(0).GetBondType() == Chem.BondType.AROMATIC  # the file keeps the model's bond
    assert sanitized_copy(read) is None
    assert evaluate_molecules([read], "basic")["validity/valid"] == 0.0
    benzene = Chem.MolFromMolBlock(Chem.MolToMolBlock(Chem.MolFromSmiles("c1ccccc1"), kekulize=False))
    assert sanitized_copy(benzene) is not None  # aromatic bonds in a ring stay valid
