"""Validity, connectivity, uniqueness and novelty on hand-picked molecules with known answers."""

from __future__ import annotations

import pytest
from rdkit import Chem

from molgen.chem.sanitize import canonical_smiles, sanitized_copy
from molgen.eval import evaluate_molecules


def unsanitized(smiles: str) -> Chem.Mol:
    mol = Chem.MolFromSmiles(smiles, sanitize=False)
    mol.UpdatePropertyCache(strict=False)
    return mol


def with_h(smiles: str) -> Chem.Mol:
    return Chem.AddHs(Chem.MolFromSmiles(smiles))


def test_sanitization_verdicts():
    assert sanitized_copy(unsanitized("CCO")) is not None
    assert sanitized_copy(unsanitized("C(C)(C)(C)(C)C")) is None  # pentavalent carbon
    assert sanitized_copy(unsanitized("c1ccccc1C")) is not None
    assert sanitized_copy(unsanitized("c1cccc1")) is None  # cannot be kekulised


def test_validity_connectivity_uniqueness():
    mols = [
        with_h("CCO"),
        with_h("OCC"),  # same molecule as the first, atoms in another order
        with_h("c1ccccc1"),
        unsanitized("C(C)(C)(C)(C)C"),  # invalid
        unsanitized("CC.C(C)(C)(C)(C)C"),  # invalid, and its largest fragment is the invalid one
        unsanitized("CCCCCC.C(C)(C)(C)(C)C"),  # whole invalid, largest fragment (hexane, 6 atoms) valid
        with_h("CC.O"),  # valid but disconnected
        with_h("[CH3]"),  # methyl radical: RDKit sanitises it (radicals are "valid")
    ]
    out = evaluate_molecules(mols, "validity")
    n = len(mols)
    assert out["validity/n_samples"] == n
    assert out["validity/valid"] == pytest.approx(5 / n)  # CCO, OCC, benzene, CC.O, [CH3]
    assert out["validity/valid_largest_fragment"] == pytest.approx(6 / n)  # + hexane fragment
    assert out["validity/connected"] == pytest.approx(5 / n)
    assert out["validity/valid_and_connected"] == pytest.approx(4 / n)
    # distinct valid SMILES: CCO, c1ccccc1, CC.O, [CH3] -> 4
    assert out["validity/uniqueness"] == pytest.approx(4 / n)
    assert out["validity/uniqueness_legacy"] == pytest.approx(4 / 5)


def test_novelty_against_reference_smiles(tmp_path):
    ref = tmp_path / "ref.smi"
    ref.write_text("smiles\nOCC ethanol\nc1ccccc1\nnot_a_smiles\n")
    mols = [with_h("CCO"), with_h("CCN"), with_h("CCN"), with_h("Cc1ccccc1")]
    out = evaluate_molecules(mols, "validity", reference=ref)
    assert out["validity/novelty"] == pytest.approx(2 / 3)  # CCN and toluene are new; ethanol is known
    assert out["validity/novel_unique_valid_fraction_of_samples"] == pytest.approx(2 / 4)


def test_canonical_smiles_ignores_hydrogens_and_stereo():
    a = Chem.AddHs(Chem.MolFromSmiles("C[C@H](N)O"))
    b = Chem.MolFromSmiles("C[C@@H](N)O")
    assert canonical_smiles(a) == canonical_smiles(b) == Chem.MolToSmiles(Chem.MolFromSmiles("CC(N)O"))


def test_non_molecule_input_is_a_clear_error():
    with pytest.raises(TypeError, match=r"mols\[1\]"):
        evaluate_molecules([with_h("C"), None], "validity")
