"""Diffusion processes (no networks): schedules, Gaussian and categorical kernels, the joint process, sampling.

Names are imported on first use (``molgen.diffusion.MolecularDiffusion``), so importing one submodule
never pulls in the others.
"""

from __future__ import annotations

import importlib
from typing import Any

_NAMES = {
    "EXTRA_FEATURES": "molgen.diffusion.marginals", "Marginals": "molgen.diffusion.marginals",
    "MolecularDiffusion": "molgen.diffusion.process", "Posterior": "molgen.diffusion.process",
    "StepContext": "molgen.diffusion.reverse", "StepHook": "molgen.diffusion.reverse",
    "sample_batch": "molgen.diffusion.reverse", "step_schedule": "molgen.diffusion.reverse",
}
__all__ = sorted(_NAMES)


def __getattr__(name: str) -> Any:
    if name not in _NAMES:
        raise AttributeError(f"module 'molgen.diffusion' has no attribute {name!r}")
    return getattr(importlib.import_module(_NAMES[name]), name)
