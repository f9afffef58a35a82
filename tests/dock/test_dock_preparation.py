"""Ligand and receptor preparation: what Vina needs, what it cannot take, and the receptor cache."""

from __future__ import annotations

import pytest
from rdkit import Chem
from rdkit.Chem import AllChem

from molgen.dock import DockingInputError, LigandError, prepare_receptor
from molgen.dock.ligand import ligand_pdbqt, sanitized_ligand

# A tiny protein fragment (Gly-Ala), a water and a ligand as HETATM, and a zinc ion.
PDB = """\
ATOM      1  N   GLY A   1       0.000   0.000   0.000  1.00  0.00           N
ATOM      2  CA  GLY A   1       1.458   0.000   0.000  1.00  0.00           C
ATOM      3  C   GLY A   1       2.009   1.420   0.000  1.00  0.00           C
ATOM      4  O   GLY A   1       1.383   2.339   0.520  1.00  0.00           O
ATOM      5  N   ALA A   2       3.268   1.587  -0.510  1.00  0.00           N
ATOM      6  CA  ALA A   2       3.908   2.897  -0.560  1.00  0.00           C
ATOM      7  C   ALA A   2       5.406   2.756  -0.800  1.00  0.00           C
ATOM      8  O   ALA A   2       5.956   1.656  -0.800  1.00  0.00           O
ATOM      9  CB  ALA A   2       3.284   3.720  -1.680  1.00  0.00           C
HETATM   10  O   HOH A 101       8.000   8.000   8.000  1.00  0.00           O
HETATM   11  C1  LIG A 201      -3.000   0.000   0.000  1.00  0.00           C
HETATM   12  O1  LIG A 201      -4.200   0.000   0.000  1.00  0.00           O
HETATM   13 ZN    ZN A 301       0.000  -3.000   0.000  1.00  0.00          ZN
END
"""

pytest.importorskip("meeko", reason="the dock extra (vina, meeko, gemmi) is not installed")


def embedded(smiles: str, hydrogens: bool = True) -> Chem.Mol:
    mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
    AllChem.EmbedMolecule(mol, randomSeed=0)
    return mol if hydrogens else Chem.RemoveHs(mol)


def test_ligand_pdbqt_has_torsion_tree_and_polar_hydrogen():
    text = ligand_pdbqt(sanitized_ligand(embedded("CCO")))
    assert "ROOT" in text and "TORSDOF" in text
    assert any(line.startswith("ATOM") and line.rstrip().endswith("HD") for line in text.splitlines())


def test_hydrogens_are_added_in_3d_when_missing():
    heavy = embedded("CC(=O)Nc1ccc(O)cc1", hydrogens=False)
    ligand = sanitized_ligand(heavy)
    assert ligand.GetNumAtoms() == Chem.AddHs(heavy).GetNumAtoms()
    positions = ligand.GetConformer().GetPositions()
    assert (abs(positions[heavy.GetNumAtoms():]).sum(axis=1) > 0).all()  # placed, not at the origin


@pytest.mark.parametrize(
    "smiles,reason",
    [("C[Se]C", "unsupported element Se"), ("CCO.O", "2 disconnected fragments"), ("C[Si](C)(C)C", "element Si")],
)
def test_ligands_vina_cannot_take_get_a_reason(smiles, reason):
    with pytest.raises(LigandError, match=reason):
        sanitized_ligand(embedded(smiles))


def test_flat_molecule_is_refused():
    mol = Chem.MolFromSmiles("CCO")
    AllChem.Compute2DCoords(mol)
    with pytest.raises(LigandError, match="2D coordinates only"):
        sanitized_ligand(mol)


def test_receptor_strips_water_and_ligand_keeps_zinc_adds_hydrogens(tmp_path):
    pdb = tmp_path / "tiny.pdb"
    pdb.write_text(PDB)
    prepared = prepare_receptor(pdb, cache_dir=tmp_path / "cache")
    text = prepared.pdbqt.read_text()
    atoms = [line for line in text.splitlines() if line.startswith(("ATOM", "HETATM"))]
    assert prepared.n_heavy_atoms == 10  # 9 protein atoms + Zn
    assert prepared.n_removed_residues == 2  # water and LIG
    assert "HOH" not in text and "LIG" not in text
    assert any(line[77:79].strip() == "Zn" for line in atoms)
    assert any(line[77:79].strip() == "HD" for line in atoms)  # polar hydrogens added for H-bond typing


def test_receptor_cache_is_keyed_by_content(tmp_path, monkeypatch):
    import molgen.dock.receptor as receptor

    pdb = tmp_path / "tiny.pdb"
    pdb.write_text(PDB)
    first = prepare_receptor(pdb, cache_dir=tmp_path / "cache")
    monkeypatch.setattr(receptor, "_convert", lambda *a: pytest.fail("cached receptor was prepared again"))
    again = prepare_receptor(pdb, cache_dir=tmp_path / "cache")
    assert again.pdbqt == first.pdbqt and again.n_heavy_atoms == first.n_heavy_atoms
    pdb.write_text(PDB.replace("3.284   3.720", "3.290   3.720"))
    monkeypatch.undo()
    changed = prepare_receptor(pdb, cache_dir=tmp_path / "cache")
    assert changed.digest != first.digest


WATER_ONLY = "HETATM    1  O   HOH A 101       8.000   8.000   8.000  1.00  0.00           O\n"


@pytest.mark.parametrize("content", ["", "REMARK nothing here\nEND\n", WATER_ONLY])
def test_receptor_without_atoms_names_the_file(tmp_path, content):
    pdb = tmp_path / "empty.pdb"
    pdb.write_text(content)
    with pytest.raises(DockingInputError, match=r"empty.pdb: no"):
        prepare_receptor(pdb, cache_dir=tmp_path / "cache")


def test_missing_receptor_names_the_file(tmp_path):
    with pytest.raises(DockingInputError, match=r"missing.pdb: receptor file not found"):
        prepare_receptor(tmp_path / "missing.pdb", cache_dir=tmp_path / "cache")
