"""Wall-clock snapshot checkpoints and the training clock that survives --resume."""

from __future__ import annotations

from pathlib import Path

import pytest
from toydata import ToyBuilder, toy_config

from molgen.safe_load import load_checkpoint
from molgen.training.train import train


@pytest.fixture(scope="module")
def toy_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("data")
    ToyBuilder().process(root, progress=False, log=None)
    return root


def _clock(path: Path) -> dict:
    (state,) = [v for k, v in load_checkpoint(path)["callbacks"].items() if "WallClockSnapshots" in k]
    return state


def test_snapshots_are_kept_and_the_clock_adds_up_over_resumes(toy_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    last = train(toy_config(toy_root, out, "optim.max_steps=4", "trainer.snapshot_minutes=[0.0001, 1000]"))
    snapshot = out / "checkpoints" / "minutes=0.0001.ckpt"
    assert snapshot.is_file() and not (out / "checkpoints" / "minutes=1000.ckpt").exists()
    first = _clock(last)
    assert first["saved"] == [0.0001] and first["training_seconds"] > 0
    assert load_checkpoint(snapshot)["global_step"] <= 4
    last = train(toy_config(toy_root, out, "optim.max_steps=8", "trainer.snapshot_minutes=[0.0001, 1000]"),
                 resume=True)
    second = _clock(last)
    assert second["saved"] == [0.0001]  # not saved again after the resume
    assert second["training_seconds"] > first["training_seconds"]
