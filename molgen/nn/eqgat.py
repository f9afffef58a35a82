"""EQGAT-diff message passing layer with edge features and in-layer coordinate updates.

One layer (Le et al., ICLR 2024, "EQGATGlobalEdgeConvFinal" design), on a molecule graph with
directed edges ``(src, dst)``:

1. an edge MLP reads [s_dst, s_src, dist, p_dst.p_src, e, |p_dst|, |p_src|] and returns channel-wise
   attention logits, per-channel weights of the equivariant messages, a coordinate gate and an
   edge-feature update;
2. scalar messages: softmax over the incoming edges of each atom (per channel) times a linear map of
   s_src, summed; equivariant messages (:mod:`molgen.nn.messages`), averaged;
3. positions move by the normalised mean of gate * (p_dst - p_src) / (1 + dist);
4. edge features e <- W_post silu(de + W_pre e); then a gated equivariant node update
   (for lmax >= 2 plus a tensor-product self-interaction, :class:`SelfInteraction`).

Shapes: s [N, S], v [N, C, D], pos [N, 3], e [E, F], edge_index [2, E].
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from molgen.nn.aggregate import GraphIndex
from molgen.nn.dense import DenseGeometry, DenseGraph, masked_softmax
from molgen.nn.equivariant import EquivariantLayout, GatedEquivariantUpdate
from molgen.nn.gaunt_messages import SelfInteraction
from molgen.nn.geometry import EdgeGeometry
from molgen.nn.messages import build_messages
from molgen.nn.norm import PositionUpdateNorm
from molgen.nn.scatter import segment_mean, segment_softmax, segment_sum


class EQGATLayer(nn.Module):
    """One EQGAT-diff layer; see the module docstring.

    Args:
        layout: layout of v (lmax = 1: Cartesian vectors, lmax >= 2: irreps for Gaunt messages).
        has_v_in: False for the first layer (v is still zero; only the geometric filter message).
        use_mlp_update: two-layer MLP in the node update (EQGAT-diff uses one layer in the last block).
        tensor_product: "gaunt" or "e3nn" (lmax >= 2 only: which product builds the messages).
        use_cross_product: add the antisymmetric l = 1 interaction v_dst x v_src.
    """

    def __init__(self, layout: EquivariantLayout, scalar_dim: int, vector_dim: int, edge_dim: int,
                 has_v_in: bool, use_mlp_update: bool, tensor_product: str = "gaunt",
                 use_cross_product: bool = False) -> None:
        super().__init__()
        self.scalar_dim, self.vector_dim, self.edge_dim = scalar_dim, vector_dim, edge_dim
        self.messages = build_messages(layout, vector_dim, has_v_in, tensor_product, use_cross_product)
        self.num_msg_weights = self.messages.num_weights
        self.edge_pre = nn.Linear(edge_dim, edge_dim)
        self.edge_mlp = nn.Sequential(
            nn.Linear(2 * scalar_dim + edge_dim + 4, scalar_dim), nn.SiLU(),
            nn.Linear(scalar_dim, scalar_dim + self.num_msg_weights + 1 + edge_dim),
        )
        self.edge_post = nn.Linear(edge_dim, edge_dim)
        self.scalar_value = nn.Linear(scalar_dim, scalar_dim)
        self.pos_norm = PositionUpdateNorm()
        self.update = GatedEquivariantUpdate(layout, scalar_dim, vector_dim, use_mlp=use_mlp_update)
        self.self_interaction = None if layout.cartesian else SelfInteraction(layout, vector_dim, tensor_product)

    def forward(self, s: Tensor, v: Tensor, pos: Tensor, e: Tensor, edge_index: Tensor, geom: EdgeGeometry,
                graph: GraphIndex, mobile: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Return updated (s [N, S], v [N, C, D], pos [N, 3], e [E, F]).

        ``mobile`` [N] (1 = moves, 0 = fixed context such as pocket atoms) masks the coordinate update.
        """
        src, dst = edge_index
        n = s.shape[0]
        e = self.edge_pre(e)  # [E, F]
        pos_len = torch.sqrt(pos.pow(2).sum(dim=-1, keepdim=True).clamp(min=1e-6))  # [N, 1]
        edge_in = torch.cat([s[dst], s[src], geom.dist.unsqueeze(-1), geom.dot.unsqueeze(-1), e,
                             pos_len[dst], pos_len[src]], dim=-1)  # [E, 2S + F + 4]
        logits, msg_w, gate, de = self.edge_mlp(edge_in).split(
            [self.scalar_dim, self.num_msg_weights, 1, self.edge_dim], dim=-1)
        env = geom.envelope.unsqueeze(-1)  # [E, 1]
        attention = segment_softmax(logits, dst, n) * env  # [E, S]
        ds = segment_sum(attention * self.scalar_value(s)[src], dst, n)  # [N, S]
        dv = self.messages(msg_w * env, v, geom, edge_index, graph)  # [N, C, D] mean over incoming edges
        dpos = segment_mean(gate * env * geom.rel, dst, n)  # [N, 3]
        if mobile is not None:
            dpos = dpos * mobile.unsqueeze(-1)
        s, v = s + ds, v + dv
        pos = pos + self.pos_norm(dpos, graph.batch, graph.num_graphs)
        e = self.edge_post(F.silu(de + e))
        ds, dv = self._node_update(s, v)
        return s + ds, v + dv, pos, e

    def _node_update(self, s: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Gated update (+ self-interaction) of the atoms: s [..., S], v [..., C, D] with any leading dims."""
        lead = s.shape[:-1]
        s, v = s.reshape(-1, s.shape[-1]), v.reshape(-1, *v.shape[-2:])
        ds, dv = self.update(s, v)
        if self.self_interaction is not None:
            dv = dv + self.self_interaction(v)
        return ds.reshape(*lead, -1), dv.reshape(*lead, *dv.shape[-2:])

    def forward_dense(self, s: Tensor, v: Tensor, pos: Tensor, e: Tensor, geom: DenseGeometry,
                      graph: DenseGraph, compiled: bool = False) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """The same layer on the dense layout (:mod:`molgen.nn.dense`): s [G, n, S], v [G, n, C, D],
        pos [G, n, 3], e [G, n, n, F] -> updated (s, v, pos, e); padded rows stay finite, pos padded rows 0.

        The edge MLP's first linear map is applied to its input blocks separately (atoms once per atom,
        not once per edge): the same affine map, regrouped. With ``compiled`` the edge stage (every
        [G, n, n, .] operation but the messages) runs as one ``torch.compile`` graph, so its elementwise
        chains (softmax, gates, masks, SiLU) fuse into a few loops: the same maths, fewer passes over memory.
        """
        stage = compiled_pair_stage() if compiled else pair_stage
        ds, msg_w, dpos, e = stage(self, s, pos, e, geom.dist, geom.dot, geom.envelope, geom.rel, graph.pair,
                                   graph.in_degree)
        dv = self.messages.forward_dense(msg_w, v, geom, graph)  # [G, n, C, D]
        s, v = s + ds, v + dv
        pos = pos + self.pos_norm.forward_dense(dpos, graph)
        ds, dv = self._node_update(s, v)
        return s + ds, v + dv, pos, e

    def _edge_hidden(self, s: Tensor, pos_len: Tensor, dist: Tensor, dot: Tensor, e: Tensor) -> Tensor:
        """First linear map of the edge MLP on [s_dst, s_src, dist, dot, e, |p_dst|, |p_src|], by blocks."""
        first: nn.Linear = self.edge_mlp[0]
        w, k = first.weight, self.scalar_dim  # w [S, 2S + F + 4]
        f = self.edge_dim
        w_dst, w_src, w_dist, w_dot = w[:, :k], w[:, k:2 * k], w[:, 2 * k], w[:, 2 * k + 1]
        w_e, w_len_dst, w_len_src = w[:, 2 * k + 2:2 * k + 2 + f], w[:, 2 * k + 2 + f], w[:, 2 * k + 3 + f]
        node_dst = s @ w_dst.T + pos_len * w_len_dst + first.bias  # [G, n, S]
        node_src = s @ w_src.T + pos_len * w_len_src  # [G, n, S]
        pair = dist.unsqueeze(-1) * w_dist + dot.unsqueeze(-1) * w_dot + e @ w_e.T  # [G, n, n, S]
        return pair + node_dst.unsqueeze(2) + node_src.unsqueeze(1)


def pair_stage(layer: EQGATLayer, s: Tensor, pos: Tensor, e: Tensor, dist: Tensor, dot: Tensor, envelope: Tensor,
               rel: Tensor, pair: Tensor, in_degree: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Edge stage of :meth:`EQGATLayer.forward_dense`: everything on [G, n, n, .] except the messages.

    s [G, n, S], pos [G, n, 3], e [G, n, n, F]; dist, dot, envelope [G, n, n], rel [G, n, n, 3], pair [G, n, n]
    bool, in_degree [G, 1, 1] -> (ds [G, n, S] attention-weighted scalar messages, msg_w [G, n, n, W]
    enveloped message weights, dpos [G, n, 3] mean coordinate message, e [G, n, n, F] updated edges).
    """
    e = layer.edge_pre(e)  # [G, n, n, F]
    pos_len = torch.sqrt(pos.pow(2).sum(dim=-1, keepdim=True).clamp(min=1e-6))  # [G, n, 1]
    hidden = layer._edge_hidden(s, pos_len, dist, dot, e)  # [G, n, n, S]
    logits, msg_w, gate, de = split_linear(layer.edge_mlp[2], layer.edge_mlp[1](hidden),
                                           [layer.scalar_dim, layer.num_msg_weights, 1, layer.edge_dim])
    env = envelope.unsqueeze(-1)  # [G, n, n, 1], zero on non-edges
    attention = masked_softmax(logits, pair) * env  # [G, n, n, S]
    ds = (attention * layer.scalar_value(s).unsqueeze(1)).sum(dim=2)  # [G, n, S]
    dpos = (gate * env * rel).sum(dim=2) / in_degree  # [G, n, 3]
    return ds, msg_w * env, dpos, layer.edge_post(F.silu(de + e))


def split_linear(linear: nn.Linear, x: Tensor, sizes: list[int]) -> list[Tensor]:
    """``linear(x).split(sizes, dim=-1)`` as one product per block of output rows: the same numbers, but
    every block is its own contiguous tensor (elementwise work on a strided slice of a [G, n, n, 124] output,
    and the concatenation its split costs in backward, were a tenth of a dense training step)."""
    out, start = [], 0
    for size in sizes:
        rows = slice(start, start + size)
        out.append(F.linear(x, linear.weight[rows], None if linear.bias is None else linear.bias[rows]))
        start += size
    return out


@functools.cache
def compiled_pair_stage() -> Callable[..., tuple[Tensor, Tensor, Tensor, Tensor]]:
    """:func:`pair_stage` as one ``torch.compile`` graph with symbolic sizes (built on first use, so importing
    molgen does not load the compiler; it compiles at its first call per grad mode). Equal to the eager stage
    in float64 (tests/nn/test_compiled.py)."""
    return torch.compile(pair_stage, dynamic=True)
