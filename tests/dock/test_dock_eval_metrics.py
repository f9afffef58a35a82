"""``molgen evaluate --metrics docking``: Vina score / min / dock, high affinity, CSV columns, report plots."""

from __future__ import annotations

import csv
import json

import imatinib
import pytest
from rdkit import Chem

from molgen.cli.evaluate import main as evaluate_main
from molgen.eval import EvalOptions, evaluate, resolve_metrics

pytest.importorskip("vina", reason="the dock extra (vina, meeko, gemmi) is not installed")
pytest.importorskip("meeko", reason="the dock extra (vina, meeko, gemmi) is not installed")


@pytest.fixture
def two_poses(tmp_path, vina_1iep):
    """The crystal imatinib pose and the same pose shifted 1.5 A (worse score)."""
    crystal = imatinib.crystal(vina_1iep)
    shifted = imatinib.shifted(crystal, 1.5)
    path = tmp_path / "poses.sdf"
    with Chem.SDWriter(str(path)) as writer:
        for name, mol in (("crystal", crystal), ("shifted", shifted)):
            mol.SetProp("_Name", name)
            writer.write(mol)
    return path


def test_docking_is_in_the_full_preset():
    assert "docking" in [g.name for g in resolve_metrics("full")]


def test_without_a_protein_docking_says_it_was_skipped(vina_1iep):
    mol = Chem.MolFromMolFile(str(vina_1iep / "1iep_ligand.sdf"), removeHs=False)
    result = evaluate([mol], "docking")
    assert result.summary["docking"] == {"skipped": "no --protein given"}
    assert result.rows == [{}]


def test_score_min_and_high_affinity_against_the_reference(two_poses, vina_1iep):
    mols = list(Chem.SDMolSupplier(str(two_poses), removeHs=False))
    options = EvalOptions(reference_ligand_path=str(vina_1iep / "1iep_ligand.sdf"), dock_modes=("score", "minimize"))
    result = evaluate(mols, "docking", protein=vina_1iep / "1iep_receptorH.pdb", options=options)
    metrics, rows = result.summary["docking"], result.rows
    scores = [r["docking.vina_score"] for r in rows]
    assert -13.5 < scores[0] < -11.5 and scores[1] > scores[0]
    assert metrics["reference_vina_score"] == pytest.approx(scores[0])
    assert metrics["high_affinity_score"] == 0.5  # the crystal pose ties the reference, the shifted one is worse
    assert metrics["vina_score_mean"] == pytest.approx(sum(scores) / 2)
    assert metrics["vina_score_median"] == pytest.approx(sum(scores) / 2)
    assert all(r["docking.vina_min"] <= r["docking.vina_score"] for r in rows)
    assert metrics["vina_min_n_ok"] == 2 and "vina_dock_mean" not in metrics


def test_evaluate_cli_reports_all_three_modes(shared_data, tmp_path):
    """Caffeine in A2A (3rfm): a small ligand, so the full score / min / dock protocol runs in seconds."""
    folder = shared_data / "docking" / "diffsbdd_examples"
    if not (folder / "3rfm.pdb").is_file():
        pytest.skip(f"DiffSBDD examples not found in {folder}")
    out = tmp_path / "eval"
    code = evaluate_main([
        str(folder / "3rfm_B_CFF.sdf"), "--protein", str(folder / "3rfm.pdb"), "--metrics", "docking",
        "--reference-ligand", str(folder / "3rfm_B_CFF.sdf"), "--dock-exhaustiveness", "1",
        "--out", str(out), "--workers", "1", "--quiet",
    ])
    assert code == 0
    document = json.loads((out / "metrics.json").read_text())
    metrics = document["metrics"]["docking"]
    assert document["groups"] == ["docking"] and "posebusters" not in document["metrics"]  # only what was asked
    for mode in ("score", "minimize", "dock"):  # every fraction with what it counted (issue #20, item 3)
        assert document["counts"][f"docking/high_affinity_{mode}"] == {"n": 1, "of": 1, "unit": "scored"}
    with open(out / "molecules.csv", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    for name, mode in (("vina_score", "score"), ("vina_min", "minimize"), ("vina_dock", "dock")):
        value = float(row[f"docking.{name}"])
        assert -9.0 < value < -2.0
        assert metrics[f"{name}_mean"] == pytest.approx(value) == metrics[f"{name}_median"]
        assert metrics[f"reference_{name}"] == pytest.approx(value)  # the same molecule, seed and box
        assert metrics[f"high_affinity_{mode}"] == 1.0
    html = (out / "report.html").read_text()
    assert html.count("data:image/png") >= 3 and "docking/high_affinity_dock" in html and "1 of 1 scored" in html


def test_a_molecule_vina_cannot_take_is_reported_not_fatal(vina_1iep):
    mol = imatinib.crystal(vina_1iep)
    far = imatinib.shifted(mol, 60.0)
    options = EvalOptions(reference_ligand_path=str(vina_1iep / "1iep_ligand.sdf"), dock_modes=("score",))
    result = evaluate([mol, far], "docking", protein=vina_1iep / "1iep_receptorH.pdb", options=options)
    assert result.rows[1]["docking.vina_score"] is None
    assert result.rows[1]["docking.reason"].startswith("score: ligand outside the box")
    assert result.summary["docking"]["vina_score_n_ok"] == 1
    assert result.summary["docking"]["high_affinity_score"] == 1.0
