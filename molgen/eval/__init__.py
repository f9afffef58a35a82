"""Evaluation of generated molecules (any SDF): validity, stability (legacy and corrected),
diversity, drug-likeness, geometry, strain and PoseBusters plausibility.

Library first: ``evaluate_molecules(mols, metrics, reference) -> dict`` for training
callbacks, ``evaluate_sdf(path, ...)`` for files; ``molgen evaluate`` wraps the latter.
"""

from molgen.eval.api import evaluate, evaluate_molecules, evaluate_sdf
from molgen.eval.group import EvalOptions, ReferenceData
from molgen.eval.registry import available_groups, available_presets, resolve_metrics
from molgen.eval.runner import EvaluationResult

__all__ = [
    "EvalOptions",
    "EvaluationResult",
    "ReferenceData",
    "available_groups",
    "available_presets",
    "evaluate",
    "evaluate_molecules",
    "evaluate_sdf",
    "resolve_metrics",
]
