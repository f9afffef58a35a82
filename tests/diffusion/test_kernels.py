"""Schedules, loss weighting, Gaussian and categorical kernels against independently computed answers."""

from __future__ import annotations

import math

import pytest
import torch

from molgen.diffusion.categorical import CategoricalDiffusion
from molgen.diffusion.gaussian import GaussianDiffusion, centered_noise, remove_mean
from molgen.diffusion.schedules import CosineSchedule
from molgen.diffusion.weighting import snr_weight


@pytest.mark.parametrize("nu", [1.0, 1.5, 2.5])
def test_cosine_schedule_matches_closed_form(nu: float) -> None:
    sched = CosineSchedule(500, nu=nu)
    s = 0.008
    f0 = math.cos(0.5 * math.pi * s / (1 + s)) ** 2
    for k in (1, 100, 250, 400):
        t = k / 500
        expected = math.cos(0.5 * math.pi * (t**nu + s) / (1 + s)) ** 2 / f0
        assert float(sched.alpha_bar[k]) == pytest.approx(expected, rel=1e-9)
    assert float(sched.alpha_bar[0]) == 1.0
    assert bool((sched.alpha_bar[1:] < sched.alpha_bar[:-1]).all())
    assert float(sched.alpha_bar[-1]) < 1e-3


def test_larger_nu_keeps_more_signal_midway() -> None:
    k = torch.tensor([250])
    assert CosineSchedule(500, 2.5).signal(k) > CosineSchedule(500, 1.5).signal(k) > CosineSchedule(500, 1.0).signal(k)


def test_snr_weight_is_clipped_snr() -> None:
    sched = CosineSchedule(500, 1.0)
    k = torch.tensor([1, 250, 500])
    w = snr_weight(sched, k)
    assert w.tolist()[0] == 1.5 and w.tolist()[2] == 0.05
    a = float(sched.alpha_bar[250])
    assert float(w[1]) == pytest.approx(min(max(a / (1 - a), 0.05), 1.5))


def _categorical() -> CategoricalDiffusion:
    return CategoricalDiffusion(CosineSchedule(50, 1.5), torch.tensor([0.6, 0.25, 0.1, 0.05]))


def test_transition_matrices_are_stochastic_and_compose() -> None:
    cat = _categorical()
    sched = cat.schedule
    q = cat.transition_matrix(sched.alpha_bar)  # [T + 1, K, K]
    assert bool((q >= 0).all())
    assert torch.allclose(q.sum(-1), torch.ones(51, 4, dtype=torch.float64))
    product = torch.eye(4, dtype=torch.float64)
    for k in range(1, 31):
        product = product @ cat.transition_matrix(sched.alpha_bar[k] / sched.alpha_bar[k - 1])
    assert torch.allclose(product, q[30], atol=1e-12)


def test_categorical_posterior_matches_bayes_rule() -> None:
    cat = _categorical()
    sched = cat.schedule
    k_t, k_s = 30, 12
    q_ts = cat.transition_matrix(sched.alpha_bar[k_t] / sched.alpha_bar[k_s])
    q_s, q_t = cat.transition_matrix(sched.alpha_bar[k_s]), cat.transition_matrix(sched.alpha_bar[k_t])
    p0 = torch.tensor([[0.1, 0.2, 0.3, 0.4], [1.0, 0.0, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25]], dtype=torch.float64)
    x_t = torch.tensor([3, 1, 0])
    post = cat.posterior(x_t, p0, torch.full((3,), k_t), torch.full((3,), k_s))
    for m in range(3):
        expected = sum(p0[m, c] * q_ts[:, x_t[m]] * q_s[c, :] / q_t[c, x_t[m]] for c in range(4))
        assert torch.allclose(post[m], expected, atol=1e-12)
    assert torch.allclose(post.sum(-1), torch.ones(3, dtype=torch.float64))
    # s = 0 returns the predicted x0 distribution itself.
    assert torch.allclose(cat.posterior(x_t, p0, torch.full((3,), k_t), torch.zeros(3, dtype=torch.long)), p0)


def test_categorical_noise_reaches_the_marginal() -> None:
    cat = _categorical()
    gen = torch.Generator().manual_seed(0)
    x0 = torch.full((40000,), 3)
    xt = cat.noise(x0, torch.full((40000,), 50), gen)
    freq = torch.bincount(xt, minlength=4).double() / 40000
    assert torch.allclose(freq, cat.marginal, atol=0.01)


def test_gaussian_single_step_posterior_is_ddpm() -> None:
    sched = CosineSchedule(100, 2.5)
    gauss = GaussianDiffusion(sched)
    x_t, x0 = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, 3, dtype=torch.float64)
    batch = torch.zeros(5, dtype=torch.long)
    k = 40
    mean, var = gauss.posterior(x_t, x0, torch.tensor([k]), torch.tensor([k - 1]), batch)
    a_t, a_s = float(sched.alpha_bar[k]), float(sched.alpha_bar[k - 1])
    beta = 1 - a_t / a_s
    expected_mean = (math.sqrt(a_s) * beta * x0 + math.sqrt(1 - beta) * (1 - a_s) * x_t) / (1 - a_t)
    assert torch.allclose(mean, expected_mean, atol=1e-12)
    assert torch.allclose(var, torch.full((5, 1), beta * (1 - a_s) / (1 - a_t), dtype=torch.float64))


def test_gaussian_jump_preserves_the_forward_marginal() -> None:
    """x_t ~ q(x_t | x0), then x_s ~ q(x_s | x_t, x0) must be distributed as q(x_s | x0)."""
    sched = CosineSchedule(100, 2.5)
    gauss = GaussianDiffusion(sched)
    gen = torch.Generator().manual_seed(1)
    g, n = 20000, 2
    batch = torch.arange(g).repeat_interleave(n)
    x0 = torch.tensor([[1.0, -2.0, 0.5], [-1.0, 2.0, -0.5]], dtype=torch.float64).repeat(g, 1)
    k_t, k_s = torch.full((g,), 80), torch.full((g,), 30)
    x_t = gauss.noise(x0, k_t, batch, g, gen)
    mean, var = gauss.posterior(x_t, remove_mean(x0, batch, g), k_t, k_s, batch)
    x_s = remove_mean(mean + var.sqrt() * centered_noise(x_t, batch, g, gen), batch, g)
    a_s = float(sched.alpha_bar[30])
    first = x_s[0::2]
    assert torch.allclose(first.mean(0), math.sqrt(a_s) * x0[0], atol=0.03)
    # Centred noise on 2 atoms: each atom's variance is (1 - a_s) * (1 - 1/2).
    assert torch.allclose(first.var(0), torch.full((3,), (1 - a_s) * 0.5, dtype=torch.float64), rtol=0.05)
    assert torch.allclose(remove_mean(x_s, batch, g), x_s, atol=1e-12)


def test_posterior_stays_finite_for_classes_outside_the_marginal() -> None:
    cat = CategoricalDiffusion(CosineSchedule(50, 1.0), torch.tensor([0.0, 1.0, 0.0]))
    p0 = torch.tensor([[0.2, 0.5, 0.3], [0.0, 1.0, 0.0]], dtype=torch.float64)
    x_t = torch.tensor([2, 2])  # class 2 has zero marginal: x_0 must have been 2
    post = cat.posterior(x_t, p0, torch.tensor([40, 40]), torch.tensor([30, 30]))
    assert torch.isfinite(post).all()
    assert torch.allclose(post, torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]], dtype=torch.float64))


def test_predicted_x0_is_restricted_to_the_data_support() -> None:
    cat = CategoricalDiffusion(CosineSchedule(50, 1.0), torch.tensor([0.5, 0.0, 0.5]))
    p0 = cat.x0_probs(torch.tensor([[0.0, 5.0, 0.0], [1.0, 2.0, 3.0]]))
    expected = torch.tensor([[0.5, 0.0, 0.5], [1 / (1 + torch.e**2), 0.0, torch.e**2 / (1 + torch.e**2)]])
    assert torch.allclose(p0, expected.double(), atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_gaussian_last_jump_returns_x0_hat_in_any_dtype(dtype: torch.dtype) -> None:
    """nu = 2.5 puts alpha_bar(1) within 1e-8 of 1: float32 used to round it to 1 and zero the mean."""
    gauss = GaussianDiffusion(CosineSchedule(500, nu=2.5))
    gap = 1 - float(gauss.schedule.alpha_bar[1])
    assert gap > 0 and gap < 1e-6  # the case that collapsed every coordinate
    batch = torch.zeros(4, dtype=torch.long)
    x_t = torch.randn(4, 3, dtype=dtype)
    x0 = torch.randn(4, 3, dtype=dtype)
    for k_t in (1, 2, 250, 500):
        mean, var = gauss.posterior(x_t, x0, torch.tensor([k_t]), torch.tensor([0]), batch)
        assert mean.dtype == dtype and var.dtype == dtype
        assert torch.equal(mean, x0) and torch.equal(var, torch.zeros_like(var))
    mean, var = gauss.posterior(x_t, x0, torch.tensor([2]), torch.tensor([1]), batch)
    assert torch.isfinite(mean).all() and float(mean.abs().max()) > 0  # a near-data step keeps the geometry


def test_power_two_is_eqgat_diffs_coordinate_parametrisation() -> None:
    """x_t = abar x_0 + sqrt(1 - abar^2) eps with abar the clipped cosine product (EQGAT-diff's coordinates)."""
    base, squared = CosineSchedule(500, nu=2.5), CosineSchedule(500, nu=2.5, power=2.0)
    k = torch.tensor([100, 300, 450])
    x0 = torch.randn(6, 3, dtype=torch.float64)
    batch = torch.arange(3).repeat_interleave(2)
    x0 = remove_mean(x0, batch, 3)
    x_t = GaussianDiffusion(squared).noise(x0, k, batch, 3, generator=torch.Generator().manual_seed(0))
    eps = centered_noise(x0, batch, 3, torch.Generator().manual_seed(0))  # the same draw
    abar = base.signal(k)[batch][:, None]
    assert torch.allclose(x_t, abar * x0 + (1 - abar**2).sqrt() * eps, atol=1e-12)
    with pytest.raises(ValueError, match="power"):
        CosineSchedule(10, power=0.0)


@pytest.mark.parametrize("centered", [True, False])
def test_gaussian_renoise_composes_with_the_forward_process(centered: bool) -> None:
    """x_s ~ q(x_s | x0), then x_t ~ q(x_t | x_s) (renoise) is distributed as q(x_t | x0), in both frames."""
    sched = CosineSchedule(100, 2.5)
    gauss = GaussianDiffusion(sched)
    gen = torch.Generator().manual_seed(2)
    g, n = 20000, 2
    batch = torch.arange(g).repeat_interleave(n)
    x0 = torch.tensor([[1.0, -2.0, 0.5], [-1.0, 2.0, -0.5]], dtype=torch.float64).repeat(g, 1)
    k_s, k_t = torch.full((g,), 30), torch.full((g,), 70)
    x_s = gauss.noise(x0, k_s, batch, g, gen, centered=centered)
    x_t = gauss.renoise(x_s, k_s, k_t, batch, g, gen, centered=centered)
    a_t = float(sched.alpha_bar[70])
    first = x_t[0::2]
    assert torch.allclose(first.mean(0), math.sqrt(a_t) * x0[0], atol=0.03)
    per_atom = (1 - a_t) * (0.5 if centered else 1.0)  # centred noise on 2 atoms halves each atom's variance
    assert torch.allclose(first.var(0), torch.full((3,), per_atom, dtype=torch.float64), rtol=0.05)
    if centered:
        assert float(x_t.view(g, n, 3).mean(1).abs().max()) < 1e-12
    same = gauss.renoise(x_s, k_s, k_s, batch, g, gen, centered=centered)  # s -> s keeps x_s
    assert torch.allclose(same, remove_mean(x_s, batch, g) if centered else x_s, atol=1e-12)


def test_noise_is_renoise_from_step_zero_bit_for_bit() -> None:
    gauss, cat = GaussianDiffusion(CosineSchedule(100, 2.5)), _categorical()
    batch = torch.arange(4).repeat_interleave(3)
    x0 = torch.randn(12, 3, generator=torch.Generator().manual_seed(0))
    k = torch.tensor([3, 40, 77, 100])
    a = gauss.noise(x0, k, batch, 4, torch.Generator().manual_seed(1))
    b = gauss.renoise(x0, torch.zeros_like(k), k, batch, 4, torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    classes, steps = torch.tensor([0, 1, 2, 3] * 50), torch.arange(200) % 51
    assert torch.equal(cat.noise(classes, steps, torch.Generator().manual_seed(2)),
                       cat.renoise(classes, torch.zeros_like(steps), steps, torch.Generator().manual_seed(2)))


def test_categorical_renoise_composes_with_the_forward_process() -> None:
    """q(x_t | x_s) after q(x_s | x0) gives the classes of q(x_t | x0) = a_t onehot(x0) + (1 - a_t) m."""
    cat = _categorical()
    gen = torch.Generator().manual_seed(4)
    m = 200000
    x0 = torch.full((m,), 2)
    k_s, k_t = torch.full((m,), 10), torch.full((m,), 35)
    x_t = cat.renoise(cat.noise(x0, k_s, gen), k_s, k_t, gen)
    a_t = float(cat.schedule.alpha_bar[35])
    expected = a_t * torch.nn.functional.one_hot(torch.tensor(2), 4).double() + (1 - a_t) * cat.marginal
    observed = torch.bincount(x_t, minlength=4).double() / m
    assert torch.allclose(observed, expected, atol=4e-3)
    assert torch.allclose(cat.probs_xt_given_xs(x0[:3], k_s[:3], k_s[:3]),
                          torch.nn.functional.one_hot(x0[:3], 4).double())  # s -> s keeps the class
