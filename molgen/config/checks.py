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
from molgen.config.schema import DENOISER_PATHS

#: Sizes beyond these allocate more than any machine has (a checkpoint's stored config is checked too).
MAX_WIDTH = 4096
MAX_LAYERS = 64
MAX_DIFFUSION_STEPS = 100_000
#: What Lightning accepts for trainer.precision / strategy / accelerator (checked here, before Lightning sees them).
PRECISIONS = ("64-true", "32-true", "16-mixed", "bf16-mixed", "16-true", "bf16-true", "64", "32", "16", "bf16")
STRATEGIES = ("auto", "ddp", "ddp_spawn", "ddp_fork", "ddp_notebook", "ddp_find_unused_parameters_true",
              "ddp_find_unused_parameters_false", "fsdp")
ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps")


def _int_in(low: int, high: int) -> tuple[Callable[[Any], bool], str]:
    return (lambda v: low <= v <= high), f"an integer in {low}..{high}"


def _finite(low: float, high: float = math.inf, open_low: bool = False) -> tuple[Callable[[Any], bool], str]:
    def test(v: float) -> bool:
        return math.isfinite(v) and (v > low if open_low else v >= low) and v <= high

    bound = f"> {low:g}" if open_low else f">= {low:g}"
    return test, f"a finite number {bound}" + (f" and <= {high:g}" if math.isfinite(high) else "")


def _plain_name(v: str) -> bool:
    return bool(v) and v not in (".", "..") and "/" not in v and "\\" not in v and "\0" not in v


#: dotted key -> (test, what the value must be)
RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "model.num_layers": _int_in(1, MAX_LAYERS),
    "model.scalar_dim": _int_in(1, MAX_WIDTH),
    "model.vector_dim": _int_in(1, MAX_WIDTH),
    "model.edge_dim": _int_in(1, MAX_WIDTH),
    "model.time_embedding_dim": _int_in(1, MAX_WIDTH),
    "model.cutoff": (lambda v: v is None or (math.isfinite(v) and 0 < v <= 1000),
                     "null (fully connected) or a distance in (0, 1000] Angstrom"),
    "diffusion.num_steps": _int_in(1, MAX_DIFFUSION_STEPS),
    "diffusion.nu_coords": _finite(0, open_low=True),
    "diffusion.nu_atoms": _finite(0, open_low=True),
    "diffusion.nu_charges": _finite(0, open_low=True),
    "diffusion.nu_bonds": _finite(0, open_low=True),
    "diffusion.nu_extra": _finite(0, open_low=True),
    "diffusion.snr_clamp_min": _finite(0),
    "diffusion.snr_clamp_max": _finite(0),
    "diffusion.weight_coords": _finite(0),
    "diffusion.weight_atom_types": _finite(0),
    "diffusion.weight_charges": _finite(0),
    "diffusion.weight_bonds": _finite(0),
    "diffusion.weight_extra": _finite(0),
    "trainer.precision": (lambda v: v in PRECISIONS, f"one of {', '.join(PRECISIONS)}"),
    "trainer.strategy": (lambda v: v in STRATEGIES, f"one of {', '.join(STRATEGIES)}"),
    "trainer.accelerator": (lambda v: v in ACCELERATORS, f"one of {', '.join(ACCELERATORS)}"),
    "trainer.seed": _int_in(0, 2**32 - 1),
    "trainer.path": (lambda v: v is None or v in DENOISER_PATHS, f"one of {', '.join(DENOISER_PATHS)} (or null)"),
    "trainer.output_dir": (lambda v: bool(v.strip()) and "\0" not in v, "a folder path"),
    "dataset.name": (_plain_name, "a folder name under the data root (no '/', not '.' or '..')"),
    "dataset.train_split": (_plain_name, "a split name (no '/')"),
    "dataset.val_split": (_plain_name, "a split name (no '/')"),
    "batching.boundaries": (lambda v: all(b >= 1 for b in v) and v == sorted(v), "increasing integers >= 1"),
    "batching.max_graphs_per_batch": (lambda v: v is None or v >= 1, "an integer >= 1 or null"),
    "sample_eval.num_molecules": _int_in(1, 100_000),
    "optim.lr": (lambda v: math.isfinite(v) and v >= 0, "a finite number >= 0"),
    "optim.weight_decay": (lambda v: math.isfinite(v) and v >= 0, "a finite number >= 0"),
    "optim.grad_clip": (lambda v: math.isfinite(v) and v >= 0, "a finite number >= 0 (0 = off)"),
    "optim.ema_decay": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "optim.max_steps": (lambda v: v >= 1, "an integer >= 1"),
    "optim.max_minutes": (lambda v: v is None or (math.isfinite(v) and v > 0), "a number > 0 or null"),
    "optim.betas": (lambda v: len(v) == 2 and all(0 <= b < 1 for b in v), "two numbers in [0, 1)"),
    "batching.batch_size": (lambda v: v >= 1, "an integer >= 1"),
    "batching.max_atoms_per_batch": (lambda v: v >= 1, "an integer >= 1"),
    "trainer.devices": _int_in(1, 1024),
    "trainer.num_nodes": _int_in(1, 4096),
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
    ("trainer.path", lambda c: c.trainer.path in (None, "reference") or (
        c.model.pocket_cutoff is None and (c.model.lmax == 1 or c.model.tensor_product in (None, "gaunt"))),
     "null or reference for this model (the dense paths need no pocket and Cartesian or Gaunt messages)"),
    ("diffusion.snr_clamp_max", lambda c: c.diffusion.snr_clamp_min <= c.diffusion.snr_clamp_max,
     ">= diffusion.snr_clamp_min"),
    ("sample_eval.steps", lambda c: c.sample_eval.every_n_steps == 0 or c.sample_eval.steps is None
     or 1 <= c.sample_eval.steps <= c.diffusion.num_steps, "null or in 1..diffusion.num_steps (sampling is on)"),
]


def value_problems(config: Any, combinations: bool = True) -> list[tuple[str, Any, str]]:
    """``(dotted key, value, requirement)`` for every value of ``config`` that breaks :data:`RULES`
    (and, with ``combinations``, :data:`COMBINATIONS`)."""
    problems = []
    for key, (test, requirement) in RULES.items():
        section, name = key.split(".")
        value = getattr(getattr(config, section), name)
        if not test(value):
            problems.append((key, value, requirement))
    for key, test, requirement in COMBINATIONS if combinations else ():
        if not test(config):
            section, name = key.split(".")
            problems.append((key, getattr(getattr(config, section), name), requirement))
    return problems
