"""Dataset statistics on a tiny hand-made set, checked against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from molgen.chem.molgraph import MolGraph
from molgen.data.stats import DatasetStatistics, compute_statistics, statistics_of_graphs
from molgen.data.store import MolStore, StoreWriter


def _mol(pos, types, charges, bonds, classes, aromatic, hyb) -> MolGraph:
    return MolGraph(
        pos=torch.tensor(pos, dtype=torch.float32),
        atom_types=torch.tensor(types),
        charges=torch.tensor(charges),
        bond_index=torch.tensor(bonds, dtype=torch.long).reshape(-1, 2).T,
        bond_types=torch.tensor(classes, dtype=torch.long),
        is_aromatic=torch.tensor(aromatic, dtype=torch.bool),
        is_in_ring=torch.zeros(len(types), dtype=torch.bool),
        hybridization=torch.tensor(hyb),
    )


@pytest.fixture
def store(tmp_path) -> MolStore:
    mols = [
        # C, O-, H+ at (0,0,0), (2,0,0), (0,2,0); C-O single, C=H "double" (only counts matter here)
        _mol([[0, 0, 0], [2, 0, 0], [0, 2, 0]], [2, 4, 0], [0, -1, 1], [[0, 1], [0, 2]], [1, 2],
             [1, 0, 0], [3, 4, 0]),
        # N#N, 1 Angstrom apart
        _mol([[0, 0, 0], [0, 0, 1]], [3, 3], [0, 0], [[0, 1]], [3], [0, 0], [2, 2]),
        # a lone C atom
        _mol([[5, 5, 5]], [2], [0], [], [], [1], [4]),
    ]
    with StoreWriter(tmp_path / "s") as w:
        for m in mols:
            w.append(m)
    return MolStore(tmp_path / "s")


@pytest.mark.parametrize("chunk", [1, 2, 100])
def test_statistics_equal_hand_computed_values(store, chunk):
    stats = compute_statistics(store, chunk_molecules=chunk)
    assert (stats.num_molecules, stats.num_atoms, stats.num_bonds) == (3, 6, 3)
    assert stats.num_atoms_hist == [0, 1, 1, 1]
    assert stats.atom_type_counts == [1, 0, 2, 2, 1] + [0] * 11
    assert stats.charge_counts == [0, 1, 4, 1, 0, 0]  # charges -2..3
    # pairs: 3 + 1 + 0 = 4, bonds 3 -> one "none" pair
    assert stats.bond_counts == [1, 1, 1, 1, 0]
    np.testing.assert_allclose(stats.marginal("bond"), [0.25, 0.25, 0.25, 0.25, 0.0])
    np.testing.assert_allclose(stats.marginal("num_atoms"), [0, 1 / 3, 1 / 3, 1 / 3])
    assert stats.feature_counts["is_aromatic"] == [4, 2]
    assert stats.feature_counts["is_in_ring"] == [6, 0]
    assert stats.feature_counts["hybridization"] == [1, 0, 2, 1, 2, 0, 0]
    # centred squared distances: molecule 1 sums to 48/9, molecule 2 to 1/2, molecule 3 to 0
    assert stats.coord_std == pytest.approx(math.sqrt((48 / 9 + 0.5) / (3 * 6)), rel=1e-6)
    assert stats.max_num_atoms == 3


def test_save_load_round_trip(store, tmp_path):
    stats = compute_statistics(store)
    stats.save(tmp_path / "statistics.json")
    loaded = DatasetStatistics.load(tmp_path / "statistics.json")
    assert loaded == stats
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    with pytest.raises(KeyError, match="no statistic"):
        loaded.marginal("spin")


def test_load_rejects_a_broken_file(tmp_path):
    (tmp_path / "bad.json").write_text('{"num_molecules": 3}')
    with pytest.raises(ValueError, match="bad.json"):
        DatasetStatistics.load(tmp_path / "bad.json")


def test_statistics_of_graphs_in_memory_equal_the_store_statistics(store):
    graphs = [store[i] for i in range(len(store))]
    assert statistics_of_graphs(graphs) == compute_statistics(store)
    first_two = statistics_of_graphs(graphs[:2])
    assert first_two.num_atoms_hist == [0, 0, 1, 1] and first_two.bond_counts == [1, 1, 1, 1, 0]
