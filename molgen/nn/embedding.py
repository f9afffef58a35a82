"""Input featurisation of the noisy molecule and of the diffusion time for the denoiser.

Atoms: one-hots of element, formal charge and (optionally) the extra atom features below,
then a linear map, plus a time embedding. Edges: one-hot of the noisy bond class per directed
edge, linear map, plus a time embedding.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from molgen.chem.molgraph import MolBatch
from molgen.chem.pocket_batch import NUM_RESIDUE_TYPES, PocketBatch
from molgen.chem.vocab import EXTRA_ATOM_FEATURES, charge_to_index


class TimeEmbedding(nn.Module):
    """t [G] in [0, 1] -> [G, dim]: t itself for dim = 1 (as EQGAT-diff), else sin/cos features."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        if dim < 1 or (dim > 1 and dim % 2):
            raise ValueError(f"time_embedding_dim must be 1 or even, got {dim}")
        self.dim = dim
        freqs = torch.exp(torch.linspace(0.0, math.log(1000.0), dim // 2)) * math.pi if dim > 1 else torch.ones(0)
        self.register_buffer("freqs", freqs, persistent=False)

    def forward(self, t: Tensor) -> Tensor:
        if self.dim == 1:
            return t.unsqueeze(-1)
        angles = t.unsqueeze(-1) * self.freqs.to(t.dtype)  # [G, dim / 2]
        return torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)


def atom_one_hots(batch: MolBatch, num_atom_types: int, num_charges: int, use_extra: bool) -> Tensor:
    """[N, num_atom_types + num_charges (+ EXTRA_ATOM_FEATURE_DIM)] float one-hots of the atoms."""
    parts = [F.one_hot(batch.atom_types, num_atom_types), F.one_hot(charge_to_index(batch.charges), num_charges)]
    if use_extra:
        for name, classes in EXTRA_ATOM_FEATURES.items():
            value = getattr(batch, name)
            if value is None:
                raise ValueError(f"the denoiser was built with extra atom features but MolBatch.{name} is None")
            parts.append(F.one_hot(value.long(), classes))
    return torch.cat(parts, dim=-1).to(batch.pos.dtype)


class InputEmbedding(nn.Module):
    """Initial atom scalars s [N, S] and edge features e [E, F] (EQGAT-diff's input mappings)."""

    def __init__(self, atom_in: int, num_bond_types: int, scalar_dim: int, edge_dim: int, time_dim: int) -> None:
        super().__init__()
        self.num_bond_types = num_bond_types
        self.time = TimeEmbedding(time_dim)
        self.atom_in = nn.Linear(atom_in, scalar_dim)
        self.atom_time = nn.Linear(time_dim, scalar_dim)
        self.atom_out = nn.Linear(scalar_dim, scalar_dim)
        self.bond_in = nn.Linear(num_bond_types, edge_dim)
        self.bond_time = nn.Linear(time_dim, edge_dim)
        self.bond_out = nn.Linear(edge_dim, edge_dim)

    def forward(self, atoms: Tensor, edge_bonds: Tensor, t: Tensor, batch: Tensor,
                edge_graph: Tensor) -> tuple[Tensor, Tensor]:
        """atoms [N, atom_in], edge_bonds [E] long, t [G], batch [N], edge_graph [E] -> (s, e)."""
        t_feat = self.time(t)  # [G, time_dim]
        s = self.atom_out(self.atom_in(atoms) + self.atom_time(t_feat)[batch])  # [N, S]
        bonds = F.one_hot(edge_bonds, self.num_bond_types).to(atoms.dtype)  # [E, num_bond_types]
        e = self.bond_out(self.bond_in(bonds) + self.bond_time(t_feat)[edge_graph])  # [E, F]
        return s, e

    def forward_dense(self, atoms: Tensor, bond_types: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        """Dense layout: atoms [G, n, atom_in], bond_types [G, n, n] long, t [G] -> (s [G, n, S], e [G, n, n, F]).

        The bond one-hot times ``bond_in`` is a lookup of its weight column (the same numbers).
        """
        t_feat = self.time(t)  # [G, time_dim]
        s = self.atom_out(self.atom_in(atoms) + self.atom_time(t_feat)[:, None])  # [G, n, S]
        bonds = self.bond_in.weight.T[bond_types] + self.bond_in.bias  # [G, n, n, F]
        e = self.bond_out(bonds + self.bond_time(t_feat)[:, None, None])  # [G, n, n, F]
        return s, e


class PocketEmbedding(nn.Module):
    """Initial scalars [M, S] of pocket atoms: one-hots of element, residue type and backbone flag, plus time."""

    def __init__(self, num_atom_types: int, scalar_dim: int, time_dim: int) -> None:
        super().__init__()
        self.num_atom_types = num_atom_types
        self.time = TimeEmbedding(time_dim)
        self.atom_in = nn.Linear(num_atom_types + NUM_RESIDUE_TYPES + 1, scalar_dim)
        self.atom_time = nn.Linear(time_dim, scalar_dim)
        self.atom_out = nn.Linear(scalar_dim, scalar_dim)

    def forward(self, pocket: PocketBatch, t: Tensor) -> Tensor:
        """pocket (M atoms), t [G] -> [M, S] in t's dtype."""
        feats = torch.cat([F.one_hot(pocket.atom_types, self.num_atom_types),
                           F.one_hot(pocket.residue_types, NUM_RESIDUE_TYPES),
                           pocket.backbone.unsqueeze(-1).long()], dim=-1).to(t.dtype)  # [M, types + 21 + 1]
        return self.atom_out(self.atom_in(feats) + self.atom_time(self.time(t))[pocket.batch])
