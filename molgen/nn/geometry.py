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

