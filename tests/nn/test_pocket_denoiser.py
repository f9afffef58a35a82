"""Pocket-conditioned EQGATDenoiser and diffusion (float64): the joint ligand + pocket system is
E(3)-equivariant, pocket atoms are fixed context that matters only within the cutoff, complexes do
not interact, and one reverse step commutes with rotating and translating pocket and ligand together."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from molgen.chem.molgraph import MolBatch, MolGraph
from molgen.chem.pocket_batch import NUM_RESIDUE_TYPES, PocketBatch
from molgen.chem.vocab import NUM_ATOM_TYPES
from molgen.config.schema import DiffusionConfig, ModelConfig
from molgen.diffusion.marginals import Marginals
from molgen.diffusion.process import MolecularDiffusion
from molgen.nn.denoiser import EQGATDenoiser
from tests.nn.test_denoiser import TINY, random_molecule

CUTOFF = 4.0


def random_pocket(m: int, gen: torch.Generator, shift: torch.Tensor) -> MolGraph:
    pos = torch.randn(m, 3, generator=gen, dtype=torch.float64) * 3.0 + shift
    return MolGraph(pos=pos, atom_types=torch.randint(0, 5, (m,), generator=gen),
                    charges=torch.zeros(m, dtype=torch.long),
                    bond_index=torch.zeros(2, 0, dtype=torch.long), bond_types=torch.zeros(0, dtype=torch.long),
                    props={"residue_type": torch.randint(0, NUM_RESIDUE_TYPES, (m,), generator=gen).tolist(),
                           "is_backbone": (torch.rand(m, generator=gen) < 0.3).tolist()})


def complex_batch(seed: int = 0, sizes=(5, 7), pocket_sizes=(30, 24)) -> MolBatch:
    gen = torch.Generator().manual_seed(seed)
    shifts = [torch.randn(3, generator=gen, dtype=torch.float64) * 10 for _ in sizes]
    ligands = []
    for n, shift in zip(sizes, shifts, strict=True):
        lig = random_molecule(n, gen)
        lig.pos = lig.pos + shift + 0.5
        ligands.append(lig)
    pockets = [random_pocket(m, gen, shift) for m, shift in zip(pocket_sizes, shifts, strict=True)]
    return replace(MolBatch.from_graphs(ligands), pocket=PocketBatch.from_graphs(pockets))


def transformed(batch: MolBatch, rot: torch.Tensor, shift: torch.Tensor) -> MolBatch:
    pocket = replace(batch.pocket, pos=batch.pocket.pos @ rot.T + shift)
    return replace(batch, pos=batch.pos @ rot.T + shift, pocket=pocket)


def random_rotation(seed: int) -> torch.Tensor:
    q, r = torch.linalg.qr(torch.randn(3, 3, generator=torch.Generator().manual_seed(seed), dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r))
    return q if torch.det(q) > 0 else -q


@pytest.fixture(scope="module", params=[1, 2], ids=["L1", "L2-gaunt"])
def model(request) -> EQGATDenoiser:
    torch.manual_seed(0)
    return EQGATDenoiser(ModelConfig(**TINY, lmax=request.param, pocket_cutoff=CUTOFF)).double().eval()


def test_rotating_and_translating_the_complex_moves_the_prediction_with_it(model: EQGATDenoiser) -> None:
    batch, t = complex_batch(), torch.tensor([0.3, 0.8], dtype=torch.float64)
    rot, shift = random_rotation(1), torch.tensor([3.0, -7.0, 11.0], dtype=torch.float64)
    out, moved = model(batch, t), model(transformed(batch, rot, shift), t)
    torch.testing.assert_close(moved.pos, out.pos @ rot.T + shift, atol=1e-9, rtol=0)
    torch.testing.assert_close(moved.atom_logits, out.atom_logits, atol=1e-9, rtol=0)
    torch.testing.assert_close(moved.bond_logits, out.bond_logits, atol=1e-9, rtol=0)
    assert torch.equal(out.edge_index, batch.fully_connected_edges())


def test_pocket_atom_order_does_not_matter(model: EQGATDenoiser) -> None:
    batch, t = complex_batch(seed=2), torch.tensor([0.5, 0.5], dtype=torch.float64)
    p = batch.pocket
    perm = torch.cat([torch.randperm(30, generator=torch.Generator().manual_seed(0)),
                      30 + torch.randperm(24, generator=torch.Generator().manual_seed(1))])
    shuffled = replace(p, pos=p.pos[perm], atom_types=p.atom_types[perm], residue_types=p.residue_types[perm],
                       backbone=p.backbone[perm])
    out, other = model(batch, t), model(replace(batch, pocket=shuffled), t)
    torch.testing.assert_close(other.pos, out.pos, atol=1e-9, rtol=0)
    torch.testing.assert_close(other.atom_logits, out.atom_logits, atol=1e-9, rtol=0)


def test_the_pocket_matters_only_within_the_cutoff_and_only_for_its_own_ligand(model: EQGATDenoiser) -> None:
    batch, t = complex_batch(seed=3), torch.tensor([0.4, 0.6], dtype=torch.float64)
    out = model(batch, t)
    near = batch.pocket.pos.clone()
    near[:30] += 0.3 * torch.randn(30, 3, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    changed = model(replace(batch, pocket=replace(batch.pocket, pos=near)), t)
    assert not torch.allclose(changed.atom_logits[:5], out.atom_logits[:5], atol=1e-6)  # its ligand sees it
    torch.testing.assert_close(changed.atom_logits[5:], out.atom_logits[5:], atol=1e-12, rtol=0)  # not the other
    lonely = PocketBatch.from_graphs([
        random_pocket(30, torch.Generator().manual_seed(0), torch.zeros(3, dtype=torch.float64)),
        random_pocket(24, torch.Generator().manual_seed(1), torch.zeros(3, dtype=torch.float64))])
    # every pocket atom beyond cutoff + margin of every ligand atom: the prediction cannot depend on its elements
    lonely.pos = batch.pos.mean(0) + 1000.0 + lonely.pos
    a = model(replace(batch, pocket=lonely), t)
    b = model(replace(batch, pocket=replace(lonely, atom_types=(lonely.atom_types + 1) % NUM_ATOM_TYPES)), t)
    torch.testing.assert_close(a.atom_logits, b.atom_logits, atol=1e-12, rtol=0)


def test_a_pocket_model_refuses_a_batch_without_pocket_and_vice_versa(model: EQGATDenoiser) -> None:
    batch, t = complex_batch(), torch.rand(2, dtype=torch.float64)
    with pytest.raises(ValueError, match="needs batch.pocket"):
        model(replace(batch, pocket=None), t)
    plain = EQGATDenoiser(ModelConfig(**TINY)).double()
    with pytest.raises(ValueError, match="needs batch.pocket"):
        plain(batch, t)


def _diffusion() -> MolecularDiffusion:
    uniform = lambda k: torch.full((k,), 1.0 / k, dtype=torch.float64)  # noqa: E731
    from molgen.chem.vocab import NUM_BOND_TYPES, NUM_CHARGES

    marg = Marginals(atom_types=uniform(NUM_ATOM_TYPES), charges=uniform(NUM_CHARGES), bonds=uniform(NUM_BOND_TYPES),
                     num_atoms=uniform(10))
    return MolecularDiffusion(DiffusionConfig(num_steps=50), marg)


def test_noise_and_prior_live_around_the_pocket_centre() -> None:
    diffusion, batch = _diffusion(), complex_batch(seed=4)
    centres = batch.pocket.centres()
    prior = diffusion.prior(torch.tensor([400, 300]), dtype=torch.float64, pocket=batch.pocket,
                            generator=torch.Generator().manual_seed(0))
    for g in range(2):
        atoms = prior.pos[prior.batch == g]
        assert (atoms.mean(0) - centres[g]).norm() < 0.3  # N(o, I): the mean of 300+ atoms is within 0.3 A
        assert 0.85 < atoms.std(0).mean() < 1.15
    away = replace(batch, pos=batch.pos + 20.0)  # ligands 35 A from their pockets' centres
    pure = diffusion.noise(away, torch.tensor([50, 50]), torch.Generator().manual_seed(0))
    assert pure.pocket is batch.pocket
    assert float((pure.pos - centres[pure.batch]).norm(dim=-1).max()) < 6.0  # k = T: N(o, I), input forgotten
    kept = diffusion.noise(away, torch.tensor([1, 1]), torch.Generator().manual_seed(0))
    assert float((kept.pos - away.pos).norm(dim=-1).max()) < 0.1  # k = 1: the input, not re-centred


def test_a_reverse_step_commutes_with_moving_the_complex(model: EQGATDenoiser) -> None:
    diffusion, batch = _diffusion(), complex_batch(seed=5)
    rot, shift = random_rotation(7), torch.tensor([-4.0, 2.0, 9.0], dtype=torch.float64)
    noise = torch.randn(batch.pos.shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    k_t, k_s = torch.tensor([30, 30]), torch.tensor([20, 20])
    post = diffusion.posterior(model, batch, k_t, k_s)
    step = diffusion.sample_posterior(post, batch, coord_noise=noise)
    moved = transformed(batch, rot, shift)
    post_m = diffusion.posterior(model, moved, k_t, k_s)
    step_m = diffusion.sample_posterior(post_m, moved, coord_noise=noise @ rot.T)
    torch.testing.assert_close(step_m.pos, step.pos @ rot.T + shift, atol=1e-9, rtol=0)
    torch.testing.assert_close(post_m.atom_probs, post.atom_probs, atol=1e-9, rtol=0)


def test_training_loss_backpropagates_through_the_pocket_model() -> None:
    torch.manual_seed(0)
    model = EQGATDenoiser(ModelConfig(**TINY, lmax=2, pocket_cutoff=CUTOFF))
    batch = complex_batch(seed=6)
    batch = replace(batch, pos=batch.pos.float(), pocket=replace(batch.pocket, pos=batch.pocket.pos.float()))
    terms = _diffusion().training_loss(model, batch, torch.Generator().manual_seed(0))
    terms["loss"].backward()
    assert torch.isfinite(terms["loss"])
    missing = [n for n, p in model.named_parameters() if p.grad is None or not bool(p.grad.abs().sum() > 0)]
    assert not missing, missing
