"""QM9 from the torch_geometric layout, the official XYZ tarball and qm9pack, on the real samples."""

from __future__ import annotations

import importlib.util
import io
import shutil
import tarfile
from collections import Counter

import pytest
from rdkit import Chem

from molgen.chem.featurize import reconstruct_mol
from molgen.chem.records import BadRecordError
from molgen.chem.sanitize import canonical_smiles
from molgen.cli.data import main as data_main
from molgen.data.qm9 import (
    QM9PackBuilder,
    QM9TGBuilder,
    QM9XYZBuilder,
    edm_split,
    included_from_uncharacterized,
    prepare_qm9,
)
from molgen.data.qm9_raw import QM9FormatError, qm9pack_indices
from molgen.chem.perceive import REDERIVED
from molgen.data.template import ProcessedDataset



@pytest.fixture
def tg_raw(shared_data, tmp_path):
    """The torch_geometric raw layout (first 100 records) assembled in a temporary folder."""
    raw = tmp_path / "raw"
    raw.mkdir()
    for name in ("gdb9.sdf", "gdb9.sdf.csv"):
        shutil.copy(shared_data / "qm9" / "gdb9_first100" / name, raw / name)
    shutil.copy(shared_data / "qm9" / "aux" / "uncharacterized.txt", raw / "uncharacterized.txt")
    return raw


def test_tg_layout_first100(tg_raw, tmp_path):
    report = QM9TGBuilder(tg_raw).process(tmp_path / "data", progress=False, log=None)
    # gdb 58, 61 and 80 are uncharacterized (skipped, as torch_geometric does); the records whose charges or
    # radicals contradict their own hydrogens are re-derived from them (as `molgen data custom` does), not dropped
    assert report.total_kept == 97
    assert report.dropped == {} and report.errors == []
    graphs = {g.name: g for split in ("train", "val", "test")
              for g in ProcessedDataset(tmp_path / "data", "qm9", split)}
    assert len(graphs) == 97 and "gdb_58" not in graphs
    rederived = {name: g.smiles for name, g in graphs.items() if REDERIVED in g.props}
    assert rederived == {"gdb_23": "C#CC#C", "gdb_24": "C#CC#N", "gdb_45": "CN1CC1", "gdb_76": "COC(C)=N",
                         "gdb_89": "N=C1CCO1"}, rederived
    assert graphs["gdb_24"].num_atoms == 5 and int(graphs["gdb_24"].charges.abs().sum()) == 0
    assert graphs["gdb_1"].props["u0"] == -40.47893 and graphs["gdb_1"].props["A"] == 157.7118
    assert graphs["gdb_2"].props["mu"] == 1.6256 and graphs["gdb_2"].props["gdb_id"] == 2
    assert graphs["gdb_3"].num_atoms == 3 and graphs["gdb_3"].smiles == "O"


def test_tg_wrong_csv_header_names_file_and_line_and_leaves_nothing(tg_raw, tmp_path):
    table = tg_raw / "gdb9.sdf.csv"
    lines = table.read_text().splitlines(keepends=True)
    table.write_text(lines[0].replace("mu,", "dipole,") + "".join(lines[1:]))
    with pytest.raises(QM9FormatError, match=r"gdb9.sdf.csv, line 1: .*missing columns \['mu'\]"):
        QM9TGBuilder(tg_raw).process(tmp_path / "data", progress=False, log=None)
    assert list((tmp_path / "data" / "processed").iterdir()) == []


def test_tg_bad_value_and_misaligned_rows(tg_raw, tmp_path):
    table = tg_raw / "gdb9.sdf.csv"
    lines = table.read_text().splitlines(keepends=True)
    bad_row = lines[5].split(",")
    table.write_text("".join(lines[:5]) + ",".join(bad_row[:4] + ["abc"] + bad_row[5:]) + "".join(lines[6:]))
    with pytest.raises(QM9FormatError, match=r"gdb9.sdf.csv, line 6, column 'mu': 'abc' is not a number"):
        QM9TGBuilder(tg_raw).process(tmp_path / "data", progress=False, log=None)
    table.write_text("".join(lines[:3]) + "".join(lines[4:]))  # row of gdb_3 missing
    with pytest.raises(QM9FormatError, match=r"mol_id 'gdb_4' != .*gdb9.sdf record 2 title 'gdb_3'"):
        QM9TGBuilder(tg_raw).process(tmp_path / "data", progress=False, log=None)
    assert list((tmp_path / "data" / "processed").iterdir()) == []


def test_tg_strict_mode_stops_at_a_bad_sdf_record_and_leaves_nothing(tg_raw, tmp_path):
    sdf = tg_raw / "gdb9.sdf"
    text = sdf.read_text()
    start = text.index("gdb_5\n")
    sdf.write_text(text[:start] + text[start:].replace(" C   0", " Xx  0", 1))
    builder = QM9TGBuilder(tg_raw)
    with pytest.raises(BadRecordError, match=r"gdb9.sdf, record 4: unknown element symbol \('Xx' on atom line 1"):
        builder.process(tmp_path / "data", strict=True, progress=False, log=None)
    assert list((tmp_path / "data" / "processed").iterdir()) == []
    report = builder.process(tmp_path / "data", progress=False, log=None)
    assert report.dropped == {"unknown element symbol": 1} and report.total_kept == 96


def test_xyz_tarball_streams_perceives_and_cross_checks(shared_data, tmp_path):
    qm9 = shared_data / "qm9"
    builder = QM9XYZBuilder(qm9 / "xyz_first10.tar.bz2", qm9 / "aux" / "uncharacterized.txt")
    report = builder.process(tmp_path, progress=False, log=None)
    assert report.total_kept == 10 and report.total_dropped == 0
    graphs = sorted((g for s in ("train", "val", "test") for g in ProcessedDataset(tmp_path, "qm9", s)),
                    key=lambda g: g.props["gdb_id"])
    expected = [f.read_text().splitlines() for f in sorted((qm9 / "xyz_first10").glob("*.xyz"))]
    for g, lines in zip(graphs, expected, strict=True):
        n = int(lines[0])
        assert g.num_atoms == n
        assert g.smiles == Chem.MolToSmiles(Chem.MolFromSmiles(lines[n + 3].split()[1]), isomericSmiles=False)
        assert g.props["u0"] == float(lines[1].split()[12])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["processed"]  # nothing extracted


def test_xyz_malformed_member_is_dropped_with_its_name(shared_data, tmp_path):
    text = (shared_data / "qm9" / "xyz_first10" / "dsgdb9nsd_000003.xyz").read_text()
    broken = text.replace("-0.0343604951", "-0.03436x", 1)
    tarball = tmp_path / "mini.tar.bz2"
    with tarfile.open(tarball, "w:bz2") as tar:
        for name, content in (("dsgdb9nsd_000003.xyz", text), ("dsgdb9nsd_000004.xyz", broken)):
            info = tarfile.TarInfo(name)
            info.size = len(content.encode())
            tar.addfile(info, io.BytesIO(content.encode()))
    report = QM9XYZBuilder(tarball, shared_data / "qm9" / "aux" / "uncharacterized.txt").process(
        tmp_path / "data", progress=False, log=None)
    assert report.total_kept == 1 and report.dropped == {"malformed XYZ record": 1}
    error = report.errors[0]
    assert error["file"].endswith("mini.tar.bz2:dsgdb9nsd_000004.xyz") and "line 3" in error["detail"]


def test_edm_split_sizes(shared_data):
    included = included_from_uncharacterized(shared_data / "qm9" / "aux" / "uncharacterized.txt")
    assert len(included) == 130_831 and included[0] == 1 and 58 not in included
    split = edm_split(included)
    assert Counter(split.values()) == {"train": 100_000, "val": 17_748, "test": 13_083}


qm9pack_missing = importlib.util.find_spec("qm9pack") is None


@pytest.mark.skipif(qm9pack_missing, reason="the optional qm9pack package is not installed")
def test_qm9pack_first_200(tmp_path):
    report = prepare_qm9("qm9pack", root=tmp_path, limit=200, workers=2, progress=False)
    assert report.total_kept == 200 and report.total_dropped == 0
    builder = QM9PackBuilder(limit=200)
    ids = qm9pack_indices(builder.files)
    assert len(ids) == 130_831
    split = edm_split(ids)
    kept_ids = {s: sorted(g.props["gdb_id"] for g in ProcessedDataset(tmp_path, "qm9", s)) for s in report.kept}
    assert {s: len(v) for s, v in kept_ids.items()} == report.kept
    assert all(split[i] == s for s, v in kept_ids.items() for i in v)
    rows = {int(r.payload["Index"]): r.payload for r in builder.iter_raw()}
    assert len(rows) == 200
    for graph in (g for split in ("train", "val", "test") for g in ProcessedDataset(tmp_path, "qm9", split)):
        row = rows[graph.props["gdb_id"]]
        assert graph.num_atoms == len(row["Elements"].split(","))
        rebuilt = reconstruct_mol(graph)
        assert rebuilt.sanitized
        assert canonical_smiles(rebuilt.mol) == graph.smiles == Chem.MolToSmiles(Chem.MolFromSmiles(row["SMILES"]),
                                                                                 isomericSmiles=False)
    assert (tmp_path / "processed" / "qm9" / "statistics.json").is_file()


def test_cli_runs_and_reports_errors(tg_raw, tmp_path, capsys):
    root = tmp_path / "data"
    argv = ["qm9", "--source", "tg", "--raw-dir", str(tg_raw), "--root", str(root), "--no-progress"]
    assert data_main(argv) == 0
    assert "qm9: kept 97" in capsys.readouterr().out
    assert data_main(argv) == 0 and "cached" in capsys.readouterr().out
    (tg_raw / "gdb9.sdf.csv").write_text("id,A\n")
    assert data_main([*argv, "--force"]) == 2
    assert "gdb9.sdf.csv, line 1" in capsys.readouterr().err
    assert (root / "processed" / "qm9" / "report.json").is_file()  # the earlier output survives
    assert data_main(["qm9", "--source", "xyz", "--raw-dir", str(tmp_path / "none"), "--root", str(root)]) == 2
    assert data_main(["nope"]) == 2


def test_qm9_bonds_are_kekule_by_default_and_aromatic_on_request(tg_raw, tmp_path):
    """EQGAT-diff reads QM9 unsanitised (Kekulé bonds); molgen's default matches it, --aromatic keeps class 4."""
    kekule = QM9TGBuilder(tg_raw).process(tmp_path / "k", progress=False, log=None)
    aromatic = QM9TGBuilder(tg_raw, kekulize=False).process(tmp_path / "a", progress=False, log=None)
    assert kekule.total_kept == aromatic.total_kept == 97

    def bond_classes(root):
        return Counter(c for split in ("train", "val", "test")
                       for g in ProcessedDataset(root, "qm9", split) for c in g.bond_types.tolist())

    k_classes, a_classes = bond_classes(tmp_path / "k"), bond_classes(tmp_path / "a")
    assert a_classes[4] > 0 and k_classes[4] == 0  # the sample holds aromatic rings (e.g. furan, pyrrole)
    assert sum(k_classes.values()) == sum(a_classes.values())
    for split in ("train", "val", "test"):  # the same molecules either way
        for g in ProcessedDataset(tmp_path / "k", "qm9", split):
            assert canonical_smiles(reconstruct_mol(g).mol) == g.smiles


def test_remove_hs_writes_heavy_atom_qm9_as_its_own_dataset(tg_raw, tmp_path):
    report = QM9TGBuilder(tg_raw, remove_hs=True).process(tmp_path / "data", progress=False, log=None)
    assert report.total_kept == 97 and report.name == "qm9_noh"
    full = {g.name: g for g in QM9TGBuilder(tg_raw).iter_records() if hasattr(g, "atom_types")}
    heavy = [g for split in ("train", "val", "test") for g in ProcessedDataset(tmp_path / "data", "qm9_noh", split)]
    assert len(heavy) == 97
    assert all(0 not in g.atom_types.tolist() for g in heavy)  # no H (index 0) anywhere
    assert all(g.num_atoms == int((full[g.name].atom_types != 0).sum()) for g in heavy)
    stats = ProcessedDataset(tmp_path / "data", "qm9_noh", "train").statistics
    assert stats.atom_type_counts[0] == 0 and stats.num_molecules > 0
    # as an evaluation reference, the heavy-atom molecules are the real ones (implied H), not radicals
    from molgen.eval.reference import processed_dataset_molecules

    train = ProcessedDataset(tmp_path / "data", "qm9_noh", "train")
    mols = processed_dataset_molecules("qm9_noh", tmp_path / "data")
    assert len(mols) == len(train) > 0
    for graph, mol in zip(train, mols, strict=True):
        Chem.SanitizeMol(mol)  # gdb_23, a biradical as gdb9.sdf writes it, is re-derived from its hydrogens
        assert canonical_smiles(mol) == graph.smiles
        assert sum(a.GetNumRadicalElectrons() for a in mol.GetAtoms()) == 0
