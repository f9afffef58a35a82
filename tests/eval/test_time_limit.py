"""``molgen evaluate --metrics full`` always finishes and leaves what it computed (issue #20, item 2).

PoseBusters never returns on ``O=C(NC1CCCCC1)C1CCN(C2=NC=NC3=NC=N[C@H]32)CC1`` embedded with
RDKit's ETKDG (seed 0): the user's run froze at that molecule and was killed with no output.
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rdkit import Chem
from rdkit.Chem import AllChem

from molgen.cli.evaluate import main

pytest.importorskip("posebusters")

HANGS = "O=C(NC1CCCCC1)C1CCN(C2=NC=NC3=NC=N[C@H]32)CC1"
ROOT = Path(__file__).resolve().parents[2]
MOLGEN = "import sys; from molgen.cli import main; sys.exit(main(sys.argv[1:]))"


def _write(path: Path, smiles: list[str]) -> Path:
    with Chem.SDWriter(str(path)) as writer:
        for i, smi in enumerate(smiles):
            mol = Chem.AddHs(Chem.MolFromSmiles(smi))
            assert AllChem.EmbedMolecule(mol, randomSeed=0) == 0
            mol.SetProp("_Name", f"mol{i}")
            writer.write(mol)
    return path


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="timing assumes fork")
def test_a_molecule_that_hangs_posebusters_is_a_timeout_and_the_run_finishes(tmp_path, capsys):
    sdf = _write(tmp_path / "moses.sdf", ["CCO", HANGS, "c1ccccc1O"])
    start = time.monotonic()
    assert main([str(sdf), "--metrics", "full", "--time-limit", "8", "--workers", "1", "--quiet",
                 "--out", str(tmp_path / "eval")]) == 0
    assert time.monotonic() - start < 120
    rows = _rows(tmp_path / "eval" / "molecules.csv")
    assert [r["posebusters.status"] for r in rows] == ["ok", "timeout", "ok"]
    assert [r["strain.status"] for r in rows] == ["ok", "ok", "ok"]
    assert rows[1]["posebusters.all_pass"] == "" and rows[0]["posebusters.all_pass"] in ("True", "False")
    assert rows[1]["validity.valid"] == "True"  # the fast groups are all there for the stuck molecule
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    pb = metrics["metrics"]["posebusters"]
    assert (pb["n_samples"], pb["n_checked"], pb["n_timeout"]) == (3, 2, 1)
    assert metrics["counts"]["posebusters/all_pass"]["of"] == 3
    assert not (tmp_path / "eval.partial.csv").exists()  # removed once the report is in place
    out = capsys.readouterr().out
    assert "posebusters/n_timeout" in out and "(3 of 3 molecules)" in out  # validity/valid, with its count


def test_a_killed_run_leaves_the_rows_it_computed(tmp_path):
    sdf = _write(tmp_path / "moses.sdf", ["CCO", "c1ccccc1O", HANGS])
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    argv = ["evaluate", str(sdf), "--metrics", "full", "--time-limit", "600", "--workers", "1", "--quiet",
            "--out", str(tmp_path / "eval")]
    proc = subprocess.Popen([sys.executable, "-c", MOLGEN, *argv], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    partial = tmp_path / "eval.partial.csv"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:  # wait until both quick molecules have their PoseBusters rows
            rows = _rows(partial) if partial.exists() else []
            if sum(r.get("posebusters.status") == "ok" for r in rows) == 2:
                break
            time.sleep(0.5)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the user's kill, stuck at the third molecule
        proc.wait()
    rows = _rows(partial)
    assert [r["name"] for r in rows] == ["mol0", "mol1", "mol2"]
    assert [r["posebusters.status"] for r in rows] == ["ok", "ok", ""]
    assert rows[2]["validity.valid"] == "True"
    assert not (tmp_path / "eval").exists()


def test_help_says_what_each_preset_costs():
    from molgen.cli.evaluate import build_parser
    from molgen.eval.registry import available_presets, preset_cost

    text = " ".join(build_parser().format_help().split())
    for name in available_presets():
        assert "per molecule" in preset_cost(name) and f"{name}: {preset_cost(name)}" in text
    assert "--time-limit" in text and "'timeout'" in text
