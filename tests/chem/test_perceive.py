"""Bond perception from coordinates, checked against the SMILES/InChI that QM9 records carry."""

from __future__ import annotations

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import AllChem

from molgen.chem.perceive import check_against_reference, inchi_main_layer, perceive_bonds
from molgen.chem.sanitize import canonical_smiles
from molgen.data.qm9_raw import parse_qm9_xyz


@pytest.fixture(scope="module")
def xyz_records(shared_data):
    files = sorted((shared_data / "qm9" / "xyz_first10").glob("dsgdb9nsd_*.xyz"))
    assert len(files) == 10
    return [parse_qm9_xyz(f.read_text(), f.name) for f in files]


def test_perception_reproduces_the_smiles_of_the_ten_xyz_files(xyz_records):
    for rec in xyz_records:
        result = perceive_bonds(rec.symbols, rec.pos)  # no reference: nothing to lean on
        assert result.mol is not None, (rec.gdb_id, result.detail)
        relaxed = Chem.MolToSmiles(Chem.MolFromSmiles(rec.smiles[1]), isomericSmiles=False)
        assert canonical_smiles(result.mol) == relaxed, rec.gdb_id
        assert result.mol.GetNumAtoms() == len(rec.symbols)
        np.testing.assert_allclose(result.mol.GetConformer().GetPositions(), rec.pos, atol=1e-9)
        assert [a.GetSymbol() for a in result.mol.GetAtoms()] == rec.symbols


def test_cross_check_accepts_matching_and_rejects_wrong_references(xyz_records):
    ethane = xyz_records[6]  # gdb 7, CC
    assert perceive_bonds(ethane.symbols, ethane.pos, reference_smiles=["CC"]).mol is not None
    wrong = perceive_bonds(ethane.symbols, ethane.pos, reference_smiles=["C=C"],
                           reference_inchi=["InChI=1S/C2H4/c1-2/h1-2H2"])
    assert wrong.mol is None and wrong.reason == "perceived bonds disagree with reference SMILES/InChI"
    assert "rdkit: CC" in wrong.detail
    by_inchi = perceive_bonds(ethane.symbols, ethane.pos, reference_smiles=["not a smiles"],
                              reference_inchi=list(ethane.inchi))
    assert by_inchi.mol is not None


def test_strained_cage_needs_the_fallback_and_still_matches():
    """gdb 105, bicyclo[1.1.0]butane-like C1C2CC1C2: a long cross-ring C-C that radii-based bonding over-connects."""
    mol = Chem.AddHs(Chem.MolFromSmiles("C1C2CC1C2"))
    AllChem.EmbedMolecule(mol, randomSeed=7)
    AllChem.MMFFOptimizeMolecule(mol)
    pos = mol.GetConformer().GetPositions()
    result = perceive_bonds([a.GetSymbol() for a in mol.GetAtoms()], pos, reference_smiles=["C1C2CC1C2"])
    assert result.mol is not None, result.detail
    assert result.method == "openbabel" and result.detail.startswith("rdkit:")
    assert canonical_smiles(result.mol) == "C1C2CC1C2"


def test_bad_coordinates_and_failures_are_results_not_exceptions():
    bad = perceive_bonds(["C", "H"], np.array([[0.0, 0.0, 0.0], [np.nan, 0.0, 0.0]]))
    assert bad.mol is None and bad.reason.startswith("bad coordinates")
    # two carbons 5 Angstrom apart with no hydrogens: no valid neutral bonding
    lonely = perceive_bonds(["C", "C"], np.array([[0.0, 0.0, 0.0], [5.0, 0.0, 0.0]]), openbabel_fallback=False)
    assert lonely.mol is None and lonely.reason == "bond perception failed" and lonely.detail.startswith("rdkit:")


def test_inchi_main_layer_drops_charge_and_stereo_layers():
    assert inchi_main_layer("InChI=1S/C2H5NO2/c3-1-2(4)5/h1,3H2,(H,4,5)/p+1/t1-/m0/s1") == \
        "InChI=1S/C2H5NO2/c3-1-2(4)5/h1,3H2,(H,4,5)"
    water = Chem.AddHs(Chem.MolFromSmiles("O"))
    assert check_against_reference(water, ["O"]) is None
    assert check_against_reference(water, ["N"]) is not None


def test_reference_lewis_structure_is_adopted_when_only_bond_orders_differ():
    """QM9 gdb 4018 is published as a zwitterion; xyz2mol perceives the neutral resonance form N#CC(N=O)=C(N)N."""
    reference = "NC(=[NH2+])C(=N[O-])C#N"
    mol = Chem.AddHs(Chem.MolFromSmiles(reference))
    AllChem.EmbedMolecule(mol, randomSeed=11)
    symbols = [a.GetSymbol() for a in mol.GetAtoms()]
    pos = mol.GetConformer().GetPositions()
    plain = perceive_bonds(symbols, pos, openbabel_fallback=False)
    assert plain.mol is not None and canonical_smiles(plain.mol) != canonical_smiles(mol)
    result = perceive_bonds(symbols, pos, reference_smiles=[reference])
    assert result.method == "reference", result.detail
    assert canonical_smiles(result.mol) == canonical_smiles(mol)
    np.testing.assert_allclose(result.mol.GetConformer().GetPositions(), pos, atol=1e-12)
    # a reference with another bare graph (H moved from N to O) is not adopted
    tautomer = perceive_bonds(symbols, pos, reference_smiles=["NC(=N)C(=NO)C#N"], openbabel_fallback=False)
    assert tautomer.mol is None and "reference: connectivity differs" in tautomer.detail
