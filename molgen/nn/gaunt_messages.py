"""Irreps (lmax >= 2) interactions of the EQGAT layer, built on channel-wise tensor products.

Features are irreps v [N, C, K], K = (L+1)^2, layout of :mod:`molgen.nn.so3`. Edge messages
(per-edge weights from the edge MLP, Y = spherical harmonics of the edge direction scaled by
d / (1 + d), see :mod:`molgen.nn.geometry`):

    m = w_filter * Y  +  w_value * (W v)_src  +  TP((W v)_src, w_conv * Y)  [+ w_cross * (v_dst x v_src)_l=1]

averaged over the incoming edges. ``w_filter`` has one weight per (channel, degree), generalising
EQGAT-diff's ``w0 * r`` to all degrees; ``w_conv`` one weight per degree (shared by the channels,
which lets the Gaunt sum over edges run as dense per-molecule matrix products on the sphere grid).
The convolution TP is :class:`molgen.nn.gaunt_conv.GauntConv` (``tensor_product="gaunt"``) or
e3nn's ``o3.TensorProduct`` with "uvu" paths per edge (``"e3nn"``, benchmark only). The node
self-interaction adds TP(W_a v, W_b v) ("uuu") to the gated update. Gaunt products have no antisymmetric paths, so the
optional cross product uses :func:`molgen.nn.gaunt.cross_product_path` on the l = 1 blocks.
"""

from __future__ import annotations

import torch
from e3nn import o3
from torch import Tensor, nn

from molgen.nn.aggregate import GraphIndex, filter_sum, incoming_mean, value_sum
from molgen.nn.dense import DenseGeometry, DenseGraph, dense_filter_sum, dense_value_sum
from molgen.nn.equivariant import EquivariantLayout, EquivariantLinear
from molgen.nn.gaunt import GauntTensorProduct, cross_product_path
from molgen.nn.gaunt_conv import GauntConv
from molgen.nn.geometry import EdgeGeometry
from molgen.nn.scatter import segment_sum
from molgen.nn.so3 import degree_of_component, from_e3nn_layout, irreps_string, to_e3nn_layout


class E3nnChannelwiseProduct(nn.Module):
    """e3nn ``o3.TensorProduct`` in the irreps layout: x [R, C, K] and y [R, C|1, K] -> [R, C, K].

    "uuu" paths when y has C channels, "uvu" when y has one channel; every parity-allowed path
    (the same even paths as the Gaunt product) with learnable per-channel path weights.
    """

    def __init__(self, lmax: int, channels: int, y_channels: int) -> None:
        super().__init__()
        self.lmax, self.channels = lmax, channels
        irreps_x = o3.Irreps(irreps_string(channels, lmax))
        irreps_y = o3.Irreps(irreps_string(y_channels, lmax))
        mode = "uuu" if y_channels == channels else "uvu"
        instructions = []
        for i1, (_, ir1) in enumerate(irreps_x):
            for i2, (_, ir2) in enumerate(irreps_y):
                for i_out, (_, ir_out) in enumerate(irreps_x):
                    if ir_out in ir1 * ir2:
                        instructions.append((i1, i2, i_out, mode, True))
        self.tp = o3.TensorProduct(irreps_x, irreps_y, irreps_x, instructions)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        out = self.tp(to_e3nn_layout(x), to_e3nn_layout(y))  # [R, C * K]
        return from_e3nn_layout(out, self.channels, self.lmax)


def channelwise_product(kind: str, lmax: int, channels: int) -> nn.Module:
    """Channel-wise ("uuu") tensor product x [R, C, K] (x) y [R, C, K] -> [R, C, K] of the requested ``kind``."""
    if kind == "gaunt":
        return GauntTensorProduct(lmax, lmax, lmax, channels)
    if kind == "e3nn":
        return E3nnChannelwiseProduct(lmax, channels, channels)
    raise ValueError(f"tensor_product must be 'gaunt' or 'e3nn', got {kind!r}")


class GauntEdgeConv(nn.Module):
    """Summed convolution messages sum_src Gaunt(x_src, w_e,l Y_l(r_e)) -> [N, C, K] with :class:`GauntConv`.

    The edge weights depend on the degree but not on the channel, so on the sphere grid the sum over
    incoming edges is, per molecule and grid point, a dense matrix product
    ``M(u) = A(u) @ X(u)`` with ``A_ij(u) = filter_ij(u)`` [n, n] and ``X(u)`` [n, C]: no per-edge,
    per-channel tensor is formed (``graph.dense``; otherwise GauntConv's own edge-by-edge sum).
    """

    def __init__(self, lmax: int, channels: int) -> None:
        super().__init__()
        self.conv = GauntConv(lmax, lmax, lmax, channels)

    def forward(self, x: Tensor, geom: EdgeGeometry, weight: Tensor, edge_index: Tensor, graph: GraphIndex) -> Tensor:
        """x [N, C, K], weight [E, L+1] (edge MLP output per degree) -> sums over incoming edges [N, C, K]."""
        scale = (geom.dist / (1.0 + geom.dist)).unsqueeze(-1)  # [E, 1], the radial factor of geom.sh
        weight = (weight * scale).unsqueeze(1)  # [E, 1, L+1]
        if not graph.dense:
            return self.conv(x, geom.rel, weight, edge_index[0], edge_index[1], x.shape[0])
        filt = self.conv.edge_filter(geom.rel, weight)[:, 0]  # [E, P]
        a = graph.dense_edges(filt, edge_index).permute(0, 3, 1, 2)  # [G, P, n_dst, n_src]
        nodes = graph.dense_nodes(self.conv.node_to_grid(x).transpose(1, 2)).transpose(1, 2)  # [G, P, n, C]
        grid = graph.sparse_nodes((a @ nodes).permute(0, 2, 3, 1))  # [N, C, P]
        return self.conv.weight_out(grid @ self.conv.from_grid)

    def forward_dense(self, x: Tensor, geom: DenseGeometry, weight: Tensor) -> Tensor:
        """Dense layout: x [G, n, C, K], weight [G, n, n, L+1] (zero on non-edges) -> sums [G, n, C, K]."""
        g, n = x.shape[:2]
        if geom.sh is None:
            raise ValueError("the Gaunt convolution needs the spherical harmonics of the edge directions (geom.sh)")
        # geom.sh carries the radial factor dist / (1 + dist) that the reference applies to the weights
        a = self.conv.edge_filter_from_harmonics(geom.sh, weight).permute(0, 3, 1, 2)  # [G, P, n_dst, n_src]
        nodes = self.conv.node_to_grid(x.flatten(0, 1)).view(g, n, x.shape[2], -1).permute(0, 3, 1, 2)  # [G, P, n, C]
        grid = (a @ nodes).permute(0, 2, 3, 1)  # [G, n, C, P]
        return self.conv.weight_out(grid @ self.conv.from_grid)


class E3nnEdgeConv(nn.Module):
    """The same messages with e3nn, per edge: sum_src TP_uvu(x_src, w_e,l Y_l(r_e)) -> [N, C, K] (benchmark only)."""

    def __init__(self, lmax: int, channels: int) -> None:
        super().__init__()
        self.tp = E3nnChannelwiseProduct(lmax, channels, 1)
        self.register_buffer("degree", degree_of_component(lmax), persistent=False)

    def forward(self, x: Tensor, geom: EdgeGeometry, weight: Tensor, edge_index: Tensor, graph: GraphIndex) -> Tensor:
        """x [N, C, K], weight [E, L+1] -> sums over incoming edges [N, C, K] (``graph`` unused)."""
        src, dst = edge_index
        filt = geom.sh * weight[:, self.degree]  # [E, K]
        return segment_sum(self.tp(x[src], filt.unsqueeze(1)), dst, x.shape[0])


def edge_conv(kind: str, lmax: int, channels: int) -> nn.Module:
    """Convolution message sum of the requested ``kind`` ("gaunt" or "e3nn")."""
    if kind == "gaunt":
        return GauntEdgeConv(lmax, channels)
    if kind == "e3nn":
        return E3nnEdgeConv(lmax, channels)
    raise ValueError(f"tensor_product must be 'gaunt' or 'e3nn', got {kind!r}")


class IrrepsMessages(nn.Module):
    """Mean incoming message [N, C, K] on irreps features; see the module docstring.

    Edge-MLP weights, in order: filter C * (L+1), then (from the second layer on) value C,
    [cross C,] convolution L+1.
    """

    def __init__(
        self, layout: EquivariantLayout, vector_dim: int, has_v_in: bool, tensor_product: str, use_cross_product: bool
    ) -> None:
        super().__init__()
        self.layout, self.vector_dim, self.has_v_in = layout, vector_dim, has_v_in
        self.use_cross_product = use_cross_product and has_v_in
        degrees = layout.lmax + 1
        self.split = [vector_dim * degrees]
        if has_v_in:
            self.split += [vector_dim] * (1 + int(self.use_cross_product)) + [degrees]
        self.num_weights = sum(self.split)
        self.value = EquivariantLinear(layout, vector_dim, vector_dim) if has_v_in else None
        self.conv = edge_conv(tensor_product, layout.lmax, vector_dim) if has_v_in else None
        self.register_buffer("degree", degree_of_component(layout.lmax), persistent=False)

    def forward(self, w: Tensor, v: Tensor, geom: EdgeGeometry, edge_index: Tensor, graph: GraphIndex) -> Tensor:
        """w [E, num_weights], v [N, C, K] -> [N, C, K]."""
        if geom.sh is None:
            raise ValueError("irreps messages need the spherical harmonics of the edge directions (geom.sh)")
        parts = list(w.split(self.split, dim=-1))
        w_filter = parts.pop(0).unflatten(-1, (self.layout.lmax + 1, self.vector_dim))  # [E, L+1, C]
        total = filter_sum(w_filter, geom.sh, self.layout.blocks, edge_index, graph)  # [N, C, K]
        if self.value is None or self.conv is None:
            return incoming_mean(total, edge_index)
        value = self.value(v)  # [N, C, K]
        total = total + value_sum(parts.pop(0), value, edge_index, graph)
        if self.use_cross_product:
            a, b = self.layout.l1_block
            cross = cross_product_path(v[..., a:b], value_sum(parts.pop(0), v[..., a:b], edge_index, graph))
            total = torch.cat([total[..., :a], total[..., a:b] + cross, total[..., b:]], dim=-1)
        total = total + self.conv(value, geom, parts.pop(0), edge_index, graph)
        return incoming_mean(total, edge_index)

    def forward_dense(self, w: Tensor, v: Tensor, geom: DenseGeometry, graph: DenseGraph) -> Tensor:
        """Dense layout: w [G, n, n, num_weights] (zero on non-edges), v [G, n, C, K] -> mean message [G, n, C, K]."""
        if geom.sh is None:
            raise ValueError("irreps messages need the spherical harmonics of the edge directions (geom.sh)")
        parts = list(w.split(self.split, dim=-1))
        w_filter = parts.pop(0).unflatten(-1, (self.layout.lmax + 1, self.vector_dim))  # [G, n, n, L+1, C]
        total = dense_filter_sum(w_filter, geom.sh, self.layout.blocks)  # [G, n, C, K]
        if self.value is None or self.conv is None:
            return total / graph.in_degree.unsqueeze(-1)
        value = self.value(v.flatten(0, 1)).unflatten(0, v.shape[:2])  # [G, n, C, K]
        total = total + dense_value_sum(parts.pop(0), value)
        if self.use_cross_product:
            a, b = self.layout.l1_block
            cross = cross_product_path(v[..., a:b], dense_value_sum(parts.pop(0), v[..., a:b]))
            total = torch.cat([total[..., :a], total[..., a:b] + cross, total[..., b:]], dim=-1)
        total = total + self.conv.forward_dense(value, geom, parts.pop(0))
        return total / graph.in_degree.unsqueeze(-1)


class SelfInteraction(nn.Module):
    """Node update term TP(W_a v, W_b v): [N, C, K] -> [N, C, K] (Gaunt or e3nn "uuu")."""

    def __init__(self, layout: EquivariantLayout, vector_dim: int, tensor_product: str) -> None:
        super().__init__()
        self.left = EquivariantLinear(layout, vector_dim, vector_dim)
        self.right = EquivariantLinear(layout, vector_dim, vector_dim)
        self.product = channelwise_product(tensor_product, layout.lmax, vector_dim)

    def forward(self, v: Tensor) -> Tensor:
        return self.product(self.left(v), self.right(v))
