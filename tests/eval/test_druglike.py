"""Drug-likeness numbers against published/hand-computed values."""

from __future__ import annotations

import pytest
from rdkit import Chem

from molgen.eval import evaluate_molecules
from molgen.eval.druglike import lipinski_violations, total_variation


def with_h(smiles: str) -> Chem.Mol:
    return Chem.AddHs(Chem.MolFromSmiles(smiles))


def test_aspirin_qed_and_weight():
    out = evaluate_molecules([with_h("CC(=O)Oc1ccccc1C(=O)O")], "druglike")
    # QED of aspirin: 0.5501, the value widely quoted for RDKit's implementation of Bickerton et al. 2012
    assert out["druglike/qed_mean"] == pytest.approx(0.550, abs=1e-3)
    assert out["druglike/mol_weight_mean"] == pytest.approx(180.159, abs=1e-2)  # C9H8O4
    assert out["druglike/lipinski_pass"] == 1.0
    assert out["druglike/sa_mean"] == pytest.approx(1.75, abs=0.75)  # Ertl & Schuffenhauer: aspirin is easy to make


def test_lipinski_violations_counted():
    # n-tetracontane C40H82: MW 563 > 500 and logP > 5, no H-bond donors or acceptors -> 2 violations
    greasy = Chem.MolFromSmiles("C" * 40)
    assert lipinski_violations(greasy) == 2
    assert lipinski_violations(Chem.MolFromSmiles("CCO")) == 0


def test_ring_sizes_and_atom_types():
    out = evaluate_molecules([Chem.MolFromSmiles("C1CCCCC1C1CCCC1"), Chem.MolFromSmiles("C1CC1O")], "druglike")
    third = pytest.approx(1 / 3)
    assert out["druglike/ring_sizes"] == {"3": third, "5": third, "6": third}
    assert out["druglike/atom_types"] == {"C": pytest.approx(14 / 15), "O": pytest.approx(1 / 15)}


def test_total_variation():
    assert total_variation({"C": 1.0}, {"C": 1.0}) == 0.0
    assert total_variation({"C": 1.0}, {"N": 1.0}) == 1.0
    assert total_variation({"C": 0.5, "N": 0.5}, {"C": 1.0}) == pytest.approx(0.5)


def test_distribution_distance_to_reference(tmp_path):
    ref = tmp_path / "ref.smi"
    ref.write_text("CCO\nCCN\n")
    out = evaluate_molecules([Chem.MolFromSmiles("CCO")], "druglike", reference=ref)
    # samples: C 2/3, O 1/3; reference: C 4/6, O 1/6, N 1/6 -> TV = 1/6
    assert out["druglike/atom_type_tv"] == pytest.approx(1 / 6)
