"""A write that fails half-way (``ulimit -f``: EFBIG; a full disk: ENOSPC) ends every command with one line naming
the output, exit 2, no traceback, no temporary file or work folder left and nothing under a final name.

CPython ignores SIGXFSZ, so past the limit ``write()`` raises ``OSError(EFBIG)`` instead of killing the process.
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from make_corpus import GOOD_RECORD
from test_kill9 import ENV, SHIPPED


def limited(limit_bytes: int, args: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """``molgen args`` with every file it writes limited to ``limit_bytes`` (pipes are not limited)."""

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return subprocess.run([sys.executable, "-m", "molgen", *args], env=env or ENV, cwd=cwd, capture_output=True,
                          text=True, timeout=300, preexec_fn=cap)


def assert_one_line_and_clean(run: subprocess.CompletedProcess, command: str, output: Path, folder: Path) -> None:
    assert run.returncode == 2, run.stderr[-3000:]
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"molgen {command}: error: [Errno 27] File too large (writing "), lines[0]
    assert str(output) in lines[0], (str(output), lines[0])
    assert not output.exists() or (output.is_dir() and not any(output.iterdir()))  # nothing under a final name
    leftovers = [str(p.relative_to(folder)) for p in folder.rglob(".*")]
    assert leftovers == [], leftovers  # no .NAME.tmp-*, .NAME.work, .NAME.lock


@pytest.mark.parametrize("limit", [4_000, 60_000])  # the first: the partial CSV; the second: the report
def test_evaluate_past_the_file_size_limit(limit: int, tmp_path: Path) -> None:
    (tmp_path / "w.sdf").write_text(GOOD_RECORD * 600)
    out = tmp_path / "ev"
    run = limited(limit, ["evaluate", "w.sdf", "--out", str(out), "--metrics", "basic", "--workers", "1",
                          "--quiet"], tmp_path)
    assert_one_line_and_clean(run, "evaluate", out if limit > 4_000 else tmp_path / "ev.partial.csv", tmp_path)
    # ev.partial.csv, once whole, stays: it holds every row computed (as after a kill)


def test_sample_past_the_file_size_limit(tmp_path: Path) -> None:
    out = tmp_path / "s.sdf"
    run = limited(4_000, ["sample", "--ckpt", str(SHIPPED), "--num", "32", "--steps", "2", "--no-progress",
                          "--out", str(out)], tmp_path)
    assert_one_line_and_clean(run, "sample", out, tmp_path)


def test_data_custom_past_the_limit_while_merging_its_shards(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    for k in range(3):  # one shard per file; each shard's files fit, the merged ones do not
        (tmp_path / "in" / f"p{k}.sdf").write_text(GOOD_RECORD * 6000)
    root = tmp_path / "root"
    args = ["data", "custom", "--sdf", "in", "--name", "w", "--root", str(root), "--no-progress"]
    run = limited(300_000, args, tmp_path)
    assert_one_line_and_clean(run, "data custom", root / "processed" / "w", tmp_path)  # .w.work was left before
    rerun = subprocess.run([sys.executable, "-m", "molgen", *args], env=ENV, cwd=tmp_path, capture_output=True,
                           text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert sorted(p.name for p in (root / "processed").iterdir()) == ["w"]


def test_data_qm9_past_the_file_size_limit(tmp_path: Path, shared_data: Path) -> None:
    raw = tmp_path / "root" / "raw" / "qm9"
    raw.mkdir(parents=True)
    for name in ("gdb9.sdf", "gdb9.sdf.csv"):
        shutil.copy(shared_data / "qm9" / "gdb9_first100" / name, raw / name)
    shutil.copy(shared_data / "qm9" / "aux" / "uncharacterized.txt", raw / "uncharacterized.txt")
    run = limited(2_000, ["data", "qm9", "--root", str(tmp_path / "root"), "--no-progress"], tmp_path)
    assert_one_line_and_clean(run, "data qm9", tmp_path / "root" / "processed" / "qm9", tmp_path)


def test_dock_past_the_file_size_limit(tmp_path: Path, shared_data: Path) -> None:
    pytest.importorskip("vina")
    example = shared_data / "docking" / "vina_1iep"
    out = tmp_path / "dock"
    env = {**ENV, "MOLGEN_CACHE": str(tmp_path / "cache")}
    run = limited(4_000, ["dock", str(example / "1iep_ligand.sdf"), "--receptor", str(example / "1iep_receptorH.pdb"),
                          "--mode", "score", "--box-file", str(example / "1iep_receptor.box.txt"), "--workers", "1",
                          "--quiet", "--out", str(out)], tmp_path, env)
    assert_one_line_and_clean(run, "dock", tmp_path / "cache" / "receptors", tmp_path)  # the prepared receptor
    assert not out.exists()
