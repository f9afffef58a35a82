"""PubChem3D: real records, multi-record .sdf.gz fixtures, remove_hs, corrupt input, sliced processing + merge."""

from __future__ import annotations

import json

import pytest
import torch
from fixtures_mols import drug_like_smiles
from fixtures_pubchem import make_pubchem_sdf_gz, pubchem_file_name
from rdkit import Chem

from molgen.chem.molgraph import MolGraph
from molgen.data.pubchem3d import PubChem3D, merge_parts, parse_slice
from molgen.data.stats import DatasetStatistics, compute_statistics
from molgen.data.store import MolStore
from molgen.data.template import ProcessedDataset, processed_dir

SPLITS = ("train", "val", "test")


def _all(root, name):
    return [g for s in SPLITS for g in MolStore(processed_dir(name, root) / s)]


@pytest.fixture(scope="module")
def bulk(tmp_path_factory):
    """Three official-style bulk files of 8 molecules each (CIDs 1..8, 25001..25008, 50001..50008)."""
    folder = tmp_path_factory.mktemp("pubchem") / "SDF"
    smiles = drug_like_smiles(24)
    for k in range(3):
        first = 1 + 25000 * k
        make_pubchem_sdf_gz(folder / pubchem_file_name(first), smiles[8 * k:8 * k + 8], first_cid=first)
    return folder


def test_real_pubchem_records(shared_data, tmp_path):
    folder = shared_data / "pubchem3d"
    report = PubChem3D(folder).process(tmp_path, progress=False, log=None)
    assert report.total_kept == 10 and report.total_dropped == 0
    graphs = {g.name: g for g in _all(tmp_path, "pubchem3d")}
    assert set(graphs) == {p.stem.rsplit("_", 1)[1] for p in folder.glob("*.sdf")}
    aspirin = graphs["2244"]  # C9H8O4
    assert aspirin.num_atoms == 21 and aspirin.props["PUBCHEM_COMPOUND_CID"] == 2244
    assert sorted(aspirin.atom_types.tolist()) == sorted([2] * 9 + [0] * 8 + [4] * 4)
    PubChem3D(folder, remove_hs=True).process(tmp_path / "heavy", progress=False, log=None)
    for g in _all(tmp_path / "heavy", "pubchem3d"):
        assert g.num_atoms == g.props["PUBCHEM_HEAVY_ATOM_COUNT"]
        assert int((g.atom_types == 0).sum()) == 0
        full = graphs[g.name]
        assert g.num_bonds == int(((full.atom_types[full.bond_index] != 0).all(dim=0)).sum())


def test_bulk_files_stream_with_tags_and_splits(bulk, tmp_path):
    report = PubChem3D(bulk).process(tmp_path, progress=False, log=None)
    assert report.total_kept == 24
    names = sorted(int(g.name) for g in _all(tmp_path, "pubchem3d"))
    assert names == [c + 25000 * k for k in range(3) for c in range(1, 9)]
    g = ProcessedDataset(tmp_path, "pubchem3d", "train")[0]
    assert set(g.props) == {"PUBCHEM_COMPOUND_CID", "PUBCHEM_CONFORMER_ID", "PUBCHEM_MMFF94_ENERGY",
                            "PUBCHEM_HEAVY_ATOM_COUNT"}
    assert g.props["PUBCHEM_COMPOUND_CID"] == int(g.name)


def test_corrupt_record_and_truncated_file_are_reported(tmp_path):
    smiles = drug_like_smiles(10)
    folder = tmp_path / "SDF"
    make_pubchem_sdf_gz(folder / "00000001_00025000.sdf.gz", smiles[:5], first_cid=1, corrupt_at=2)
    whole = make_pubchem_sdf_gz(tmp_path / "whole.sdf.gz", smiles[5:], first_cid=25001)
    compressed = whole.read_bytes()
    (folder / "00025001_00050000.sdf.gz").write_bytes(compressed[: int(len(compressed) * 0.7)])  # cut download
    report = PubChem3D(folder).process(tmp_path, progress=False, log=None)
    errors = {(e["file"].split("/")[-1], e["index"]): e for e in report.errors}
    assert ("00000001_00025000.sdf.gz", 2) in errors  # the corrupt record, by file and index
    bad_gz = [e for (f, _), e in errors.items() if f == "00025001_00050000.sdf.gz"]
    assert len(bad_gz) == 1 and bad_gz[0]["reason"] == "corrupt or truncated compressed file"
    kept = {int(g.name) for g in _all(tmp_path, "pubchem3d")}
    assert {1, 2, 4, 5} <= kept and 3 not in kept
    from_cut = kept & set(range(25001, 25006))
    assert 0 < len(from_cut) < 5 and report.total_kept == len(kept)


def test_sliced_processing_merges_to_the_single_run(bulk, tmp_path):
    PubChem3D(bulk).process(tmp_path / "single", progress=False, log=None)
    PubChem3D(bulk, shard=(1, 2)).process(tmp_path / "multi", progress=False, log=None)
    with pytest.raises(FileNotFoundError, match="1 of 2 parts are not finished"):
        merge_parts(2, tmp_path / "multi")
    PubChem3D(bulk, shard=(0, 2)).process(tmp_path / "multi", progress=False, log=None)
    merged = merge_parts(2, tmp_path / "multi")
    assert merged.total_kept == 24
    for split in SPLITS:
        a = [g.name for g in MolStore(processed_dir("pubchem3d", tmp_path / "single") / split)]
        b = [g.name for g in MolStore(processed_dir("pubchem3d", tmp_path / "multi") / split)]
        assert a == b
    out = processed_dir("pubchem3d", tmp_path / "multi")
    assert DatasetStatistics.load(out / "statistics.json") == compute_statistics(MolStore(out / "train"))
    assert json.loads((out / "report.json").read_text())["kept"] == merged.kept


def test_strip_hydrogens_by_hand():
    mol = Chem.AddHs(Chem.MolFromSmiles("CO"))  # C0 O1 H2 H3 H4 H5(on O)
    graph = MolGraph(pos=torch.arange(18.0).reshape(6, 3), atom_types=torch.tensor([2, 4, 0, 0, 0, 0]),
                     charges=torch.zeros(6, dtype=torch.long),
                     bond_index=torch.tensor([[0, 0, 0, 0, 1], [1, 2, 3, 4, 5]]),
                     bond_types=torch.ones(5, dtype=torch.long), name="methanol")
    heavy = graph.heavy_atoms()
    assert mol.GetNumHeavyAtoms() == heavy.num_atoms == 2
    assert heavy.bond_index.tolist() == [[0], [1]] and heavy.pos.tolist() == [[0, 1, 2], [3, 4, 5]]


def test_parse_slice():
    assert parse_slice("3/16") == (3, 16)
    for bad in ("16/16", "a/b", "3"):
        with pytest.raises(ValueError, match="--shard"):
            parse_slice(bad)


def test_finished_output_is_reused_only_with_the_same_settings(bulk, tmp_path):
    first = PubChem3D(bulk).process(tmp_path, progress=False, log=None)
    again = PubChem3D(bulk).process(tmp_path, progress=False, log=None)
    assert not first.cached and again.cached and again.kept == first.kept
    heavy = PubChem3D(bulk, remove_hs=True).process(tmp_path, progress=False, log=None)
    assert not heavy.cached
    assert all(not (g.atom_types == 0).any() for g in _all(tmp_path, "pubchem3d"))
