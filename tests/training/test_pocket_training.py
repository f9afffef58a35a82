"""Pocket-conditioned training and sampling on the real CrossDocked sample: pairs, conditional atom counts,
a short `molgen train --config configs/crossdocked.yaml` run, and `molgen sample --pocket` writing ligands
in the receptor's frame (what the user opens: the coordinates in the SDF)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from rdkit import Chem

from molgen.cli import main as cli
from molgen.config.load import load_config
from molgen.data.crossdocked import CrossDocked
from molgen.data.pairs import PocketLigandPairs, collate_pairs
from molgen.diffusion.marginals import POCKET_BIN
from molgen.errors import MolgenInputError
from molgen.generate import load
from molgen.generate.pocket import pocket_from_pdb, reference_ligand_positions
from molgen.training.datamodule import open_train_split
from molgen.training.train import train

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def processed(shared_data, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cd")
    CrossDocked(shared_data / "crossdocked" / "crossdocked_pocket10").process(root, progress=False)
    return root


@pytest.fixture(scope="module")
def tiny_pocket_ckpt(processed, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run")
    config = load_config(ROOT / "configs" / "crossdocked.yaml", [
        f"dataset.root={processed}", f"trainer.output_dir={out}", "optim.max_steps=3", "optim.max_minutes=null",
        "model.num_layers=1", "model.scalar_dim=16", "model.vector_dim=4", "model.edge_dim=4",
        "trainer.checkpoint_every=1000", "logging.csv=false"])
    return train(config)


def test_pairs_batch_ligands_with_their_pockets(processed) -> None:
    pairs = PocketLigandPairs(processed, "crossdocked", "train")
    assert len(pairs) == 78
    ligand, pocket = pairs[0]
    batch = collate_pairs([pairs[i] for i in range(3)])
    assert batch.num_graphs == 3 and batch.pocket.num_graphs == 3
    assert batch.pocket.num_atoms.tolist() == [pairs[i][1].num_atoms for i in range(3)]
    # the pocket surrounds its ligand: every ligand atom is within 7 A of some atom of its own pocket
    d = torch.cdist(ligand.pos.double(), pocket.pos.double())
    assert float(d.min(dim=1).values.max()) <= 7.0
    assert float(torch.linalg.norm(ligand.pos.mean(0) - pocket.pos.mean(0))) < 6.0


def test_ligand_sizes_are_conditioned_on_pocket_size_of_the_pairs_trained_on(processed) -> None:
    config = load_config(ROOT / "configs" / "crossdocked.yaml", [f"dataset.root={processed}"])
    _, marginals = open_train_split(config.dataset, pockets=True)
    table = marginals.num_atoms_by_pocket
    assert float(table.sum()) == 78
    pairs = PocketLigandPairs(processed, "crossdocked", "train")
    pocket_atoms, ligand_atoms = pairs.sizes()
    small = int(pocket_atoms.min())
    allowed = set(ligand_atoms[pocket_atoms // POCKET_BIN == small // POCKET_BIN].tolist())
    drawn = marginals.sample_num_atoms_for_pocket(small, 200, torch.Generator().manual_seed(0))
    assert set(drawn.tolist()) <= allowed  # only sizes seen with pockets of that size
    limited = load_config(ROOT / "configs" / "crossdocked.yaml", [f"dataset.root={processed}", "dataset.limit_train=5"])
    subset, marg5 = open_train_split(limited.dataset, pockets=True)
    assert len(subset) == 5 and float(marg5.num_atoms_by_pocket.sum()) == 5


def test_a_dataset_without_pockets_is_refused_naming_the_store(processed, tmp_path) -> None:
    config = load_config(ROOT / "configs" / "crossdocked.yaml", [f"dataset.root={processed}",
                                                                 "dataset.train_split=train_pocket"])
    with pytest.raises(FileNotFoundError, match="no pocket store train_pocket_pocket"):
        open_train_split(config.dataset, pockets=True)


def test_pocket_from_pdb_cuts_the_training_pocket(shared_data) -> None:
    dock = shared_data / "docking" / "vina_1iep"
    pocket = pocket_from_pdb(dock / "1iep_receptorH.pdb", ref_ligand=dock / "1iep_ligand.sdf")
    ligand = reference_ligand_positions(dock / "1iep_ligand.sdf")
    assert ligand.shape == (37, 3)  # imatinib's heavy atoms
    d = np.linalg.norm(pocket.pos.double().numpy()[:, None] - ligand[None], axis=-1)  # [M, L]
    assert pocket.num_atoms > 150 and float(d.min()) > 2.5  # a real pocket, protein heavy atoms only
    centred = pocket_from_pdb(dock / "1iep_receptorH.pdb", center=ligand.mean(0).tolist(), radius=10.0)
    assert abs(centred.num_atoms - pocket.num_atoms) < 0.5 * pocket.num_atoms


def test_pocket_input_errors_name_the_problem(shared_data, tmp_path) -> None:
    dock = shared_data / "docking" / "vina_1iep"
    with pytest.raises(MolgenInputError, match="no protein residue within 10.0 A"):
        pocket_from_pdb(dock / "1iep_receptorH.pdb", center=[500.0, 0.0, 0.0])
    with pytest.raises(MolgenInputError, match="either --ref-ligand"):
        pocket_from_pdb(dock / "1iep_receptorH.pdb")
    with pytest.raises(FileNotFoundError, match="receptor PDB not found"):
        pocket_from_pdb(tmp_path / "none.pdb", center=[0.0, 0.0, 0.0])
    empty = tmp_path / "empty.sdf"
    empty.write_text("")
    with pytest.raises(MolgenInputError, match="empty file"):
        pocket_from_pdb(dock / "1iep_receptorH.pdb", ref_ligand=empty)


def test_cli_trains_and_samples_ligands_into_a_receptor(tiny_pocket_ckpt, shared_data, tmp_path, capsys) -> None:
    dock = shared_data / "docking" / "vina_1iep"
    out = tmp_path / "ligands.sdf"
    code = cli(["sample", "--ckpt", str(tiny_pocket_ckpt), "--pocket", str(dock / "1iep_receptorH.pdb"),
                "--ref-ligand", str(dock / "1iep_ligand.sdf"), "--num", "3", "--steps", "5", "--out", str(out),
                "--no-progress"])
    assert code == 0
    mols = [m for m in Chem.SDMolSupplier(str(out), sanitize=False, removeHs=False)]
    assert len(mols) == 3
    centre = reference_ligand_positions(dock / "1iep_ligand.sdf").mean(0)
    for mol in mols:  # in the receptor's frame, around the pocket (not centred at the origin)
        xyz = mol.GetConformer().GetPositions()
        assert np.linalg.norm(xyz.mean(0) - centre) < 8.0, xyz.mean(0)
        assert mol.GetProp("pocket") == "1iep_receptorH.pdb"
    assert load(tiny_pocket_ckpt).pocket_conditioned
    assert cli(["sample", "--ckpt", str(tiny_pocket_ckpt), "--num", "1", "--out", str(tmp_path / "x.sdf")]) == 2
    assert "pocket-conditioned: give --pocket" in capsys.readouterr().err
    assert cli(["sample", "--ckpt", str(tiny_pocket_ckpt), "--ref-ligand", str(dock / "1iep_ligand.sdf"),
                "--num", "1", "--out", str(tmp_path / "x.sdf")]) == 2
    assert not (tmp_path / "x.sdf").exists()


def test_vina_guidance_in_a_pocket_runs_and_scores_what_it_writes(tiny_pocket_ckpt, shared_data, tmp_path) -> None:
    example = shared_data / "crossdocked" / "targetdiff_examples"
    pdb, ligand = (example / f"1h36_A_rec_1h36_r88_lig_tt_docked_0{suffix}" for suffix in ("_pocket10.pdb", ".sdf"))
    out = tmp_path / "guided.sdf"
    assert cli(["sample", "--ckpt", str(tiny_pocket_ckpt), "--pocket", str(pdb), "--ref-ligand", str(ligand),
                "--num", "3", "--steps", "4", "--guide", "vina", "--guide-every", "2", "--out", str(out),
                "--no-progress"]) == 0
    mols = [m for m in Chem.SDMolSupplier(str(out), sanitize=False, removeHs=False)]
    assert len(mols) == 3 and all(m.HasProp("score_vina") for m in mols)  # empty where Vina could not score
