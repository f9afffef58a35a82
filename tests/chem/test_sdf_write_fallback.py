"""write_sdf keeps every sample, even atoms RDKit refuses to write (e.g. H with charge +2)."""

from __future__ import annotations

import torch
from rdkit import Chem

from molgen.chem.molgraph import MolGraph
from molgen.chem.sdf import write_sdf
from molgen.chem.vocab import element_index


def _graph(h_charge: int, name: str) -> MolGraph:
    return MolGraph(
        pos=torch.tensor([[0.0, 0.0, 0.0], [1.1, 0.0, 0.0], [-0.4, 1.0, 0.2]]),
        atom_types=torch.tensor([element_index("C"), element_index("H"), element_index("O")]),
        charges=torch.tensor([0, h_charge, -1]),
        bond_index=torch.tensor([[0, 0], [1, 2]]),
        bond_types=torch.tensor([1, 2]),
        name=name,
        props={"step": 7},
    )


def test_impossible_atom_is_written_from_the_graph(tmp_path):
    path = tmp_path / "samples.sdf"
    assert write_sdf([_graph(0, "fine"), _graph(2, "h_plus_two"), _graph(0, "after")], path) == 3
    mols = list(Chem.ForwardSDMolSupplier(str(path), sanitize=False, removeHs=False))
    assert [m.GetProp("_Name") for m in mols] == ["fine", "h_plus_two", "after"]
    odd = mols[1]
    assert odd.HasProp("molgen_rdkit_write_error") and odd.GetProp("step") == "7"
    assert [a.GetFormalCharge() for a in odd.GetAtoms()] == [0, 2, -1]
    assert [(b.GetBeginAtomIdx(), b.GetEndAtomIdx(), b.GetBondTypeAsDouble()) for b in odd.GetBonds()] == [
        (0, 1, 1.0), (0, 2, 2.0)]
    assert abs(odd.GetConformer().GetAtomPosition(1).x - 1.1) < 1e-4
    assert not mols[0].HasProp("molgen_rdkit_write_error")
