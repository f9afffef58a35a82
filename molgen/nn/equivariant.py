"""Equivariant node features of the denoiser and the channel-mixing blocks acting on them.

Layout of the equivariant features v [N, C, D] (C channels, D components):

* ``lmax == 1`` (the EQGAT-diff baseline): D = 3, Cartesian vectors (x, y, z).
* ``lmax >= 2``: D = (lmax + 1)^2, real spherical-harmonic irreps l = 0..lmax in e3nn's order
  (component index l^2 + m + l), the layout of :mod:`molgen.nn.gaunt`; its l = 1 block is the
  Cartesian (x, y, z) up to a constant factor (see :meth:`EquivariantLayout.cartesian_l1`).

Mixing channels with one weight matrix per degree commutes with rotations, and so does scaling
a degree block by an invariant; these are the only operations applied here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class EquivariantLayout:
    """Degree blocks of the component axis D of v [N, C, D]."""

    lmax: int

    def __post_init__(self) -> None:
        if self.lmax < 1:
            raise ValueError(f"lmax must be >= 1, got {self.lmax}")

    @property
    def cartesian(self) -> bool:
        return self.lmax == 1

    @property
    def dim(self) -> int:
        return 3 if self.cartesian else (self.lmax + 1) ** 2

    @property
    def blocks(self) -> list[tuple[int, int]]:
        """(start, stop) of each degree block along D."""
        if self.cartesian:
            return [(0, 3)]
        return [(l * l, (l + 1) ** 2) for l in range(self.lmax + 1)]

    @property
    def l1_block(self) -> tuple[int, int]:
        return (0, 3) if self.cartesian else (1, 4)

    def degree_sq_norms(self, v: Tensor) -> Tensor:
        """Squared norm of every (channel, degree) block: [N, C, D] -> [N, C * num_blocks]."""
        norms = [v[..., a:b].pow(2).sum(dim=-1) for a, b in self.blocks]  # each [N, C]
        return torch.cat(norms, dim=-1)

    def scale_blocks(self, v: Tensor, gate: Tensor) -> Tensor:
        """Multiply block k of channel c by ``gate[:, k * C + c]``: v [N, C, D], gate [N, C * blocks]."""
        channels = v.shape[1]
        parts = [v[..., a:b] * gate[:, k * channels:(k + 1) * channels, None] for k, (a, b) in enumerate(self.blocks)]
        return torch.cat(parts, dim=-1)

    def component_block(self) -> Tensor:
        """[D] long: the block (degree) of every component."""
        return torch.repeat_interleave(torch.arange(len(self.blocks)), torch.tensor([b - a for a, b in self.blocks]))

    def cartesian_l1(self, v: Tensor) -> Tensor:
        """The l = 1 block [..., C, 3], proportional to Cartesian (x, y, z) vectors."""
        a, b = self.l1_block
        return v[..., a:b]


class EquivariantLinear(nn.Module):
    """Channel mixing v [..., C_in, D] -> [..., C_out, D], one bias-free weight per degree block.

    ``out[..., o, d] = sum_c v[..., c, d] W[block(d), c, o]``, computed as one batched matrix product
    over the D components (each component's [rows, C_in] @ [C_in, C_out]).
    """

    def __init__(self, layout: EquivariantLayout, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.layout = layout
        num_blocks = len(layout.blocks)
        bound = 1.0 / math.sqrt(in_channels)
        self.weight = nn.Parameter(torch.empty(num_blocks, in_channels, out_channels).uniform_(-bound, bound))
        self.register_buffer("component_block", layout.component_block(), persistent=False)

    def forward(self, v: Tensor) -> Tensor:
        lead, (channels, dim) = v.shape[:-2], v.shape[-2:]
        rows = v.reshape(-1, channels, dim).permute(2, 0, 1)  # [D, R, C_in]
        weight = self.weight[0].expand(dim, -1, -1) if len(self.layout.blocks) == 1 else \
            self.weight[self.component_block]  # [D, C_in, C_out]
        return torch.bmm(rows, weight).permute(1, 2, 0).reshape(*lead, -1, dim)  # [..., C_out, D]


class GatedEquivariantUpdate(nn.Module):
    """EQGAT-diff's gated node update of (s [N, S], v [N, C, D]).

    The squared norms of a linear map of v (per channel and degree) join the scalars in an MLP
    that returns a scalar update and one gate per (channel, degree) for a second linear map of v.
    """

    def __init__(self, layout: EquivariantLayout, scalar_dim: int, vector_dim: int, use_mlp: bool,
                 eps: float = 1e-6) -> None:
        super().__init__()
        self.layout = layout
        self.vector_dim = vector_dim
        self.eps = eps
        num_gates = vector_dim * len(layout.blocks)
        self.num_gates = num_gates
        self.register_buffer("component_block", layout.component_block(), persistent=False)
        self.register_buffer("block_sum", nn.functional.one_hot(layout.component_block()).to(torch.get_default_dtype()),
                             persistent=False)  # [D, blocks]
        self.norm_proj = EquivariantLinear(layout, vector_dim, vector_dim)
        self.value_proj = EquivariantLinear(layout, vector_dim, vector_dim)
        in_dim = scalar_dim + num_gates
        if use_mlp:
            self.scalar_mlp = nn.Sequential(nn.Linear(in_dim, scalar_dim), nn.SiLU(),
                                            nn.Linear(scalar_dim, num_gates + scalar_dim))
            self.out_proj: nn.Module = EquivariantLinear(layout, vector_dim, vector_dim)
        else:
            self.scalar_mlp = nn.Linear(in_dim, num_gates + scalar_dim)
            self.out_proj = nn.Identity()

    def forward(self, s: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Return the updates (ds [N, S], dv [N, C, D])."""
        w = self.norm_proj(v)
        sq = ((w * w) @ self.block_sum.to(w.dtype)).transpose(-1, -2).flatten(-2).clamp(min=self.eps)  # [N, blocks * C]
        out = self.scalar_mlp(torch.cat([s, sq], dim=-1))
        gate, ds = out.split([self.num_gates, out.shape[-1] - self.num_gates], dim=-1)
        gate = gate.unflatten(-1, (-1, self.vector_dim)).transpose(-1, -2)[..., self.component_block]  # [N, C, D]
        dv = self.out_proj(self.value_proj(v) * gate)
        return ds, dv
