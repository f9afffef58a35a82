"""SIGINT / SIGTERM end every command with one line and exit 130 / 143, nothing partial under a final name, and
a rerun completes; temporary files are removed only when their owner is gone, so two runs never collide."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from make_corpus import GOOD_RECORD
from test_kill9 import ENV, ROOT, SHIPPED, dock_score_job, molgen

from molgen.errors import MolgenInputError
from molgen.safe_write import is_stale, owner_lock, remove_stale_temps, temp_sibling


def signal_when(args: list[str], ready: Callable[[], bool], signum: int, tmp_path: Path,
                timeout: float = 180, env: dict | None = None) -> tuple[int, str]:
    """Start ``molgen args``, send ``signum`` once ``ready()``; return its exit status and stderr."""
    err_path = tmp_path / f"stderr-{signum}-{time.monotonic_ns()}"
    with open(err_path, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "molgen", *args], env=env or ENV, stdout=subprocess.DEVNULL,
                                stderr=err)
        try:
            deadline = time.monotonic() + timeout
            while not ready():
                assert proc.poll() is None, err_path.read_text()[-2000:]
                assert time.monotonic() < deadline
                time.sleep(0.01)
            proc.send_signal(signum)
            rc = proc.wait(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return rc, err_path.read_text()


def assert_one_line(stderr: str, command: str, name: str) -> None:
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr[-3000:]
    last = stderr.replace("\r", "\n").strip().splitlines()[-1]
    assert last.startswith(f"molgen {command}: interrupted by {name}"), stderr[-3000:]


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_sample_interrupted_writes_nothing(signum: int, status: int, tmp_path: Path) -> None:
    out = tmp_path / "s.sdf"
    errors: list[Path] = []

    def sampling() -> bool:  # tqdm's bar has started: the reverse process runs
        errors[:] = sorted(tmp_path.glob("stderr-*"))
        return bool(errors) and " molecules:" in errors[-1].read_text()

    rc, err = signal_when(["sample", "--ckpt", str(SHIPPED), "--num", "64", "--out", str(out)], sampling, signum,
                          tmp_path)
    assert rc == status, err[-2000:]
    assert_one_line(err, "sample", signal.Signals(signum).name)
    assert not out.exists() and not list(tmp_path.glob(".s.sdf*"))


def test_data_custom_terminated_leaves_no_dataset_and_reruns(tmp_path: Path) -> None:
    big = tmp_path / "big.sdf"
    big.write_text(GOOD_RECORD * 3000)
    root = tmp_path / "root"
    processed = root / "processed"
    args = ["data", "custom", "--name", "w", "--root", str(root), "--no-progress", "--sdf", str(big)]
    rc, err = signal_when(args, lambda: any(processed.glob(".w.*")), signal.SIGTERM, tmp_path)
    assert rc == 143, err
    assert_one_line(err, "data", "SIGTERM")
    assert not (processed / "w").exists()
    assert not (processed / ".w.lock").exists()
    rerun = molgen(*args)
    assert rerun.returncode == 0, rerun.stderr
    assert sorted(p.name for p in processed.iterdir()) == ["w"]


def test_evaluate_interrupted_leaves_no_report(tmp_path: Path) -> None:
    big = tmp_path / "big.sdf"
    big.write_text(GOOD_RECORD * 3000)
    out = tmp_path / "ev"
    args = ["evaluate", str(big), "--out", str(out), "--metrics", "basic", "--workers", "1", "--quiet"]
    rc, err = signal_when(args, lambda: any(tmp_path.glob(".ev.tmp-*")), signal.SIGINT, tmp_path)
    assert rc == 130, err
    assert_one_line(err, "evaluate", "SIGINT")
    assert not out.exists() and not list(tmp_path.glob(".ev.*"))


@pytest.mark.slow  # about 30 s: 40 score-only Vina runs (0.65 s each); the first ledger flush comes after 10 s
def test_dock_interrupted_after_its_first_flush_keeps_whole_rows_and_resumes(tmp_path: Path, shared_data: Path) -> None:
    pytest.importorskip("vina")
    args, out = dock_score_job(tmp_path, shared_data)
    csv = out / "docking.csv"
    env = {**ENV, "MOLGEN_CACHE": str(tmp_path / "cache")}
    rc, err = signal_when(args, lambda: csv.is_file() and len(csv.read_text().splitlines()) >= 2, signal.SIGINT,
                          tmp_path, env=env)
    assert rc == 130, err[-2000:]
    assert_one_line(err, "dock", "SIGINT")
    assert not [p for p in tmp_path.rglob(".*")]  # no temporary file, in the output or the receptor cache
    done = csv.read_text().splitlines()[1:]
    assert 1 <= len(done) < 40  # interrupted mid-run, not while the finished process exits
    rerun = subprocess.run([sys.executable, "-m", "molgen", *args], env=env, capture_output=True, text=True,
                           timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    rows = csv.read_text().splitlines()[1:]
    assert rows[: len(done)] == done  # the finished rows were kept and skipped, not redone
    assert sorted(int(r.split(",")[0]) for r in rows) == list(range(40))


def test_data_qm9_interrupted_leaves_no_dataset_and_reruns(tmp_path: Path, shared_data: Path) -> None:
    raw = tmp_path / "root" / "raw" / "qm9"
    raw.mkdir(parents=True)
    blocks = [b for b in (shared_data / "qm9" / "gdb9_first100" / "gdb9.sdf").read_text().split("$$$$\n") if b.strip()]
    header, *rows = (shared_data / "qm9" / "gdb9_first100" / "gdb9.sdf.csv").read_text().splitlines()
    sdf, table = [], [header]
    for copy in range(30):  # the 100 real molecules as 3000 (new GDB ids): processing takes a few seconds
        for block, row in zip(blocks, rows, strict=True):
            title, rest = block.split("\n", 1)
            gdb = f"gdb_{int(title.strip().removeprefix('gdb_')) + 1000 * copy}"
            sdf.append(f"{gdb}\n{rest}$$$$\n")
            table.append(f"{gdb},{row.split(',', 1)[1]}")
    (raw / "gdb9.sdf").write_text("".join(sdf))
    (raw / "gdb9.sdf.csv").write_text("\n".join(table) + "\n")
    (raw / "uncharacterized.txt").write_text((shared_data / "qm9" / "aux" / "uncharacterized.txt").read_text())
    processed = tmp_path / "root" / "processed"
    args = ["data", "qm9", "--root", str(tmp_path / "root"), "--no-progress"]
    rc, err = signal_when(args, lambda: any(processed.glob(".qm9.*")), signal.SIGINT, tmp_path)
    assert rc == 130, err
    assert_one_line(err, "data", "SIGINT")
    assert not processed.exists() or not list(processed.iterdir())  # no dataset, no staging folder
    rerun = molgen(*args)
    assert rerun.returncode == 0, rerun.stderr
    assert sorted(p.name for p in processed.iterdir()) == ["qm9"]
    assert '"train": ' in (processed / "qm9" / "report.json").read_text()


@pytest.mark.slow  # about 30 s: a tiny model trained until its first checkpoint, then SIGTERM
def test_train_terminated_does_not_exit_0(tmp_path: Path) -> None:
    from molgen.data.custom import build_custom

    (tmp_path / "water.sdf").write_text(GOOD_RECORD * 8)
    build_custom(tmp_path / "water.sdf", "water", tmp_path / "data", fractions={"train": 1.0}, progress=False,
                 log=None)
    out = tmp_path / "run"
    args = ["train", "--config", str(ROOT / "configs" / "debug.yaml"), f"dataset.root={tmp_path / 'data'}",
            "dataset.name=water", "dataset.limit_train=null", f"trainer.output_dir={out}", "batching.batch_size=4",
            "trainer.checkpoint_every=1", "optim.max_steps=100000"]
    rc, err = signal_when(args, lambda: (out / "checkpoints" / "last.ckpt").is_file(), signal.SIGTERM, tmp_path,
                          timeout=240)
    assert rc == 143, err[-3000:]
    assert_one_line(err, "train", "SIGTERM")


def test_a_live_writers_temporary_files_are_never_removed(tmp_path: Path) -> None:
    target = tmp_path / "out.sdf"
    live = subprocess.Popen(["sleep", "60"])
    dead = subprocess.Popen(["true"])
    dead.wait()
    try:
        mine = temp_sibling(target)
        theirs = Path(str(mine).replace(f"-{os.getpid()}@", f"-{live.pid}@"))
        gone = Path(str(mine).replace(f"-{os.getpid()}@", f"-{dead.pid}@"))
        elsewhere = Path(str(mine).replace("@", "@otherhost"))
        legacy = tmp_path / ".out.sdf.tmp-0123abcd"
        for path in (mine, theirs, gone, elsewhere, legacy):
            path.write_text("partial")
        assert [is_stale(p) for p in (mine, theirs, gone, elsewhere, legacy)] == [False, False, True, False, True]
        assert sorted(remove_stale_temps(tmp_path, "out.sdf")) == sorted([gone, legacy])
        assert mine.exists() and theirs.exists() and elsewhere.exists()
    finally:
        live.kill()
        live.wait()


def test_a_dataset_build_is_locked_against_a_live_neighbour(tmp_path: Path) -> None:
    lock = tmp_path / ".t.lock"
    holder = owner_lock(lock, "building t")
    holder.__enter__()
    try:
        with pytest.raises(MolgenInputError, match="in progress in another molgen"), owner_lock(lock, "t"):
            pass
    finally:
        holder.__exit__(None, None, None)
    assert not lock.exists()
    dead = subprocess.Popen(["true"])
    dead.wait()
    lock.write_text(f"{dead.pid}@{temp_sibling(lock).name.split('@')[1].rsplit('-', 1)[0]}")
    with owner_lock(lock, "building t"):  # its owner is gone: taken over
        assert lock.read_text().startswith(f"{os.getpid()}@")


def test_two_evaluations_to_the_same_folder_both_finish(tmp_path: Path) -> None:
    sdf = tmp_path / "m.sdf"
    sdf.write_text(GOOD_RECORD * 1500)
    args = [sys.executable, "-m", "molgen", "evaluate", str(sdf), "--out", str(tmp_path / "ev"), "--metrics",
            "basic", "--workers", "1", "--quiet"]
    procs = [subprocess.Popen(args, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    assert [rc for rc, _ in results] == [0, 0], results
    assert '"n_read": 1500' in (tmp_path / "ev" / "metrics.json").read_text()
    assert not list(tmp_path.glob(".ev.*"))
