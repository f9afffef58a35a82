"""The weighted Gaunt product ``c = wc * G(wa * a, wb * b)`` with the weights applied inside the chunks.

Per-degree weights are cheap in flops but each ``x * w`` outside the product is one more pass over
[R, C, K] in memory, and its backward two more; at L = 4 they cost ~30% of the forward. Here the
scaling happens on the chunk already in cache, and the weight gradients are accumulated chunk by
chunk. First-order backward is fused; with ``create_graph`` the backward is written with
:class:`molgen.nn.gaunt_grid.GridProduct` and plain torch ops, so higher derivatives exist.
"""

from __future__ import annotations

import torch
from torch import Tensor

from molgen.nn.gaunt_grid import GridProduct, chunk_rows


def _forward(
    a: Tensor, b: Tensor, wa: Tensor, wb: Tensor, wc: Tensor, mats: tuple[Tensor, ...]
) -> tuple[Tensor, Tensor]:
    """-> (weighted output [R, C, Kc], unweighted product [R, C, Kc])."""
    to_a, to_b, _, _, _, from_c = mats
    rows, channels = a.shape[0], a.shape[1]
    raw = a.new_empty(rows, channels, from_c.shape[1])
    out = torch.empty_like(raw)
    step = chunk_rows(rows, channels, to_a.shape[1], a.device)
    for start in range(0, rows, step):
        stop = start + step
        grid = (a[start:stop] * wa) @ to_a  # [r, C, P]
        grid.mul_((b[start:stop] * wb) @ to_b)
        torch.matmul(grid, from_c, out=raw[start:stop])
        torch.mul(raw[start:stop], wc, out=out[start:stop])
    return out, raw


def _fused_backward(
    g: Tensor, a: Tensor, b: Tensor, weights: tuple[Tensor, ...], raw: Tensor, mats: tuple[Tensor, ...]
):
    """First-order gradients for (a, b, wa, wb, wc), one pass over the rows."""
    wa, wb, wc = weights
    to_a, to_b, to_c, from_a, from_b, _ = mats
    rows, channels = a.shape[0], a.shape[1]
    grad_a, grad_b = torch.empty_like(a), a.new_empty(rows, channels, b.shape[2])
    grad_wa, grad_wb, grad_wc = torch.zeros_like(wa), torch.zeros_like(grad_b[0]), torch.zeros_like(wc)
    step = chunk_rows(rows, channels, to_a.shape[1], a.device)
    for start in range(0, rows, step):
        stop = start + step
        g_grid = (g[start:stop] * wc) @ to_c  # [r, C, P]
        a_grid = (a[start:stop] * wa) @ to_a
        b_grid = (b[start:stop] * wb) @ to_b
        v = a_grid.mul_(g_grid) @ from_b  # [r, C, Kb]: dL/d(wb * b)
        u = g_grid.mul_(b_grid) @ from_a  # [r, C, Ka]: dL/d(wa * a)
        torch.mul(v, wb, out=grad_b[start:stop])
        torch.mul(u, wa, out=grad_a[start:stop])
        grad_wb += (v * b[start:stop]).sum(0)
        grad_wa += (u * a[start:stop]).sum(0)
        grad_wc += (g[start:stop] * raw[start:stop]).sum(0)
    if b.shape[1] != channels:
        grad_b = grad_b.sum(dim=1, keepdim=True)
    return grad_a, grad_b, grad_wa, grad_wb.sum(0, keepdim=True) if wb.shape[0] == 1 else grad_wb, grad_wc


def _graph_backward(g: Tensor, a: Tensor, b: Tensor, weights: tuple[Tensor, ...], mats: tuple[Tensor, ...]):
    """The same gradients as differentiable torch ops (used under ``create_graph``)."""
    wa, wb, wc = weights
    to_a, to_b, to_c, from_a, from_b, from_c = mats
    aw, bw, gw = a * wa, b * wb, g * wc
    u = GridProduct.apply(gw, bw, to_c, to_b, to_a, from_c, from_b, from_a)  # [R, C, Ka]
    v = GridProduct.apply(gw, aw, to_c, to_a, to_b, from_c, from_a, from_b)  # [R, C, Kb]
    raw = GridProduct.apply(aw, bw, to_a, to_b, to_c, from_a, from_b, from_c)  # [R, C, Kc]
    grad_b = v * wb
    if b.shape[1] != a.shape[1]:
        grad_b = grad_b.sum(dim=1, keepdim=True)
    grad_wb = (v * b).sum(0)
    grad_wb = grad_wb.sum(0, keepdim=True) if wb.shape[0] == 1 else grad_wb
    return u * wa, grad_b, (u * a).sum(0), grad_wb, (g * raw).sum(0)


class WeightedGridProduct(torch.autograd.Function):
    """``wc * G(wa * a, wb * b)``: a [R, C, Ka], b [R, C|1, Kb], wa [C, Ka], wb [C|1, Kb], wc [C, Kc]."""

    @staticmethod
    def forward(ctx, a, b, wa, wb, wc, *mats):
        out, raw = _forward(a, b, wa, wb, wc, mats)
        ctx.save_for_backward(a, b, wa, wb, wc, raw, *mats)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, wa, wb, wc, raw, *mats = ctx.saved_tensors
        grad = grad.contiguous()
        if torch.is_grad_enabled():
            grads = _graph_backward(grad, a, b, (wa, wb, wc), tuple(mats))
        else:
            grads = _fused_backward(grad, a, b, (wa, wb, wc), raw, tuple(mats))
        return (*grads, *([None] * len(mats)))


def weighted_grid_product(a: Tensor, b: Tensor, wa: Tensor, wb: Tensor, wc: Tensor, mats: tuple[Tensor, ...]) -> Tensor:
    """``wc * Gaunt(wa * a, wb * b)`` for ``a [..., C, Ka]``, ``b [..., C|1, Kb]``; weights per (channel, component).

    ``mats = (to_a, to_b, to_c, from_a, from_b, from_c)`` as for :func:`molgen.nn.gaunt_grid.grid_product`.
    """
    lead = a.shape[:-2]
    if b.shape[:-2] != lead:
        raise ValueError(f"leading dims differ: x {tuple(a.shape)} vs y {tuple(b.shape)}")
    a3 = a.reshape(-1, *a.shape[-2:]).contiguous()
    b3 = b.reshape(-1, *b.shape[-2:]).contiguous()
    out = WeightedGridProduct.apply(a3, b3, wa, wb, wc, *mats)
    return out.reshape(*lead, *out.shape[-2:])
