"""Graphs RDKit cannot be trusted to write (it dies with SIGSEGV on some) are written by molgen itself."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from rdkit import Chem

from molgen.chem import sdf
from molgen.chem.molgraph import MolGraph


def star(n: int, hub_bonds: int) -> MolGraph:
    """``n`` carbons; atom 0 bonded to the next ``hub_bonds`` atoms, the rest in a chain."""
    pairs = [(0, k) for k in range(1, hub_bonds + 1)] + [(k, k + 1) for k in range(hub_bonds + 1, n - 1)]
    return MolGraph(pos=torch.randn(n, 3, generator=torch.Generator().manual_seed(0)) * 5,
                    atom_types=torch.full((n,), 2), charges=torch.zeros(n, dtype=torch.long),
                    bond_index=torch.tensor(pairs, dtype=torch.long).T,
                    bond_types=torch.ones(len(pairs), dtype=torch.long), name="star")


def test_high_degree_graph_is_written_without_rdkit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("RDKit must not be given this graph")

    monkeypatch.setattr(sdf.Chem, "MolToMolBlock", refuse)
    monkeypatch.setattr(sdf, "reconstruct_mol", refuse)
    path = tmp_path / "out.sdf"
    assert sdf.write_sdf([star(20, sdf.RDKIT_MAX_DEGREE + 1)], path) == 1
    text = path.read_text()
    assert "molgen_rdkit_skipped" in text and "atom degree 9 > 8" in text and "V2000" in text


def test_more_than_999_bonds_are_written_as_v3000(tmp_path: Path) -> None:
    graph = star(1100, 20)  # 20 hub bonds + 1078 chain bonds
    path = tmp_path / "big.sdf"
    sdf.write_sdf([graph], path)
    assert "V3000" in path.read_text()
    mol = next(iter(Chem.SDMolSupplier(str(path), sanitize=False, removeHs=False)))
    assert mol.GetNumAtoms() == 1100 and mol.GetNumBonds() == graph.num_bonds
    assert mol.GetConformer().GetAtomPosition(5).x == pytest.approx(float(graph.pos[5, 0]), abs=1e-4)


def test_ordinary_graphs_still_go_through_rdkit(tmp_path: Path) -> None:
    path = tmp_path / "chain.sdf"
    sdf.write_sdf([star(6, 2)], path)
    assert "molgen_rdkit_skipped" not in path.read_text() and "RDKit" in path.read_text().splitlines()[1]


def test_readers_do_not_give_high_degree_records_to_rdkit(tmp_path: Path) -> None:
    from molgen.chem.records import BadRecordError
    from molgen.eval.reading import read_sdf as read_for_evaluation

    path = tmp_path / "hub.sdf"
    sdf.write_sdf([star(20, sdf.RDKIT_MAX_DEGREE + 1), star(1100, 20), star(6, 2)], path)
    read = read_for_evaluation(path)
    assert [b.message for b in read.bad] == ["impossible atom degree: atom degree 9 > 8 (not given to RDKit)",
                                             "impossible atom degree: atom degree 20 > 8 (not given to RDKit)"]
    assert len(read.mols) == 1
    with pytest.raises(BadRecordError, match=r"hub\.sdf, record 0: impossible atom degree \(atom degree 9 > 8"):
        list(sdf.read_sdf(path, errors="raise"))
