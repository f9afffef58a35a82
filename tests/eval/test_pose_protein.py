"""Pose checks against a protein PDB that still holds its crystal ligand (issue #20, item 3): the
hetero groups are left out of the protein PoseBusters sees, and the summary names them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from molgen.cli import main
from molgen.eval.plausibility import pose_protein

DOCKING = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "docking"
needs_data = pytest.mark.skipif(not DOCKING.is_dir(), reason="../shared/data/docking (real PDB files) is absent")

PDB = """\
ATOM      1  N   GLY A   1       0.000   0.000   0.000  1.00  0.00           N
ATOM      2  CA  GLY A   1       1.450   0.000   0.000  1.00  0.00           C
HETATM    3 ZN    ZN A 101       5.000   0.000   0.000  1.00  0.00          ZN
HETATM    4  C1  LIG A 201       3.000   1.000   0.000  1.00  0.00           C
HETATM    5  O1  LIG A 201       3.000   2.200   0.000  1.00  0.00           O
HETATM    6  O   HOH A 301       9.000   0.000   0.000  1.00  0.00           O
CONECT    4    5
CONECT    5    4
END
"""


def test_waters_and_the_ligand_leave_metal_ions_and_protein_stay(tmp_path) -> None:
    path = tmp_path / "p.pdb"
    path.write_text(PDB)
    copy = pose_protein(path, cache_dir=tmp_path / "cache")
    assert copy.removed == ("LIG A201 (2 atoms)",) and copy.n_waters == 1
    assert copy.describe() == "LIG A201 (2 atoms), 1 waters"
    kept = copy.path.read_text().splitlines()
    assert [x[12:16].strip() for x in kept if x.startswith(("ATOM", "HETATM"))] == ["N", "CA", "ZN"]
    assert not any(x.startswith("CONECT") for x in kept)
    assert path.read_text() == PDB  # the user's file is untouched


@needs_data
def test_real_pdb_with_its_ligand_and_waters(tmp_path) -> None:
    copy = pose_protein(DOCKING / "pocket2mol_example" / "4yhj.pdb", cache_dir=tmp_path)
    assert [r.split()[0] for r in copy.removed] == ["AN2", "AN2"] and copy.n_waters == 123  # two ligand copies
    text = copy.path.read_text()
    assert not any(x.startswith("HETATM") for x in text.splitlines())
    atoms = sum(x.startswith("ATOM") for x in (DOCKING / "pocket2mol_example" / "4yhj.pdb").read_text().splitlines())
    assert sum(x.startswith("ATOM") for x in text.splitlines()) == atoms


@needs_data
@pytest.mark.slow
def test_the_crystal_ligand_passes_pose_checks_in_its_own_pdb(tmp_path, capsys, monkeypatch) -> None:
    """The user's command: `molgen evaluate ligand.sdf --metrics posebusters --protein protein.pdb`, with the
    ligand still in the PDB as HETATM. Before: 'volume overlap with organic cofactors' failed (it overlapped itself)."""
    monkeypatch.setenv("MOLGEN_CACHE", str(tmp_path / "cache"))
    folder = DOCKING / "diffsbdd_examples"
    out = tmp_path / "ev"
    argv = ["evaluate", str(folder / "3rfm_B_CFF.sdf"), "--metrics", "posebusters", "--protein",
            str(folder / "3rfm.pdb"), "--out", str(out), "--quiet"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "removed_from_protein" in printed and "CFF A330 (14 atoms)" in printed
    summary = json.loads((out / "metrics.json").read_text())["metrics"]["posebusters"]
    assert summary["config"] == "dock" and summary["removed_from_protein"] == "CFF A330 (14 atoms)"
    assert summary["volume_overlap_with_organic_cofactors"] == 1.0
    assert summary["all_pass"] == 1.0
