"""Edge geometry recomputed from the current positions in every denoiser layer.

Edges are directed, ``edge_index = (src, dst)``: messages flow from ``src`` to ``dst`` and are
aggregated at ``dst``. All quantities are invariant except ``rel`` and ``sh`` (equivariant).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class EdgeGeometry:
    """Geometry of E directed edges.

    Attributes:
        dist: [E] distance |p_dst - p_src| (clamped away from 0).
        dot: [E] p_dst . p_src of the per-molecule centred positions.
        rel: [E, 3] (p_dst - p_src) / (1 + dist), EQGAT-diff's bounded relative vector.
        sh: [E, D] spherical harmonics of the edge direction scaled by dist / (1 + dist)
            (only for lmax >= 2; None for the Cartesian baseline).
        envelope: [E] smooth cutoff weight in [0, 1] (all ones when fully connected).
    """

    dist: Tensor
    dot: Tensor
    rel: Tensor
    sh: Tensor | None
    envelope: Tensor


def polynomial_envelope(dist: Tensor, cutoff: float, p: int = 6) -> Tensor:
    """DimeNet's smooth polynomial cutoff: 1 at 0, 0 with vanishing derivatives at ``cutoff``. [E] -> [E]."""
    x = (dist / cutoff).clamp(max=1.0)
    value = 1 - (p + 1) * (p + 2) / 2 * x**p + p * (p + 2) * x ** (p + 1) - p * (p + 1) / 2 * x ** (p + 2)
    return value * (dist < cutoff).to(dist.dtype)


def edge_geometry(pos: Tensor, edge_index: Tensor, cutoff: float | None,
                  sh_fn: Callable[[Tensor], Tensor] | None) -> EdgeGeometry:
    """Geometry of ``edge_index`` [2, E] for positions ``pos`` [N, 3].

    ``sh_fn`` maps unit vectors [E, 3] to spherical harmonics [E, D]; pass None at lmax = 1.
    """
    src, dst = edge_index
    diff = pos[dst] - pos[src]  # [E, 3]
    dist = torch.sqrt(diff.pow(2).sum(dim=-1).clamp(min=1e-6))  # [E]
    dot = (pos[dst] * pos[src]).sum(dim=-1)  # [E]
    rel = diff / (1.0 + dist.unsqueeze(-1))  # [E, 3]
    sh = None
    if sh_fn is not None:
        sh = sh_fn(diff / dist.unsqueeze(-1)) * (dist / (1.0 + dist)).unsqueeze(-1)  # [E, D]
    envelope = torch.ones_like(dist) if cutoff is None else polynomial_envelope(dist, cutoff)
    return EdgeGeometry(dist=dist, dot=dot, rel=rel, sh=sh, envelope=envelope)


def reverse_edge_index(edge_index: Tensor, num_nodes: int) -> Tensor:
    """[E] position of edge (j, i) for every edge (i, j); the edge set must be closed under reversal."""
    keys = edge_index[0] * num_nodes + edge_index[1]  # [E]
    sorted_keys, order = torch.sort(keys)
    reverse_keys = edge_index[1] * num_nodes + edge_index[0]
    found = torch.searchsorted(sorted_keys, reverse_keys).clamp(max=max(keys.numel() - 1, 0))
    if keys.numel() and not bool((sorted_keys[found] == reverse_keys).all()):
        raise ValueError("edge_index is not symmetric: some edge (i, j) has no reverse edge (j, i)")
    return order[found]


@dataclass
class GraphIndex:
    """Which molecule every atom belongs to, for per-molecule reductions and dense per-molecule blocks.

    Attributes:
        batch: [N] graph index of each atom (sorted); ptr: [G + 1] offsets.
        local: [N] position of each atom within its molecule; max_atoms: largest molecule size.
    """

    batch: Tensor
    ptr: Tensor
    local: Tensor
    max_atoms: int

    @classmethod
    def from_batch(cls, batch: Tensor, ptr: Tensor) -> GraphIndex:
        local = torch.arange(batch.shape[0], device=batch.device) - ptr[batch]
        counts = ptr[1:] - ptr[:-1]
        return cls(batch=batch, ptr=ptr, local=local, max_atoms=int(counts.max()) if counts.numel() else 0)

    @property
    def num_graphs(self) -> int:
        return int(self.ptr.shape[0] - 1)

    def dense_nodes(self, x: Tensor) -> Tensor:
        """[N, ...] -> [G, max_atoms, ...], zero padded."""
        out = x.new_zeros(self.num_graphs, self.max_atoms, *x.shape[1:])
        out[self.batch, self.local] = x
        return out

    def sparse_nodes(self, x: Tensor) -> Tensor:
        """Inverse of :meth:`dense_nodes`: [G, max_atoms, ...] -> [N, ...]."""
        return x[self.batch, self.local]

    def dense_edges(self, values: Tensor, edge_index: Tensor) -> Tensor:
        """Edge values [E, ...] -> [G, max_atoms (dst), max_atoms (src), ...], zero where there is no edge."""
        src, dst = edge_index
        out = values.new_zeros(self.num_graphs, self.max_atoms, self.max_atoms, *values.shape[1:])
        out[self.batch[dst], self.local[dst], self.local[src]] = values
        return out
