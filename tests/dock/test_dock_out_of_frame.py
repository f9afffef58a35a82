"""A ligand nowhere near the receptor is ``failed`` with the reason, never ``ok`` at 0.0 (issue #20, item 4)."""

from __future__ import annotations

import csv

import imatinib
import pytest
from rdkit import Chem

from molgen.cli import main as molgen

pytest.importorskip("vina", reason="the dock extra (vina, meeko, gemmi) is not installed")
pytest.importorskip("meeko", reason="the dock extra (vina, meeko, gemmi) is not installed")


@pytest.fixture
def near_and_far(tmp_path, vina_1iep):
    """Imatinib as crystallised, then moved 40 A away (each with its own box: no --box-from)."""
    crystal = imatinib.crystal(vina_1iep)
    path = tmp_path / "ligands.sdf"
    with Chem.SDWriter(str(path)) as writer:
        for name, mol in (("crystal", crystal), ("far", imatinib.shifted(crystal, 40.0))):
            mol = Chem.Mol(mol)
            mol.SetProp("_Name", name)
            writer.write(mol)
    return path


def _rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_score_mode_fails_a_ligand_outside_the_receptor(near_and_far, vina_1iep, tmp_path, capsys):
    out = tmp_path / "score"
    assert molgen(["dock", str(near_and_far), "--receptor", str(vina_1iep / "1iep_receptorH.pdb"),
                   "--mode", "score", "--out", str(out)]) == 0
    rows = _rows(out / "docking.csv")
    assert [r["status"] for r in rows] == ["ok", "failed"]
    assert float(rows[0]["vina_score"]) < -10
    assert rows[1]["reason"].startswith("ligand outside the receptor") and rows[1]["vina_score"] == ""
    assert "1 of 2 molecules score ok, 1 failed" in capsys.readouterr().out


def test_dock_mode_fails_a_box_without_receptor_atoms(near_and_far, vina_1iep, tmp_path):
    far = tmp_path / "far.sdf"
    with Chem.SDWriter(str(far)) as writer:
        writer.write(list(Chem.SDMolSupplier(str(near_and_far), removeHs=False))[1])
    out = tmp_path / "dock"
    assert molgen(["dock", str(far), "--receptor", str(vina_1iep / "1iep_receptorH.pdb"), "--mode", "dock",
                   "--exhaustiveness", "1", "--out", str(out)]) == 0
    (row,) = _rows(out / "docking.csv")
    assert row["status"] == "failed" and "holds no receptor atom" in row["reason"]
