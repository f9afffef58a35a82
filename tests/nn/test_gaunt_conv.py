"""GauntConv: equals the explicit Gaunt product with the edge filter; equivariant; differentiable."""

from __future__ import annotations

import pytest
import torch

from molgen.nn.gaunt import GauntTensorProduct
from molgen.nn.gaunt_conv import GauntConv
from molgen.nn.so3 import degree_of_component, spherical_harmonics
from molgen.testing import assert_equivariant

F64 = torch.float64


def _setup(lmax_in=2, lmax_filter=3, lmax_out=2, channels=4, num_nodes=6, num_edges=20, seed=0):
    gen = torch.Generator().manual_seed(seed)
    conv = GauntConv(lmax_in, lmax_filter, lmax_out, channels).double()
    for p in conv.parameters():
        p.data = torch.randn(p.shape, generator=gen, dtype=F64)
    x = torch.randn(num_nodes, channels, (lmax_in + 1) ** 2, generator=gen, dtype=F64)
    edge_vec = torch.randn(num_edges, 3, generator=gen, dtype=F64)
    weights = torch.randn(num_edges, channels, lmax_filter + 1, generator=gen, dtype=F64)
    src = torch.randint(0, num_nodes, (num_edges,), generator=gen)
    dst = torch.randint(0, num_nodes, (num_edges,), generator=gen)
    return conv, x, edge_vec, weights, src, dst


def _explicit(conv, x, edge_vec, weights, src):
    """Reference: build the filter sum_l w_l Y_l(r_hat) in the harmonic basis and call the Gaunt product."""
    tp = GauntTensorProduct(conv.lmax_in, conv.lmax_filter, conv.lmax_out, conv.channels, weighted=False).double()
    sh = spherical_harmonics(conv.lmax_filter, edge_vec)[:, None]  # [E, 1, Kf]
    filt = weights[:, :, degree_of_component(conv.lmax_filter)] * sh
    xs = x[src] * conv.weight_in.weight[:, degree_of_component(conv.lmax_in)]
    return tp(xs, filt) * conv.weight_out.weight[:, degree_of_component(conv.lmax_out)]


def test_messages_equal_explicit_gaunt_product():
    conv, x, edge_vec, weights, src, _ = _setup()
    edge_vec[3] = 0.0  # a zero vector keeps only the l = 0 filter term, like spherical_harmonics
    assert (conv(x, edge_vec, weights, src) - _explicit(conv, x, edge_vec, weights, src)).abs().max() < 1e-12


def test_aggregation_on_grid_equals_sum_of_messages():
    conv, x, edge_vec, weights, src, dst = _setup(lmax_in=3, lmax_filter=2, lmax_out=4, seed=1)
    messages = _explicit(conv, x, edge_vec, weights, src)
    expected = torch.zeros(8, *messages.shape[1:], dtype=F64).index_add_(0, dst, messages)
    got = conv(x, edge_vec, weights, src, dst, num_nodes=8)
    assert got.shape == (8, 4, 25)
    assert (got - expected).abs().max() < 1e-12


def test_broadcast_single_channel_filter():
    conv, x, edge_vec, weights, src, _ = _setup(seed=2)
    one = weights[:, :1]
    torch.testing.assert_close(conv(x, edge_vec, one, src), conv(x, edge_vec, one.expand_as(weights), src))


def test_equivariance_of_message_passing_fp64():
    conv, x, _, weights, src, dst = _setup(lmax_in=3, lmax_filter=3, lmax_out=3, seed=3)
    pos = torch.randn(6, 3, dtype=F64, generator=torch.Generator().manual_seed(3))
    edge_index = torch.stack([src, dst])
    keep = src != dst
    edge_index, weights = edge_index[:, keep], weights[keep]

    def layer(pos, x, edge_index, weights):
        vec = pos[edge_index[1]] - pos[edge_index[0]]
        return conv(x, vec, weights, edge_index[0], edge_index[1], num_nodes=pos.shape[0])

    inputs = [("pos", pos), ("irreps", x), ("edge_index", edge_index), ("edge_scalar", weights)]
    errs = assert_equivariant(layer, inputs, ["irreps:3"])
    assert max(errs.values()) < 1e-10


def test_gradcheck_through_positions_and_features():
    conv, x, edge_vec, weights, src, dst = _setup(lmax_in=1, lmax_filter=2, lmax_out=1, channels=2, num_edges=5)
    x.requires_grad_(True)
    edge_vec.requires_grad_(True)
    weights.requires_grad_(True)

    def fn(a, v, w):
        return conv(a, v, w, src, dst)

    assert torch.autograd.gradcheck(fn, (x, edge_vec, weights))
    assert torch.autograd.gradgradcheck(fn, (x, edge_vec, weights))


def test_bad_edge_weights_shape():
    conv, x, edge_vec, weights, src, _ = _setup()
    with pytest.raises(ValueError, match="edge_weights must be"):
        conv(x, edge_vec, weights[:, :, :2], src)


@pytest.mark.parametrize("lmax", [1, 2, 3])
def test_filter_from_harmonics_equals_legendre_filter(lmax):
    """The addition-theorem filter (sh * w) @ Y(u) equals the Legendre-series one, zero vectors included."""
    conv = GauntConv(lmax, lmax, lmax, 1).double()
    gen = torch.Generator().manual_seed(lmax)
    vec = torch.randn(40, 3, generator=gen, dtype=torch.float64) * 2.0
    vec[3] = 0.0
    weights = torch.randn(40, 1, lmax + 1, generator=gen, dtype=torch.float64)
    scale = vec.norm(dim=-1, keepdim=True) / (1.0 + vec.norm(dim=-1, keepdim=True))
    expected = conv.edge_filter(vec, weights * scale[:, :, None])[:, 0]  # [E, P]
    sh = spherical_harmonics(lmax, vec) * scale  # as DenseGeometry.sh carries it
    got = conv.edge_filter_from_harmonics(sh, weights[:, 0])
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-12)
    assert got[3].std() < 1e-12  # a zero vector keeps only the isotropic term
