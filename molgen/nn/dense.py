"""Dense padded layout of a batch of fully connected molecules: the denoiser's fast path.

Every molecule of a batch is padded to ``n = max_g n_g`` atoms, so node features become
``[G, n, ...]`` and the fully connected edges ``[G, n, n, ...]`` indexed ``[g, dst i, src j]``
(messages flow j -> i and are summed over the last atom axis). Sums over incoming edges are
then reductions or batched matrix products over one axis, with no gather, scatter or sort.

Masks: ``node`` [G, n] marks real atoms; ``pair`` [G, n, n] marks real edges (both atoms real,
i != j). Padded rows are kept finite and multiplied by the masks wherever they could reach a
real atom, so results equal those of the sparse reference (:mod:`molgen.nn.aggregate`) to
floating-point rounding (tested in float64 in tests/nn/test_dense.py).

Edge order of the sparse world: ``MolBatch.fully_connected_edges`` lists, per molecule, all
(src, dst) pairs src-major; :meth:`DenseGraph.edges_to_sparse` returns edge values in that order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from molgen.nn.geometry import polynomial_envelope


@dataclass
class DenseGraph:
    """Padding layout of G molecules.

    Attributes:
        node: [G, n] bool, real atoms; pair: [G, n, n] bool, real edges (i != j);
        counts: [G] atoms per molecule; batch: [N] graph of each atom; local: [N] index within it.
        in_degree: [G, 1, 1] float, incoming edges per atom (n_g - 1, at least 1) for message means.
    """

    node: Tensor
    pair: Tensor
    counts: Tensor
    batch: Tensor
    local: Tensor
    in_degree: Tensor

    @classmethod
    def from_ptr(cls, ptr: Tensor, batch: Tensor, dtype: torch.dtype) -> DenseGraph:
        """Layout from the ``ptr`` [G + 1] offsets and ``batch`` [N] graph index of a MolBatch."""
        counts = ptr[1:] - ptr[:-1]  # [G]
        n = int(counts.max()) if counts.numel() else 0
        arange = torch.arange(n, device=ptr.device)
        node = arange[None, :] < counts[:, None]  # [G, n]
        pair = node[:, :, None] & node[:, None, :] & (arange[:, None] != arange[None, :])  # [G, n, n]
        local = torch.arange(batch.shape[0], device=batch.device) - ptr[batch]
        in_degree = (counts - 1).clamp(min=1).to(dtype).view(-1, 1, 1)
        return cls(node=node, pair=pair, counts=counts, batch=batch, local=local, in_degree=in_degree)

    @property
    def num_graphs(self) -> int:
        return int(self.node.shape[0])

    @property
    def max_atoms(self) -> int:
        return int(self.node.shape[1])

    def nodes(self, x: Tensor) -> Tensor:
        """[N, ...] -> [G, n, ...], zero padded."""
        out = x.new_zeros(self.num_graphs, self.max_atoms, *x.shape[1:])
        out[self.node] = x
        return out

    def flat(self, x: Tensor) -> Tensor:
        """Inverse of :meth:`nodes`: [G, n, ...] -> [N, ...]."""
        return x[self.node]

    def edges_to_sparse(self, x: Tensor) -> Tensor:
        """[G, n (dst), n (src), ...] -> [E, ...] in ``MolBatch.fully_connected_edges`` order (src-major)."""
        return x.transpose(1, 2)[self.pair]

    def graph_mean(self, x: Tensor) -> Tensor:
        """Mean over the real atoms of each molecule: [G, n, ...] -> [G, 1, ...] (padded rows ignored)."""
        count = self.counts.clamp(min=1).to(x.dtype).view(-1, *([1] * (x.dim() - 1)))
        return self.mask_nodes(x).sum(dim=1, keepdim=True) / count

    def bond_types(self, bond_index: Tensor, bond_types: Tensor) -> Tensor:
        """[G, n, n] long bond class of every pair (0 = none) from ``bond_index`` [2, B], ``bond_types`` [B]."""
        out = torch.zeros(self.node.shape[0], self.max_atoms, self.max_atoms, dtype=torch.long,
                          device=self.node.device)
        if bond_types.numel():
            i, j = bond_index
            g = self.batch[i]
            out[g, self.local[i], self.local[j]] = bond_types
            out[g, self.local[j], self.local[i]] = bond_types
        return out

    def mask_nodes(self, x: Tensor) -> Tensor:
        """Zero the padded rows of [G, n, ...]."""
        return x * self.node.view(*self.node.shape, *([1] * (x.dim() - 2))).to(x.dtype)

    def mask_pairs(self, x: Tensor) -> Tensor:
        """Zero the entries of [G, n, n, ...] that are not real edges."""
        return x * self.pair.view(*self.pair.shape, *([1] * (x.dim() - 3))).to(x.dtype)


@dataclass
class DenseGeometry:
    """Geometry of every (dst i, src j) pair, the dense counterpart of :class:`molgen.nn.geometry.EdgeGeometry`.

    dist [G, n, n] (clamped away from 0), dot [G, n, n], rel [G, n, n, 3] = (p_i - p_j) / (1 + dist),
    sh [G, n, n, D] or None, envelope [G, n, n] (zero on non-edges, so it also masks).
    """

    dist: Tensor
    dot: Tensor
    rel: Tensor
    sh: Tensor | None
    envelope: Tensor


def dense_geometry(pos: Tensor, graph: DenseGraph, cutoff: float | None,
                   sh_fn: Callable[[Tensor], Tensor] | None) -> DenseGeometry:
    """Pair geometry of positions ``pos`` [G, n, 3]; the same formulas as :func:`molgen.nn.geometry.edge_geometry`."""
    diff = pos[:, :, None, :] - pos[:, None, :, :]  # [G, n, n, 3] p_dst - p_src
    dist = torch.sqrt(diff.pow(2).sum(dim=-1).clamp(min=1e-6))  # [G, n, n]
    dot = pos @ pos.transpose(1, 2)  # [G, n, n]
    rel = diff / (1.0 + dist.unsqueeze(-1))
    sh = None
    if sh_fn is not None:
        unit = diff / dist.unsqueeze(-1)
        sh = sh_fn(unit.reshape(-1, 3)).unflatten(0, dist.shape) * (dist / (1.0 + dist)).unsqueeze(-1)
    mask = graph.pair.to(pos.dtype)
    envelope = mask if cutoff is None else polynomial_envelope(dist, cutoff) * mask
    return DenseGeometry(dist=dist, dot=dot, rel=rel, sh=sh, envelope=envelope)


def masked_softmax(logits: Tensor, mask: Tensor) -> Tensor:
    """Softmax of ``logits`` [G, n, n, C] over the source axis (2) restricted to ``mask`` [G, n, n].

    Equal to :func:`molgen.nn.scatter.segment_softmax` over the incoming edges of each atom; rows
    without an edge give 0. One native softmax (forward and backward are one kernel each): non-edges
    are filled with the dtype's lowest finite value, so exp gives exactly 0 there whenever the row has
    an edge, and an edgeless row (uniform over its fill) is zeroed by the mask, its gradient with it.
    """
    m = mask.unsqueeze(-1)  # [G, n, n, 1]
    filled = logits.masked_fill(~m, torch.finfo(logits.dtype).min)
    return torch.softmax(filled, dim=2) * m.to(logits.dtype)


def dense_value_sum(weight: Tensor, x: Tensor) -> Tensor:
    """sum_j weight_ij[c] * x_j[c, :]: weight [G, n, n, C] (zero on non-edges), x [G, n, C, D] -> [G, n, C, D]."""
    return torch.einsum("gijc,gjcd->gicd", weight, x)


def dense_filter_sum(weight: Tensor, basis: Tensor, blocks: list[tuple[int, int]]) -> Tensor:
    """sum_j weight_ij[b(k), c] * basis_ij[k]: weight [G, n, n, B, C], basis [G, n, n, D] -> [G, n, C, D].

    One batched product per atom ``[B * C, n] @ [n, D]``; the block-diagonal part (b(k) = b) is kept.
    """
    g, n, _, num_blocks, channels = weight.shape
    w = weight.permute(0, 1, 3, 4, 2).reshape(g * n, num_blocks * channels, n)  # [G n, B C, n_src]
    full = torch.bmm(w, basis.reshape(g * n, n, -1)).view(g, n, num_blocks, channels, -1)  # [G, n, B, C, D]
    return torch.cat([full[:, :, b, :, lo:hi] for b, (lo, hi) in enumerate(blocks)], dim=-1)
