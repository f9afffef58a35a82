"""Prediction heads of the denoiser: clean coordinates, atom/charge/extra logits, bond logits.

As in EQGAT-diff: coordinates = current positions + a linear map of the l = 1 features, centred
per molecule; atom-level logits from a shared scalar map; bond logits from
s_i + s_j + W (e_ij + e_ji) / 2 and the squared predicted distance, so they are symmetric.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from molgen.nn.dense import DenseGraph
from molgen.nn.equivariant import EquivariantLayout
from molgen.nn.scatter import segment_mean


class DenoiserHeads(nn.Module):
    """Read-out of (s [N, S], v [N, C, D], pos [N, 3], e [E, F]) into clean-molecule predictions."""

    def __init__(self, layout: EquivariantLayout, scalar_dim: int, vector_dim: int, edge_dim: int,
                 atom_out: int, num_bond_types: int) -> None:
        super().__init__()
        self.layout = layout
        self.shared = nn.Sequential(nn.Linear(scalar_dim, scalar_dim), nn.SiLU())
        self.coords = nn.Linear(vector_dim, 1, bias=False)
        self.atoms = nn.Linear(scalar_dim, atom_out)
        self.bond_edge = nn.Linear(edge_dim, scalar_dim)
        self.bond_hidden = nn.Linear(scalar_dim + 1, scalar_dim)
        self.bond_out = nn.Linear(scalar_dim, num_bond_types)

    def forward(self, s: Tensor, v: Tensor, pos: Tensor, e: Tensor, edge_index: Tensor, reverse: Tensor,
                batch: Tensor, num_graphs: int, center: bool = True) -> tuple[Tensor, Tensor, Tensor]:
        """Return (pos [N, 3], atom-level logits [N, atom_out], bond logits [E, num_bond_types]).

        ``reverse`` [E] is the index of edge (j, i) for each edge (i, j). ``center``: remove each
        molecule's mean from the coordinates (off for pocket-conditioned models, whose frame is the pocket's).
        """
        s = self.shared(s)
        l1 = self.layout.cartesian_l1(v)  # [N, C, 3]
        coords = pos + self.coords(l1.transpose(1, 2)).squeeze(-1)  # [N, 3]
        if center:
            coords = coords - segment_mean(coords, batch, num_graphs)[batch]
        src, dst = edge_index
        sq_dist = (coords[dst] - coords[src]).pow(2).sum(dim=-1, keepdim=True)  # [E, 1]
        e_sym = 0.5 * (e + e[reverse])  # [E, F]
        pair = s[dst] + s[src] + self.bond_edge(e_sym)  # [E, S]
        bonds = self.bond_out(F.silu(self.bond_hidden(torch.cat([pair, sq_dist], dim=-1))))  # [E, num_bond_types]
        return coords, self.atoms(s), bonds


    def forward_dense(self, s: Tensor, v: Tensor, pos: Tensor, e: Tensor, graph: DenseGraph,
                      center: bool = True) -> tuple[Tensor, Tensor, Tensor]:
        """Dense layout: s [G, n, S], v [G, n, C, D], pos [G, n, 3], e [G, n, n, F] ->
        (pos [G, n, 3], atom-level logits [G, n, atom_out], bond logits [G, n, n, num_bond_types])."""
        s = self.shared(s)
        l1 = self.layout.cartesian_l1(v)  # [G, n, C, 3]
        coords = pos + self.coords(l1.transpose(-1, -2)).squeeze(-1)  # [G, n, 3]
        if center:
            coords = coords - graph.graph_mean(coords)
        diff = coords.unsqueeze(2) - coords.unsqueeze(1)  # [G, n, n, 3]
        sq_dist = diff.pow(2).sum(dim=-1, keepdim=True)  # [G, n, n, 1]
        e_sym = 0.5 * (e + e.transpose(1, 2))  # [G, n, n, F]
        pair = s.unsqueeze(2) + s.unsqueeze(1) + self.bond_edge(e_sym)  # [G, n, n, S]
        bonds = self.bond_out(F.silu(self.bond_hidden(torch.cat([pair, sq_dist], dim=-1))))
        return coords, self.atoms(s), bonds
