"""Gaunt coefficients and the Gaunt tensor product against independent references."""

from __future__ import annotations

import math

import pytest
import torch
from e3nn import o3
from scipy.integrate import lebedev_rule

from molgen.nn.gaunt import GauntTensorProduct, cross_product_path, gaunt_coefficients
from molgen.nn.gaunt_e3nn import e3nn_equivalent, even_paths
from molgen.nn.so3 import degree_of_component, from_e3nn_layout, irreps_dim, rand_rotation, to_e3nn_layout
from molgen.testing import assert_equivariant

F64 = torch.float64


def _lebedev_gaunt(lmax: int) -> torch.Tensor:
    """(1/4pi) sum_p w_p Y_a Y_b Y_c with e3nn's harmonics on a Lebedev rule of order 3 * lmax + 1."""
    points, weights = lebedev_rule(3 * lmax + 1)
    y = o3.spherical_harmonics(list(range(lmax + 1)), torch.from_numpy(points.T.copy()), True, "component")
    return torch.einsum("pa,pb,pc,p->abc", y, y, y, torch.from_numpy(weights)) / (4 * math.pi)


def _blocks(g: torch.Tensor, l1: int, l2: int, l3: int) -> torch.Tensor:
    return g[l1 * l1 : (l1 + 1) ** 2, l2 * l2 : (l2 + 1) ** 2, l3 * l3 : (l3 + 1) ** 2]


def test_coefficients_match_independent_lebedev_quadrature():
    lmax = 8
    ours = gaunt_coefficients(lmax, lmax, lmax)
    assert ours.dtype == F64 and ours.shape == (81, 81, 81)
    assert (ours - _lebedev_gaunt(lmax)).abs().max() < 1e-12
    assert abs(ours[0, 0, 0].item() - 1.0) < 1e-14  # scalar x scalar -> scalar is the plain product


def test_coefficients_vanish_by_selection_rules_only():
    g = gaunt_coefficients(6, 6, 6)
    deg = degree_of_component(6)
    l1, l2, l3 = deg[:, None, None], deg[None, :, None], deg[None, None, :]
    forbidden = ((l1 + l2 + l3) % 2 == 1) | (l3 > l1 + l2) | (l3 < (l1 - l2).abs())
    assert g[forbidden].abs().max() < 1e-14
    for path in even_paths(6, 6, 6):  # every allowed path carries a nonzero coupling
        assert _blocks(g, *path).abs().max() > 1e-3, path


def test_coefficients_are_wigner_3j_times_one_constant_per_path():
    g = gaunt_coefficients(4, 4, 4)
    for path in even_paths(4, 4, 4):
        w3j = o3.wigner_3j(*path, dtype=F64)
        block = _blocks(g, *path)
        scale = (block * w3j).sum() / (w3j * w3j).sum()
        assert (block - scale * w3j).abs().max() < 1e-12, path


@pytest.mark.parametrize("lmax1,lmax2,lmax_out", [(1, 1, 2), (2, 2, 2), (3, 2, 4), (4, 4, 4)])
def test_matches_e3nn_tensor_product_fp32(lmax1, lmax2, lmax_out):
    channels = 4
    gen = torch.Generator().manual_seed(lmax1 + 10 * lmax_out)
    tp = GauntTensorProduct(lmax1, lmax2, lmax_out, channels)
    for p in tp.parameters():
        p.data = torch.rand(p.shape, generator=gen) + 0.5
    ref = e3nn_equivalent(lmax1, lmax2, lmax_out, channels)
    assert ref.irreps_in1 == o3.Irreps(tp.irreps_in1) and ref.irreps_out == o3.Irreps(tp.irreps_out)
    x = torch.randn(16, channels, irreps_dim(lmax1), generator=gen)
    y = torch.randn(16, channels, irreps_dim(lmax2), generator=gen)
    xs = x * tp.weight1.weight[:, degree_of_component(lmax1)]
    ys = y * tp.weight2.weight[:, degree_of_component(lmax2)]
    expected = from_e3nn_layout(ref(to_e3nn_layout(xs), to_e3nn_layout(ys)), channels, lmax_out)
    expected = expected * tp.weight_out.weight[:, degree_of_component(lmax_out)]
    got = tp(x, y)
    assert ((got - expected).abs().max() / expected.abs().max()).item() < 1e-6


@pytest.mark.slow
@pytest.mark.parametrize("lmax", [6, 8])
def test_matches_e3nn_tensor_product_fp32_high_degree(lmax):
    test_matches_e3nn_tensor_product_fp32(lmax, lmax, lmax)


def test_broadcast_second_operand_and_leading_dims():
    gen = torch.Generator().manual_seed(5)
    tp = GauntTensorProduct(2, 2, 2, 3).double()
    x = torch.randn(2, 4, 3, 9, generator=gen, dtype=F64)
    y = torch.randn(2, 4, 1, 9, generator=gen, dtype=F64)
    torch.testing.assert_close(tp(x, y), tp(x, y.expand(2, 4, 3, 9)), rtol=0, atol=1e-14)


def test_double_restores_exact_buffers_and_state_dict_holds_weights_only():
    tp = GauntTensorProduct(4, 4, 4, 2)
    assert tp.to_grid1.dtype == torch.float32
    tp = tp.double()
    g = gaunt_coefficients(4, 4, 4)
    x = torch.eye(25, dtype=F64)[:, None, :].expand(25, 2, 25)
    for b in (0, 7, 20):
        y = torch.eye(25, dtype=F64)[b].expand(25, 2, 25)
        assert (tp(x, y)[:, 0] - g[:, b, :]).abs().max() < 1e-14
    assert sorted(tp.state_dict()) == ["weight1.weight", "weight2.weight", "weight_out.weight"]


def test_bad_shapes_raise_clear_errors():
    tp = GauntTensorProduct(2, 1, 2, 3)
    with pytest.raises(ValueError, match=r"x must have shape \[\.\.\., 3, 9\]"):
        tp(torch.zeros(5, 3, 4), torch.zeros(5, 3, 4))
    with pytest.raises(ValueError, match="y must have shape"):
        tp(torch.zeros(5, 3, 9), torch.zeros(5, 2, 4))
    with pytest.raises(ValueError, match="module's dtype torch.float32"):
        tp(torch.zeros(5, 3, 9, dtype=F64), torch.zeros(5, 3, 4, dtype=F64))


def _random_weights(module: torch.nn.Module, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    for p in module.parameters():
        p.data = torch.randn(p.shape, generator=gen, dtype=p.dtype)


@pytest.mark.parametrize("lmax1,lmax2,lmax_out", [(4, 3, 4), (8, 8, 8)])
def test_equivariance_fp64(lmax1, lmax2, lmax_out):
    tp = GauntTensorProduct(lmax1, lmax2, lmax_out, 3).double()
    _random_weights(tp, 6)
    gen = torch.Generator().manual_seed(6)
    x = torch.randn(7, 3, irreps_dim(lmax1), generator=gen, dtype=F64)
    y = torch.randn(7, 3, irreps_dim(lmax2), generator=gen, dtype=F64)
    inputs = [("irreps", x), (f"irreps:{lmax2}", y)]
    errs = assert_equivariant(tp, inputs, [f"irreps:{lmax_out}"], checks=("rotation", "permutation"))
    assert errs["rotation"] < 1e-10


def test_gradcheck_and_gradgradcheck():
    tp = GauntTensorProduct(2, 2, 3, 2).double()
    _random_weights(tp, 7)
    gen = torch.Generator().manual_seed(7)
    x = torch.randn(3, 2, 9, generator=gen, dtype=F64, requires_grad=True)
    y = torch.randn(3, 2, 9, generator=gen, dtype=F64, requires_grad=True)
    w = tp.weight1.weight
    assert torch.autograd.gradcheck(lambda a, b, c: tp(a, b) * c.sum(), (x, y, w))
    assert torch.autograd.gradgradcheck(tp, (x, y))


def test_gradcheck_all_weights_first_and_second_order():
    tp = GauntTensorProduct(2, 1, 2, 2).double()
    gen = torch.Generator().manual_seed(11)
    x = torch.randn(3, 2, 9, generator=gen, dtype=F64, requires_grad=True)
    y = torch.randn(3, 1, 4, generator=gen, dtype=F64, requires_grad=True)  # broadcast over channels
    params = tuple(torch.randn(p.shape, generator=gen, dtype=F64, requires_grad=True) for p in tp.parameters())
    names = [name for name, _ in tp.named_parameters()]

    def fn(a, b, *weights):
        return torch.func.functional_call(tp, dict(zip(names, weights, strict=True)), (a, b))

    assert torch.autograd.gradcheck(fn, (x, y, *params))
    assert torch.autograd.gradgradcheck(fn, (x, y, *params))


def test_gradient_of_one_operand_matches_both():
    tp = GauntTensorProduct(3, 2, 2, 2).double()
    gen = torch.Generator().manual_seed(10)
    x = torch.randn(4, 2, 16, generator=gen, dtype=F64, requires_grad=True)
    y = torch.randn(4, 1, 9, generator=gen, dtype=F64, requires_grad=True)
    grad = torch.randn(4, 2, 9, generator=gen, dtype=F64)
    gx_both, gy_both = torch.autograd.grad(tp(x, y), (x, y), grad)  # fused first-order path
    (gx_only,) = torch.autograd.grad(tp(x, y.detach()), (x,), grad)
    (gy_only,) = torch.autograd.grad(tp(x.detach(), y), (y,), grad)
    torch.testing.assert_close(gx_only, gx_both, rtol=0, atol=1e-13)
    torch.testing.assert_close(gy_only, gy_both, rtol=0, atol=1e-13)
    assert torch.autograd.gradcheck(lambda a: tp(a, y.detach()), (x,))


def test_gaunt_has_no_cross_product_but_cross_path_does():
    g = gaunt_coefficients(1, 1, 1)
    assert g[1:4, 1:4, 1:4].abs().max() < 1e-15  # 1o x 1o -> 1 is absent from Gaunt products
    gen = torch.Generator().manual_seed(9)
    a, b = torch.randn(4, 2, 3, generator=gen, dtype=F64), torch.randn(4, 2, 3, generator=gen, dtype=F64)
    out = cross_product_path(math.sqrt(3) * a, math.sqrt(3) * b)
    torch.testing.assert_close(out, math.sqrt(3) * torch.linalg.cross(a, b), rtol=0, atol=1e-14)
    torch.testing.assert_close(cross_product_path(b, a), -cross_product_path(a, b), rtol=0, atol=1e-15)
    rot = rand_rotation(F64, gen)
    torch.testing.assert_close(cross_product_path(a @ rot.T, b @ rot.T), cross_product_path(a, b) @ rot.T)
    with pytest.raises(ValueError, match="l = 1 blocks"):
        cross_product_path(torch.zeros(2, 9), torch.zeros(2, 9))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu():
    tp = GauntTensorProduct(3, 3, 3, 4)
    x, y = torch.randn(8, 4, 16), torch.randn(8, 4, 16)
    torch.testing.assert_close(tp.cuda()(x.cuda(), y.cuda()).cpu(), tp.cpu()(x, y), rtol=1e-5, atol=1e-5)


def test_bf16_autocast_runs_the_grid_product_in_the_exact_dtype():
    """Under mixed precision (Lightning bf16-mixed) the product gets bf16 operands: it computes in fp32."""
    torch.manual_seed(0)
    tp = GauntTensorProduct(2, 2, 2, channels=4)
    x, y = torch.randn(5, 4, 9), torch.randn(5, 4, 9)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = tp(x.bfloat16(), y.bfloat16())
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, tp(x.bfloat16().float(), y.bfloat16().float()), atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="must have the module's dtype"):  # outside autocast: still an error
        tp(x.bfloat16(), y.bfloat16())
