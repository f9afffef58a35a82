"""MolGraph / MolBatch <-> torch_geometric ``Data`` / ``Batch``: molgen datasets into PyG models, PyG molecules in.

Needs the ``pyg`` extra (``pip install 'molgen[pyg]'``, torch-geometric); nothing else in molgen imports it.

What :func:`graph_to_data` writes, in PyG's molecule conventions (``torch_geometric.datasets.QM9``):

* ``z`` [N] atomic numbers and ``pos`` [N, 3] (what SchNet / DimeNet read), plus molgen's own
  ``atom_types`` [N] (vocabulary index) and ``charges`` [N] (formal charges);
* ``edge_index`` [2, E] with both directions of every bond (E = 2B; edges 2k and 2k + 1 are bond k),
  ``edge_attr`` [E, 4] one-hot single / double / triple / aromatic (QM9's order) and
  ``bond_types`` [E] (molgen's classes 1..4);
* the optional atom features (``is_aromatic``, ``is_in_ring``, ``hybridization`` [N]) when present,
  and ``name``, ``smiles``, ``props``.

What :func:`graph_from_data` reads: ``pos``; atoms from ``atom_types``, else ``z``; charges from
``charges`` or ``charge``, else zero (PyG's QM9 stores none); bonds from ``edge_index`` with
``bond_types`` [E] or a one-hot ``edge_attr`` [E, 4] in QM9's order. A bond may be given in one or
both directions (both must then have the same type); bonds keep the order of their first edge, so
``from_pyg(to_pyg(x))`` equals ``x``. Anything else is a ``ValueError`` naming the field.

Shape symbols: N atoms, B bonds (i < j), E directed edges, G graphs.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from molgen.chem.molgraph import MolBatch, MolGraph
from molgen.chem.vocab import ATOMIC_NUMBERS, NUM_BOND_TYPES, Z_TO_INDEX, VocabularyError

_OPTIONAL_ATOM = ("is_aromatic", "is_in_ring", "hybridization")
#: Columns of a PyG one-hot ``edge_attr``: molgen bond classes 1..4 (single, double, triple, aromatic).
EDGE_ATTR_DIM = NUM_BOND_TYPES - 1


def _pyg() -> Any:
    try:
        import torch_geometric.data
    except ImportError as exc:
        raise ImportError("MolGraph/MolBatch <-> PyG needs torch-geometric: pip install 'molgen[pyg]'") from exc
    return torch_geometric.data


def graph_to_data(graph: MolGraph) -> Any:
    """One molecule as a ``torch_geometric.data.Data`` (fields in the module docstring)."""
    data_module = _pyg()
    n = graph.num_atoms
    i, j = graph.bond_index
    edge_index = torch.stack([torch.stack([i, j], dim=1), torch.stack([j, i], dim=1)], dim=1).reshape(-1, 2).T
    bond_types = graph.bond_types.repeat_interleave(2)  # [E]: edges 2k and 2k + 1 are bond k
    optional = {k: getattr(graph, k) for k in _OPTIONAL_ATOM if getattr(graph, k) is not None}
    return data_module.Data(
        z=torch.tensor(ATOMIC_NUMBERS, dtype=torch.long, device=graph.atom_types.device)[graph.atom_types],
        pos=graph.pos, atom_types=graph.atom_types, charges=graph.charges, edge_index=edge_index,
        edge_attr=torch.nn.functional.one_hot(bond_types - 1, EDGE_ATTR_DIM).float(), bond_types=bond_types,
        name=graph.name, smiles=graph.smiles, props=dict(graph.props), num_nodes=n, **optional,
    )


def batch_to_pyg(batch: MolBatch) -> Any:
    """G molecules as a ``torch_geometric.data.Batch`` (``batch`` [N] and ``ptr`` [G + 1] as in molgen)."""
    return _pyg().Batch.from_data_list([graph_to_data(g) for g in batch.to_graphs()])


def _atom_types(data: Any, where: str) -> Tensor:
    if getattr(data, "atom_types", None) is not None:
        return data.atom_types.long()
    z = getattr(data, "z", None)
    if z is None:
        raise ValueError(f"{where}: no 'atom_types' or 'z' (atomic numbers) field")
    lookup = torch.full((max(max(ATOMIC_NUMBERS), int(z.max()) if z.numel() else 0) + 1,), -1, dtype=torch.long)
    lookup[list(Z_TO_INDEX)] = torch.tensor(list(Z_TO_INDEX.values()))
    types = lookup[z.long().cpu()]
    if bool((types < 0).any()):
        bad = sorted({int(v) for v in z[types < 0]})
        raise VocabularyError(f"{where}: atomic numbers {bad} are not in molgen's vocabulary")
    return types.to(z.device)


def _edge_types(data: Any, where: str) -> Tensor:
    """[E] molgen bond class of each directed edge of ``data``."""
    if getattr(data, "bond_types", None) is not None:
        return data.bond_types.long()
    attr = getattr(data, "edge_attr", None)
    if attr is None or attr.dim() != 2 or attr.shape[1] != EDGE_ATTR_DIM:
        shape = None if attr is None else tuple(attr.shape)
        raise ValueError(f"{where}: bonds need 'bond_types' [E] or a one-hot 'edge_attr' [E, {EDGE_ATTR_DIM}] "
                         f"(single, double, triple, aromatic); edge_attr is {shape}")
    if not bool((attr.sum(dim=1) == 1).all()):
        raise ValueError(f"{where}: edge_attr rows must be one-hot (single, double, triple, aromatic)")
    return attr.argmax(dim=1) + 1


def _bonds(data: Any, n: int, where: str) -> tuple[Tensor, Tensor]:
    """Each bond once: bond_index [2, B] (i < j) and bond_types [B], from directed edges in one or both directions."""
    edge_index = data.edge_index.long()  # [2, E]
    types = _edge_types(data, where)  # [E]
    if edge_index.shape[1] == 0:
        return edge_index.new_zeros(2, 0), types.new_zeros(0)
    if int(edge_index.min()) < 0 or int(edge_index.max()) >= n:
        raise ValueError(f"{where}: edge_index refers to atoms outside 0..{n - 1}")
    if bool((edge_index[0] == edge_index[1]).any()):
        raise ValueError(f"{where}: edge_index has self-loops (an atom bonded to itself)")
    lo, hi = edge_index.min(dim=0).values, edge_index.max(dim=0).values
    keys, inverse = torch.unique(lo * n + hi, return_inverse=True)  # [B], [E]
    most = torch.full_like(keys, -1).scatter_reduce(0, inverse, types, reduce="amax", include_self=True)
    least = torch.full_like(keys, NUM_BOND_TYPES).scatter_reduce(0, inverse, types, reduce="amin", include_self=True)
    if bool((most != least).any()):
        raise ValueError(f"{where}: the two directions of a bond have different bond types")
    position = torch.arange(inverse.shape[0], device=inverse.device)
    first_seen = torch.full_like(keys, inverse.shape[0]).scatter_reduce(0, inverse, position, reduce="amin")
    order = torch.argsort(first_seen)  # bonds in the order their first edge appears
    return torch.stack([keys[order] // n, keys[order] % n]), most[order]


def graph_from_data(data: Any, where: str = "PyG data") -> MolGraph:
    """A ``torch_geometric.data.Data`` molecule as a validated :class:`MolGraph` (fields in the module docstring)."""
    if getattr(data, "pos", None) is None:
        raise ValueError(f"{where}: no 'pos' field (molgen molecules are 3D)")
    atom_types = _atom_types(data, where)
    n = int(atom_types.shape[0])
    charges = getattr(data, "charges", None)
    charges = getattr(data, "charge", None) if charges is None else charges
    charges = torch.zeros(n, dtype=torch.long, device=atom_types.device) if charges is None else charges.long()
    bond_index, bond_types = _bonds(data, n, where)
    optional = {k: getattr(data, k) for k in _OPTIONAL_ATOM if getattr(data, k, None) is not None}
    name = getattr(data, "name", None)
    graph = MolGraph(pos=data.pos.float(), atom_types=atom_types, charges=charges.view(-1), bond_index=bond_index,
                     bond_types=bond_types, name=name if isinstance(name, str) else where,
                     smiles=getattr(data, "smiles", None), props=dict(getattr(data, "props", None) or {}), **optional)
    return graph.validate()


def batch_from_pyg(data: Any) -> MolBatch:
    """A PyG ``Batch`` (or one ``Data``) of molecules as a :class:`MolBatch`."""
    items = data.to_data_list() if hasattr(data, "to_data_list") else [data]
    return MolBatch.from_graphs([graph_from_data(d, f"PyG molecule {k}") for k, d in enumerate(items)])
