"""Spherical harmonics, Wigner-D, quadrature and layout against e3nn and closed forms (float64)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from e3nn import o3
from scipy.integrate import lebedev_rule

from molgen.nn.so3 import (
    angles_to_matrix,
    degree_of_component,
    from_e3nn_layout,
    irreps_dim,
    irreps_string,
    legendre_series,
    rand_angles,
    rand_rotation,
    sphere_grid,
    spherical_harmonics,
    to_e3nn_layout,
    wigner_D,
    wigner_D_from_matrix,
)

F64 = torch.float64


@pytest.mark.parametrize("normalize", [True, False])
def test_spherical_harmonics_match_e3nn_component(normalize):
    gen = torch.Generator().manual_seed(0)
    vec = torch.randn(200, 3, generator=gen, dtype=F64) * 2.0
    vec[0] = 0.0  # a zero vector: Y_0 = 1 and all higher degrees vanish, as in e3nn
    ours = spherical_harmonics(8, vec, normalize=normalize)
    ref = o3.spherical_harmonics(list(range(9)), vec, normalize=normalize, normalization="component")
    assert ours.shape == (200, 81)
    assert ((ours - ref).abs() / (1.0 + ref.abs())).max() < 1e-12
    if normalize:
        assert torch.equal(ours[0], torch.eye(81, dtype=F64)[0])


def test_spherical_harmonics_l1_is_scaled_vector():
    vec = torch.tensor([[0.3, -1.2, 2.0]], dtype=F64)
    sh = spherical_harmonics(1, vec)
    torch.testing.assert_close(sh[0, 1:], math.sqrt(3) * vec[0] / vec.norm(), rtol=0, atol=1e-15)


def test_spherical_harmonics_orthonormal_on_lebedev():
    points, weights = lebedev_rule(25)  # independent quadrature, exact to degree 25 >= 2 * 8
    y = spherical_harmonics(8, torch.from_numpy(points.T.copy()))
    gram = (y * torch.from_numpy(weights)[:, None]).T @ y / (4 * math.pi)
    assert (gram - torch.eye(81, dtype=F64)).abs().max() < 1e-13


def _sphere_monomial(a: int, b: int, c: int) -> float:
    """Closed form of the integral of x^a y^b z^c over the unit sphere."""
    if a % 2 or b % 2 or c % 2:
        return 0.0
    g = math.gamma
    return 2 * g((a + 1) / 2) * g((b + 1) / 2) * g((c + 1) / 2) / g((a + b + c + 3) / 2)


@pytest.mark.parametrize("degree", [0, 3, 8, 13])
def test_sphere_grid_exact_for_monomials(degree):
    points, weights = sphere_grid(degree)
    assert points.shape == ((degree // 2 + 1) * (degree + 1), 3)
    np.testing.assert_allclose(np.linalg.norm(points, axis=1), 1.0, atol=1e-15)
    for a in range(degree + 1):
        for b in range(degree + 1 - a):
            for c in range(degree + 1 - a - b):
                got = float(np.sum(weights * points[:, 0] ** a * points[:, 1] ** b * points[:, 2] ** c))
                assert abs(got - _sphere_monomial(a, b, c)) < 1e-13, (a, b, c)


def test_sphere_grid_not_exact_beyond_degree():
    points, weights = sphere_grid(4)  # 3 Gauss nodes: exact to degree 5, not 6
    got = float(np.sum(weights * points[:, 1] ** 6))
    assert abs(got - _sphere_monomial(0, 6, 0)) > 1e-4


def test_legendre_series_closed_forms():
    t = torch.linspace(-1, 1, 11, dtype=F64)
    p = legendre_series(3, t)
    torch.testing.assert_close(p[:, 2], (3 * t**2 - 1) / 2)
    torch.testing.assert_close(p[:, 3], (5 * t**3 - 3 * t) / 2)


def test_angles_to_matrix_matches_e3nn_and_is_rotation():
    gen = torch.Generator().manual_seed(1)
    angles = rand_angles(F64, gen)
    rot = angles_to_matrix(*angles)
    torch.testing.assert_close(rot, o3.angles_to_matrix(*angles), rtol=0, atol=1e-15)
    rot2 = rand_rotation(F64, gen)
    torch.testing.assert_close(rot2 @ rot2.T, torch.eye(3, dtype=F64), rtol=0, atol=1e-14)
    assert abs(torch.linalg.det(rot2).item() - 1.0) < 1e-14


def test_wigner_D_rotates_harmonics():
    gen = torch.Generator().manual_seed(2)
    angles = rand_angles(F64, gen)
    rot = angles_to_matrix(*angles)
    d = wigner_D(8, *angles)
    vec = torch.randn(50, 3, generator=gen, dtype=F64)
    lhs = spherical_harmonics(8, vec @ rot.T)
    assert (lhs - spherical_harmonics(8, vec) @ d.T).abs().max() < 1e-12
    torch.testing.assert_close(d @ d.T, torch.eye(81, dtype=F64), rtol=0, atol=1e-12)
    deg = degree_of_component(8)
    assert torch.all(d[deg[:, None] != deg[None, :]] == 0)
    torch.testing.assert_close(d[1:4, 1:4], rot, rtol=0, atol=1e-14)
    angle_floats = [float(t) for t in angles]
    torch.testing.assert_close(wigner_D(8, *angle_floats), d, rtol=0, atol=0)


def test_wigner_D_is_a_homomorphism_and_matches_e3nn():
    gen = torch.Generator().manual_seed(3)
    r1, r2 = rand_rotation(F64, gen), rand_rotation(F64, gen)
    d12 = wigner_D_from_matrix(5, r1 @ r2)
    torch.testing.assert_close(d12, wigner_D_from_matrix(5, r1) @ wigner_D_from_matrix(5, r2), rtol=0, atol=1e-12)
    angles = rand_angles(F64, gen)
    irreps = o3.Irreps(irreps_string(1, 5))
    # e3nn builds D from float32-accurate generators, hence the looser tolerance here only
    torch.testing.assert_close(wigner_D(5, *angles), irreps.D_from_angles(*angles), rtol=0, atol=1e-5)


def test_e3nn_layout_roundtrip_and_rotation_agree():
    gen = torch.Generator().manual_seed(4)
    channels, lmax = 3, 3
    x = torch.randn(6, channels, irreps_dim(lmax), generator=gen, dtype=F64)
    flat = to_e3nn_layout(x)
    assert flat.shape == (6, channels * irreps_dim(lmax))
    torch.testing.assert_close(from_e3nn_layout(flat, channels, lmax), x, rtol=0, atol=0)
    angles = rand_angles(F64, gen)
    d_e3nn = o3.Irreps(irreps_string(channels, lmax)).D_from_angles(*angles)
    ours = to_e3nn_layout(x @ wigner_D(lmax, *angles).T)
    torch.testing.assert_close(ours, flat @ d_e3nn.T, rtol=0, atol=1e-5)
    # the l = 0 block of e3nn's layout is the C scalars, in channel order
    torch.testing.assert_close(flat[:, :channels], x[:, :, 0], rtol=0, atol=0)


def test_layout_errors_are_clear():
    with pytest.raises(ValueError, match="not a square"):
        to_e3nn_layout(torch.zeros(2, 3, 5))
    with pytest.raises(ValueError, match="channels"):
        from_e3nn_layout(torch.zeros(2, 10), channels=3, lmax=1)
    with pytest.raises(ValueError, match=r"\[\.\.\., 3\]"):
        spherical_harmonics(2, torch.zeros(4, 2))
