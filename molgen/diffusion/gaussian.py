"""Gaussian diffusion of coordinates in the zero centre-of-mass subspace (or in a given frame).

Data, noise and every sampled step are centred per molecule, so the process is
translation invariant and, with an equivariant denoiser, rotation equivariant.
With ``centered=False`` (pocket-conditioned models) the caller passes coordinates relative
to a fixed origin (the pocket centre) and the noise is isotropic in all 3N dimensions.

Forward:   x_t = sqrt(a_t) x_0 + sqrt(1 - a_t) eps                (a = alpha_bar)
From s:    x_t = sqrt(a_ts) x_s + sqrt(1 - a_ts) eps, a_ts = a_t / a_s   (RePaint's renoising)
Posterior for any s < t (few-step jumps included), with a_ts = a_t / a_s:
    mean = sqrt(a_s) (1 - a_ts) / (1 - a_t) x_0 + sqrt(a_ts) (1 - a_s) / (1 - a_t) x_t
    var  = (1 - a_ts) (1 - a_s) / (1 - a_t)
"""

from __future__ import annotations

import torch
from torch import Tensor

from molgen.diffusion.schedules import CosineSchedule


def remove_mean(x: Tensor, batch: Tensor, num_graphs: int) -> Tensor:
    """Subtract each molecule's mean: x [N, 3], batch [N] -> [N, 3]."""
    total = torch.zeros(num_graphs, x.shape[1], dtype=x.dtype, device=x.device).index_add_(0, batch, x)  # [G, 3]
    count = torch.bincount(batch, minlength=num_graphs).clamp(min=1).to(x.dtype)  # [G]
    return x - (total / count[:, None])[batch]


def centered_noise(like: Tensor, batch: Tensor, num_graphs: int, generator: torch.Generator | None = None) -> Tensor:
    """Standard normal noise [N, 3] projected to zero mean per molecule."""
    eps = torch.randn(like.shape, dtype=like.dtype, device=like.device, generator=generator)
    return remove_mean(eps, batch, num_graphs)


class GaussianDiffusion:
    """Coordinate diffusion driven by one :class:`CosineSchedule`."""

    def __init__(self, schedule: CosineSchedule) -> None:
        self.schedule = schedule

    def noise(self, x0: Tensor, k: Tensor, batch: Tensor, num_graphs: int,
              generator: torch.Generator | None = None, centered: bool = True) -> Tensor:
        """Sample x_t ~ q(x_t | x_0): x0 [N, 3], k [G] steps -> [N, 3] (centred unless ``centered=False``)."""
        return self.renoise(x0, torch.zeros_like(k), k, batch, num_graphs, generator, centered)

    def renoise(self, x_s: Tensor, k_s: Tensor, k_t: Tensor, batch: Tensor, num_graphs: int,
                generator: torch.Generator | None = None, centered: bool = True) -> Tensor:
        """Sample x_t ~ q(x_t | x_s) = N(sqrt(a_ts) x_s, (1 - a_ts) I), a_ts = alpha_bar_t / alpha_bar_s:
        x_s [N, 3] at steps k_s [G], k_t >= k_s [G] -> [N, 3] (centred unless ``centered=False``)."""
        if centered:
            x_s = remove_mean(x_s, batch, num_graphs)
        a = self.schedule.transition(k_t, k_s)[batch][:, None]  # [N, 1] float64
        eps = (centered_noise(x_s, batch, num_graphs, generator) if centered
               else torch.randn(x_s.shape, dtype=x_s.dtype, device=x_s.device, generator=generator))
        return a.sqrt().to(x_s.dtype) * x_s + (1.0 - a).sqrt().to(x_s.dtype) * eps

    def prior(self, batch: Tensor, num_graphs: int, dtype: torch.dtype = torch.float32,
              generator: torch.Generator | None = None, centered: bool = True) -> Tensor:
        """Sample x_T ~ N(0, I) in the zero-mean subspace (or in all of R^3N): [N, 3]."""
        like = torch.empty(batch.shape[0], 3, dtype=dtype, device=batch.device)
        if not centered:
            return torch.randn(like.shape, dtype=dtype, device=batch.device, generator=generator)
        return centered_noise(like, batch, num_graphs, generator)

    def posterior(self, x_t: Tensor, x0_hat: Tensor, k_t: Tensor, k_s: Tensor, batch: Tensor) -> tuple[Tensor, Tensor]:
        """Mean [N, 3] and variance [N, 1] of q(x_s | x_t, x_0 = x0_hat); k_t, k_s are [G].

        The coefficients are formed in float64 and only then cast to ``x_t``'s dtype: with
        nu = 2.5, alpha_bar at k = 1 is 1 - O(1e-9), which float32 rounds to 1 and would zero
        both coefficients of the last jump. At s = 0 the limit is exact: mean = x0_hat, var = 0.
        """
        a_t = self.schedule.signal(k_t)[batch][:, None]  # [N, 1] float64
        a_s = self.schedule.signal(k_s)[batch][:, None]
        a_ts = a_t / a_s
        denom = (1.0 - a_t).clamp(min=1e-300)
        c_x0 = a_s.sqrt() * (1.0 - a_ts) / denom
        c_xt = a_ts.sqrt() * (1.0 - a_s) / denom
        var = (1.0 - a_ts) * (1.0 - a_s) / denom
        final = (k_s[batch] == 0)[:, None]  # [N, 1]: the jump to data
        c_x0 = torch.where(final, torch.ones_like(c_x0), c_x0).to(x_t.dtype)
        c_xt = torch.where(final, torch.zeros_like(c_xt), c_xt).to(x_t.dtype)
        var = torch.where(final, torch.zeros_like(var), var).to(x_t.dtype)
        return c_x0 * x0_hat + c_xt * x_t, var
