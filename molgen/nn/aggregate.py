"""Sums of edge messages over the incoming edges of each atom (edge ``(j -> i)`` = ``(src, dst)``).

Every EQGAT message term is linear in its per-edge weights, so ``sum_j w_ij * f(x_j, r_ij)`` can run
on dense per-molecule blocks [G, n, n, ...] (zero where there is no edge) as batched matrix products
instead of gathering and scattering [E, C, D] tensors: the same numbers with far less memory traffic.
When molecule sizes in a batch differ so much that the padded blocks would be wasteful
(:data:`MAX_PADDING`), :class:`GraphIndex` switches to the plain gather/scatter form.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from molgen.nn.scatter import segment_count, segment_sum

#: Largest ratio of padded pairs G * n_max^2 to real pairs sum_g n_g^2 for which blocks are used.
MAX_PADDING = 4.0


@dataclass
class GraphIndex:
    """Which molecule every atom belongs to, and whether edge sums use dense per-molecule blocks.

    Attributes:
        batch: [N] graph index of each atom (sorted); ptr: [G + 1] offsets.
        local: [N] position of each atom within its molecule; max_atoms: largest molecule size.
        dense: compute edge sums on [G, max_atoms, max_atoms] blocks (else gather/scatter).
    """

    batch: Tensor
    ptr: Tensor
    local: Tensor
    max_atoms: int
    dense: bool

    @classmethod
    def from_batch(cls, batch: Tensor, ptr: Tensor, dense: bool | None = None) -> GraphIndex:
        """``dense=None`` chooses blocks unless padding would exceed :data:`MAX_PADDING` times the real pairs."""
        counts = ptr[1:] - ptr[:-1]
        max_atoms = int(counts.max()) if counts.numel() else 0
        if dense is None:
            dense = counts.numel() * max_atoms**2 <= MAX_PADDING * max(int((counts * counts).sum()), 1)
        local = torch.arange(batch.shape[0], device=batch.device) - ptr[batch]
        return cls(batch=batch, ptr=ptr, local=local, max_atoms=max_atoms, dense=dense)

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


def filter_sum(weight: Tensor, basis: Tensor, blocks: list[tuple[int, int]], edge_index: Tensor,
               graph: GraphIndex) -> Tensor:
    """sum_j weight_ij[b(k), c] * basis_ij[k] with b(k) the block of component k.

    weight [E, B, C], basis [E, D] (B blocks ``(lo, hi)`` along D) -> [N, C, D].
    """
    if graph.dense:
        w, y = graph.dense_edges(weight, edge_index), graph.dense_edges(basis, edge_index)  # [G, n, n, ...]
        parts = [torch.einsum("gijc,gijm->gicm", w[..., b, :], y[..., lo:hi]) for b, (lo, hi) in enumerate(blocks)]
        return graph.sparse_nodes(torch.cat(parts, dim=-1))
    parts = [weight[:, b, :, None] * basis[:, None, lo:hi] for b, (lo, hi) in enumerate(blocks)]  # [E, C, d]
    return segment_sum(torch.cat(parts, dim=-1), edge_index[1], graph.batch.shape[0])


def value_sum(weight: Tensor, x: Tensor, edge_index: Tensor, graph: GraphIndex) -> Tensor:
    """sum_j weight_ij[c] * x_j[c, :]: weight [E, C], x [N, C, D] -> [N, C, D]."""
    if graph.dense:
        dense = torch.einsum("gijc,gjcd->gicd", graph.dense_edges(weight, edge_index), graph.dense_nodes(x))
        return graph.sparse_nodes(dense)
    src, dst = edge_index
    return segment_sum(weight.unsqueeze(-1) * x[src], dst, x.shape[0])


def incoming_mean(total: Tensor, edge_index: Tensor) -> Tensor:
    """Sums over incoming edges [N, ...] -> means (atoms without incoming edges keep 0)."""
    count = segment_count(edge_index[1], total.shape[0], total.dtype)  # [N]
    return total / count.view(-1, *([1] * (total.dim() - 1)))
