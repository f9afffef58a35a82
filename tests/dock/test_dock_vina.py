"""AutoDock Vina on real complexes: crystal-pose scores, redocking within 2 A, determinism with a seed."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdkit import Chem
from rdkit.Chem import rdMolAlign

from molgen.dock import VinaEngine, box_from_ligand_file, prepare_receptor, read_box_file

pytest.importorskip("vina", reason="the dock extra (vina, meeko, gemmi) is not installed")
pytest.importorskip("meeko", reason="the dock extra (vina, meeko, gemmi) is not installed")


def heavy_rmsd(pose: Chem.Mol, reference: Chem.Mol) -> float:
    """Symmetry-aware heavy-atom RMSD in place (no superposition), Angstrom."""
    return rdMolAlign.CalcRMS(Chem.RemoveHs(pose), Chem.RemoveHs(reference))


@pytest.fixture(scope="module")
def imatinib(vina_1iep):
    receptor = prepare_receptor(vina_1iep / "1iep_receptorH.pdb")
    ligand = Chem.MolFromMolFile(str(vina_1iep / "1iep_ligand.sdf"), removeHs=False)
    return receptor, ligand, read_box_file(vina_1iep / "1iep_receptor.box.txt")


@pytest.fixture(scope="module")
def crossdocked_1h36(shared_data: Path):
    folder = shared_data / "crossdocked" / "targetdiff_examples"
    stem = "1h36_A_rec_1h36_r88_lig_tt_docked_0"
    if not (folder / f"{stem}.sdf").is_file():
        pytest.skip(f"TargetDiff CrossDocked example not found in {folder}")
    receptor = prepare_receptor(folder / f"{stem}_pocket10.pdb")
    ligand = Chem.MolFromMolFile(str(folder / f"{stem}.sdf"), removeHs=False)
    return receptor, ligand, box_from_ligand_file(folder / f"{stem}.sdf")


def test_crystal_pose_score_matches_vinas_own_receptor(imatinib, vina_1iep):
    """Our in-process receptor gives the score of the example's own PDBQT: about -12.5 kcal/mol."""
    receptor, ligand, box = imatinib
    ours = VinaEngine(receptor.pdbqt).run(ligand, box, "score")
    official = VinaEngine(vina_1iep / "1iep_receptor.pdbqt").run(ligand, box, "score")
    assert -13.5 < ours.score < -11.5
    assert ours.score == pytest.approx(official.score, abs=0.1)
    assert heavy_rmsd(ours.poses[0], ligand) == pytest.approx(0.0, abs=1e-6)  # the input pose, unmoved


def test_minimize_improves_and_stays_near_the_crystal_pose(imatinib):
    receptor, ligand, box = imatinib
    engine = VinaEngine(receptor.pdbqt)
    scored, minimized = engine.run(ligand, box, "score"), engine.run(ligand, box, "minimize")
    assert minimized.score < scored.score
    assert heavy_rmsd(minimized.poses[0], ligand) < 1.0


def test_redocking_a_crossdocked_ligand_reproduces_its_pose(crossdocked_1h36):
    receptor, ligand, box = crossdocked_1h36
    result = VinaEngine(receptor.pdbqt, seed=1, exhaustiveness=1).run(ligand, box, "dock")
    assert heavy_rmsd(result.poses[0], ligand) < 2.0
    assert -11.5 < result.score < -8.5  # the crystal pose scores -9.9 kcal/mol


def test_docking_is_deterministic_with_a_seed(shared_data):
    """Caffeine in the adenosine A2A receptor (3rfm, DiffSBDD's example): same seed, same poses."""
    folder = shared_data / "docking" / "diffsbdd_examples"
    if not (folder / "3rfm.pdb").is_file():
        pytest.skip(f"DiffSBDD examples not found in {folder}")
    receptor = prepare_receptor(folder / "3rfm.pdb")
    ligand = Chem.MolFromMolFile(str(folder / "3rfm_B_CFF.sdf"), removeHs=False)
    box = box_from_ligand_file(folder / "3rfm_B_CFF.sdf")
    runs = [VinaEngine(receptor.pdbqt, seed=7, exhaustiveness=2, n_poses=3).run(ligand, box, "dock") for _ in range(2)]
    assert len(runs[0].poses) == 3
    assert runs[0].scores == runs[1].scores
    for a, b in zip(runs[0].poses, runs[1].poses, strict=True):
        assert (a.GetConformer().GetPositions() == b.GetConformer().GetPositions()).all()


@pytest.mark.slow
def test_redocking_imatinib_reproduces_the_crystal_pose(imatinib):
    """Vina's own example: imatinib redocked into c-Abl (1iep) within 2 A of the crystal pose."""
    receptor, ligand, box = imatinib
    result = VinaEngine(receptor.pdbqt, seed=1, exhaustiveness=4).run(ligand, box, "dock")
    assert heavy_rmsd(result.poses[0], ligand) < 2.0
    assert -14.5 < result.score < -11.5


@pytest.mark.parametrize(
    "receptor,ligand",
    [
        ("docking/diffsbdd_examples/5ndu.pdb", "docking/diffsbdd_examples/5ndu_C_8V2.sdf"),
        ("docking/pocket2mol_example/4yhj.pdb", "docking/pocket2mol_example/4yhj_reference_ligand.sdf"),
        ("crossdocked/full_receptors/14gs_A_rec.pdb", "crossdocked/full_receptors/14gs_ligand.sdf"),
    ],
)
def test_reference_ligands_score_as_binders_in_full_pdb_files(shared_data, receptor, ligand):
    """Whole PDB entries (waters, ligands, ions in HETATM) are prepared and their ligands score as binders."""
    if not (shared_data / receptor).is_file():
        pytest.skip(f"{shared_data / receptor} not found")
    prepared = prepare_receptor(shared_data / receptor)
    mol = Chem.MolFromMolFile(str(shared_data / ligand), removeHs=False)
    result = VinaEngine(prepared.pdbqt).run(mol, box_from_ligand_file(shared_data / ligand), "score")
    assert -12.0 < result.score < -4.0


MAP_TYPES_SCRIPT = """
import sys
from rdkit import Chem
from rdkit.Chem import AllChem
from molgen.dock import VinaEngine, box_around, prepare_receptor
receptor, ligand_file = sys.argv[1], sys.argv[2]
engine = VinaEngine(prepare_receptor(receptor).pdbqt)
crystal = Chem.MolFromMolFile(ligand_file, removeHs=False)
first, reason = engine.try_run(crystal, None, "score")  # maps of its own box
centre = crystal.GetConformer().GetPositions().mean(0)
other = Chem.AddHs(Chem.MolFromSmiles("FC(F)(F)c1ccc(Cl)cc1S"))  # F, Cl, S: types imatinib lacks
AllChem.EmbedMolecule(other, randomSeed=0)
conf = other.GetConformer()
shift = centre - conf.GetPositions().mean(0)
for i in range(other.GetNumAtoms()):
    p = conf.GetAtomPosition(i)
    conf.SetAtomPosition(i, (p.x + shift[0], p.y + shift[1], p.z + shift[2]))
own, _ = engine.try_run(other, None, "score")  # a new box: maps computed after a ligand was set
shared, _ = engine.try_run(other, box_around(crystal.GetConformer().GetPositions()), "score")  # the first box
print("scored", first is not None, own is not None, shared is not None)
"""


def test_a_ligand_with_new_atom_types_never_ends_the_process(vina_1iep, tmp_path):
    """Vina computes maps for the ligand already loaded; a later ligand with another atom type made Vina
    exit the whole process ("Affinity map for atom type ... is not present"), killing a batch or a benchmark."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", MAP_TYPES_SCRIPT, str(vina_1iep / "1iep_receptorH.pdb"),
                           str(vina_1iep / "1iep_ligand.sdf")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-500:] + done.stderr[-2000:]
    assert "scored True True True" in done.stdout
