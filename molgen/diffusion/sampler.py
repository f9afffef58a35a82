"""Ancestral and few-step sampling: jump T = k_0 > k_1 > ... > k_S = 0 through exact posteriors.

With S = T this is the usual ancestral sampler; with S < T each jump t -> s uses
q(x_s | x_t, x0_hat) directly (Gaussian and marginalised categorical posteriors),
which needs no retraining.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from molgen.chem.molgraph import MolBatch
from molgen.diffusion.process import Denoiser, MolecularDiffusion


def step_schedule(num_steps: int, steps: int | None = None) -> list[int]:
    """Decreasing integer steps from T to 0 with ``steps`` jumps (default T): [steps + 1]."""
    steps = num_steps if steps is None else int(steps)
    if not 1 <= steps <= num_steps:
        raise ValueError(f"number of sampling steps must be in 1..{num_steps}, got {steps}")
    grid = torch.linspace(num_steps, 0, steps + 1, dtype=torch.float64).round().long().tolist()
    return sorted(set(grid), reverse=True)


@torch.no_grad()
def sample_batch(model: Denoiser, diffusion: MolecularDiffusion, num_atoms: Tensor, grid: list[int] | None = None,
                 generator: torch.Generator | None = None, device: torch.device | str = "cpu",
                 dtype: torch.dtype = torch.float32, on_step: Callable[[int], None] | None = None) -> MolBatch:
    """Generate molecules with num_atoms [G] atoms; returns the final clean :class:`MolBatch`.

    ``grid``: the jumps, from :func:`step_schedule` (default: all T steps). ``generator`` (a CPU
    or device generator) makes the result reproducible; ``on_step(i)`` is called after every jump.
    """
    state = diffusion.prior(num_atoms, device=device, dtype=dtype, generator=generator)
    grid = step_schedule(diffusion.num_steps) if grid is None else grid
    if grid[0] != diffusion.num_steps or grid[-1] != 0:
        raise ValueError(f"a sampling grid runs from T = {diffusion.num_steps} to 0, got {grid[0]} .. {grid[-1]}")
    g = state.num_graphs
    for i, (t, s) in enumerate(zip(grid[:-1], grid[1:], strict=True)):
        k_t = torch.full((g,), t, dtype=torch.long, device=device)
        k_s = torch.full((g,), s, dtype=torch.long, device=device)
        state = diffusion.reverse_step(model, state, k_t, k_s, generator)
        if on_step is not None:
            on_step(i + 1)
    return state


def fixed_or_sampled_atoms(diffusion: MolecularDiffusion, num: int, atoms: int | None,
                           generator: torch.Generator | None = None) -> Tensor:
    """[num] atom counts: all equal to ``atoms`` if given, else drawn from the training histogram."""
    if atoms is not None:
        if atoms < 1:
            raise ValueError(f"--atoms must be >= 1, got {atoms}")
        return torch.full((num,), int(atoms), dtype=torch.long)
    return diffusion.marginals.sample_num_atoms(num, generator)
