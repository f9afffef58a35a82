"""Evaluation of generated molecules (any SDF): validity, stability (legacy and corrected),
diversity, drug-likeness, geometry, strain and PoseBusters plausibility.

Library first: ``evaluate_molecules(mols, metrics, reference) -> dict`` for training
callbacks, ``evaluate_sdf(path, ...)`` for files; ``molgen evaluate`` wraps the latter.
"""

from __future__ import annotations

import importlib
from typing import Any

_NAMES = {
    "evaluate": "molgen.eval.api", "evaluate_molecules": "molgen.eval.api", "evaluate_sdf": "molgen.eval.api",
    "EvalOptions": "molgen.eval.group", "ReferenceData": "molgen.eval.group",
    "available_groups": "molgen.eval.registry", "available_presets": "molgen.eval.registry",
    "resolve_metrics": "molgen.eval.registry", "EvaluationResult": "molgen.eval.runner",
}
__all__ = sorted(_NAMES)


def __getattr__(name: str) -> Any:  # imported on first use: one metric module does not load them all
    if name not in _NAMES:
        raise AttributeError(f"module 'molgen.eval' has no attribute {name!r}")
    return getattr(importlib.import_module(_NAMES[name]), name)
