"""Sums of edge messages over the incoming edges of each atom, on dense per-molecule blocks.

Every EQGAT message term is linear in its per-edge weights, so ``sum_j w_ij * f(x_j, r_ij)`` is
computed on [G, n, n, ...] blocks (:class:`molgen.nn.geometry.GraphIndex`, zero where there is no
edge) as batched matrix products, instead of gathering and scattering [E, C, D] tensors: the same
numbers with far less memory traffic. Index i is the destination, j the source of an edge.
"""

from __future__ import annotations

import torch
from torch import Tensor

from molgen.nn.geometry import GraphIndex
from molgen.nn.scatter import segment_count


def filter_sum(weight: Tensor, basis: Tensor, blocks: list[tuple[int, int]]) -> Tensor:
    """sum_j weight_ij[c, block(k)] * basis_ij[k]: [G, n, n, B, C] x [G, n, n, D] -> [G, n, C, D]."""
    parts = [torch.einsum("gijc,gijm->gicm", weight[..., b, :], basis[..., lo:hi]) for b, (lo, hi) in enumerate(blocks)]
    return torch.cat(parts, dim=-1)


def value_sum(weight: Tensor, x: Tensor) -> Tensor:
    """sum_j weight_ij[c] * x_j[c, :]: [G, n, n, C] x [G, n, C, D] -> [G, n, C, D]."""
    return torch.einsum("gijc,gjcd->gicd", weight, x)


def mean_over_incoming(total: Tensor, edge_index: Tensor, graph: GraphIndex) -> Tensor:
    """Dense per-molecule sums [G, n, C, D] -> mean over each atom's incoming edges [N, C, D]."""
    count = segment_count(edge_index[1], graph.batch.shape[0], total.dtype)  # [N]
    return graph.sparse_nodes(total) / count.view(-1, 1, 1)
