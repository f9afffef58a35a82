"""featurize_mol / reconstruct_mol on real QM9 records: canonical SMILES survive the round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from rdkit import Chem
from rdkit.Chem import AllChem

from molgen.chem.featurize import (
    FeaturizeError,
    check_3d,
    featurize_mol,
    reconstruct_mol,
)
from molgen.chem.molgraph import MolGraph
from molgen.chem.sanitize import canonical_smiles
from molgen.chem.vocab import VocabularyError, element_index

# gdb9.sdf records whose charges leave hydrogens implicit (the file itself is inconsistent there)
IMPLICIT_H_RECORDS = {"gdb_24", "gdb_45", "gdb_76", "gdb_89"}


@pytest.fixture(scope="module")
def gdb9_mols(shared_data):
    supplier = Chem.SDMolSupplier(str(shared_data / "qm9" / "gdb9_first100" / "gdb9.sdf"), removeHs=False)
    mols = list(supplier)
    assert len(mols) == 100 and all(m is not None for m in mols)
    return mols


@pytest.mark.parametrize("kekulize", [False, True])
def test_round_trip_preserves_canonical_smiles_of_gdb9_records(gdb9_mols, kekulize):
    rejected = set()
    for mol in gdb9_mols:
        name = mol.GetProp("_Name")
        try:
            graph = featurize_mol(mol, kekulize=kekulize)
        except FeaturizeError as exc:
            assert "implicit hydrogens" in str(exc)
            rejected.add(name)
            continue
        assert graph.num_atoms == mol.GetNumAtoms() and graph.name == name
        result = reconstruct_mol(graph)
        assert result.sanitized and result.error is None, (name, result.error)
        assert canonical_smiles(result.mol) == canonical_smiles(mol) == graph.smiles, name
        np.testing.assert_allclose(result.mol.GetConformer().GetPositions(), mol.GetConformer().GetPositions(),
                                   atol=1e-6)
    assert rejected == IMPLICIT_H_RECORDS


def test_aromatic_bonds_are_class_4_unless_kekulized():
    mol = Chem.AddHs(Chem.MolFromSmiles("c1ccncc1O"))
    AllChem.EmbedMolecule(mol, randomSeed=1)
    aromatic = featurize_mol(mol)
    assert int((aromatic.bond_types == 4).sum()) == 6
    assert aromatic.is_aromatic.sum().item() == 6 and aromatic.is_in_ring.sum().item() == 6
    kekule = featurize_mol(mol, kekulize=True)
    assert int((kekule.bond_types == 4).sum()) == 0
    assert sorted(kekule.bond_types.tolist()).count(2) == 3
    for graph in (aromatic, kekule):
        assert canonical_smiles(reconstruct_mol(graph).mol) == "Oc1cccnc1"


def test_charges_and_hybridization_features():
    mol = Chem.AddHs(Chem.MolFromSmiles("C[NH3+].[O-]C=O"))
    AllChem.EmbedMolecule(mol, randomSeed=3)
    graph = featurize_mol(mol)
    assert sorted(graph.charges.tolist()) == [-1] + [0] * 10 + [1]
    n_index = graph.atom_types.tolist().index(element_index("N"))
    assert graph.charges[n_index] == 1 and graph.hybridization[n_index] == 4  # SP3
    assert canonical_smiles(reconstruct_mol(graph).mol) == canonical_smiles(mol)


def test_unsupported_element_and_charge_raise_vocabulary_error():
    se = Chem.AddHs(Chem.MolFromSmiles("[SeH2]"))
    AllChem.EmbedMolecule(se, randomSeed=0)
    with pytest.raises(VocabularyError, match="Se"):
        featurize_mol(se)
    charged = Chem.AddHs(Chem.MolFromSmiles("O"))
    AllChem.EmbedMolecule(charged, randomSeed=0)
    charged.GetAtomWithIdx(0).SetFormalCharge(4)
    charged.UpdatePropertyCache(strict=False)
    with pytest.raises(VocabularyError, match=r"\+4"):
        featurize_mol(charged)


def _with_coords(mol: Chem.Mol, pos: np.ndarray, is3d: bool = True) -> Chem.Mol:
    conf = Chem.Conformer(mol.GetNumAtoms())
    for k, p in enumerate(pos):
        conf.SetAtomPosition(k, p.tolist())
    conf.Set3D(is3d)
    mol = Chem.Mol(mol)
    mol.RemoveAllConformers()
    mol.AddConformer(conf, assignId=True)
    return mol


def test_missing_or_bad_coordinates_are_rejected():
    water = Chem.AddHs(Chem.MolFromSmiles("O"))
    good = np.array([[0.0, 0.0, 0.1], [0.96, 0.0, 0.0], [-0.24, 0.93, 0.0]])
    assert check_3d(_with_coords(water, good)).shape == (3, 3)
    with pytest.raises(FeaturizeError, match="no conformer"):
        featurize_mol(water)
    with pytest.raises(FeaturizeError, match="2D conformer"):
        featurize_mol(_with_coords(water, good, is3d=False))
    flat = good.copy()
    flat[:, 2] = 0
    with pytest.raises(FeaturizeError, match="all z = 0"):
        featurize_mol(_with_coords(water, flat))
    nan = good.copy()
    nan[1, 1] = np.nan
    with pytest.raises(FeaturizeError, match="NaN"):
        featurize_mol(_with_coords(water, nan))
    line = np.array([[0.0, 0, 0], [1.2, 0, 0], [-1.06, 0, 0], [2.26, 0, 0]])  # H-C#C-H on the x axis
    acetylene = Chem.AddHs(Chem.MolFromSmiles("C#C"))
    assert featurize_mol(_with_coords(acetylene, line)).smiles == "C#C"


def test_implicit_hydrogens_rejected_unless_added():
    mol = Chem.MolFromSmiles("CO")
    AllChem.EmbedMolecule(mol, randomSeed=0)
    with pytest.raises(FeaturizeError, match="implicit hydrogens"):
        featurize_mol(mol)
    graph = featurize_mol(mol, add_hs=True)
    assert graph.num_atoms == 6 and graph.smiles == "CO"


def test_reconstruction_failure_is_reported_not_raised():
    # a carbon with five single bonds to hydrogens
    graph = MolGraph(
        pos=torch.randn(6, 3),
        atom_types=torch.tensor([2, 0, 0, 0, 0, 0]),
        charges=torch.zeros(6, dtype=torch.long),
        bond_index=torch.tensor([[0, 0, 0, 0, 0], [1, 2, 3, 4, 5]]),
        bond_types=torch.ones(5, dtype=torch.long),
        name="pentavalent",
    )
    result = reconstruct_mol(graph)
    assert not result.sanitized and "valence" in result.error.lower()
    assert result.mol.GetNumAtoms() == 6 and result.mol.GetProp("_Name") == "pentavalent"
    unsanitized = reconstruct_mol(graph, sanitize=False)
    assert unsanitized.error is None and not unsanitized.sanitized
