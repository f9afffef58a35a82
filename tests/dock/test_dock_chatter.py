"""``molgen dock`` keeps RDKit / meeko / Vina lines out of the terminal: they go to ``--out/library.log``.

A real run in a subprocess (the C++ loggers write to file descriptor 2, which only a separate process
shows as a user sees it): the shared 3rfm receptor and its ligand, and the same ligand with one bond
order raised, as a sampled molecule can be (RDKit logs "Explicit valence ..." in the docking worker).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: RDKit's C++ log lines start with a time stamp
RDKIT_LINE = re.compile(r"\[\d\d:\d\d:\d\d\]")


def _dock(tmp_path: Path, ligands: Path, receptor: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), "MOLGEN_CACHE": str(tmp_path / "cache")}
    args = [sys.executable, "-m", "molgen", "dock", str(ligands), "--receptor", str(receptor), "--mode", "score",
            "--out", str(out), *extra]
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


@pytest.fixture
def example(shared_data: Path) -> tuple[Path, str]:
    pytest.importorskip("vina")
    pytest.importorskip("meeko")
    folder = shared_data / "docking" / "diffsbdd_examples"
    if not (folder / "3rfm.pdb").is_file():
        pytest.skip(f"DiffSBDD 3rfm example not found at {folder}")
    return folder / "3rfm.pdb", (folder / "3rfm_B_CFF.sdf").read_text()


def test_dock_sends_rdkit_lines_of_its_workers_to_library_log(tmp_path: Path, example) -> None:
    receptor, ligand = example
    overvalent = ligand.replace("\n  1  2  1  0  0  0  0\n", "\n  1  2  2  0  0  0  0\n", 1)
    assert overvalent != ligand  # the first bond (N1-C2) is now double: a four-valent neutral nitrogen
    ligands = tmp_path / "sampled.sdf"
    ligands.write_text(ligand + overvalent.replace("CFF", "CFF_overvalent", 1))
    out = tmp_path / "dock"
    done = _dock(tmp_path, ligands, receptor, out, "--workers", "2")
    err = done.stderr.replace("\r", "\n")
    assert not RDKIT_LINE.search(err), err  # nothing of RDKit's in the progress bar
    assert "vina score" in err  # molgen's own bar still shows
    log = out / "library.log"
    assert f"1 line of library messages (RDKit 1) kept in {log}" in err
    assert "Explicit valence for atom # 0 N, 4" in log.read_text()  # printed by the worker process
    rows = (out / "docking.csv").read_text().splitlines()[1:]
    assert [r.split(",")[2] for r in rows] == ["ok", "failed"]

    (out / "docking.csv").unlink()  # rerun the whole file --quiet: no bar, the log grows, one line says so
    quiet = _dock(tmp_path, ligands, receptor, out, "--workers", "2", "--quiet")
    assert quiet.stderr == f"1 line of library messages (RDKit 1) kept in {log}\n"
    assert len(RDKIT_LINE.findall(log.read_text())) == 2  # appended after the first run's line


def test_dock_with_nothing_printed_says_nothing_and_writes_no_log(tmp_path: Path, example) -> None:
    receptor, ligand = example
    ligands = tmp_path / "crystal.sdf"
    ligands.write_text(ligand)
    out = tmp_path / "dock"
    done = _dock(tmp_path, ligands, receptor, out, "--workers", "1", "--quiet")
    assert done.stderr == ""
    assert "1 of 1 molecules score ok" in done.stdout
    assert not (out / "library.log").exists()


def test_rdkit_lines_formatted_by_meeko_are_counted_as_rdkit(tmp_path: Path, example) -> None:
    """One worker docks the crystal ligand first, so meeko is imported and formats RDKit's log lines as
    ``[RDKit] ERROR:[hh:mm:ss] ...`` before the overvalent copy fails: they are still RDKit's, not 'other'."""
    receptor, ligand = example
    overvalent = ligand.replace("\n  1  2  1  0  0  0  0\n", "\n  1  2  2  0  0  0  0\n", 1)
    ligands = tmp_path / "sampled.sdf"
    ligands.write_text(ligand + overvalent.replace("CFF", "CFF_overvalent", 1))
    out = tmp_path / "dock"
    done = _dock(tmp_path, ligands, receptor, out, "--workers", "1", "--quiet")
    log = out / "library.log"
    assert "[RDKit] ERROR:" in log.read_text()  # the line as meeko's handler writes it
    assert done.stderr == f"1 line of library messages (RDKit 1) kept in {log}\n"
