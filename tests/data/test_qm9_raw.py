"""Parsers of QM9's published text formats: XYZ (with Mathematica exponents), uncharacterized.txt, CSVs."""

from __future__ import annotations

import pytest

from molgen.data.qm9_raw import (
    PROPERTY_NAMES,
    QM9FormatError,
    parse_qm9_xyz,
    parse_qm9pack_row,
    qm9_float,
    read_gdb9_csv,
    read_uncharacterized,
)


def test_mathematica_exponents():
    assert qm9_float("1.2*^-6") == pytest.approx(1.2e-6)
    assert qm9_float("-3.5*^2") == -350.0 and qm9_float("0.25") == 0.25


def test_parse_the_ten_official_xyz_files(shared_data):
    files = sorted((shared_data / "qm9" / "xyz_first10").glob("*.xyz"))
    records = [parse_qm9_xyz(f.read_text(), f.name) for f in files]
    assert [r.gdb_id for r in records] == list(range(1, 11))
    assert [len(r.symbols) for r in records] == [5, 4, 3, 4, 3, 4, 8, 6, 7, 6]
    water = records[2]
    assert water.symbols == ["O", "H", "H"] and water.props["A"] == 799.58812 and water.props["cv"] == 6.002
    assert water.pos[0].tolist() == [-0.0343604951, 0.9775395708, 0.0076015923]
    assert water.mulliken.tolist() == [-0.589706, 0.294853, 0.294853]
    assert water.smiles == ("O", "O") and water.inchi == ("InChI=1S/H2O/h1H2", "InChI=1S/H2O/h1H2")
    assert list(records[0].props) == list(PROPERTY_NAMES)


def test_xyz_with_exponent_coordinates_and_errors(shared_data):
    text = (shared_data / "qm9" / "xyz_first10" / "dsgdb9nsd_000003.xyz").read_text()
    tiny = text.replace("0.0076015923", "7.6015923*^-3").replace("0.0006931336", "6.931336*^-4")
    rec = parse_qm9_xyz(tiny, "w.xyz")
    assert rec.pos[0, 2] == pytest.approx(0.0076015923) and rec.pos[2, 2] == pytest.approx(0.0006931336)
    with pytest.raises(QM9FormatError, match=r"w.xyz, line 1: atom count 'x'"):
        parse_qm9_xyz("x\n" + text.split("\n", 1)[1], "w.xyz")
    with pytest.raises(QM9FormatError, match=r"w.xyz: truncated"):
        parse_qm9_xyz("\n".join(text.splitlines()[:5]), "w.xyz")
    with pytest.raises(QM9FormatError, match=r"w.xyz, line 4: "):
        parse_qm9_xyz(text.replace("0.0647664923", "0.06x"), "w.xyz")
    with pytest.raises(QM9FormatError, match=r"w.xyz, line 2: expected 'gdb <id>'"):
        parse_qm9_xyz(text.replace("gdb 3", "gdb"), "w.xyz")


def test_uncharacterized_list(shared_data, tmp_path):
    ids = read_uncharacterized(shared_data / "qm9" / "aux" / "uncharacterized.txt")
    assert len(ids) == 3054 and len(set(ids)) == 3054
    assert ids[:3] == [58, 61, 80] and ids[-1] == 133866
    (tmp_path / "u.txt").write_text("no table here\n")
    with pytest.raises(QM9FormatError, match="u.txt"):
        read_uncharacterized(tmp_path / "u.txt")


def test_gdb9_csv_rows_and_both_number_formats(shared_data):
    folder = shared_data / "qm9" / "gdb9_first100"
    rows = list(read_gdb9_csv(folder / "gdb9.sdf.csv"))
    assert len(rows) == 100 and rows[0][:2] == (2, "gdb_1") and rows[-1][1] == "gdb_100"
    assert rows[0][2]["u0"] == -40.47893 and rows[1][2]["g298"] == -56.544961
    original = list(read_gdb9_csv(folder / "gdb9_first2_original_format.sdf.csv"))
    assert [r[2] for r in original] == [r[2] for r in rows[:2]]


def test_qm9pack_row_parsing():
    row = {"Index": "4", "SMILES": "C#C", "InChi": "InChI=1S/C2H2/c1-2/h1-2H", "Elements": "['C','C','H','H']",
           "XYZ_Ang": "[[0.5995394918,0.,1.],[-0.5995394918,0.,1.],[-1.6616385861,0.,1.],[1.6616385861,0.,1.]]",
           **{col: "1.5" for col in ("RotA_GHz", "RotB_GHz", "RotC_GHz", "Dipole_debye", "Polarizability_bohr3",
                                     "HOMO_au", "LUMO_au", "HOMO_LUMO_gap_au", "R2_bohr2", "ZPVE_au",
                                     "InternalEnergy_0K_au", "InternalEnergy_298K_au", "Enthalphy_298K_au",
                                     "GibbsFreeEnergy_298K_au", "Heatcapacity_Cv_cal_mol_K")}}
    rec = parse_qm9pack_row(row, "part1.csv, line 5")
    assert rec.gdb_id == 4 and rec.symbols == ["C", "C", "H", "H"] and rec.pos.shape == (4, 3)
    assert rec.pos[2].tolist() == [-1.6616385861, 0.0, 1.0] and rec.props["u0"] == 1.5
    with pytest.raises(QM9FormatError, match=r"part1.csv, line 5: 9 coordinates for 4 atoms"):
        parse_qm9pack_row({**row, "XYZ_Ang": "[[1,2,3],[4,5,6],[7,8,9]]"}, "part1.csv, line 5")
