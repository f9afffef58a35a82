"""The one molecule object used at every stage: data, model, sampling, evaluation.

``MolGraph`` is a single molecule; ``MolBatch`` concatenates G of them with a
``batch`` vector, in the style of torch_geometric but in plain torch; ``to_pyg`` /
``from_pyg`` convert to and from PyG's ``Data`` / ``Batch`` (:mod:`molgen.chem.pyg`).

Shape symbols: N atoms, B bonds (undirected, stored once with i < j),
E directed edges, G graphs.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

if TYPE_CHECKING:
    from molgen.chem.pocket_batch import PocketBatch
from molgen.chem.vocab import MAX_CHARGE, MIN_CHARGE, NUM_ATOM_TYPES, NUM_BOND_TYPES, SYMBOL_TO_INDEX

_OPTIONAL_ATOM = ("is_aromatic", "is_in_ring", "hybridization")


@dataclass
class MolGraph:
    """One molecule.

    Attributes:
        pos: [N, 3] float, Cartesian coordinates in Angstrom.
        atom_types: [N] long, index into :data:`molgen.chem.vocab.ATOM_TYPES`.
        charges: [N] long, formal charges (-2..+3), not class indices.
        bond_index: [2, B] long, atom pairs with ``bond_index[0] < bond_index[1]``.
        bond_types: [B] long, index into :data:`molgen.chem.vocab.BOND_TYPES` (1..4).
        is_aromatic, is_in_ring: optional [N] bool atom features.
        hybridization: optional [N] long, index into ``HYBRIDIZATIONS``.
        name: identifier (dataset id, SDF title, CID, ...).
        smiles: canonical SMILES of the source molecule, if known.
        props: free-form per-molecule properties (kept when written to SDF).
    """

    pos: Tensor
    atom_types: Tensor
    charges: Tensor
    bond_index: Tensor
    bond_types: Tensor
    is_aromatic: Tensor | None = None
    is_in_ring: Tensor | None = None
    hybridization: Tensor | None = None
    name: str = ""
    smiles: str | None = None
    props: dict[str, Any] = field(default_factory=dict)

    @property
    def num_atoms(self) -> int:
        return int(self.atom_types.shape[0])

    @property
    def num_bonds(self) -> int:
        return int(self.bond_types.shape[0])

    def validate(self) -> MolGraph:
        """Check shapes, dtypes and ranges; raise ``ValueError`` naming the field."""
        n = self.num_atoms
        where = f"molecule {self.name!r}" if self.name else "molecule"
        _expect(self.pos.shape == (n, 3), f"{where}: pos has shape {tuple(self.pos.shape)}, expected ({n}, 3)")
        _expect(bool(torch.isfinite(self.pos).all()), f"{where}: pos contains NaN or infinite coordinates")
        _expect(self.charges.shape == (n,), f"{where}: charges has shape {tuple(self.charges.shape)}")
        _expect(self.bond_index.dim() == 2 and self.bond_index.shape[0] == 2, f"{where}: bond_index must be [2, B]")
        _expect(self.bond_index.shape[1] == self.num_bonds, f"{where}: bond_index/bond_types length mismatch")
        if n:
            _expect(0 <= int(self.atom_types.min()) and int(self.atom_types.max()) < NUM_ATOM_TYPES,
                    f"{where}: atom_types out of vocabulary range")
            _expect(MIN_CHARGE <= int(self.charges.min()) and int(self.charges.max()) <= MAX_CHARGE,
                    f"{where}: charges outside {MIN_CHARGE}..{MAX_CHARGE}")
        if self.num_bonds:
            i, j = self.bond_index
            _expect(bool((i < j).all()), f"{where}: bond_index must list each bond once with i < j")
            _expect(int(j.max()) < n, f"{where}: bond_index refers to atom >= N={n}")
            _expect(bool(((self.bond_types > 0) & (self.bond_types < NUM_BOND_TYPES)).all()),
                    f"{where}: bond_types must be in 1..{NUM_BOND_TYPES - 1}")
        for key in _OPTIONAL_ATOM:
            value = getattr(self, key)
            if value is not None:
                _expect(value.shape == (n,), f"{where}: {key} has shape {tuple(value.shape)}, expected ({n},)")
        return self

    def dense_bonds(self) -> Tensor:
        """Symmetric [N, N] long matrix of bond classes (0 = no bond)."""
        adj = torch.zeros(self.num_atoms, self.num_atoms, dtype=torch.long, device=self.pos.device)
        i, j = self.bond_index
        adj[i, j] = self.bond_types
        adj[j, i] = self.bond_types
        return adj

    def subgraph(self, keep: Tensor) -> MolGraph:
        """Copy with only the atoms where ``keep`` [N] (bool) is true, and the bonds between them."""
        new_index = keep.long().cumsum(0) - 1  # [N] position among kept atoms
        bond_keep = keep[self.bond_index[0]] & keep[self.bond_index[1]]  # [B]
        optional = {k: getattr(self, k)[keep] for k in _OPTIONAL_ATOM if getattr(self, k) is not None}
        return MolGraph(pos=self.pos[keep], atom_types=self.atom_types[keep], charges=self.charges[keep],
                        bond_index=new_index[self.bond_index[:, bond_keep]], bond_types=self.bond_types[bond_keep],
                        name=self.name, smiles=self.smiles, props=dict(self.props), **optional)

    def heavy_atoms(self) -> MolGraph:
        """Copy without hydrogen atoms and the bonds that touch them (implicit-H form)."""
        return self.subgraph(self.atom_types != SYMBOL_TO_INDEX["H"])

    def centered(self) -> MolGraph:
        """Copy with the centre of (unweighted) positions at the origin."""
        return replace(self, pos=self.pos - self.pos.mean(dim=0, keepdim=True))

    def to(self, device: torch.device | str) -> MolGraph:
        return replace(self, **{k: v.to(device) for k, v in self._tensors().items()})

    def _tensors(self) -> dict[str, Tensor]:
        return {f.name: getattr(self, f.name) for f in fields(self) if isinstance(getattr(self, f.name), Tensor)}

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of numpy arrays / python values (for storage)."""
        out: dict[str, Any] = {k: v.cpu().numpy() for k, v in self._tensors().items()}
        out.update(name=self.name, smiles=self.smiles, props=dict(self.props))
        return out

    def to_rdkit(self, sanitize: bool = True, implicit_hydrogens: bool = False) -> Any:
        """This molecule as an RDKit ``Chem.Mol`` with its 3D conformer, charges and bonds.

        ``sanitize``: run RDKit's sanitisation; a molecule RDKit refuses (a generated one with an
        impossible valence) is still returned, unsanitised, with the reason in its
        ``molgen_sanitize_error`` property. Stereochemistry is assigned from the 3D coordinates,
        as RDKit does when it reads the same molecule from an SDF, so both give identical
        figures. ``implicit_hydrogens``: let RDKit fill missing valences with implicit H (for
        heavy-atom graphs); by default the atoms as given are all there is.
        """
        from rdkit import Chem

        from molgen.chem.featurize import reconstruct_mol

        result = reconstruct_mol(self, sanitize=sanitize, implicit_hydrogens=implicit_hydrogens)
        mol = result.mol
        if result.error:
            mol.SetProp("molgen_sanitize_error", result.error)
        if self.num_atoms:
            Chem.AssignStereochemistryFrom3D(mol)
        return mol

    def to_pyg(self) -> Any:
        """This molecule as a ``torch_geometric.data.Data`` (:mod:`molgen.chem.pyg`; needs the ``pyg`` extra)."""
        from molgen.chem.pyg import graph_to_data

        return graph_to_data(self)

    @classmethod
    def from_pyg(cls, data: Any) -> MolGraph:
        """A PyG ``Data`` molecule (``pos``, ``z`` or ``atom_types``, bonds) as a MolGraph (:mod:`molgen.chem.pyg`)."""
        from molgen.chem.pyg import graph_from_data

        return graph_from_data(data)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MolGraph:
        kw: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in d or d[f.name] is None:
                continue
            value = d[f.name]
            kw[f.name] = value if f.name in ("name", "smiles", "props") else torch.as_tensor(value)
        return cls(**kw)


def _expect(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


def offsets(counts: Tensor) -> Tensor:
    """[G + 1] start of each of G consecutive segments of ``counts`` [G] items, and the total at the end."""
    ptr = torch.zeros(counts.numel() + 1, dtype=torch.long, device=counts.device)
    ptr[1:] = counts.cumsum(0)
    return ptr


@dataclass
class MolBatch:
    """G molecules concatenated along the atom axis.

    Attributes:
        pos: [N, 3]; atom_types, charges: [N]; batch: [N] graph index; ptr: [G + 1].
        bond_index: [2, B] global atom indices (i < j); bond_types: [B].
        is_aromatic, is_in_ring, hybridization: optional [N].
        names: G identifiers; props: G dicts.
        pocket: None, or the fixed protein context of each molecule (:class:`PocketBatch`, G pockets);
            then coordinates live in the receptor's frame instead of being centred per molecule.
    """

    pos: Tensor
    atom_types: Tensor
    charges: Tensor
    bond_index: Tensor
    bond_types: Tensor
    batch: Tensor
    ptr: Tensor
    is_aromatic: Tensor | None = None
    is_in_ring: Tensor | None = None
    hybridization: Tensor | None = None
    names: list[str] = field(default_factory=list)
    smiles: list[str | None] = field(default_factory=list)
    props: list[dict[str, Any]] = field(default_factory=list)
    pocket: PocketBatch | None = None

    @property
    def num_graphs(self) -> int:
        return int(self.ptr.shape[0] - 1)

    @property
    def num_atoms(self) -> Tensor:
        """[G] atoms per graph."""
        return self.ptr[1:] - self.ptr[:-1]

    @classmethod
    def from_graphs(cls, graphs: list[MolGraph]) -> MolBatch:
        if not graphs:
            raise ValueError("cannot batch an empty list of molecules")
        counts = torch.tensor([g.num_atoms for g in graphs], dtype=torch.long)
        ptr = offsets(counts)
        bond_index = torch.cat([g.bond_index + ptr[k] for k, g in enumerate(graphs)], dim=1)
        optional = {}
        for key in _OPTIONAL_ATOM:
            values = [getattr(g, key) for g in graphs]
            optional[key] = torch.cat(values) if all(v is not None for v in values) else None
        return cls(
            pos=torch.cat([g.pos for g in graphs]),
            atom_types=torch.cat([g.atom_types for g in graphs]),
            charges=torch.cat([g.charges for g in graphs]),
            bond_index=bond_index.reshape(2, -1),
            bond_types=torch.cat([g.bond_types for g in graphs]),
            batch=torch.repeat_interleave(torch.arange(len(graphs)), counts),
            ptr=ptr,
            names=[g.name for g in graphs],
            smiles=[g.smiles for g in graphs],
            props=[dict(g.props) for g in graphs],
            **optional,
        )

    def to_graphs(self) -> list[MolGraph]:
        """Split back into molecules (tensors moved to CPU)."""
        out = []
        bond_graph = self.batch[self.bond_index[0]] if self.bond_types.numel() else self.bond_types
        for k in range(self.num_graphs):
            lo, hi = int(self.ptr[k]), int(self.ptr[k + 1])
            bmask = bond_graph == k
            extra = {key: getattr(self, key)[lo:hi].cpu() for key in _OPTIONAL_ATOM if getattr(self, key) is not None}
            out.append(MolGraph(
                pos=self.pos[lo:hi].detach().cpu(),
                atom_types=self.atom_types[lo:hi].cpu(),
                charges=self.charges[lo:hi].cpu(),
                bond_index=(self.bond_index[:, bmask] - lo).cpu(),
                bond_types=self.bond_types[bmask].cpu(),
                name=self.names[k] if k < len(self.names) else "",
                smiles=self.smiles[k] if k < len(self.smiles) else None,
                props=self.props[k] if k < len(self.props) else {},
                **extra,
            ))
        return out

    def select(self, index: Tensor | list[int]) -> MolBatch:
        """The molecules ``index`` [G'] (repeats allowed, e.g. resampling), on this batch's device."""
        device = self.pos.device
        graphs, index = self.to_graphs(), [int(k) for k in index]
        pocket = None if self.pocket is None else self.pocket.select(index)
        return replace(MolBatch.from_graphs([graphs[k] for k in index]).to(device), pocket=pocket)

    def to_pyg(self) -> Any:
        """These G molecules as a ``torch_geometric.data.Batch`` (:mod:`molgen.chem.pyg`; needs the ``pyg`` extra)."""
        from molgen.chem.pyg import batch_to_pyg

        return batch_to_pyg(self)

    @classmethod
    def from_pyg(cls, data: Any) -> MolBatch:
        """A PyG ``Batch`` (or ``Data``) of molecules as a MolBatch (:mod:`molgen.chem.pyg`)."""
        from molgen.chem.pyg import batch_from_pyg

        return batch_from_pyg(data)

    def to(self, device: torch.device | str) -> MolBatch:
        moved = {f.name: getattr(self, f.name).to(device) for f in fields(self)
                 if isinstance(getattr(self, f.name), Tensor)}
        return replace(self, **moved, pocket=None if self.pocket is None else self.pocket.to(device))

    def fully_connected_edges(self) -> Tensor:
        """[2, E] all ordered pairs (i, j), i != j, within each molecule; E = sum n_g (n_g - 1)."""
        device = self.ptr.device
        counts = self.num_atoms
        n_pairs = counts * counts
        graph_of_pair = torch.repeat_interleave(torch.arange(self.num_graphs, device=device), n_pairs)
        start = torch.cumsum(n_pairs, 0) - n_pairs
        local = torch.arange(int(n_pairs.sum()), device=device) - start[graph_of_pair]
        n = counts[graph_of_pair]
        i = local // n + self.ptr[graph_of_pair]
        j = local % n + self.ptr[graph_of_pair]
        keep = i != j
        return torch.stack([i[keep], j[keep]])

    def edge_bond_types(self, edge_index: Tensor) -> Tensor:
        """[E] bond class of each directed edge in ``edge_index`` (0 where not bonded)."""
        n = int(self.ptr[-1])
        out = torch.zeros(edge_index.shape[1], dtype=torch.long, device=edge_index.device)
        if not self.bond_types.numel():
            return out
        i, j = self.bond_index
        keys = torch.cat([i * n + j, j * n + i])
        values = torch.cat([self.bond_types, self.bond_types])
        keys, order = torch.sort(keys)
        query = edge_index[0] * n + edge_index[1]
        pos = torch.searchsorted(keys, query).clamp(max=keys.numel() - 1)
        hit = keys[pos] == query
        out[hit] = values[order[pos[hit]]]
        return out
