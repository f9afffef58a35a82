"""`molgen evaluate` keeps RDKit / PoseBusters lines out of the terminal (issue #20, item 8): they go to
<out>/library.log and one line on stderr says how many there were and where."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from rdkit import Chem
from rdkit.Chem import AllChem

from molgen.chatter import captured, terminal

ROOT = Path(__file__).resolve().parents[2]
#: two carbons with a triple bond each to the middle one: RDKit cannot sanitise it, and says so in its log
HYPERVALENT = """x
     RDKit          3D

  3  2  0  0  0  0  0  0  0  0999 V2000
    0.0000    0.0000    0.0000 C   0  0
    1.2000    0.0000    0.0000 C   0  0
    2.4000    0.0000    0.0000 C   0  0
  1  2  3  0
  2  3  3  0
M  END
"""


def test_capture_takes_file_descriptor_and_python_writes_and_leaves_the_terminal(capfd) -> None:
    with captured() as chatter:
        print("from python")
        os.write(2, b"[06:00:00] from C\n")
        assert terminal() is not sys.stderr
        terminal().write("bar\n")
    assert chatter.lines == ["from python", "[06:00:00] from C"]
    assert chatter.counts() == {"RDKit": 1, "PoseBusters": 0, "Lightning": 0, "other": 1}
    assert "2 lines of library messages (RDKit 1, other 1)" in chatter.summary()
    seen = capfd.readouterr()
    assert seen.out == "" and seen.err == "bar\n"
    chatter.path.unlink()


def test_the_users_evaluate_prints_one_line_for_the_library_chatter(tmp_path) -> None:
    sdf = tmp_path / "samples.sdf"
    with Chem.SDWriter(str(sdf)) as writer:
        for i, smi in enumerate(["CCO", "CC(=O)N"]):
            mol = Chem.AddHs(Chem.MolFromSmiles(smi))
            AllChem.EmbedMolecule(mol, randomSeed=i)
            writer.write(mol)
    with sdf.open("a") as f:  # what a half-trained model writes
        f.write(HYPERVALENT + "$$$$\n")
    out = tmp_path / "ev"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, "-m", "molgen", "evaluate", str(sdf), "--metrics", "validity,posebusters",
                          "--out", str(out), "--quiet", "--workers", "1"], capture_output=True, text=True, env=env,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "library messages" in lines[0] and str(out / "library.log") in lines[0], run.stderr
    log = (out / "library.log").read_text()
    assert "Explicit valence" in log  # RDKit's own line, kept
    assert "posebusters/all_pass" in run.stdout
