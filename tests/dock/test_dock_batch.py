"""``molgen dock`` end to end: outputs, per-molecule failures, resume after a kill, workers, bad input."""

from __future__ import annotations

import csv
import json

import imatinib
import pytest
from rdkit import Chem

import molgen.dock.batch as batch
from molgen.cli import main as molgen
from molgen.dock import DockSettings, dock_sdf, read_box_file

pytest.importorskip("vina", reason="the dock extra (vina, meeko, gemmi) is not installed")
pytest.importorskip("meeko", reason="the dock extra (vina, meeko, gemmi) is not installed")


def read_rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def ligands(tmp_path, vina_1iep):
    """Imatinib four times: as crystallised, shifted 40 A out of the box, with a Se atom, and as crystallised."""
    crystal = imatinib.crystal(vina_1iep)
    shifted = imatinib.shifted(crystal, 40.0)
    selenium = Chem.RWMol(crystal)
    selenium.GetAtomWithIdx(next(a.GetIdx() for a in crystal.GetAtoms() if a.GetSymbol() == "C")).SetAtomicNum(34)
    path = tmp_path / "ligands.sdf"
    with Chem.SDWriter(str(path)) as writer:
        for name, mol in (("crystal", crystal), ("shifted", shifted), ("selenium", selenium), ("again", crystal)):
            mol = Chem.Mol(mol)
            mol.SetProp("_Name", name)
            writer.write(mol)
    return path


def test_score_writes_poses_and_ledger_with_reasons(ligands, vina_1iep, tmp_path):
    settings = DockSettings(mode="score", box=read_box_file(vina_1iep / "1iep_receptor.box.txt"))
    run = dock_sdf(ligands, vina_1iep / "1iep_receptorH.pdb", tmp_path / "out", settings)
    assert (run.n_records, run.n_ok, run.n_failed, run.n_skipped) == (4, 2, 2, 0)
    rows = read_rows(run.csv)
    assert [r["name"] for r in rows] == ["crystal", "shifted", "selenium", "again"]
    assert [r["status"] for r in rows] == ["ok", "failed", "failed", "ok"]
    assert -13.5 < float(rows[0]["vina_score"]) < -11.5 and rows[0]["vina_score"] == rows[3]["vina_score"]
    assert rows[1]["reason"].startswith("ligand outside the box: 37 of 37 heavy atoms")
    assert rows[2]["reason"].startswith("unsupported element Se")
    poses = list(Chem.SDMolSupplier(str(run.sdf), removeHs=False))
    assert [p.GetIntProp("record") for p in poses] == [0, 3]
    assert poses[0].GetDoubleProp("vina_score") == pytest.approx(float(rows[0]["vina_score"]))
    assert poses[0].GetProp("mode") == "score" and poses[0].GetIntProp("pose") == 1
    assert json.loads((tmp_path / "out" / "docking.json").read_text())["counts"] == {"ok": 2, "failed": 2}


def test_killed_run_resumes_where_it_stopped(ligands, vina_1iep, tmp_path, monkeypatch):
    settings = DockSettings(mode="score", box=read_box_file(vina_1iep / "1iep_receptor.box.txt"))
    real = batch.dock_one
    calls = []

    def killed_after_two(*args):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(args[0])
        return real(*args)

    monkeypatch.setattr(batch, "dock_one", killed_after_two)
    with pytest.raises(KeyboardInterrupt):
        dock_sdf(ligands, vina_1iep / "1iep_receptorH.pdb", tmp_path / "out", settings)
    assert [r["record"] for r in read_rows(tmp_path / "out" / "docking.csv")] == ["0", "1"]
    calls.clear()
    monkeypatch.setattr(batch, "dock_one", lambda *args: calls.append(args[0]) or real(*args))
    run = dock_sdf(ligands, vina_1iep / "1iep_receptorH.pdb", tmp_path / "out", settings)
    assert calls == [2, 3]  # only the records the killed run had not finished
    assert (run.n_skipped, run.n_ok, run.n_failed) == (2, 2, 2)
    assert [r["record"] for r in read_rows(run.csv)] == ["0", "1", "2", "3"]
    assert [p.GetIntProp("record") for p in Chem.SDMolSupplier(str(run.sdf))] == [0, 3]


def test_other_settings_in_the_output_folder_are_refused(ligands, vina_1iep, tmp_path, capsys):
    receptor, out = vina_1iep / "1iep_receptorH.pdb", tmp_path / "out"
    box = ["--box-file", str(vina_1iep / "1iep_receptor.box.txt")]
    assert molgen(["dock", str(ligands), "--receptor", str(receptor), "--mode", "score", *box, "--out", str(out),
                   "--quiet", "--workers", "1"]) == 0
    assert molgen(["dock", str(ligands), "--receptor", str(receptor), "--mode", "minimize", *box,
                   "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "settings.mode: score -> minimize" in err and str(out) in err


def test_workers_give_the_same_results(ligands, vina_1iep, tmp_path):
    settings = DockSettings(mode="minimize", box=read_box_file(vina_1iep / "1iep_receptor.box.txt"))
    one = dock_sdf(ligands, vina_1iep / "1iep_receptorH.pdb", tmp_path / "one", settings, workers=1)
    two = dock_sdf(ligands, vina_1iep / "1iep_receptorH.pdb", tmp_path / "two", settings, workers=2)
    drop = ("seconds",)
    assert [{k: v for k, v in r.items() if k not in drop} for r in read_rows(one.csv)] == [
        {k: v for k, v in r.items() if k not in drop} for r in read_rows(two.csv)
    ]
    assert one.sdf.read_text() == two.sdf.read_text()


@pytest.mark.parametrize(
    "case,message",
    [
        ("missing_ligands", "nope.sdf: ligand file not found"),
        ("missing_receptor", "nope.pdb: receptor file not found"),
        ("empty_receptor", "empty.pdb: no ATOM or HETATM records"),
        ("center_without_size", "--center needs --size"),
        ("missing_reference", "nope_ref.sdf: reference ligand file not found"),
    ],
)
def test_bad_input_is_one_line_naming_the_file(case, message, ligands, vina_1iep, tmp_path, capsys):
    receptor, extra = str(vina_1iep / "1iep_receptorH.pdb"), []
    sdf = str(ligands)
    if case == "missing_ligands":
        sdf = str(tmp_path / "nope.sdf")
    elif case == "missing_receptor":
        receptor = str(tmp_path / "nope.pdb")
    elif case == "empty_receptor":
        (tmp_path / "empty.pdb").write_text("REMARK no atoms\nEND\n")
        receptor = str(tmp_path / "empty.pdb")
    elif case == "center_without_size":
        extra = ["--center", "1", "2", "3"]
    else:
        extra = ["--box-from", str(tmp_path / "nope_ref.sdf")]
    code = molgen(["dock", sdf, "--receptor", receptor, "--mode", "score", *extra, "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("molgen dock: error: ") and err.count("\n") == 0 and message in err
    assert not (tmp_path / "o").exists()


def test_unreadable_record_is_a_row_not_a_crash(tmp_path, vina_1iep):
    crystal = (vina_1iep / "1iep_ligand.sdf").read_text()
    corrupt = "broken\n  RDKit\n\n  3  2  0  0  0  0  0  0  0  0999 V2000\n    0.0000    0.0000 C   0  0\n"
    corrupt += "M  END\n$$$$\n"
    path = tmp_path / "mixed.sdf"
    path.write_text(corrupt + crystal)
    settings = DockSettings(mode="score", box=read_box_file(vina_1iep / "1iep_receptor.box.txt"))
    run = dock_sdf(path, vina_1iep / "1iep_receptorH.pdb", tmp_path / "out", settings)
    rows = read_rows(run.csv)
    assert [r["status"] for r in rows] == ["failed", "ok"]
    assert rows[0]["name"] == "broken" and "atom line 1" in rows[0]["reason"]
