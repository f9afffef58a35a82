"""Equivariant messages of the EQGAT layer, averaged over the incoming edges of each atom.

Per-edge weights w [E, num_weights] come from the edge MLP; the result is dv [N, C, D].
Cartesian baseline (lmax = 1, EQGAT-diff), per edge (src j -> dst i):

    m_ij = w0_ij * rel_ij + w1_ij * (W v)_j [+ w2_ij * (v_i x v_j)]

Irreps (lmax >= 2): :class:`molgen.nn.gaunt_messages.IrrepsMessages`.

The sums over incoming edges are computed by :mod:`molgen.nn.aggregate`; the
cross product is linear in v_j: sum_j w_ij (v_i x v_j) = v_i x (sum_j w_ij v_j).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from molgen.nn.aggregate import GraphIndex, filter_sum, incoming_mean, value_sum
from molgen.nn.dense import DenseGeometry, DenseGraph, dense_filter_sum, dense_value_sum
from molgen.nn.equivariant import EquivariantLayout, EquivariantLinear
from molgen.nn.gaunt_messages import IrrepsMessages
from molgen.nn.geometry import EdgeGeometry


class CartesianMessages(nn.Module):
    """EQGAT-diff vector messages on Cartesian vectors v [N, C, 3]."""

    def __init__(self, vector_dim: int, has_v_in: bool, use_cross_product: bool) -> None:
        super().__init__()
        self.vector_dim = vector_dim
        self.use_cross_product = use_cross_product and has_v_in
        self.num_blocks = 1 + int(has_v_in) + int(self.use_cross_product)
        self.num_weights = self.num_blocks * vector_dim
        self.value = EquivariantLinear(EquivariantLayout(1), vector_dim, vector_dim) if has_v_in else None

    def forward(self, w: Tensor, v: Tensor, geom: EdgeGeometry, edge_index: Tensor, graph: GraphIndex) -> Tensor:
        """w [E, k * C], v [N, C, 3] -> mean incoming message [N, C, 3]."""
        w = w.unflatten(-1, (self.num_blocks, self.vector_dim))  # [E, k, C]
        total = filter_sum(w[:, :1], geom.rel, [(0, 3)], edge_index, graph)  # [N, C, 3]
        if self.value is not None:
            total = total + value_sum(w[:, 1], self.value(v), edge_index, graph)
        if self.use_cross_product:
            total = total + torch.linalg.cross(v, value_sum(w[:, 2], v, edge_index, graph), dim=-1)
        return incoming_mean(total, edge_index)

    def forward_dense(self, w: Tensor, v: Tensor, geom: DenseGeometry, graph: DenseGraph) -> Tensor:
        """Dense layout: w [G, n, n, k * C] (zero on non-edges), v [G, n, C, 3] -> mean message [G, n, C, 3]."""
        w = w.unflatten(-1, (self.num_blocks, self.vector_dim))  # [G, n, n, k, C]
        total = dense_filter_sum(w[..., :1, :], geom.rel, [(0, 3)])  # [G, n, C, 3]
        if self.value is not None:
            total = total + dense_value_sum(w[..., 1, :], self.value(v.flatten(0, 1)).unflatten(0, v.shape[:2]))
        if self.use_cross_product:
            total = total + torch.linalg.cross(v, dense_value_sum(w[..., 2, :], v), dim=-1)
        return total / graph.in_degree.unsqueeze(-1)


def build_messages(layout: EquivariantLayout, vector_dim: int, has_v_in: bool, tensor_product: str,
                   use_cross_product: bool) -> nn.Module:
    """Message module for ``layout``: Cartesian at lmax = 1, Gaunt/e3nn products at lmax >= 2."""
    if layout.cartesian:
        return CartesianMessages(vector_dim, has_v_in, use_cross_product)
    return IrrepsMessages(layout, vector_dim, has_v_in, tensor_product, use_cross_product)
