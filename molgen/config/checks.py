"""Value checks of a loaded config (types are checked by :mod:`molgen.config.load`).

A value that cannot work (a negative learning rate, zero steps, a probability above 1)
is a :class:`~molgen.config.load.ConfigError` naming the source and the dotted key,
raised when the config is loaded: before anything is written.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from molgen.chem.vocab import EXTRA_ATOM_FEATURE_DIM

#: dotted key -> (test, what the value must be)
RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "optim.lr": (lambda v: math.isfinite(v) and v >= 0, "a finite number >= 0"),
    "optim.weight_decay": (lambda v: math.isfinite(v) and v >= 0, "a finite number >= 0"),
    "optim.grad_clip": (lambda v: math.isfinite(v) and v >= 0, "a finite number >= 0 (0 = off)"),
    "optim.ema_decay": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "optim.max_steps": (lambda v: v >= 1, "an integer >= 1"),
    "optim.max_minutes": (lambda v: v is None or (math.isfinite(v) and v > 0), "a number > 0 or null"),
    "optim.betas": (lambda v: len(v) == 2 and all(0 <= b < 1 for b in v), "two numbers in [0, 1)"),
    "batching.batch_size": (lambda v: v >= 1, "an integer >= 1"),
    "batching.max_atoms_per_batch": (lambda v: v >= 1, "an integer >= 1"),
    "diffusion.num_steps": (lambda v: v >= 1, "an integer >= 1"),
    "trainer.devices": (lambda v: v >= 1, "an integer >= 1"),
    "trainer.num_nodes": (lambda v: v >= 1, "an integer >= 1"),
    "trainer.checkpoint_every": (lambda v: v >= 1, "an integer >= 1"),
    "trainer.log_every": (lambda v: v >= 1, "an integer >= 1"),
    "dataset.num_workers": (lambda v: v >= 0, "an integer >= 0"),
    "dataset.limit_train": (lambda v: v is None or v >= 1, "an integer >= 1 or null"),
    "sample_eval.every_n_steps": (lambda v: v >= 0, "an integer >= 0 (0 = off)"),
    "diffusion.coords_power": (lambda v: math.isfinite(v) and v > 0, "a number > 0 (2 = EQGAT-diff's noise level)"),
    "trainer.snapshot_minutes": (lambda v: all(m > 0 for m in v), "a list of minutes > 0"),
    "batching.mode": (lambda v: v in ("fixed", "bucketed"), "fixed or bucketed"),
    "logging.wandb_mode": (lambda v: v in ("online", "offline", "disabled"), "online, offline or disabled"),
    "model.lmax": (lambda v: 1 <= v <= 3, "1 (EQGAT-diff's Cartesian vectors), 2 or 3 (Gaunt irreps)"),
    "model.tensor_product": (lambda v: v in (None, "gaunt", "e3nn"), "null, gaunt or e3nn"),
    "model.extra_atom_features": (lambda v: v in (0, EXTRA_ATOM_FEATURE_DIM), f"0 or {EXTRA_ATOM_FEATURE_DIM}"),
    "model.pocket_cutoff": (lambda v: v is None or (math.isfinite(v) and v > 0),
                            "null (no pocket) or a distance > 0 in Angstrom"),
}

#: checks across keys: (dotted key reported, test of the whole config, what the value must be)
COMBINATIONS: list[tuple[str, Callable[[Any], bool], str]] = [
    ("model.tensor_product", lambda c: c.model.tensor_product is None or c.model.lmax >= 2,
     "null when model.lmax is 1 (the L = 1 path has no tensor product; gaunt or e3nn need lmax >= 2)"),
    ("sample_eval.steps", lambda c: c.sample_eval.every_n_steps == 0 or c.sample_eval.steps is None
     or 1 <= c.sample_eval.steps <= c.diffusion.num_steps, "null or in 1..diffusion.num_steps (sampling is on)"),
]


def value_problems(config: Any) -> list[tuple[str, Any, str]]:
    """``(dotted key, value, requirement)`` for every value of ``config`` that breaks :data:`RULES`."""
    problems = []
    for key, (test, requirement) in RULES.items():
        section, name = key.split(".")
        value = getattr(getattr(config, section), name)
        if not test(value):
            problems.append((key, value, requirement))
    for key, test, requirement in COMBINATIONS:
        if not test(config):
            section, name = key.split(".")
            problems.append((key, getattr(getattr(config, section), name), requirement))
    return problems
