"""Gaunt convolution for message passing: node features times an edge-direction filter.

For an edge e = (src -> dst) with direction ``r_e`` the filter is the spherical function
``phi_ec(u) = sum_l w_ecl sum_m Y_lm(r_e) Y_lm(u) = sum_l w_ecl (2l + 1) P_l(r_e . u)``
(addition theorem, component normalisation), zonal about ``r_e``. The message is the Gaunt product
``m_e = c * Gaunt(a * x_src, filter_e)``, i.e. exactly
``GauntTensorProduct(x[src], w[:, :, l] * Y_l(r_e))`` with the same weights.

Cost: node features go to the grid once per node ``[N, C, P]``; per edge there is only the
Legendre series of ``r_e . u_p`` (independent of C), the filter ``[E, C, P]`` and a pointwise
product. With ``dst`` given the messages are summed on the grid and projected once per node, so no
per-edge transform to or from the harmonics is ever done.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from molgen.nn.gaunt import DegreeWeights, ExactBuffers, check_irreps
from molgen.nn.gaunt_grid import grid_pair
from molgen.nn.so3 import degree_of_component, irreps_string, legendre_series, sphere_grid, spherical_harmonics


class GauntConv(ExactBuffers):
    """Messages ``[E, C, (Lout+1)^2]`` (or their per-node sums) from node features and edge filters.

    Args:
        lmax_in: degree of node features x.
        lmax_filter: degree of the edge filter (number of radial weights per channel is lmax_filter + 1).
        lmax_out: degree of the messages.
        channels: C.
        weighted: learnable per-degree per-channel weights on x and on the output.
    """

    def __init__(self, lmax_in: int, lmax_filter: int, lmax_out: int, channels: int, weighted: bool = True):
        super().__init__()
        self.lmax_in, self.lmax_filter, self.lmax_out, self.channels = lmax_in, lmax_filter, lmax_out, channels
        self.irreps_in = irreps_string(channels, lmax_in)
        self.irreps_filter = irreps_string(channels, lmax_filter)
        self.irreps_out = irreps_string(channels, lmax_out)
        self.weight_in = DegreeWeights(channels, lmax_in, weighted)
        self.weight_out = DegreeWeights(channels, lmax_out, weighted)
        degree = lmax_in + lmax_filter + lmax_out
        points, _ = sphere_grid(degree)
        self.register_exact("to_grid", grid_pair(degree, lmax_in)[0])  # [K_in, P]
        self.register_exact("from_grid", grid_pair(degree, lmax_out)[1])  # [P, K_out]
        self.register_exact("points", points)  # [P, 3]
        self.register_exact("degree_factor", 2.0 * np.arange(lmax_filter + 1) + 1)  # [Lf+1]
        harmonics = spherical_harmonics(lmax_filter, torch.tensor(points, dtype=torch.float64))  # [P, Kf]
        self.register_exact("grid_harmonics", harmonics.T.contiguous().numpy())  # [Kf, P]
        self.register_buffer("filter_degree", degree_of_component(lmax_filter), persistent=False)  # [Kf]

    def node_to_grid(self, x: Tensor) -> Tensor:
        """[N, C, (Lin+1)^2] -> [N, C, P]: weighted node features on the grid (reusable across calls)."""
        check_irreps("x", x, self.channels, self.lmax_in)
        return self.weight_in(x) @ self.to_grid

    def edge_filter(self, edge_vec: Tensor, edge_weights: Tensor) -> Tensor:
        """[E, 3], [E, C|1, Lf+1] -> [E, C|1, P]: the filter ``sum_l w_l Y_l(r_e) . Y_l(u_p)`` on the grid.

        A zero edge vector keeps only its l = 0 term (as ``spherical_harmonics`` of a zero vector).
        """
        if edge_weights.shape[-1] != self.lmax_filter + 1 or edge_weights.shape[0] != edge_vec.shape[0]:
            raise ValueError(
                f"edge_weights must be [E, C, {self.lmax_filter + 1}] with E = {edge_vec.shape[0]}, "
                f"got {tuple(edge_weights.shape)}"
            )
        norm = edge_vec.norm(dim=-1, keepdim=True)  # [E, 1]
        unit = edge_vec / norm.clamp_min(torch.finfo(edge_vec.dtype).tiny)
        legendre = legendre_series(self.lmax_filter, unit @ self.points.T)  # [E, P, Lf+1]
        factor = self.degree_factor * torch.ones_like(legendre[:, :1, :])  # [E, 1, Lf+1]
        factor = torch.cat([factor[..., :1], factor[..., 1:] * (norm[:, :, None] > 0)], dim=-1)
        return (edge_weights * factor) @ legendre.transpose(1, 2)  # [E, C|1, P]

    def edge_filter_from_harmonics(self, sh: Tensor, edge_weights: Tensor) -> Tensor:
        """[..., Kf] harmonics of the edge directions (times any radial factor), [..., Lf+1] weights per degree
        (shared by the channels) -> [..., P]: the filter of :meth:`edge_filter` for any leading shape.

        By the addition theorem ``sum_m Y_lm(r) Y_lm(u_p) = (2l + 1) P_l(r . u_p)`` the filter is one
        matrix product ``(sh * w[degree]) @ Y(u)`` [Kf, P]; a zero vector (sh = (1, 0, ...)) keeps l = 0.
        """
        return (sh * edge_weights[..., self.filter_degree]) @ self.grid_harmonics  # [..., P]

    def forward(
        self,
        x: Tensor,
        edge_vec: Tensor,
        edge_weights: Tensor,
        src: Tensor,
        dst: Tensor | None = None,
        num_nodes: int | None = None,
    ) -> Tensor:
        """Gaunt messages from ``x[src]`` along ``edge_vec``.

        Args:
            x: [N, C, (Lin+1)^2] node features.
            edge_vec: [E, 3] edge vectors (e.g. ``pos[dst] - pos[src]``; only the direction is used).
            edge_weights: [E, C or 1, Lf+1] per-degree filter weights (radial MLP output, attention...).
            src: [E] long, node whose features are sent along each edge.
            dst: [E] long, optional; when given, messages are summed per destination node.
            num_nodes: number of output nodes with ``dst`` (default ``x.shape[0]``).

        Returns:
            [E, C, (Lout+1)^2] messages, or [num_nodes, C, (Lout+1)^2] sums over incoming edges.
        """
        grid = self.node_to_grid(x)[src] * self.edge_filter(edge_vec, edge_weights)  # [E, C, P]
        if dst is not None:
            size = x.shape[0] if num_nodes is None else num_nodes
            grid = grid.new_zeros(size, *grid.shape[1:]).index_add_(0, dst, grid)  # [N, C, P]
        return self.weight_out(grid @ self.from_grid)
