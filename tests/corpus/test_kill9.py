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


def kill_when(args: list[str], ready: Callable[[], bool], timeout: float = 120) -> None:
    """Start ``molgen args`` and kill -9 it as soon as ``ready()`` (its temporary output appeared)."""
    proc = subprocess.Popen([sys.executable, "-m", "molgen", *args], env=ENV, stdout=subprocess.DEVNULL,
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
