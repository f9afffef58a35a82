"""One huge record never makes an evaluation run for minutes: the slow per-molecule checks (PoseBusters,
MMFF strain, docking) skip a molecule with more than ``--max-atoms`` atoms, say so per molecule and count it.

Measured: ``molgen evaluate --metrics full --workers 1`` on one 1997-atom alkane took 249 s before the bound
(MMFF strain and PoseBusters each ran into the 120 s time limit; with --protein docking adds another 120 s).
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import pytest
from make_corpus import GOOD_RECORD, alkane_sdf
from test_kill9 import molgen

from molgen.eval.group import EvalOptions
from molgen.eval.runner import to_blocks
from molgen.eval.timed import compute_timed


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_2000_atom_record_is_skipped_by_the_slow_checks_and_the_full_evaluation_is_quick(tmp_path: Path) -> None:
    pytest.importorskip("posebusters")
    big = alkane_sdf(tmp_path / "alkane.sdf", 665)  # 1997 atoms
    sdf = tmp_path / "mixed.sdf"
    sdf.write_text(GOOD_RECORD + big.read_text())
    start = time.monotonic()
    run = molgen("evaluate", str(sdf), "--metrics", "full", "--workers", "1", "--quiet", "--out", str(tmp_path / "ev"))
    elapsed = time.monotonic() - start
    assert run.returncode == 0, run.stderr[-2000:]
    assert elapsed < 90, elapsed  # 249 s before: strain and PoseBusters each ran to the 120 s limit
    water, alkane = _rows(tmp_path / "ev" / "molecules.csv")
    for group in ("strain", "posebusters"):
        assert water[f"{group}.status"] == "ok" and water[f"{group}.skip_reason"] == ""
        assert alkane[f"{group}.status"] == "skipped"
        assert alkane[f"{group}.skip_reason"] == "too large: 1997 atoms > max_atoms 300"
    assert alkane["validity.valid"] == "True"  # the fast groups still see the big record
    metrics = json.loads((tmp_path / "ev" / "metrics.json").read_text())["metrics"]
    assert metrics["strain"]["n_skipped"] == 1 and metrics["strain"]["n_mmff_failed"] == 0
    assert (metrics["posebusters"]["n_skipped"], metrics["posebusters"]["n_checked"]) == (1, 1)
    assert "posebusters/n_skipped" in run.stdout
    assert "1 molecule(s) with more than --max-atoms 300 atoms skipped by strain, posebusters" in run.stderr


def test_the_bound_is_an_option_and_a_skipped_molecule_starts_no_worker(monkeypatch) -> None:
    from rdkit import Chem

    import molgen.eval.timed as timed

    water = Chem.MolFromMolBlock(GOOD_RECORD.split("$$$$")[0], removeHs=False)
    rows, _ = compute_timed(to_blocks([water]), ["strain"], EvalOptions(max_atoms=3))  # at the bound: checked
    assert rows[0]["strain.status"] == "ok" and rows[0]["strain.mmff_strain"] is not None
    monkeypatch.setattr(timed, "_Worker", None)  # constructing a worker would fail: none may start
    done: list[int] = []
    rows, seconds = compute_timed(to_blocks([water, water]), ["strain"], EvalOptions(max_atoms=2), on_done=done.append)
    assert [r["strain.status"] for r in rows] == ["skipped", "skipped"]
    assert rows[0]["strain.skip_reason"] == "too large: 3 atoms > max_atoms 2"
    assert done == [0, 1] and seconds == {"strain": 0.0}


def test_max_atoms_is_checked(tmp_path: Path, capsys) -> None:
    from test_bad_inputs import run_refused

    sdf = tmp_path / "m.sdf"
    sdf.write_text(GOOD_RECORD)
    run_refused(["evaluate", str(sdf), "--out", str(tmp_path / "ev"), "--quiet", "--max-atoms", "0"], [tmp_path],
                capsys, "--max-atoms must be >= 1, got 0")
