"""The run directory: --resume picks the newest valid checkpoint, a new run refuses a used folder (--force)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from toydata import ToyBuilder, toy_config

from molgen.chem.vocab import NUM_ATOM_TYPES, NUM_BOND_TYPES, NUM_CHARGES
from molgen.diffusion.marginals import Marginals
from molgen.errors import MolgenInputError
from molgen.training import callbacks
from molgen.training.run_dir import check_new_run, resume_checkpoint
from molgen.training.train import train


def uniform_marginals() -> Marginals:
    """Valid marginals (uniform over every vocabulary, 1..9 atoms)."""
    return Marginals(atom_types=torch.ones(NUM_ATOM_TYPES) / NUM_ATOM_TYPES,
                     charges=torch.ones(NUM_CHARGES) / NUM_CHARGES,
                     bonds=torch.ones(NUM_BOND_TYPES) / NUM_BOND_TYPES, num_atoms=torch.ones(10) / 10)


def fake_checkpoint(path: Path, step: int) -> Path:
    """A checkpoint with valid (uniform) marginals, so only its step and bytes decide."""
    path.parent.mkdir(parents=True, exist_ok=True)
    marginals = uniform_marginals().to_dict()
    torch.save({"global_step": step, "state_dict": {"w": torch.zeros(1)},
                "hyper_parameters": {"config": {}, "marginals": marginals}}, path)
    return path


def test_resume_prefers_last_and_falls_back_to_the_newest_valid_step(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "checkpoints"
    fake_checkpoint(folder / "step=10.ckpt", 10)
    fake_checkpoint(folder / "step=20.ckpt", 20)
    fake_checkpoint(folder / "last.ckpt", 20)
    assert resume_checkpoint(folder) == folder / "last.ckpt"
    (folder / "last.ckpt").write_bytes(b"PK\x03\x04 truncated")
    assert resume_checkpoint(folder) == folder / "step=20.ckpt"
    assert "last.ckpt: not a molgen checkpoint" in capsys.readouterr().err
    (folder / "last.ckpt").unlink()
    (folder / "step=20.ckpt").write_bytes(b"")  # killed while writing, and no last.ckpt
    assert resume_checkpoint(folder) == folder / "step=10.ckpt"


def test_resume_takes_a_step_checkpoint_newer_than_last(tmp_path: Path) -> None:
    folder = tmp_path / "checkpoints"
    fake_checkpoint(folder / "last.ckpt", 10)
    fake_checkpoint(folder / "step=20.ckpt", 20)  # killed after step=20.ckpt, before last.ckpt was rewritten
    assert resume_checkpoint(folder) == folder / "step=20.ckpt"


def test_resume_removes_stale_temporary_files_and_names_every_problem(tmp_path: Path) -> None:
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    stale = folder / ".last.ckpt.tmp-0123abcd"
    stale.write_bytes(b"half a checkpoint")
    (folder / "last.ckpt").write_bytes(b"")
    with pytest.raises(MolgenInputError, match=r"no valid checkpoint in .*last\.ckpt: not a molgen checkpoint"):
        resume_checkpoint(folder)
    assert not stale.exists()
    with pytest.raises(FileNotFoundError, match="no checkpoint to resume from"):
        resume_checkpoint(tmp_path / "nothing")


def test_new_run_needs_an_empty_folder_or_force(tmp_path: Path) -> None:
    check_new_run(tmp_path / "new", force=False)
    check_new_run(tmp_path, force=False)  # exists but empty
    (tmp_path / "config.yaml").write_text("x")
    with pytest.raises(MolgenInputError, match="not empty.*--resume.*--force"):
        check_new_run(tmp_path, force=False)
    with pytest.raises(MolgenInputError, match="not a molgen run"):  # --force never empties a stranger's folder
        check_new_run(tmp_path, force=True)


def test_force_starts_over_and_resume_survives_a_corrupt_last(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "data"
    ToyBuilder().process(root, progress=False, log=None)
    out = tmp_path / "run"
    last = train(toy_config(root, out, "optim.max_steps=4", "trainer.checkpoint_every=2"))
    assert torch.load(last, weights_only=True)["global_step"] == 4
    with pytest.raises(MolgenInputError, match="not empty"):
        train(toy_config(root, out, "optim.max_steps=2"))
    last = train(toy_config(root, out, "optim.max_steps=2", "trainer.checkpoint_every=2"), force=True)
    assert sorted(p.name for p in last.parent.iterdir()) == ["last.ckpt", "step=2.ckpt"]  # no last-v1.ckpt
    last.write_bytes(last.read_bytes()[:1000])  # a corrupt last.ckpt: resume from step=2.ckpt
    read: list[str] = []
    safe = callbacks.load_checkpoint
    monkeypatch.setattr(callbacks, "load_checkpoint", lambda p, **kw: (read.append(Path(p).name), safe(p, **kw))[1])
    resumed = train(toy_config(root, out, "optim.max_steps=4", "trainer.checkpoint_every=2"), resume=True)
    assert torch.load(resumed, weights_only=True)["global_step"] == 4
    assert read == ["step=2.ckpt"]  # Lightning itself read the checkpoint through the safe reader


@pytest.mark.parametrize(("precision", "fused"), [("32-true", True), ("bf16-mixed", False)])
def test_adamw_is_fused_except_under_mixed_precision(tmp_path: Path, precision: str, fused: bool) -> None:
    """Fused AdamW (one kernel per step) wherever Lightning allows it with gradient clipping."""
    from molgen.config.load import config_to_dict
    from molgen.training.module import DiffusionModule

    config = toy_config(tmp_path, tmp_path / "run", f"trainer.precision={precision}")
    opt = DiffusionModule(config_to_dict(config), uniform_marginals().to_dict()).configure_optimizers()
    assert bool(opt.defaults["fused"]) is fused
