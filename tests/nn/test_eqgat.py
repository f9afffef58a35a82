"""Building blocks of the denoiser: segment ops, edge geometry, norms, equivariant layers (float64)."""

from __future__ import annotations

import math

import pytest
import torch

from molgen.nn.aggregate import GraphIndex
from molgen.nn.embedding import TimeEmbedding
from molgen.nn.eqgat import EQGATLayer
from molgen.nn.equivariant import EquivariantLayout, EquivariantLinear, GatedEquivariantUpdate
from molgen.nn.gaunt_messages import E3nnChannelwiseProduct, GauntEdgeConv
from molgen.nn.geometry import edge_geometry, polynomial_envelope, reverse_edge_index
from molgen.nn.messages import CartesianMessages, build_messages
from molgen.nn.norm import MoleculeLayerNorm, PositionUpdateNorm
from molgen.nn.scatter import segment_mean, segment_softmax, segment_sum
from molgen.nn.so3 import rand_rotation, spherical_harmonics, wigner_D_from_matrix

F64 = torch.float64


def test_segment_softmax_matches_softmax_per_group() -> None:
    gen = torch.Generator().manual_seed(0)
    src = torch.randn(7, 3, generator=gen, dtype=F64) * 10
    index = torch.tensor([2, 0, 2, 2, 0, 3, 2])
    out = segment_softmax(src, index, 4)
    for k in (0, 2, 3):
        torch.testing.assert_close(out[index == k], torch.softmax(src[index == k], dim=0))


def test_segment_sum_and_mean_known_values() -> None:
    src = torch.tensor([[1.0], [2.0], [4.0], [8.0]], dtype=F64)
    index = torch.tensor([0, 2, 0, 2])
    assert segment_sum(src, index, 3).flatten().tolist() == [5.0, 0.0, 10.0]
    assert segment_mean(src, index, 3).flatten().tolist() == [2.5, 0.0, 5.0]


def test_reverse_edge_index_known_answer_and_error() -> None:
    edges = torch.tensor([[0, 1, 0, 2, 1, 2], [1, 0, 2, 0, 2, 1]])
    assert reverse_edge_index(edges, 3).tolist() == [1, 0, 3, 2, 5, 4]
    with pytest.raises(ValueError, match="no reverse edge"):
        reverse_edge_index(torch.tensor([[0, 1], [1, 2]]), 3)


def test_polynomial_envelope_is_smooth_cutoff() -> None:
    d = torch.tensor([0.0, 2.5, 5.0 - 1e-6, 5.0, 7.0], dtype=F64, requires_grad=True)
    env = polynomial_envelope(d, cutoff=5.0)
    assert env[0].item() == 1.0 and env[3].item() == 0.0 and env[4].item() == 0.0
    assert 0.0 < env[1].item() < 1.0 and abs(env[2].item()) < 1e-12
    (grad,) = torch.autograd.grad(env.sum(), d)
    assert abs(grad[2].item()) < 1e-9 and grad[1].item() < 0


def test_edge_geometry_values() -> None:
    pos = torch.tensor([[0.0, 0.0, 0.0], [3.0, 4.0, 0.0]], dtype=F64)
    geom = edge_geometry(pos, torch.tensor([[0], [1]]), None, lambda u: spherical_harmonics(2, u))
    assert geom.dist.item() == pytest.approx(5.0)
    torch.testing.assert_close(geom.rel, torch.tensor([[0.5, 4 / 6, 0.0]], dtype=F64))
    # l = 1 harmonics are sqrt(3) * unit vector, scaled by d / (1 + d)
    torch.testing.assert_close(geom.sh[0, 1:4], math.sqrt(3) * torch.tensor([0.6, 0.8, 0.0], dtype=F64) * 5 / 6)


def test_molecule_layer_norm_statistics() -> None:
    gen = torch.Generator().manual_seed(1)
    s = torch.randn(6, 4, generator=gen, dtype=F64) * 3 + 2
    v = torch.randn(6, 5, 3, generator=gen, dtype=F64) * 7
    batch = torch.tensor([0, 0, 0, 1, 1, 1])
    s_out, v_out = MoleculeLayerNorm(4, eps=0.0).double()(s, v, batch, 2)
    for k in (0, 1):
        block = s_out[batch == k]
        assert block.mean().item() == pytest.approx(0.0, abs=1e-12)
        assert block.pow(2).mean().item() == pytest.approx(1.0)
        assert v_out[batch == k].pow(2).sum(-1).mean().item() == pytest.approx(1.0)


def test_position_update_norm_unit_mean_length() -> None:
    dp = torch.tensor([[3.0, 0, 0], [0, 1.0, 0], [0, 0, 10.0]], dtype=F64)
    out = PositionUpdateNorm(eps=0.0).double()(dp, torch.tensor([0, 0, 1]), 2)
    torch.testing.assert_close(out, torch.tensor([[1.5, 0, 0], [0, 0.5, 0], [0, 0, 1.0]], dtype=F64))


def test_time_embedding() -> None:
    t = torch.tensor([0.0, 0.5], dtype=F64)
    assert TimeEmbedding(1)(t).tolist() == [[0.0], [0.5]]
    emb = TimeEmbedding(6)(t)
    assert emb.shape == (2, 6) and emb[0].tolist() == [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="must be 1 or even"):
        TimeEmbedding(3)


def _rotate_irreps(v: torch.Tensor, layout: EquivariantLayout, rot: torch.Tensor) -> torch.Tensor:
    """v [N, C, D] -> rotated features: Cartesian v @ R^T at lmax = 1, D(R) v for irreps."""
    if layout.cartesian:
        return v @ rot.T
    return v @ wigner_D_from_matrix(layout.lmax, rot).T


@pytest.mark.parametrize("lmax", [1, 2, 3])
def test_equivariant_linear_and_gated_update_commute_with_rotation(lmax: int) -> None:
    torch.manual_seed(0)
    layout = EquivariantLayout(lmax)
    rot = rand_rotation(F64, torch.Generator().manual_seed(lmax))
    s = torch.randn(4, 6, dtype=F64)
    v = torch.randn(4, 5, layout.dim, dtype=F64)
    lin = EquivariantLinear(layout, 5, 3).double()
    torch.testing.assert_close(lin(_rotate_irreps(v, layout, rot)), _rotate_irreps(lin(v), layout, rot))
    update = GatedEquivariantUpdate(layout, 6, 5, use_mlp=True).double()
    ds, dv = update(s, v)
    ds_rot, dv_rot = update(s, _rotate_irreps(v, layout, rot))
    torch.testing.assert_close(ds_rot, ds)
    torch.testing.assert_close(dv_rot, _rotate_irreps(dv, layout, rot))


@pytest.mark.parametrize(("lmax", "tp"), [(1, "gaunt"), (2, "gaunt"), (2, "e3nn"), (3, "gaunt")])
def test_eqgat_layer_features_are_equivariant(lmax: int, tp: str) -> None:
    """One layer: s, e invariant; v rotates by D(R); positions rotate (hidden features, not only outputs)."""
    torch.manual_seed(0)
    layout = EquivariantLayout(lmax)
    layer = EQGATLayer(layout, 8, 4, 6, has_v_in=True, use_mlp_update=True, tensor_product=tp,
                       use_cross_product=True).double()
    gen = torch.Generator().manual_seed(3)
    rot = rand_rotation(F64, gen)
    n = 5
    edge_index = torch.stack([a.flatten() for a in torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")])
    edge_index = edge_index[:, edge_index[0] != edge_index[1]]
    pos = torch.randn(n, 3, dtype=F64, generator=gen)
    pos = pos - pos.mean(0)
    s = torch.randn(n, 8, dtype=F64, generator=gen)
    v = torch.randn(n, 4, layout.dim, dtype=F64, generator=gen)
    e = torch.randn(edge_index.shape[1], 6, dtype=F64, generator=gen)
    graph = GraphIndex.from_batch(torch.zeros(n, dtype=torch.long), torch.tensor([0, n]))
    sh_fn = None if layout.cartesian else (lambda u: spherical_harmonics(lmax, u))

    def run(p: torch.Tensor, vv: torch.Tensor):
        return layer(s, vv, p, e, edge_index, edge_geometry(p, edge_index, None, sh_fn), graph)

    s1, v1, p1, e1 = run(pos, v)
    s2, v2, p2, e2 = run(pos @ rot.T, _rotate_irreps(v, layout, rot))
    torch.testing.assert_close(s2, s1)
    torch.testing.assert_close(e2, e1)
    torch.testing.assert_close(p2, p1 @ rot.T)
    torch.testing.assert_close(v2, _rotate_irreps(v1, layout, rot))


def test_e3nn_channelwise_product_shapes_and_equivariance() -> None:
    torch.manual_seed(0)
    rot = rand_rotation(F64, torch.Generator().manual_seed(5))
    wig = wigner_D_from_matrix(2, rot)
    x, y = torch.randn(3, 4, 9, dtype=F64), torch.randn(3, 1, 9, dtype=F64)
    tp = E3nnChannelwiseProduct(2, 4, 1).double()
    out = tp(x, y)
    assert out.shape == (3, 4, 9)
    torch.testing.assert_close(tp(x @ wig.T, y @ wig.T), out @ wig.T)


def _two_molecules(sizes: tuple[int, int] = (3, 4)) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """ptr [3], batch [N] and fully connected edge_index [2, E] of two molecules."""
    ptr = torch.tensor([0, sizes[0], sizes[0] + sizes[1]])
    batch = torch.repeat_interleave(torch.arange(2), torch.tensor(sizes))
    pairs = [(j, i) for lo, hi in zip(ptr[:-1].tolist(), ptr[1:].tolist(), strict=True)
             for i in range(lo, hi) for j in range(lo, hi) if i != j]
    return ptr, batch, torch.tensor(pairs).T


@pytest.mark.parametrize("dense", [True, False])
def test_gaunt_edge_conv_equals_edge_by_edge_gaunt_conv(dense: bool) -> None:
    """GauntEdgeConv (dense blocks or sparse) equals GauntConv's messages summed edge by edge."""
    torch.manual_seed(0)
    ptr, batch, edge_index = _two_molecules()
    geom = edge_geometry(torch.randn(7, 3, dtype=F64), edge_index, None, lambda u: spherical_harmonics(2, u))
    x = torch.randn(7, 4, 9, dtype=F64)
    weight = torch.randn(edge_index.shape[1], 3, dtype=F64)
    conv = GauntEdgeConv(2, 4).double()
    out = conv(x, geom, weight, edge_index, GraphIndex.from_batch(batch, ptr, dense=dense))
    scale = (geom.dist / (1 + geom.dist)).view(-1, 1, 1)
    messages = conv.conv(x, geom.rel, weight.unsqueeze(1) * scale, edge_index[0])  # [E, C, K]
    reference = torch.zeros_like(x).index_add_(0, edge_index[1], messages)
    torch.testing.assert_close(out, reference)


def test_graph_index_chooses_dense_blocks_unless_padding_is_wasteful() -> None:
    assert GraphIndex.from_batch(torch.tensor([0, 0, 1, 1, 1]), torch.tensor([0, 2, 5])).dense
    sizes = torch.tensor([40] + [2] * 20)
    ptr = torch.cat([torch.zeros(1, dtype=torch.long), sizes.cumsum(0)])
    graph = GraphIndex.from_batch(torch.repeat_interleave(torch.arange(21), sizes), ptr)
    assert not graph.dense and graph.max_atoms == 40
    assert graph.local[:3].tolist() == [0, 1, 2] and graph.local[40:44].tolist() == [0, 1, 0, 1]


@pytest.mark.parametrize("lmax", [1, 2])
def test_dense_and_sparse_message_sums_agree(lmax: int) -> None:
    torch.manual_seed(0)
    ptr, batch, edge_index = _two_molecules((4, 2))
    layout = EquivariantLayout(lmax)
    sh_fn = None if layout.cartesian else (lambda u: spherical_harmonics(lmax, u))
    geom = edge_geometry(torch.randn(6, 3, dtype=F64), edge_index, None, sh_fn)
    messages = build_messages(layout, 3, has_v_in=True, tensor_product="gaunt", use_cross_product=True).double()
    w = torch.randn(edge_index.shape[1], messages.num_weights, dtype=F64)
    v = torch.randn(6, 3, layout.dim, dtype=F64)
    dense = messages(w, v, geom, edge_index, GraphIndex.from_batch(batch, ptr, dense=True))
    sparse = messages(w, v, geom, edge_index, GraphIndex.from_batch(batch, ptr, dense=False))
    torch.testing.assert_close(dense, sparse)


def test_cartesian_messages_match_edge_by_edge_reference() -> None:
    """Dense per-molecule sums equal the plain per-edge EQGAT-diff messages averaged over incoming edges."""
    torch.manual_seed(0)
    ptr, batch = torch.tensor([0, 2, 5]), torch.tensor([0, 0, 1, 1, 1])
    pairs = [(i, j) for lo, hi in ((0, 2), (2, 5)) for i in range(lo, hi) for j in range(lo, hi) if i != j]
    edge_index = torch.tensor(pairs).T
    src, dst = edge_index
    geom = edge_geometry(torch.randn(5, 3, dtype=F64), edge_index, None, None)
    v = torch.randn(5, 4, 3, dtype=F64)
    messages = CartesianMessages(4, has_v_in=True, use_cross_product=True).double()
    w = torch.randn(edge_index.shape[1], 12, dtype=F64)
    out = messages(w, v, geom, edge_index, GraphIndex.from_batch(batch, ptr))
    w0, w1, w2 = w.view(-1, 3, 4, 1).unbind(1)
    per_edge = w0 * geom.rel[:, None] + w1 * messages.value(v)[src] + w2 * torch.linalg.cross(v[dst], v[src], dim=-1)
    reference = torch.zeros_like(v).index_add_(0, dst, per_edge) / torch.bincount(dst).view(-1, 1, 1)
    torch.testing.assert_close(out, reference)
