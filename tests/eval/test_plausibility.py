"""PoseBusters on the real protein-ligand complexes of ../shared/data/docking/posebusters_cases."""

from __future__ import annotations

import numpy as np
import pytest
from rdkit import Chem

from molgen.eval import evaluate_molecules

pytest.importorskip("posebusters")

CASES = ("1G9V_RQ3", "1W1P_GIO", "7ECR_SIN", "7ZTL_BCN")


def load_case(shared_data, case: str) -> tuple[Chem.Mol, str]:
    folder = shared_data / "docking" / "posebusters_cases" / case
    mol = Chem.MolFromMolFile(str(folder / f"{case}_ligand.sdf"), sanitize=False, removeHs=False)
    return mol, str(folder / f"{case}_protein.pdb")


def test_crystal_ligands_pass_mol_checks(shared_data):
    mols = [load_case(shared_data, c)[0] for c in CASES]
    out = evaluate_molecules(mols, "posebusters")
    assert out["posebusters/config"] == "mol"
    assert out["posebusters/all_pass"] == 1.0  # experimental structures are physically plausible


def test_protein_context_detects_a_ligand_pushed_into_the_protein(shared_data):
    mol, protein = load_case(shared_data, "1G9V_RQ3")
    protein_mol = Chem.MolFromPDBFile(protein, sanitize=False)
    shifted = Chem.Mol(mol)
    conf = shifted.GetConformer()
    pos = conf.GetPositions()
    # move the ligand's centroid onto the protein atom nearest the protein's centre: it now sits inside the protein
    target = protein_mol.GetConformer().GetPositions()
    buried = target[np.argmin(np.linalg.norm(target - target.mean(0), axis=1))]
    for i, p in enumerate(pos + (buried - pos.mean(0))):
        conf.SetAtomPosition(i, p.tolist())
    out = evaluate_molecules([mol, shifted], "posebusters", protein=protein)
    assert out["posebusters/config"] == "dock"
    assert out["posebusters/minimum_distance_to_protein"] == 0.5  # the crystal pose passes, the shifted one fails
    assert out["posebusters/all_pass"] == 0.5


def test_cli_with_protein_runs_dock_checks(shared_data, tmp_path):
    import json

    from molgen.cli.evaluate import main

    folder = shared_data / "docking" / "posebusters_cases" / "7ZTL_BCN"
    out = tmp_path / "out"
    argv = [str(folder / "7ZTL_BCN_ligand.sdf"), "--protein", str(folder / "7ZTL_BCN_protein.pdb")]
    assert main([*argv, "--metrics", "basic", "--out", str(out), "--workers", "1", "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())["metrics"]
    assert "posebusters" not in metrics  # a protein is context, not a request for PoseBusters (issue #20)
    assert main([*argv, "--metrics", "basic,posebusters", "--out", str(out), "--workers", "1", "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())["metrics"]
    assert metrics["posebusters"]["config"] == "dock"
    assert metrics["posebusters"]["minimum_distance_to_protein"] == 1.0
    assert metrics["posebusters"]["all_pass"] == 1.0
