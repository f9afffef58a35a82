"""Training, resume, fine-tuning, sampling to SDF and DDP on a tiny processed dataset (real denoiser)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from rdkit import Chem
from toydata import ROOT, SMILES, ToyBuilder, toy_config

import molgen
from molgen.cli import sample as sample_cli
from molgen.training.datamodule import MolDataModule, open_train_split
from molgen.training.train import finetune, train


@pytest.fixture(scope="module")
def toy_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("data")
    report = ToyBuilder().process(root, progress=False, log=None)
    assert report.kept["train"] == len(SMILES)
    return root


@pytest.fixture(scope="module")
def trained(toy_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run")
    return train(toy_config(toy_root, out, "optim.max_steps=6", "trainer.checkpoint_every=3"))


def _ckpt(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=False)


def test_train_writes_checkpoints_with_ema_and_config(trained: Path) -> None:
    ckpt = _ckpt(trained)
    assert ckpt["global_step"] == 6
    assert (trained.parent / "step=6.ckpt").is_file()
    assert (trained.parents[1] / "config.yaml").is_file()
    assert list((trained.parents[1] / "logs").rglob("metrics.csv"))
    state = ckpt["state_dict"]
    ema = {k[len("ema.module."):]: v for k, v in state.items() if k.startswith("ema.module.")}
    live = {k[len("denoiser."):]: v for k, v in state.items() if k.startswith("denoiser.")}
    assert ema.keys() == live.keys() and int(state["ema.num_updates"]) == 6
    assert any(not torch.equal(ema[k], live[k]) for k in ema)  # the average lags behind the live weights
    assert ckpt["hyper_parameters"]["config"]["model"]["num_layers"] == 2


def test_resume_continues_step_count_and_optimizer_state(toy_root: Path, trained: Path) -> None:
    out = trained.parents[1]
    before = _ckpt(trained)
    resumed = train(toy_config(toy_root, out, "optim.max_steps=9", "trainer.checkpoint_every=3"), resume=True)
    after = _ckpt(resumed)
    assert after["global_step"] == 9
    adam_steps = {float(s["step"]) for s in after["optimizer_states"][0]["state"].values()}
    assert adam_steps == {9.0}  # 6 restored + 3 new; a fresh optimizer would count 3
    assert int(after["state_dict"]["ema.num_updates"]) == 9
    assert before["global_step"] == 6


def test_resume_without_checkpoint_is_a_clear_error(toy_root: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no checkpoint to resume from"):
        train(toy_config(toy_root, tmp_path / "empty"), resume=True)


def test_finetune_starts_from_the_checkpoint_weights(toy_root: Path, trained: Path, tmp_path: Path) -> None:
    config = toy_config(toy_root, tmp_path / "ft", "optim.max_steps=1", "optim.lr=0.0", "model.scalar_dim=32")
    tuned = _ckpt(finetune(config, trained))
    source = _ckpt(trained)["state_dict"]
    assert tuned["hyper_parameters"]["config"]["model"]["scalar_dim"] == 16  # architecture from the checkpoint
    for key, value in source.items():
        if key.startswith("denoiser."):
            assert torch.equal(tuned["state_dict"][key], value), key


def test_same_seed_same_molecules(trained: Path) -> None:
    a = molgen.load(trained).sample(5, steps=10, seed=3, batch_size=5, progress=False)
    b = molgen.load(trained).sample(5, steps=10, seed=3, batch_size=5, progress=False)
    c = molgen.load(trained).sample(5, steps=10, seed=4, batch_size=5, progress=False)
    assert [g.num_atoms for g in a] == [g.num_atoms for g in b]
    for x, y in zip(a, b, strict=True):
        assert torch.equal(x.pos, y.pos) and torch.equal(x.bond_index, y.bond_index)
    assert any(x.num_atoms != y.num_atoms or not torch.equal(x.pos, y.pos) for x, y in zip(a, c, strict=True))
    fixed = molgen.load(trained).sample(2, steps=5, atoms=6, progress=False)
    assert [g.num_atoms for g in fixed] == [6, 6]


def test_sample_cli_writes_every_molecule_with_the_models_bonds(trained: Path, tmp_path: Path) -> None:
    out = tmp_path / "samples.sdf"
    rc = sample_cli.main(["--ckpt", str(trained), "--num", "6", "--out", str(out), "--steps", "10", "--seed", "1",
                          "--batch-size", "4", "--no-progress"])
    assert rc == 0
    expected = molgen.load(trained).sample(6, steps=10, seed=1, batch_size=4, progress=False)
    mols = list(Chem.SDMolSupplier(str(out), sanitize=False, removeHs=False))
    assert len(mols) == 6 and all(m is not None for m in mols)
    for mol, graph in zip(mols, expected, strict=True):
        assert mol.GetNumAtoms() == graph.num_atoms
        bonds = {(min(b.GetBeginAtomIdx(), b.GetEndAtomIdx()), max(b.GetBeginAtomIdx(), b.GetEndAtomIdx()))
                 for b in mol.GetBonds()}
        assert bonds == {tuple(p) for p in graph.bond_index.T.tolist()}
        assert [a.GetFormalCharge() for a in mol.GetAtoms()] == graph.charges.tolist()
        assert mol.HasProp("rdkit_sanitized")


def test_load_uses_ema_weights(trained: Path) -> None:
    generator = molgen.load(trained)
    state = _ckpt(trained)["state_dict"]
    for name, value in generator.denoiser.state_dict().items():
        assert torch.equal(value, state[f"ema.module.{name}"])
    assert generator.diffusion.num_steps == generator.config.diffusion.num_steps == 50
    assert not generator.denoiser.training


@pytest.mark.slow
def test_wandb_offline_logging_needs_no_network(toy_root: Path, tmp_path: Path) -> None:
    last = train(toy_config(toy_root, tmp_path / "wb", "optim.max_steps=2", "logging.wandb=true",
                            "logging.wandb_mode=offline"))
    runs = list((last.parents[1] / "wandb").glob("offline-run-*"))
    assert runs and any(runs[0].rglob("*.wandb"))


@pytest.mark.slow
def test_killed_run_resumes_from_its_last_checkpoint(toy_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "killed"
    args = ["--config", str(ROOT / "configs" / "debug.yaml"), f"dataset.root={toy_root}", "dataset.name=toy",
            "dataset.limit_train=null", f"trainer.output_dir={out}", "batching.batch_size=4",
            "trainer.checkpoint_every=2"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "molgen", "train", *args, "optim.max_steps=100000"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    last = out / "checkpoints" / "last.ckpt"
    try:
        deadline = time.monotonic() + 240
        while not (last.is_file() and _ckpt(last)["global_step"] >= 4):
            assert time.monotonic() < deadline and proc.poll() is None, "training never wrote a checkpoint"
            time.sleep(0.5)
    finally:
        proc.kill()
        proc.wait()
    killed_at = _ckpt(last)["global_step"]
    resumed = _ckpt(train(toy_config(toy_root, out, f"optim.max_steps={killed_at + 2}",
                                     "trainer.checkpoint_every=2"), resume=True))
    assert resumed["global_step"] == killed_at + 2
    assert {float(s["step"]) for s in resumed["optimizer_states"][0]["state"].values()} == {killed_at + 2.0}


@pytest.mark.slow
@pytest.mark.parametrize("batching", [["batching.batch_size=2"],
                                      ["batching.mode=bucketed", "batching.max_atoms_per_batch=40"]])
def test_ddp_two_cpu_processes_train(toy_root: Path, tmp_path: Path, batching: list[str]) -> None:
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "molgen", "train", "--config", str(ROOT / "configs" / "debug.yaml"),
           f"dataset.root={toy_root}", "dataset.name=toy", "dataset.limit_train=null", f"trainer.output_dir={out}",
           *batching, "optim.max_steps=4", "trainer.devices=2", "trainer.strategy=ddp",
           "trainer.accelerator=cpu"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ckpt = _ckpt(out / "checkpoints" / "last.ckpt")
    assert ckpt["global_step"] == 4
    log = (out / "train.log").read_text()  # Lightning's DDP lines, from both ranks, are kept out of the terminal
    assert "world_size: 2" in log or "distributed_backend=gloo" in log
    assert "distributed_backend" not in proc.stderr


def test_periodic_sample_and_evaluate_logs_validity(toy_root: Path, tmp_path: Path) -> None:
    last = train(toy_config(toy_root, tmp_path / "se", "optim.max_steps=3", "sample_eval.every_n_steps=3",
                            "sample_eval.num_molecules=4", "sample_eval.steps=5"))
    header = next((last.parents[1] / "logs").rglob("metrics.csv")).read_text().splitlines()[0].split(",")
    assert "sample/validity/valid" in header and "sample/stability/mol_stable_corrected" in header


def test_bucketed_batches_are_split_between_ranks(toy_root: Path) -> None:
    config = toy_config(toy_root, toy_root, "batching.mode=bucketed", "batching.max_atoms_per_batch=40")
    train_set, _ = open_train_split(config.dataset)
    shares = []
    for rank in range(2):
        data = MolDataModule(train_set, config.batching)
        data.trainer = SimpleNamespace(world_size=2, global_rank=rank)
        shares.append([i for batch in data.train_dataloader().batch_sampler for i in batch])
    assert shares[0] and shares[1] and not set(shares[0]) & set(shares[1])
    assert len(shares[0]) + len(shares[1]) <= len(train_set)


def test_limit_train_takes_its_priors_from_the_molecules_trained_on(toy_root: Path, tmp_path: Path) -> None:
    """3 molecules (O, C, CO: 3, 5 and 6 atoms) must not sample the 12-molecule split's sizes or elements."""
    subset, marginals = open_train_split(toy_config(toy_root, tmp_path, "dataset.limit_train=3").dataset)
    assert len(subset) == 3
    sizes = torch.nonzero(torch.as_tensor(marginals.num_atoms)).flatten().tolist()
    assert sizes == sorted(subset[i].num_atoms for i in range(3))
    present = torch.nonzero(torch.as_tensor(marginals.atom_types)).flatten().tolist()
    assert present == sorted({int(t) for i in range(3) for t in subset[i].atom_types})  # H, C, O only
