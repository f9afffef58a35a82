"""EQGATDenoiser: contract shapes, SE(3)/permutation equivariance (float64), gradients, real QM9 input."""

from __future__ import annotations

import pytest
import torch

from molgen.chem.molgraph import MolBatch, MolGraph
from molgen.chem.vocab import (
    EXTRA_ATOM_FEATURE_DIM,
    NUM_ATOM_TYPES,
    NUM_BOND_TYPES,
    NUM_CHARGES,
    NUM_HYBRIDIZATIONS,
    element_index,
)
from molgen.config.schema import ModelConfig
from molgen.nn.denoiser import EQGATDenoiser
from molgen.nn.geometry import reverse_edge_index
from molgen.testing import assert_equivariant

TINY = dict(num_layers=2, scalar_dim=16, vector_dim=8, edge_dim=8, time_embedding_dim=4)


def random_molecule(n: int, gen: torch.Generator, extra: bool = False) -> MolGraph:
    """Random molecule of n atoms in float64 with a random noisy bond state."""
    pos = torch.randn(n, 3, generator=gen, dtype=torch.float64) * 1.5
    i, j = torch.triu_indices(n, n, offset=1)
    keep = torch.rand(i.shape[0], generator=gen) < 0.4
    bond_index = torch.stack([i[keep], j[keep]])
    graph = MolGraph(pos=pos, atom_types=torch.randint(0, NUM_ATOM_TYPES, (n,), generator=gen),
                     charges=torch.randint(-2, 4, (n,), generator=gen), bond_index=bond_index,
                     bond_types=torch.randint(1, NUM_BOND_TYPES, (bond_index.shape[1],), generator=gen))
    if extra:
        graph.is_aromatic = torch.rand(n, generator=gen) < 0.5
        graph.is_in_ring = torch.rand(n, generator=gen) < 0.5
        graph.hybridization = torch.randint(0, NUM_HYBRIDIZATIONS, (n,), generator=gen)
    return graph.validate()


def random_batch(sizes: tuple[int, ...] = (5, 7, 4), seed: int = 0, extra: bool = False) -> MolBatch:
    gen = torch.Generator().manual_seed(seed)
    return MolBatch.from_graphs([random_molecule(n, gen, extra) for n in sizes])


def as_tensor_function(model: EQGATDenoiser, template: MolBatch):
    """(inputs, fn, output kinds) for :func:`assert_equivariant`: the denoiser as a function of tensors.

    Bond logits are read out at a fixed list of atom pairs (an ``edge_index`` input, relabelled by the
    permutation check), so they can be compared as invariant edge scalars.
    """
    pairs = template.fully_connected_edges()

    def fn(pos, atom_types, charges, batch, bond_index, bond_types, pairs, t):
        mol = MolBatch(pos=pos, atom_types=atom_types, charges=charges, bond_index=bond_index, bond_types=bond_types,
                       batch=batch, ptr=template.ptr)
        out = model(mol, t)
        n = pos.shape[0]
        dense = out.bond_logits.new_zeros(n, n, out.bond_logits.shape[-1])
        dense[out.edge_index[0], out.edge_index[1]] = out.bond_logits
        return out.pos, out.atom_logits, out.charge_logits, dense[pairs[0], pairs[1]]

    t = torch.linspace(0.1, 0.9, template.num_graphs, dtype=torch.float64)
    inputs = [("pos", template.pos), ("scalar", template.atom_types), ("scalar", template.charges),
              ("batch", template.batch), ("edge_index", template.bond_index), ("edge_scalar", template.bond_types),
              ("edge_index", pairs), ("global", t)]
    # predicted coordinates are centred per molecule: they rotate but do not translate ("vec")
    return inputs, fn, ["vec", "scalar", "scalar", "edge_scalar"]


def moved(batch: MolBatch, pos: torch.Tensor) -> MolBatch:
    return MolBatch(pos=pos, atom_types=batch.atom_types, charges=batch.charges, bond_index=batch.bond_index,
                    bond_types=batch.bond_types, batch=batch.batch, ptr=batch.ptr)


@pytest.fixture(scope="module", params=[(lmax, cross, path) for lmax in (1, 2) for cross in (False, True)
                                        for path in ("dense", "reference")],
                ids=lambda p: f"L{p[0]}x{p[1]}-{p[2]}")
def model(request) -> EQGATDenoiser:
    """Every shape test and the equivariance tests run on both implementations (dense fast path, reference)."""
    torch.manual_seed(0)
    lmax, cross, path = request.param
    return EQGATDenoiser(ModelConfig(**TINY, lmax=lmax, use_cross_product=cross), path=path).double().eval()


def test_output_contract_shapes_and_centring(model: EQGATDenoiser) -> None:
    batch = random_batch()
    out = model(batch, torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64))
    n, e = 16, 5 * 4 + 7 * 6 + 4 * 3
    assert out.pos.shape == (n, 3)
    assert out.atom_logits.shape == (n, NUM_ATOM_TYPES) and out.charge_logits.shape == (n, NUM_CHARGES)
    assert torch.equal(out.edge_index, batch.fully_connected_edges()) and out.edge_index.shape == (2, e)
    assert out.bond_logits.shape == (e, NUM_BOND_TYPES) and out.extra_logits == {}
    centre = torch.zeros(3, 3, dtype=torch.float64).index_add_(0, batch.batch, out.pos)
    torch.testing.assert_close(centre, torch.zeros_like(centre), atol=1e-10, rtol=0)


@pytest.mark.parametrize("seed", [0, 1])
def test_rotation_translation_permutation_equivariance(model: EQGATDenoiser, seed: int) -> None:
    inputs, fn, outputs = as_tensor_function(model, random_batch(seed=seed))
    errors = assert_equivariant(fn, inputs, outputs, atol=1e-9, seed=seed)
    assert set(errors) == {"rotation", "translation", "permutation"}


def test_bond_logits_symmetric(model: EQGATDenoiser) -> None:
    batch = random_batch(seed=3)
    out = model(batch, torch.full((3,), 0.5, dtype=torch.float64))
    reverse = reverse_edge_index(out.edge_index, 16)
    torch.testing.assert_close(out.bond_logits[reverse], out.bond_logits, atol=1e-12, rtol=0)


@pytest.mark.parametrize("lmax", [1, 2])
def test_gradients_reach_every_parameter(lmax: int) -> None:
    torch.manual_seed(0)
    model = EQGATDenoiser(ModelConfig(**TINY, lmax=lmax, use_cross_product=True))
    batch = random_batch(seed=4)
    batch.pos = batch.pos.float()
    out = model(batch, torch.rand(3))
    loss = (out.pos.pow(2).sum() + out.atom_logits.logsumexp(-1).sum() + out.charge_logits.logsumexp(-1).sum()
            + out.bond_logits.logsumexp(-1).sum())
    loss.backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None or not bool(p.grad.abs().sum() > 0)]
    assert not missing, f"parameters without gradient: {missing}"


def test_time_changes_the_prediction() -> None:
    torch.manual_seed(0)
    model = EQGATDenoiser(ModelConfig(**TINY)).double()
    batch = random_batch(seed=5)
    early, late = model(batch, torch.zeros(3, dtype=torch.float64)), model(batch, torch.ones(3, dtype=torch.float64))
    assert not torch.allclose(early.atom_logits, late.atom_logits)


def test_molecules_do_not_interact() -> None:
    """Changing one molecule of the batch leaves the predictions for the others unchanged."""
    torch.manual_seed(0)
    model = EQGATDenoiser(ModelConfig(**TINY, lmax=2)).double()
    batch, t = random_batch(seed=6), torch.full((3,), 0.4, dtype=torch.float64)
    other = batch.pos.clone()
    other[:5] += torch.randn(5, 3, dtype=torch.float64)
    out, out_other = model(batch, t), model(moved(batch, other), t)
    torch.testing.assert_close(out_other.atom_logits[5:], out.atom_logits[5:], atol=1e-12, rtol=0)
    torch.testing.assert_close(out_other.pos[5:], out.pos[5:], atol=1e-12, rtol=0)
    assert not torch.allclose(out_other.atom_logits[:5], out.atom_logits[:5])


def test_extra_atom_feature_heads() -> None:
    model = EQGATDenoiser(ModelConfig(**TINY, extra_atom_features=EXTRA_ATOM_FEATURE_DIM)).double()
    out = model(random_batch(extra=True), torch.rand(3, dtype=torch.float64))
    shapes = {k: tuple(v.shape) for k, v in out.extra_logits.items()}
    assert shapes == {"is_aromatic": (16, 2), "is_in_ring": (16, 2), "hybridization": (16, NUM_HYBRIDIZATIONS)}
    with pytest.raises(ValueError, match="MolBatch.is_aromatic is None"):
        model(random_batch(), torch.rand(3, dtype=torch.float64))


def test_bad_arguments_are_rejected_with_clear_errors() -> None:
    with pytest.raises(ValueError, match="extra_atom_features must be 0 or 11"):
        EQGATDenoiser(ModelConfig(**TINY, extra_atom_features=3))
    with pytest.raises(ValueError, match="tensor_product"):
        EQGATDenoiser(ModelConfig(**TINY, tensor_product="fft"))
    with pytest.raises(ValueError, match=r"t must have shape \[G\] = \(3,\)"):
        EQGATDenoiser(ModelConfig(**TINY))(random_batch(), torch.rand(2))


@pytest.mark.parametrize("kwargs", [dict(lmax=3, use_cross_product=True), dict(lmax=2, tensor_product="e3nn")],
                         ids=["L3-gaunt", "L2-e3nn"])
def test_higher_degree_and_e3nn_models_are_equivariant(kwargs: dict) -> None:
    torch.manual_seed(0)
    model = EQGATDenoiser(ModelConfig(**TINY, **kwargs)).double()
    inputs, fn, outputs = as_tensor_function(model, random_batch(seed=8))
    assert_equivariant(fn, inputs, outputs, atol=1e-9, seed=8)


def test_cutoff_model_is_equivariant() -> None:
    torch.manual_seed(0)
    model = EQGATDenoiser(ModelConfig(**TINY, lmax=2, cutoff=2.5)).double()
    inputs, fn, outputs = as_tensor_function(model, random_batch(seed=7))
    assert_equivariant(fn, inputs, outputs, atol=1e-9, seed=7)


def test_paper_size_has_about_12m_parameters() -> None:
    """EQGAT-diff's QM9/GEOM model (12 layers, 256/256/128) has about 12M parameters (Le et al., 2024)."""
    model = EQGATDenoiser(ModelConfig(num_layers=12, scalar_dim=256, vector_dim=256, edge_dim=128, lmax=1))
    count = sum(p.numel() for p in model.parameters())
    assert 11.5e6 < count < 12.8e6, count


def _qm9_graphs(path, count: int) -> list[MolGraph]:
    from rdkit import Chem

    bond_class = {Chem.BondType.SINGLE: 1, Chem.BondType.DOUBLE: 2, Chem.BondType.TRIPLE: 3,
                  Chem.BondType.AROMATIC: 4}
    graphs = []
    for mol in Chem.SDMolSupplier(str(path), removeHs=False, sanitize=False):
        if len(graphs) == count:
            break
        bonds = sorted((min(b.GetBeginAtomIdx(), b.GetEndAtomIdx()), max(b.GetBeginAtomIdx(), b.GetEndAtomIdx()),
                        bond_class[b.GetBondType()]) for b in mol.GetBonds())
        graphs.append(MolGraph(
            pos=torch.tensor(mol.GetConformer().GetPositions(), dtype=torch.float32),
            atom_types=torch.tensor([element_index(a.GetSymbol()) for a in mol.GetAtoms()]),
            charges=torch.tensor([a.GetFormalCharge() for a in mol.GetAtoms()]),
            bond_index=torch.tensor([[i for i, _, _ in bonds], [j for _, j, _ in bonds]]).reshape(2, -1),
            bond_types=torch.tensor([c for _, _, c in bonds], dtype=torch.long)).validate())
    return graphs


@pytest.mark.parametrize("lmax", [1, 2])
def test_tiny_model_runs_on_real_qm9_molecules(shared_data, lmax: int) -> None:
    graphs = _qm9_graphs(shared_data / "qm9" / "gdb9_first100" / "gdb9.sdf", 40)[-8:]
    batch = MolBatch.from_graphs([g.centered() for g in graphs])
    assert 8 <= int(batch.num_atoms.max()) <= 29
    torch.manual_seed(0)
    out = EQGATDenoiser(ModelConfig(**TINY, lmax=lmax))(batch, torch.linspace(0, 1, 8))
    assert out.pos.shape == batch.pos.shape and bool(torch.isfinite(out.pos).all())
    assert bool(torch.isfinite(out.bond_logits).all()) and out.bond_logits.shape[0] == out.edge_index.shape[1]
