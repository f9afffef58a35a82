"""The processed store: round trip, shard merge, atomicity, pickling."""

from __future__ import annotations

import filecmp
import pickle

import numpy as np
import pytest
import torch

from molgen.chem.molgraph import MolGraph
from molgen.data.store import MolStore, StoreError, StoreWriter, merge_stores


def make_graph(k: int, features: bool = True) -> MolGraph:
    """A deterministic small molecule-like graph (k+2 atoms, a chain of bonds)."""
    n = k % 5 + 2
    gen = torch.Generator().manual_seed(k)
    extra = {}
    if features:
        extra = {
            "is_aromatic": torch.arange(n) % 2 == 0,
            "is_in_ring": torch.arange(n) % 3 == 0,
            "hybridization": torch.arange(n) % 7,
        }
    return MolGraph(
        pos=torch.randn(n, 3, generator=gen),
        atom_types=torch.arange(n) % 16,
        charges=(torch.arange(n) % 6) - 2,
        bond_index=torch.stack([torch.arange(n - 1), torch.arange(1, n)]),
        bond_types=torch.arange(n - 1) % 4 + 1,
        name=f"mol_{k}",
        smiles="C" * (k + 1) if k % 3 else None,
        props={"k": k, "energy": -1.5 * k, "tag": f"é{k}", "vec": [k, k + 1]},
        **extra,
    )


def assert_same(a: MolGraph, b: MolGraph) -> None:
    assert torch.equal(a.pos, b.pos)
    for key in ("atom_types", "charges", "bond_index", "bond_types", "is_aromatic", "is_in_ring", "hybridization"):
        va, vb = getattr(a, key), getattr(b, key)
        assert (va is None and vb is None) or torch.equal(va, vb), key
    assert (a.name, a.smiles, a.props) == (b.name, b.smiles, b.props)


def write(path, graphs, **kw) -> MolStore:
    with StoreWriter(path, **kw) as w:
        for g in graphs:
            w.append(g)
    return MolStore(path)


@pytest.mark.parametrize("chunk_atoms", [1, 7, 1_000_000])
def test_round_trip_equality(tmp_path, chunk_atoms):
    graphs = [make_graph(k) for k in range(25)]
    store = write(tmp_path / "s", graphs, chunk_atoms=chunk_atoms)
    assert len(store) == 25
    assert store.num_atoms().tolist() == [g.num_atoms for g in graphs]
    for g, h in zip(graphs, store, strict=True):
        assert_same(g, h)
    assert_same(store[-1], graphs[-1])
    with pytest.raises(IndexError):
        store[25]


def test_without_optional_features_and_empty_store(tmp_path):
    graphs = [make_graph(k, features=False) for k in range(3)]
    store = write(tmp_path / "plain", graphs)
    assert store.features == ()
    assert_same(store[1], graphs[1])
    empty = write(tmp_path / "empty", [])
    assert len(empty) == 0 and empty.num_atoms().shape == (0,)


def test_feature_mismatch_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="mol_1.*lacks features"), StoreWriter(tmp_path / "s") as w:
        w.append(make_graph(0))
        w.append(make_graph(1, features=False))
    assert not (tmp_path / "s").exists()


def test_merge_of_shards_equals_one_shot_write(tmp_path):
    graphs = [make_graph(k) for k in range(20)]
    write(tmp_path / "all", graphs)
    write(tmp_path / "a", graphs[:7])
    write(tmp_path / "b", graphs[7:8])
    write(tmp_path / "c", graphs[8:])
    merge_stores([tmp_path / "a", tmp_path / "b", tmp_path / "c"], tmp_path / "merged", block_bytes=5)
    files = sorted(p.name for p in (tmp_path / "all").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "merged").iterdir())
    match, mismatch, errors = filecmp.cmpfiles(tmp_path / "all", tmp_path / "merged", files, shallow=False)
    assert mismatch == [] and errors == [] and len(match) == len(files)


def test_merge_refuses_different_features(tmp_path):
    write(tmp_path / "a", [make_graph(0)])
    write(tmp_path / "b", [make_graph(1, features=False)])
    with pytest.raises(StoreError, match="cannot merge"):
        merge_stores([tmp_path / "a", tmp_path / "b"], tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_exception_mid_write_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError, match="boom"), StoreWriter(tmp_path / "s", chunk_atoms=3) as w:
        for k in range(10):
            w.append(make_graph(k))
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_failed_overwrite_keeps_old_store(tmp_path):
    old = [make_graph(k) for k in range(4)]
    write(tmp_path / "s", old)
    with pytest.raises(RuntimeError), StoreWriter(tmp_path / "s", overwrite=True) as w:
        w.append(make_graph(9))
        raise RuntimeError("interrupted")
    store = MolStore(tmp_path / "s")
    assert len(store) == 4 and [p.name for p in tmp_path.iterdir()] == ["s"]
    with pytest.raises(FileExistsError):
        StoreWriter(tmp_path / "s")
    write(tmp_path / "s", old[:1], overwrite=True)
    assert len(MolStore(tmp_path / "s")) == 1


def test_invalid_molecule_is_rejected_with_its_name(tmp_path):
    bad = make_graph(3)
    bad.pos[0, 0] = float("nan")
    with pytest.raises(ValueError, match="mol_3.*NaN"), StoreWriter(tmp_path / "s") as w:
        w.append(bad)
    assert not (tmp_path / "s").exists()


def test_pickled_store_reopens_lazily(tmp_path):
    store = write(tmp_path / "s", [make_graph(k) for k in range(5)])
    store[0]  # opens memory maps
    data = pickle.dumps(store)
    assert len(data) < 2000  # the memory maps are not pickled
    assert_same(pickle.loads(data)[4], make_graph(4))


def test_columns_are_memory_mapped_with_declared_dtypes(tmp_path):
    store = write(tmp_path / "s", [make_graph(k) for k in range(5)])
    pos = store.array("pos")
    assert isinstance(pos.base, np.memmap) and not pos.flags.writeable
    assert pos.dtype == np.float32 and pos.shape == (store.num_atoms_total, 3)
    assert store.array("bond_index").dtype == np.int32 and store.array("atom_ptr").dtype == np.int64


def test_truncated_column_is_reported(tmp_path):
    store = write(tmp_path / "s", [make_graph(k) for k in range(5)])
    path = tmp_path / "s" / "charges.bin"
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(StoreError, match="charges.bin"):
        MolStore(tmp_path / "s")[0]
    assert store.path.is_dir()
    with pytest.raises(StoreError, match="not a molgen store"):
        MolStore(tmp_path)
