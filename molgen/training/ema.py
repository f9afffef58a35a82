"""Exponential moving average of a network's weights (used for sampling, saved in checkpoints)."""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA(nn.Module):
    """Holds ``module``: a frozen copy of the tracked network whose weights follow

        ema <- d * ema + (1 - d) * weights,   d = min(decay, (1 + n) / (10 + n))

    after the n-th update (the warm-up keeps early averages from being dominated
    by the random initialisation). Being an ``nn.Module`` its weights and update
    count live in the owner's ``state_dict`` and so in every checkpoint.
    """

    def __init__(self, model: nn.Module, decay: float = 0.999) -> None:
        super().__init__()
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1), got {decay}")
        self.decay = decay
        self.module = copy.deepcopy(model)
        self.module.requires_grad_(False)
        self.module.eval()
        self.register_buffer("num_updates", torch.zeros((), dtype=torch.long))

    def train(self, mode: bool = True) -> EMA:
        """The averaged copy always stays in eval mode."""
        super().train(False)
        return self

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Move the average one step towards ``model``'s current weights."""
        n = int(self.num_updates)
        d = min(self.decay, (1.0 + n) / (10.0 + n))
        for avg, cur in zip(self.module.parameters(), model.parameters(), strict=True):
            avg.lerp_(cur.detach(), 1.0 - d)
        for avg, cur in zip(self.module.buffers(), model.buffers(), strict=True):
            avg.copy_(cur)
        self.num_updates += 1

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)
