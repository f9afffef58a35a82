"""A tiny E(3)-equivariant stand-in denoiser following the denoiser/diffusion contract (tests only)."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from molgen.chem.molgraph import MolBatch
from molgen.chem.vocab import NUM_ATOM_TYPES, NUM_BOND_TYPES, NUM_CHARGES, charge_to_index


@dataclass
class StandInOutput:
    pos: Tensor  # [N, 3]
    atom_logits: Tensor  # [N, NUM_ATOM_TYPES]
    charge_logits: Tensor  # [N, NUM_CHARGES]
    edge_index: Tensor  # [2, E]
    bond_logits: Tensor  # [E, NUM_BOND_TYPES]
    extra_logits: dict[str, Tensor] = field(default_factory=dict)


class StandInDenoiser(nn.Module):
    """One EGNN-style message-passing layer: invariant features, equivariant coordinate update."""

    def __init__(self, hidden: int = 16, extra: dict[str, int] | None = None) -> None:
        super().__init__()
        self.atom_emb = nn.Embedding(NUM_ATOM_TYPES, hidden)
        self.charge_emb = nn.Embedding(NUM_CHARGES, hidden)
        self.bond_emb = nn.Embedding(NUM_BOND_TYPES, hidden)
        self.time = nn.Linear(1, hidden)
        self.message = nn.Sequential(nn.Linear(3 * hidden + 1, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.coord = nn.Linear(hidden, 1)
        self.atom_head = nn.Linear(hidden, NUM_ATOM_TYPES)
        self.charge_head = nn.Linear(hidden, NUM_CHARGES)
        self.bond_head = nn.Linear(hidden, NUM_BOND_TYPES)
        self.extra = nn.ModuleDict({name: nn.Linear(hidden, k) for name, k in (extra or {}).items()})

    def forward(self, batch: MolBatch, t: Tensor) -> StandInOutput:
        edges = batch.fully_connected_edges()  # [2, E]
        i, j = edges
        h = self.atom_emb(batch.atom_types) + self.charge_emb(charge_to_index(batch.charges))
        h = h + self.time(t[batch.batch][:, None].to(h.dtype))  # [N, H]
        diff = batch.pos[i] - batch.pos[j]  # [E, 3]
        dist2 = (diff**2).sum(-1, keepdim=True)
        m = self.message(torch.cat([h[i], h[j], self.bond_emb(batch.edge_bond_types(edges)), dist2], -1))  # [E, H]
        h = h + torch.zeros_like(h).index_add_(0, i, m)
        pos = batch.pos + torch.zeros_like(batch.pos).index_add_(0, i, diff * torch.tanh(self.coord(m)) / 10)
        count = torch.bincount(batch.batch, minlength=batch.num_graphs).to(pos.dtype)
        mean = torch.zeros(batch.num_graphs, 3, dtype=pos.dtype).index_add_(0, batch.batch, pos) / count[:, None]
        pos = pos - mean[batch.batch]
        edge_feat = m + self._reverse(edges, m)  # symmetric in (i, j)
        return StandInOutput(pos=pos, atom_logits=self.atom_head(h), charge_logits=self.charge_head(h),
                             edge_index=edges, bond_logits=self.bond_head(edge_feat),
                             extra_logits={name: head(h) for name, head in self.extra.items()})

    @staticmethod
    def _reverse(edges: Tensor, values: Tensor) -> Tensor:
        """values of edge (j, i) for each edge (i, j)."""
        n = int(edges.max()) + 1 if edges.numel() else 1
        keys = edges[0] * n + edges[1]
        order = torch.argsort(keys)
        rev = torch.searchsorted(keys[order], edges[1] * n + edges[0])
        return values[order[rev]]


def toy_molecules(dtype: torch.dtype = torch.float64) -> list:
    """Hand-made water, formaldehyde and ethyne (with formal charges all zero) as MolGraphs."""
    from molgen.chem.molgraph import MolGraph
    from molgen.chem.vocab import element_index

    def mol(symbols: list[str], pos: list[list[float]], bonds: list[tuple[int, int, int]], name: str) -> MolGraph:
        bond_index = torch.tensor([[a for a, _, _ in bonds], [b for _, b, _ in bonds]], dtype=torch.long)
        return MolGraph(pos=torch.tensor(pos, dtype=dtype),
                        atom_types=torch.tensor([element_index(s) for s in symbols]),
                        charges=torch.zeros(len(symbols), dtype=torch.long), bond_index=bond_index.reshape(2, -1),
                        bond_types=torch.tensor([t for _, _, t in bonds], dtype=torch.long), name=name).validate()

    water = mol(["O", "H", "H"], [[0, 0, 0.12], [0, 0.76, -0.47], [0, -0.76, -0.47]], [(0, 1, 1), (0, 2, 1)], "water")
    formaldehyde = mol(["C", "O", "H", "H"], [[0, 0, -0.53], [0, 0, 0.68], [0, 0.94, -1.11], [0, -0.94, -1.11]],
                       [(0, 1, 2), (0, 2, 1), (0, 3, 1)], "formaldehyde")
    ethyne = mol(["C", "C", "H", "H"], [[0, 0, 0.60], [0, 0, -0.60], [0, 0, 1.66], [0, 0, -1.66]],
                 [(0, 1, 3), (0, 2, 1), (1, 3, 1)], "ethyne")
    return [water, formaldehyde, ethyne]


def toy_marginals():
    """Marginals with every class possible (so posteriors are never degenerate)."""
    from molgen.diffusion.marginals import Marginals

    atoms = torch.full((NUM_ATOM_TYPES,), 0.01)
    atoms[[0, 2, 4]] = torch.tensor([0.5, 0.3, 0.2])
    charges = torch.tensor([0.01, 0.02, 0.9, 0.05, 0.01, 0.01])
    bonds = torch.tensor([0.7, 0.2, 0.05, 0.02, 0.03])
    return Marginals(atom_types=atoms, charges=charges, bonds=bonds, num_atoms=torch.tensor([0, 0, 0, 2, 3, 1]),
                     extras={"is_aromatic": torch.tensor([0.8, 0.2]), "hybridization": torch.ones(7)})
