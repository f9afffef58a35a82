"""kill -9 while a command writes: the previous output stays byte-identical and a rerun completes cleanly."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from make_corpus import GOOD_RECORD

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "checkpoints" / "qm9_small_cpu.ckpt"
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


def molgen(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "molgen", *args], env=ENV, capture_output=True, text=True,
                          timeout=300)


def kill_when(args: list[str], ready: Callable[[], bool], timeout: float = 120, env: dict | None = None) -> None:
    """Start ``molgen args`` and kill -9 it as soon as ``ready()`` (e.g. its temporary output appeared)."""
    proc = subprocess.Popen([sys.executable, "-m", "molgen", *args], env=env or ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + timeout
        while not ready():
            assert proc.poll() is None, "the command finished before it could be killed while writing"
            assert time.monotonic() < deadline
            time.sleep(0.001)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -9


def dock_score_job(tmp_path: Path, shared_data: Path, copies: int = 40) -> tuple[list[str], Path]:
    """``molgen dock`` arguments scoring ``copies`` of the 1iep crystal ligand on one worker, and its --out."""
    example = shared_data / "docking" / "vina_1iep"
    ligand = (example / "1iep_ligand.sdf").read_text()
    ligands = tmp_path / "ligands.sdf"
    ligands.write_text((ligand if ligand.rstrip().endswith("$$$$") else ligand.rstrip() + "\n$$$$\n") * copies)
    out = tmp_path / "dock"
    args = ["dock", str(ligands), "--receptor", str(example / "1iep_receptorH.pdb"), "--mode", "score",
            "--box-file", str(example / "1iep_receptor.box.txt"), "--workers", "1", "--quiet", "--out", str(out)]
    return args, out


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow  # about 45 s on one CPU: 3000 molecules are sampled so that writing them takes a while
def test_sample_killed_while_writing_keeps_the_previous_file(tmp_path: Path) -> None:
    out = tmp_path / "samples.sdf"
    args = ["sample", "--ckpt", str(SHIPPED), "--steps", "1", "--no-progress", "--out", str(out)]
    assert molgen(*args, "--num", "4").returncode == 0
    before = out.read_bytes()
    kill_when([*args, "--num", "3000", "--batch-size", "1000"], lambda: any(tmp_path.glob(".samples.sdf.tmp-*")))
    assert out.read_bytes() == before
    assert list(tmp_path.glob(".samples.sdf.tmp-*"))  # the killed writer's temporary file ...
    rerun = molgen(*args, "--num", "4", "--seed", "1")
    assert rerun.returncode == 0, rerun.stderr
    assert out.read_bytes() != before
    assert not list(tmp_path.glob(".samples.sdf.tmp-*"))  # ... is removed by the next run


def test_data_custom_killed_while_processing_keeps_the_previous_dataset(tmp_path: Path) -> None:
    small, big = tmp_path / "small.sdf", tmp_path / "big.sdf"
    small.write_text(GOOD_RECORD * 5)
    big.write_text(GOOD_RECORD * 4000)
    root = tmp_path / "root"
    args = ["data", "custom", "--name", "w", "--root", str(root), "--no-progress"]
    assert molgen(*args, "--sdf", str(small)).returncode == 0
    before = snapshot(root / "processed" / "w")
    processed = root / "processed"
    kill_when([*args, "--sdf", str(big), "--force"], lambda: any(processed.glob(".w.*")))
    assert snapshot(processed / "w") == before
    rerun = molgen(*args, "--sdf", str(big), "--force")
    assert rerun.returncode == 0, rerun.stderr
    assert sorted(p.name for p in processed.iterdir()) == ["w"]  # no work or staging folder left
    assert '"train": ' in (processed / "w" / "report.json").read_text()


def test_evaluate_killed_while_writing_keeps_the_previous_report(tmp_path: Path) -> None:
    small, big = tmp_path / "small.sdf", tmp_path / "big.sdf"
    small.write_text(GOOD_RECORD * 3)
    big.write_text(GOOD_RECORD * 3000)  # large enough for the kill to land while the report is written
    out = tmp_path / "ev"
    args = ["--out", str(out), "--metrics", "basic", "--workers", "1", "--quiet"]
    assert molgen("evaluate", str(small), *args).returncode == 0
    before = snapshot(out)
    kill_when(["evaluate", str(big), *args], lambda: any(tmp_path.glob(".ev.tmp-*")))
    assert snapshot(out) == before
    rerun = molgen("evaluate", str(big), *args)
    assert rerun.returncode == 0, rerun.stderr
    assert '"n_read": 3000' in (out / "metrics.json").read_text()
    assert not list(tmp_path.glob(".ev.*"))  # the killed run's staging folder is gone


@pytest.mark.slow  # about a minute on one CPU: 40 score-only Vina runs, killed after the first flush
def test_dock_killed_mid_run_resumes_to_the_uninterrupted_result(tmp_path: Path, shared_data: Path) -> None:
    pytest.importorskip("vina")
    args, out = dock_score_job(tmp_path, shared_data)
    env = {**ENV, "MOLGEN_CACHE": str(tmp_path / "cache")}
    csv = out / "docking.csv"
    kill_when(args, lambda: csv.is_file() and len(csv.read_text().splitlines()) >= 2, timeout=240, env=env)
    done_before = len(csv.read_text().splitlines()) - 1
    assert done_before >= 1 and done_before < 40
    rerun = subprocess.run([sys.executable, "-m", "molgen", *args], env=env, capture_output=True, text=True,
                           timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    rows = csv.read_text().splitlines()[1:]
    assert len(rows) == 40  # every record exactly once: the finished ones were skipped, none lost
    records = sorted(int(r.split(",")[0]) for r in rows)
    assert records == list(range(40))
    from rdkit import Chem

    poses = [m for m in Chem.SDMolSupplier(str(out / "docked.sdf")) if m is not None]
    assert len(poses) == 40
    scores = {round(float(m.GetProp("vina_score")), 3) for m in poses}
    assert len(scores) == 1 and -13.5 < scores.pop() < -11.5  # the same crystal pose scores the same every time
    assert not [p for p in out.iterdir() if ".tmp" in p.name]


@pytest.mark.slow  # about 30 s: a tiny model checkpointed every step, killed while a checkpoint is written
def test_train_killed_while_writing_a_checkpoint_leaves_only_whole_checkpoints(tmp_path: Path) -> None:
    from molgen.data.custom import build_custom
    from molgen.safe_load import load_checkpoint

    (tmp_path / "water.sdf").write_text(GOOD_RECORD * 8)
    build_custom(tmp_path / "water.sdf", "water", tmp_path / "data", fractions={"train": 1.0}, progress=False,
                 log=None)
    out = tmp_path / "run"
    args = ["train", "--config", str(ROOT / "configs" / "debug.yaml"), f"dataset.root={tmp_path / 'data'}",
            "dataset.name=water", "dataset.limit_train=null", f"trainer.output_dir={out}", "batching.batch_size=4",
            "trainer.checkpoint_every=1"]
    ckpts = out / "checkpoints"
    kill_when([*args, "optim.max_steps=100000"],
              lambda: (ckpts / "last.ckpt").is_file() and any(ckpts.glob(".*.tmp-*")), timeout=240)
    whole = sorted(ckpts.glob("*.ckpt"))
    assert whole and all(load_checkpoint(p)["global_step"] >= 1 for p in whole)  # none is half-written
    killed_at = load_checkpoint(ckpts / "last.ckpt")["global_step"]
    rerun = molgen("train", "--resume", *args[1:], f"optim.max_steps={killed_at + 3}")
    assert rerun.returncode == 0, rerun.stderr
    assert load_checkpoint(ckpts / "last.ckpt")["global_step"] == killed_at + 3
    assert not list(ckpts.glob(".*.tmp-*"))  # the killed writer's temporary file is gone
