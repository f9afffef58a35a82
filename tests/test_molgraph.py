"""MolGraph / MolBatch: validation, batching round trip and edge bookkeeping."""

from __future__ import annotations

import pytest
import torch

from molgen.chem.molgraph import MolBatch, MolGraph
from molgen.chem.vocab import ATOM_TYPES, ATOMIC_NUMBERS, VocabularyError, element_index


def _water(shift: float = 0.0) -> MolGraph:
    return MolGraph(
        pos=torch.tensor([[0.0, 0.0, 0.0], [0.96, 0.0, 0.0], [-0.24, 0.93, 0.0]]) + shift,
        atom_types=torch.tensor([element_index("O"), element_index("H"), element_index("H")]),
        charges=torch.zeros(3, dtype=torch.long),
        bond_index=torch.tensor([[0, 0], [1, 2]]),
        bond_types=torch.tensor([1, 1]),
        name="water",
    )


def _ethene() -> MolGraph:
    return MolGraph(
        pos=torch.randn(6, 3),
        atom_types=torch.tensor([2, 2, 0, 0, 0, 0]),
        charges=torch.zeros(6, dtype=torch.long),
        bond_index=torch.tensor([[0, 0, 0, 1, 1], [1, 2, 3, 4, 5]]),
        bond_types=torch.tensor([2, 1, 1, 1, 1]),
        name="ethene",
    )


def test_vocabulary_is_consistent():
    assert len(ATOM_TYPES) == len(ATOMIC_NUMBERS) == 16
    assert element_index("Cl") == element_index(17) == ATOM_TYPES.index("Cl")
    with pytest.raises(VocabularyError, match="Xe"):
        element_index("Xe")


def test_validate_names_the_bad_field():
    g = _water()
    g.validate()
    g.pos[1, 2] = float("nan")
    with pytest.raises(ValueError, match="water.*NaN"):
        g.validate()
    bad = _water()
    bad.bond_index = torch.tensor([[1], [0]])
    bad.bond_types = torch.tensor([1])
    with pytest.raises(ValueError, match="i < j"):
        bad.validate()


def test_batch_round_trip_preserves_every_molecule():
    graphs = [_water(), _ethene(), _water(5.0)]
    batch = MolBatch.from_graphs(graphs)
    assert batch.num_graphs == 3
    assert batch.num_atoms.tolist() == [3, 6, 3]
    assert int(batch.bond_index.max()) == 11  # last water: atoms 9..11, bonds 9-10 and 9-11
    back = batch.to_graphs()
    for a, b in zip(graphs, back, strict=True):
        assert torch.equal(a.pos, b.pos)
        assert torch.equal(a.bond_index, b.bond_index)
        assert torch.equal(a.bond_types, b.bond_types)
        assert a.name == b.name


def test_fully_connected_edges_and_bond_lookup():
    batch = MolBatch.from_graphs([_water(), _ethene()])
    edges = batch.fully_connected_edges()
    assert edges.shape == (2, 3 * 2 + 6 * 5)
    assert bool((batch.batch[edges[0]] == batch.batch[edges[1]]).all())
    assert bool((edges[0] != edges[1]).all())
    types = batch.edge_bond_types(edges)
    dense = torch.block_diag(_water().dense_bonds(), _ethene().dense_bonds())
    assert torch.equal(types, dense[edges[0], edges[1]])
    assert int((types == 2).sum()) == 2  # the C=C double bond, both directions


def test_dict_round_trip():
    g = _ethene()
    g.props["energy"] = -1.5
    h = MolGraph.from_dict(g.to_dict())
    assert torch.equal(g.pos, h.pos) and h.props == {"energy": -1.5} and h.name == "ethene"
