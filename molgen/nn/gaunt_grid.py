"""The core of every Gaunt product: to the sphere grid, pointwise product, back; row-chunked.

``c = ((a @ to_a) * (b @ to_b)) @ from_c`` with ``to [K, P]`` the harmonics on the exact grid of
:func:`molgen.nn.so3.sphere_grid` (degree La + Lb + Lc) and ``from [P, K]`` = ``to.T * w / 4pi``.

Why a custom autograd function: ``G[k1, k2, k3] = (1/4pi) int Y_k1 Y_k2 Y_k3`` is symmetric in its
three indices, so the gradient of a Gaunt product is again a Gaunt product on the same grid:
``dL/da = product(g, b) -> degree of a`` with ``g = dL/dc``. Nothing of size [R, C, P] is stored for
backward. A first-order backward runs both input gradients fused (the grid values of g are shared,
5 matmuls instead of 6); when a graph is requested (double backward) it calls this same function
twice instead, so every derivative order exists.

Formulation, measured on the 2-core CPU sandbox (fp32, 4096 rows x 32 channels = 131072 rows of the
matmuls, one thread; forward only unless noted):

* dense matmuls on the full grid, one shot: L = 4 forward+backward 1.17 s (memory-bound: the
  [R*C, P] intermediates are 48 MB and page-fault on every allocation);
* the same, row-chunked so a chunk's grid values stay in cache: 0.37 s forward+backward at L = 4;
  forward 178 ms at L = 4, 455 ms at L = 6 (chosen);
* folding the grid by its two mirror symmetries (z' -> -z', phi -> -phi; 4 parity classes of
  harmonics, a quarter of the grid, Hadamard recombination): 453 ms at L = 4, 415 ms at L = 6 -
  a third of the flops, but the class matmuls have inner dimension ~K/4 (6 to 20) where the CPU
  BLAS is inefficient, and the extra passes cost more than they save;
* folding by z' -> -z' only (2 parity classes, half the grid, K/2 inner dimension): L = 4 498 vs
  345 ms dense, L = 6 658 vs 599-904 ms, L = 8 2989 vs 2178-3557 ms (chunk-size dependent): no
  reliable gain on this machine, so not used;
* the sparse Gaunt-coefficient contraction needs fewer multiply-adds per row (nonzeros: 1158 at
  L = 4, 6460 at L = 6, against 3 K P = 6825 and 27930 for the grid) but has no BLAS kernel; as
  gather * gather -> index_add in torch it materialises [rows, nnz]: 4.2 s at L = 4, 22.7 s at
  L = 6 (grid 0.20 s and 0.43 s in the same run);
* for small L, the dense-coefficient contraction ``(x outer y) @ G [K*K, K]`` and a contraction
  over the nonzero (k1, k2) pairs only: forward L = 1 20 / 14 ms, L = 2 78 / 89 ms, L = 3 72 / 254 ms,
  against the grid's 13, 38 and 41 ms; so the grid is used at every L.
On CUDA one chunk (all rows) is used.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import torch
from torch import Tensor

from molgen.nn.so3 import irreps_dim, sphere_grid, spherical_harmonics

CPU_CHUNK_ELEMENTS = 1 << 16  # grid values per chunk on CPU (fp32: 256 KB, about an L2 cache)


@cache
def grid_transforms(degree: int, lmax: int) -> tuple[np.ndarray, np.ndarray]:
    """Float64 ``to_grid [(lmax+1)^2, P]`` = ``Y_k(u_p)`` and ``from_grid [P, (lmax+1)^2]`` = ``w_p Y_k(u_p) / 4pi``
    on the grid of ``degree`` (exact for products of total degree <= degree); read-only."""
    points, weights = sphere_grid(degree)
    sh = spherical_harmonics(lmax, torch.from_numpy(np.array(points))).numpy()  # [P, K]
    to_grid, from_grid = np.ascontiguousarray(sh.T), np.ascontiguousarray(sh * (weights[:, None] / (4 * np.pi)))
    to_grid.setflags(write=False)
    from_grid.setflags(write=False)
    return to_grid, from_grid


def grid_pair(degree: int, lmax: int) -> tuple[np.ndarray, np.ndarray]:
    """``(to_grid [K, P], from_grid [P, K])`` for degrees <= lmax on the grid of ``degree``, K = (lmax+1)^2."""
    to_grid, from_grid = grid_transforms(degree, lmax)
    k = irreps_dim(lmax)
    return to_grid[:k], np.ascontiguousarray(from_grid[:, :k])


def chunk_rows(rows: int, channels: int, points: int, device: torch.device) -> int:
    if device.type != "cpu":
        return max(rows, 1)
    return max(1, min(rows, CPU_CHUNK_ELEMENTS // max(1, channels * points)))


def _forward(a: Tensor, b: Tensor, to_a: Tensor, to_b: Tensor, from_c: Tensor) -> Tensor:
    """a [R, C, Ka], b [R, C|1, Kb] -> [R, C, Kc], without autograd bookkeeping."""
    rows, channels = a.shape[0], a.shape[1]
    out = a.new_empty(rows, channels, from_c.shape[1])
    step = chunk_rows(rows, channels, to_a.shape[1], a.device)
    for start in range(0, rows, step):
        grid = a[start : start + step] @ to_a  # [r, C, P]
        grid.mul_(b[start : start + step] @ to_b)  # [r, C|1, P] broadcast over C
        torch.matmul(grid, from_c, out=out[start : start + step])
    return out


def _fused_backward(g: Tensor, a: Tensor, b: Tensor, mats: tuple[Tensor, ...]) -> tuple[Tensor, Tensor]:
    """Both input gradients of :func:`_forward` (first order only): g [R, C, Kc] -> [R, C, Ka], [R, C|1, Kb]."""
    to_a, to_b, to_c, from_a, from_b, _ = mats
    rows, channels = a.shape[0], a.shape[1]
    grad_a = a.new_empty(a.shape)
    grad_b = b.new_empty(rows, channels, b.shape[2])
    step = chunk_rows(rows, channels, to_a.shape[1], a.device)
    for start in range(0, rows, step):
        stop = start + step
        g_grid = g[start:stop] @ to_c  # [r, C, P]
        a_grid = a[start:stop] @ to_a  # [r, C, P]
        b_grid = b[start:stop] @ to_b  # [r, C|1, P]
        torch.matmul(a_grid.mul_(g_grid), from_b, out=grad_b[start:stop])
        torch.matmul(g_grid.mul_(b_grid), from_a, out=grad_a[start:stop])
    if b.shape[1] != channels:
        grad_b = grad_b.sum(dim=1, keepdim=True)
    return grad_a, grad_b


class GridProduct(torch.autograd.Function):
    """Autograd wrapper of :func:`_forward`; backward is the same product with permuted operands."""

    @staticmethod
    def forward(ctx, a, b, to_a, to_b, to_c, from_a, from_b, from_c):
        ctx.save_for_backward(a, b, to_a, to_b, to_c, from_a, from_b, from_c)
        return _forward(a, b, to_a, to_b, from_c)

    @staticmethod
    def backward(ctx, grad):
        a, b, to_a, to_b, to_c, from_a, from_b, from_c = ctx.saved_tensors
        grad = grad.contiguous()
        need_a, need_b = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        if need_a and need_b and not torch.is_grad_enabled():
            grad_a, grad_b = _fused_backward(grad, a, b, (to_a, to_b, to_c, from_a, from_b, from_c))
            return grad_a, grad_b, None, None, None, None, None, None
        grad_a = grad_b = None
        if need_a:  # dL/da_k1 = sum G[k1, k2, k3] g_k3 b_k2
            grad_a = GridProduct.apply(grad, b, to_c, to_b, to_a, from_c, from_b, from_a)
        if need_b:  # dL/db_k2 = sum G[k1, k2, k3] g_k3 a_k1, summed over C if broadcast
            grad_b = GridProduct.apply(grad, a, to_c, to_a, to_b, from_c, from_a, from_b)
            if b.shape[1] != a.shape[1]:
                grad_b = grad_b.sum(dim=1, keepdim=True)
        return grad_a, grad_b, None, None, None, None, None, None


def grid_product(a: Tensor, b: Tensor, to_a: Tensor, to_b: Tensor, to_c: Tensor, from_a: Tensor,
                 from_b: Tensor, from_c: Tensor) -> Tensor:  # fmt: skip
    """Gaunt product ``[..., C, Ka] x [..., C|1, Kb] -> [..., C, Kc]`` on one grid, any derivative order.

    ``to_*`` [K, P] and ``from_*`` [P, K] are :func:`grid_pair` of each degree on the grid of degree
    ``La + Lb + Lc``, in the operands' dtype and device.
    """
    lead = a.shape[:-2]
    if b.shape[:-2] != lead:
        raise ValueError(f"leading dims differ: x {tuple(a.shape)} vs y {tuple(b.shape)}")
    a3 = a.reshape(-1, *a.shape[-2:]).contiguous()
    b3 = b.reshape(-1, *b.shape[-2:]).contiguous()
    out = GridProduct.apply(a3, b3, to_a, to_b, to_c, from_a, from_b, from_c)
    return out.reshape(*lead, *out.shape[-2:])
