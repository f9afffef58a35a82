"""What ``molgen train`` / ``molgen finetune`` show a user: one progress bar and one closing line; Lightning's
banner, warnings and per-epoch bar go to ``<run>/train.log``; errors stay one visible line.

Real subprocesses (Lightning writes its banner through ``logging`` and warnings to the process's stderr,
as a user's terminal sees them) on the tiny toy dataset of :mod:`toydata`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from toydata import ROOT, ToyBuilder

from molgen.errors import MolgenInputError
from molgen.training.run_dir import TRAIN_LOG, check_new_run

#: what Lightning printed on the terminal before (banner, tip, model-mode warning, hook warning, epoch bar)
LIGHTNING_NOISE = ("GPU available", "TPU available", "💡", "litlogger", "LOCAL_RANK", "in eval mode",
                   "transfer_batch_to_device", "Epoch ", "lightning/", "`Trainer.fit` stopped", "Time limit reached")


@pytest.fixture(scope="module")
def toy_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("data")
    ToyBuilder().process(root, progress=False, log=None)
    return root


def _molgen(command: str, toy_root: Path, out: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "molgen", command, "--config", str(ROOT / "configs" / "debug.yaml"), *args,
           f"dataset.root={toy_root}", "dataset.name=toy", "dataset.limit_train=null", f"trainer.output_dir={out}",
           "batching.batch_size=4", "trainer.checkpoint_every=3"]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


def _no_lightning(done: subprocess.CompletedProcess) -> None:
    for stream in (done.stdout, done.stderr):
        seen = [marker for marker in LIGHTNING_NOISE if marker in stream]
        assert not seen, (seen, stream[-2000:])


def test_train_shows_one_bar_and_one_line_and_keeps_lightning_in_train_log(toy_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    done = _molgen("train", toy_root, out, "optim.max_steps=6")
    assert done.returncode == 0, done.stderr[-3000:]
    _no_lightning(done)
    log = out / TRAIN_LOG
    ckpt = out / "checkpoints" / "last.ckpt"
    assert done.stdout == f"run {out}: final checkpoint {ckpt}; Lightning's messages in {log}\n"
    bar = done.stderr.replace("\r", "\n").strip().splitlines()
    assert bar and all(line.startswith("train:") for line in bar), bar  # molgen's one bar, nothing else
    assert "6/6" in bar[-1] and "loss=" in bar[-1]  # counted in optimizer steps of the whole run
    text = log.read_text()
    assert "GPU available" in text and "`Trainer.fit` stopped: `max_steps=6` reached" in text
    assert "transfer_batch_to_device" not in text  # its cause (an overridden hook) is gone, not filtered

    # finetune, bounded by time: the bar counts minutes (with the step), the same one closing line
    tuned = tmp_path / "tuned"
    done = _molgen("finetune", toy_root, tuned, "--ckpt", str(ckpt), "optim.max_steps=100000",
                   "optim.max_minutes=0.03")
    assert done.returncode == 0, done.stderr[-3000:]
    _no_lightning(done)
    assert done.stdout.endswith(f"run {tuned}: final checkpoint {tuned / 'checkpoints' / 'last.ckpt'}; "
                                f"Lightning's messages in {tuned / TRAIN_LOG}\n")
    last = done.stderr.replace("\r", "\n").strip().splitlines()[-1]
    assert last.startswith("train: 100%") and "/0.03 min, step=" in last and "loss=" in last, last
    assert "Time limit reached" in (tuned / TRAIN_LOG).read_text()  # Lightning's Timer said so, in the log


def test_a_refused_run_is_one_line_and_leaves_no_folder(tmp_path: Path) -> None:
    out = tmp_path / "run"
    done = _molgen("train", tmp_path / "no-data", out, "optim.max_steps=2")
    assert done.returncode == 2
    assert done.stderr.startswith("molgen train: error: no processed split 'train' of dataset 'toy'")
    assert len(done.stderr.splitlines()) == 1 and done.stdout == ""
    assert not out.exists()  # nothing was printed inside the capture: no empty train.log, no folder


def test_a_folder_holding_only_train_log_is_an_empty_run_folder(tmp_path: Path) -> None:
    (tmp_path / TRAIN_LOG).write_text("GPU available: False, used: False\n")
    check_new_run(tmp_path, force=False)  # a run that stopped before it wrote its config does not block
    (tmp_path / "notes.txt").write_text("mine\n")
    with pytest.raises(MolgenInputError, match="is not empty"):
        check_new_run(tmp_path, force=False)
