"""Geometry distributions, W1 distances and MMFF strain against independently known values."""

from __future__ import annotations

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import AllChem
from scipy.stats import wasserstein_distance

from molgen.eval import evaluate_molecules
from molgen.eval.geometry import geometry_samples, strain_energy, typed_w1


def mol_with_coords(smiles_h: str, coords: list[list[float]]) -> Chem.Mol:
    mol = Chem.MolFromSmiles(smiles_h, sanitize=False)
    mol.UpdatePropertyCache(strict=False)
    conf = Chem.Conformer(mol.GetNumAtoms())
    for i, xyz in enumerate(coords):
        conf.SetAtomPosition(i, xyz)
    conf.Set3D(True)
    mol.AddConformer(conf)
    return mol


def embedded(smiles: str, seed: int = 7) -> Chem.Mol:
    mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
    AllChem.EmbedMolecule(mol, randomSeed=seed)
    return mol


def test_bond_angle_torsion_values():
    # Butane heavy-atom chain in a known planar anti geometry: bond 1.5 A, angles 90 deg, torsion 180 deg.
    mol = mol_with_coords("CCCC", [[0, 0, 0], [1.5, 0, 0], [1.5, 1.5, 0], [3.0, 1.5, 0]])
    samples = geometry_samples(mol)
    assert [label for label, _ in samples["bonds"]] == ["C-C"] * 3
    np.testing.assert_allclose([v for _, v in samples["bonds"]], 1.5)
    np.testing.assert_allclose(sorted(v for _, v in samples["angles"]), [90.0, 90.0])
    assert samples["torsions"] == [("C-C-C-C", pytest.approx(180.0))]
    # gauche (syn) variant: last atom on the same side -> torsion 0
    syn = mol_with_coords("CCCC", [[0, 0, 0], [1.5, 0, 0], [1.5, 1.5, 0], [0.0, 1.5, 0]])
    assert geometry_samples(syn)["torsions"][0][1] == pytest.approx(0.0, abs=1e-6)


def test_bond_types_are_labelled_by_order():
    samples = geometry_samples(embedded("C=CC#N"))
    assert sorted(label for label, _ in samples["bonds"]) == ["C#N", "C-C", "C=C"]


def test_w1_of_identical_sets_is_zero_and_matches_scipy():
    rng = np.random.default_rng(0)
    a = {"C-C": rng.normal(1.53, 0.02, 50), "C=O": rng.normal(1.21, 0.01, 20)}
    mean, per_type = typed_w1(a, a)
    assert mean == 0.0 and set(per_type) == {"C-C", "C=O"}
    b = {"C-C": a["C-C"] + 0.1, "C=O": a["C=O"]}
    mean, per_type = typed_w1(b, a)
    assert per_type["C-C"] == pytest.approx(0.1)
    assert per_type["C-C"] == pytest.approx(wasserstein_distance(b["C-C"], a["C-C"]))
    assert mean == pytest.approx(0.1 * 50 / 70)  # count-weighted


def test_geometry_group_against_itself_is_zero():
    mols = [embedded(s) for s in ["CCCCO", "c1ccccc1CCN", "CC(=O)OCC", "CCCCCC"]]
    out = evaluate_molecules(mols, "geometry", reference=mols)
    assert out["geometry/bonds_w1"] == 0.0
    assert out["geometry/angles_w1"] == 0.0
    assert out["geometry/torsions_w1"] == 0.0


def test_strain_zero_after_mmff_minimisation_positive_when_distorted():
    mol = embedded("CCOC(=O)c1ccccc1")
    AllChem.MMFFOptimizeMolecule(mol, maxIters=5000)
    assert strain_energy(mol) == pytest.approx(0.0, abs=1e-2)
    conf = mol.GetConformer()
    p = conf.GetAtomPosition(0)
    conf.SetAtomPosition(0, (p.x + 0.3, p.y, p.z))  # stretch a C-C bond by ~0.3 A
    assert strain_energy(mol) > 5.0


def test_strain_counts_molecules_mmff_cannot_handle():
    invalid = Chem.MolFromSmiles("C(C)(C)(C)(C)C", sanitize=False)
    invalid.UpdatePropertyCache(strict=False)
    AllChem.Compute2DCoords(invalid)
    out = evaluate_molecules([embedded("CCO"), invalid], "strain")
    assert out["strain/n_mmff"] == 1
    assert out["strain/n_mmff_failed"] == 1
