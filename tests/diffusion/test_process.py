"""The joint process: loss invariance, equivariance of one full reverse step (float64), sampling."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from standin import StandInDenoiser, toy_marginals, toy_molecules

from molgen.chem.molgraph import MolBatch, MolGraph
from molgen.config.schema import DiffusionConfig
from molgen.diffusion.process import MolecularDiffusion, upper_pairs
from molgen.diffusion.reverse import fixed_or_sampled_atoms, sample_batch, step_schedule

EXTRAS = ("is_aromatic", "hybridization")


def _rotation(seed: int) -> torch.Tensor:
    q, r = torch.linalg.qr(torch.randn(3, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)))
    q = q * torch.sign(torch.diagonal(r))
    return q if torch.det(q) > 0 else -q


def _with_extras(graphs: list[MolGraph]) -> list[MolGraph]:
    return [replace(g, is_aromatic=torch.zeros(g.num_atoms, dtype=torch.bool),
                    hybridization=torch.arange(g.num_atoms) % 7) for g in graphs]


def _setup(extras: tuple[str, ...] = EXTRAS) -> tuple[MolecularDiffusion, StandInDenoiser, MolBatch]:
    torch.manual_seed(0)
    diffusion = MolecularDiffusion(DiffusionConfig(num_steps=50), toy_marginals(), extra_features=extras)
    model = StandInDenoiser(extra={"is_aromatic": 2, "hybridization": 7}).double()
    return diffusion, model, MolBatch.from_graphs(_with_extras(toy_molecules()))


def _permute_within(batch: MolBatch, seed: int) -> tuple[MolBatch, torch.Tensor]:
    """Permute atoms inside each molecule; returns the batch and perm with new[i] = old[perm[i]]."""
    gen = torch.Generator().manual_seed(seed)
    perm = torch.cat([lo + torch.randperm(hi - lo, generator=gen)
                      for lo, hi in zip(batch.ptr[:-1].tolist(), batch.ptr[1:].tolist(), strict=True)])
    inverse = torch.argsort(perm)
    i, j = inverse[batch.bond_index]
    bond_index = torch.stack([torch.minimum(i, j), torch.maximum(i, j)])
    extras = {k: getattr(batch, k)[perm] for k in EXTRAS if getattr(batch, k) is not None}
    return replace(batch, pos=batch.pos[perm], atom_types=batch.atom_types[perm], charges=batch.charges[perm],
                   bond_index=bond_index, **extras), perm


def _dense(probs: torch.Tensor, pairs: torch.Tensor, n: int) -> torch.Tensor:
    out = torch.zeros(n, n, probs.shape[1], dtype=probs.dtype)
    out[pairs[0], pairs[1]] = probs
    out[pairs[1], pairs[0]] = probs
    return out


def test_loss_is_invariant_to_rotation_translation_permutation() -> None:
    diffusion, model, clean = _setup()
    k = torch.tensor([5, 25, 45])
    noisy = diffusion.noise(clean, k, torch.Generator().manual_seed(3))
    base = diffusion.loss(clean, k, model(noisy, diffusion.time(k, torch.float64)))
    rot, shift = _rotation(1), torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)
    clean_r = replace(clean, pos=clean.pos @ rot.T + shift)
    noisy_r = replace(noisy, pos=noisy.pos @ rot.T + shift)
    moved = diffusion.loss(clean_r, k, model(noisy_r, diffusion.time(k, torch.float64)))
    clean_p, perm = _permute_within(clean, 7)
    noisy_p, _ = _permute_within(noisy, 7)
    permuted = diffusion.loss(clean_p, k, model(noisy_p, diffusion.time(k, torch.float64)))
    assert set(base) == {"loss", "coords", "atom_types", "charges", "bonds", *EXTRAS}
    for key in base:
        assert torch.allclose(moved[key], base[key], atol=1e-10), key
        assert torch.allclose(permuted[key], base[key], atol=1e-10), key
    assert float(base["loss"].detach()) > 0


def test_one_reverse_step_is_equivariant_in_float64() -> None:
    diffusion, model, clean = _setup()
    k_t, k_s = torch.tensor([30, 30, 30]), torch.tensor([20, 20, 20])
    state = diffusion.noise(clean, k_t, torch.Generator().manual_seed(0))
    rot, shift = _rotation(2), torch.tensor([0.5, 4.0, -1.0], dtype=torch.float64)
    post = diffusion.posterior(model, state, k_t, k_s)
    post_r = diffusion.posterior(model, replace(state, pos=state.pos @ rot.T + shift), k_t, k_s)
    assert torch.allclose(post_r.coord_mean, post.coord_mean @ rot.T, atol=1e-10)
    for a, b in [(post.atom_probs, post_r.atom_probs), (post.charge_probs, post_r.charge_probs),
                 (post.bond_probs, post_r.bond_probs), (post.coord_var, post_r.coord_var)]:
        assert torch.allclose(a, b, atol=1e-10)
    noise = torch.randn(state.pos.shape, dtype=torch.float64)
    new = diffusion.sample_posterior(post, state, torch.Generator().manual_seed(5), coord_noise=noise)
    new_r = diffusion.sample_posterior(post_r, state, torch.Generator().manual_seed(5), coord_noise=noise @ rot.T)
    assert torch.allclose(new_r.pos, new.pos @ rot.T, atol=1e-10)
    assert torch.equal(new_r.atom_types, new.atom_types) and torch.equal(new_r.bond_types, new.bond_types)
    # Permutation: every output is permuted the same way.
    state_p, perm = _permute_within(state, 11)
    post_p = diffusion.posterior(model, state_p, k_t, k_s)
    assert torch.allclose(post_p.coord_mean, post.coord_mean[perm], atol=1e-10)
    assert torch.allclose(post_p.atom_probs, post.atom_probs[perm], atol=1e-10)
    assert torch.allclose(post_p.extra_probs["hybridization"], post.extra_probs["hybridization"][perm], atol=1e-10)
    n = state.pos.shape[0]
    dense, dense_p = _dense(post.bond_probs, post.pairs, n), _dense(post_p.bond_probs, post_p.pairs, n)
    assert torch.allclose(dense_p, dense[perm][:, perm], atol=1e-10)


def test_noise_keeps_bonds_upper_triangular_and_positions_centred() -> None:
    diffusion, _, clean = _setup()
    noisy = diffusion.noise(clean, torch.tensor([50, 50, 50]), torch.Generator().manual_seed(0))
    for g in noisy.to_graphs():
        g.validate()
        assert torch.allclose(g.pos.mean(0), torch.zeros(3, dtype=torch.float64), atol=1e-12)
    pairs = upper_pairs(clean)
    assert pairs.shape[1] == 3 + 6 + 6 and bool((pairs[0] < pairs[1]).all())
    # At k = 0 nothing is noised.
    same = diffusion.noise(clean, torch.zeros(3, dtype=torch.long), torch.Generator().manual_seed(0))
    assert torch.equal(same.bond_types, clean.bond_types) and torch.equal(same.atom_types, clean.atom_types)


def test_step_schedule_jumps_from_T_to_zero() -> None:
    for steps in (500, 100, 50, 1):
        grid = step_schedule(500, steps)
        assert grid[0] == 500 and grid[-1] == 0 and len(grid) == steps + 1
        assert all(a > b for a, b in zip(grid[:-1], grid[1:], strict=True))
    assert len(step_schedule(500, 50)) - 1 == 50
    with pytest.raises(ValueError, match="sampling steps"):
        step_schedule(500, 501)


def test_sampling_is_reproducible_and_valid() -> None:
    diffusion, model, _ = _setup()
    atoms = fixed_or_sampled_atoms(diffusion, 4, None, torch.Generator().manual_seed(0))
    assert set(atoms.tolist()) <= {3, 4, 5}
    grid = step_schedule(diffusion.num_steps, 10)
    runs = [sample_batch(model, diffusion, atoms, grid=grid, generator=torch.Generator().manual_seed(42),
                         dtype=torch.float64) for _ in range(2)]
    other = sample_batch(model, diffusion, atoms, grid=grid, generator=torch.Generator().manual_seed(43),
                         dtype=torch.float64)
    assert torch.equal(runs[0].pos, runs[1].pos) and torch.equal(runs[0].bond_index, runs[1].bond_index)
    assert not torch.equal(runs[0].pos, other.pos)
    graphs = runs[0].to_graphs()
    assert [g.num_atoms for g in graphs] == atoms.tolist()
    for g in graphs:
        g.validate()
        assert g.hybridization is not None and g.is_aromatic.dtype == torch.bool
    fixed = fixed_or_sampled_atoms(diffusion, 3, 7)
    assert fixed.tolist() == [7, 7, 7]


def test_renoise_keeps_each_frame_and_noise_is_renoise_from_zero() -> None:
    """The joint q(x_t | x_s): centred molecules stay centred, classes at s = t are kept, and :meth:`noise`
    is renoise from step 0 (same draws, same result)."""
    diffusion, _, clean = _setup()
    k_s, k_t = torch.tensor([0, 10, 30]), torch.tensor([20, 10, 49])
    noisy = diffusion.renoise(clean, k_s, k_t, torch.Generator().manual_seed(1))
    g = clean.num_graphs
    assert float(torch.zeros(g, 3, dtype=noisy.pos.dtype).index_add_(0, noisy.batch, noisy.pos).abs().max()) < 1e-9
    unchanged = noisy.batch == 1  # s = t: the classes are kept
    assert torch.equal(noisy.atom_types[unchanged], clean.atom_types[unchanged])
    assert torch.equal(noisy.hybridization[unchanged], clean.hybridization[unchanged])
    again = diffusion.noise(clean, k_t, torch.Generator().manual_seed(1))
    from_zero = diffusion.renoise(clean, torch.zeros_like(k_t), k_t, torch.Generator().manual_seed(1))
    assert torch.equal(again.pos, from_zero.pos) and torch.equal(again.bond_index, from_zero.bond_index)
    assert torch.equal(again.atom_types, from_zero.atom_types) and torch.equal(again.charges, from_zero.charges)


def test_renoise_in_a_pocket_batch_is_around_the_pocket_centre() -> None:
    from molgen.chem.pocket_batch import PocketBatch

    diffusion, _, _ = _setup(extras=())
    g, o = 4000, torch.tensor([10.0, -3.0, 4.0], dtype=torch.float64)
    pocket = PocketBatch(pos=o.expand(2 * g, 3).clone(), atom_types=torch.zeros(2 * g, dtype=torch.long),
                         residue_types=torch.zeros(2 * g, dtype=torch.long),
                         backbone=torch.zeros(2 * g, dtype=torch.bool), batch=torch.arange(g).repeat_interleave(2),
                         ptr=torch.arange(0, 2 * g + 1, 2))
    state = diffusion.prior(torch.full((g,), 3), dtype=torch.float64, pocket=pocket,
                            generator=torch.Generator().manual_seed(0))
    state = replace(state, pos=o + torch.tensor([2.0, 0.0, 0.0], dtype=torch.float64).expand_as(state.pos))
    k_s, k_t = torch.full((g,), 5), torch.full((g,), 40)
    same = diffusion.renoise(state, k_s, k_s, torch.Generator().manual_seed(1))
    assert torch.allclose(same.pos, state.pos, atol=1e-12)  # nothing is centred in the receptor frame
    noisy = diffusion.renoise(state, k_s, k_t, torch.Generator().manual_seed(1))
    a = float(diffusion.coords.schedule.transition(k_t[:1], k_s[:1]))
    expected = o + a ** 0.5 * torch.tensor([2.0, 0.0, 0.0], dtype=torch.float64)
    assert torch.allclose(noisy.pos.mean(0), expected, atol=0.03)
    assert torch.allclose(noisy.pos.var(0), torch.full((3,), 1 - a, dtype=torch.float64), rtol=0.05)


def test_one_reverse_step_is_the_posterior_draw_and_its_estimate() -> None:
    """:meth:`MolecularDiffusion.step` = posterior + sample_posterior, and hands back the network's estimate."""
    diffusion, model, clean = _setup()
    state = diffusion.noise(clean, torch.tensor([30, 30, 30]), torch.Generator().manual_seed(2))
    k_t, k_s = torch.full((3,), 30), torch.full((3,), 20)
    x_s, x0 = diffusion.step(model, state, k_t, k_s, torch.Generator().manual_seed(3))
    post = diffusion.posterior(model, state, k_t, k_s)
    expected = diffusion.sample_posterior(post, state, torch.Generator().manual_seed(3))
    assert torch.equal(x_s.pos, expected.pos) and torch.equal(x_s.bond_index, expected.bond_index)
    assert torch.equal(x0.atom_types, post.x0.atom_types) and torch.equal(x0.pos, post.x0.pos)
