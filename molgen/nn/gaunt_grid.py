"""The core of every Gaunt product: to the sphere grid, pointwise product, back; folded and chunked.

Dense form: ``c = ((a @ to_a) * (b @ to_b)) @ from_c`` with ``to [K, P]`` the harmonics on the
exact grid of :func:`molgen.nn.so3.sphere_grid` and ``from [P, K]`` = ``to.T * weights / 4pi``.

Folding (what runs). The grid is symmetric under z' -> -z' (Gauss-Legendre nodes) and phi -> -phi
(uniform nodes); a harmonic is even or odd under each, by its class c = (l - |m| odd, m < 0). So
only a quarter Q of the grid is transformed, class by class: ``A_c = a_c @ to_c [Kc, Q]``, and the
values on the four mirror images s of Q are ``g_s = sum_c H[s, c] A_c`` with H the 4x4 Hadamard
matrix; back, ``c_c = (sum_s H[s, c] p_s) @ from_c``, the weights of self-mirrored points halved.
This cuts the matmul work of the dense form by about 3x (class sizes are ~K/4, padded to equal).

Why a custom autograd function: ``G[k1, k2, k3] = (1/4pi) int Y_k1 Y_k2 Y_k3`` is symmetric in its
three indices, so the gradient of a Gaunt product is again a Gaunt product on the same grid:
``dL/da = product(b, g -> degree of a)``. Backward calls the same function, so every derivative
order exists (gradgradcheck passes) and nothing of size [R, C, P] is stored for backward.

Why chunks: on CPU, a [R*C, P] intermediate (48 MB for 4096 rows x 32 channels at L = 4) makes every
step memory-bound and page-faulting. Rows are processed in chunks whose grid values fit in cache.
Measured on the 2-core CPU sandbox, fp32, 4096 x 32, L = 4, forward+backward: dense one-shot
1.17 s, dense chunked 0.37-0.50 s; folded: see bench/RESULTS.md. On CUDA one chunk is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import torch
from torch import Tensor

from molgen.nn.so3 import irreps_dim, sphere_grid, spherical_harmonics

CPU_CHUNK_ELEMENTS = 1 << 17  # grid values per chunk on CPU (fp32: 512 KB, about an L2 cache)
HADAMARD = np.array([[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]], dtype=np.float64)


@cache
def grid_transforms(degree: int, lmax: int) -> tuple[np.ndarray, np.ndarray]:
    """Dense float64 ``to_grid [(lmax+1)^2, P]`` = ``Y_k(u_p)`` and ``from_grid [P, (lmax+1)^2]``
    = ``w_p Y_k(u_p) / 4pi`` on the grid of ``degree`` (exact for products of total degree <= degree)."""
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


def _component_classes(lmax: int) -> np.ndarray:
    """[(L+1)^2] symmetry class 2 * ((l - |m|) odd) + (m < 0) of each component."""
    return np.array([2 * ((ell - abs(m)) % 2) + (m < 0) for ell in range(lmax + 1) for m in range(-ell, ell + 1)])


@cache
def folded_transforms(degree: int, lmax: int) -> dict[str, np.ndarray]:
    """Folded transforms for degrees <= lmax on the grid of ``degree`` (read-only float64 / int64).

    Returns ``gather [4*Kc]`` (component of each class slot; padding slots point at 0 and have
    zero rows), ``scatter [K]`` (slot of each component), ``to [4, Kc, Q]`` and ``from [4, Q, Kc]``.
    """
    n_theta, n_phi = degree // 2 + 1, degree + 1
    to_full, from_full = grid_transforms(degree, lmax)
    i_q, j_q = np.arange((n_theta + 1) // 2), np.arange(n_phi // 2 + 1)
    quarter = (i_q[:, None] * n_phi + j_q[None, :]).reshape(-1)  # flat grid index, theta-major
    mult = np.outer(np.where(2 * i_q + 1 == n_theta, 2.0, 1.0), np.where((j_q == 0) | (2 * j_q == n_phi), 2.0, 1.0))
    classes = _component_classes(lmax)
    width = max(int(np.sum(classes == c)) for c in range(4))
    gather, scatter = np.zeros(4 * width, dtype=np.int64), np.zeros(classes.size, dtype=np.int64)
    to_q, from_q = np.zeros((4, width, quarter.size)), np.zeros((4, quarter.size, width))
    for c in range(4):
        members = np.flatnonzero(classes == c)
        slots = c * width + np.arange(members.size)
        gather[slots], scatter[members] = members, slots
        to_q[c, : members.size] = to_full[members][:, quarter]
        from_q[c, :, : members.size] = from_full[quarter][:, members] / mult.reshape(-1, 1)
    out = {"gather": gather, "scatter": scatter, "to": to_q, "from": from_q}
    for arr in out.values():
        arr.setflags(write=False)
    return out


@dataclass(frozen=True)
class Folded:
    """Tensors of :func:`folded_transforms` for one operand degree (module buffers)."""

    gather: Tensor  # [4*Kc] long
    scatter: Tensor  # [K] long
    to: Tensor  # [4, Kc, Q]
    back: Tensor  # [4, Q, Kc]


def _to_quarter(x: Tensor, op: Folded, hadamard: Tensor) -> Tensor:
    """x [r, C, K] -> values on the 4 mirror images of the quarter grid [4, r, C, Q]."""
    rows, channels = x.shape[0], x.shape[1]
    width = op.to.shape[1]
    xc = x.reshape(rows * channels, -1).index_select(1, op.gather).view(rows * channels, 4, width)
    a = torch.bmm(xc.transpose(0, 1), op.to)  # [4, r*C, Q]
    return (hadamard @ a.view(4, -1)).view(4, rows, channels, -1)


def _forward(a: Tensor, b: Tensor, op_a: Folded, op_b: Folded, op_c: Folded, hadamard: Tensor) -> Tensor:
    """a [R, C, Ka], b [R, C|1, Kb] -> [R, C, Kc], without autograd bookkeeping."""
    rows, channels = a.shape[0], a.shape[1]
    k_out, width_out = op_c.scatter.shape[0], op_c.back.shape[2]
    out = a.new_empty(rows, channels, k_out)  # [R, C, Kc]
    quarter = op_a.to.shape[2]
    step = rows if a.device.type != "cpu" else max(1, CPU_CHUNK_ELEMENTS // (4 * channels * quarter))
    for start in range(0, rows, step):
        stop = min(start + step, rows)
        n = (stop - start) * channels
        grid = _to_quarter(a[start:stop], op_a, hadamard)  # [4, r, C, Q]
        grid.mul_(_to_quarter(b[start:stop], op_b, hadamard))  # [4, r, C|1, Q] broadcast over C
        back = (hadamard @ grid.view(4, -1)).view(4, n, quarter)  # [4, r*C, Q] class sums
        slots = torch.bmm(back, op_c.back).transpose(0, 1).reshape(n, 4 * width_out)  # [r*C, 4*Kc]
        torch.index_select(slots, 1, op_c.scatter, out=out[start:stop].view(n, k_out))
    return out


class GridProduct(torch.autograd.Function):
    """Autograd wrapper of :func:`_forward`; backward is the same product with permuted operands."""

    @staticmethod
    def forward(ctx, a, b, op_a, op_b, op_c, hadamard):
        ctx.save_for_backward(a, b)
        ctx.ops = (op_a, op_b, op_c, hadamard)
        return _forward(a, b, op_a, op_b, op_c, hadamard)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        op_a, op_b, op_c, hadamard = ctx.ops
        grad = grad.contiguous()
        grad_a = grad_b = None
        if ctx.needs_input_grad[0]:  # dL/da_k1 = sum G[k1, k2, k3] g_k3 b_k2
            grad_a = GridProduct.apply(grad, b, op_c, op_b, op_a, hadamard)
        if ctx.needs_input_grad[1]:  # dL/db_k2 = sum G[k1, k2, k3] g_k3 a_k1, summed over C if broadcast
            grad_b = GridProduct.apply(grad, a, op_c, op_a, op_b, hadamard)
            if b.shape[1] != a.shape[1]:
                grad_b = grad_b.sum(dim=1, keepdim=True)
        return grad_a, grad_b, None, None, None, None


def grid_product(a: Tensor, b: Tensor, op_a: Folded, op_b: Folded, op_c: Folded, hadamard: Tensor) -> Tensor:
    """Gaunt product ``[..., C, Ka] x [..., C|1, Kb] -> [..., C, Kc]`` on one grid, any derivative order.

    ``op_a``, ``op_b``, ``op_c``: folded transforms of the three degrees on the grid of degree
    ``La + Lb + Lc``; ``hadamard`` [4, 4] in the operands' dtype.
    """
    lead = a.shape[:-2]
    if b.shape[:-2] != lead:
        raise ValueError(f"leading dims differ: x {tuple(a.shape)} vs y {tuple(b.shape)}")
    a3 = a.reshape(-1, *a.shape[-2:]).contiguous()
    b3 = b.reshape(-1, *b.shape[-2:]).contiguous()
    out = GridProduct.apply(a3, b3, op_a, op_b, op_c, hadamard)
    return out.reshape(*lead, *out.shape[-2:])
