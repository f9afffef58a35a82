"""Categorical (D3PM) diffusion with "marginal" transitions (Austin et al. 2021; EQGAT-diff).

Each step keeps the class with probability alpha and otherwise resamples it from
the training marginal m, so the chain converges to m (not to uniform):

    Q_{t|s} = a_ts I + (1 - a_ts) 1 m^T,      Qbar_t = a_t I + (1 - a_t) 1 m^T     (a_ts = a_t / a_s)

(rows index the earlier state, columns the later one). The reverse jump
t -> s < t uses the exact posterior q(x_s | x_t, x_0) marginalised over the
network's predicted distribution p(x_0):

    p(x_s = i) = sum_c p(x_0 = c) q(x_t | x_s = i) q(x_s = i | x_0 = c) / q(x_t | x_0 = c)

Shapes: M items of one modality (atoms [N] or bond pairs), K classes.
"""

from __future__ import annotations

import torch
from torch import Tensor

from molgen.diffusion.schedules import CosineSchedule


class CategoricalDiffusion:
    """Marginal-transition categorical diffusion for one modality with K classes."""

    def __init__(self, schedule: CosineSchedule, marginal: Tensor) -> None:
        marginal = torch.as_tensor(marginal, dtype=torch.float64).flatten()  # [K]
        if marginal.numel() < 2 or bool((marginal < 0).any()) or float(marginal.sum()) <= 0:
            raise ValueError(f"marginal must be a non-negative vector over >= 2 classes, got {marginal.tolist()}")
        self.schedule = schedule
        self.marginal = marginal / marginal.sum()
        self.num_classes = int(marginal.numel())

    def transition_matrix(self, alpha: Tensor) -> Tensor:
        """[..., K, K] row-stochastic Q = alpha I + (1 - alpha) 1 m^T for alpha of shape [...]."""
        eye = torch.eye(self.num_classes, dtype=torch.float64, device=alpha.device)
        m = self.marginal.to(alpha.device)
        alpha = alpha.to(torch.float64)[..., None, None]
        return alpha * eye + (1.0 - alpha) * m.expand(self.num_classes, -1)

    def probs_xt_given_xs(self, x_s: Tensor, k_s: Tensor, k_t: Tensor) -> Tensor:
        """Row of Q_{t|s} for each item: x_s [M] classes at steps k_s [M], k_t >= k_s [M] -> [M, K]."""
        a = self.schedule.transition(k_t, k_s)[:, None]  # [M, 1]
        onehot = torch.nn.functional.one_hot(x_s, self.num_classes).to(torch.float64)
        return a * onehot + (1.0 - a) * self.marginal.to(x_s.device)

    def noise(self, x0: Tensor, k: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Sample x_t ~ q(x_t | x_0): x0 [M], k [M] -> [M] classes."""
        return self.renoise(x0, torch.zeros_like(k), k, generator)

    def renoise(self, x_s: Tensor, k_s: Tensor, k_t: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Sample x_t ~ q(x_t | x_s): x_s [M] at steps k_s [M], k_t >= k_s [M] -> [M] classes."""
        return sample_classes(self.probs_xt_given_xs(x_s, k_s, k_t), generator)

    def prior(self, num: int, device: torch.device | str = "cpu", generator: torch.Generator | None = None) -> Tensor:
        """Sample ``num`` classes from the terminal distribution (the marginal): [num]."""
        probs = self.marginal.to(device).expand(num, -1)
        return sample_classes(probs, generator)

    def posterior(self, x_t: Tensor, p0: Tensor, k_t: Tensor, k_s: Tensor) -> Tensor:
        """q(x_s | x_t) marginalised over p(x_0): x_t [M], p0 [M, K] probabilities, k_t/k_s [M] -> [M, K]."""
        m = self.marginal.to(x_t.device)  # [K]
        a_t = self.schedule.signal(k_t)[:, None]  # [M, 1]
        a_s = self.schedule.signal(k_s)[:, None]
        a_ts = a_t / a_s
        onehot_t = torch.nn.functional.one_hot(x_t, self.num_classes).to(torch.float64)  # [M, K]
        m_xt = m[x_t][:, None]  # [M, 1]
        # q(x_t | x_s = i) as a function of i, and q(x_t | x_0 = c) as a function of c.
        likelihood = a_ts * onehot_t + (1.0 - a_ts) * m_xt  # [M, K]
        # A class absent from the marginal (m = 0) can only be reached by staying in it: the tiny floor
        # keeps the division finite and the likelihood (exactly 0 elsewhere) zeroes the other classes.
        evidence = (a_t * onehot_t + (1.0 - a_t) * m_xt).clamp(min=1e-300)  # [M, K]
        ratio = p0.to(torch.float64) / evidence  # [M, K]
        prior_s = a_s * ratio + (1.0 - a_s) * m * ratio.sum(dim=1, keepdim=True)  # [M, K]
        unnorm = likelihood * prior_s
        total = unnorm.sum(dim=1, keepdim=True)
        degenerate = ~(torch.isfinite(total) & (total > 0))  # the network gave x_t's only history zero mass
        return torch.where(degenerate, onehot_t, unnorm / torch.where(degenerate, 1.0, total))

    def x0_probs(self, logits: Tensor) -> Tensor:
        """Network logits [M, K] -> p(x_0) [M, K] restricted to the data's support (classes with m > 0).

        Classes the training data never contains cannot be x_0; without this an untrained or
        undertrained network proposes e.g. H with charge +3, which RDKit cannot even write.
        """
        support = (self.marginal > 0).to(logits.device)
        return torch.softmax(logits.to(torch.float64).masked_fill(~support, float("-inf")), dim=-1)


def sample_classes(probs: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """One class per row of probs [M, K] -> [M] long."""
    if probs.shape[0] == 0:
        return torch.zeros(0, dtype=torch.long, device=probs.device)
    return torch.multinomial(probs.to(torch.float32), 1, generator=generator).squeeze(1)
