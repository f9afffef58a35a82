"""Every command-line value and config key out of range is one line and exit 2, before any work."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from make_corpus import GOOD_RECORD
from test_bad_inputs import DEBUG, SHIPPED, run_refused


@pytest.mark.parametrize(("args", "needle"), [
    (["--seed", str(2**70)], "--seed must be 0..4294967295"),
    (["--seed", "-1"], "--seed must be 0.."),
    (["--num", str(10**12)], "--num must be at most"),
    (["--device", "bogus"], "unknown device 'bogus'"),
    (["--radius", "-5"], "--radius must be a finite number"),
    (["--radius", "inf"], "--radius must be a finite number"),
    (["--radius", "nan"], "--radius must be a finite number"),
    (["--center", "0", "nan", "0"], "--center must be finite"),
    (["--keep-top", "2", "--score", "qed"], "--keep-top"),
    (["--atoms", "999", "--num", "8"], "pass --batch-size 2 or fewer"),
    (["--guide-temperature", "-1", "--guide", "qed"], "--guide-temperature"),
])
def test_sample_values(args: list[str], needle: str, tmp_path: Path, capsys) -> None:
    run_refused(["sample", "--ckpt", str(SHIPPED), "--out", str(tmp_path / "s.sdf"), "--no-progress", *args],
                [tmp_path], capsys, needle)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_sample_cuda_on_a_cpu_machine(tmp_path: Path, capsys) -> None:
    run_refused(["sample", "--ckpt", str(SHIPPED), "--out", str(tmp_path / "s.sdf"), "--device", "cuda"],
                [tmp_path], capsys, "no CUDA device")


@pytest.mark.parametrize(("override", "needle"), [
    ("model.scalar_dim=0", "model.scalar_dim: must be an integer in 1..4096"),
    ("model.vector_dim=100000", "model.vector_dim"),
    ("model.num_layers=0", "model.num_layers"),
    ("model.cutoff=-1", "model.cutoff: must be null"),
    ("model.cutoff=.inf", "model.cutoff"),
    ("trainer.precision=bogus", "trainer.precision: must be one of"),
    ("trainer.strategy=bogus", "trainer.strategy: must be one of"),
    ("trainer.accelerator=tpu9", "trainer.accelerator: must be one of"),
    ("trainer.seed=-3", "trainer.seed"),
    ("trainer.path=fast", "trainer.path: must be one of dense, compiled, reference"),
    ("trainer.devices=0", "trainer.devices"),
    ("diffusion.num_steps=1000000000", "diffusion.num_steps"),
    ("diffusion.weight_bonds=.nan", "diffusion.weight_bonds"),
    ("diffusion.snr_clamp_min=5", "diffusion.snr_clamp_max"),
    ("dataset.name=../../etc", "dataset.name"),
    ("batching.boundaries=[30,10]", "batching.boundaries"),
    ("sample_eval.num_molecules=0", "sample_eval.num_molecules"),
])
def test_train_config_values(override: str, needle: str, tmp_path: Path, capsys) -> None:
    run_refused(["train", "--config", str(DEBUG), f"trainer.output_dir={tmp_path / 'run'}", override], [tmp_path],
                capsys, needle)


def test_train_compiled_path_on_a_pocket_model(tmp_path: Path, capsys) -> None:
    """The dense paths need an unconditional model: refused before any data or model is touched."""
    run_refused(["train", "--config", str(DEBUG.parent / "crossdocked.yaml"), f"trainer.output_dir={tmp_path / 'run'}",
                 "trainer.path=compiled"], [tmp_path], capsys, "trainer.path: must be null or reference")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_train_gpu_accelerator_on_a_cpu_machine(tmp_path: Path, capsys) -> None:
    run_refused(["train", "--config", str(DEBUG), f"trainer.output_dir={tmp_path / 'run'}",
                 "trainer.accelerator=gpu"], [tmp_path], capsys, "no CUDA device")


@pytest.mark.parametrize(("args", "needle"), [
    (["qm9", "--limit", "-5"], "--limit must be >= 1, got -5"),
    (["qm9", "--limit", "0"], "--limit must be >= 1"),
    (["qm9", "--workers", "0"], "--workers must be"),
    (["geom", "--raw", "x", "--conformers", "-1"], "--conformers must be >= 0"),
    (["geom", "--raw", "x", "--shard-size", "0"], "--shard-size"),
    (["crossdocked", "--raw", "x", "--pocket-cutoff", "inf"], "--pocket-cutoff"),
    (["custom", "--sdf", "x.sdf", "--name", "t", "--max-atoms", "-2"], "--max-atoms"),
    (["pubchem3d", "--raw", "x", "--seed", str(2**40)], "--seed must be"),
])
def test_data_values(args: list[str], needle: str, tmp_path: Path, capsys) -> None:
    run_refused(["data", *args, "--root", str(tmp_path / "d")], [tmp_path], capsys, needle)
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize(("args", "needle"), [
    (["--seed", str(2**40)], "--seed must be 0..2147483647"),
    (["--exhaustiveness", "0"], "--exhaustiveness must be"),
    (["--exhaustiveness", "100000"], "--exhaustiveness must be 1..512"),
    (["--poses", "0"], "--poses must be"),
    (["--workers", "0"], "--workers must be"),
    (["--center", "nan", "0", "0", "--size", "10", "10", "10"], "--center must be finite"),
    (["--center", "0", "0", "0", "--size", "10", "-1", "10"], "sizes positive"),
])
def test_dock_values(args: list[str], needle: str, tmp_path: Path, capsys) -> None:
    ligands = tmp_path / "l.sdf"
    ligands.write_text(GOOD_RECORD)
    run_refused(["dock", str(ligands), "--receptor", str(tmp_path / "r.pdb"), "--out", str(tmp_path / "d"), *args],
                [tmp_path], capsys, needle)


@pytest.mark.parametrize(("args", "needle"), [
    (["--workers", "0"], "--workers must be"), (["--dock-exhaustiveness", "0"], "--dock-exhaustiveness"),
])
def test_evaluate_values(args: list[str], needle: str, tmp_path: Path, capsys) -> None:
    sdf = tmp_path / "m.sdf"
    sdf.write_text(GOOD_RECORD)
    run_refused(["evaluate", str(sdf), "--out", str(tmp_path / "ev"), "--quiet", *args], [tmp_path], capsys, needle)
