"""Real spherical harmonics, Wigner-D matrices, sphere quadrature and the irreps layout.

Irreps layout (used by every equivariant layer in molgen): a feature tensor ``[..., C, (L+1)^2]``
holds C channels, each a full set of real spherical-harmonic components of degree 0..L. The
component of degree l and order m (m = -l..l) sits at index ``l*l + (m + l)``. Degree l has
natural parity (-1)^l, so one channel is the e3nn irreps ``0e + 1o + 2e + 3o + ...``.

Conventions follow e3nn exactly (checked in tests/nn/test_so3.py):

* the polar axis is y; for l = 1 the components are ``sqrt(3) * (x, y, z) / |r|``;
* "component" normalisation: ``sum_m Y_lm(u)^2 = 2l + 1`` on the unit sphere, i.e.
  ``(1/4pi) * integral Y_k Y_k' dOmega = delta_kk'``;
* rotations from Euler angles are ``R = R_y(alpha) @ R_x(beta) @ R_y(gamma)`` and
  ``spherical_harmonics(L, v @ R.T) == spherical_harmonics(L, v) @ wigner_D(L, alpha, beta, gamma).T``.

Internally the harmonics are built in a frame with x' = z, y' = x, z' = y, where they are the
textbook real harmonics without the Condon-Shortley phase, evaluated as homogeneous polynomials
(no angles, so they are smooth everywhere and differentiable to any order).
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import torch
from torch import Tensor


def irreps_dim(lmax: int) -> int:
    """Number of components ``(lmax + 1)^2`` of one channel."""
    return (lmax + 1) ** 2


def degree_of_component(lmax: int) -> Tensor:
    """[(L+1)^2] long: the degree l of each component index."""
    return torch.repeat_interleave(torch.arange(lmax + 1), torch.arange(lmax + 1) * 2 + 1)


def irreps_string(channels: int, lmax: int) -> str:
    """e3nn-style irreps string of one irreps tensor, e.g. ``"8x0e+8x1o+8x2e"``."""
    return "+".join(f"{channels}x{ell}{'e' if ell % 2 == 0 else 'o'}" for ell in range(lmax + 1))


def to_e3nn_layout(x: Tensor) -> Tensor:
    """[..., C, (L+1)^2] -> [..., C*(L+1)^2] in e3nn's order for ``irreps_string(C, L)``.

    e3nn stores each degree block channel-major: all C copies of 0e, then C x (2l+1) of each l.
    """
    lmax = _lmax_of(x.shape[-1])
    blocks = [x[..., ell * ell : (ell + 1) ** 2].flatten(-2) for ell in range(lmax + 1)]
    return torch.cat(blocks, dim=-1)


def from_e3nn_layout(x: Tensor, channels: int, lmax: int) -> Tensor:
    """Inverse of :func:`to_e3nn_layout`: [..., C*(L+1)^2] -> [..., C, (L+1)^2]."""
    if x.shape[-1] != channels * irreps_dim(lmax):
        raise ValueError(f"last dim {x.shape[-1]} != channels*(lmax+1)^2 = {channels * irreps_dim(lmax)}")
    blocks, start = [], 0
    for ell in range(lmax + 1):
        size = channels * (2 * ell + 1)
        blocks.append(x[..., start : start + size].unflatten(-1, (channels, 2 * ell + 1)))
        start += size
    return torch.cat(blocks, dim=-1)


def _lmax_of(num_components: int) -> int:
    lmax = math.isqrt(num_components) - 1
    if (lmax + 1) ** 2 != num_components:
        raise ValueError(f"{num_components} components is not a square (L+1)^2")
    return lmax


@cache
def _norm_constants(lmax: int) -> tuple[tuple[float, ...], ...]:
    """norm[l][m] for m >= 0: sqrt((2l+1) (l-m)!/(l+m)!) * (sqrt(2) if m > 0), component normalised."""
    out = []
    for ell in range(lmax + 1):
        row = []
        for m in range(ell + 1):
            ratio = math.exp(math.lgamma(ell - m + 1) - math.lgamma(ell + m + 1))
            row.append(math.sqrt((2 * ell + 1) * ratio) * (math.sqrt(2.0) if m > 0 else 1.0))
        out.append(tuple(row))
    return tuple(out)


def spherical_harmonics(lmax: int, vec: Tensor, normalize: bool = True) -> Tensor:
    """Real spherical harmonics of degrees 0..lmax, e3nn convention, component normalisation.

    Args:
        lmax: largest degree L.
        vec: [..., 3] vectors (typically [E, 3] edge vectors).
        normalize: project onto the unit sphere first (as e3nn); a zero vector then gives
            Y_0 = 1 and zero for l > 0. Without it, degree l is a homogeneous polynomial of degree l.

    Returns:
        [..., (L+1)^2] with component ``l*l + m + l``.
    """
    if vec.shape[-1] != 3:
        raise ValueError(f"vec must have shape [..., 3], got {tuple(vec.shape)}")
    if normalize:
        vec = torch.nn.functional.normalize(vec, dim=-1)
    xp, yp, zp = vec[..., 2], vec[..., 0], vec[..., 1]  # frame with the polar axis z' = y
    r2 = xp * xp + yp * yp + zp * zp  # 1 after normalising, except for a zero vector (all l > 0 vanish)
    cos_m, sin_m = [torch.ones_like(xp)], [torch.zeros_like(xp)]  # Re/Im of (x' + i y')^m
    for _ in range(lmax):
        c, s = cos_m[-1], sin_m[-1]
        cos_m.append(xp * c - yp * s)
        sin_m.append(xp * s + yp * c)
    norm = _norm_constants(lmax)
    comps: list[Tensor | None] = [None] * irreps_dim(lmax)
    for m in range(lmax + 1):
        for ell, q in _legendre_polys(m, lmax, zp, r2):
            comps[ell * ell + ell + m] = norm[ell][m] * q * cos_m[m]
            if m > 0:
                comps[ell * ell + ell - m] = norm[ell][m] * q * sin_m[m]
    return torch.stack(comps, dim=-1)


def _legendre_polys(m: int, lmax: int, z: Tensor, r2: Tensor):
    """Yield (l, Q_l^m) for l = m..lmax, where P_l^m(cos t) = sin^m(t) Q_l^m(cos t), no CS phase.

    The polynomials are homogenised with ``r2 = |v|^2`` (the r^2 factors of the unit-sphere identity).
    """
    q_prev = None
    q = torch.full_like(z, float(np.prod(np.arange(1, 2 * m, 2)) if m > 0 else 1.0))  # (2m-1)!!
    yield m, q
    for ell in range(m + 1, lmax + 1):
        term = (2 * ell - 1) * z * q
        if q_prev is not None:
            term = term - (ell + m - 1) * q_prev * r2
        q_prev, q = q, term / (ell - m)
        yield ell, q


def legendre_series(lmax: int, t: Tensor) -> Tensor:
    """[..., L+1]: Legendre polynomials P_0(t)..P_L(t) (Bonnet recursion)."""
    polys = [torch.ones_like(t), t]
    for ell in range(2, lmax + 1):
        polys.append(((2 * ell - 1) * t * polys[-1] - (ell - 1) * polys[-2]) / ell)
    return torch.stack(polys[: lmax + 1], dim=-1)


@cache
def sphere_grid(degree: int) -> tuple[np.ndarray, np.ndarray]:
    """Product quadrature on the unit sphere, exact for polynomials of total degree <= ``degree``.

    Gauss-Legendre in cos(theta) about the polar axis y (``degree // 2 + 1`` nodes) times a
    uniform phi grid (``degree + 1`` nodes). Returns float64 read-only arrays
    ``points [P, 3]`` (unit vectors, theta-major) and ``weights [P]`` (summing to 4 pi).
    """
    n_theta, n_phi = degree // 2 + 1, degree + 1
    cos_t, w_t = np.polynomial.legendre.leggauss(n_theta)
    phi = 2.0 * np.pi * np.arange(n_phi) / n_phi
    sin_t = np.sqrt(1.0 - cos_t**2)
    # x = sin t sin phi, y = cos t, z = sin t cos phi (phi measured from z towards x)
    points = np.stack(
        [np.outer(sin_t, np.sin(phi)), np.outer(cos_t, np.ones(n_phi)), np.outer(sin_t, np.cos(phi))], axis=-1
    ).reshape(-1, 3)
    weights = np.outer(w_t, np.full(n_phi, 2.0 * np.pi / n_phi)).reshape(-1)
    points.setflags(write=False)
    weights.setflags(write=False)
    return points, weights


def angles_to_matrix(alpha: Tensor | float, beta: Tensor | float, gamma: Tensor | float) -> Tensor:
    """[..., 3, 3] rotation ``R_y(alpha) @ R_x(beta) @ R_y(gamma)`` (e3nn's Euler convention).

    Python floats are taken as float64 scalars.
    """
    alpha, beta, gamma = (
        a if isinstance(a, Tensor) else torch.tensor(a, dtype=torch.float64) for a in (alpha, beta, gamma)
    )
    return _rot_y(alpha) @ _rot_x(beta) @ _rot_y(gamma)


def _rot_y(a: Tensor) -> Tensor:
    c, s, o, z = torch.cos(a), torch.sin(a), torch.ones_like(a), torch.zeros_like(a)
    return torch.stack([c, z, s, z, o, z, -s, z, c], dim=-1).unflatten(-1, (3, 3))


def _rot_x(a: Tensor) -> Tensor:
    c, s, o, z = torch.cos(a), torch.sin(a), torch.ones_like(a), torch.zeros_like(a)
    return torch.stack([o, z, z, z, c, -s, z, s, c], dim=-1).unflatten(-1, (3, 3))


def rand_angles(dtype: torch.dtype = torch.float64, generator: torch.Generator | None = None) -> tuple[Tensor, ...]:
    """Euler angles (alpha, beta, gamma) of a Haar-random rotation, as 0-dim tensors."""
    u = torch.rand(3, dtype=dtype, generator=generator)
    alpha, gamma = 2 * math.pi * u[0], 2 * math.pi * u[2]
    beta = torch.acos(1 - 2 * u[1])
    return alpha, beta, gamma


def rand_rotation(dtype: torch.dtype = torch.float64, generator: torch.Generator | None = None) -> Tensor:
    """[3, 3] Haar-random rotation matrix (det +1)."""
    return angles_to_matrix(*rand_angles(dtype, generator))


def wigner_D_from_matrix(lmax: int, rot: Tensor) -> Tensor:
    """[(L+1)^2, (L+1)^2] block-diagonal real Wigner-D of the rotation ``rot`` [3, 3].

    Defined by ``Y(rot @ u) = D @ Y(u)`` and computed exactly by quadrature:
    ``D_kk' = (1/4pi) integral Y_k(rot u) Y_k'(u) dOmega`` on :func:`sphere_grid` of degree 2L.
    Works in ``rot``'s dtype and device, differentiable in ``rot``.
    """
    points, weights = sphere_grid(2 * lmax)
    u = torch.tensor(points, dtype=rot.dtype, device=rot.device)  # [P, 3]
    w = torch.tensor(weights / (4.0 * np.pi), dtype=rot.dtype, device=rot.device)  # [P]
    y_rot = spherical_harmonics(lmax, u @ rot.transpose(-1, -2))  # [P, K]
    y = spherical_harmonics(lmax, u)  # [P, K]
    d = (y_rot * w[:, None]).transpose(0, 1) @ y  # [K, K]
    deg = degree_of_component(lmax).to(rot.device)
    return d * (deg[:, None] == deg[None, :]).to(d.dtype)


def wigner_D(lmax: int, alpha: Tensor | float, beta: Tensor | float, gamma: Tensor | float) -> Tensor:
    """[(L+1)^2, (L+1)^2] Wigner-D of ``angles_to_matrix(alpha, beta, gamma)`` (0-dim angles)."""
    return wigner_D_from_matrix(lmax, angles_to_matrix(alpha, beta, gamma))
