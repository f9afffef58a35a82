"""Adaptive cosine noise schedules, one per modality (EQGAT-diff, Le et al. ICLR 2024).

A schedule lives on a discrete grid k = 0..T (k = 0 is data, k = T is noise);
the network only ever sees the continuous time ``t = k / T`` in [0, 1].

The signal level follows the cosine schedule of Nichol & Dhariwal (2021) with an
exponent ``nu`` on time, as EQGAT-diff does per modality (coordinates nu = 2.5,
atom types and charges nu = 1, bonds nu = 1.5)::

    f(t) = cos(pi / 2 * (t**nu + s) / (1 + s)) ** 2,   alpha_bar(t) = f(t) / f(0)

Per-step ratios alpha_k = alpha_bar_k / alpha_bar_{k-1} are clipped to
[``min_alpha``, 1] so the last steps stay well defined, and alpha_bar is rebuilt
as their cumulative product.

``power`` raises the result to a power: with ``power = 2`` a Gaussian process
x_t = sqrt(alpha_bar) x_0 + sqrt(1 - alpha_bar) eps becomes EQGAT-diff's coordinate
parametrisation x_t = abar x_0 + sqrt(1 - abar^2) eps, where abar is the cosine
cumulative product itself (lower signal-to-noise ratio at every t > 0).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


class CosineSchedule:
    """Cosine schedule with time exponent ``nu`` on ``num_steps`` discrete steps.

    Attributes:
        num_steps: T.
        alpha_bar: [T + 1] float64 signal level, ``alpha_bar[0] == 1``, decreasing.
    """

    def __init__(self, num_steps: int, nu: float = 1.0, s: float = 0.008, min_alpha: float = 1e-3,
                 power: float = 1.0) -> None:
        if num_steps < 1:
            raise ValueError(f"num_steps must be >= 1, got {num_steps}")
        if nu <= 0:
            raise ValueError(f"schedule exponent nu must be positive, got {nu}")
        if power <= 0:
            raise ValueError(f"schedule power must be positive, got {power}")
        self.num_steps = int(num_steps)
        self.nu = float(nu)
        t = torch.linspace(0.0, 1.0, self.num_steps + 1, dtype=torch.float64)  # [T + 1]
        f = torch.cos(0.5 * math.pi * (t**self.nu + s) / (1.0 + s)) ** 2
        alpha_bar = f / f[0]
        alphas = (alpha_bar[1:] / alpha_bar[:-1]).clamp(min=min_alpha, max=1.0)  # [T]
        self.alpha_bar = torch.cat([torch.ones(1, dtype=torch.float64), torch.cumprod(alphas, 0)]) ** power  # [T+1]

    def signal(self, k: Tensor) -> Tensor:
        """alpha_bar at integer steps ``k`` (any shape), as float64 on ``k``'s device."""
        return self.alpha_bar.to(k.device)[k]

    def transition(self, k_t: Tensor, k_s: Tensor) -> Tensor:
        """alpha_{t|s} = alpha_bar_t / alpha_bar_s for s < t (signal kept from step s to t)."""
        return self.signal(k_t) / self.signal(k_s)

    def snr(self, k: Tensor) -> Tensor:
        """Signal-to-noise ratio alpha_bar / (1 - alpha_bar) at steps ``k``."""
        a = self.signal(k)
        return a / (1.0 - a).clamp(min=1e-12)

    def time(self, k: Tensor) -> Tensor:
        """Continuous time t = k / T in [0, 1] (what the network sees)."""
        return k.to(torch.float64) / self.num_steps
