"""Per-molecule normalisation layers of EQGAT-diff.

Statistics are pooled over all atoms of one molecule (``batch`` [N] graph index),
so normalisation never mixes molecules of a batch and is permutation-equivariant.
Equivariant features are scaled by an invariant (their per-molecule RMS norm).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from molgen.nn.dense import DenseGraph
from molgen.nn.scatter import segment_mean


class MoleculeLayerNorm(nn.Module):
    """LayerNorm of scalars s [N, S] and equivariant features v [N, C, D] over each molecule.

    Scalars are centred and divided by their standard deviation over (atoms, channels) of the
    molecule, then an affine map is applied; v is divided by the root of its mean squared norm.
    """

    def __init__(self, scalar_dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(scalar_dim))
        self.bias = nn.Parameter(torch.zeros(scalar_dim))

    def forward(self, s: Tensor, v: Tensor, batch: Tensor, num_graphs: int) -> tuple[Tensor, Tensor]:
        mean = segment_mean(s.mean(dim=-1, keepdim=True), batch, num_graphs)  # [G, 1]
        s = s - mean[batch]
        var = segment_mean((s * s).mean(dim=-1, keepdim=True), batch, num_graphs)  # [G, 1]
        s = s / torch.sqrt(var + self.eps)[batch] * self.weight + self.bias
        sq_norm = (v * v).sum(dim=-1).mean(dim=-1, keepdim=True)  # [N, 1]
        v_scale = torch.sqrt(segment_mean(sq_norm, batch, num_graphs) + self.eps)  # [G, 1]
        v = v / v_scale[batch].unsqueeze(-1)
        return s, v

    def forward_dense(self, s: Tensor, v: Tensor, graph: DenseGraph) -> tuple[Tensor, Tensor]:
        """Dense layout: s [G, n, S], v [G, n, C, D]; statistics over the real atoms of each molecule."""
        s = s - graph.graph_mean(s.mean(dim=-1, keepdim=True))  # [G, n, S]
        var = graph.graph_mean((s * s).mean(dim=-1, keepdim=True))  # [G, 1, 1]
        s = s / torch.sqrt(var + self.eps) * self.weight + self.bias
        sq_norm = (v * v).sum(dim=-1).mean(dim=-1, keepdim=True)  # [G, n, 1]
        v = v / torch.sqrt(graph.graph_mean(sq_norm) + self.eps).unsqueeze(-1)
        return s, v


class PositionUpdateNorm(nn.Module):
    """Scale a coordinate update dp [N, 3] by a learnt factor over its mean norm in the molecule."""

    def __init__(self, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(1))

    def forward(self, dp: Tensor, batch: Tensor, num_graphs: int) -> Tensor:
        norm = torch.linalg.vector_norm(dp, dim=-1, keepdim=True)  # [N, 1]
        mean_norm = segment_mean(norm, batch, num_graphs)  # [G, 1]
        return self.weight * dp / (mean_norm[batch] + self.eps)

    def forward_dense(self, dp: Tensor, graph: DenseGraph) -> Tensor:
        """Dense layout: dp [G, n, 3] (zero on padded rows) -> [G, n, 3]."""
        mean_norm = graph.graph_mean(torch.linalg.vector_norm(dp, dim=-1, keepdim=True))  # [G, 1, 1]
        return self.weight * dp / (mean_norm + self.eps)
