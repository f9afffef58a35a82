"""Molecules that RDKit cannot even write as a mol block are evaluated (as invalid), not fatal."""

from __future__ import annotations

from rdkit import Chem

from molgen.eval import evaluate_molecules


def _h_plus_two() -> Chem.Mol:
    mol = Chem.RWMol()
    carbon = mol.AddAtom(Chem.Atom(6))
    hydrogen = mol.AddAtom(Chem.Atom(1))
    mol.GetAtomWithIdx(hydrogen).SetFormalCharge(2)
    mol.AddBond(carbon, hydrogen, Chem.BondType.SINGLE)
    mol.UpdatePropertyCache(strict=False)
    return mol.GetMol()


def test_impossible_atom_is_evaluated_in_serial_and_parallel_runs():
    mols = [_h_plus_two(), Chem.AddHs(Chem.MolFromSmiles("CCO")), Chem.AddHs(Chem.MolFromSmiles("c1ccccc1"))]
    serial = evaluate_molecules(mols, "basic", workers=1)
    assert serial == evaluate_molecules(mols, "basic", workers=2)
    assert serial["validity/n_samples"] == 3
    # RDKit sanitises "[H+2]C" (the carbon gets three implicit H), so it counts as RDKit-valid;
    # the corrected valence table marks both of its 2 atoms unstable, while ethanol (9 atoms)
    # and benzene (12 atoms) are fully stable: 21 of 23 atoms, 2 of 3 molecules.
    assert serial["validity/valid"] == 1.0
    assert abs(serial["stability/atom_stable_corrected"] - 21 / 23) < 1e-9
    assert abs(serial["stability/mol_stable_corrected"] - 2 / 3) < 1e-9
