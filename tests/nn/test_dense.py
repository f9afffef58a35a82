"""The dense fast path of the denoiser equals the edge-list reference in float64: outputs and gradients.

Both paths share every parameter; the models here differ only in ``path``. Compared: predicted
coordinates, atom/charge/extra logits, bond logits (in ``fully_connected_edges`` order), the
gradient of a loss with respect to every parameter and to the input coordinates, on random
batches of very different sizes (1-atom molecules included) and on real QM9 molecules.
"""

from __future__ import annotations

import pytest
import torch

from molgen.chem.molgraph import MolBatch
from molgen.chem.vocab import EXTRA_ATOM_FEATURE_DIM
from molgen.config.schema import ModelConfig
from molgen.nn.denoiser import EQGATDenoiser
from molgen.nn.dense import DenseGraph, masked_softmax
from molgen.nn.scatter import segment_softmax
from tests.nn.test_denoiser import TINY, _qm9_graphs, random_batch

ATOL = 1e-10

CONFIGS = {
    "L1": dict(lmax=1),
    "L1_cross": dict(lmax=1, use_cross_product=True),
    "L2_gaunt": dict(lmax=2),
    "L2_gaunt_cross_extra": dict(lmax=2, use_cross_product=True, extra_atom_features=EXTRA_ATOM_FEATURE_DIM),
    "L3_gaunt_cutoff": dict(lmax=3, cutoff=3.0),
    "L1_time1_3layers": dict(lmax=1, time_embedding_dim=1, num_layers=3),
}


def pair(kwargs: dict) -> tuple[EQGATDenoiser, EQGATDenoiser]:
    torch.manual_seed(0)
    dense = EQGATDenoiser(ModelConfig(**{**TINY, **kwargs}), path="dense").double()
    reference = EQGATDenoiser(ModelConfig(**{**TINY, **kwargs}), path="reference").double()
    reference.load_state_dict(dense.state_dict())
    return dense, reference


def loss_of(out) -> torch.Tensor:
    """A loss touching every output, with weights that break symmetries between entries."""
    w = torch.linspace(0.5, 1.5, out.bond_logits.numel(), dtype=out.bond_logits.dtype).view_as(out.bond_logits)
    extra = sum((v * v).sum() for v in out.extra_logits.values())
    return ((out.pos * out.pos.flip(0)).sum() + out.atom_logits.logsumexp(-1).pow(2).sum()
            + out.charge_logits.pow(2).sum() + (w * out.bond_logits).sum() + extra)


def run(model: EQGATDenoiser, batch: MolBatch, t: torch.Tensor):
    pos = batch.pos.clone().requires_grad_(True)
    moved = MolBatch(pos=pos, atom_types=batch.atom_types, charges=batch.charges, bond_index=batch.bond_index,
                     bond_types=batch.bond_types, batch=batch.batch, ptr=batch.ptr, is_aromatic=batch.is_aromatic,
                     is_in_ring=batch.is_in_ring, hybridization=batch.hybridization)
    model.zero_grad(set_to_none=True)
    out = model(moved, t)
    loss_of(out).backward()
    grads = {name: p.grad.clone() for name, p in model.named_parameters()}
    return out, grads, pos.grad.clone()


def assert_paths_equal(dense: EQGATDenoiser, reference: EQGATDenoiser, batch: MolBatch) -> None:
    t = torch.linspace(0.05, 0.95, batch.num_graphs, dtype=torch.float64)
    out_d, grads_d, pos_d = run(dense, batch, t)
    out_r, grads_r, pos_r = run(reference, batch, t)
    assert torch.equal(out_d.edge_index, out_r.edge_index)
    for name in ("pos", "atom_logits", "charge_logits", "bond_logits"):
        torch.testing.assert_close(getattr(out_d, name), getattr(out_r, name), atol=ATOL, rtol=0, msg=name)
    assert out_d.extra_logits.keys() == out_r.extra_logits.keys()
    for name in out_d.extra_logits:
        torch.testing.assert_close(out_d.extra_logits[name], out_r.extra_logits[name], atol=ATOL, rtol=0)
    torch.testing.assert_close(pos_d, pos_r, atol=ATOL, rtol=0, msg="d loss / d pos")
    for name, grad in grads_r.items():
        assert bool(grad.abs().sum() > 0), f"{name}: zero gradient, the comparison would be empty"
        torch.testing.assert_close(grads_d[name], grad, atol=ATOL, rtol=0, msg=name)


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("sizes", [(5, 7, 4), (1, 9, 2, 3), (12,)], ids=["mixed", "tiny", "single"])
def test_dense_path_equals_reference_on_random_molecules(name: str, sizes: tuple[int, ...]) -> None:
    dense, reference = pair(CONFIGS[name])
    assert dense.path == "dense" and reference.path == "reference"
    extra = "extra_atom_features" in CONFIGS[name]
    assert_paths_equal(dense, reference, random_batch(sizes, seed=len(sizes), extra=extra))


@pytest.mark.parametrize("name", ["L1", "L2_gaunt"])
def test_dense_path_equals_reference_on_real_qm9(shared_data, name: str) -> None:
    graphs = _qm9_graphs(shared_data / "qm9" / "gdb9_first100" / "gdb9.sdf", 60)[30:46]
    batch = MolBatch.from_graphs([g.centered() for g in graphs])
    batch.pos = batch.pos.double()
    dense, reference = pair(CONFIGS[name])
    assert_paths_equal(dense, reference, batch)


def test_default_path_is_dense_where_supported() -> None:
    assert EQGATDenoiser(ModelConfig(**TINY, lmax=2)).path == "dense"
    assert EQGATDenoiser(ModelConfig(**TINY, lmax=1)).path == "dense"
    assert EQGATDenoiser(ModelConfig(**TINY, lmax=2, tensor_product="e3nn")).path == "reference"
    with pytest.raises(ValueError, match="dense path needs"):
        EQGATDenoiser(ModelConfig(**TINY, lmax=2, tensor_product="e3nn"), path="dense")
    with pytest.raises(ValueError, match="path must be"):
        EQGATDenoiser(ModelConfig(**TINY), path="fast")


def test_masked_softmax_equals_segment_softmax() -> None:
    gen = torch.Generator().manual_seed(0)
    batch = random_batch((3, 1, 5), seed=2)
    graph = DenseGraph.from_ptr(batch.ptr, batch.batch, torch.float64)
    logits = torch.randn(3, 5, 5, 4, generator=gen, dtype=torch.float64) * 30  # large: tests the shift
    edges = batch.fully_connected_edges()
    sparse = segment_softmax(graph.edges_to_sparse(logits.transpose(1, 2)).contiguous(), edges[1], 9)
    dense = masked_softmax(logits.transpose(1, 2), graph.pair)  # [g, dst, src]
    torch.testing.assert_close(graph.edges_to_sparse(dense), sparse, atol=1e-14, rtol=0)
    assert bool(torch.isfinite(dense).all()) and float(dense[1, 0].abs().sum()) == 0.0  # 1-atom molecule: no edge
