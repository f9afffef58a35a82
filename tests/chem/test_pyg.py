"""MolGraph / MolBatch <-> PyG: lossless round trip, PyG's own QM9 objects read in, a PyG model fed."""

from __future__ import annotations

import shutil

import pytest
import torch
from rdkit import Chem
from rdkit.Chem import AllChem

from molgen.chem.featurize import featurize_mol
from molgen.chem.molgraph import MolBatch, MolGraph
from molgen.chem.sdf import read_sdf
from molgen.chem.vocab import ATOMIC_NUMBERS, VocabularyError

pyg_data = pytest.importorskip("torch_geometric.data", reason="the pyg extra (torch-geometric) is not installed")

FIELDS = ("pos", "atom_types", "charges", "bond_index", "bond_types", "is_aromatic", "is_in_ring", "hybridization")


def _embedded(smiles: str, name: str) -> MolGraph:
    mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
    assert AllChem.EmbedMolecule(mol, randomSeed=0) == 0
    return featurize_mol(mol, name=name)


@pytest.fixture
def graphs(shared_data) -> list[MolGraph]:
    """Real QM9 records plus a zwitterion (charges) and an aromatic ring (bond class 4)."""
    real = list(read_sdf(shared_data / "qm9" / "gdb9_first100" / "gdb9.sdf"))[20:26]
    return real + [_embedded("C[N+](C)(C)CC(=O)[O-]", "betaine"), _embedded("c1ccncc1O", "hydroxypyridine")]


def assert_same(a: MolGraph, b: MolGraph) -> None:
    for key in FIELDS:
        x, y = getattr(a, key), getattr(b, key)
        assert (x is None) == (y is None), key
        if x is not None:
            assert x.dtype == y.dtype and torch.equal(x, y), key
    assert (a.name, a.smiles, a.props) == (b.name, b.smiles, b.props)


def test_round_trip_is_lossless(graphs: list[MolGraph]) -> None:
    batch = MolBatch.from_graphs(graphs)
    assert int(batch.charges.abs().sum()) == 2 and bool((batch.bond_types == 4).any())
    back = MolBatch.from_pyg(batch.to_pyg())
    for a, b in zip(graphs, back.to_graphs(), strict=True):
        assert_same(a, b)
    for key in ("batch", "ptr", "bond_index", "bond_types"):
        assert torch.equal(getattr(back, key), getattr(batch, key)), key
    assert_same(MolGraph.from_pyg(graphs[-1].to_pyg()), graphs[-1])


def test_pyg_fields_follow_pyg_conventions(graphs: list[MolGraph]) -> None:
    graph = graphs[-1]
    data = graph.to_pyg()
    assert data.num_nodes == graph.num_atoms and data.edge_index.shape == (2, 2 * graph.num_bonds)
    assert data.z.tolist() == [ATOMIC_NUMBERS[t] for t in graph.atom_types.tolist()]
    pairs = {tuple(p) for p in data.edge_index.t().tolist()}
    assert all((j, i) in pairs for i, j in pairs)  # undirected: both directions
    assert torch.equal(data.edge_attr.argmax(1) + 1, data.bond_types) and bool((data.edge_attr.sum(1) == 1).all())
    batch = MolBatch.from_graphs(graphs)
    pyg = batch.to_pyg()
    assert torch.equal(pyg.batch, batch.batch) and torch.equal(pyg.ptr, batch.ptr) and pyg.num_graphs == len(graphs)


def test_pyg_loader_and_model_take_molgen_molecules(graphs: list[MolGraph]) -> None:
    from torch_geometric.loader import DataLoader
    from torch_geometric.nn import GINEConv, global_add_pool

    loaded = next(iter(DataLoader([g.to_pyg() for g in graphs], batch_size=len(graphs))))
    for a, b in zip(MolBatch.from_pyg(loaded).to_graphs(), graphs, strict=True):
        assert_same(a, b)
    torch.manual_seed(0)
    conv = GINEConv(torch.nn.Linear(16, 8), edge_dim=4)
    x = torch.nn.functional.one_hot(loaded.atom_types, 16).float()  # [N, 16]
    out = global_add_pool(conv(x, loaded.edge_index, loaded.edge_attr), loaded.batch)  # [G, 8]
    assert out.shape == (len(graphs), 8) and bool(torch.isfinite(out).all())


def test_pyg_qm9_dataset_reads_into_molgen(shared_data, tmp_path) -> None:
    """PyG's own QM9 Data objects (built offline from the 100-record sample) match the SDF records."""
    from torch_geometric.datasets import QM9

    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(shared_data / "qm9" / "gdb9_first100" / "gdb9.sdf", raw)
    shutil.copy(shared_data / "qm9" / "gdb9_first100" / "gdb9.sdf.csv", raw)
    shutil.copy(shared_data / "qm9" / "aux" / "uncharacterized.txt", raw)
    dataset = QM9(str(tmp_path))  # raw files present and RDKit installed: processed locally, nothing downloaded
    records = {m.GetProp("_Name"): m for m in Chem.SDMolSupplier(str(raw / "gdb9.sdf"), removeHs=False,
                                                                  sanitize=False)}
    batch = MolBatch.from_pyg(pyg_data.Batch.from_data_list([dataset[k] for k in range(len(dataset))]))
    assert batch.num_graphs == len(dataset) > 90
    for graph in batch.to_graphs():
        mol = records[graph.name]
        assert graph.atom_types.tolist() == [ATOMIC_NUMBERS.index(a.GetAtomicNum()) for a in mol.GetAtoms()]
        torch.testing.assert_close(graph.pos, torch.tensor(mol.GetConformer().GetPositions(), dtype=torch.float32))
        bonds = sorted((min(b.GetBeginAtomIdx(), b.GetEndAtomIdx()), max(b.GetBeginAtomIdx(), b.GetEndAtomIdx()),
                        int(b.GetBondTypeAsDouble())) for b in mol.GetBonds())
        assert sorted(zip(*graph.bond_index.tolist(), graph.bond_types.tolist(), strict=True)) == bonds


def test_bad_pyg_molecules_name_the_field() -> None:
    ok = dict(z=torch.tensor([6, 8]), pos=torch.zeros(2, 3), edge_index=torch.tensor([[0, 1], [1, 0]]),
              bond_types=torch.tensor([2, 2]))
    assert MolGraph.from_pyg(pyg_data.Data(**ok)).bond_types.tolist() == [2]
    assert MolGraph.from_pyg(pyg_data.Data(**{**ok, "edge_index": torch.tensor([[1], [0]]),
                                              "bond_types": torch.tensor([1])})).bond_index.tolist() == [[0], [1]]
    cases = [({"pos": None}, "no 'pos' field"), ({"z": torch.tensor([6, 92])}, r"atomic numbers \[92\]"),
             ({"bond_types": torch.tensor([2, 1])}, "two directions of a bond"),
             ({"bond_types": None, "edge_attr": torch.ones(2, 4)}, "one-hot"),
             ({"bond_types": None}, "bonds need 'bond_types'"),
             ({"edge_index": torch.tensor([[0, 2], [2, 0]])}, "outside 0..1")]
    for change, message in cases:
        with pytest.raises((ValueError, VocabularyError), match=message):
            MolGraph.from_pyg(pyg_data.Data(**{k: v for k, v in {**ok, **change}.items() if v is not None}))
