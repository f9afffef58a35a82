"""The reverse process: jump T = k_0 > k_1 > ... > k_S = 0 through exact posteriors, with step hooks.

With S = T this is the usual ancestral sampler; with S < T each jump t -> s uses
q(x_s | x_t, x0_hat) directly (Gaussian and marginalised categorical posteriors),
which needs no retraining. Each jump is :meth:`MolecularDiffusion.step`; user code
(inpainting, guidance) runs after it as :class:`StepHook`s sharing one :class:`StepContext`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import Tensor

from molgen.chem.molgraph import MolBatch
from molgen.chem.pocket_batch import PocketBatch
from molgen.diffusion.process import Denoiser, MolecularDiffusion


@dataclass
class StepContext:
    """One reverse jump t -> s as the hooks see it; a hook may replace ``state`` and ``x0``.

    ``state`` is x_s (G molecules), ``x0`` the network's clean estimate (most likely classes, same atoms
    as ``state``) that x_s was drawn from; hooks run in order, each seeing what the previous one left
    (e.g. the inpainter's merged state and its last estimate, which the guide then scores). ``model``,
    ``diffusion`` and ``generator`` are the sampler's, for hooks that redo a jump (RePaint).
    """

    state: MolBatch
    x0: MolBatch
    t: int
    s: int
    model: Denoiser
    diffusion: MolecularDiffusion
    generator: torch.Generator | None = None

    def steps(self, k: int) -> Tensor:
        """[G] long tensor of the integer step ``k``, on the state's device."""
        return torch.full((self.state.num_graphs,), k, dtype=torch.long, device=self.state.pos.device)


class StepHook(Protocol):
    """User code run after every reverse jump t -> s: reads and may update the :class:`StepContext`
    (``context.state`` must stay a valid MolBatch). The last call has s = 0 and the state it leaves is
    what the sampler returns."""

    def __call__(self, context: StepContext) -> None: ...


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
                 dtype: torch.dtype = torch.float32, on_step: Callable[[int], None] | None = None,
                 hooks: Sequence[StepHook] = (), initial: Callable[[MolBatch], MolBatch] | None = None,
                 pocket: PocketBatch | None = None) -> MolBatch:
    """Generate molecules with num_atoms [G] atoms; returns the final clean :class:`MolBatch`.

    ``grid``: the jumps, from :func:`step_schedule` (default: all T steps). ``generator`` (a CPU
    or device generator) makes the result reproducible; ``on_step(i)`` is called after every jump.
    ``initial`` may edit the prior sample x_T (e.g. place fixed atoms); ``hooks`` run in order
    after every jump (:class:`StepHook`). ``pocket`` (G pockets) conditions a pocket model; the
    molecules are then generated in the pockets' frame.
    """
    state = diffusion.prior(num_atoms, device=device, dtype=dtype, generator=generator, pocket=pocket)
    if initial is not None:
        state = initial(state)
    grid = step_schedule(diffusion.num_steps) if grid is None else grid
    if grid[0] != diffusion.num_steps or grid[-1] != 0:
        raise ValueError(f"a sampling grid runs from T = {diffusion.num_steps} to 0, got {grid[0]} .. {grid[-1]}")
    for i, (t, s) in enumerate(zip(grid[:-1], grid[1:], strict=True)):
        g = state.num_graphs
        k_t = torch.full((g,), t, dtype=torch.long, device=device)
        k_s = torch.full((g,), s, dtype=torch.long, device=device)
        x_s, x0 = diffusion.step(model, state, k_t, k_s, generator)
        context = StepContext(x_s, x0, t, s, model, diffusion, generator)
        for hook in hooks:
            hook(context)
        state = context.state
        if on_step is not None:
            on_step(i + 1)
    return state


def fixed_or_sampled_atoms(diffusion: MolecularDiffusion, num: int, atoms: int | None,
                           generator: torch.Generator | None = None) -> Tensor:
    """[num] atom counts: all equal to ``atoms`` (>= 1, checked by the caller) if given, else drawn from the
    training histogram."""
    if atoms is not None:
        return torch.full((num,), int(atoms), dtype=torch.long)
    return diffusion.marginals.sample_num_atoms(num, generator)
